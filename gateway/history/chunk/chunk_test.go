package chunk

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

type point struct {
	t int64
	v float64
}

// staleNaN is Prometheus' stale marker, which the gateway appends when a
// cell goes.
var staleNaN = math.Float64frombits(0x7ff0000000000002)

func nan(bits uint64) float64 { return math.Float64frombits(bits) }

// encodePoints appends ps to a new chunk, failing on any error.
func encodePoints(t *testing.T, ps []point) *Chunk {
	t.Helper()
	var c Chunk
	for i, p := range ps {
		if err := c.Append(p.t, p.v); err != nil {
			t.Fatalf("append point %d (%d, %v): %v", i, p.t, p.v, err)
		}
	}
	return &c
}

// decode returns the points it yields, and its error.
func decode(it *Iter) ([]point, error) {
	var ps []point
	for it.Next() {
		t, v := it.At()
		ps = append(ps, point{t, v})
	}
	return ps, it.Err()
}

// checkSame fails unless got is want, values compared bit for bit.
func checkSame(t *testing.T, what string, got, want []point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i].t != want[i].t || math.Float64bits(got[i].v) != math.Float64bits(want[i].v) {
			t.Fatalf("%s: point %d is (%d, %#x), want (%d, %#x)", what, i,
				got[i].t, math.Float64bits(got[i].v), want[i].t, math.Float64bits(want[i].v))
		}
	}
}

// checkRoundTrip encodes ps and checks that the chunk, a copy of its
// Bytes and a reused Iter all give them back, and that its accessors
// agree.
func checkRoundTrip(t *testing.T, ps []point) {
	t.Helper()
	c := encodePoints(t, ps)
	if c.Len() != len(ps) {
		t.Fatalf("Len %d, want %d", c.Len(), len(ps))
	}
	got, err := decode(c.Iter())
	if err != nil {
		t.Fatalf("Iter: %v", err)
	}
	checkSame(t, "Iter", got, ps)

	b := bytes.Clone(c.Bytes())
	got, err = decode(NewIter(b))
	if err != nil {
		t.Fatalf("NewIter of a copy: %v", err)
	}
	checkSame(t, "NewIter of a copy", got, ps)

	it := NewIter([]byte{0, 0, 0, 9}) // some other stream first
	it.Reset(b)
	got, err = decode(it)
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	checkSame(t, "Reset", got, ps)

	if len(ps) == 0 {
		if c.Bytes() != nil || c.First() != 0 {
			t.Fatalf("empty chunk: Bytes %x, First %d", c.Bytes(), c.First())
		}
		return
	}
	if c.First() != ps[0].t {
		t.Fatalf("First %d, want %d", c.First(), ps[0].t)
	}
	lt, lv := c.Last()
	if last := ps[len(ps)-1]; lt != last.t || math.Float64bits(lv) != math.Float64bits(last.v) {
		t.Fatalf("Last (%d, %v), want (%d, %v)", lt, lv, last.t, last.v)
	}
	if c.Size() < len(c.Bytes()) {
		t.Fatalf("Size %d is less than the %d bytes in use", c.Size(), len(c.Bytes()))
	}
}

// at returns points at times 1000, 1250, ... with the values vs.
func at(vs ...float64) []point {
	ps := make([]point, len(vs))
	for i, v := range vs {
		ps[i] = point{1000 + 250*int64(i), v}
	}
	return ps
}

// sampled is v as a sampler gives it: formatted with decimals places
// and parsed back.
func sampled(v float64, decimals int) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'f', decimals, 64), 64)
	if err != nil {
		panic(err)
	}
	return f
}

// walk returns n values with two decimals, a random walk from 0 by
// steps of up to step hundredths.
func walk(seed uint64, n, step int) []float64 {
	r := rand.New(rand.NewPCG(seed, 2))
	vs := make([]float64, n)
	x := 0
	for i := range vs {
		x += r.IntN(2*step+1) - step
		vs[i] = sampled(float64(x)/100, 2)
	}
	return vs
}

