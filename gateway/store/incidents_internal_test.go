package store

import (
	"errors"
	"testing"
)

// An ID parses only in the one form the Book writes, so that no two IDs
// share keys: what parses is the ID its keys give back.
func FuzzParseID(f *testing.F) {
	for _, id := range []string{
		"INC-20261201-0042", "INC-20261201-12345", "INC-20261201-999999", "INC-20261201-1000000",
		"INC-20261201-00042", "INC-20261201-042", "INC-20261201-0000", "INC-20261301-0001",
		"INC-20260230-0001", "INC-2026120a-0001", "INC-20261201-+042", "INC-20261201-0042 ", "",
	} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		day, n, err := parseID(id)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("parseID(%q): %v, want ErrInvalid", id, err)
			}
			return
		}
		if got := refOf(day, n).id(); got != id {
			t.Errorf("parseID(%q) = %s, %d, which is the ID %q", id, day, n, got)
		}
		if n < 1 || n > maxIncidentNumber || checkDay(day) != nil {
			t.Errorf("parseID(%q) = %s, %d: out of range", id, day, n)
		}
	})
}

func TestParseID(t *testing.T) {
	f := func(id, day string, n int) {
		t.Helper()
		d, got, err := parseID(id)
		switch {
		case day == "" && !errors.Is(err, ErrInvalid):
			t.Errorf("parseID(%q) = %s, %d, %v; want ErrInvalid", id, d, got, err)
		case day != "" && (err != nil || d != day || got != n):
			t.Errorf("parseID(%q) = %s, %d, %v; want %s, %d", id, d, got, err, day, n)
		}
	}
	f("INC-20261201-0042", "20261201", 42)
	f("INC-20261201-0001", "20261201", 1)
	f("INC-20261201-9999", "20261201", 9999)
	f("INC-20261201-12345", "20261201", 12345)
	f("INC-20240229-999999", "20240229", 999999)
	f("INC-20261201-1000000", "", 0) // past 6 digits, keys would not sort
	f("INC-20261201-00042", "", 0)   // the same number as 0042
	f("INC-20261201-042", "", 0)
	f("INC-20261201-0000", "", 0)
	f("INC-20261201--042", "", 0)
	f("INC-20261201-+042", "", 0)
	f("INC-20261301-0001", "", 0) // month 13
	f("INC-20250229-0001", "", 0) // not a leap year
	f("INC-2026120-00001", "", 0)
	f("inc-20261201-0001", "", 0)
	f("INC-20261201_0001", "", 0)
	f("INC-20261201-0042\n", "", 0)
	f("", "", 0)
}
