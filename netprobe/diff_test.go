package netprobe

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// model is the receiving side of the protocol reduced to what the differ
// must get right: each dataview's columns, rows and headlines.
type model struct {
	views map[uint32]*modelView
}

type modelView struct {
	samplerID uint32
	name      string
	columns   []string
	headlines []string
	head      []string
	rows      map[uint32]*modelRow
}

type modelRow struct {
	name  string
	cells []string
}

func raws(cells []samplers.Cell) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = c.Raw
	}
	return out
}

// apply decodes the batch from its wire form, as the gateway would, and
// applies it, failing on anything the gateway would refuse.
func (m *model) apply(t *testing.T, b protocol.Batch) {
	t.Helper()
	var got protocol.Batch
	if err := got.Decode(b.Append(nil)); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.Flags&protocol.SnapshotStart != 0 {
		m.views = map[uint32]*modelView{}
	}
	for _, id := range got.Removes {
		if m.views[id] == nil {
			t.Fatalf("remove of unknown dataview %d", id)
		}
		delete(m.views, id)
	}
	for _, d := range got.Declares {
		if m.views[d.ID] != nil {
			t.Fatalf("dataview %d declared twice", d.ID)
		}
		v := &modelView{samplerID: d.SamplerID, name: d.Name, columns: d.Columns, headlines: d.Headlines,
			head: raws(d.HeadValues), rows: map[uint32]*modelRow{}}
		for _, r := range d.Rows {
			v.rows[r.Index] = &modelRow{name: r.Name, cells: raws(r.Cells)}
		}
		m.views[d.ID] = v
	}
	for _, u := range got.Updates {
		v := m.views[u.ID]
		if v == nil {
			t.Fatalf("update of unknown dataview %d", u.ID)
		}
		for _, idx := range u.RemoveRows {
			if v.rows[idx] == nil {
				t.Fatalf("remove of unknown row %d", idx)
			}
			delete(v.rows, idx)
		}
		for _, r := range u.AddRows {
			if v.rows[r.Index] != nil {
				t.Fatalf("row index %d added while in use", r.Index)
			}
			v.rows[r.Index] = &modelRow{name: r.Name, cells: raws(r.Cells)}
		}
		for _, c := range u.Cells {
			v.rows[c.Row].cells[c.Col] = c.Value.Raw
		}
		for _, h := range u.Headlines {
			v.head[h.Index] = h.Value.Raw
		}
	}
}

// check asserts the model holds exactly the samples' dataviews.
func (m *model) check(t *testing.T, all map[uint32]*sample) {
	t.Helper()
	type key struct {
		sampler uint32
		name    string
	}
	want := map[key]samplers.Dataview{}
	for id, s := range all {
		for _, dv := range s.dvs {
			want[key{id, dv.Name}] = dv
		}
	}
	if len(m.views) != len(want) {
		t.Fatalf("model has %d dataviews, want %d", len(m.views), len(want))
	}
	for _, v := range m.views {
		dv, ok := want[key{v.samplerID, v.name}]
		if !ok {
			t.Fatalf("model has unexpected dataview %q", v.name)
		}
		if !reflect.DeepEqual(v.columns, dv.Columns) {
			t.Fatalf("%s columns = %v, want %v", v.name, v.columns, dv.Columns)
		}
		gotRows := map[string][]string{}
		for _, r := range v.rows {
			gotRows[r.name] = r.cells
		}
		wantRows := map[string][]string{}
		for _, r := range dv.Rows {
			wantRows[r.Name] = raws(r.Cells)
		}
		if !reflect.DeepEqual(gotRows, wantRows) {
			t.Fatalf("%s rows = %v, want %v", v.name, gotRows, wantRows)
		}
		var wantHead []string
		for _, h := range dv.Headlines {
			wantHead = append(wantHead, h.Value.Raw)
		}
		if len(wantHead) > 0 && !reflect.DeepEqual(v.head, wantHead) {
			t.Fatalf("%s headlines = %v, want %v", v.name, v.head, wantHead)
		}
	}
}

func table(name string, cols []string, rows ...string) samplers.Dataview {
	dv := samplers.Dataview{Name: name, Columns: cols}
	for _, r := range rows {
		cells := make([]samplers.Cell, len(cols))
		for i := range cells {
			cells[i] = samplers.Text(fmt.Sprintf("%s.%d", r, i))
		}
		dv.Rows = append(dv.Rows, samplers.Row{Name: r, Cells: cells})
	}
	return dv
}