// pages returns n byte counts from 7 GiB: each a page of 4096 bytes
// more, or a few pages either way, or a thousand.
func pages(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 3))
	vs := make([]float64, n)
	x := int64(7 << 30)
	for i := range vs {
		switch r.IntN(3) {
		case 0:
			x += 4096
		case 1:
			x += 4096 * (r.Int64N(17) - 8)
		default:
			x += 4096 * (r.Int64N(2049) - 1024)
		}
		vs[i] = float64(x)
	}
	return vs
}

// times returns points at the times ts, with values 0, 1, 2, ...
func times(ts ...int64) []point {
	ps := make([]point, len(ts))
	for i, t := range ts {
		ps[i] = point{t, float64(i)}
	}
	return ps
}

func TestRoundTrip(t *testing.T) {
	ints := make([]float64, 300)
	for i := range ints {
		ints[i] = float64(i * i)
	}
	run := make([]float64, 200)
	for i := range run {
		run[i] = 42.5
	}
	cases := []struct {
		name string
		ps   []point
	}{
		{"empty", nil},
		{"one point", at(1)},
		{"one zero", at(0)},
		{"NaN payloads", at(math.NaN(), staleNaN, nan(0x7ff0000000000001), nan(0xfff8000000000000),
			nan(0x7fffffffffffffff), nan(0xffffffffffffffff), staleNaN, 1, staleNaN, staleNaN)},
		{"infinities and zeros", at(math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 0,
			math.Copysign(0, -1), math.Inf(1), math.Inf(1), math.Inf(-1))},
		{"subnormals", at(math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
			nan(0x000fffffffffffff), nan(0x0000000000000001), nan(0x800fffffffffffff), 0)},
		{"magnitudes", at(math.MaxFloat64, -math.MaxFloat64, 1e-300, 1e300, -1e-300, 1, 1e15+1, 1e-15)},
		{"counter resets", at(100, 200, 350, 3, 10, 10, 11, 0, 1e9, 5)},
		{"constant run", at(run...)},
		{"integers", at(ints...)},
		{"two-decimal percentages", at(0, 1.96, 98.04, 100, 97.96, 0.61, 0.56, 0, 2, 4.08)},
		{"two-decimal random walk", at(walk(1, 500, 50)...)},
		{"two-decimal walk across zero", at(walk(2, 500, 3)...)},
		{"byte counter by pages", at(pages(3, 300)...)},
		{"decimals and not", at(12.34, 1.0/3, 12.35, math.Pi, 12.35, math.Nextafter(0.3, 1), 0.3, staleNaN, 0.3, 0.31, math.NaN(), 7)},
		{"scale changes", at(1, 1.5, 1.25, 1.125, 1.0625, 0.001, 1e-7, 1.2345678, 123, 12.3456789, 1e-8, 5, 4.9, 4.99)},
		{"large integers", at(1<<51-1, 1<<51, 1<<51+1, 1-1<<51, -1<<51, 1<<53, 1<<53+2, 1e15, 1e16, 0, 1<<51-1, 1-1<<51, 1e300)},
		{"large decimals", at(1e8-0.1, 2.25e8-1e-7, 1<<51/1e7, 1e14+0.5, 1e14-0.5, 0.5-1e14)},
		{"negative values", at(-12.34, -12.35, -0.01, 0, -0.01, math.Copysign(0, -1), -0.01, -1e6, -4096, -8192)},
		{"negative times", times(-1_767_225_600_000, -1_767_225_599_750, -1_767_225_599_500, -5, -1, 0, 1)},
		{"extreme times", times(math.MinInt64, math.MinInt64+1, 0, math.MaxInt64-1, math.MaxInt64)},
		{"min to max at once", times(math.MinInt64, math.MaxInt64)},
		{"first time max", times(math.MaxInt64)},
		{"first time min", times(math.MinInt64)},
		{"huge first delta", times(0, 1<<62, 1<<62+1)},
		{"hour and year gaps", times(0, 250, 3_600_250, 3_600_500, 31_560_000_000, 31_560_000_251, 31_560_000_502)},
		{"millisecond ticks", times(1, 2, 3, 4, 5, 6, 7, 8)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkRoundTrip(t, tc.ps) })
	}
}

