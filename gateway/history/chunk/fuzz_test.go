package chunk

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"testing"
)

// ops turns fuzz bytes into a sequence of appends: each op byte's low 3
// bits choose how its time follows the last (some refused: equal,
// earlier, or wrapped past the int64 range), the next 3 how its value
// follows, with the bytes after it as their arguments; its top 2 give
// a decimal's scale.
type ops struct{ b []byte }

func (o *ops) take(n int) []byte {
	out := make([]byte, n)
	o.b = o.b[copy(out, o.b):]
	return out
}

func (o *ops) byte() byte { return o.take(1)[0] }

func (o *ops) next(lastT, lastD int64, lastV float64) (int64, float64) {
	op := o.byte()
	var t int64
	switch op & 7 {
	case 0: // the same tick again
		t = lastT + max(lastD, 1)
	case 1: // jitter on the tick
		t = lastT + lastD + int64(int8(o.byte()))
	case 2:
		t = lastT + int64(o.byte())
	case 3:
		t = lastT + int64(binary.BigEndian.Uint16(o.take(2)))
	case 4:
		t = int64(binary.BigEndian.Uint64(o.take(8)))
	case 5:
		t = lastT - int64(o.byte())
	case 6: // wraps when it overflows
		t = int64(uint64(lastT) + binary.BigEndian.Uint64(o.take(8)))
	default:
		t = lastT
	}
	v := lastV
	switch op >> 3 & 7 {
	case 0: // repeated
	case 1:
		v = math.Float64frombits(binary.BigEndian.Uint64(o.take(8)))
	case 2:
		v = float64(o.byte())
	case 3:
		v = []float64{math.NaN(), staleNaN, math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
			math.MaxFloat64, math.SmallestNonzeroFloat64}[o.byte()%8]
	case 4:
		v = math.Float64frombits(math.Float64bits(lastV) ^ 1<<(o.byte()%64))
	case 5: // a decimal, scale 0 to 3, as a sampler formats and parses it
		v = float64(int16(binary.BigEndian.Uint16(o.take(2)))) / pow10[op>>6]
	case 6:
		v = -lastV
	default:
		v = float64(math.Float32frombits(binary.BigEndian.Uint32(o.take(4))))
	}
	return t, v
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x02, 0xfa, 0x01, 0x03, 0x19, 0x00, 0x09, 0x08, 0x00, 0x1a, 0x02, 0x07, 0x05, 0x01, 0x2b, 0x40})
	f.Add([]byte{0x0c, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x12, 0xff, 0x1b, 0x01, 0x33, 0x01, 0x36, 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x2a, 0x10, 0x2d, 0x26, 0x88, 0x01, 0x39, 0x42, 0xc8, 0, 0, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		o := ops{data}
		var c Chunk
		var want []point
		var lastT, lastD int64
		var lastV float64
		for len(o.b) > 0 {
			tm, v := o.next(lastT, lastD, lastV)
			before := bytes.Clone(c.Bytes())
			err := c.Append(tm, v)
			if len(want) > 0 && tm <= lastT {
				if !errors.Is(err, ErrOutOfOrder) {
					t.Fatalf("Append at %d after %d: %v, want ErrOutOfOrder", tm, lastT, err)
				}
				if !bytes.Equal(c.Bytes(), before) || c.Len() != len(want) {
					t.Fatalf("a refused Append changed the chunk")
				}
				continue
			}
			if err != nil {
				t.Fatalf("Append at %d after %d: %v", tm, lastT, err)
			}
			if len(want) > 0 {
				lastD = tm - lastT
			}
			want = append(want, point{tm, v})
			lastT, lastV = tm, v
		}
		checkRoundTrip(t, want)
	})
}

func FuzzDecode(f *testing.F) {
	seeds := []string{
		"",
		"00000005d00f8381f47301c0fac04d2bf860", // the package documentation's example
		"00000005d00f8381f47301c0fac04d",       // truncated
		"00000004d00fc457ff81f46c0702",         // the example before decimals
		"00000009d00f607d67ff000000000000275c1bd602692f00000100000000005ffffffdfffffff5f8a5dcf7836b2e37581ff7ced9168738", // every value field
		"000000020000",
		"00000002007fffffffffffffffff80",
		"0000000100ffff",
		"ffffffff00ffffffffffffffffffffffff",
		"0000000180808080808080808001",
	}
	for _, s := range seeds {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		it := NewIter(data)
		got, err := decodeBounded(t, it, data)
		// A reused Iter reads the same.
		it.Reset(data)
		again, err2 := decodeBounded(t, it, data)
		checkSame(t, "after Reset", again, got)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("errors %v and then %v", err, err2)
		}
		if err == nil {
			// What decoded encodes again, to the same points.
			checkRoundTrip(t, got)
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
	})
}

// decodeBounded decodes data, failing if the times do not increase or
// there are more points than bits (each point takes at least one).
func decodeBounded(t *testing.T, it *Iter, data []byte) ([]point, error) {
	t.Helper()
	var ps []point
	for it.Next() {
		tm, v := it.At()
		if len(ps) > 0 && tm <= ps[len(ps)-1].t {
			t.Fatalf("point %d at %d, after %d", len(ps), tm, ps[len(ps)-1].t)
		}
		ps = append(ps, point{tm, v})
		if len(ps) > 8*len(data) {
			t.Fatalf("%d points from %d bytes", len(ps), len(data))
		}
	}
	return ps, it.Err()
}
