package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
	_ "github.com/watchfloor/watchfloor/samplers/all"
)

// benchActor returns an actor of a gateway that is not serving: apply is
// called directly, as the actor's goroutine would.
func benchActor(b *testing.B) *probeActor { return benchActorWith(b, "") }

// benchActorWith is benchActor with more configuration: the entity e is
// an LSE system (system: lse).
func benchActorWith(b *testing.B, extra string) *probeActor {
	b.Helper()
	yaml := fmt.Sprintf(`listen: "127.0.0.1:0"
probes: [{name: p, token_sha256: %s}]
samplers: [{name: cpu, type: cpu}]
entities: [{name: e, probe: p, samplers: [cpu], attributes: {system: lse}}]
`, config.HashToken("t")) + extra
	cfg, err := config.Parse("bench", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	g.mu.Lock()
	pc := g.probeConfig(cfg, "p")
	g.mu.Unlock()
	return newProbeActor(g, "p", pc, g.actorConsumers())
}

// manyCalendars is a calendars section of n schedules (always active:
// 00:00–24:00 every day, in London) and cycles work cycles, the last of
// which selects system lse, and windows maintenance windows for other
// entities.
func manyCalendars(n, cycles, windows int) string {
	var sb strings.Builder
	sb.WriteString("calendars:\n  schedules:\n")
	for i := range n {
		fmt.Fprintf(&sb, "    - {name: s%05d, zone: Europe/London}\n", i)
	}
	sb.WriteString("  work_cycles:\n")
	for i := range cycles {
		system := fmt.Sprintf("other-%d", i)
		if i == cycles-1 {
			system = "lse"
		}
		fmt.Fprintf(&sb, "    - {name: c%03d, where: {system: %s}, zone: Europe/London, phases: {bod: \"07:00\", intraday: \"08:00\", eod: \"16:30\", closed: \"17:30\"}}\n", i, system)
	}
	sb.WriteString("maintenance:\n")
	for i := range windows {
		fmt.Fprintf(&sb, "  - {id: w%04d, reason: patching, zone: Europe/London, days: [sat], from: \"22:00\", to: \"23:30\", entities: [host-%d]}\n", i, i)
	}
	return sb.String()
}

// declareBatch declares dvs dataviews of rows×cols cells.
func declareBatch(a *probeActor, dvs, rows, cols int) protocol.Batch {
	var samplerID uint32
	for id := range a.cfg.instances {
		samplerID = id
	}
	colNames := make([]string, cols)
	for c := range colNames {
		colNames[c] = "c" + strconv.Itoa(c)
	}
	b := protocol.Batch{Seq: 1, Flags: protocol.SnapshotStart | protocol.SnapshotEnd}
	for d := range dvs {
		decl := protocol.Declare{ID: uint32(d + 1), SamplerID: samplerID, Name: "dv" + strconv.Itoa(d), SampleTime: 1, Columns: colNames}
		for r := range rows {
			cells := make([]samplers.Cell, cols)
			for c := range cells {
				cells[c] = samplers.Number(float64(r*c)+0.25, 2)
			}
			decl.Rows = append(decl.Rows, protocol.RowDecl{Index: uint32(r), Name: "row" + strconv.Itoa(r), Cells: cells})
		}
		b.Declares = append(b.Declares, decl)
	}
	return b
}

// updateBatch changes every cell of every dataview once.
func updateBatch(dvs, rows, cols int, v samplers.Cell) protocol.Batch {
	b := protocol.Batch{Updates: make([]protocol.Update, dvs)}
	for d := range b.Updates {
		u := protocol.Update{ID: uint32(d + 1), SampleTime: time.Now().UnixNano(), Cells: make([]protocol.CellChange, 0, rows*cols)}
		for r := range rows {
			for c := range cols {
				u.Cells = append(u.Cells, protocol.CellChange{Row: uint32(r), Col: uint32(c), Value: v})
			}
		}
		b.Updates[d] = u
	}
	return b
}

// BenchmarkApply measures the actor applying one probe's tick of 1,000
// cell changes (10 dataviews of 10×10), with nobody watching and with a
// dashboard subscribed to every dataview.
func BenchmarkApply(b *testing.B) {
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprintf("watched=%v", watched), func(b *testing.B) {
			a := benchActor(b)
			decl := declareBatch(a, 10, 10, 10)
			if err := a.do(decl); err != nil {
				b.Fatal(err)
			}
			if watched {
				watchAll(b, a, 10)
			}
			batches := [2]protocol.Batch{updateBatch(10, 10, 10, samplers.Number(1.5, 2)), updateBatch(10, 10, 10, samplers.Number(2.5, 2))}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now().UnixNano()
			for i := 0; b.Loop(); i++ {
				// A tick every millisecond of sample time, so that the
				// history records every change, as it would live.
				at := start + int64(i)*1e6
				for d := range batches[i%2].Updates {
					batches[i%2].Updates[d].SampleTime = at
				}
				if err := a.do(batches[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/cell")
		})
	}
}

// BenchmarkLiveCellMemory measures the heap the gateway keeps per live
// cell: a probe's tree of 100,000 cells (100 dataviews of 100 rows × 10
// columns, each value a two-decimal number, as samplers produce), after a
// full GC, without rules and with a rule judging every cell. History for
// charts and incidents is not part of this.
func BenchmarkLiveCellMemory(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) { liveCellMemory(b, n) })
	}
}

