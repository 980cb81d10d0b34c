package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/dashboard/coalesce"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// The actor's side of the rules, with the actor's methods called as its
// goroutine would and a clock stepped by hand: the semantics of each rule
// are the rules package's; here, that the actor judges the right cells at
// the right times and counts what they become.

func dur(d time.Duration) *rules.Duration { v := rules.Duration(d); return &v }

// useRules compiles defs after the actor's set and installs them as a
// rule-set change would.
func (a *probeActor) useRules(t *testing.T, defs ...rules.Def) {
	t.Helper()
	set, errs := rules.Compile(defs, a.set)
	if errs != nil {
		t.Fatal(errs)
	}
	a.g.rules.cur.Store(set)
	a.handle(event{kind: evRules, rules: set, done: make(chan struct{})}, a.clock.Now())
}

// update is a batch changing dataview 1's rows to values.
func update(t int64, cells ...protocol.CellChange) protocol.Batch {
	return protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: t, Cells: cells}}}
}

func set(row uint32, v string) protocol.CellChange {
	return protocol.CellChange{Row: row, Col: 0, Value: samplers.Text(v)}
}

// sevOf returns the severity of row's cell and the rule that set it.
func sevOf(t *testing.T, a *probeActor, row string) (rules.Severity, string) {
	t.Helper()
	c := cellOf(t, a, key, row)
	return c.sev, c.ruleName()
}

func wantSev(t *testing.T, a *probeActor, row string, want rules.Severity, wantRule string) {
	t.Helper()
	if sev, rule := sevOf(t, a, row); sev != want || rule != wantRule {
		t.Fatalf("%s: %v by %q, want %v by %q", row, sev, rule, want, wantRule)
	}
	checkCounts(t, a)
}

// step advances the clock and handles the deadlines due, as the actor's
// timer would.
func step(a *probeActor, clock *stepClock, d time.Duration) {
	clock.Advance(d)
	a.due(clock.Now())
}

var busy = rules.Def{Name: "busy", Match: "*/*/s/d/*/v",
	Critical: &rules.LevelDef{When: "value > 90"}, Warning: &rules.LevelDef{When: "value > 50"}}

func TestCellJudgedInTheEventThatChangedIt(t *testing.T) {
	a, rec, sid, clock := testActor(t, testLimits)
	a.useRules(t, busy)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "10", "60"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "busy")
	wantSev(t, a, "r1", rules.Warning, "busy")
	if h := a.dvs[key].head[0]; h.sev != rules.Undefined || h.rs != nil {
		t.Fatalf("the headline, which no rule matches, is %v", h.sev)
	}
	if err := a.do(update(now+1, set(0, "95"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.Critical, "busy")
	// The consumer saw the value and its severity in the same event.
	last := rec.last()
	if len(last) != 1 || !slices.Equal(last[0].cells, []string{"r0/v=95"}) {
		t.Fatalf("consumer saw %+v", last)
	}
	if got := a.node.counts.load(); got[rules.Critical] != 1 || got[rules.Warning] != 1 || got[rules.OK] != 0 {
		t.Fatalf("probe counts %v", got)
	}
	// A text value in a numeric comparison: undefined, and counted as the
	// rule's error.
	if err := a.do(update(now+2, set(0, "n/a"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.Undefined, "")
}

func TestForFiresOnItsDeadline(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "hot", Match: "**/v", Critical: &rules.LevelDef{When: "value > 90", For: rules.Duration(5 * time.Second)}})
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "95"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "hot") // pending
	step(a, clock, 3*time.Second)
	wantSev(t, a, "r0", rules.OK, "hot")
	// A break at 3 s resets the timer: holding again from 4 s, it fires
	// at 9 s, not 5 s.
	if err := a.do(update(clock.Now().UnixNano(), set(0, "50"))); err != nil {
		t.Fatal(err)
	}
	step(a, clock, time.Second)
	if err := a.do(update(clock.Now().UnixNano(), set(0, "96"))); err != nil {
		t.Fatal(err)
	}
	step(a, clock, time.Second) // 5 s
	wantSev(t, a, "r0", rules.OK, "hot")
	step(a, clock, 3*time.Second) // 8 s
	wantSev(t, a, "r0", rules.OK, "hot")
	step(a, clock, time.Second) // 9 s
	wantSev(t, a, "r0", rules.Critical, "hot")
}

