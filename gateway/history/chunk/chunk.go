package chunk

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
)

// ErrOutOfOrder is returned by Append for a time not after the chunk's
// last; the chunk is left as it was.
var ErrOutOfOrder = errors.New("chunk: time not after the last point's")

// ErrFull is returned by Append to a chunk that already holds
// math.MaxUint32 points, the most its header can count.
var ErrFull = errors.New("chunk: full")

const (
	headerLen = 4 // the point count

	// The time buckets' widths, after their prefixes 10, 110 and 1110.
	bucket1 = 6
	bucket2 = 13
	bucket3 = 20

	maxLead       = 31 // the most leading zeros a new window's 5 bits count
	newWindowBits = 12 // what a new window costs beyond the current one: its 5+6 bits and a prefix bit

	// The decimal buckets' widths, after their prefixes 0, 10, 110 and
	// 1110; 1111 is followed by 64 bits.
	decBucket1 = 4
	decBucket2 = 11
	decBucket3 = 17
	decBucket4 = 24

	maxScale = 7 // the largest scale k a value's 3 bits give
	// maxScaled bounds a decimal's scaled integer n: |n| < 2^51 makes n
	// the only integer that gives its value, and one that rounding the
	// value times 10^k always finds.
	maxScaled = 1 << 51

	// initialCap is the smallest allocator size class that holds the
	// header, a first time of up to 10 varint bytes, the longest value
	// (a new window, 15+64 bits) and the 7 bytes write's last word
	// reaches past it.
	initialCap = 32
)

// The first point always fits in initialCap bytes (a negative constant
// here would not compile).
const _ = uint(initialCap - (headerLen + binary.MaxVarintLen64 + (15+64+7)/8 + 7))

// Chunk holds a series of points, Gorilla-encoded (see the package
// documentation for the layout). The zero value is an empty chunk ready
// to use. A Chunk is not safe for concurrent use: one goroutine appends,
// and readers must not run at the same time as Append.
type Chunk struct {
	// b is the header and the bit stream; its last byte is the one the
	// next bit goes into, whose high used bits (0 to 7) are in use and
	// the rest zero.
	b     []byte
	t     int64  // last time
	d     uint64 // last time delta, modulo 2^64; 0 before the second point
	v     uint64 // last value's bits
	n     uint32 // points
	used  uint8
	lead  uint8 // value window: the leading bits a window XOR leaves out
	trail uint8 // and the trailing ones; 0 and 0, all 64 bits, until the first new window
	// scale is the decimal scale k in its low 3 bits, and notDecimal
	// when the last value is not decimal at k; 0, the scale 0 and the
	// value 0 (0/10^0), before the first point.
	scale uint8
}

// notDecimal marks a Chunk's scale when its last value is not a decimal
// at that scale.
const notDecimal = 8

