package gateway

import (
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/dashboard/coalesce"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/rules"
)

// Edge cases of the actor's rule evaluation, each once a defect.

// A dataview declared again with another shape (a column added) carries
// its unchanged cells over, rule state and all, into a fresh Dataview: a
// rule reading `age` is still judged on each sample there.
func TestAgeRuleSurvivesShapeChange(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "stuck", Match: "**/v", Warning: &rules.LevelDef{When: "age >= 30"}})
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "1"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "stuck")
	// The same dataview declared again with a second column: r0/v keeps
	// its value, so it is carried over.
	d := declare(1, sid, "d", now, "1")
	d.Columns = []string{"v", "w"}
	d.Rows[0].Cells = text("1", "x")
	if err := a.do(snapshot(d)); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "stuck")
	clock.Advance(30 * time.Second)
	// A sample with nothing changed: the age cell must be judged again.
	if err := a.do(update(clock.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.Warning, "stuck")
}

// Two updates of one dataview in one batch, the first changing a cell and
// the second removing its row: the cell is counted out as it was, and not
// judged after its removal, so the counts hold only cells that exist.
func TestCellOfRowRemovedInSameBatch(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	tr := a.g.Transitions()
	a.useRules(t, busy)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "10", "20"))); err != nil {
		t.Fatal(err)
	}
	var m coalesce.Map[string, Transition]
	tr.Take(&m)
	b := protocol.Batch{Updates: []protocol.Update{
		{ID: 1, SampleTime: now + 1, Cells: []protocol.CellChange{set(0, "95")}},
		{ID: 1, SampleTime: now + 2, RemoveRows: []uint32{0}},
	}}
	if err := a.do(b); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
	if got := a.node.counts.load(); got[rules.Critical] != 0 {
		t.Errorf("no critical cell is left, but the probe counts %d", got[rules.Critical])
	}
	m.Reset()
	tr.Take(&m)
	if got, ok := m.Get("p/e/s/d/r0/v"); ok && got.New == rules.Critical {
		t.Errorf("a transition to critical was queued for the cell of a removed row: %+v", got)
	}
}

// The same with a row added by one update and removed by the next in the
// same batch.
func TestRowAddedAndRemovedInSameBatch(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, busy)
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "10"))); err != nil {
		t.Fatal(err)
	}
	b := protocol.Batch{Updates: []protocol.Update{
		{ID: 1, SampleTime: now + 1, AddRows: []protocol.RowDecl{{Index: 1, Name: "r1", Cells: text("60")}}},
		{ID: 1, SampleTime: now + 2, RemoveRows: []uint32{1}},
	}}
	if err := a.do(b); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, a)
}

// A path's finding transitions say its latest state however several rules
// find things there: a rule-set change that replaces one staleness rule by
// another (renamed, with a lower severity) leaves the dataview's path
// warning by the new rule in the queue, not ok by the old one.
func TestFindingTransitionsKeepLatestState(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.node.connected.Store(true)
	tr := a.g.Transitions()
	stale := func(name string, sev rules.Severity) rules.Def {
		return rules.Def{Name: name, Match: "p/e/s/d", Stale: dur(10 * time.Second), Severity: sev}
	}
	a.useRules(t, stale("a-stale", rules.Critical))
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	step(a, clock, 10*time.Second)
	var m coalesce.Map[string, Transition]
	tr.Take(&m)
	if got, _ := m.Get(key); got.New != rules.Critical {
		t.Fatalf("stale: transition %+v", got)
	}
	a.useRules(t, stale("b-stale", rules.Warning))
	fs := a.dvs[key].findings.Load()
	if fs == nil || len(*fs) != 1 || (*fs)[0].rule != "b-stale" {
		t.Fatalf("findings %v, want b-stale", fs)
	}
	m.Reset()
	lost := tr.Take(&m)
	got, ok := m.Get(key)
	if lost || !ok || got.New != rules.Warning || got.Rule != "b-stale" {
		t.Errorf("the dataview is warning by b-stale; the queue's latest state for %s is %+v (lost %v)", key, got, lost)
	}
}

