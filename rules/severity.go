package rules

import "fmt"

// Severity is how bad a cell's value is. The zero value is Undefined: no
// rule has judged the cell.
type Severity uint8

// Severities, in increasing order, so the most severe of several is the
// largest.
const (
	Undefined Severity = iota
	OK
	Warning
	Critical
)

var severityNames = [...]string{"undefined", "ok", "warning", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity returns the severity with the given name.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return Undefined, fmt.Errorf("unknown severity %q (want undefined, ok, warning or critical)", name)
}

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