// TestTimeBuckets crosses each time bucket's edges: deltas of deltas at
// each bound and one past it, both signs.
func TestTimeBuckets(t *testing.T) {
	for _, w := range []uint{bucket1, bucket2, bucket3, 32} {
		lo, hi := int64(-1)<<(w-1), int64(1)<<(w-1)-1
		for _, dod := range []int64{lo - 1, lo, lo + 1, -1, 0, 1, hi - 1, hi, hi + 1} {
			// A base delta large enough that every step stays positive.
			const base = 1 << 62
			ts := []int64{math.MinInt64, math.MinInt64 + base, math.MinInt64 + 2*base + dod, math.MinInt64 + 3*base + dod}
			checkRoundTrip(t, times(ts...))
		}
	}
	// The extremes of the modular arithmetic: the largest delta, then
	// the smallest; and the smallest, then nearly the largest.
	checkRoundTrip(t, times(math.MinInt64, math.MaxInt64-1, math.MaxInt64))
	checkRoundTrip(t, times(-1, 0, math.MaxInt64))
}

// TestTimeFieldLengths checks that each delta of deltas gets the bucket
// the package documentation gives it: a point whose value repeats adds
// its time field's bits and 1.
func TestTimeFieldLengths(t *testing.T) {
	cases := []struct {
		dod  int64
		bits int
	}{
		{0, 1}, {1, 8}, {-1, 8}, {31, 8}, {-32, 8}, {32, 16}, {-33, 16},
		{4095, 16}, {-4096, 16}, {4096, 24}, {-4097, 24},
		{524287, 24}, {-524288, 24}, {524288, 68}, {-524289, 68},
		{1 << 40, 68}, {-1 << 40, 68},
	}
	const base = 1 << 41
	for _, tc := range cases {
		c := encodePoints(t, times(0, base))
		before := (len(c.b)-1)*8 + int(c.used)
		if err := c.Append(2*base+tc.dod, 1); err != nil {
			t.Fatal(err)
		}
		if got := (len(c.b)-1)*8 + int(c.used) - before; got != tc.bits+1 {
			t.Errorf("delta of deltas %d: %d bits, want %d", tc.dod, got-1, tc.bits)
		}
	}
}

// bitLen returns the bits c's stream holds.
func bitLen(c *Chunk) int { return (len(c.b)-1)*8 + int(c.used) }

// TestDecimalFieldLengths checks that each delta of scaled integers gets
// the bucket the package documentation gives it, at each bucket's edges:
// after 12.34 (at the scale 2, n = 1234), the value (1234+d)/100. An XOR
// costs more: a window of one bit, which no XOR here fits, comes before.
func TestDecimalFieldLengths(t *testing.T) {
	cases := []struct {
		d    int64
		bits int
	}{
		{1, 7}, {-1, 7}, {7, 7}, {-8, 7}, {8, 15}, {-9, 15},
		{1023, 15}, {-1024, 15}, {1024, 22}, {-1025, 22},
		{65535, 22}, {-65536, 22}, {65536, 30}, {-65537, 30},
		{1<<23 - 1, 30}, {-1 << 23, 30}, {1 << 23, 70}, {-1<<23 - 1, 70},
		{1 << 40, 70}, {-1 << 40, 70}, {1<<51 - 1235, 70}, {-1<<51 - 1233, 70},
	}
	for _, tc := range cases {
		// staleNaN and a bit of its payload flipped open a window of a
		// bit; 12.34 is then a new scale.
		ps := at(0, staleNaN, nan(0x7ff0010000000002), 12.34)
		c := encodePoints(t, ps)
		if c.lead != 23 || c.trail != 40 {
			t.Fatalf("window %d, %d", c.lead, c.trail)
		}
		before := bitLen(c)
		p := point{2000, float64(1234+tc.d) / 100}
		if err := c.Append(p.t, p.v); err != nil {
			t.Fatal(err)
		}
		if got := bitLen(c) - before; got != tc.bits+1 {
			t.Errorf("delta %d (%v after 12.34): %d bits, want %d", tc.d, p.v, got-1, tc.bits)
		}
		checkRoundTrip(t, append(ps, p))
	}
}

