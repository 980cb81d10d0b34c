package protocol

import (
	"encoding/binary"

	"github.com/watchfloor/watchfloor/samplers"
)

// Batch flags.
const (
	// SnapshotStart marks the first batch of a full snapshot: every
	// dataview the gateway holds for the probe is replaced by what the
	// snapshot declares.
	SnapshotStart = 1 << iota
	// SnapshotEnd marks the last batch of a full snapshot: dataviews it did
	// not declare are gone. One batch may carry both flags.
	SnapshotEnd
)

// Batch is everything a probe sends about its dataviews: a snapshot chunk,
// or one tick's changes. Its parts apply in order: removals, declarations,
// then updates.
type Batch struct {
	// Seq is one more than the previous batch's on this connection,
	// starting at 1. A gap makes the gateway ask for a snapshot; a repeat
	// or step back is a protocol error.
	Seq      uint64
	Flags    uint8
	Removes  []uint32 // dataview IDs no longer sampled
	Declares []Declare
	Updates  []Update
}

// Declare introduces a dataview, or replaces it wholesale (its columns
// changed): names travel here once, and updates refer to them by index.
type Declare struct {
	ID         uint32 // chosen by the probe, unique among its live dataviews
	SamplerID  uint32 // the SamplerConfig the dataview comes from
	Name       string
	SampleTime int64 // Unix nanoseconds
	Columns    []string
	Headlines  []string
	HeadValues []samplers.Cell // one per headline
	Rows       []RowDecl       // more may follow in updates of the same snapshot
}

// RowDecl adds a row at an index chosen by the probe. An index is unique
// among a dataview's live rows and may be reused after its row is removed.
type RowDecl struct {
	Index uint32
	Name  string
	Cells []samplers.Cell // one per column
}

// CellChange sets one cell.
type CellChange struct {
	Row, Col uint32
	Value    samplers.Cell
}

// HeadlineChange sets one headline.
type HeadlineChange struct {
	Index uint32
	Value samplers.Cell
}

// Update is a dataview's changes in one tick. It always carries the sample
// time, so a dataview whose values did not change still shows it is alive.
// Its parts apply in order: removed rows, added rows, cells, headlines.
type Update struct {
	ID         uint32
	SampleTime int64
	RemoveRows []uint32
	AddRows    []RowDecl
	Cells      []CellChange
	Headlines  []HeadlineChange
}

// Reset empties b, keeping its slices' capacity.
func (b *Batch) Reset() {
	*b = Batch{Removes: b.Removes[:0], Declares: b.Declares[:0], Updates: b.Updates[:0]}
}

// Append encodes b after dst.
func (b *Batch) Append(dst []byte) []byte {
	dst = append(dst, byte(KindBatch))
	dst = binary.AppendUvarint(dst, b.Seq)
	dst = append(dst, b.Flags)
	dst = appendU32s(dst, b.Removes)
	dst = binary.AppendUvarint(dst, uint64(len(b.Declares)))
	for i := range b.Declares {
		dst = b.Declares[i].append(dst)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.Updates)))
	for i := range b.Updates {
		dst = b.Updates[i].append(dst)
	}
	return dst
}

func (dv *Declare) append(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(dv.ID))
	dst = binary.AppendUvarint(dst, uint64(dv.SamplerID))
	dst = appendString(dst, dv.Name)
	dst = appendVarint(dst, dv.SampleTime)
	dst = appendStrings(dst, dv.Columns)
	dst = appendStrings(dst, dv.Headlines)
	for i := range dv.Headlines {
		dst = appendValue(dst, dv.HeadValues[i])
	}
	return appendRows(dst, dv.Rows)
}