// An edit of another rule, or a reload that leaves a rule as it was,
// keeps that rule's pending timer: it fires when it would have.
func TestRuleSetChangeKeepsPendingTimers(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	hot := rules.Def{Name: "hot", Match: "**/v", Critical: &rules.LevelDef{When: "value > 90", For: rules.Duration(5 * time.Second)}}
	a.useRules(t, hot)
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "95"))); err != nil {
		t.Fatal(err)
	}
	step(a, clock, 3*time.Second)
	other := rules.Def{Name: "other", Match: "**/v", Warning: &rules.LevelDef{When: "value > 99"}}
	a.useRules(t, hot, other)
	wantSev(t, a, "r0", rules.OK, "hot")
	step(a, clock, 2*time.Second)
	wantSev(t, a, "r0", rules.Critical, "hot")

	// Changing the rule itself starts it afresh.
	hot.Critical.For = rules.Duration(4 * time.Second)
	a.useRules(t, hot, other)
	wantSev(t, a, "r0", rules.OK, "hot") // pending again; equals go to the first by name
	step(a, clock, 4*time.Second)
	wantSev(t, a, "r0", rules.Critical, "hot")

	// A set without rules for the cell leaves it undefined.
	a.useRules(t, rules.Def{Name: "elsewhere", Match: "x/**", Warning: &rules.LevelDef{When: "true"}})
	wantSev(t, a, "r0", rules.Undefined, "")
}

func TestReconnectKeepsFiringState(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "hot", Match: "**/v", Critical: &rules.LevelDef{When: "value > 90", For: rules.Duration(5 * time.Second)}})
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "95", "1"))); err != nil {
		t.Fatal(err)
	}
	step(a, clock, 5*time.Second)
	wantSev(t, a, "r0", rules.Critical, "hot")
	a.disconnected(clock.Now())
	step(a, clock, time.Second)
	// The new connection sends the same values: r0 stays critical, its
	// `for` not started again.
	a.forgetConnection()
	if err := a.do(snapshot(declare(7, sid, "d", clock.Now().UnixNano(), "95", "1"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.Critical, "hot")
}

func TestStalenessWhileConnected(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.node.connected.Store(true)
	a.useRules(t, rules.Def{Name: "feed-stale", Match: "p/e/s/d", Stale: dur(10 * time.Second), Severity: rules.Critical})
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	dv := a.dvs[key]
	for range 3 {
		step(a, clock, 9*time.Second)
		if err := a.do(update(clock.Now().UnixNano())); err != nil { // a sample with nothing changed
			t.Fatal(err)
		}
	}
	if dv.findings.Load() != nil {
		t.Fatalf("sampled every 9 s, the dataview has findings %v", *dv.findings.Load())
	}
	step(a, clock, 10*time.Second)
	fs := dv.findings.Load()
	if fs == nil || len(*fs) != 1 || (*fs)[0].rule != "feed-stale" || (*fs)[0].sev != rules.Critical {
		t.Fatalf("not sampled for 10 s, findings %v", fs)
	}
	checkCounts(t, a)
	if got := a.node.counts.load(); got[rules.Critical] != 1 {
		t.Fatalf("probe counts %v", got)
	}
	if err := a.do(update(clock.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	if fs := dv.findings.Load(); fs != nil {
		t.Fatalf("sampled again, findings %v", *fs)
	}
	checkCounts(t, a)
	// A disconnected probe's dataviews are not stale by the rule: "probe
	// down" is the probe rules' business.
	a.disconnected(clock.Now())
	step(a, clock, time.Minute)
	if fs := dv.findings.Load(); fs != nil {
		t.Fatalf("probe down, the dataview has findings %v", *fs)
	}
}

func TestAbsentRows(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "oms-processes", Match: "*/*/s/d", Rows: []string{"r0", "r3"}, Severity: rules.Warning})
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "1", "2"))); err != nil {
		t.Fatal(err)
	}
	dv := a.dvs[key]
	fs := dv.findings.Load()
	if fs == nil || len(*fs) != 1 || (*fs)[0].row != "r3" {
		t.Fatalf("findings %v, want r3 missing", fs)
	}
	checkCounts(t, a)
	add := protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: now + 1,
		AddRows: []protocol.RowDecl{{Index: 2, Name: "r3", Cells: text("3")}}}}}
	if err := a.do(add); err != nil {
		t.Fatal(err)
	}
	if fs := dv.findings.Load(); fs != nil {
		t.Fatalf("r3 is there, findings %v", *fs)
	}
	checkCounts(t, a)
	rm := protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: now + 2, RemoveRows: []uint32{0}}}}
	if err := a.do(rm); err != nil {
		t.Fatal(err)
	}
	if fs := dv.findings.Load(); fs == nil || (*fs)[0].row != "r0" {
		t.Fatalf("r0 removed, findings %v", fs)
	}
	checkCounts(t, a)
	// The dataview's removal takes its findings' counts with it.
	if err := a.do(protocol.Batch{Removes: []uint32{1}}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
	if got := a.node.counts.load(); got != (sevCounts{}) {
		t.Fatalf("no dataviews left, probe counts %v", got)
	}
}

