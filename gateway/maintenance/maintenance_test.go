package maintenance

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, london)
	if err != nil {
		panic(err)
	}
	return t
}

func eod() Window {
	return Window{ID: "lse-eod-patching", Reason: "End-of-Day patching", Zone: "Europe/London",
		Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "22:00", To: "23:30",
		Where: map[string][]string{"system": {"lse"}}, Source: SourceConfig, PlannedBy: "config"}
}

func weekendRelease() Window {
	return Window{ID: "weekend-release", Reason: "OMS 4.2 release", Zone: "Europe/London",
		Start: "2026-12-05T08:00", End: "2026-12-06T18:00", Entities: []string{"oms-1"}, Source: SourceAPI, PlannedBy: "maria"}
}

func compile(t testing.TB, w Window) *Compiled {
	t.Helper()
	c, err := Compile(w)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name string
		edit func(w *Window)
		base func() Window
		want []string
	}{
		{"recurring", func(*Window) {}, eod, nil},
		{"one-off", func(*Window) {}, weekendRelease, nil},
		{"recurring, bounded", func(w *Window) { w.Start, w.End = "2026-03-01T00:00", "2026-06-01T00:00" }, eod, nil},
		{"every day", func(w *Window) { w.Days = nil }, eod, nil},
		{"both entities and where", func(w *Window) { w.Entities = []string{"oms-1"} }, eod, nil},
		{"nothing", func(w *Window) { *w = Window{} }, eod, []string{
			"id: required", "reason: required: say why, such as End-of-Day patching", `source: "": want config or api`,
			"zone: required: an IANA zone name, such as Europe/London",
			"start: required: a one-off window's start, such as 2026-12-05T08:00 (or days, from and to for a recurring one)",
			"end: required: a one-off window's end, such as 2026-12-06T18:00",
			"entities: name at least one entity, or select them by attribute with where"}},
		{"bad id", func(w *Window) { w.ID = "a b" }, eod, []string{`id: "a b": use letters, digits, '.', '_' and '-'`}},
		{"long id", func(w *Window) { w.ID = strings.Repeat("x", 129) }, eod, []string{"id: longer than 128 characters"}},
		{"unknown zone", func(w *Window) { w.Zone = "Europe/Lundon" }, weekendRelease, []string{`zone: unknown time zone "Europe/Lundon"`}},
		{"local zone", func(w *Window) { w.Zone = "Local" }, weekendRelease,
			[]string{`zone: "Local" is the zone of the machine the gateway runs on: name the zone (like Europe/London)`}},
		{"end before start", func(w *Window) { w.Start, w.End = w.End, w.Start }, weekendRelease,
			[]string{"end: 2026-12-05 08:00 is not after start 2026-12-06 18:00"}},
		{"bad wall time", func(w *Window) { w.End = "2026-12-06 18:00" }, weekendRelease,
			[]string{`end: "2026-12-06 18:00": want a wall time YYYY-MM-DDTHH:MM, such as 2026-12-05T08:00`}},
		{"bad day and clock", func(w *Window) { w.Days = []string{"mon", "wedn", "mon"}; w.From = "25:00" }, eod, []string{
			`days[1]: "wedn" is not a day of the week (mon, tue, wed, thu, fri, sat or sun)`,
			`from: clock "25:00": hour 25 is not in 00–24`, "days[2]: Monday is listed twice"}},
		{"no to", func(w *Window) { w.To = "" }, eod, []string{`to: required for a recurring window: a clock such as "22:00"`}},
		{"empty window", func(w *Window) { w.To = "22:00" }, eod, []string{"to: ends where it starts (00:00–24:00 is all day)"}},
		{"bounds reversed and a bad day", func(w *Window) { w.Start, w.End = "2026-06-01T00:00", "2026-03-01T00:00"; w.Days = []string{"x"} }, eod,
			[]string{`days[0]: "x" is not a day of the week (mon, tue, wed, thu, fri, sat or sun)`,
				"end: 2026-03-01 00:00 is not after start 2026-06-01 00:00"}},
		{"no entities", func(w *Window) { w.Where = nil }, eod, []string{"entities: name at least one entity, or select them by attribute with where"}},
		{"bad entities and where", func(w *Window) {
			w.Entities = []string{"a", "", "a"}
			w.Where = map[string][]string{"": {"x"}, "venue": {}}
		}, eod, []string{"entities[1]: must not be empty", `entities[2]: "a" is already listed (entities[0])`,
			"where: an attribute selector needs the attribute's name", `where: attribute "venue": list at least one value`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.base()
			tt.edit(&w)
			c, err := Compile(w)
			var got []string
			for _, fe := range Fields(err) {
				got = append(got, fe.Error())
			}
			if err != nil && len(got) != len(strings.Split(err.Error(), "\n")) {
				t.Errorf("an error that is not a FieldError: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Compile:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if (err == nil) != (c != nil) {
				t.Errorf("Compile = %v, %v", c, err)
			}
		})
	}
}

