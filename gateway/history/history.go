package history

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/watchfloor/watchfloor/gateway/history/chunk"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// DefaultWindow is how long a cell keeps its values when no Window
// pattern matches it and Options.Default is zero.
const DefaultWindow = 15 * time.Minute

// A chunk is closed, and a new one started, once it holds
// maxChunkPoints points or spans a quarter of its series' window: a
// series holds at most a quarter of its window, and one chunk's worth of
// points, beyond the window before its oldest chunk is dropped.
const maxChunkPoints = 120

// Window is how long the cells a pattern matches keep their values.
type Window struct {
	Pattern *rules.Pattern
	Keep    time.Duration
}

// Options configure a Store.
type Options struct {
	// Default is the window of a cell no Window matches; zero is
	// DefaultWindow.
	Default time.Duration
	// Windows are tried in order; the first whose pattern matches a
	// cell's path gives its window.
	Windows []Window
	// Points and Refused, if not nil, count the points appended and the
	// samples refused because their time was before their view's last.
	Points, Refused *metrics.Counter
}

// Store holds the recent history of numeric cells: for each dataview a
// View with its sample times, and for each of its numeric cells a Series
// of the changes of its value. It is safe for concurrent use: each View
// has one writer (its probe's actor) at a time and any number of
// readers.
type Store struct {
	win atomic.Pointer[windowSet]

	// mu guards views. Taken before a View's mu, never after it.
	mu    sync.RWMutex
	views map[string]*View

	points  *metrics.Counter // appended
	refused *metrics.Counter // samples refused for a time before their view's last
	series  atomic.Int64     // live Series
	bytes   atomic.Int64     // encoded bytes held, as of the last sweep
	held    atomic.Int64     // points held, as of the last sweep
}

// New returns an empty store.
func New(opts Options) *Store {
	s := &Store{views: map[string]*View{}, points: opts.Points, refused: opts.Refused}
	if s.points == nil {
		s.points = new(metrics.Counter)
	}
	if s.refused == nil {
		s.refused = new(metrics.Counter)
	}
	s.win.Store(windows(opts))
	return s
}

type windowSet struct {
	def     int64 // ms
	windows []Window
}

func windows(opts Options) *windowSet {
	def := opts.Default
	if def <= 0 {
		def = DefaultWindow
	}
	return &windowSet{def: def.Milliseconds(), windows: opts.Windows}
}

// Configure changes the windows, for the series there are and those to
// come. A series whose window shrinks loses what is past it at its next
// append or sweep.
func (s *Store) Configure(opts Options) {
	w := windows(opts)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.win.Store(w)
	for _, v := range s.views {
		v.mu.Lock()
		v.keep = w.def
		v.each(func(r *Row) {
			for col, ser := range r.series {
				if ser != nil {
					ser.keep = s.window(samplers.CellPath{DataviewPath: v.path, Headline: r.headline, Row: r.name, Column: v.colName(r.headline, int32(col))})
					v.keep = max(v.keep, ser.keep)
				}
			}
		})
		v.samples.keep = v.keep
		v.mu.Unlock()
	}
}

// window returns the window, in ms, of the cell at path.
func (s *Store) window(path samplers.CellPath) int64 {
	ws := s.win.Load()
	for _, w := range ws.windows {
		if w.Pattern.MatchCell(path) {
			return w.Keep.Milliseconds()
		}
	}
	return ws.def
}

// Longest is the longest window any cell may have.
func (s *Store) Longest() time.Duration {
	ws := s.win.Load()
	d := time.Duration(ws.def) * time.Millisecond
	for _, w := range ws.windows {
		d = max(d, w.Keep)
	}
	return d
}

// Stats are a store's figures for /metrics.
type Stats struct {
	Views, Series int
	// Points is the number of points appended since the store was made;
	// Refused the samples refused because their time was not after
	// their view's last.
	Points, Refused uint64
	// Bytes is the encoded size held, and Held the points, as of the
	// last Sweep.
	Bytes, Held int64
}

// Stats returns the store's figures.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	n := len(s.views)
	s.mu.RUnlock()
	return Stats{Views: n, Series: int(s.series.Load()), Points: s.points.Get(), Refused: s.refused.Get(), Bytes: s.bytes.Load(), Held: s.held.Load()}
}

