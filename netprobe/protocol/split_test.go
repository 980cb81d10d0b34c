package protocol

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/samplers"
)

// worstSeq is the largest sequence number: the sender fills it in after
// splitting, so the budget must hold even for a ten-byte varint.
const worstSeq = 1<<64 - 1

// makeDecl builds a dataview with the given numbers of columns, headlines
// and rows, each cell about cellLen bytes of text.
func makeDecl(id uint32, cols, heads, rows, cellLen int) Declare {
	d := Declare{ID: id, SamplerID: id * 10, Name: "dv" + strconv.Itoa(int(id)), SampleTime: 1_700_000_000_000_000_000 + int64(id)}
	for c := range cols {
		d.Columns = append(d.Columns, "column-"+strconv.Itoa(c))
	}
	for h := range heads {
		d.Headlines = append(d.Headlines, "head-"+strconv.Itoa(h))
		d.HeadValues = append(d.HeadValues, samplers.Text(strconv.Itoa(h)+".5"))
	}
	for r := range rows {
		row := RowDecl{Index: uint32(r), Name: fmt.Sprintf("row-%d-%d", id, r)}
		for c := range cols {
			v := strconv.Itoa(r*cols + c)
			if c%2 == 1 {
				v += strings.Repeat("x", max(0, cellLen-len(v)))
			}
			row.Cells = append(row.Cells, samplers.Text(v))
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

func cloneDecls(decls []Declare) []Declare {
	b := Batch{Declares: decls}
	var out Batch
	if err := out.Decode(b.Append(nil)); err != nil {
		panic(err)
	}
	return out.Declares
}

// checkSplit checks batches from SplitSnapshot(decls, budget): sizes,
// flags, and that applying them in order, as the gateway does after
// decoding each, rebuilds exactly the declared dataviews.
func checkSplit(t *testing.T, decls []Declare, budget int, batches []Batch) {
	t.Helper()
	if len(batches) == 0 {
		t.Fatal("no batches")
	}
	type view struct {
		decl Declare
		rows []RowDecl
	}
	views := map[uint32]*view{}
	var order []uint32
	for i := range batches {
		b := batches[i]
		if b.Seq != 0 {
			t.Errorf("batch %d: seq %d, want 0 for the sender to fill in", i, b.Seq)
		}
		wantFlags := uint8(0)
		if i == 0 {
			wantFlags |= SnapshotStart
		}
		if i == len(batches)-1 {
			wantFlags |= SnapshotEnd
		}
		if b.Flags != wantFlags {
			t.Errorf("batch %d of %d: flags %b, want %b", i, len(batches), b.Flags, wantFlags)
		}
		if len(b.Declares)+len(b.Updates) == 0 && len(decls) > 0 {
			t.Errorf("batch %d is empty", i)
		}
		b.Seq = worstSeq
		enc := b.Append(nil)
		if len(enc) > budget {
			t.Errorf("batch %d encodes in %d bytes, over the budget of %d", i, len(enc), budget)
		}
		var got Batch
		if err := got.Decode(enc); err != nil {
			t.Fatalf("batch %d does not decode: %v", i, err)
		}
		if len(got.Removes) > 0 {
			t.Errorf("batch %d removes dataviews %v", i, got.Removes)
		}
		for _, d := range got.Declares {
			if _, dup := views[d.ID]; dup {
				t.Errorf("batch %d declares dataview %d again", i, d.ID)
			}
			views[d.ID] = &view{decl: d, rows: append([]RowDecl(nil), d.Rows...)}
			order = append(order, d.ID)
		}
		for _, u := range got.Updates {
			v, ok := views[u.ID]
			if !ok {
				t.Fatalf("batch %d updates dataview %d before declaring it", i, u.ID)
			}
			if u.SampleTime != v.decl.SampleTime {
				t.Errorf("batch %d: update of %d has sample time %d, declared %d", i, u.ID, u.SampleTime, v.decl.SampleTime)
			}
			if len(u.RemoveRows)+len(u.Cells)+len(u.Headlines) > 0 || len(u.AddRows) == 0 {
				t.Errorf("batch %d: a snapshot's update should only add rows: %+v", i, u)
			}
			v.rows = append(v.rows, u.AddRows...)
		}
	}
	if len(order) != len(decls) {
		t.Fatalf("%d dataviews declared, want %d", len(order), len(decls))
	}
	for i, want := range decls {
		if order[i] != want.ID {
			t.Errorf("dataview %d declared in position %d, want %d", order[i], i, want.ID)
			continue
		}
		v := views[want.ID]
		got := v.decl
		got.Rows = v.rows
		if len(got.Rows) == 0 {
			got.Rows = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dataview %d reassembles as\n%+v\nwant\n%+v", want.ID, got, want)
		}
	}
}

func TestSplitSnapshot(t *testing.T) {
	tests := []struct {
		name        string
		decls       []Declare
		budget      int
		wantBatches int // 0 to skip the check
	}{
		{"empty", nil, 300, 1},
		{"empty slice", []Declare{}, 300, 1},
		{"one small", []Declare{makeDecl(1, 2, 1, 2, 4)}, 300, 1},
		{"fits in one", []Declare{makeDecl(1, 2, 0, 1, 4), makeDecl(2, 1, 1, 1, 2), makeDecl(3, 0, 0, 0, 0)}, 300, 1},
		{"two per batch", []Declare{
			makeDecl(1, 2, 0, 3, 10), makeDecl(2, 2, 0, 3, 10), makeDecl(3, 2, 0, 3, 10),
			makeDecl(4, 2, 0, 3, 10), makeDecl(5, 2, 0, 3, 10),
		}, 300, 0},
		{"varying sizes with one huge", []Declare{
			makeDecl(1, 2, 1, 1, 4),
			makeDecl(2, 3, 2, 4, 20),
			makeDecl(3, 4, 0, 500, 10), // about 20 kB, far over the budget
			makeDecl(4, 1, 0, 1, 2),
			makeDecl(5, 3, 3, 6, 15),
		}, 300, 0},
		{"huge first", []Declare{makeDecl(1, 4, 0, 200, 10), makeDecl(2, 1, 0, 1, 2)}, 300, 0},
		{"huge last", []Declare{makeDecl(1, 1, 0, 1, 2), makeDecl(2, 4, 0, 200, 10)}, 300, 0},
		{"two huge in a row", []Declare{makeDecl(1, 4, 0, 50, 10), makeDecl(2, 4, 0, 50, 10)}, 300, 0},
		// Declaring the dataview without rows takes most of the budget,
		// so its first row must go in the next batch.
		{"wide declaration", []Declare{makeDecl(1, 20, 0, 3, 2)}, 300, 0},
		{"wide declaration after a small one", []Declare{makeDecl(1, 1, 0, 1, 2), makeDecl(2, 20, 0, 3, 2)}, 300, 0},
		{"rows exactly at the budget", []Declare{makeDecl(1, 2, 0, 40, 60)}, 200, 0},
		{"default budget", []Declare{makeDecl(1, 4, 2, 10000, 20)}, DefaultMaxMessage - 64, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneDecls(tt.decls)
			batches := SplitSnapshot(tt.decls, tt.budget)
			if tt.wantBatches > 0 && len(batches) != tt.wantBatches {
				t.Errorf("%d batches, want %d", len(batches), tt.wantBatches)
			}
			checkSplit(t, tt.decls, tt.budget, batches)
			if after := cloneDecls(tt.decls); !reflect.DeepEqual(before, after) {
				t.Errorf("SplitSnapshot changed its input")
			}
		})
	}
}

// TestSplitSnapshotRandom splits random snapshots under random budgets,
// each large enough for any one row and any declaration without its rows.
func TestSplitSnapshotRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var decls []Declare
		for id := range rng.IntN(8) {
			decls = append(decls, makeDecl(uint32(id+1), rng.IntN(12), rng.IntN(4), rng.IntN(60), rng.IntN(30)))
		}
		need := 0
		for _, d := range decls {
			rows := d.Rows
			d.Rows = nil
			need = max(need, len(d.append(nil)))
			u := Update{ID: d.ID, SampleTime: d.SampleTime}
			for _, r := range rows {
				u.AddRows = []RowDecl{r}
				need = max(need, len(u.append(nil)))
			}
		}
		budget := batchOverhead + need + rng.IntN(600)
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			checkSplit(t, decls, budget, SplitSnapshot(decls, budget))
		})
	}
}
