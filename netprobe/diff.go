package netprobe

import (
	"slices"

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
	free      []uint32            // released indexes, reused lowest first
	next      uint32
}

func (v *sentView) allocRow() uint32 {
	if n := len(v.free); n > 0 {
		slices.Sort(v.free)
		idx := v.free[0]
		v.free = v.free[1:]
		return idx
	}
	idx := v.next
	v.next++
	return idx
}

// differ turns samples into protocol batches for one connection. It is
// owned by the connection's sender goroutine. Dataviews and rows without a
// name are left out: a cell's path needs every segment, and the gateway
// refuses a batch that declares them. Of several with one name, the first
// counts.
type differ struct {
	nextID uint32
	views  map[uint32]map[string]*sentView // sampler ID → dataview name → view
}

func newDiffer() *differ {
	return &differ{views: make(map[uint32]map[string]*sentView)}
}

// snapshot forgets what was sent and declares every dataview afresh.
func (d *differ) snapshot(all map[uint32]*sample) []protocol.Declare {
	clear(d.views)
	ids := make([]uint32, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var decls []protocol.Declare
	for _, id := range ids {
		smp := all[id]
		byName := make(map[string]*sentView, len(smp.dvs))
		d.views[id] = byName
		for i := range smp.dvs {
			dv := &smp.dvs[i]
			if _, dup := byName[dv.Name]; dup || dv.Name == "" {
				continue
			}
			decl, v := d.declare(id, smp.time, dv)
			byName[dv.Name] = v
			decls = append(decls, decl)
		}
	}
	return decls
}

// delta fills b with the changes in the dirty instances' samples.
func (d *differ) delta(dirty map[uint32]*sample, b *protocol.Batch) {
	ids := make([]uint32, 0, len(dirty))
	for id := range dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		smp := dirty[id]
		byName := d.views[id]
		if smp == nil {
			for _, v := range byName {
				b.Removes = append(b.Removes, v.id)
			}
			delete(d.views, id)
			continue
		}
		if byName == nil {
			byName = make(map[string]*sentView, len(smp.dvs))
			d.views[id] = byName
		}
		seen := make(map[string]bool, len(smp.dvs))
		for i := range smp.dvs {
			dv := &smp.dvs[i]
			if seen[dv.Name] || dv.Name == "" {
				continue
			}
			seen[dv.Name] = true
			v := byName[dv.Name]
			if v == nil || !slices.Equal(v.columns, dv.Columns) || !sameHeadlineNames(v.headlines, dv.Headlines) {
				if v != nil {
					b.Removes = append(b.Removes, v.id)
				}
				decl, nv := d.declare(id, smp.time, dv)
				byName[dv.Name] = nv
				b.Declares = append(b.Declares, decl)
				continue
			}
			b.Updates = append(b.Updates, v.update(smp.time, dv))
		}
		for name, v := range byName {
			if !seen[name] {
				b.Removes = append(b.Removes, v.id)
				delete(byName, name)
			}
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
		decl.HeadValues[i] = h.Value
	}
	for _, r := range dv.Rows {
		if _, dup := v.rows[r.Name]; dup || r.Name == "" {
			continue
		}
		decl.Rows = append(decl.Rows, v.addRow(r, len(dv.Columns)))
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

func (v *sentView) update(t int64, dv *samplers.Dataview) protocol.Update {
	u := protocol.Update{ID: v.id, SampleTime: t}
	present := make(map[string]struct{}, len(dv.Rows))
	for _, r := range dv.Rows {
		present[r.Name] = struct{}{}
	}
	for name, idx := range v.rows {
		if _, ok := present[name]; !ok {
			u.RemoveRows = append(u.RemoveRows, idx)
			delete(v.rows, name)
			delete(v.cells, idx)
			v.free = append(v.free, idx)
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
			u.AddRows = append(u.AddRows, v.addRow(r, len(v.columns)))
			continue
		}
		raws := v.cells[idx]
		for col := range raws {
			var c samplers.Cell
			if col < len(r.Cells) {
				c = r.Cells[col]
			}
			if c.Raw != raws[col] {
				raws[col] = c.Raw
				u.Cells = append(u.Cells, protocol.CellChange{Row: idx, Col: uint32(col), Value: c})
			}
		}
	}
	for i, h := range dv.Headlines {
		if h.Value.Raw != v.headVals[i] {
			v.headVals[i] = h.Value.Raw
			u.Headlines = append(u.Headlines, protocol.HeadlineChange{Index: uint32(i), Value: h.Value})
		}
	}
	return u
}
