package rules

import "testing"

func TestSeverityNamesRoundTrip(t *testing.T) {
	for s := Undefined; s <= Critical; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Fatalf("%v → %q → %v, %v", s, b, back, err)
		}
	}
	if _, err := ParseSeverity("red"); err == nil {
		t.Fatal("ParseSeverity accepted an unknown name")
	}
	if Critical <= Warning || Warning <= OK || OK <= Undefined {
		t.Fatal("severities must order from undefined to critical, so the worst is the largest")
	}
	if s := Severity(9).String(); s != "severity(9)" {
		t.Fatalf("out-of-range severity prints %q", s)
	}
}
