package netprobe

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// sentView is what the gateway holds of one dataview, as far as this
// connection has told it.
type sentView struct {
	id        uint32
	columns   []string
	headlines []string
	headVals  []string
	rows      map[string]uint32   // row name → index
	cells     map[uint32][]string // index → raw values
	free      freeRows            // released indexes, reused lowest first
	next      uint32
	cost      uint64 // what it costs against the probe's cell budget
}

func (v *sentView) allocRow() uint32 {
	if len(v.free) > 0 {
		return v.free.pop()
	}
	idx := v.next
	v.next++
	return idx
}

// freeRows is a min-heap of released row indexes: a new row takes the
// lowest, in logarithmic time however many rows a tick replaces.
type freeRows []uint32

func (f *freeRows) push(idx uint32) {
	h := append(*f, idx)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p] <= h[i] {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	*f = h
}

func (f *freeRows) pop() uint32 {
	h := *f
	top, n := h[0], len(h)-1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l] < h[m] {
			m = l
		}
		if r := l + 1; r < n && h[r] < h[m] {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*f = h
	return top
}

func rowCost(name string, raws []string) uint64 {
	c := protocol.Cost(name)
	for _, r := range raws {
		c += protocol.Cost(r)
	}
	return c
}

// costs adds up, for one batch, what the gateway's hold of the probe loses
// and gains. Removals apply first, then declarations, then updates; an
// update's own removals come before its additions, but an update may
// also shrink one value and grow another, so only its growth is counted
// towards the batch's peak.
//
// With split set, each update is made in two parts, what shrinks (row
// removals, values that cost no more than before) and what grows, so that
// a batch whose peak would pass the budget can go as two: first the
// shrinking parts, then the growing ones.
type costs struct {
	removed, declared uint64
	grown, shrunk     uint64 // by updates
	split             bool
	shrinks, grows    []protocol.Update
	// redeclared are the removals of dataviews the batch declares again
	// (a sampler restarted, columns changed): a split batch sends each
	// with its declaration, so that the gateway reconciles the two
	// rather than dropping the dataview and its cells' state in between.
	redeclared map[uint32]bool
}

// peak is the most the gateway can hold at any point while applying the
// batch, from before.
func (c costs) peak(before uint64) uint64 { return before - c.removed + c.declared + c.grown }

// after is what the gateway holds once the batch is applied.
func (c costs) after(before uint64) uint64 {
	return before - c.removed + c.declared + c.grown - c.shrunk
}

// differ turns samples into protocol batches for one connection. It is
// owned by the connection's sender goroutine. Dataviews and rows without a
// name are left out: a cell's path needs every segment, and the gateway
// refuses a batch that declares them. Of several with one name, the first
// counts.
//
// With limits (a version-2 gateway's Welcome), it never sends what would
// pass them: columns, headlines and rows past their limits are cut, and
// whole dataviews that do not fit the dataview count or the cell budget
// are left out, in a stable order (by sampler ID, then in the order the
// sampler gives them), so the same ones stay in. A limit of 0 is none.
type differ struct {
	nextID uint32
	views  map[uint32]map[string]*sentView // sampler ID → dataview name → view
	cost   uint64                          // what the gateway holds, by protocol.Cost

	limits *protocol.Limits // nil: none
	// latest is, with limits, every instance's latest sample cut to the
	// limits, for choosing what fits across all of them.
	latest map[uint32]*fitted
	// included is what the last choice let in, by sampler and dataview.
	included map[uint32]map[string]bool
	// report, with limits, is told what they leave out whenever that
	// changes.
	report   func(limitState)
	reported string
}

// fitted is one sample as the limits let it be sent: its named, distinct
// dataviews with columns, headlines and rows cut, and what each costs.
type fitted struct {
	smp   *sample
	dvs   []samplers.Dataview
	costs []uint64
	// cut says, for each dataview cut, how much of what was cut, for the
	// log; cutKey says what, without the counts: rows that come and go
	// under a cut are one state. Both are "" for a dataview sent whole.
	cut, cutKey []string
}