// liveCellMemory measures BenchmarkLiveCellMemory with n threshold rules
// matching every cell once (none for 0).
func liveCellMemory(b *testing.B, n int) {
	const dvs, rows, cols = 100, 100, 10
	for b.Loop() {
		a := benchActor(b)
		if n > 0 {
			install(b, a, thresholdRules(n, dvs, 0))
		}
		decl := declareBatch(a, dvs, rows, cols)
		wire := decl.Append(nil)
		decl = protocol.Batch{}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var got protocol.Batch
		if err := got.Decode(wire); err != nil {
			b.Fatal(err)
		}
		if err := a.do(got); err != nil {
			b.Fatal(err)
		}
		got = protocol.Batch{}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(dvs*rows*cols), "B/cell")
		runtime.KeepAlive(a)
	}
}

// watchAll connects a real dashboard client to the actor's hub and
// subscribes it to dataviews dv0…dv(n-1), reading and discarding frames
// until the benchmark ends.
func watchAll(b *testing.B, a *probeActor, n int) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(a.g.echo)
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		a.g.hub.Run(ctx)
	}()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/dashboard", nil)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetReadLimit(-1)
	for d := range n {
		msg := fmt.Sprintf(`{"op":"subscribe","topic":"dataview/p/e/cpu/dv%d"}`, d)
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			b.Fatal(err)
		}
	}
	for d := range n {
		for !a.g.hub.Watched(fmt.Sprintf("dataview/p/e/cpu/dv%d", d)) {
			time.Sleep(time.Millisecond)
		}
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-hubDone
		<-readDone
		conn.CloseNow()
		srv.Close()
	})
}

// thresholdRules returns n rules of the commonest shape — a column of the
// dataviews of one name, critical and warning thresholds — for dataviews
// dv0…dv(dvs-1) of cols columns: each cell is matched by one rule when n
// is dvs×cols. With forDur, each level waits that long.
func thresholdRules(n, dvs int, forDur time.Duration) []rules.Def {
	defs := make([]rules.Def, n)
	for k := range defs {
		defs[k] = rules.Def{
			Name:     fmt.Sprintf("threshold-%04d", k),
			Match:    fmt.Sprintf("*/*/cpu/dv%d/*/c%d", k%dvs, k/dvs),
			Critical: &rules.LevelDef{When: "value > 900", For: rules.Duration(forDur)},
			Warning:  &rules.LevelDef{When: "value > 500", For: rules.Duration(forDur)},
		}
	}
	return defs
}

// install compiles defs and gives them to the actor as a rule-set change
// would.
func install(b *testing.B, a *probeActor, defs []rules.Def) {
	b.Helper()
	set, errs := rules.Compile(defs, a.set)
	if errs != nil {
		b.Fatal(errs)
	}
	a.handle(event{kind: evRules, rules: set, done: make(chan struct{})}, a.clock.Now())
}