// View returns the view of the dataview at path, made if there is none.
func (s *Store) View(path samplers.DataviewPath) *View {
	key := path.String()
	s.mu.RLock()
	v := s.views[key]
	s.mu.RUnlock()
	if v != nil {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v = s.views[key]; v == nil {
		def := s.win.Load().def
		v = &View{store: s, path: path, key: key, rows: map[string]*Row{}, keep: def,
			cols: columns{index: map[string]int32{}}, heads: columns{index: map[string]int32{}}}
		v.samples.keep = def
		s.views[key] = v
	}
	return v
}

// View is one dataview's history: when it was sampled, and its numeric
// cells' Series, by row and column. Its writer brackets each sample's
// appends with Begin and End, and refers to rows by *Row and to columns
// by the index Column gives, so that an append looks nothing up by name.
type View struct {
	store *Store
	path  samplers.DataviewPath
	key   string

	mu      sync.Mutex
	samples Series // the sample times, each with the value 0
	rows    map[string]*Row
	head    *Row // the headlines, once one holds a number
	// cols and heads number the column and headline names the view's
	// rows have had. A sweep renumbers them when most are unused, and
	// then bumps layout: a writer's indexes are good while it is the
	// same.
	cols, heads columns
	layout      uint64
	keep        int64 // ms: the longest window of its series, which its samples keep too
	at          int64 // the time of the sample being recorded, Unix ms
	added       int   // points appended since Begin, counted at End
	taking      bool  // the sample at `at` is being recorded
	gone        bool  // dropped from the store by a sweep; the next Begin puts it back
	back        bool  // Begin found it gone: End puts it back into the store
}

type columns struct {
	names []string
	index map[string]int32
}

func (c *columns) of(name string) int32 {
	if i, ok := c.index[name]; ok {
		return i
	}
	i := int32(len(c.names))
	c.names = append(c.names, name)
	c.index[name] = i
	return i
}

// Row is the series of one row of a view, or of its headlines, by the
// view's column index.
type Row struct {
	name     string
	headline bool
	series   []*Series
	gone     bool // dropped from its view by a sweep; an append puts it back
}

// Begin locks the view and starts recording a sample of its dataview
// taken at t (Unix ms): Add appends values changed by it, until End. A t
// equal to the view's last sample continues that sample. A sample before
// the view's last is refused (counted): its Adds are dropped, as history
// cannot be rewritten.
func (v *View) Begin(t int64) {
	v.mu.Lock()
	if v.gone {
		v.gone, v.back = false, true
	}
	v.at = t
	last, ok := v.samples.last()
	v.taking = ok && t == last.t || v.samples.add(t, 0) == nil
	if !v.taking {
		v.store.refused.Inc()
	}
}

// End ends what Begin started and unlocks the view.
func (v *View) End() {
	back, added := v.back, v.added
	v.back, v.added = false, 0
	v.mu.Unlock()
	if added > 0 {
		v.store.points.Add(added)
	}
	if back {
		s := v.store
		s.mu.Lock()
		if s.views[v.key] == nil {
			s.views[v.key] = v
		}
		s.mu.Unlock()
	}
}

// Layout is the generation of the view's column numbering; Column's
// indexes are good while it stays the same. Call it between Begin and
// End.
func (v *View) Layout() uint64 { return v.layout }

// Column returns the view's index of a column (of a headline, if
// headline). Call it between Begin and End.
func (v *View) Column(headline bool, name string) int32 {
	if headline {
		return v.heads.of(name)
	}
	return v.cols.of(name)
}

// Row returns a row of the view (its headlines, if headline), made if
// there is none. Call it between Begin and End.
func (v *View) Row(headline bool, name string) *Row {
	if headline {
		if v.head == nil {
			v.head = &Row{headline: true}
		}
		return v.head
	}
	r := v.rows[name]
	if r == nil {
		r = &Row{name: name}
		v.rows[name] = r
	}
	return r
}

// Add appends x, the value the cell of r at column col (an index from
// Column) took at the sample Begin started; rules.StaleNaN when it went. A
// value the cell holds already, bit for bit, costs nothing, and so does
// rules.StaleNaN for a cell that holds no number. Call it between Begin and
// End.
func (v *View) Add(r *Row, col int32, x float64) {
	if !v.taking {
		return
	}
	var s *Series
	if int(col) < len(r.series) {
		s = r.series[col]
	}
	if s == nil {
		if rules.IsStale(x) {
			return
		}
		s = v.newSeries(r, col)
	} else if p, ok := s.last(); ok && math.Float64bits(p.v) == math.Float64bits(x) {
		return
	}
	if s.add(v.at, x) == nil {
		v.added++
	}
}

func (v *View) newSeries(r *Row, col int32) *Series {
	if r.gone {
		// A sweep dropped it while none of its cells held a number.
		r.gone = false
		if r.headline {
			v.head = r
		} else if v.rows[r.name] == nil {
			v.rows[r.name] = r
		}
	}
	if n := int(col) + 1; n > len(r.series) {
		r.series = slices.Grow(r.series, n-len(r.series))[:n]
	}
	path := samplers.CellPath{DataviewPath: v.path, Headline: r.headline, Row: r.name, Column: v.colName(r.headline, col)}
	s := &Series{keep: v.store.window(path)}
	r.series[col] = s
	v.keep = max(v.keep, s.keep)
	v.samples.keep = v.keep
	v.store.series.Add(1)
	return s
}

func (v *View) colName(headline bool, col int32) string {
	if headline {
		return v.heads.names[col]
	}
	return v.cols.names[col]
}

// RowGone appends rules.StaleNaN to each cell of r that holds a number: the
// row went. Call it between Begin and End.
func (v *View) RowGone(r *Row) {
	for col := range r.series {
		v.Add(r, int32(col), rules.StaleNaN)
	}
}

// Gone appends rules.StaleNaN to each cell of the view that holds a number:
// the dataview went at t (Unix ms), or at its last sample if that is
// later.
func (v *View) Gone(t int64) {
	v.mu.Lock()
	if last, ok := v.samples.last(); ok {
		t = max(t, last.t)
	}
	v.mu.Unlock()
	v.Begin(t)
	v.each(func(r *Row) { v.RowGone(r) })
	v.End()
}

// each calls f with each row of the view, the headlines first.
func (v *View) each(f func(r *Row)) {
	if v.head != nil {
		f(v.head)
	}
	for _, r := range v.rows {
		f(r)
	}
}

// Series is one cell's history: the changes of its value, the oldest
// kept apart as a point, the rest Gorilla-encoded in chunks, oldest first.
//
// It is kept small, as the gateway holds one per numeric cell: its cell's
// path is its place in its view, and a cell whose value has changed once
// (or not since the window passed it) needs no chunk.
type Series struct {
	chunks []chunk.Chunk
	// first is the oldest point: the value the cell took first, or, once
	// older chunks are dropped, the last point they held, which is the
	// value in force at the window's start.
	first    point
	keep     int64 // ms
	start    int64 // the first time of the last chunk, Unix ms
	hasFirst bool
}

type point struct {
	t int64
	v float64
}

// last returns the series' latest point, if it has one.
func (s *Series) last() (point, bool) {
	if n := len(s.chunks); n > 0 {
		t, x := s.chunks[n-1].Last()
		return point{t, x}, true
	}
	return s.first, s.hasFirst
}

// add appends a point, starting a new chunk when the last is full and
// dropping the chunks the window has left behind.
func (s *Series) add(t int64, x float64) error {
	if !s.hasFirst {
		s.first, s.hasFirst = point{t, x}, true
		return nil
	}
	n := len(s.chunks)
	if n == 0 {
		if t <= s.first.t {
			return chunk.ErrOutOfOrder
		}
	} else {
		c := &s.chunks[n-1]
		if c.Len() < maxChunkPoints && t-s.start < max(s.keep/4, 1000) {
			return c.Append(t, x)
		}
		if last, _ := c.Last(); t <= last {
			return chunk.ErrOutOfOrder
		}
		s.expire(t)
	}
	s.chunks = append(s.chunks, chunk.Chunk{})
	s.start = t
	return s.chunks[len(s.chunks)-1].Append(t, x)
}

// expire drops the chunks whose every point is older than now's window,
// keeping the last point dropped as the first, the value in force at the
// window's start. It reports whether the series has nothing left worth
// keeping: no chunk, and its one point older than the window and
// rules.StaleNaN (the cell went, so no live cell holds the series any more).
func (s *Series) expire(now int64) (empty bool) {
	cut := now - s.keep
	k := 0
	for k < len(s.chunks) {
		if t, _ := s.chunks[k].Last(); t >= cut {
			break
		}
		k++
	}
	if k > 0 {
		t, x := s.chunks[k-1].Last()
		s.first = point{t, x}
		n := copy(s.chunks, s.chunks[k:])
		clear(s.chunks[n:])
		s.chunks = s.chunks[:n]
		if n == 0 {
			s.chunks = nil
		}
	}
	return len(s.chunks) == 0 && s.hasFirst && rules.IsStale(s.first.v) && s.first.t < cut
}

// points is how many points the series holds.
func (s *Series) points() int {
	n := 0
	if s.hasFirst {
		n = 1
	}
	for i := range s.chunks {
		n += s.chunks[i].Len()
	}
	return n
}

// size is the encoded bytes the series holds.
func (s *Series) size() int {
	n := 0
	for i := range s.chunks {
		n += s.chunks[i].Size()
	}
	return n
}

// Sweep drops what every window has left behind as of now: old chunks,
// series of cells that went, rows with none left, and views with nothing
// left. Appends expire their own series as they go; Sweep is for the
// cells that stopped changing and the dataviews that went.
func (s *Store) Sweep(now time.Time) {
	t := now.UnixMilli()
	// Each view is swept under its own lock alone, so that writers and
	// readers of the others go on; the store's lock is taken only to
	// drop the views left empty, which are checked again under it.
	s.mu.RLock()
	views := make([]*View, 0, len(s.views))
	for _, v := range s.views {
		views = append(views, v)
	}
	s.mu.RUnlock()
	var bytes, held int64
	var empty []*View
	for _, v := range views {
		b, h, e := v.sweep(t)
		bytes, held = bytes+b, held+h
		if e {
			empty = append(empty, v)
		}
	}
	if len(empty) > 0 {
		s.mu.Lock()
		for _, v := range empty {
			v.mu.Lock()
			if s.views[v.key] == v && v.empty(t) {
				v.gone = true
				delete(s.views, v.key)
			}
			v.mu.Unlock()
		}
		s.mu.Unlock()
	}
	s.bytes.Store(bytes)
	s.held.Store(held)
}

// sweep drops what the window left behind in v as of t (Unix ms) and
// returns the bytes and points it holds, and whether nothing is left.
func (v *View) sweep(t int64) (bytes, held int64, empty bool) {
	s := v.store
	v.mu.Lock()
	defer v.mu.Unlock()
	used := make([]bool, len(v.cols.names))
	usedHeads := make([]bool, len(v.heads.names))
	v.each(func(r *Row) {
		n := 0
		for col, ser := range r.series {
			if ser == nil {
				continue
			}
			if ser.expire(t) {
				r.series[col] = nil
				s.series.Add(-1)
				continue
			}
			if r.headline {
				usedHeads[col] = true
			} else {
				used[col] = true
			}
			n++
			bytes += int64(ser.size())
			held += int64(ser.points())
		}
		if n == 0 {
			r.gone, r.series = true, nil
			if r.headline {
				v.head = nil
			} else {
				delete(v.rows, r.name)
			}
		}
	})
	v.renumber(used, usedHeads)
	v.samples.expire(t)
	bytes += int64(v.samples.size())
	return bytes, held, v.empty(t)
}

// empty reports whether v holds nothing as of t: no row, and no sample
// within its window. The caller holds v.mu.
func (v *View) empty(t int64) bool {
	return len(v.rows) == 0 && v.head == nil && len(v.samples.chunks) == 0 && (!v.samples.hasFirst || v.samples.first.t < t-v.keep)
}

// renumber numbers the columns again, leaving out those no series uses,
// once most of the names it numbers are unused: a probe that declares
// its dataview again and again with new column names leaves no trail.
func (v *View) renumber(used, usedHeads []bool) {
	count := func(u []bool) (n int) {
		for _, b := range u {
			if b {
				n++
			}
		}
		return n
	}
	nc, nh := count(used), count(usedHeads)
	if len(used) < 64 || 2*nc > len(used) {
		if len(usedHeads) < 64 || 2*nh > len(usedHeads) {
			return
		}
	}
	remap := func(c *columns, u []bool) []int32 {
		to := make([]int32, len(c.names))
		fresh := columns{index: map[string]int32{}}
		for i, name := range c.names {
			to[i] = -1
			if u[i] {
				to[i] = fresh.of(name)
			}
		}
		*c = fresh
		return to
	}
	to, toHeads := remap(&v.cols, used), remap(&v.heads, usedHeads)
	v.each(func(r *Row) {
		m, n := to, len(v.cols.names)
		if r.headline {
			m, n = toHeads, len(v.heads.names)
		}
		series := make([]*Series, n)
		for i, ser := range r.series {
			if ser != nil {
				series[m[i]] = ser
			}
		}
		r.series = series
	})
	v.layout++
}