// limitState is what the limits leave out, for the log and the metrics.
type limitState struct {
	LeftOut []string // dataviews not sent at all, and why
	Cut     []string // dataviews sent with columns, headlines or rows cut
}

func newDiffer(limits *protocol.Limits, report func(limitState)) *differ {
	d := &differ{views: make(map[uint32]map[string]*sentView), limits: limits, report: report, reported: stateKey(nil, nil)}
	if limits != nil {
		d.latest = make(map[uint32]*fitted)
	}
	return d
}

// snapshot forgets what was sent and declares every dataview afresh.
func (d *differ) snapshot(all map[uint32]*sample) []protocol.Declare {
	clear(d.views)
	d.cost = 0
	ids := sortedIDs(all)
	var include map[uint32]map[string]bool
	if d.limits != nil {
		clear(d.latest)
		for id, smp := range all {
			d.latest[id] = d.fit(smp)
		}
		include = d.choose()
		d.included = include
	}
	var decls []protocol.Declare
	for _, id := range ids {
		dvs := all[id].dvs
		if d.limits != nil {
			dvs = d.latest[id].dvs
		}
		byName := make(map[string]*sentView, len(dvs))
		d.views[id] = byName
		for i := range dvs {
			dv := &dvs[i]
			if _, dup := byName[dv.Name]; dup || dv.Name == "" || include != nil && !include[id][dv.Name] {
				continue
			}
			decl, v := d.declare(id, all[id].time, dv)
			byName[dv.Name] = v
			d.cost += v.cost
			decls = append(decls, decl)
		}
	}
	return decls
}