// Append adds a point at time t (Unix milliseconds, or any int64 scale)
// with value v. The value is kept bit for bit, NaN payloads included. A
// t not after the last point's is refused with ErrOutOfOrder, and the
// chunk is unchanged.
//
// Its encoding is written out in place, for speed.
func (c *Chunk) Append(t int64, v float64) error {
	// The time field: a delta of deltas in the smallest bucket it fits,
	// tc, tn bits long, or the escape.
	var tc uint64
	var tn uint
	var d, dod uint64
	escape := false
	if c.n == 0 {
		c.b = append(binary.AppendVarint(make([]byte, headerLen, initialCap), t), 0)
	} else {
		if t <= c.t {
			return ErrOutOfOrder
		}
		if c.n == math.MaxUint32 {
			return ErrFull
		}
		d = uint64(t) - uint64(c.t)
		dod = d - c.d
		switch s := int64(dod); {
		case s == 0:
			tn = 1
		case fits(s, bucket1):
			tc, tn = 0b10<<bucket1|dod&mask(bucket1), 2+bucket1
		case fits(s, bucket2):
			tc, tn = 0b110<<bucket2|dod&mask(bucket2), 3+bucket2
		case fits(s, bucket3):
			tc, tn = 0b1110<<bucket3|dod&mask(bucket3), 4+bucket3
		default:
			escape = true
		}
	}

	// The value field: a control word ctl, cn bits long, then x, n bits
	// long: a decimal's bucket, or an XOR's meaningful bits.
	vb := math.Float64bits(v)
	var ctl, x uint64
	var cn, n uint
	if vb == c.v {
		cn = 1
	} else {
		// The decimal field, if the value is a decimal (dcn > 0): a delta
		// from the last value's scaled integer at the scale k, or a
		// scale, nk, and the scaled integer itself.
		k := uint(c.scale & maxScale)
		sn, isDec := exact(v, pow10[k])
		nk := k
		var dctl, dx uint64
		var dcn, dn uint
		var dec bool
		switch {
		case isDec && c.scale&notDecimal == 0:
			prev := int64(round(float64(math.Float64frombits(c.v) * pow10[k])))
			dctl, dcn, sn, dec = 0b10, 2, sn-prev, true
		case isDec:
			dctl, dcn, dec = 0b1111<<3|uint64(k), 7, true
		default:
			if nk, sn, dec = scaleOf(v); dec {
				dctl, dcn = 0b1111<<3|uint64(nk), 7
			}
		}
		if dec {
			b := decBuckets[bits.Len64(uint64(sn<<1^sn>>63))]
			dctl, dcn = dctl<<b.pn|uint64(b.pre), dcn+uint(b.pn)
			dx, dn = uint64(sn)&mask(uint(b.w)), uint(b.w)
		}

		// The XOR field, in the current window when that is no longer
		// than opening a new window; written when it is shorter than
		// the decimal field.
		xv := vb ^ c.v
		lead := uint(min(bits.LeadingZeros64(xv), maxLead))
		trail := uint(bits.TrailingZeros64(xv))
		sig := 64 - lead - trail
		wsig := 64 - uint(c.lead) - uint(c.trail)
		reuse := lead >= uint(c.lead) && trail >= uint(c.trail) && wsig <= sig+newWindowBits
		xbits := 15 + sig
		if reuse {
			xbits = 3 + wsig
		}
		switch {
		case dec && dcn+dn <= xbits:
			ctl, cn, x, n = dctl, dcn, dx, dn
			c.scale = uint8(nk)
		case reuse:
			ctl, cn, x, n = 0b110, 3, xv>>c.trail, wsig
		default:
			ctl, cn, x, n = 0b1110<<11|uint64(lead)<<6|uint64(sig&63), 15, xv>>trail, sig
			c.lead, c.trail = uint8(lead), uint8(trail)
		}
		if cn != dcn {
			// An XOR keeps the scale; the next value may be a delta if
			// this one is a decimal at it.
			c.scale = uint8(k)
			if !isDec {
				c.scale |= notDecimal
			}
		}
	}
	ctl, cn = tc<<cn|ctl, tn+cn

	need := cn + n
	if escape {
		need += 4 + 64
	}
	// write's last word reaches 7 bytes past the last bit's byte; the
	// first point always fits in initialCap.
	if room := int((uint(c.used)+need)>>3) + 7; cap(c.b)-len(c.b) < room {
		c.grow(room)
	}
	if escape {
		c.write(0b1111<<32|dod>>32, 4+32)
		c.write(dod&mask(32), 32)
	}
	if cn+n <= maxWrite {
		c.write(ctl<<n|x, cn+n)
	} else {
		c.write(ctl, cn)
		if n > maxWrite {
			c.write(x>>32, n-32)
			x, n = x&mask(32), 32
		}
		c.write(x, n)
	}
	c.t, c.d, c.v = t, d, vb
	c.n++
	binary.BigEndian.PutUint32(c.b, c.n)
	return nil
}

// pow10 holds each scale's 10^k, exact in a float64.
var pow10 = [maxScale + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7}

// exact returns the scaled integer of v at the scale whose 10^k is p,
// if v is a decimal at it: the n, |n| < 2^51, for which float64(n)/p is
// v bit for bit. Then |v·p - n| < 1/2 even after the product's
// rounding, so rounding it finds n; the division checks it. The
// conversions keep the product and sums from being fused, so that an
// encoder and a decoder on any machine compute the same.
func exact(v, p float64) (int64, bool) {
	x := float64(v * p)
	if !(math.Abs(x) < maxScaled) { // NaN too
		return 0, false
	}
	n := int64(round(x))
	return n, math.Float64bits(unscale(n, p)) == math.Float64bits(v)
}

// round returns x, |x| < 2^51, rounded to an integer, half to even:
// adding 1.5·2^52 leaves no bits below the point, and subtracting it
// is exact. It is math.RoundToEven for these x, in two additions.
func round(x float64) float64 {
	const shift = 3 << 51
	return float64(float64(x+shift) - shift)
}

// unscale returns n/p, p a scale's 10^k, as the package documentation
// defines a decimal's value; at the scale 0 the division by 1, which
// changes nothing, is left out.
func unscale(n int64, p float64) float64 {
	if p == 1 {
		return float64(n)
	}
	return float64(n) / p
}

