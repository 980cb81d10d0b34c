package dashboard

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// reference is the delta frame as encoding/json renders it: the oracle for
// the hand-written encoder.
func reference(t testing.TB, p *pending, dataview string) []byte {
	t.Helper()
	type deltaCell struct {
		R string `json:"r"`
		C string `json:"c"`
		Cell
	}
	d := struct {
		Type       string      `json:"type"`
		Dataview   string      `json:"dataview"`
		SampleTime int64       `json:"sampleTime,omitempty"`
		Stale      *bool       `json:"stale,omitempty"`
		Removed    []string    `json:"removed,omitempty"`
		Cells      []deltaCell `json:"cells,omitempty"`
		Headlines  []Headline  `json:"headlines,omitempty"`
	}{Type: "delta", Dataview: dataview, SampleTime: p.sampleTime, Stale: p.stale, Removed: p.removed}
	for _, k := range p.order {
		if k.headline {
			d.Headlines = append(d.Headlines, Headline{Name: k.col, Cell: p.cells[k]})
		} else {
			d.Cells = append(d.Cells, deltaCell{R: k.row, C: k.col, Cell: p.cells[k]})
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
		name := pick()
		got, n := p.encode(name)
		if n != len(p.order) {
			t.Fatalf("case %d: encode reports %d cells, pending holds %d", i, n, len(p.order))
		}
		sameJSON(t, got, reference(t, &p, name))
	}
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
			p.encode("probe/entity/cpu/cpu")
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			reference(b, &p, "probe/entity/cpu/cpu")
		}
	})
}
