package chunk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrCorrupt is wrapped by the error an Iter reports for a stream that
// is truncated or not one Append could have written.
var ErrCorrupt = errors.New("chunk: corrupt")

// Iter reads the points of an encoded chunk, oldest first. Its zero value
// iterates nothing; Reset points it at a stream. An Iter is not safe for
// concurrent use.
type Iter struct {
	b []byte // bytes not yet loaded into acc
	// acc holds the unread bits, the next at the top; nacc of them are
	// loaded. The bits below those are zero or the next bits of b.
	acc   uint64
	nacc  uint
	n     uint32 // points in the stream
	i     uint32 // points read
	t     int64
	d     uint64 // last time delta, modulo 2^64
	v     uint64 // last value's bits
	sig   uint8  // value window: meaningful bits, 64 at first
	trail uint8  // and trailing bits
	scale uint8  // the decimal scale k
	// dec is set when sn is the last value's scaled integer at k; after
	// an XOR it is worked out if a delta needs it.
	dec bool
	sn  int64
	err error
}

// NewIter returns an iterator over an encoded chunk: a copy of a Chunk's
// Bytes, or any bytes, which it reads in place. Bytes that are not a
// chunk make Err report an error; they never make the Iter panic.
func NewIter(b []byte) *Iter {
	it := new(Iter)
	it.Reset(b)
	return it
}

// Reset makes the iterator read b from its first point, as NewIter does,
// without allocating. An empty b is an empty chunk; bytes after the last
// point are ignored.
func (it *Iter) Reset(b []byte) {
	*it = Iter{sig: 64, dec: true}
	if len(b) == 0 {
		return
	}
	if len(b) < headerLen {
		it.err = fmt.Errorf("%w: %d-byte header, want %d", ErrCorrupt, len(b), headerLen)
		return
	}
	n := binary.BigEndian.Uint32(b)
	if n == 0 {
		return
	}
	t, k := binary.Varint(b[headerLen:])
	if k <= 0 {
		it.err = fmt.Errorf("%w: first time: bad varint", ErrCorrupt)
		return
	}
	it.n, it.t, it.b = n, t, b[headerLen+k:]
}

// At returns the current point: the one the last true Next moved to.
func (it *Iter) At() (t int64, v float64) {
	return it.t, math.Float64frombits(it.v)
}

// Err returns the error that ended the iteration, or nil if it ended at
// the stream's last point or has not ended.
func (it *Iter) Err() error { return it.err }

func (it *Iter) fail(what string) bool {
	it.err = fmt.Errorf("%w: point %d of %d: %s", ErrCorrupt, it.i, it.n, what)
	return false
}

// Next advances to the next point and reports whether there is one. At
// the end, or at an error, it returns false; Err tells which.
//
// Its bit reading is written out in place, with the unread bits in
// locals, for speed.
func (it *Iter) Next() bool {
	if it.i == it.n || it.err != nil {
		return false
	}
	acc, nacc := it.acc, it.nacc
	if it.i > 0 {
		if nacc < 4+bucket3 {
			acc, nacc = it.fill(acc, nacc)
		}
		var dod uint64
		switch p := acc >> 60; {
		case p < 0b1000:
			if nacc < 1 {
				return it.fail("truncated time")
			}
			acc, nacc = acc<<1, nacc-1
		case p < 0b1111:
			pre, w := uint(2), uint(bucket1)
			if p >= 0b1110 {
				pre, w = 4, bucket3
			} else if p >= 0b1100 {
				pre, w = 3, bucket2
			}
			if nacc < pre+w {
				return it.fail("truncated time")
			}
			dod = uint64(int64(acc<<pre) >> (64 - w)) // sign-extended
			acc, nacc = acc<<(pre+w), nacc-pre-w
		default:
			// The prefix is loaded: past the stream's end acc holds
			// zeros.
			var ok bool
			if dod, acc, nacc, ok = it.readLong(acc<<4, nacc-4, 64); !ok {
				return it.fail("truncated time")
			}
		}
		d := it.d + dod
		t := int64(uint64(it.t) + d)
		if t <= it.t {
			return it.fail("time not after the last")
		}
		it.t, it.d = t, d
	}

	if nacc < 15 {
		acc, nacc = it.fill(acc, nacc)
	}
	switch {
	case acc>>63 == 0:
		if nacc < 1 {
			return it.fail("truncated value")
		}
		it.acc, it.nacc = acc<<1, nacc-1
		it.i++
		return true
	case acc>>62 == 0b10:
		if nacc < 2 {
			return it.fail("truncated value")
		}
		if !it.dec {
			var ok bool
			if it.sn, ok = exact(math.Float64frombits(it.v), pow10[it.scale&maxScale]); !ok {
				return it.fail("delta from a value not a decimal")
			}
		}
		return it.decimal(acc<<2, nacc-2, it.sn)
	case acc>>60 == 0b1111:
		if nacc < 7 {
			return it.fail("truncated value")
		}
		it.scale = uint8(acc >> 57 & maxScale)
		return it.decimal(acc<<7, nacc-7, 0)
	case acc>>60 == 0b1110:
		if nacc < 15 {
			return it.fail("truncated value")
		}
		lead := uint8(acc >> 55 & 31)
		sig := uint8(acc >> 49 & 63)
		if sig == 0 {
			sig = 64
		}
		if lead+sig > 64 {
			return it.fail("value window past 64 bits")
		}
		it.sig, it.trail = sig, 64-lead-sig
		acc, nacc = acc<<15, nacc-15
	default:
		if nacc < 3 {
			return it.fail("truncated value")
		}
		acc, nacc = acc<<3, nacc-3
	}
	sig := uint(it.sig)
	if nacc < sig {
		acc, nacc = it.fill(acc, nacc)
	}
	var x uint64
	if nacc >= sig {
		x = acc >> (64 - sig)
		acc, nacc = acc<<sig, nacc-sig
	} else {
		var ok bool
		if x, acc, nacc, ok = it.readLong(acc, nacc, sig); !ok {
			return it.fail("truncated value")
		}
	}
	it.v ^= x << it.trail
	it.dec = false
	it.acc, it.nacc = acc, nacc
	it.i++
	return true
}