func TestDifferKeepsReceiverInStep(t *testing.T) {
	cols := []string{"a", "b"}
	steps := []struct {
		name   string
		change func(all map[uint32]*sample)
		// wantCells is how many cell changes the delta should carry, or -1
		// when not checked.
		wantCells int
		verify    func(t *testing.T, b protocol.Batch)
	}{
		{"one cell changes", func(all map[uint32]*sample) {
			all[1].dvs[0].Rows[0].Cells[1] = samplers.Text("changed")
		}, 1, nil},
		{"nothing changes", func(map[uint32]*sample) {}, 0, nil},
		{"a row goes and another takes its index", func(all map[uint32]*sample) {
			dv := &all[1].dvs[0]
			dv.Rows = append(dv.Rows[1:], table("", cols, "new").Rows...)
		}, 0, func(t *testing.T, b protocol.Batch) {
			u := b.Updates[0]
			if !reflect.DeepEqual(u.RemoveRows, []uint32{0}) || len(u.AddRows) != 1 || u.AddRows[0].Index != 0 {
				t.Errorf("update = %+v, want row 0 removed and reused", u)
			}
		}},
		{"a row is appended", func(all map[uint32]*sample) {
			dv := &all[1].dvs[0]
			dv.Rows = append(dv.Rows, table("", cols, "newer").Rows...)
		}, 0, func(t *testing.T, b protocol.Batch) {
			if u := b.Updates[0]; len(u.AddRows) != 1 || u.AddRows[0].Index != 3 {
				t.Errorf("update = %+v, want one row added at index 3", u)
			}
		}},
		{"a headline changes", func(all map[uint32]*sample) {
			all[2].dvs[0].Headlines[0].Value = samplers.Int(7)
		}, 0, func(t *testing.T, b protocol.Batch) {
			n := 0
			for _, u := range b.Updates {
				n += len(u.Headlines)
			}
			if n != 1 {
				t.Errorf("updates = %+v, want one headline change", b.Updates)
			}
		}},
		{"columns change", func(all map[uint32]*sample) {
			all[1].dvs[0] = table("t", []string{"a", "b", "c"}, "x", "y")
		}, -1, nil},
		{"a second dataview appears", func(all map[uint32]*sample) {
			all[2].dvs = append(all[2].dvs, table("extra", cols, "e"))
		}, -1, nil},
		{"a dataview disappears", func(all map[uint32]*sample) {
			all[2].dvs = all[2].dvs[:1]
		}, -1, nil},
		{"a sampler goes", func(all map[uint32]*sample) {
			all[2] = nil
		}, -1, nil},
	}

	hv := table("h", cols, "r")
	hv.Headlines = []samplers.Headline{{Name: "n", Value: samplers.Int(1)}}
	all := map[uint32]*sample{
		1: {dvs: []samplers.Dataview{table("t", cols, "x", "y", "z")}, time: 1},
		2: {dvs: []samplers.Dataview{hv}, time: 1},
	}
	d := newDiffer(nil, nil)
	m := &model{}
	for _, b := range protocol.SplitSnapshot(d.snapshot(all), 1<<20) {
		m.apply(t, b)
	}
	m.check(t, all)

	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			// Samplers hand over fresh dataviews each tick; copy so the
			// differ's memory of the last tick is not shared.
			next := map[uint32]*sample{}
			for id, s := range all {
				if s == nil {
					continue
				}
				dvs := make([]samplers.Dataview, len(s.dvs))
				for j, dv := range s.dvs {
					dv.Rows = append([]samplers.Row(nil), dv.Rows...)
					for k := range dv.Rows {
						dv.Rows[k].Cells = append([]samplers.Cell(nil), dv.Rows[k].Cells...)
					}
					dv.Headlines = append([]samplers.Headline(nil), dv.Headlines...)
					dvs[j] = dv
				}
				next[id] = &sample{dvs: dvs, time: int64(i + 2)}
			}
			step.change(next)
			var b protocol.Batch
			d.delta(next, &b, nil)
			m.apply(t, b)
			live := map[uint32]*sample{}
			for id, s := range next {
				if s != nil {
					live[id] = s
				}
			}
			m.check(t, live)
			cells := 0
			for _, u := range b.Updates {
				cells += len(u.Cells)
				if u.SampleTime != int64(i+2) {
					t.Errorf("update sample time = %d, want %d", u.SampleTime, i+2)
				}
			}
			if step.wantCells >= 0 && cells != step.wantCells {
				t.Errorf("delta carries %d cell changes, want %d", cells, step.wantCells)
			}
			if step.verify != nil {
				step.verify(t, b)
			}
			if step.wantCells == 0 && len(b.Updates) == 0 {
				t.Error("a tick without changes must still carry the sample time")
			}
			all = live
		})
	}
}