// Compile keeps its own copy of what it is given.
func TestCompileCopies(t *testing.T) {
	w := weekendRelease()
	c := compile(t, w)
	w.Entities[0] = "changed"
	if !c.Covers("oms-1", nil) || c.Covers("changed", nil) {
		t.Error("a change to the window compiled changed the compiled window")
	}
}

func TestSet(t *testing.T) {
	release2 := weekendRelease()
	release2.ID, release2.Reason = "another-release", "the second one"
	emea := Window{ID: "emea-venues", Reason: "network work", Zone: "UTC", Start: "2026-07-01T00:00", End: "2026-07-02T00:00",
		Where: map[string][]string{"system": {"lse", "xlon"}, "region": {"emea"}}, Source: SourceAPI}
	s := NewSet([]*Compiled{compile(t, eod()), compile(t, weekendRelease()), compile(t, release2), compile(t, emea)})
	lse := map[string]string{"system": "lse"}
	tests := []struct {
		name     string
		entity   string
		attrs    map[string]string
		now      time.Time
		covering []string
	}{
		{"lse in patching", "lse-gw-1", lse, at("2026-03-10 22:10"), []string{"lse-eod-patching"}},
		{"lse outside", "lse-gw-1", lse, at("2026-03-10 21:59"), nil},
		{"other system in patching hours", "fx-1", map[string]string{"system": "fx"}, at("2026-03-10 22:10"), nil},
		{"no attributes", "fx-1", nil, at("2026-03-10 22:10"), nil},
		{"oms during release", "oms-1", nil, at("2026-12-05 12:00"), []string{"another-release", "weekend-release"}},
		{"oms on friday night: release and lse", "oms-1", lse, at("2026-12-04 22:30"), []string{"lse-eod-patching"}},
		{"oms after the release", "oms-1", nil, at("2026-12-06 18:00"), nil},
		{"xlon in emea", "x-1", map[string]string{"system": "xlon", "region": "emea"}, at("2026-07-01 12:00"), []string{"emea-venues"}},
		{"lse in emea on a weekday night", "x-1", map[string]string{"system": "lse", "region": "emea"}, at("2026-07-01 22:30"),
			[]string{"emea-venues", "lse-eod-patching"}},
		{"xlon in apac", "x-1", map[string]string{"system": "xlon", "region": "apac"}, at("2026-07-01 12:00"), nil},
		{"emea without a system", "x-1", map[string]string{"region": "emea"}, at("2026-07-01 12:00"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Covering(tt.entity, tt.attrs, tt.now)
			if !slices.Equal(got, tt.covering) {
				t.Errorf("Covering = %q, want %q", got, tt.covering)
			}
			id, ok := s.Active(tt.entity, tt.attrs, tt.now)
			if want := len(tt.covering) > 0; ok != want || (ok && id != tt.covering[0]) {
				t.Errorf("Active = %q, %v; want the first of %q", id, ok, tt.covering)
			}
		})
	}
	if got := s.Windows(); len(got) != 4 || got[0].ID() != "another-release" || got[3].ID() != "weekend-release" {
		t.Errorf("Windows not by ID: %v", got)
	}
	if c, ok := s.Window("weekend-release"); !ok || c.Window().Reason != "OMS 4.2 release" {
		t.Errorf("Window = %v, %v", c, ok)
	}
	if _, ok := s.Window("nope"); ok {
		t.Error("Window found one that is not there")
	}
}

