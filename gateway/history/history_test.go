package history

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

var dvPath = samplers.DataviewPath{Probe: "p", Entity: "e", Sampler: "cpu", Dataview: "cpu"}

// t0 is a whole second, Unix ms, so that tick times are easy to read.
const t0 = int64(1_800_000_000_000)

// sample records one sample of v at t: the values of row "r" by column.
func sample(v *View, t int64, cells map[string]float64) {
	v.Begin(t)
	r := v.Row(false, "r")
	for _, c := range slices.Sorted(mapsKeys(cells)) {
		v.Add(r, v.Column(false, c), cells[c])
	}
	v.End()
}

func mapsKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func read(t *testing.T, s *Store, from, to int64) []ViewData {
	t.Helper()
	out, err := s.Read(Query{From: from, To: to, Samples: true})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOnlyChangesAreRecorded(t *testing.T) {
	s := New(Options{})
	v := s.View(dvPath)
	values := []float64{1, 1, 1, 2, 2, 3, 3, 3, 3, 1}
	for i, x := range values {
		sample(v, t0+int64(i)*250, map[string]float64{"util": x})
	}
	if got := s.Stats().Points; got != 4 {
		t.Errorf("%d points appended for 4 changes over 10 samples", got)
	}
	out := read(t, s, t0, t0+10_000)
	if len(out) != 1 || len(out[0].Cells) != 1 {
		t.Fatalf("read %+v", out)
	}
	want := []Point{{t0, 1}, {t0 + 750, 2}, {t0 + 1250, 3}, {t0 + 2250, 1}}
	if got := out[0].Cells[0].Points; !slices.Equal(got, want) {
		t.Errorf("points %v, want %v", got, want)
	}
	if len(out[0].Samples) != 10 || out[0].Sampled != t0+2250 {
		t.Errorf("samples %v, sampled %d: want the 10 sample times, the last at %d", out[0].Samples, out[0].Sampled, t0+2250)
	}
}

func TestReadRangeLeadsWithTheValueInForce(t *testing.T) {
	s := New(Options{})
	v := s.View(dvPath)
	for i := range 100 {
		sample(v, t0+int64(i)*1000, map[string]float64{"util": float64(i / 10)}) // changes every 10 s
	}
	out := read(t, s, t0+25_000, t0+45_000)
	got := out[0].Cells[0].Points
	want := []Point{{t0 + 20_000, 2}, {t0 + 30_000, 3}, {t0 + 40_000, 4}}
	if !slices.Equal(got, want) {
		t.Errorf("points %v, want %v: the value in force at the start, then the changes in range", got, want)
	}
	if out[0].Sampled != t0+45_000 {
		t.Errorf("sampled %d, want the last sample in range %d", out[0].Sampled, t0+45_000)
	}
	if out[0].Cells[0].Start != t0 {
		t.Errorf("start %d, want %d", out[0].Cells[0].Start, t0)
	}
}

func TestCellThatGoesIsStaleUntilItComesBack(t *testing.T) {
	s := New(Options{})
	v := s.View(dvPath)
	sample(v, t0, map[string]float64{"util": 5})
	v.Begin(t0 + 1000)
	v.RowGone(v.Row(false, "r"))
	v.End()
	sample(v, t0+2000, map[string]float64{"util": 6})

	got := read(t, s, t0, t0+5000)[0].Cells[0].Points
	if len(got) != 3 || got[0] != (Point{t0, 5}) || !rules.IsStale(got[1].V) || got[1].T != t0+1000 || got[2] != (Point{t0 + 2000, 6}) {
		t.Errorf("points %v: want 5, a stale marker at +1s, then 6", got)
	}
	// A range that starts while it is gone has no leading value.
	if out := read(t, s, t0+1500, t0+1900); len(out) != 0 {
		t.Errorf("read %+v while the cell was gone: want nothing", out)
	}
}

func TestSampleBeforeTheLastIsRefused(t *testing.T) {
	s := New(Options{})
	v := s.View(dvPath)
	sample(v, t0+1000, map[string]float64{"util": 1})
	sample(v, t0+500, map[string]float64{"util": 2})  // the probe's clock stepped back
	sample(v, t0+1000, map[string]float64{"util": 3}) // the same sample time: it continues
	sample(v, t0+2000, map[string]float64{"util": 4})
	if st := s.Stats(); st.Refused != 1 {
		t.Errorf("%d samples refused, want 1", st.Refused)
	}
	got := read(t, s, t0, t0+5000)[0].Cells[0].Points
	want := []Point{{t0 + 1000, 1}, {t0 + 2000, 4}}
	if !slices.Equal(got, want) {
		t.Errorf("points %v, want %v: the refused sample's value and the second value at one time are dropped", got, want)
	}
}

func TestValuesRoundTripBitExactly(t *testing.T) {
	s := New(Options{})
	v := s.View(dvPath)
	values := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64, -1e300, 42}
	for i, x := range values {
		sample(v, t0+int64(i)*100, map[string]float64{"x": x})
	}
	got := read(t, s, t0, t0+10_000)[0].Cells[0].Points
	if len(got) != len(values) {
		t.Fatalf("%d points, want %d", len(got), len(values))
	}
	for i, p := range got {
		if math.Float64bits(p.V) != math.Float64bits(values[i]) {
			t.Errorf("point %d: %v (%#x), want %v", i, p.V, math.Float64bits(p.V), values[i])
		}
	}
}