// scaleOf returns the smallest scale at which v is a decimal, and its
// scaled integer there. A decimal at k is one at k+1 too, with 10 times
// the integer, while that stays under 2^51: it tries the largest scale
// that keeps v·10^k under 2^51, then strips the integer's trailing
// decimal zeros. (v·10^k rounding past the bound can make it miss a
// decimal; the encoder then writes an XOR.)
func scaleOf(v float64) (uint, int64, bool) {
	a := math.Abs(v)
	k := uint(maxScale)
	for k > 0 && !(a*pow10[k] < maxScaled) {
		k--
	}
	n, ok := exact(v, pow10[k])
	if !ok {
		return 0, 0, false
	}
	for k > 0 && n%10 == 0 {
		n /= 10
		k--
	}
	return k, n, true
}

// decBuckets holds, by the bit length of a decimal's D zigzag-mapped (0
// to 64), its bucket: the prefix, pn bits long, and the width w. A w-bit
// two's complement holds a zigzag of w bits.
var decBuckets = func() (bs [65]struct{ pre, pn, w uint8 }) {
	for l := range bs {
		switch {
		case l <= decBucket1:
			bs[l].pre, bs[l].pn, bs[l].w = 0, 1, decBucket1
		case l <= decBucket2:
			bs[l].pre, bs[l].pn, bs[l].w = 0b10, 2, decBucket2
		case l <= decBucket3:
			bs[l].pre, bs[l].pn, bs[l].w = 0b110, 3, decBucket3
		case l <= decBucket4:
			bs[l].pre, bs[l].pn, bs[l].w = 0b1110, 4, decBucket4
		default:
			bs[l].pre, bs[l].pn, bs[l].w = 0b1111, 4, 64
		}
	}
	return bs
}()

// fits reports whether x is in an n-bit two's complement's range.
func fits(x int64, n uint) bool {
	return x >= -1<<(n-1) && x < 1<<(n-1)
}

func mask(n uint) uint64 { return 1<<n - 1 }

// maxWrite is the most bits write takes: with up to 7 bits already in
// the byte it starts in, they must leave the word it writes with at
// least one bit free, where the next write starts.
const maxWrite = 56

// write appends x, n bits long (n <= maxWrite: x < 1<<n), most
// significant first. b must have room for 7 bytes after its last.
func (c *Chunk) write(x uint64, n uint) {
	i := len(c.b) - 1
	used := uint(c.used)
	binary.BigEndian.PutUint64(c.b[i:i+8], uint64(c.b[i])<<56|x<<(64-used-n))
	used += n
	c.b = c.b[:i+1+int(used>>3)]
	c.used = uint8(used & 7)
}

// grow makes room for at least room more bytes, growing the capacity by
// a quarter or more: chunks are many and mostly small, so a quarter
// leaves a tenth of an array unused on average where append's doubling
// of small slices leaves a quarter, at the cost of copying each byte
// about four times instead of once.
func (c *Chunk) grow(room int) {
	want := max(len(c.b)+room, cap(c.b)+cap(c.b)/4)
	// append to a nil slice rounds the capacity up to the allocator's
	// size class, which would otherwise be allocated and left unused.
	nb := append([]byte(nil), make([]byte, want)...)
	c.b = nb[:copy(nb, c.b)]
}

// Len returns the number of points.
func (c *Chunk) Len() int { return int(c.n) }

// Size returns the bytes the chunk's encoded data holds in memory: the
// capacity of its backing array, of which Bytes is the part in use. The
// Chunk struct itself is not counted.
func (c *Chunk) Size() int { return cap(c.b) }

// First returns the first point's time, or 0 if the chunk is empty.
func (c *Chunk) First() int64 {
	if c.n == 0 {
		return 0
	}
	t, _ := binary.Varint(c.b[headerLen:])
	return t
}

// Last returns the last point's time and value, or 0, 0 if the chunk is
// empty.
func (c *Chunk) Last() (int64, float64) {
	return c.t, math.Float64frombits(c.v)
}

// Bytes returns the encoded chunk, point count included, or nil if it is
// empty. It is the chunk's own memory, valid until the next Append:
// callers that keep it copy it. Its capacity is cut to its length, so an
// append to it never writes into the chunk.
func (c *Chunk) Bytes() []byte {
	if c.n == 0 {
		return nil
	}
	n := len(c.b)
	if c.used == 0 {
		n-- // the next bit's byte is still empty
	}
	return c.b[:n:n]
}

// Iter returns an iterator over the chunk's points, reading the chunk in
// place: the chunk must not change while it is used.
func (c *Chunk) Iter() *Iter {
	return NewIter(c.Bytes())
}