// decimal reads a decimal's bucket, a delta from base, and ends Next.
func (it *Iter) decimal(acc uint64, nacc uint, base int64) bool {
	if nacc < 4+decBucket4 {
		acc, nacc = it.fill(acc, nacc)
	}
	var d uint64
	if p := acc >> 60; p < 0b1111 {
		pre, w := uint(1), uint(decBucket1)
		switch {
		case p >= 0b1110:
			pre, w = 4, decBucket4
		case p >= 0b1100:
			pre, w = 3, decBucket3
		case p >= 0b1000:
			pre, w = 2, decBucket2
		}
		if nacc < pre+w {
			return it.fail("truncated value")
		}
		d = uint64(int64(acc<<pre) >> (64 - w)) // sign-extended
		acc, nacc = acc<<(pre+w), nacc-pre-w
	} else {
		// The prefix is loaded: past the stream's end acc holds zeros.
		var ok bool
		if d, acc, nacc, ok = it.readLong(acc<<4, nacc-4, 64); !ok {
			return it.fail("truncated value")
		}
	}
	n := int64(uint64(base) + d)
	if n <= -maxScaled || n >= maxScaled {
		return it.fail("decimal out of range")
	}
	it.v = math.Float64bits(unscale(n, pow10[it.scale&maxScale]))
	it.sn, it.dec = n, true
	it.acc, it.nacc = acc, nacc
	it.i++
	return true
}

// readLong reads n bits, 33 <= n <= 64, from acc and then the stream.
func (it *Iter) readLong(acc uint64, nacc, n uint) (x, _ uint64, _ uint, ok bool) {
	hi := n - 32
	if nacc < hi {
		acc, nacc = it.fill(acc, nacc)
	}
	if nacc >= hi {
		x = acc >> (64 - hi) << 32
		acc, nacc = acc<<hi, nacc-hi
		if acc, nacc = it.fill(acc, nacc); nacc >= 32 {
			return x | acc>>32, acc << 32, nacc - 32, true
		}
	}
	return 0, 0, 0, false
}

// fill loads bytes into acc, which holds nacc bits, until it holds at
// least 56 or the stream is used up.
func (it *Iter) fill(acc uint64, nacc uint) (uint64, uint) {
	if len(it.b) >= 8 {
		// Load a whole word and keep its bytes that fit: the bits of the
		// next byte it also ORs in are the ones that byte will load.
		acc |= binary.BigEndian.Uint64(it.b) >> nacc
		it.b = it.b[(63-nacc)>>3:]
		return acc, nacc | 56
	}
	for nacc <= 56 && len(it.b) > 0 {
		acc |= uint64(it.b[0]) << (56 - nacc)
		it.b = it.b[1:]
		nacc += 8
	}
	return acc, nacc
}