// A window pattern gives the cells it matches a longer window; the others
// keep the default.
func TestWindowsByPattern(t *testing.T) {
	p, perr := rules.ParsePattern("*/*/*/*/*/kept")
	if perr != nil {
		t.Fatal(perr)
	}
	s := New(Options{Default: time.Minute, Windows: []Window{{Pattern: p, Keep: 10 * time.Minute}}})
	v := s.View(dvPath)
	for i := range 20 * 60 { // 20 minutes at 1 s, every value changing
		sample(v, t0+int64(i)*1000, map[string]float64{"kept": float64(i), "short": float64(i)})
	}
	end := t0 + 20*60*1000
	s.Sweep(time.UnixMilli(end))
	out := read(t, s, t0, end)
	starts := map[string]int64{}
	for _, c := range out[0].Cells {
		starts[c.Path.Column] = end - c.Start
	}
	// Chunks are dropped whole, so up to a quarter of the window (or 120
	// points) more than the window is kept.
	if got := starts["kept"]; got < 10*60*1000 || got > 13*60*1000 {
		t.Errorf("kept reaches back %d ms, want about 10 minutes", got)
	}
	if got := starts["short"]; got < 60*1000 || got > 3*60*1000 {
		t.Errorf("short reaches back %d ms, want about 1 minute", got)
	}
}

// Over a long run, what the store holds stays bounded by the windows:
// old chunks are dropped as new points come, series of rows that went are
// swept once their window has passed, and a dataview that went leaves
// nothing behind.
func TestMemoryStaysBoundedOverALongRun(t *testing.T) {
	s := New(Options{Default: 15 * time.Minute})
	const tick = 250
	const cells = 50
	var peak int64
	v := s.View(dvPath)
	var t1 int64
	for i := range 4 * 60 * 60 * 1000 / tick { // four hours
		t1 = t0 + int64(i)*tick
		v.Begin(t1)
		// Each row lives ten minutes: a process restarted under a new
		// name, say.
		name := "r" + string(rune('a'+(i*tick/600_000)%26))
		r := v.Row(false, name)
		for c := range cells {
			v.Add(r, v.Column(false, string(rune('A'+c))), float64((i+c)%7))
		}
		if i > 0 && i*tick%600_000 == 0 {
			prev := "r" + string(rune('a'+((i-1)*tick/600_000)%26))
			v.RowGone(v.Row(false, prev))
		}
		v.End()
		if i%(10_000/tick) == 0 {
			s.Sweep(time.UnixMilli(t1))
			peak = max(peak, s.Stats().Bytes)
		}
	}
	st := s.Stats()
	// At 50 changes a tick, 15 minutes (and up to a quarter more) is
	// about 225,000-280,000 points; at a few bits each that is well
	// under 1 MiB, and four hours would be sixteen times more.
	if peak > 1<<20 {
		t.Errorf("peak %d bytes held for a 15-minute window", peak)
	}
	if st.Series > 3*cells {
		t.Errorf("%d series live: rows that went more than a window ago are still held", st.Series)
	}
	v.Gone(t1 + tick)
	s.Sweep(time.UnixMilli(t1 + 20*60*1000))
	if st := s.Stats(); st.Views != 0 || st.Series != 0 || st.Bytes != 0 {
		t.Errorf("after the dataview went and its window passed: %+v, want nothing", st)
	}
	if out := read(t, s, t1-1000, t1+1000); len(out) != 0 {
		t.Errorf("read %d views after they were swept", len(out))
	}
}