// A critical cell whose row goes is a transition to undefined, so the
// queue's last word on its path is not critical for ever.
func TestRemovedCellLeavesTransition(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	tr := a.g.Transitions()
	a.useRules(t, withIncident(busy))
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "95", "10"))); err != nil {
		t.Fatal(err)
	}
	var m coalesce.Map[string, Transition]
	tr.Take(&m)
	if got, _ := m.Get("p/e/s/d/r0/v"); got.New != rules.Critical {
		t.Fatalf("r0: %+v", got)
	}
	rm := protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: now + 1, RemoveRows: []uint32{0}}}}
	if err := a.do(rm); err != nil {
		t.Fatal(err)
	}
	m.Reset()
	tr.Take(&m)
	if got, ok := m.Get("p/e/s/d/r0/v"); !ok || got.New == rules.Critical {
		t.Errorf("r0 was removed; its transition after: %+v (queued %v)", got, ok)
	}
}

// `age` is measured by one clock: a probe whose clock is five minutes
// behind the gateway's does not make a value that has just changed five
// minutes old.
func TestAgeIgnoresProbeClockSkew(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "stuck", Match: "**/v", Warning: &rules.LevelDef{When: "age >= 60"}})
	behind := clock.Now().Add(-5 * time.Minute).UnixNano() // the probe's clock
	if err := a.do(snapshot(declare(1, sid, "d", behind, "1"))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if err := a.do(update(behind+int64(time.Second), set(0, "2"))); err != nil { // changed just now
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "stuck")
}

// A cell pending on a long `for` whose row goes and comes back (a process
// restarting, a file rotated) takes its deadline with it: the heap grows
// with the live cells, not with the churn.
func TestHeapDoesNotGrowWithRowChurn(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "hot", Match: "**/v", Critical: &rules.LevelDef{When: "value > 90", For: rules.Duration(24 * time.Hour)}})
	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "95"))); err != nil {
		t.Fatal(err)
	}
	base := a.timers.Len()
	for i := range 1000 {
		ts := now + int64(i) + 1
		b := protocol.Batch{Updates: []protocol.Update{{ID: 1, SampleTime: ts, RemoveRows: []uint32{0},
			AddRows: []protocol.RowDecl{{Index: 0, Name: "r0", Cells: text("95")}}}}}
		if err := a.do(b); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.timers.Len(); n > base+10 {
		t.Errorf("one live cell, and %d deadlines in the heap (%d before the churn)", n, base)
	}
}

// Preview of a probe rule for a probe that never connected counts its down
// time as the probe's actor does, from the actor's start, not from 1970.
func TestPreviewProbeDownMatchesActor(t *testing.T) {
	a, _, _, clock := testActor(t, testLimits)
	a.g.mu.Lock()
	a.g.actors["p"] = &actorHandle{a: a}
	a.g.mu.Unlock()
	def := rules.Def{Name: "probe-down", Match: "*", ProbeDown: dur(time.Hour), Severity: rules.Critical}
	a.useRules(t, def)
	step(a, clock, time.Minute)
	if fs := a.node.findings.Load(); fs != nil {
		t.Fatalf("the actor finds %v after a minute", *fs)
	}
	items, _, errs := a.g.previewRule(def, 10)
	if errs != nil {
		t.Fatal(errs)
	}
	if len(items) != 1 || items[0].Severity != rules.OK.String() || !items[0].Pending {
		t.Errorf("preview %+v; the actor has the probe pending (down a minute of an hour)", items)
	}
}

// Preview of a staleness rule measures, as the actor does, the time since
// the dataview was last sampled by the gateway's clock: a probe whose
// clock is an hour behind is not stale for it.
func TestPreviewStaleMatchesActor(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.node.connected.Store(true)
	def := rules.Def{Name: "feed-stale", Match: "p/e/s/d", Stale: dur(10 * time.Second), Severity: rules.Critical}
	a.useRules(t, def)
	behind := clock.Now().Add(-time.Hour).UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", behind, "1"))); err != nil {
		t.Fatal(err)
	}
	if fs := a.dvs[key].findings.Load(); fs != nil {
		t.Fatalf("just sampled, the actor finds %v", *fs)
	}
	items, _, errs := a.g.previewRule(def, 10)
	if errs != nil {
		t.Fatal(errs)
	}
	if len(items) != 1 || items[0].Severity != rules.OK.String() {
		t.Errorf("preview %+v; the actor finds the dataview sampled just now", items)
	}
}

// A rule-set change that leaves a cell's severity as it was but changes
// the rule that set it reaches the consumers, so the dashboard shows the
// rule that judges the cell now.
func TestRuleChangeWithoutSeverityChangeReachesConsumers(t *testing.T) {
	a, rec, sid, clock := testActor(t, testLimits)
	hot := rules.Def{Name: "hot", Match: "**/v", Critical: &rules.LevelDef{When: "value > 90"}}
	also := rules.Def{Name: "also-hot", Match: "**/v", Critical: &rules.LevelDef{When: "value > 80"}}
	a.useRules(t, hot)
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "95"))); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.Critical, "hot")
	a.useRules(t, hot, also)
	wantSev(t, a, "r0", rules.Critical, "also-hot")
	var told bool
	for _, s := range rec.last() {
		told = told || len(s.cells) > 0
	}
	if !told {
		t.Errorf("r0 is now critical by also-hot, and the consumers were not told (they still show hot): %+v", rec.last())
	}
}