// TestValueFieldLengths: what the other value fields cost.
func TestValueFieldLengths(t *testing.T) {
	cases := []struct {
		name string
		vs   []float64
		bits int // the last value's field
	}{
		{"repeat", []float64{12.34, 12.34}, 1},
		{"first integer", []float64{3}, 2 + 1 + 4},
		{"first two decimals", []float64{12.34}, 4 + 3 + 3 + 17},
		{"first NaN, in the starting window", []float64{staleNaN}, 3 + 64},
		{"scale up", []float64{0, 1.96}, 4 + 3 + 2 + 11},
		{"scale down keeps the scale", []float64{1.96, 2, 3}, 2 + 2 + 11},
		{"decimal after NaN, at the old scale", []float64{1.96, staleNaN, 2}, 4 + 3 + 2 + 11},
		{"XOR in the window", []float64{staleNaN, nan(0x7ff0000000000003), nan(0x7ff0000000000001)}, 3 + 33},
		{"XOR new window", []float64{staleNaN, nan(0x7ff0000000000003)}, 4 + 11 + 33},
		{"XOR shorter than a delta", []float64{1 << 40, 1<<40 + 1<<24}, 4 + 11 + 1},
	}
	for _, tc := range cases {
		ps := at(tc.vs...)
		c := encodePoints(t, ps[:len(ps)-1])
		// Before the first point, its header and time (1000, 2 bytes);
		// then the second point's time field is 16 bits, the others' 1.
		before, time := 8*(headerLen+2), 0
		if len(ps) > 1 {
			before, time = bitLen(c), 1
			if len(ps) == 2 {
				time = 16
			}
		}
		last := ps[len(ps)-1]
		if err := c.Append(last.t, last.v); err != nil {
			t.Fatal(err)
		}
		if got := bitLen(c) - before - time; got != tc.bits {
			t.Errorf("%s: %d bits, want %d", tc.name, got, tc.bits)
		}
		checkRoundTrip(t, ps)
	}
}

// TestExact: every decimal a scale's 3 bits allow is found, at the edges
// of the scaled integers' range too, and the smallest scale it has; no
// other float is one.
func TestExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	ns := []int64{0, 1, -1, 9, 10, 1234, -1234, 4096, maxScaled - 1, 1 - maxScaled, maxScaled - 10, maxScaled - 11}
	for range 2000 {
		ns = append(ns, r.Int64N(2*maxScaled-1)-(maxScaled-1), r.Int64N(1e6)-5e5)
	}
	for k := range uint(maxScale + 1) {
		for _, n := range ns {
			v := float64(n) / pow10[k]
			if got, ok := exact(v, pow10[k]); !ok || got != n {
				t.Fatalf("exact(%v, %d) = %d, %v; want %d", v, k, got, ok, n)
			}
			// As a sampler formats and parses it.
			if k > 0 {
				if s := sampled(v, int(k)); s != v {
					t.Fatalf("%d/10^%d formats as %v, parses as %v", n, k, v, s)
				}
			}
			sk, sn, ok := scaleOf(v)
			want, wantK := n, k
			for wantK > 0 && want%10 == 0 {
				want, wantK = want/10, wantK-1
			}
			if !ok || sk != wantK || sn != want {
				t.Fatalf("scaleOf(%v) = %d, %d, %v; want %d, %d", v, sk, sn, ok, wantK, want)
			}
		}
		for _, v := range []float64{math.Copysign(0, -1), math.NaN(), staleNaN, math.Inf(1), math.Inf(-1),
			math.SmallestNonzeroFloat64, 1e-300, maxScaled, -maxScaled, 1 << 53, math.MaxFloat64,
			math.Nextafter(0.01, 1), 1.0 / 3} {
			if n, ok := exact(v, pow10[k]); ok {
				t.Errorf("exact(%v, %d) = %d, want none", v, k, n)
			}
		}
	}
	for _, v := range []float64{math.Nextafter(0.3, 1), math.Pi, 1e-8, 1.23456789, maxScaled, 1 << 60, math.Copysign(0, -1), math.NaN()} {
		if k, n, ok := scaleOf(v); ok {
			t.Errorf("scaleOf(%v) = %d, %d, want none", v, k, n)
		}
	}
}

// TestDocExample is the package documentation's example, byte for byte.
func TestDocExample(t *testing.T) {
	ps := []point{{1000, 1}, {1250, 1}, {1500, 1.5}, {1751, 12.34}, {2001, 12.37}}
	c := encodePoints(t, ps)
	const want = "00000005d00f8381f47301c0fac04d2bf860"
	if got := hex.EncodeToString(c.Bytes()); got != want {
		t.Fatalf("Bytes %s, want %s", got, want)
	}
	checkRoundTrip(t, ps)
}

