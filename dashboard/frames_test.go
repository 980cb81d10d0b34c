package dashboard

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// reference is the delta frame as encoding/json renders it: the oracle for
// the hand-written encoder.
func reference(t testing.TB, p *pending, topic, dataview string) []byte {
	t.Helper()
	type deltaCell struct {
		R string `json:"r"`
		C string `json:"c"`
		Cell
	}
	d := struct {
		Type       string      `json:"type"`
		Topic      string      `json:"topic"`
		Dataview   string      `json:"dataview"`
		SampleTime int64       `json:"sampleTime,omitempty"`
		Stale      *bool       `json:"stale,omitempty"`
		Removed    []string    `json:"removed,omitempty"`
		Cells      []deltaCell `json:"cells,omitempty"`
		Headlines  []Headline  `json:"headlines,omitempty"`
	}{Type: "delta", Topic: topic, Dataview: dataview, SampleTime: p.sampleTime, Stale: p.stale}
	for r := range p.removed.All() {
		d.Removed = append(d.Removed, r)
	}
	for k, c := range p.cells.All() {
		switch {
		case !p.current(k, c):
		case k.headline:
			d.Headlines = append(d.Headlines, Headline{Name: k.col, Cell: c.Cell})
		default:
			d.Cells = append(d.Cells, deltaCell{R: k.row, C: k.col, Cell: c.Cell})
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("encoder wrote invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("encoder wrote\n%s\nencoding/json writes\n%s", got, want)
	}
}

// The hand-written delta encoder says what encoding/json would, for
// awkward strings (quotes, control bytes, invalid UTF-8, U+2028) and every
// combination of parts.
func TestDeltaEncodingMatchesEncodingJSON(t *testing.T) {
	awkward := []string{"", "plain", `quo"te`, `back\slash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"bad \xff utf8 \xc3", "ok ü 日本 🚀", "line\u2028sep\u2029", "<html>&amp;", "12.30"}
	rnd := rand.New(rand.NewPCG(3, 4))
	pick := func() string {
		if rnd.IntN(3) == 0 {
			var b strings.Builder
			for range rnd.IntN(8) {
				b.WriteByte(byte(rnd.IntN(256)))
			}
			return b.String()
		}
		return awkward[rnd.IntN(len(awkward))]
	}
	for i := range 2000 {
		var p pending
		for range 1 + rnd.IntN(3) {
			u := Update{SampleTime: int64(rnd.IntN(3)) * 1732233445123}
			if rnd.IntN(3) == 0 {
				st := rnd.IntN(2) == 0
				u.Stale = &st
			}
			if rnd.IntN(4) == 0 {
				u.RemovedRows = []string{pick(), pick()}
			}
			for range rnd.IntN(6) {
				u.Changes = append(u.Changes, Change{Row: pick(), Column: pick(), Headline: rnd.IntN(3) == 0,
					Cell: Cell{V: pick(), S: "warning", T: rnd.Int64N(1 << 50)}})
			}
			p.add(&u)
		}
		topic, dv := DataviewTopic(pick()), pick()
		got, _ := p.encode(topic, dv)
		if !bytes.HasPrefix(got, []byte(`{"type":"delta","topic":`)) {
			t.Fatalf("case %d: frame %q does not start with its type and topic", i, got)
		}
		sameJSON(t, got, reference(t, &p, topic, dv))
	}
}

// pending keeps the latest value of each cell in first-change order; a
// removed row takes its earlier pending cells with it, but not a headline
// of the same name, nor the row's cells added after the removal.
func TestPendingMerges(t *testing.T) {
	cell := func(row, col, v string) Change { return Change{Row: row, Column: col, Cell: Cell{V: v}} }
	head := func(name, v string) Change { return Change{Headline: true, Column: name, Cell: Cell{V: v}} }
	yes, no := true, false
	f := func(name string, want string, updates ...Update) {
		t.Helper()
		var p pending
		for i := range updates {
			p.add(&updates[i])
		}
		if got, _ := p.encode("dataview/p/e/s/d", "p/e/s/d"); string(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	const pre = `{"type":"delta","topic":"dataview/p/e/s/d","dataview":"p/e/s/d"`
	f("latest value, first order", pre+`,"cells":[{"r":"a","c":"x","v":"3","s":"","t":0},{"r":"b","c":"x","v":"2","s":"","t":0}]}`,
		Update{Changes: []Change{cell("a", "x", "1")}},
		Update{Changes: []Change{cell("b", "x", "2"), cell("a", "x", "3")}})
	f("a removed row drops its pending cells", pre+`,"removed":["a"],"cells":[{"r":"b","c":"x","v":"2","s":"","t":0}],"headlines":[{"name":"a","v":"h","s":"","t":0}]}`,
		Update{Changes: []Change{cell("a", "x", "1"), cell("b", "x", "2"), head("a", "h")}},
		Update{RemovedRows: []string{"a"}})
	f("a row re-added after its removal", pre+`,"removed":["a"],"cells":[{"r":"a","c":"x","v":"new","s":"","t":0}]}`,
		Update{Changes: []Change{cell("a", "x", "old")}},
		Update{RemovedRows: []string{"a"}},
		Update{Changes: []Change{cell("a", "x", "new")}})
	f("the rule that set a severity", pre+`,"cells":[{"r":"a","c":"x","v":"95","s":"critical","t":0,"rule":"cpu-busy"}]}`,
		Update{Changes: []Change{{Row: "a", Column: "x", Cell: Cell{V: "95", S: "critical", Rule: "cpu-busy"}}}})
	f("latest sample time and staleness", pre+`,"sampleTime":20,"stale":false}`,
		Update{SampleTime: 20, Stale: &yes},
		Update{SampleTime: 10, Stale: &no},
		Update{})
	f("nothing", pre+`}`)
}

// BenchmarkEncodeDelta encodes one dataview's frame of 100 changed cells.
func BenchmarkEncodeDelta(b *testing.B) {
	var p pending
	u := Update{SampleTime: 1732233445123}
	for r := range 10 {
		for c := range 10 {
			u.Changes = append(u.Changes, Change{Row: "row" + string(rune('0'+r)), Column: "col" + string(rune('0'+c)),
				Cell: Cell{V: "12.34", S: "ok", T: 1732233445000}})
		}
	}
	p.add(&u)
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.encode("dataview/probe/entity/cpu/cpu", "probe/entity/cpu/cpu")
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			reference(b, &p, "dataview/probe/entity/cpu/cpu", "probe/entity/cpu/cpu")
		}
	})
}