// A dataview declared again with another shape and a new value for a cell
// keeps that cell's rule state: its pending `for` goes on, and previous
// is the value before.
func TestShapeAndValueChangeKeepsRuleState(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	a.useRules(t, rules.Def{Name: "hot", Match: "**/v", Critical: &rules.LevelDef{When: "value > 90 && previous > 90", For: rules.Duration(5 * time.Second)}})
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "95"))); err != nil {
		t.Fatal(err)
	}
	if err := a.do(update(clock.Now().UnixNano(), set(0, "96"))); err != nil {
		t.Fatal(err)
	}
	step(a, clock, 3*time.Second)
	d := declare(2, sid, "d", clock.Now().UnixNano())
	d.Columns = []string{"v", "w"}
	d.Rows = []protocol.RowDecl{{Index: 0, Name: "r0", Cells: text("97", "x")}}
	if err := a.do(protocol.Batch{Removes: []uint32{1}, Declares: []protocol.Declare{d}}); err != nil {
		t.Fatal(err)
	}
	wantSev(t, a, "r0", rules.OK, "hot") // pending since the 96, 3 s ago
	step(a, clock, 2*time.Second)
	wantSev(t, a, "r0", rules.Critical, "hot")
}

// Preview of an absence rule with a `for` says what the actor says: a row
// missing for less than the `for` is pending, one missing longer counts.
func TestPreviewAbsenceForMatchesActor(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	def := rules.Def{Name: "procs", Match: "p/e/s/d", Rows: []string{"r0", "r9"}, For: rules.Duration(10 * time.Second), Severity: rules.Critical}
	a.useRules(t, def)
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	preview := func() PreviewItem {
		t.Helper()
		items, _, errs := a.g.previewRule(def, 10)
		if errs != nil {
			t.Fatal(errs)
		}
		for _, it := range items {
			if it.Path == "p/e/s/d/r9/" {
				return it
			}
		}
		t.Fatalf("preview %+v has no r9", items)
		return PreviewItem{}
	}
	step(a, clock, 5*time.Second)
	if it := preview(); it.Severity != rules.OK.String() || !it.Pending {
		t.Fatalf("r9 missing for 5 s of 10: preview %+v", it)
	}
	step(a, clock, 5*time.Second)
	if fs := a.dvs[key].findings.Load(); fs == nil {
		t.Fatal("r9 missing for 10 s: no finding")
	}
	if it := preview(); it.Severity != rules.Critical.String() || it.Pending {
		t.Fatalf("r9 missing for 10 s: preview %+v", it)
	}
}

// A staleness rule active only intraday finds nothing before the open
// however long the dataview has been quiet, and finds it stale at the
// open's instant, by the deadline its calendar set.
func TestStalenessFollowsTheDay(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits) // 08:00 UTC, a Tuesday
	cfg, err := config.Parse("cal", []byte(`listen: "127.0.0.1:0"
calendars:
  work_cycles:
    - {name: acme, where: {client: acme}, zone: UTC, phases: {bod: "07:00", intraday: "08:01", eod: "16:30", closed: "17:30"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	a.g.calendars.Store(newCalendarIndex(&cfg.Calendars))
	a.node.connected.Store(true)
	a.useRules(t, rules.Def{Name: "quiet", Match: "p/e/s/d", Stale: dur(10 * time.Second), Severity: rules.Warning,
		Active: &rules.ActiveDef{Phases: []string{"intraday"}}})
	if err := a.do(snapshot(declare(1, sid, "d", clock.Now().UnixNano(), "1"))); err != nil {
		t.Fatal(err)
	}
	step(a, clock, 59*time.Second)
	if fs := a.dvs[key].findings.Load(); fs != nil {
		t.Fatalf("at 08:00:59, in Beginning of Day: %v, want none", *fs)
	}
	step(a, clock, time.Second)
	fs := a.dvs[key].findings.Load()
	if fs == nil || len(*fs) != 1 || (*fs)[0].rule != "quiet" {
		t.Fatalf("at 08:01, Intraday: %v, want quiet's finding", fs)
	}
}
