package history

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/watchfloor/watchfloor/gateway/history/chunk"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// Query selects what Read copies out.
type Query struct {
	// From and To bound the points, Unix ms, both included. The point in
	// force at From, if it is older, comes too: it is the value then.
	From, To int64
	// View selects the dataviews, Cell their cells; nil selects all.
	View func(samplers.DataviewPath) bool
	Cell func(samplers.CellPath) bool
	// Samples asks for each view's sample times in the range.
	Samples bool
	// WholeViews: a view with a cell selected comes with all its cells,
	// for a rule that reads a cell's row and headlines.
	WholeViews bool
	// MaxSeries, if not zero, is the most series Read returns: past it,
	// it returns a *TooManyError instead.
	MaxSeries int
}

// TooManyError is a query that selects more series than its MaxSeries.
type TooManyError struct{ Max int }

func (e *TooManyError) Error() string {
	return fmt.Sprintf("the query selects more than %d series, the most one query may return: narrow its paths", e.Max)
}

// ViewData is a copy of one view's history: the cells that had a value
// in the range.
type ViewData struct {
	Path samplers.DataviewPath
	// Start is the oldest time, Unix ms, its sample times reach back to:
	// before it, the view cannot say when its dataview was sampled.
	Start int64
	// Sampled is the time of its last sample at or before To, Unix ms;
	// zero if none. A series' last value held at least until then.
	Sampled int64
	// Samples are its sample times in the range, if the query asked.
	Samples []int64
	Cells   []SeriesData
}

// SeriesData is a copy of one series' points in a range.
type SeriesData struct {
	Path samplers.CellPath
	// Start is the oldest time, Unix ms, the series can answer for: its
	// oldest point, or the time of the value held from before it.
	Start int64
	// Points are the changes of the value, in time order; a rules.StaleNaN
	// value means the cell went.
	Points []Point
}

// Point is a value and its time, Unix ms.
type Point struct {
	T int64
	V float64
}

// Read copies out the history q selects, views and cells sorted by path.
// It copies each view's encoded chunks while holding that view's lock
// alone, and decodes them after releasing it.
func (s *Store) Read(q Query) ([]ViewData, error) {
	s.mu.RLock()
	views := make([]*View, 0, len(s.views))
	for _, v := range s.views {
		if q.View == nil || q.View(v.path) {
			views = append(views, v)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(views, func(a, b *View) int { return cmp.Compare(a.key, b.key) })

	var out []ViewData
	total := 0
	for _, v := range views {
		raw, ok := v.copyOut(q)
		if !ok {
			continue
		}
		d := raw.decode(q)
		if len(d.Cells) == 0 {
			continue
		}
		total += len(d.Cells)
		if q.MaxSeries > 0 && total > q.MaxSeries {
			return nil, &TooManyError{Max: q.MaxSeries}
		}
		out = append(out, d)
	}
	return out, nil
}

// rawSeries is a series' chunks as copied under its view's lock.
type rawSeries struct {
	path     samplers.CellPath
	start    int64 // the series' oldest time
	first    point
	hasFirst bool
	chunks   [][]byte
	points   int // in chunks
}

type rawView struct {
	path    samplers.DataviewPath
	samples rawSeries
	cells   []rawSeries
}

// copyOut copies the chunks of the view's selected series that may hold
// points in q's range, and reports whether any series was selected.
func (v *View) copyOut(q Query) (rawView, bool) {
	r := rawView{path: v.path}
	v.mu.Lock()
	defer v.mu.Unlock()
	selected := false
	v.each(func(row *Row) {
		for col, s := range row.series {
			if s == nil {
				continue
			}
			path := samplers.CellPath{DataviewPath: v.path, Headline: row.headline, Row: row.name, Column: v.colName(row.headline, int32(col))}
			sel := q.Cell == nil || q.Cell(path)
			selected = selected || sel
			if sel || q.WholeViews {
				r.cells = append(r.cells, s.copyOut(path, q.From, q.To))
			}
		}
	})
	if !selected {
		return r, false
	}
	r.samples = v.samples.copyOut(samplers.CellPath{}, q.From, q.To)
	return r, true
}

// copyOut copies the chunks that may hold points in [from, to], and
// the last point before them, which is the value at from.
func (s *Series) copyOut(path samplers.CellPath, from, to int64) rawSeries {
	r := rawSeries{path: path, start: s.first.t, first: s.first, hasFirst: s.hasFirst}
	first := 0
	for first < len(s.chunks) {
		if t, _ := s.chunks[first].Last(); t >= from {
			break
		}
		first++
	}
	if first > 0 {
		t, x := s.chunks[first-1].Last()
		r.first = point{t, x}
	}
	for i := first; i < len(s.chunks) && s.chunks[i].First() <= to; i++ {
		r.chunks = append(r.chunks, slices.Clone(s.chunks[i].Bytes()))
		r.points += s.chunks[i].Len()
	}
	return r
}

func (r *rawView) decode(q Query) ViewData {
	d := ViewData{Path: r.path}
	var it chunk.Iter
	samples := r.samples.decode(&it, q.From, q.To)
	d.Start = samples.Start
	if n := len(samples.Points); n > 0 {
		d.Sampled = samples.Points[n-1].T
	}
	if q.Samples {
		d.Samples = make([]int64, 0, len(samples.Points))
		for _, p := range samples.Points {
			if p.T >= q.From {
				d.Samples = append(d.Samples, p.T)
			}
		}
	}
	d.Cells = make([]SeriesData, 0, len(r.cells))
	for i := range r.cells {
		// A cell with no value in the range (gone before it) is left out.
		if c := r.cells[i].decode(&it, q.From, q.To); len(c.Points) > 0 {
			d.Cells = append(d.Cells, c)
		}
	}
	slices.SortFunc(d.Cells, func(a, b SeriesData) int { return comparePaths(a.Path, b.Path) })
	return d
}

// decode returns the points in [from, to], led by the one in force at
// from if it is older (and is a value).
func (r *rawSeries) decode(it *chunk.Iter, from, to int64) SeriesData {
	d := SeriesData{Path: r.path, Points: make([]Point, 0, r.points+2)}
	var before Point
	hasBefore := false
	take := func(t int64, x float64) bool {
		switch {
		case t < from:
			before, hasBefore = Point{t, x}, true
		case t > to:
			return false
		default:
			d.Points = append(d.Points, Point{t, x})
		}
		return true
	}
	d.Start = r.start
	if r.hasFirst {
		take(r.first.t, r.first.v)
	}
	for _, b := range r.chunks {
		it.Reset(b)
		for it.Next() {
			if t, x := it.At(); !take(t, x) {
				break
			}
		}
	}
	if hasBefore && !rules.IsStale(before.V) {
		d.Points = slices.Insert(d.Points, 0, before)
	}
	return d
}

func comparePaths(a, b samplers.CellPath) int {
	if a.Headline != b.Headline {
		if a.Headline {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(a.Row, b.Row), cmp.Compare(a.Column, b.Column))
}
