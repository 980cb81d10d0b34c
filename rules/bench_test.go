package rules

import (
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

func BenchmarkJudgeThreshold(b *testing.B) {
	r := cellRule(b, "cpu", &LevelDef{When: "value > 90"}, &LevelDef{When: "value > 75"})
	values := make([]samplers.Cell, 64)
	for i := range values {
		values[i] = samplers.Text(strconv.Itoa(50 + i%50))
	}
	e := NewEvaluator()
	var cs CellState
	cs.Bind([]*Rule{r})
	in := Input{Value: values[0]}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// A new value each time, as a busy cell has: the old one becomes
		// previous.
		cs.Changing(in.Value, in.Changed)
		in.Now += int64(time.Second)
		in.Value, in.Changed = values[i%len(values)], in.Now
		e.Judge(&cs, &in)
	}
}

// benchRules returns n cell rules of the shapes a desk writes: a sampler's
// column on every row, a glob of dataviews, a subtree of one probe, the
// headlines of a kind of dataview, some selecting by attribute.
func benchRules(n int) []Def {
	defs := make([]Def, 0, n)
	for i := range n {
		sampler := fmt.Sprintf("sampler%d", i%50)
		column := fmt.Sprintf("col%d", i%20)
		var match string
		switch i % 5 {
		case 0:
			match = fmt.Sprintf("*/*/%s/%s/*/%s", sampler, sampler, column)
		case 1:
			match = fmt.Sprintf("*/*/%s/view-*/*/%s", sampler, column)
		case 2:
			match = fmt.Sprintf("probe%d/**/%s", i%30, column)
		case 3:
			match = fmt.Sprintf("*/*/%s/*/#/%s", sampler, column)
		case 4:
			match = fmt.Sprintf("**/%s", column)
		}
		d := Def{Name: fmt.Sprintf("rule%04d", i), Match: match, Critical: &LevelDef{When: "value > 90"}}
		if i%3 == 0 {
			d.Where = map[string]Values{"environment": {"production", "preprod"}}
		}
		defs = append(defs, d)
	}
	return defs
}

func BenchmarkMatch(b *testing.B) {
	s := mustCompile(b, nil, benchRules(1000)...)
	// The cells of one dataview of 100 rows and 20 columns, and its
	// headlines.
	path := samplers.DataviewPath{Probe: "probe7", Entity: "oms1", Sampler: "sampler7", Dataview: "sampler7"}
	attrs := map[string]string{"environment": "production", "system": "OMS"}
	var infos []CellInfo
	for r := range 100 {
		for c := range 20 {
			infos = append(infos, CellInfo{Path: path, Attrs: attrs, Row: fmt.Sprintf("row%d", r), Column: fmt.Sprintf("col%d", c)})
		}
	}
	for c := range 20 {
		infos = append(infos, CellInfo{Path: path, Attrs: attrs, Headline: true, Column: fmt.Sprintf("col%d", c)})
	}
	e := NewEvaluator()
	matched := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		matched += len(e.Match(s, &infos[i%len(infos)]))
	}
	b.ReportMetric(float64(matched)/float64(b.N), "rules/cell")
}

// BenchmarkBacktest replays 15 minutes of a dataview of 100 cells that
// change on every 250 ms tick through a threshold rule with a for, the
// shape of "would my rule have fired last night?".
func BenchmarkBacktest(b *testing.B) {
	const cells, ticks = 100, 3600
	s := mustCompile(b, nil, Def{Name: "latency", Match: "*/*/fix/sessions/*/latency",
		Critical: &LevelDef{When: "value > 90", For: Duration(5 * time.Second)},
		Warning:  &LevelDef{When: "value > 75"}})
	v := RecordedView{Path: samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "fix", Dataview: "sessions"}}
	for k := range ticks {
		v.Samples = append(v.Samples, simEpoch+int64(k)*int64(250*time.Millisecond))
	}
	for c := range cells {
		rc := RecordedCell{Row: fmt.Sprintf("session%d", c), Column: "latency"}
		for k, t := range v.Samples {
			// A wave through the levels, a period of 2.5 minutes, each
			// cell at its own phase, with a jitter that changes it on
			// every tick.
			x := 50 + 45*math.Sin(2*math.Pi*float64(k)/600+float64(c)) + float64((k*7+c)%10)/10
			rc.Points = append(rc.Points, Point{T: t, V: math.Round(x*100) / 100})
		}
		v.Cells = append(v.Cells, rc)
	}
	rec := &Recording{Dataviews: []RecordedView{v}}
	opts := BacktestOptions{From: v.Samples[0], To: v.Samples[ticks-1]}
	var res BacktestResult
	b.ReportAllocs()
	for b.Loop() {
		res = Backtest(s, rec, opts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*cells*ticks), "ns/point")
	b.ReportMetric(float64(res.Total), "transitions")
}
