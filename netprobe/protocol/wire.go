package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/watchfloor/watchfloor/samplers"
)

// errShort is returned when a message ends before its fields do.
var errShort = errors.New("message truncated")

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %w", d.off, err)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(errShort)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		if n == 0 {
			d.fail(errShort)
		} else {
			d.fail(errors.New("varint overflows 64 bits"))
		}
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail(fmt.Errorf("value %d exceeds 32 bits", v))
		return 0
	}
	return uint32(v)
}

// count reads a element count and checks that the rest of the message could
// hold that many elements of at least minSize bytes each.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64(len(d.b)) {
		d.fail(fmt.Errorf("count %d exceeds what the message can hold", v))
		return 0
	}
	if !d.room(int(v), minSize) {
		return 0
	}
	return int(v)
}

// room reports whether the rest of the message could hold n elements of
// at least minSize bytes each, failing the decode if not.
func (d *decoder) room(n, minSize int) bool {
	if d.err != nil {
		return false
	}
	if uint64(n) > uint64(len(d.b)-d.off)/uint64(minSize) {
		d.fail(fmt.Errorf("%d elements exceed what the message can hold", n))
		return false
	}
	return true
}

func (d *decoder) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) strings() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	s := make([]string, n)
	for i := range s {
		s[i] = d.string()
	}
	return s
}

func (d *decoder) done() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail(fmt.Errorf("%d bytes of trailing data", len(d.b)-d.off))
	}
	return d.err
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendVarint(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

// Value tags. A decimal is a scaled integer and a count of digits after the
// point, which carries "12.30" in three bytes and gives back the same text.
const (
	tagString  = 0
	tagDecimal = 1
)

// minValue is the fewest bytes a value takes: a tag and an empty string's
// length. Counts of values are checked against it.
const minValue = 2

// maxPrec bounds a decimal's digits after the point: an int64 holds 18.
const maxPrec = 18

// appendValue encodes a cell. It chooses the decimal form only when that
// reproduces the raw text exactly, so every cell round-trips.
func appendValue(b []byte, c samplers.Cell) []byte {
	if m, prec, ok := parseDecimal(c.Raw); ok {
		b = append(b, tagDecimal, byte(prec))
		return appendVarint(b, m)
	}
	b = append(b, tagString)
	return appendString(b, c.Raw)
}

func (d *decoder) value() samplers.Cell {
	switch tag := d.byte(); tag {
	case tagString:
		return samplers.Text(d.string())
	case tagDecimal:
		prec := int(d.byte())
		m := d.varint()
		if d.err != nil {
			return samplers.Cell{}
		}
		if prec > maxPrec {
			d.fail(fmt.Errorf("decimal precision %d exceeds %d", prec, maxPrec))
			return samplers.Cell{}
		}
		return formatDecimal(m, prec)
	default:
		if d.err == nil {
			d.fail(fmt.Errorf("unknown value tag %d", tag))
		}
		return samplers.Cell{}
	}
}

// parseDecimal recognises canonical decimal text: an optional minus, digits
// with no superfluous leading zero, and optionally a point and digits.
func parseDecimal(s string) (m int64, prec int, ok bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, 0, false
	}
	i, neg := 0, false
	if s[0] == '-' {
		neg, i = true, 1
	}
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intDigits := i - intStart
	if intDigits == 0 || intDigits > 1 && s[intStart] == '0' {
		return 0, 0, false
	}
	if i < len(s) {
		if s[i] != '.' || i+1 == len(s) {
			return 0, 0, false
		}
		i++
		for j := i; j < len(s); j++ {
			if s[j] < '0' || s[j] > '9' {
				return 0, 0, false
			}
		}
		prec = len(s) - i
	}
	if intDigits+prec > maxPrec {
		return 0, 0, false
	}
	for _, c := range []byte(s[intStart:]) {
		if c != '.' {
			m = m*10 + int64(c-'0')
		}
	}
	if neg {
		if m == 0 {
			return 0, 0, false // "-0" and "-0.0" keep their sign as text
		}
		m = -m
	}
	return m, prec, true
}

// smallInts holds the text of the integers most cells hold (counts,
// states, zero), so that decoding one allocates nothing.
var smallInts = func() (t [1024]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func formatDecimal(m int64, prec int) samplers.Cell {
	if prec == 0 && m >= 0 && m < int64(len(smallInts)) {
		return samplers.Cell{Raw: smallInts[m], Num: float64(m), IsNum: true}
	}
	var buf [24]byte
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-m)
	}
	digits := strconv.AppendUint(buf[:0], u, 10)
	out := make([]byte, 0, len(digits)+prec+3)
	if neg {
		out = append(out, '-')
	}
	if prec > 0 {
		if len(digits) <= prec {
			out = append(out, '0', '.')
			for range prec - len(digits) {
				out = append(out, '0')
			}
			out = append(out, digits...)
		} else {
			out = append(out, digits[:len(digits)-prec]...)
			out = append(out, '.')
			out = append(out, digits[len(digits)-prec:]...)
		}
	} else {
		out = append(out, digits...)
	}
	s := string(out)
	return samplers.Cell{Raw: s, Num: decimalValue(m, prec, s), IsNum: true}
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// decimalValue is m÷10^prec as ParseFloat(s) would give it. When m fits
// in a float64's 53-bit mantissa both operands are exact, and IEEE
// division rounds correctly, so the quotient is the correctly rounded
// value of s (Clinger's fast path) without parsing text.
func decimalValue(m int64, prec int, s string) float64 {
	const exact = 1 << 53
	if m > -exact && m < exact {
		return float64(m) / pow10[prec]
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