// A view swept away while its dataview is still known to its writer comes
// back at the writer's next sample, and so does a row.
func TestSweptViewAndRowComeBack(t *testing.T) {
	s := New(Options{Default: time.Minute})
	v := s.View(dvPath)
	sample(v, t0, map[string]float64{"util": 1})
	r := v.Row(false, "r")
	v.Begin(t0 + 1000)
	v.RowGone(r)
	v.End()
	s.Sweep(time.UnixMilli(t0 + 10*60*1000))
	if st := s.Stats(); st.Views != 0 {
		t.Fatalf("%+v: want the view swept", st)
	}
	v.Begin(t0 + 10*60*1000 + 1)
	v.Add(r, v.Column(false, "util"), 7)
	v.End()
	out := read(t, s, t0, t0+20*60*1000)
	if len(out) != 1 || len(out[0].Cells) != 1 || out[0].Cells[0].Points[0].V != 7 {
		t.Errorf("read %+v: want the view back with its row's new value", out)
	}
}

// A probe that declares its dataview again and again with new column
// names leaves no trail: the sweep numbers the columns again, and the
// writer's indexes follow its layout.
func TestColumnsRenumbered(t *testing.T) {
	s := New(Options{Default: time.Minute})
	v := s.View(dvPath)
	var t1 int64
	for round := range 100 {
		t1 = t0 + int64(round)*60_000
		v.Begin(t1)
		r := v.Row(false, "r")
		for c := range 10 {
			v.Add(r, v.Column(false, string(rune('a'+round%26))+string(rune('0'+c))+string(rune('A'+round/26))), 1)
		}
		v.End()
		v.Begin(t1 + 1)
		v.RowGone(r)
		v.End()
		s.Sweep(time.UnixMilli(t1 + 30_000))
	}
	if n := len(v.cols.names); n > 200 {
		t.Errorf("%d column names numbered after 1,000 distinct ones came and went", n)
	}
	layout := v.Layout()
	if layout == 0 {
		t.Error("the layout never changed")
	}
	v.Begin(t1 + 60_000)
	v.Add(v.Row(false, "r"), v.Column(false, "fresh"), 3)
	v.End()
	out := read(t, s, t1+59_000, t1+61_000)
	if len(out) != 1 || len(out[0].Cells) != 1 || out[0].Cells[0].Path.Column != "fresh" {
		t.Errorf("read %+v after renumbering: want the one fresh cell", out)
	}
}

func TestTooManySeries(t *testing.T) {
	s := New(Options{})
	v := s.View(dvPath)
	sample(v, t0, map[string]float64{"a": 1, "b": 2, "c": 3})
	_, err := s.Read(Query{From: t0, To: t0 + 1, MaxSeries: 2})
	if e, ok := err.(*TooManyError); !ok || e.Max != 2 {
		t.Errorf("Read = %v, want a TooManyError naming 2", err)
	}
	out, err := s.Read(Query{From: t0, To: t0 + 1, MaxSeries: 2, Cell: func(c samplers.CellPath) bool { return c.Column != "c" }})
	if err != nil || len(out[0].Cells) != 2 {
		t.Errorf("Read with a narrower selection = %v, %v", out, err)
	}
}

// One writer, readers and a sweeper at once: run with -race.
func TestConcurrentWriterReadersAndSweeper(t *testing.T) {
	s := New(Options{Default: time.Second})
	v := s.View(dvPath)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var now int64 = t0
	var mu sync.Mutex
	clock := func() int64 { mu.Lock(); defer mu.Unlock(); return now }
	wg.Go(func() {
		for i := range 20_000 {
			mu.Lock()
			now = t0 + int64(i)*10
			mu.Unlock()
			sample(v, t0+int64(i)*10, map[string]float64{"a": float64(i % 3), "b": float64(i)})
		}
		close(stop)
	})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := clock()
				if _, err := s.Read(Query{From: c - 500, To: c, Samples: true}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.Sweep(time.UnixMilli(clock()))
		}
	})
	wg.Wait()
	out := read(t, s, t0+199_000, t0+200_000)
	if len(out) != 1 || len(out[0].Cells) != 2 {
		t.Fatalf("read %+v", out)
	}
}