// TestConstantRunCostsTwoBits: a repeated value at a regular tick costs a
// bit of time and a bit of value.
func TestConstantRunCostsTwoBits(t *testing.T) {
	var c Chunk
	appendRun := func(from, to int) {
		for i := from; i < to; i++ {
			if err := c.Append(int64(i)*250, 0.61); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendRun(0, 200)
	n := len(c.Bytes())
	appendRun(200, 1000)
	if got, want := len(c.Bytes())-n, 800*2/8; got != want {
		t.Errorf("800 more repeats took %d bytes, want %d", got, want)
	}
}

func TestRandom(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		n := 1 + r.IntN(2000)
		ps := make([]point, n)
		tm := r.Int64() >> r.IntN(64)
		var v float64
		for i := range ps {
			if i > 0 {
				step := int64(1)
				switch r.IntN(6) {
				case 0:
					step = 250
				case 1:
					step = 250 + r.Int64N(11) - 5
				case 2:
					step = 1 + r.Int64N(1<<20)
				case 3:
					step = 1 + r.Int64N(1<<40)
				case 4:
					step = 1 + r.Int64N(5)
				default:
					step = 1 + r.Int64N(3600_000)
				}
				if tm > math.MaxInt64-step {
					ps = ps[:i]
					break
				}
				tm += step
			}
			switch r.IntN(7) {
			case 0: // repeat
			case 1:
				v = math.Float64frombits(r.Uint64())
			case 2:
				v = float64(r.IntN(1000))
			case 3:
				v += r.NormFloat64()
			case 4:
				v = math.Round(r.Float64()*10000) / 100
			case 5:
				v = -v
			default:
				v = []float64{math.NaN(), staleNaN, math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}[r.IntN(6)]
			}
			ps[i] = point{tm, v}
		}
		checkRoundTrip(t, ps)
	}
}

// TestAdversarial: sequences that flip as many bits as they can, or that
// open a new window every point.
func TestAdversarial(t *testing.T) {
	alternate := func(n int, a, b float64) []point {
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = a
			if i%2 == 1 {
				vs[i] = b
			}
		}
		return at(vs...)
	}
	var shifting []float64
	for i := range 64 {
		shifting = append(shifting, nan(1<<i), nan(^uint64(0)>>i), nan(^uint64(0)<<i))
	}
	var mixes []float64
	specials := []float64{math.NaN(), staleNaN, math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
		math.MaxFloat64, math.SmallestNonzeroFloat64, nan(^uint64(0)), 1}
	for _, a := range specials {
		for _, b := range specials {
			mixes = append(mixes, a, b)
		}
	}
	// Times whose deltas swing between the escape's extremes.
	var swings []int64
	for tm := int64(math.MinInt64); len(swings) < 40; {
		swings = append(swings, tm)
		step := int64(1)
		if len(swings)%2 == 0 {
			step = (math.MaxInt64 - tm) / 2
		}
		if step <= 0 {
			break
		}
		tm += step
	}
	cases := []struct {
		name string
		ps   []point
	}{
		{"max and -max", alternate(200, math.MaxFloat64, -math.MaxFloat64)},
		{"zero and all bits", alternate(200, 0, nan(^uint64(0)))},
		{"one bit and all bits", alternate(200, nan(1), nan(^uint64(0)))},
		{"top bit and bottom bit", alternate(200, nan(1<<63), nan(1))},
		{"+Inf and NaN", alternate(200, math.Inf(1), math.NaN())},
		{"0 and -0", alternate(200, 0, math.Copysign(0, -1))},
		{"stale and a value", alternate(200, staleNaN, 98.04)},
		{"shifting bits", at(shifting...)},
		{"special mixes", at(mixes...)},
		{"delta swings", times(swings...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkRoundTrip(t, tc.ps) })
	}
}