func TestProbeDown(t *testing.T) {
	a, _, _, clock := testActor(t, testLimits)
	tr := a.g.Transitions()
	a.useRules(t, rules.Def{Name: "probe-down", Match: "*", ProbeDown: dur(30 * time.Second), Severity: rules.Critical})
	step(a, clock, 29*time.Second)
	if fs := a.node.findings.Load(); fs != nil {
		t.Fatalf("down for 29 s, findings %v", *fs)
	}
	step(a, clock, time.Second)
	if fs := a.node.findings.Load(); fs == nil || (*fs)[0].rule != "probe-down" {
		t.Fatalf("never connected in 30 s, findings %v", fs)
	}
	if got := a.node.counts.load(); got[rules.Critical] != 1 {
		t.Fatalf("probe counts %v", got)
	}
	a.begin(clock.Now())
	a.setConnected(true, clock.Now())
	a.finish()
	if fs := a.node.findings.Load(); fs != nil {
		t.Fatalf("connected, findings %v", *fs)
	}
	checkCounts(t, a)
	// Both transitions, merged into one for the probe's path: from its
	// first old severity to its latest.
	var m coalesce.Map[string, Transition]
	tr.Take(&m)
	got, ok := m.Get("p")
	if m.Len() != 1 || !ok || got.Kind != rules.ProbeRule || got.Old != rules.OK || got.New != rules.OK || got.Rule != "probe-down" {
		t.Fatalf("transitions %+v", got)
	}
}

func TestAttributeSelectors(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits) // entity e has client: acme
	a.useRules(t,
		rules.Def{Name: "acme", Match: "**/v", Where: map[string]rules.Values{"client": {"acme", "other"}}, Warning: &rules.LevelDef{When: "true"}},
		rules.Def{Name: "not-acme", Match: "**/v", Where: map[string]rules.Values{"client": {"globex"}}, Critical: &rules.LevelDef{When: "true"}},
		rules.Def{Name: "no-such-attribute", Match: "**/v", Where: map[string]rules.Values{"system": {"OMS"}}, Critical: &rules.LevelDef{When: "true"}},
	)
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.Warning, "acme")
}

// withIncident is d opening incidents: the transitions of its cells go
// to the desk.
func withIncident(d rules.Def) rules.Def {
	d.Incident = &rules.IncidentDef{}
	return d
}

