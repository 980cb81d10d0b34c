package protocol

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/samplers"
)

// decodeValue decodes one value that must fill msg exactly.
func decodeValue(msg []byte) (samplers.Cell, error) {
	d := &decoder{b: msg}
	c := d.value()
	return c, d.done()
}

func TestValueEncoding(t *testing.T) {
	const (
		str = false // sent as text
		dec = true  // sent in the compact decimal form
	)
	tests := []struct {
		name     string
		raw      string
		decimal  bool
		maxBytes int // of the encoded value; 0 for no bound
		isNum    bool
		num      float64
	}{
		{"two places", "12.30", dec, 4, true, 12.3},
		{"small fraction", "0.05", dec, 3, true, 0.05},
		{"negative fraction", "-0.05", dec, 3, true, -0.05},
		{"zero", "0", dec, 3, true, 0},
		{"zero with places", "0.00", dec, 3, true, 0},
		{"integer", "100", dec, 4, true, 100},
		{"negative", "-12.345", dec, 5, true, -12.345},
		{"trailing zero", "1.0", dec, 3, true, 1},
		{"18 digits", "123456789012345678", dec, 11, true, 123456789012345678},
		{"18 digits negative", "-123456789012345678", dec, 11, true, -123456789012345678},
		{"18 digits fraction", "0.00000000000000001", dec, 0, true, 1e-17},
		{"18 digits mixed", "12.3456789012345678", dec, 0, true, 12.3456789012345678},
		{"negative zero", "-0", str, 0, true, 0},
		{"negative zero places", "-0.0", str, 0, true, 0},
		{"leading zeros", "007", str, 0, true, 7},
		{"double zero", "00", str, 0, true, 0},
		{"leading zero fraction", "00.5", str, 0, true, 0.5},
		{"exponent", "1e5", str, 0, true, 100000},
		{"trailing point", "12.", str, 0, true, 12},
		{"leading point", ".5", str, 0, true, 0.5},
		{"minus point", "-.5", str, 0, true, -0.5},
		{"plus sign", "+5", str, 0, true, 5},
		{"19 digits", "1234567890123456789", str, 0, true, 1234567890123456789},
		{"max int64", "9223372036854775807", str, 0, true, 9223372036854775807},
		{"min int64", "-9223372036854775808", str, 0, true, -9223372036854775808},
		{"19 digits fraction", "0.000000000000000001", str, 0, true, 1e-18},
		{"hex float", "0x1p4", str, 0, true, 16}, // likewise
		{"empty", "", str, 2, false, 0},
		{"minus only", "-", str, 0, false, 0},
		{"text", "abc", str, 5, false, 0},
		{"two points", "1.2.3", str, 0, false, 0},
		{"space", " 5", str, 0, false, 0},
		{"trailing space", "12.30 ", str, 0, false, 0},
		{"thousands comma", "1,234", str, 0, false, 0},
		{"underscore", "1_000", str, 0, true, 1000}, // Go float syntax, as samplers.Text parses it
		{"NaN", "NaN", str, 0, false, 0},
		{"Inf", "Inf", str, 0, false, 0},
		{"minus infinity", "-infinity", str, 0, false, 0},
		{"overflow", "1e400", str, 0, false, 0},
		{"unicode", "温度 normal", str, 0, false, 0},
		{"unicode minus", "−5", str, 0, false, 0},
		{"euro decimal comma", "€12,30", str, 0, false, 0},
		{"invalid utf-8", "\xff\xfe", str, 0, false, 0},
		{"nul", "\x00", str, 0, false, 0},
		{"long text", strings.Repeat("a", 200), str, 203, false, 0},
		{"underflow", "1e-400", str, 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := samplers.Text(tt.raw)
			if in.IsNum != tt.isNum || in.IsNum && in.Num != tt.num {
				t.Fatalf("samplers.Text(%q) = %+v; the table expects IsNum %v, Num %v", tt.raw, in, tt.isNum, tt.num)
			}
			enc := appendValue(nil, in)
			if gotDec := enc[0] == tagDecimal; gotDec != tt.decimal {
				t.Errorf("%q encodes as % x; want decimal form %v", tt.raw, enc, tt.decimal)
			}
			if tt.maxBytes > 0 && len(enc) > tt.maxBytes {
				t.Errorf("%q encodes in %d bytes (% x), want at most %d", tt.raw, len(enc), enc, tt.maxBytes)
			}
			out, err := decodeValue(enc)
			if err != nil {
				t.Fatalf("decode % x: %v", enc, err)
			}
			if out.Raw != tt.raw {
				t.Errorf("raw %q decodes as %q", tt.raw, out.Raw)
			}
			if out.IsNum != tt.isNum || out.Num != tt.num {
				t.Errorf("%q decodes as IsNum %v, Num %v; want %v, %v", tt.raw, out.IsNum, out.Num, tt.isNum, tt.num)
			}
			if math.Signbit(out.Num) != math.Signbit(in.Num) {
				t.Errorf("%q decodes with Num %v, sent as %v", tt.raw, out.Num, in.Num)
			}
		})
	}
}