func TestOutOfOrder(t *testing.T) {
	var empty Chunk
	if err := empty.Append(math.MinInt64, 1); err != nil {
		t.Fatalf("the first point may be at any time: %v", err)
	}
	c := encodePoints(t, at(1, 2, 3))
	before := bytes.Clone(c.Bytes())
	size := c.Size()
	lt, _ := c.Last()
	for _, tm := range []int64{lt, lt - 1, 0, math.MinInt64} {
		if err := c.Append(tm, 9); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("Append at %d after %d: %v, want ErrOutOfOrder", tm, lt, err)
		}
	}
	if !bytes.Equal(c.Bytes(), before) || c.Len() != 3 || c.Size() != size {
		t.Fatalf("a refused Append changed the chunk")
	}
	if lt2, lv := c.Last(); lt2 != lt || lv != 3 {
		t.Fatalf("Last (%d, %v) after refusals, want (%d, 3)", lt2, lv, lt)
	}
	if err := c.Append(lt+1, 4); err != nil {
		t.Fatalf("Append after refusals: %v", err)
	}
	got, err := decode(c.Iter())
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, "after refusals", got, append(at(1, 2, 3), point{lt + 1, 4}))
}

// TestBytesCopy: a copy of Bytes keeps decoding to the points it held
// while the chunk goes on, and appending to Bytes never writes into the
// chunk.
func TestBytesCopy(t *testing.T) {
	ps := at(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	c := encodePoints(t, ps[:5])
	kept := bytes.Clone(c.Bytes())
	_ = append(c.Bytes(), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	for _, p := range ps[5:] {
		if err := c.Append(p.t, p.v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := decode(NewIter(kept))
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, "kept copy", got, ps[:5])
	got, err = decode(c.Iter())
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, "chunk", got, ps)
}

// TestTruncated: every proper prefix of a stream but the empty one is an
// error, after the points whose bits it holds, and never a panic.
func TestTruncated(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	ps := at(1, 1, 0.5, staleNaN, math.Inf(-1), 3)
	ps = append(ps, point{math.MaxInt64 - 1000, r.Float64()}, point{math.MaxInt64, nan(r.Uint64())})
	b := encodePoints(t, ps).Bytes()
	for k := 1; k < len(b); k++ {
		got, err := decode(NewIter(bytes.Clone(b[:k])))
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%d of %d bytes: error %v, want ErrCorrupt", k, len(b), err)
		}
		checkSame(t, "a truncated stream's points", got, ps[:len(got)])
	}
}

func TestCorrupt(t *testing.T) {
	cases := []struct {
		name string
		hex  string
	}{
		{"short header", "000001"},
		{"no first time", "00000001"},
		{"first time overflows", "00000001ffffffffffffffffffff01"},
		{"first value missing", "0000000100"},
		// Point 0's value repeats 0 (a 0 bit); point 1's time field is
		// 0: a delta of 0.
		{"repeated time", "000000020000"},
		// Point 1's time field is the escape with D = -1.
		{"time going back", "0000000200" + "7fffffffffffffffff80"},
		// A new window of L' = 31, M' = 63.
		{"window past 64 bits", "0000000100" + bitsHex("1110 11111 111111")},
		// Point 0 is the XOR 0x7ff8000000000001, a NaN, in the starting
		// window; point 1 a delta from it.
		{"delta from a NaN", "0000000200" + bitsHex("110 0111111111111000"+zeros(44)+"01 10000001 10 0 0001")},
		{"delta from -0", "0000000200" + bitsHex("110 1"+zeros(63)+" 10000001 10 0 0001")},
		// A new scale's integer of 2^51, and of -2^51.
		{"decimal past 2^51", "0000000100" + bitsHex("1111 000 1111 0000000000001"+zeros(51))},
		{"decimal past -2^51", "0000000100" + bitsHex("1111 000 1111 1111111111111"+zeros(51))},
		// Streams that end inside a value's control bits, where the
		// zeros after the end would make it another: 1 then the end
		// looks like a delta, 11 a window's XOR, 11111 a new scale and
		// 11101 a new window.
		// Before them: values that repeat 0 (0), a time field of D = 1
		// (10000001) and then of D = 0 (0).
		{"truncated delta", "0000000500" + bitsHex("0 10000001 0 0 0 0 0 0 1")},
		{"truncated window XOR", "0000000400" + bitsHex("0 10000001 0 0 0 0 11")},
		{"truncated new scale", "0000000300" + bitsHex("0 10000001 0 0 11111")},
		{"truncated new window", "0000000300" + bitsHex("0 10000001 0 0 11101")},
		// A delta that takes 2^51-1 to 2^51.
		{"delta past 2^51", "0000000200" + bitsHex("1111 000 1111 0000000000000"+strings.Repeat("1", 51)+" 10000001 10 0 0001")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decode(NewIter(b)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

// bitsHex returns the hex of a string of bits, spaces ignored, padded
// with zeros to whole bytes.
func bitsHex(s string) string {
	s = strings.ReplaceAll(s, " ", "")
	b := make([]byte, (len(s)+7)/8)
	for i, c := range s {
		if c == '1' {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	return hex.EncodeToString(b)
}

func zeros(n int) string { return strings.Repeat("0", n) }

func TestEmptyIter(t *testing.T) {
	for _, it := range []*Iter{new(Iter), NewIter(nil), NewIter([]byte{0, 0, 0, 0, 0xff})} {
		if it.Next() || it.Err() != nil {
			t.Fatalf("an empty stream gave a point or the error %v", it.Err())
		}
	}
}

// TestStructSize: the gateway holds a Chunk per series.
func TestStructSize(t *testing.T) {
	if n := unsafe.Sizeof(Chunk{}); n > 56 {
		t.Fatalf("Chunk is %d bytes, want at most 56", n)
	}
}

// TestGrowth: appends allocate only to grow, geometrically, and the
// array holds little more than the data.
func TestGrowth(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var c Chunk
	grows := 0
	for i := range 5000 {
		size := c.Size()
		if err := c.Append(int64(i)*250+r.Int64N(3), math.Round(r.Float64()*10000)/100); err != nil {
			t.Fatal(err)
		}
		if c.Size() != size {
			grows++
			if size > 0 && c.Size() < size+size/4 {
				t.Fatalf("grew from %d to %d bytes, less than a quarter", size, c.Size())
			}
		}
		// A quarter's growth, and up to a quarter more rounding up to a
		// size class.
		if c.Size() > initialCap && float64(c.Size()) > 1.25*1.25*float64(len(c.Bytes())+26) {
			t.Fatalf("%d bytes held for %d in use", c.Size(), len(c.Bytes()))
		}
	}
	// 32 bytes to ~40 KB at a quarter or more a step.
	if max := int(math.Log(float64(c.Size())/initialCap)/math.Log(1.25)) + 1; grows > max {
		t.Fatalf("%d allocations to grow to %d bytes, want at most %d", grows, c.Size(), max)
	}
	// Only growing allocates: 120 repeats (2 bits each) allocate once for
	// each size they pass through.
	sizes := 0
	repeats := func() {
		var c Chunk
		for i := range 120 {
			size := c.Size()
			_ = c.Append(int64(i)*250, 0.61)
			if c.Size() != size {
				sizes++
			}
		}
	}
	repeats()
	want := float64(sizes)
	if raceEnabled {
		return
	}
	if allocs := testing.AllocsPerRun(10, repeats); allocs != want {
		t.Fatalf("120 repeats made %v allocations, want %v", allocs, want)
	}
}

func TestIterAllocs(t *testing.T) {
	b := encodePoints(t, at(1, 2, 3, staleNaN, 5)).Bytes()
	var it Iter
	allocs := testing.AllocsPerRun(100, func() {
		it.Reset(b)
		for it.Next() {
		}
	})
	if allocs != 0 || it.Err() != nil {
		t.Fatalf("Reset and iterating made %v allocations (error %v), want 0", allocs, it.Err())
	}
}

// TestFull: a chunk whose count is at its header's limit refuses more,
// unchanged.
func TestFull(t *testing.T) {
	c := encodePoints(t, at(1, 2))
	c.n = math.MaxUint32
	before := bytes.Clone(c.Bytes())
	if err := c.Append(1e6, 3); !errors.Is(err, ErrFull) {
		t.Fatalf("Append to a full chunk: %v, want ErrFull", err)
	}
	if !bytes.Equal(c.Bytes(), before) || c.Len() != math.MaxUint32 {
		t.Fatal("a refused Append changed the chunk")
	}
}
