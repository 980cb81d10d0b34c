package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/watchfloor/watchfloor/samplers"
)

// randomSet compiles about n random rules of every kind from the small
// alphabet of patternGen, some with attribute selectors. Patterns that
// cannot match their kind's paths are redrawn.
func randomSet(t *testing.T, g patternGen, n int) *Set {
	t.Helper()
	var defs []Def
	for i := range n {
		d := Def{Name: fmt.Sprintf("r%03d", g.r.IntN(1000)) + fmt.Sprint(i)}
		var segs int
		switch g.r.IntN(4) {
		case 0, 1:
			d.Critical, segs = &LevelDef{When: "value > 1"}, 6
		case 2:
			if g.r.IntN(2) == 0 {
				d.Stale = durp(30e9)
			} else {
				d.Rows = []string{"x"}
			}
			d.Severity, segs = Warning, 4
		case 3:
			d.ProbeDown, d.Severity, segs = durp(0), Critical, 1
		}
		for {
			d.Match = g.pattern(segs)
			kind := map[int]Kind{6: CellRule, 4: StaleRule, 1: ProbeRule}[segs]
			if p, err := ParsePattern(d.Match); err == nil && p.fits(segs) {
				if _, misplaced := p.misplacedHeadline(kind); !misplaced {
					break
				}
			}
		}
		if segs > 1 && g.r.IntN(4) == 0 {
			d.Where = map[string]Values{"system": Values{"OMS", "FIX"}[:1+g.r.IntN(2)]}
		}
		defs = append(defs, d)
	}
	return mustCompile(t, nil, defs...)
}

// scan is the brute force the index must agree with: every rule of the
// kind, in set order, whose pattern matches and whose selectors pass.
func scan(s *Set, kind Kind, segs []seg, attrs map[string]string) []*Rule {
	var out []*Rule
	for _, r := range s.Rules() {
		if r.Kind() == kind && r.pattern.match(segs) && r.selects(attrs) {
			out = append(out, r)
		}
	}
	return out
}

func TestIndexAgreesWithAScan(t *testing.T) {
	g := patternGen{rand.New(rand.NewPCG(3, 4))}
	attrSets := []map[string]string{nil, {"system": "OMS"}, {"system": "FIX"}, {"system": "EQ"}}
	var matched, dvMatched, probeMatched, tried int
	for range 100 {
		s := randomSet(t, g, 60)
		e := NewEvaluator()
		for range 200 {
			attrs := attrSets[g.r.IntN(len(attrSets))]
			tried++

			segs := g.path(6)
			info := &CellInfo{
				Path:     samplers.DataviewPath{Probe: segs[0].name, Entity: segs[1].name, Sampler: segs[2].name, Dataview: segs[3].name},
				Attrs:    attrs,
				Headline: segs[4].headline, Row: segs[4].name, Column: segs[5].name,
			}
			got, want := e.Match(s, info), scan(s, CellRule, segs, attrs)
			if !slices.Equal(got, want) {
				t.Fatalf("Match %+v: %v, a scan finds %v", segs, names(got), names(want))
			}
			matched += len(want)

			segs = g.path(4)
			stale, absence := s.Dataview(samplers.DataviewPath{Probe: segs[0].name, Entity: segs[1].name, Sampler: segs[2].name, Dataview: segs[3].name}, attrs)
			dvMatched += len(stale) + len(absence)
			if want := scan(s, StaleRule, segs, attrs); !slices.Equal(stale, want) {
				t.Fatalf("Dataview %+v stale: %v, a scan finds %v", segs, names(stale), names(want))
			}
			if want := scan(s, AbsenceRule, segs, attrs); !slices.Equal(absence, want) {
				t.Fatalf("Dataview %+v absence: %v, a scan finds %v", segs, names(absence), names(want))
			}

			segs = g.path(1)
			got = s.Probe(segs[0].name)
			if want := scan(s, ProbeRule, segs, nil); !slices.Equal(got, want) {
				t.Fatalf("Probe %s: %v, a scan finds %v", segs[0].name, names(got), names(want))
			}
			probeMatched += len(got)
		}
	}
	// A generator that rarely matched would prove little.
	if matched < tried || dvMatched < tried || probeMatched < tried {
		t.Fatalf("in %d tries, %d cell, %d dataview and %d probe matches: the generator matches too rarely to test the index", tried, matched, dvMatched, probeMatched)
	}
	t.Logf("in %d tries, %d cell, %d dataview and %d probe matches", tried, matched, dvMatched, probeMatched)
}