func TestSetFirstWins(t *testing.T) {
	stored := weekendRelease()
	stored.Reason = "stored"
	config := weekendRelease()
	config.Reason, config.Source = "config", SourceConfig
	ws := []*Compiled{compile(t, config), compile(t, stored)}
	s := NewSet(ws)
	if c, _ := s.Window("weekend-release"); s.Len() != 1 || c.Window().Reason != "config" {
		t.Errorf("the set holds %d, %+v", s.Len(), c.Window())
	}
	if got := Shadowed(ws); !slices.Equal(got, []string{"weekend-release"}) {
		t.Errorf("Shadowed = %q", got)
	}
}

func TestNextChange(t *testing.T) {
	s := NewSet([]*Compiled{compile(t, eod()), compile(t, weekendRelease())})
	for _, tt := range []struct{ now, want string }{
		{"2026-12-04 12:00", "2026-12-04 22:00"},
		{"2026-12-04 22:00", "2026-12-04 23:30"},
		{"2026-12-04 22:30", "2026-12-04 23:30"}, // from the cache
		{"2026-12-04 21:00", "2026-12-04 22:00"}, // before the cache's now
		{"2026-12-04 23:30", "2026-12-05 08:00"},
		{"2026-12-05 08:00", "2026-12-06 18:00"},
		{"2026-12-06 18:00", "2026-12-07 22:00"},
	} {
		if got := s.NextChange(at(tt.now)); !got.Equal(at(tt.want)) {
			t.Errorf("NextChange(%s) = %s, want %s", tt.now, got.In(london), tt.want)
		}
	}
	if got := NewSet([]*Compiled{compile(t, weekendRelease())}).NextChange(at("2027-01-01 00:00")); !got.IsZero() {
		t.Errorf("NextChange after the only window = %s, want zero", got)
	}
	var none *Set
	if !none.NextChange(at("2026-01-01 00:00")).IsZero() || none.Len() != 0 {
		t.Error("a nil set has changes")
	}
}

// thousand is 1,000 windows: 900 naming entities (three each, of 2,000),
// 100 selecting by a venue attribute, in five zones.
func thousand(b testing.TB) *Set {
	zones := []string{"Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "UTC"}
	days := []string{"mon", "tue", "wed", "thu", "fri"}
	ws := make([]*Compiled, 0, 1000)
	for i := range 1000 {
		w := Window{ID: fmt.Sprintf("w%04d", i), Reason: "bench", Zone: zones[i%len(zones)], Source: SourceAPI}
		if i%2 == 0 {
			w.Days, w.From, w.To = days, fmt.Sprintf("%02d:00", 18+i%6), fmt.Sprintf("%02d:30", (19+i%6)%24)
		} else {
			w.Start, w.End = fmt.Sprintf("2026-%02d-%02dT08:00", 1+i%12, 1+i%28), fmt.Sprintf("2026-%02d-%02dT18:00", 1+i%12, 1+i%28)
		}
		if i < 900 {
			w.Entities = []string{fmt.Sprintf("e%d", i%2000), fmt.Sprintf("e%d", (i+700)%2000), fmt.Sprintf("e%d", (i+1400)%2000)}
		} else {
			w.Where = map[string][]string{"venue": {fmt.Sprintf("v%d", i%100)}}
		}
		ws = append(ws, compile(b, w))
	}
	return NewSet(ws)
}

func BenchmarkSetActive(b *testing.B) {
	s := thousand(b)
	attrs := map[string]string{"venue": "v7", "region": "emea"}
	now := at("2026-03-10 19:10")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Active(entityNames[i%len(entityNames)], attrs, now)
	}
}

var entityNames = func() []string {
	out := make([]string, 2000)
	for i := range out {
		out[i] = fmt.Sprintf("e%d", i)
	}
	return out
}()

// BenchmarkSetNextChange asks at a new instant each time, past the cache.
func BenchmarkSetNextChange(b *testing.B) {
	s := thousand(b)
	now := at("2026-03-10 12:00")
	b.ReportAllocs()
	for b.Loop() {
		s.NextChange(now)
		now = now.Add(37 * time.Minute)
	}
}

// BenchmarkSetNextChangeCached asks again before the next change, as a
// gateway's timer does between changes.
func BenchmarkSetNextChangeCached(b *testing.B) {
	s := thousand(b)
	now := at("2026-03-10 12:00")
	b.ReportAllocs()
	for b.Loop() {
		s.NextChange(now)
		now = now.Add(time.Millisecond)
	}
}