func (u *Update) append(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(u.ID))
	dst = appendVarint(dst, u.SampleTime)
	dst = appendU32s(dst, u.RemoveRows)
	dst = appendRows(dst, u.AddRows)
	dst = binary.AppendUvarint(dst, uint64(len(u.Cells)))
	for _, c := range u.Cells {
		dst = binary.AppendUvarint(dst, uint64(c.Row))
		dst = binary.AppendUvarint(dst, uint64(c.Col))
		dst = appendValue(dst, c.Value)
	}
	dst = binary.AppendUvarint(dst, uint64(len(u.Headlines)))
	for _, h := range u.Headlines {
		dst = binary.AppendUvarint(dst, uint64(h.Index))
		dst = appendValue(dst, h.Value)
	}
	return dst
}

func appendRows(dst []byte, rows []RowDecl) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(rows)))
	for _, r := range rows {
		dst = binary.AppendUvarint(dst, uint64(r.Index))
		dst = appendString(dst, r.Name)
		dst = binary.AppendUvarint(dst, uint64(len(r.Cells)))
		for _, c := range r.Cells {
			dst = appendValue(dst, c)
		}
	}
	return dst
}

func appendU32s(dst []byte, v []uint32) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	for _, x := range v {
		dst = binary.AppendUvarint(dst, uint64(x))
	}
	return dst
}

// Decode decodes msg into b, reusing b's slices. The structural checks here
// are about the encoding; whether indexes refer to live rows and columns is
// for the receiver to check against its state.
func (b *Batch) Decode(msg []byte) error {
	d, err := start(msg, KindBatch)
	if err != nil {
		return err
	}
	b.Reset()
	b.Seq = d.uvarint()
	b.Flags = d.byte()
	b.Removes = d.u32s(b.Removes)
	// The smallest declaration and update are seven and six bytes: one
	// byte for each of their fields, counts included.
	n := d.count(7)
	for i := 0; i < n && d.err == nil; i++ {
		b.Declares = append(b.Declares, d.declare())
	}
	n = d.count(6)
	for i := 0; i < n && d.err == nil; i++ {
		b.Updates = append(b.Updates, d.update())
	}
	return d.done()
}

func (d *decoder) declare() Declare {
	var dv Declare
	dv.ID = d.u32()
	dv.SamplerID = d.u32()
	dv.Name = d.string()
	dv.SampleTime = d.varint()
	dv.Columns = d.strings()
	dv.Headlines = d.strings()
	// Each headline's value follows: at least two bytes apiece.
	if len(dv.Headlines) > 0 && d.room(len(dv.Headlines), minValue) {
		dv.HeadValues = make([]samplers.Cell, len(dv.Headlines))
		for i := range dv.HeadValues {
			dv.HeadValues[i] = d.value()
		}
	}
	dv.Rows = d.rows()
	return dv
}

func (d *decoder) update() Update {
	var u Update
	u.ID = d.u32()
	u.SampleTime = d.varint()
	u.RemoveRows = d.u32s(nil)
	u.AddRows = d.rows()
	if n := d.count(2 + minValue); n > 0 {
		u.Cells = make([]CellChange, n)
		for i := range u.Cells {
			c := &u.Cells[i]
			c.Row = d.u32()
			c.Col = d.u32()
			c.Value = d.value()
		}
	}
	if n := d.count(1 + minValue); n > 0 {
		u.Headlines = make([]HeadlineChange, n)
		for i := range u.Headlines {
			u.Headlines[i].Index = d.u32()
			u.Headlines[i].Value = d.value()
		}
	}
	return u
}

func (d *decoder) rows() []RowDecl {
	n := d.count(3)
	if n == 0 {
		return nil
	}
	rows := make([]RowDecl, n)
	for i := 0; i < n && d.err == nil; i++ {
		r := &rows[i]
		r.Index = d.u32()
		r.Name = d.string()
		if c := d.count(minValue); c > 0 {
			r.Cells = make([]samplers.Cell, c)
			for j := range r.Cells {
				r.Cells[j] = d.value()
			}
		}
	}
	return rows
}

func (d *decoder) u32s(dst []uint32) []uint32 {
	n := d.count(1)
	for range n {
		dst = append(dst, d.u32())
	}
	return dst
}