// TestValueDecodeNonCanonical covers decimals a conforming encoder never
// sends but a decoder meets in hostile or foreign input: they decode to
// canonical text, and re-encoding gives a value that decodes the same.
func TestValueDecodeNonCanonical(t *testing.T) {
	tests := []struct {
		name string
		prec byte
		m    int64
		want string
	}{
		{"zero with precision", 3, 0, "0.000"},
		{"more places than digits", 5, -42, "-0.00042"},
		{"max precision", 18, 1, "0.000000000000000001"},
		{"19 digits", 0, math.MaxInt64, "9223372036854775807"},
		{"min int64", 0, math.MinInt64, "-9223372036854775808"},
		{"min int64 with places", 18, math.MinInt64, "-9.223372036854775808"},
		{"max int64 with places", 18, math.MaxInt64, "9.223372036854775807"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := appendVarint([]byte{tagDecimal, tt.prec}, tt.m)
			c, err := decodeValue(msg)
			if err != nil {
				t.Fatal(err)
			}
			want := samplers.Text(tt.want)
			if c != want {
				t.Fatalf("decimal %d×10^-%d decodes as %+v, want %+v", tt.m, tt.prec, c, want)
			}
			again, err := decodeValue(appendValue(nil, c))
			if err != nil || again != c {
				t.Errorf("re-encoded, decodes as %+v, %v; want %+v", again, err, c)
			}
		})
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		m    int64
		prec int
		ok   bool
	}{
		{"12.30", 1230, 2, true},
		{"-0.05", -5, 2, true},
		{"0", 0, 0, true},
		{"999999999999999999", 999999999999999999, 0, true},
		{"-999999999999999999", -999999999999999999, 0, true},
		{"9.99999999999999999", 999999999999999999, 17, true},
		{"-0", 0, 0, false},
		{"1000000000000000000", 0, 0, false},
		{"12.", 0, 0, false},
		{".5", 0, 0, false},
		{"1.-5", 0, 0, false},
		{"--5", 0, 0, false},
		{"5-", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, prec, ok := parseDecimal(tt.in)
			if ok != tt.ok || ok && (m != tt.m || prec != tt.prec) {
				t.Errorf("parseDecimal(%q) = %d, %d, %v; want %d, %d, %v", tt.in, m, prec, ok, tt.m, tt.prec, tt.ok)
			}
			if ok {
				if got := formatDecimal(m, prec).Raw; got != tt.in {
					t.Errorf("formatDecimal(%d, %d) = %q, want %q", m, prec, got, tt.in)
				}
			}
		})
	}
}

// The decimal fast path gives exactly what parsing the text gives.
func TestDecimalValueMatchesParseFloat(t *testing.T) {
	check := func(m int64, prec int) {
		t.Helper()
		c := formatDecimal(m, prec)
		want, err := strconv.ParseFloat(c.Raw, 64)
		if err != nil {
			t.Fatal(err)
		}
		if c.Num != want {
			t.Fatalf("formatDecimal(%d, %d) = %q with Num %v, ParseFloat gives %v", m, prec, c.Raw, c.Num, want)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		prec := rnd.IntN(maxPrec + 1)
		m := rnd.Int64N(1<<53) - 1<<52
		if rnd.IntN(4) == 0 {
			m = rnd.Int64N(100000) - 50000
		}
		check(m, prec)
	}
	for _, m := range []int64{0, 1, -1, 1<<53 - 1, -(1<<53 - 1), 1 << 53, 1<<62 + 7, -1 << 63} {
		for prec := range maxPrec + 1 {
			check(m, prec)
		}
	}
}

// Small integers, and text of at most one byte, decode without allocating:
// they are most of what a probe's cells hold.
func TestTinyValuesDecodeWithoutAllocating(t *testing.T) {
	for _, v := range []string{"0", "7", "1023", "", "x"} {
		enc := appendValue(nil, samplers.Text(v))
		var got samplers.Cell
		allocs := testing.AllocsPerRun(100, func() {
			d := decoder{b: enc}
			got = d.value()
		})
		if got != samplers.Text(v) {
			t.Fatalf("%q decoded as %+v", v, got)
		}
		if allocs != 0 {
			t.Errorf("decoding %q allocates %v times", v, allocs)
		}
	}
	d := decoder{b: appendValue(nil, samplers.Text("1024"))}
	if got := d.value(); got.Raw != "1024" || got.Num != 1024 {
		t.Fatalf("1024 decoded as %+v", got)
	}
}