func TestTransitionsCoalesceByCell(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	tr := a.g.Transitions()
	a.useRules(t, withIncident(busy))
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "10"))); err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"60", "95", "70"} {
		if err := a.do(update(now+int64(i)+1, set(0, v))); err != nil {
			t.Fatal(err)
		}
	}
	var m coalesce.Map[string, Transition]
	if lost := tr.Take(&m); lost {
		t.Fatal("lost transitions")
	}
	got, ok := m.Get("p/e/s/d/r0/v")
	if m.Len() != 1 || !ok || got.Old != rules.Undefined || got.New != rules.Warning || got.Value != "70" || got.Rule != "busy" {
		t.Fatalf("transitions: %d, r0 %+v", m.Len(), got)
	}
	if m.Merges() != 3 {
		t.Fatalf("%d merges, want 3", m.Merges())
	}
}

// A rule reading a cell's age judges it again on each sample of its
// dataview, though the cell has not changed.
func TestAgeJudgedOnEachSample(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "stuck", Match: "**/v", Warning: &rules.LevelDef{When: "age >= 30"}})
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "stuck")
	clock.Advance(30 * time.Second)
	if err := a.do(update(clock.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.Warning, "stuck")
	if err := a.do(update(clock.Now().UnixNano(), set(0, "2"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "stuck")
}

// An absence rule with a `for` counts a row only once it has been missing
// that long: a process restarting within it is no finding.
func TestAbsentRowsFor(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "oms-processes", Match: "*/*/s/d", Rows: []string{"r0"}, For: rules.Duration(10 * time.Second), Severity: rules.Critical})
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "1"))); err != nil {
		t.Fatal(err)
	}
	dv := a.dvs[key]
	rm := func() {
		t.Helper()
		b := protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: clock.Now().UnixNano(), RemoveRows: []uint32{0}}}}
		if err := a.do(b); err != nil {
			t.Fatal(err)
		}
	}
	back := func() {
		t.Helper()
		b := protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: clock.Now().UnixNano(),
			AddRows: []protocol.RowDecl{{Index: 0, Name: "r0", Cells: text("1")}}}}}
		if err := a.do(b); err != nil {
			t.Fatal(err)
		}
	}
	rm()
	step(a, clock, 8*time.Second)
	back() // restarted within the 10 s
	step(a, clock, 5*time.Second)
	if fs := dv.findings.Load(); fs != nil {
		t.Fatalf("a row back within its for: findings %v", *fs)
	}
	rm()
	step(a, clock, 9*time.Second)
	if fs := dv.findings.Load(); fs != nil {
		t.Fatalf("missing for 9 s of 10: findings %v", *fs)
	}
	step(a, clock, time.Second)
	if fs := dv.findings.Load(); fs == nil || (*fs)[0].row != "r0" || (*fs)[0].sev != rules.Critical {
		t.Fatalf("missing for 10 s: findings %v", fs)
	}
	checkCounts(t, a)
}

// A cell whose rule opens no incident costs the transitions queue
// nothing, unless the desk needs every transition (a cell's snooze may
// end at a change of severity); a rule that opens incidents queues its
// cells' transitions.
func TestTransitionsOnlyForIncidents(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	tr := a.g.Transitions()
	a.useRules(t, busy)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "95"))); err != nil {
		t.Fatal(err)
	}
	var m coalesce.Map[string, Transition]
	tr.Take(&m)
	if m.Len() != 0 {
		t.Fatalf("a rule opening no incident queued %d transitions", m.Len())
	}
	tr.every.Store(true)
	if err := a.do(update(now+1, set(0, "10"))); err != nil {
		t.Fatal(err)
	}
	tr.Take(&m)
	if got, ok := m.Get("p/e/s/d/r0/v"); !ok || got.New != rules.OK {
		t.Fatalf("with every set: %+v, %v", got, ok)
	}
	tr.every.Store(false)
	m.Reset()
	a.useRules(t, withIncident(busy))
	if err := a.do(update(now+2, set(0, "96"))); err != nil {
		t.Fatal(err)
	}
	tr.Take(&m)
	if got, ok := m.Get("p/e/s/d/r0/v"); !ok || got.New != rules.Critical {
		t.Fatalf("a rule opening incidents: %+v, %v", got, ok)
	}
}