// Rows sharing a name count once, the first winning, in updates as in
// declarations: a steady sample with duplicates sends no changes.
func TestDifferDuplicateRowsFirstWins(t *testing.T) {
	dup := func() map[uint32]*sample {
		dv := samplers.Dataview{Name: "t", Columns: []string{"v"}, Rows: []samplers.Row{
			{Name: "x", Cells: []samplers.Cell{samplers.Text("first")}},
			{Name: "y", Cells: []samplers.Cell{samplers.Text("y")}},
			{Name: "x", Cells: []samplers.Cell{samplers.Text("second")}},
		}}
		return map[uint32]*sample{1: {dvs: []samplers.Dataview{dv}, time: 1}}
	}
	d := newDiffer(nil, nil)
	m := &model{}
	for _, b := range protocol.SplitSnapshot(d.snapshot(dup()), 1<<20) {
		m.apply(t, b)
	}
	for tick := range 3 {
		var b protocol.Batch
		d.delta(dup(), &b, nil)
		m.apply(t, b)
		for _, u := range b.Updates {
			if len(u.Cells)+len(u.AddRows)+len(u.RemoveRows) != 0 {
				t.Fatalf("tick %d: update %+v for an unchanged sample", tick, u)
			}
		}
	}
	for _, v := range m.views {
		got := map[string]string{}
		for _, r := range v.rows {
			got[r.name] = r.cells[0]
		}
		if want := map[string]string{"x": "first", "y": "y"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("rows = %v, want %v", got, want)
		}
	}
}

// Dataviews and rows with an empty name are never sent: the gateway
// refuses them, since a path needs every segment.
func TestDifferSkipsEmptyNames(t *testing.T) {
	cols := []string{"v"}
	tick := func(n int) map[uint32]*sample {
		ok := table("ok", cols, "r")
		ok.Rows = append(ok.Rows, samplers.Row{Name: "", Cells: []samplers.Cell{samplers.Int(int64(n))}})
		return map[uint32]*sample{1: {dvs: []samplers.Dataview{table("", cols, "x"), ok}, time: int64(n)}}
	}
	noEmpty := func(t *testing.T, b protocol.Batch) {
		t.Helper()
		for _, d := range b.Declares {
			if d.Name == "" {
				t.Fatalf("declared a dataview with an empty name: %+v", d)
			}
			for _, r := range d.Rows {
				if r.Name == "" {
					t.Fatalf("declared a row with an empty name: %+v", d)
				}
			}
		}
		for _, u := range b.Updates {
			for _, r := range u.AddRows {
				if r.Name == "" {
					t.Fatalf("added a row with an empty name: %+v", u)
				}
			}
		}
	}
	d := newDiffer(nil, nil)
	m := &model{}
	for _, b := range protocol.SplitSnapshot(d.snapshot(tick(1)), 1<<20) {
		noEmpty(t, b)
		m.apply(t, b)
	}
	for n := 2; n <= 3; n++ {
		var b protocol.Batch
		d.delta(tick(n), &b, nil)
		noEmpty(t, b)
		m.apply(t, b)
		for _, u := range b.Updates {
			if len(u.Cells)+len(u.AddRows)+len(u.RemoveRows) != 0 {
				t.Fatalf("tick %d: update %+v, want nothing (only the unnamed row changed)", n, u)
			}
		}
	}
	if len(m.views) != 1 {
		t.Fatalf("model holds %d dataviews, want only %q", len(m.views), "ok")
	}
	for _, v := range m.views {
		if v.name != "ok" || len(v.rows) != 1 {
			t.Fatalf("model holds %q with %d rows, want %q with row r only", v.name, len(v.rows), "ok")
		}
	}
}