// BenchmarkApplyEvaluate measures the actor applying and judging updates
// of every cell of a probe's 100,000 (100 dataviews of 100 rows × 10
// columns), one batch per op, with 1,000 threshold rules matching each
// cell once: values that stay ok ("steady"), values that cross a
// threshold at every update ("flapping": every update is a transition),
// the same with rules that open incidents ("flapping-incidents": every
// transition goes to the incidents' queue, which nothing takes here, so
// that it stays full and refuses as a slow desk's would), and rules with
// a `for` of an hour, so that every cell has a pending timer
// ("pending"). "none" is the same updates without rules.
func BenchmarkApplyEvaluate(b *testing.B) {
	const dvs, rows, cols = 100, 100, 10
	low, high := samplers.Number(1.5, 2), samplers.Number(950.5, 2)
	for _, c := range []struct {
		name      string
		rules     int
		forDur    time.Duration
		values    [2]samplers.Cell
		incidents bool
	}{
		{"none", 0, 0, [2]samplers.Cell{low, samplers.Number(2.5, 2)}, false},
		{"steady", 1000, 0, [2]samplers.Cell{low, samplers.Number(2.5, 2)}, false},
		{"flapping", 1000, 0, [2]samplers.Cell{low, high}, false},
		{"flapping-incidents", 1000, 0, [2]samplers.Cell{low, high}, true},
		{"pending", 1000, time.Hour, [2]samplers.Cell{high, samplers.Number(951.5, 2)}, false},
		// The same rules beside 10,000 schedules, 100 work cycles (the
		// entity's the last) and 1,000 maintenance windows: what calendars
		// cost rules that do not use them.
		{"steady-calendars", 1000, 0, [2]samplers.Cell{low, samplers.Number(2.5, 2)}, false},
		// Every rule limited to a schedule and to phases, with levels of
		// its own in Beginning of Day: what a rule that follows the day
		// costs per judgement.
		{"steady-scheduled", 1000, 0, [2]samplers.Cell{low, samplers.Number(2.5, 2)}, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			a := benchActor(b)
			calendars := strings.HasPrefix(c.name, "steady-")
			if calendars {
				a = benchActorWith(b, manyCalendars(10000, 100, 1000))
			}
			if c.rules > 0 {
				defs := thresholdRules(c.rules, dvs, c.forDur)
				for i := range defs {
					if c.incidents {
						defs[i].Incident = &rules.IncidentDef{}
					}
					if c.name == "steady-scheduled" {
						defs[i].Schedule = fmt.Sprintf("s%05d", i*10)
						defs[i].Active = nil
						defs[i].Phases = map[string]*rules.PhaseLevels{"bod": {Warning: &rules.LevelDef{When: "value > 800"}}}
					}
				}
				install(b, a, defs)
			}
			if err := a.do(declareBatch(a, dvs, rows, cols)); err != nil {
				b.Fatal(err)
			}
			batches := [2]protocol.Batch{updateBatch(dvs, rows, cols, c.values[0]), updateBatch(dvs, rows, cols, c.values[1])}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := a.do(batches[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			cells := float64(b.N) * dvs * rows * cols
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/cells, "ns/cell")
			b.ReportMetric(cells/b.Elapsed().Seconds()/1e6, "Mcells/s")
			b.ReportMetric(float64(len(a.timers)), "timers")
		})
	}
}

// BenchmarkRuleSetSwap measures installing a new rule set (one rule
// edited among 1,000) over a probe's 100,000 cells: every cell is bound
// again and judged.
func BenchmarkRuleSetSwap(b *testing.B) {
	const dvs, rows, cols = 100, 100, 10
	a := benchActor(b)
	defs := thresholdRules(1000, dvs, 0)
	install(b, a, defs)
	if err := a.do(declareBatch(a, dvs, rows, cols)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		defs[0].Warning.When = fmt.Sprintf("value > %d", 500+i%2)
		install(b, a, defs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*dvs*rows*cols), "ns/cell")
}
