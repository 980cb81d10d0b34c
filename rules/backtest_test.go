package rules

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

// btCase is a table entry for TestBacktest: rules, a recording written
// in seconds, the window, and the transitions expected in it, each
// "10s dataview/row/column old->new [by rule] =value".
type btCase struct {
	name     string
	rules    []Def
	views    []btViewSpec
	from, to float64 // seconds; a zero to is 3600
	max      int
	want     []string
	total    int // Result.Total, when more than len(want)
	errors   int // Result.TotalErrors
}

// btViewSpec is a recorded dataview: its path (probe/entity/sampler/
// dataview), its sample times in seconds ("0 10 20") and its cells, each
// "row/column t:v t:v ..." ("#/name" for a headline, "stale" for
// StaleNaN) or "row/column =text" for a text cell.
type btViewSpec struct {
	path    string
	attrs   map[string]string
	samples string
	cells   []string
}

// btAt is the Unix ns of s seconds into a backtest.
func btAt(s float64) int64 { return simEpoch + int64(math.Round(s*1e9)) }

func TestBacktest(t *testing.T) {
	const cpuPath = "h/OMS/cpu/cpu"
	cpuRule := Def{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
		Critical: &LevelDef{When: "value > 90"}, Warning: &LevelDef{When: "value > 75"}}
	tests := []btCase{
		{
			name:  "a threshold gives each severity as the value crosses it",
			rules: []Def{cpuRule},
			views: []btViewSpec{{path: cpuPath, samples: "0 1 2 3", cells: []string{"total/utilisation 0:50 1:80 2:95 3:60"}}},
			want: []string{
				"0s cpu/total/utilisation undefined->ok by cpu =50",
				"1s cpu/total/utilisation ok->warning by cpu =80",
				"2s cpu/total/utilisation warning->critical by cpu =95",
				"3s cpu/total/utilisation critical->ok by cpu =60",
			},
		},
		{
			name: "for is pending, starts again when broken, and fires at its deadline between samples",
			rules: []Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", For: Duration(10 * time.Second)}}},
			views: []btViewSpec{{path: cpuPath, samples: "0 2 5 6 20",
				cells: []string{"total/utilisation 0:50 2:95 5:50 6:95"}}},
			want: []string{
				"0s cpu/total/utilisation undefined->ok by cpu =50",
				"16s cpu/total/utilisation ok->critical by cpu =95", // not 12s: 5s broke it
			},
		},
		{
			name: "clear holds a level while the value hovers between",
			rules: []Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", Clear: "value < 80"}}},
			views: []btViewSpec{{path: cpuPath, samples: "0 1 2 3", cells: []string{"total/utilisation 0:95 1:85 2:70 3:85"}}},
			want: []string{
				"0s cpu/total/utilisation undefined->critical by cpu =95",
				"2s cpu/total/utilisation critical->ok by cpu =70",
			},
		},
		{
			name: "rate reads a counter, and a decrease as a reset",
			rules: []Def{{Name: "orders", Match: "*/*/fix/sessions/*/messages",
				Warning: &LevelDef{When: "rate > 5"}}},
			views: []btViewSpec{{path: "h/OMS/fix/sessions", samples: "0 10 20 30",
				// 10/s, then a reset (70 in 10s, 7/s), then 1/s.
				cells: []string{"LSE/messages 0:100 10:200 20:70 30:80"}}},
			want: []string{
				"0s sessions/LSE/messages undefined->ok by orders =100",
				"10s sessions/LSE/messages ok->warning by orders =200",
				"30s sessions/LSE/messages warning->ok by orders =80",
			},
		},
		{
			name: "previous is the value before the last point, and every point is a change",
			rules: []Def{{Name: "falling", Match: "*/*/fix/sessions/*/messages",
				Warning: &LevelDef{When: "value < previous"}}},
			views: []btViewSpec{{path: "h/OMS/fix/sessions", samples: "0 10 20 30 40",
				// 30s records the same number (its live text changed):
				// previous is then 4 too.
				cells: []string{"LSE/messages 0:5 10:6 20:4 30:4"}}},
			want: []string{
				"0s sessions/LSE/messages undefined->ok by falling =5",
				"20s sessions/LSE/messages ok->warning by falling =4",
				"30s sessions/LSE/messages warning->ok by falling =4",
			},
		},
		{
			name: "age is judged on each sample of the dataview, and on a point at no sample",
			rules: []Def{{Name: "stuck", Match: "*/*/logs/*/*/lines",
				Critical: &LevelDef{When: "age >= 30"}}},
			views: []btViewSpec{
				{path: "h/OMS/logs/logs", samples: "0 20 40 60", cells: []string{"oms/lines 0:1 50:2"}},
				{path: "h/OMS/logs/logs2", samples: "0 20 40 60", cells: []string{"oms/lines 0:1", "oms/size 0:1 35:2"}},
			},
			want: []string{
				"0s logs/oms/lines undefined->ok by stuck =1",
				"0s logs2/oms/lines undefined->ok by stuck =1",
				"35s logs2/oms/lines ok->critical by stuck =1", // its sibling's point at 35s samples the dataview
				"40s logs/oms/lines ok->critical by stuck =1",
				"50s logs/oms/lines critical->ok by stuck =2",
			},
		},
		{
			name: "keep_firing_for ends at its deadline after the last point",
			rules: []Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", KeepFiringFor: Duration(20 * time.Second)}}},
			views: []btViewSpec{{path: cpuPath, samples: "0 10", cells: []string{"total/utilisation 0:95 10:50"}}},
			to:    100,
			want: []string{
				"0s cpu/total/utilisation undefined->critical by cpu =95",
				"30s cpu/total/utilisation critical->ok by cpu =50",
			},
		},
		{
			name: "a deadline past To is not met",
			rules: []Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", KeepFiringFor: Duration(20 * time.Second)}}},
			views: []btViewSpec{{path: cpuPath, samples: "0 10", cells: []string{"total/utilisation 0:95 10:50"}}},
			to:    29.999,
			want:  []string{"0s cpu/total/utilisation undefined->critical by cpu =95"},
		},
		{
			name: "a stale point removes the cell, with its rule state; the next point makes it anew",
			rules: []Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", For: Duration(15 * time.Second)}}},
			views: []btViewSpec{{path: cpuPath, samples: "0 10 12 20 30",
				cells: []string{"total/utilisation 0:95 10:stale 12:95"}}},
			want: []string{
				"0s cpu/total/utilisation undefined->ok by cpu =95",
				"10s cpu/total/utilisation ok->undefined by cpu =95", // as the gateway says it: the rule it had, its last value
				"12s cpu/total/utilisation undefined->ok by cpu =95",
				"27s cpu/total/utilisation ok->critical by cpu =95", // 15s from 12s, not from 0s
			},
		},
		{
			name: "a stale point of a cell with no severity, or none yet, is no transition",
			rules: []Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "row.other > 1"}}},
			views: []btViewSpec{{path: cpuPath, samples: "0 10 20",
				cells: []string{"total/utilisation 0:95 10:stale", "total/idle 0:stale 20:stale"}}},
			errors: 1, // row.other is nil: the rule fails at 0s, and the cell is undefined
		},
		{
			name: "a text sibling is read through row, and a text cell is judged at its dataview's start",
			rules: []Def{
				{Name: "lag", Match: "*/*/fix/sessions/*/lag", Critical: &LevelDef{When: `value > 5 && row.state == "up"`}},
				{Name: "down", Match: "*/*/fix/sessions/*/state", Warning: &LevelDef{When: `value != "up"`}},
			},
			views: []btViewSpec{{path: "h/OMS/fix/sessions", samples: "5 10",
				cells: []string{"LSE/lag 10:12", "LSE/state =up", "XETRA/lag 10:12", "XETRA/state =down"}}},
			want: []string{
				"5s sessions/LSE/state undefined->ok by down =up",
				"5s sessions/XETRA/state undefined->warning by down =down",
				"10s sessions/LSE/lag undefined->critical by lag =12",
				"10s sessions/XETRA/lag undefined->ok by lag =12",
			},
		},
		{
			name: "attributes are each dataview's own",
			rules: []Def{
				{Name: "prod", Match: "**", Where: map[string]Values{"environment": {"production"}}, Critical: &LevelDef{When: "value > 90"}},
				{Name: "uat", Match: "**", Where: map[string]Values{"environment": {"uat"}}, Warning: &LevelDef{When: "value > 90"}},
			},
			views: []btViewSpec{
				{path: "h/OMS/cpu/cpu", attrs: map[string]string{"environment": "production"}, cells: []string{"total/utilisation 0:95"}},
				{path: "u/OMS/cpu/cpu2", attrs: map[string]string{"environment": "uat"}, cells: []string{"total/utilisation 0:95"}},
			},
			want: []string{
				"0s cpu/total/utilisation undefined->critical by prod =95",
				"0s cpu2/total/utilisation undefined->warning by uat =95",
			},
		},
		{
			name: "the state before From is replayed, and transitions outside the window are counted out",
			rules: []Def{{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation",
				Critical: &LevelDef{When: "value > 90", For: Duration(10 * time.Second)}}},
			views: []btViewSpec{{path: cpuPath, samples: "0 2 20",
				cells: []string{"total/utilisation 0:50 2:95 20:50"}}},
			from: 8, to: 15,
			want: []string{"12s cpu/total/utilisation ok->critical by cpu =95"},
		},
		{
			name:  "MaxTransitions keeps the first, and counts them all",
			rules: []Def{cpuRule, {Name: "broken", Match: "**", Warning: &LevelDef{When: "row.missing > 1"}}},
			views: []btViewSpec{{path: cpuPath, cells: []string{"total/utilisation 0:95 1:50 2:95 3:50 4:95"}}},
			max:   3,
			want: []string{
				"0s cpu/total/utilisation undefined->critical by cpu =95",
				"1s cpu/total/utilisation critical->ok by cpu =50",
				"2s cpu/total/utilisation ok->critical by cpu =95",
			},
			total:  5,
			errors: 5,
		},
		{
			name: "an event's transitions come in the gateway's order",
			rules: []Def{
				{Name: "high", Match: "**/*v", Critical: &LevelDef{When: "value > 90"}},
				{Name: "stuck", Match: "**/z", Critical: &LevelDef{When: "age >= 10"}},
			},
			views: []btViewSpec{
				{path: "h/OMS/s/a", samples: "0 10",
					cells: []string{"#/hv 0:50 10:95", "r/xv 0:50 10:95", "r/yv 10:95", "r/wv 0:95 10:stale", "r/z 0:1"}},
				{path: "h/OMS/s/b", samples: "0 10", cells: []string{"r/xv 0:50 10:95"}},
			},
			from: 5,
			// New cells, changed cells of rows, changed headlines, by
			// dataview; then the cells that read age; then those gone.
			want: []string{
				"10s a/r/yv undefined->critical by high =95",
				"10s a/r/xv ok->critical by high =95",
				"10s a/#/hv ok->critical by high =95",
				"10s b/r/xv ok->critical by high =95",
				"10s a/r/z ok->critical by stuck =1",
				"10s a/r/wv critical->undefined by high =95",
			},
		},
		{
			name: "deadlines due together are met in the order the cells appeared, before the samples of their time",
			rules: []Def{{Name: "cpu", Match: "**",
				Critical: &LevelDef{When: "value > 90", For: Duration(10 * time.Second)}}},
			// b appeared before a, and both are pending from 1s.
			views: []btViewSpec{{path: cpuPath, samples: "0 1 11",
				cells: []string{"a/utilisation 1:95", "b/utilisation 0:50 1:95 11:50"}}},
			from: 5,
			want: []string{
				"11s cpu/b/utilisation ok->critical by cpu =95",
				"11s cpu/a/utilisation ok->critical by cpu =95",
				"11s cpu/b/utilisation critical->ok by cpu =50",
			},
		},
		{
			name:  "series out of order are replayed in time order",
			rules: []Def{cpuRule},
			views: []btViewSpec{{path: cpuPath, samples: "2 0 1", cells: []string{"total/utilisation 2:95 0:50"}}},
			want: []string{
				"0s cpu/total/utilisation undefined->ok by cpu =50",
				"2s cpu/total/utilisation ok->critical by cpu =95",
			},
		},
		{
			name:  "numbers are read as the shortest text that gives them",
			rules: []Def{{Name: "text", Match: "**", Warning: &LevelDef{When: `text == "0.1" || text == "-2500000" || text == "0.000001"`}}},
			views: []btViewSpec{{path: cpuPath, cells: []string{"a/x 0:0.1", "b/x 0:-2.5e6", "c/x 0:1e-6", "d/x 0:12.30"}}},
			want: []string{
				"0s cpu/a/x undefined->warning by text =0.1",
				"0s cpu/b/x undefined->warning by text =-2500000",
				"0s cpu/c/x undefined->warning by text =0.000001",
				"0s cpu/d/x undefined->ok by text =12.3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec, opts := tt.build(t)
			res := Backtest(s, rec, opts)
			var got []string
			for _, tr := range res.Transitions {
				got = append(got, btDescribe(tr))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("transitions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			total := max(tt.total, len(tt.want))
			if res.Total != total {
				t.Errorf("Total = %d, want %d", res.Total, total)
			}
			if res.TotalErrors != tt.errors || len(res.Errors) != min(tt.errors, opts.MaxTransitions) {
				t.Errorf("%d errors (%d kept), want %d", res.TotalErrors, len(res.Errors), tt.errors)
			}
			for _, e := range res.Errors {
				if e.Err == nil || e.Rule == "" || e.Time < opts.From || e.Time > opts.To {
					t.Errorf("error %+v", e)
				}
			}
		})
	}
}