func TestMatchSelectors(t *testing.T) {
	s := mustCompile(t, nil,
		Def{Name: "oms", Match: "**", Where: map[string]Values{"system": {"OMS"}}, Critical: &LevelDef{When: "value > 1"}},
		Def{Name: "prod", Match: "**", Where: map[string]Values{"environment": {"production", "preprod"}}, Critical: &LevelDef{When: "value > 1"}},
		Def{Name: "prod-oms", Match: "**", Where: map[string]Values{"environment": {"production"}, "system": {"OMS"}}, Critical: &LevelDef{When: "value > 1"}},
		Def{Name: "any", Match: "**", Critical: &LevelDef{When: "value > 1"}})
	cases := []struct {
		attrs map[string]string
		want  []string
	}{
		{map[string]string{"system": "OMS"}, []string{"any", "oms"}},
		{map[string]string{"system": "FIX"}, []string{"any"}},
		{map[string]string{"system": "oms"}, []string{"any"}}, // values are case-sensitive
		{map[string]string{"environment": "production"}, []string{"any", "prod"}},
		{map[string]string{"environment": "preprod"}, []string{"any", "prod"}},
		{map[string]string{"environment": "dev"}, []string{"any"}},
		{map[string]string{"environment": "production", "system": "OMS"}, []string{"any", "oms", "prod", "prod-oms"}},
		{map[string]string{"environment": "", "system": ""}, []string{"any"}},
		{nil, []string{"any"}},
	}
	e := NewEvaluator()
	for _, c := range cases {
		got := names(e.Match(s, cellInfo(t, "p/e/s/d/r/c", c.attrs)))
		if !slices.Equal(got, c.want) {
			t.Errorf("%v: %v, want %v", c.attrs, got, c.want)
		}
	}
	// Staleness and absence rules select by attribute too; probe rules
	// have no entity to select by.
	s = mustCompile(t, nil,
		Def{Name: "stale", Match: "*/*/*/*", Where: map[string]Values{"system": {"OMS"}}, Stale: durp(30e9), Severity: Warning},
		Def{Name: "rows", Match: "*/*/*/*", Where: map[string]Values{"system": {"OMS"}}, Rows: []string{"total"}, Severity: Warning})
	path := samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "s", Dataview: "d"}
	if st, ab := s.Dataview(path, map[string]string{"system": "OMS"}); len(st) != 1 || len(ab) != 1 {
		t.Errorf("OMS: stale %v absence %v", names(st), names(ab))
	}
	if st, ab := s.Dataview(path, map[string]string{"system": "FIX"}); len(st) != 0 || len(ab) != 0 {
		t.Errorf("FIX: stale %v absence %v", names(st), names(ab))
	}
}

func TestMatchByKind(t *testing.T) {
	// Each lookup finds only its own kind, though every pattern here
	// could match every path length.
	s := mustCompile(t, nil,
		Def{Name: "cell", Match: "**", Critical: &LevelDef{When: "value > 1"}},
		Def{Name: "stale", Match: "**", Stale: durp(30e9), Severity: Warning},
		Def{Name: "rows", Match: "**", Rows: []string{"total"}, Severity: Warning},
		Def{Name: "down", Match: "**", ProbeDown: durp(0), Severity: Critical})
	e := NewEvaluator()
	if got := names(e.Match(s, cellInfo(t, "p/e/s/d/r/c", nil))); !slices.Equal(got, []string{"cell"}) {
		t.Errorf("Match: %v", got)
	}
	st, ab := s.Dataview(samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "s", Dataview: "d"}, nil)
	if !slices.Equal(names(st), []string{"stale"}) || !slices.Equal(names(ab), []string{"rows"}) {
		t.Errorf("Dataview: %v %v", names(st), names(ab))
	}
	if got := names(s.Probe("p")); !slices.Equal(got, []string{"down"}) {
		t.Errorf("Probe: %v", got)
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	e := NewEvaluator()
	if s.Version() != 0 || s.Rules() != nil || s.Len() != 0 {
		t.Error("a nil set is not empty")
	}
	if _, ok := s.Rule("x"); ok {
		t.Error("a nil set has a rule")
	}
	if m := e.Match(s, cellInfo(t, "p/e/s/d/r/c", nil)); len(m) != 0 {
		t.Error("a nil set matches")
	}
	if st, ab := s.Dataview(samplers.DataviewPath{}, nil); st != nil || ab != nil {
		t.Error("a nil set has dataview rules")
	}
	if s.Probe("p") != nil {
		t.Error("a nil set has probe rules")
	}
}