func sortedIDs[V any](m map[uint32]V) []uint32 {
	ids := make([]uint32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// delta fills b with the changes in the dirty instances' samples. With
// limits, a batch that would pass the cell budget part way through (some
// values grow by what others shrink, and the growth applies first) goes
// in two: b with the removals and what shrinks, then with the
// declarations and what grows, to be sent after b. then is left empty
// when b holds everything.
func (d *differ) delta(dirty map[uint32]*sample, b, then *protocol.Batch) {
	var c costs
	if d.limits == nil {
		for _, id := range sortedIDs(dirty) {
			d.diffSampler(id, dirty[id], nil, nil, true, b, &c)
		}
		b.Updates = c.shrinks
		d.cost = c.after(d.cost)
		return
	}
	c.split = true
	for id, smp := range dirty {
		if smp == nil {
			delete(d.latest, id)
		} else {
			d.latest[id] = d.fit(smp)
		}
	}
	prev, include := d.included, d.choose()
	d.included = include
	// The dirty instances, and those whose dataviews that fit changed: a
	// dataview that grew can push a later one out, and one that shrank
	// can let it back in.
	ids := sortedIDs(d.latest)
	for id := range d.views {
		if _, ok := d.latest[id]; !ok {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		_, sampled := dirty[id]
		if !sampled && maps.Equal(prev[id], include[id]) {
			continue
		}
		f := d.latest[id]
		if f == nil {
			d.diffSampler(id, nil, nil, nil, true, b, &c)
			continue
		}
		d.diffSampler(id, f.smp, f.dvs, include[id], sampled, b, &c)
	}
	// Removals may have been appended out of order; the gateway does not
	// mind, but a stable batch is easier to read in a dump.
	slices.Sort(b.Removes)
	if d.limits.MaxCells == 0 || c.peak(d.cost) <= d.limits.MaxCells {
		for i, g := range c.grows {
			u := &c.shrinks[i]
			u.AddRows = g.AddRows
			u.Cells = append(u.Cells, g.Cells...)
			u.Headlines = append(u.Headlines, g.Headlines...)
		}
		b.Updates = c.shrinks
	} else {
		// The shrinking half only lowers what the gateway holds; the
		// growing half then brings it to the final state, which fits,
		// removing what it declares again before declaring it (the
		// gateway counts a removal before the declarations after it).
		b.Updates = c.shrinks
		then.Declares, b.Declares = b.Declares, nil
		b.Removes = slices.DeleteFunc(b.Removes, func(id uint32) bool {
			if c.redeclared[id] {
				then.Removes = append(then.Removes, id)
				return true
			}
			return false
		})
		for _, g := range c.grows {
			if len(g.AddRows)+len(g.Cells)+len(g.Headlines) > 0 {
				then.Updates = append(then.Updates, g)
			}
		}
	}
	d.cost = c.after(d.cost)
}

// diffSampler adds to b what changed in one instance's sample: smp nil
// means it is gone. dvs, if not nil, are the dataviews to hold (smp's,
// cut to the limits), and include, if not nil, those of them that fit;
// the others are not declared, and removed if they were. sampled says
// whether smp is new since the last batch, so that dataviews already sent
// get an update.
func (d *differ) diffSampler(id uint32, smp *sample, dvs []samplers.Dataview, include map[string]bool, sampled bool, b *protocol.Batch, c *costs) {
	byName := d.views[id]
	if smp == nil {
		for _, v := range byName {
			b.Removes = append(b.Removes, v.id)
			c.removed += v.cost
		}
		delete(d.views, id)
		return
	}
	if dvs == nil {
		dvs = smp.dvs
	}
	if byName == nil {
		byName = make(map[string]*sentView, len(dvs))
		d.views[id] = byName
	}
	seen := make(map[string]bool, len(dvs))
	for i := range dvs {
		dv := &dvs[i]
		if seen[dv.Name] || dv.Name == "" || include != nil && !include[dv.Name] {
			continue
		}
		seen[dv.Name] = true
		v := byName[dv.Name]
		if v == nil || !slices.Equal(v.columns, dv.Columns) || !sameHeadlineNames(v.headlines, dv.Headlines) {
			if v != nil {
				b.Removes = append(b.Removes, v.id)
				c.removed += v.cost
				if c.redeclared == nil {
					c.redeclared = make(map[uint32]bool)
				}
				c.redeclared[v.id] = true
			}
			decl, nv := d.declare(id, smp.time, dv)
			byName[dv.Name] = nv
			c.declared += nv.cost
			b.Declares = append(b.Declares, decl)
			continue
		}
		if sampled {
			v.update(smp.time, dv, c)
		}
	}
	for name, v := range byName {
		if !seen[name] {
			b.Removes = append(b.Removes, v.id)
			c.removed += v.cost
			delete(byName, name)
		}
	}
}

func sameHeadlineNames(names []string, hs []samplers.Headline) bool {
	if len(names) != len(hs) {
		return false
	}
	for i, h := range hs {
		if names[i] != h.Name {
			return false
		}
	}
	return true
}

func (d *differ) declare(samplerID uint32, t int64, dv *samplers.Dataview) (protocol.Declare, *sentView) {
	d.nextID++
	v := &sentView{
		id:        d.nextID,
		columns:   slices.Clone(dv.Columns),
		headlines: make([]string, len(dv.Headlines)),
		headVals:  make([]string, len(dv.Headlines)),
		rows:      make(map[string]uint32, len(dv.Rows)),
		cells:     make(map[uint32][]string, len(dv.Rows)),
		cost:      protocol.Cost(dv.Name),
	}
	for _, c := range v.columns {
		v.cost += protocol.Cost(c)
	}
	decl := protocol.Declare{
		ID:         v.id,
		SamplerID:  samplerID,
		Name:       dv.Name,
		SampleTime: t,
		Columns:    v.columns,
		Headlines:  v.headlines,
		HeadValues: make([]samplers.Cell, len(dv.Headlines)),
	}
	for i, h := range dv.Headlines {
		v.headlines[i] = h.Name
		v.headVals[i] = h.Value.Raw
		v.cost += protocol.Cost(h.Name) + protocol.Cost(h.Value.Raw)
		decl.HeadValues[i] = h.Value
	}
	for _, r := range dv.Rows {
		if _, dup := v.rows[r.Name]; dup || r.Name == "" {
			continue
		}
		rd := v.addRow(r, len(dv.Columns))
		v.cost += rowCost(r.Name, v.cells[rd.Index])
		decl.Rows = append(decl.Rows, rd)
	}
	return decl, v
}

// addRow records a new row and returns its declaration. Rows with the
// wrong number of cells are padded or cut to the columns.
func (v *sentView) addRow(r samplers.Row, ncols int) protocol.RowDecl {
	idx := v.allocRow()
	cells := make([]samplers.Cell, ncols)
	copy(cells, r.Cells)
	raws := make([]string, ncols)
	for i, c := range cells {
		raws[i] = c.Raw
	}
	v.rows[r.Name] = idx
	v.cells[idx] = raws
	return protocol.RowDecl{Index: idx, Name: r.Name, Cells: cells}
}

// change records in c and in v's own cost a value replaced by another,
// and reports whether it costs more than before.
func (v *sentView) change(c *costs, before, after string) bool {
	b, a := protocol.Cost(before), protocol.Cost(after)
	v.cost = v.cost - b + a
	if a > b {
		c.grown += a - b
		return true
	}
	c.shrunk += b - a
	return false
}

// update diffs dv against what was sent and adds the update to c, in two
// parts when c.split says so.
func (v *sentView) update(t int64, dv *samplers.Dataview, c *costs) {
	u := protocol.Update{ID: v.id, SampleTime: t}
	g := &u // where what grows goes
	if c.split {
		g = &protocol.Update{ID: v.id, SampleTime: t}
	}
	present := make(map[string]struct{}, len(dv.Rows))
	for _, r := range dv.Rows {
		present[r.Name] = struct{}{}
	}
	for name, idx := range v.rows {
		if _, ok := present[name]; !ok {
			u.RemoveRows = append(u.RemoveRows, idx)
			rc := rowCost(name, v.cells[idx])
			c.shrunk += rc
			v.cost -= rc
			delete(v.rows, name)
			delete(v.cells, idx)
			v.free.push(idx)
		}
	}
	slices.Sort(u.RemoveRows)
	// The first row of a name is the one declared; later duplicates are
	// ignored here too, or each would be compared with the same stored
	// cells and the last would win, changing them back and forth.
	seen := make(map[string]struct{}, len(dv.Rows))
	for _, r := range dv.Rows {
		if _, dup := seen[r.Name]; dup || r.Name == "" {
			continue
		}
		seen[r.Name] = struct{}{}
		idx, ok := v.rows[r.Name]
		if !ok {
			rd := v.addRow(r, len(v.columns))
			rc := rowCost(r.Name, v.cells[rd.Index])
			c.grown += rc
			v.cost += rc
			g.AddRows = append(g.AddRows, rd)
			continue
		}
		raws := v.cells[idx]
		for col := range raws {
			var cell samplers.Cell
			if col < len(r.Cells) {
				cell = r.Cells[col]
			}
			if cell.Raw != raws[col] {
				change := protocol.CellChange{Row: idx, Col: uint32(col), Value: cell}
				if v.change(c, raws[col], cell.Raw) {
					g.Cells = append(g.Cells, change)
				} else {
					u.Cells = append(u.Cells, change)
				}
				raws[col] = cell.Raw
			}
		}
	}
	for i, h := range dv.Headlines {
		if h.Value.Raw != v.headVals[i] {
			change := protocol.HeadlineChange{Index: uint32(i), Value: h.Value}
			if v.change(c, v.headVals[i], h.Value.Raw) {
				g.Headlines = append(g.Headlines, change)
			} else {
				u.Headlines = append(u.Headlines, change)
			}
			v.headVals[i] = h.Value.Raw
		}
	}
	c.shrinks = append(c.shrinks, u)
	if c.split {
		c.grows = append(c.grows, *g)
	}
}

// fit cuts one sample to the per-dataview limits and prices each dataview
// as the gateway will.
func (d *differ) fit(smp *sample) *fitted {
	l := d.limits
	f := &fitted{smp: smp}
	seen := make(map[string]bool, len(smp.dvs))
	for _, dv := range smp.dvs {
		if seen[dv.Name] || dv.Name == "" {
			continue
		}
		seen[dv.Name] = true
		var cuts, kinds []string
		ncols := len(dv.Columns)
		if l.MaxColumns > 0 && ncols > int(l.MaxColumns) {
			cuts, kinds = append(cuts, fmt.Sprintf("columns %d of %d", l.MaxColumns, ncols)), append(kinds, "columns")
			ncols = int(l.MaxColumns)
		}
		out := samplers.Dataview{Name: dv.Name, Columns: dv.Columns[:ncols], Headlines: dv.Headlines}
		if l.MaxHeadlines > 0 && len(dv.Headlines) > int(l.MaxHeadlines) {
			cuts, kinds = append(cuts, fmt.Sprintf("headlines %d of %d", l.MaxHeadlines, len(dv.Headlines))), append(kinds, "headlines")
			out.Headlines = dv.Headlines[:l.MaxHeadlines]
		}
		cost := protocol.Cost(out.Name)
		for _, c := range out.Columns {
			cost += protocol.Cost(c)
		}
		for _, h := range out.Headlines {
			cost += protocol.Cost(h.Name) + protocol.Cost(h.Value.Raw)
		}
		rowNames := make(map[string]bool, len(dv.Rows))
		named := 0
		for _, r := range dv.Rows {
			if rowNames[r.Name] || r.Name == "" {
				continue
			}
			rowNames[r.Name] = true
			named++
			if l.MaxRows > 0 && len(out.Rows) == int(l.MaxRows) {
				continue
			}
			cells := make([]samplers.Cell, ncols)
			copy(cells, r.Cells)
			cost += protocol.Cost(r.Name)
			for _, c := range cells {
				cost += protocol.Cost(c.Raw)
			}
			out.Rows = append(out.Rows, samplers.Row{Name: r.Name, Cells: cells})
		}
		if named > len(out.Rows) {
			cuts, kinds = append(cuts, fmt.Sprintf("rows %d of %d", len(out.Rows), named)), append(kinds, "rows")
		}
		cut, key := "", ""
		if cuts != nil {
			label := dvLabel(smp.cfg, dv.Name)
			cut, key = label+": "+strings.Join(cuts, ", "), label+": "+strings.Join(kinds, ",")
		}
		f.cut, f.cutKey = append(f.cut, cut), append(f.cutKey, key)
		f.dvs = append(f.dvs, out)
		f.costs = append(f.costs, cost)
	}
	return f
}

func dvLabel(cfg protocol.SamplerConfig, name string) string {
	return cfg.Entity + "/" + cfg.Name + "/" + name
}

// choose decides which of the latest dataviews are sent: in order of
// sampler ID, then as each sampler gives them, every one that still fits
// the dataview count and the cell budget. It tells report when what is
// left out changes.
func (d *differ) choose() map[uint32]map[string]bool {
	l := d.limits
	include := make(map[uint32]map[string]bool, len(d.latest))
	var (
		used  uint64
		count uint32
		st    limitState
		keys  []string
	)
	for _, id := range sortedIDs(d.latest) {
		f := d.latest[id]
		in := make(map[string]bool, len(f.dvs))
		include[id] = in
		for i, dv := range f.dvs {
			switch c := f.costs[i]; {
			case l.MaxDataviews > 0 && count == l.MaxDataviews:
				st.LeftOut = append(st.LeftOut, dvLabel(f.smp.cfg, dv.Name)+": over the dataview limit")
			case l.MaxCells > 0 && used+c > l.MaxCells:
				st.LeftOut = append(st.LeftOut, dvLabel(f.smp.cfg, dv.Name)+": over the cell budget")
			default:
				in[dv.Name] = true
				used += c
				count++
				if f.cut[i] != "" {
					st.Cut = append(st.Cut, f.cut[i])
					keys = append(keys, f.cutKey[i])
				}
			}
		}
	}
	if key := stateKey(st.LeftOut, keys); key != d.reported {
		d.reported = key
		if d.report != nil {
			d.report(st)
		}
	}
	return include
}

// stateKey identifies what the limits leave out, for telling a change.
func stateKey(leftOut, cutKeys []string) string {
	return strings.Join(leftOut, "\n") + "\n\n" + strings.Join(cutKeys, "\n")
}