// TestBacktestDefaults checks that a nil recording gives nothing, and
// that MaxTransitions 0 keeps 10000.
func TestBacktestDefaults(t *testing.T) {
	s := mustCompile(t, nil, Def{Name: "flip", Match: "**", Critical: &LevelDef{When: "value > 0"}})
	if res := Backtest(s, nil, BacktestOptions{To: math.MaxInt64}); res.Total != 0 || res.Transitions != nil {
		t.Errorf("nil recording: %+v", res)
	}
	cell := RecordedCell{Row: "r", Column: "c"}
	for i := range 10001 {
		cell.Points = append(cell.Points, Point{T: btAt(float64(i)), V: float64(i % 2)})
	}
	rec := &Recording{Dataviews: []RecordedView{{Path: samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "s", Dataview: "d"}, Cells: []RecordedCell{cell}}}}
	res := Backtest(s, rec, BacktestOptions{To: math.MaxInt64})
	if len(res.Transitions) != 10000 || res.Total != 10001 {
		t.Errorf("kept %d of %d, want 10000 of 10001", len(res.Transitions), res.Total)
	}
}

// TestBacktestAsSimulate replays random histories through both Backtest
// and Simulate, which take them in different forms (changes and sample
// times; every sample of every cell), and checks that every severity the
// one's transitions give, at each sample and between, is what the other
// finds then.
func TestBacktestAsSimulate(t *testing.T) {
	s := mustCompile(t, nil,
		Def{Name: "for", Match: "*/*/s/*/*/a", Critical: &LevelDef{When: "value > 60", For: Duration(3 * time.Second)},
			Warning: &LevelDef{When: "value > 30", KeepFiringFor: Duration(2 * time.Second)}},
		Def{Name: "clear", Match: "*/*/s/*/*/b", Critical: &LevelDef{When: "value > 70", Clear: "value < 20", KeepFiringFor: Duration(1500 * time.Millisecond)}},
		Def{Name: "rate", Match: "*/*/s/*/*/c", Warning: &LevelDef{When: "rate > 20 || value < previous"}},
		Def{Name: "age", Match: "*/*/s/*/*/a", Warning: &LevelDef{When: "age >= 2.5 && row.state == \"up\"", For: Duration(time.Second)}},
		Def{Name: "heads", Match: "*/*/s/*/#/*", Critical: &LevelDef{When: "value + (headlines.h2 ?? 0) > 120"}},
		Def{Name: "row", Match: "*/*/s/*/*/b", Warning: &LevelDef{When: "value > row.a"}},
	)
	cols := []string{"a", "b", "c"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 100 {
		rec := &Recording{}
		c := &Case{Name: strconv.Itoa(n)}
		var end int64
		for vi := range 2 {
			path := samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "s", Dataview: fmt.Sprintf("d%d", vi)}
			rv := RecordedView{Path: path}
			var paths []samplers.CellPath
			for r := range 2 {
				for _, col := range cols {
					paths = append(paths, path.Cell(fmt.Sprintf("r%d", r), col))
				}
			}
			paths = append(paths, path.HeadlineCell("h1"), path.HeadlineCell("h2"))
			for _, p := range paths {
				rv.Cells = append(rv.Cells, RecordedCell{Headline: p.Headline, Row: p.Row, Column: p.Column})
			}
			rv.Cells = append(rv.Cells, RecordedCell{Row: "r0", Column: "state", Text: "up"})
			paths = append(paths, path.Cell("r0", "state"))
			held := make([]float64, len(paths)-1)
			at := time.Duration(rng.IntN(3)) * 250 * time.Millisecond
			for k := range 40 {
				rv.Samples = append(rv.Samples, simTime(at))
				for i, p := range paths {
					if i == len(held) {
						c.Samples = append(c.Samples, Sample{At: at, Cell: p, Text: "up"})
						continue
					}
					if v := float64(rng.IntN(10) * 10); k == 0 || v != held[i] && rng.IntN(3) == 0 {
						held[i] = v
						rv.Cells[i].Points = append(rv.Cells[i].Points, Point{T: simTime(at), V: v})
					}
					c.Samples = append(c.Samples, Sample{At: at, Cell: p, Text: samplers.Number(held[i], -1).Raw})
				}
				at += time.Duration(1+rng.IntN(6)) * 250 * time.Millisecond
			}
			end = max(end, int64(at))
			rec.Dataviews = append(rec.Dataviews, rv)
		}
		res := Backtest(s, rec, BacktestOptions{From: simEpoch, To: simTime(time.Duration(end))})
		if res.Total != len(res.Transitions) {
			t.Fatalf("case %d: %d transitions, %d kept", n, res.Total, len(res.Transitions))
		}
		// Each cell's severity, by the transitions, at every 125 ms.
		type state struct {
			sev  Severity
			rule string
		}
		now := map[samplers.CellPath]state{}
		next := 0
		for at := time.Duration(0); at <= time.Duration(end); at += 125 * time.Millisecond {
			for ; next < len(res.Transitions) && res.Transitions[next].Time <= simTime(at); next++ {
				tr := res.Transitions[next]
				now[tr.Cell] = state{tr.New, tr.Rule}
			}
			for _, dv := range rec.Dataviews {
				for _, rc := range dv.Cells {
					p := dv.Path.Cell(rc.Row, rc.Column)
					if rc.Headline {
						p = dv.Path.HeadlineCell(rc.Column)
					}
					c.Expect = append(c.Expect, Expectation{At: at, Cell: p, Severity: now[p].sev, Rule: now[p].rule})
				}
			}
		}
		sim := Simulate(s, c)
		for i, f := range sim.Failures {
			if i == 5 {
				t.Fatalf("case %d: and %d more", n, len(sim.Failures)-i)
			}
			t.Errorf("case %d: %s", n, simDescribe(f))
		}
		if len(sim.Errors) != res.TotalErrors {
			t.Errorf("case %d: Simulate had %d errors, Backtest %d", n, len(sim.Errors), res.TotalErrors)
		}
	}
}

