package samplers

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		isNum bool
		num   float64
	}{
		{"decimal keeps its text", "12.30", true, 12.3},
		{"integer", "42", true, 42},
		{"negative", "-0.05", true, -0.05},
		{"negative zero", "-0", true, 0},
		{"leading zeros", "007", true, 7},
		{"exponent", "1e5", true, 1e5},
		{"upper-case exponent", "2.5E-3", true, 0.0025},
		{"trailing point", "12.", true, 12},
		{"leading point", ".5", true, 0.5},
		{"plus sign", "+5", true, 5},
		{"underflow is zero", "1e-400", true, 0},
		{"max int64 rounds", "9223372036854775807", true, 9223372036854775807},
		// Go's float syntax, which strconv.ParseFloat accepts.
		{"digit separators", "1_000", true, 1000},
		{"hex float", "0x1p4", true, 16},
		{"empty", "", false, 0},
		{"text", "running", false, 0},
		{"NaN", "NaN", false, 0},
		{"lower-case nan", "nan", false, 0},
		{"Inf", "Inf", false, 0},
		{"plus Inf", "+Inf", false, 0},
		{"minus infinity", "-Infinity", false, 0},
		{"overflow", "1e400", false, 0},
		{"negative overflow", "-1e400", false, 0},
		{"space", " 1", false, 0},
		{"trailing space", "1 ", false, 0},
		{"percent", "12%", false, 0},
		{"comma", "1,5", false, 0},
		{"hex integer", "0x10", false, 0},
		{"two points", "1.2.3", false, 0},
		{"unicode minus", "−1", false, 0},
		{"unicode", "温度", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Text(tt.in)
			if c.Raw != tt.in {
				t.Errorf("Raw = %q, want %q", c.Raw, tt.in)
			}
			if c.IsNum != tt.isNum || c.Num != tt.num {
				t.Errorf("Text(%q) = IsNum %v, Num %v; want %v, %v", tt.in, c.IsNum, c.Num, tt.isNum, tt.num)
			}
			if !c.IsNum && c.Num != 0 {
				t.Errorf("Text(%q) holds Num %v without being a number", tt.in, c.Num)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		name  string
		v     float64
		prec  int
		raw   string
		isNum bool
		num   float64
	}{
		{"two places", 12.3, 2, "12.30", true, 12.3},
		{"rounds", 2.675, 2, "2.67", true, 2.67}, // 2.675 is 2.67499… in binary
		{"rounds up", 0.125, 1, "0.1", true, 0.1},
		{"no places", 99.5, 0, "100", true, 100},
		{"negative", -1.5, 1, "-1.5", true, -1.5},
		{"rounds to negative zero", -0.001, 2, "-0.00", true, 0},
		{"shortest", 0.1, -1, "0.1", true, 0.1},
		{"large", 1e21, 0, "1000000000000000000000", true, 1e21},
		// Not numbers, as Text would read them, so the cell means the same
		// on either side of the wire.
		{"NaN", math.NaN(), 2, "NaN", false, 0},
		{"plus infinity", math.Inf(1), 2, "+Inf", false, 0},
		{"minus infinity", math.Inf(-1), 0, "-Inf", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Number(tt.v, tt.prec)
			if c.Raw != tt.raw || c.IsNum != tt.isNum || c.Num != tt.num {
				t.Errorf("Number(%v, %d) = %+v; want Raw %q, IsNum %v, Num %v", tt.v, tt.prec, c, tt.raw, tt.isNum, tt.num)
			}
			if want := Text(c.Raw); c != want {
				t.Errorf("Number(%v, %d) = %+v, but Text(%q) = %+v", tt.v, tt.prec, c, c.Raw, want)
			}
		})
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		name string
		v    int64
		raw  string
	}{
		{"zero", 0, "0"},
		{"positive", 42, "42"},
		{"negative", -7, "-7"},
		{"max", math.MaxInt64, "9223372036854775807"},
		{"min", math.MinInt64, "-9223372036854775808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Int(tt.v)
			if c.Raw != tt.raw || !c.IsNum || c.Num != float64(tt.v) {
				t.Errorf("Int(%d) = %+v, want Raw %q, Num %v", tt.v, c, tt.raw, float64(tt.v))
			}
			if want := Text(c.Raw); c != want {
				t.Errorf("Int(%d) = %+v, but Text(%q) = %+v", tt.v, c, c.Raw, want)
			}
		})
	}
}

func TestStep(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	failed := errors.New("read /proc/stat: no such file")

	if err := Step(live, "read", nil); err != nil {
		t.Errorf("a step that worked with a live context: %v", err)
	}
	if err := Step(live, "read CPU times", failed); !errors.Is(err, failed) || err.Error() != "read CPU times: read /proc/stat: no such file" {
		t.Errorf("a failed step: %v, want it wrapped with what the step did", err)
	}
	// A step that worked but whose context ended meanwhile must stop the
	// sample, and a step that failed because of the cancellation reports
	// the cancellation.
	for _, stepErr := range []error{nil, failed} {
		err := Step(cancelled, "read CPU times", stepErr)
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "read CPU times: ") {
			t.Errorf("step error %v with a cancelled context: %v, want context.Canceled wrapped", stepErr, err)
		}
	}
}