func btDescribe(tr BacktestTransition) string {
	at := time.Duration(tr.Time - simEpoch)
	row := tr.Cell.Row
	if tr.Cell.Headline {
		row = "#"
	}
	by := ""
	if tr.Rule != "" {
		by = " by " + tr.Rule
	}
	return fmt.Sprintf("%v %s/%s/%s %v->%v%s =%s", at, tr.Cell.Dataview, row, tr.Cell.Column, tr.Old, tr.New, by, tr.Value)
}

func (tt btCase) build(t *testing.T) (*Set, *Recording, BacktestOptions) {
	t.Helper()
	s := mustCompile(t, nil, tt.rules...)
	rec := &Recording{}
	for _, vs := range tt.views {
		path, err := samplers.ParseDataviewPath(vs.path)
		if err != nil {
			t.Fatal(err)
		}
		v := RecordedView{Path: path, Attrs: vs.attrs}
		for _, f := range strings.Fields(vs.samples) {
			v.Samples = append(v.Samples, btAt(btSeconds(t, f)))
		}
		for _, spec := range vs.cells {
			f := strings.Fields(spec)
			row, col, ok := strings.Cut(f[0], "/")
			if !ok {
				t.Fatalf("cell %q: no row/column", spec)
			}
			c := RecordedCell{Headline: row == "#", Row: row, Column: col}
			if c.Headline {
				c.Row = ""
			}
			for _, p := range f[1:] {
				if text, ok := strings.CutPrefix(p, "="); ok {
					c.Text = text
					continue
				}
				at, v, ok := strings.Cut(p, ":")
				if !ok {
					t.Fatalf("point %q: no time:value", p)
				}
				x := StaleNaN
				if v != "stale" {
					if x, err = strconv.ParseFloat(v, 64); err != nil {
						t.Fatal(err)
					}
				}
				c.Points = append(c.Points, Point{T: btAt(btSeconds(t, at)), V: x})
			}
			v.Cells = append(v.Cells, c)
		}
		rec.Dataviews = append(rec.Dataviews, v)
	}
	to := tt.to
	if to == 0 {
		to = 3600
	}
	return s, rec, BacktestOptions{From: btAt(tt.from), To: btAt(to), MaxTransitions: cmp.Or(tt.max, defaultMaxTransitions)}
}

func btSeconds(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
