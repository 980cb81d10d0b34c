package samplers

import (
	"strings"
	"testing"
)

func TestDataviewPath(t *testing.T) {
	tests := []struct {
		name string
		path DataviewPath
		want string
	}{
		{"plain", DataviewPath{"ldn-oms-01", "OMS-primary", "cpu", "cpu"}, "ldn-oms-01/OMS-primary/cpu/cpu"},
		{"slash", DataviewPath{"p", "e", "disk", "/var/log"}, "p/e/disk/%2Fvar%2Flog"},
		{"percent", DataviewPath{"p", "e", "s", "100%"}, "p/e/s/100%25"},
		{"space", DataviewPath{"p", "OMS primary", "s", "d"}, "p/OMS%20primary/s/d"},
		{"hash", DataviewPath{"p", "e", "s", "#"}, "p/e/s/%23"},
		{"unicode", DataviewPath{"p", "e", "s", "é"}, "p/e/s/%C3%A9"},
		{"unreserved", DataviewPath{"a-b", "c_d", "e.f", "g~h"}, "a-b/c_d/e.f/g~h"},
		{"dots", DataviewPath{".", "..", "...", "d"}, "%2E/%2E%2E/.../d"},
		{"reserved", DataviewPath{"a?b", "c=d&e", "f+g", "h:i@j"}, "a%3Fb/c%3Dd%26e/f%2Bg/h%3Ai%40j"},
		{"control and high bytes", DataviewPath{"\x00", "\x7f", "\xff", "\t"}, "%00/%7F/%FF/%09"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.path.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParseDataviewPath(tt.want)
			if err != nil {
				t.Fatalf("ParseDataviewPath(%q): %v", tt.want, err)
			}
			if back != tt.path {
				t.Errorf("ParseDataviewPath(%q) = %+v, want %+v", tt.want, back, tt.path)
			}
		})
	}
}

func TestCellPath(t *testing.T) {
	dv := DataviewPath{"p", "e", "s", "d"}
	tests := []struct {
		name string
		path CellPath
		want string
	}{
		{"cell", dv.Cell("cpu0", "user %"), "p/e/s/d/cpu0/user%20%25"},
		{"headline", dv.HeadlineCell("load1"), "p/e/s/d/#/load1"},
		{"row named #", dv.Cell("#", "load1"), "p/e/s/d/%23/load1"},
		{"headline named #", dv.HeadlineCell("#"), "p/e/s/d/#/%23"},
		{"row named %23", dv.Cell("%23", "c"), "p/e/s/d/%2523/c"},
		{"mount point row", dv.Cell("/", "used %"), "p/e/s/d/%2F/used%20%25"},
		{"log file row", dv.Cell("/var/log/app.log", "lines"), "p/e/s/d/%2Fvar%2Flog%2Fapp.log/lines"},
		{"unicode", CellPath{DataviewPath: DataviewPath{"日本", "e", "s", "d"}, Row: "温度", Column: "°C"},
			"%E6%97%A5%E6%9C%AC/e/s/d/%E6%B8%A9%E5%BA%A6/%C2%B0C"},
		{"tilde and dot", dv.Cell("~.", ".~"), "p/e/s/d/~./.~"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.path.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParseCellPath(tt.want)
			if err != nil {
				t.Fatalf("ParseCellPath(%q): %v", tt.want, err)
			}
			if back != tt.path {
				t.Errorf("ParseCellPath(%q) = %+v, want %+v", tt.want, back, tt.path)
			}
			if dvp := back.DataviewPath.String(); !strings.HasPrefix(tt.want, dvp+"/") {
				t.Errorf("the dataview path %q is not a prefix of the cell path %q", dvp, tt.want)
			}
		})
	}
}

// TestHeadlineIgnoresRow: a headline path has no row, whatever the struct
// holds, so String drops it.
func TestHeadlineIgnoresRow(t *testing.T) {
	p := CellPath{DataviewPath: DataviewPath{"p", "e", "s", "d"}, Headline: true, Row: "stray", Column: "c"}
	if got := p.String(); got != "p/e/s/d/#/c" {
		t.Errorf("String() = %q", got)
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		cell    bool // ParseCellPath, else ParseDataviewPath
		wantErr string
	}{
		{"dataview too few", "p/e/s", false, "want 4 segments, have 3"},
		{"dataview too many", "p/e/s/d/r", false, "want 4 segments, have 5"},
		{"dataview empty string", "", false, "want 4 segments, have 1"},
		{"dataview empty segment", "p//s/d", false, "segment 2: empty segment"},
		{"dataview trailing slash", "p/e/s/d/", false, "want 4 segments, have 5"},
		{"cell too few", "p/e/s/d/r", true, "want 6 segments, have 5"},
		{"cell too many", "p/e/s/d/r/c/x", true, "want 6 segments, have 7"},
		{"cell empty row", "p/e/s/d//c", true, "segment 5: empty segment"},
		{"cell empty column", "p/e/s/d/r/", true, "segment 6: empty segment"},
		{"headline empty column", "p/e/s/d/#/", true, "segment 6: empty segment"},
		{"empty probe", "/e/s/d/r/c", true, "segment 1: empty segment"},
		{"lowercase hex", "p/e/s/d/%2fvar/c", true, "upper-case"},
		{"non-hex escape", "p/e/s/d/%G0/c", true, "bad escape"},
		{"escaped unreserved", "p/e/s/d/%41/c", true, "must appear as itself"},
		{"escaped dot in a name", "p/e/s/a%2E/r/c", true, "must appear as itself"},
		{"escaped dots beyond two", "p/e/s/%2E%2E%2E/r/c", true, "must appear as itself"},
		{"raw dot segment", "p/e/s/./r/c", true, "dot segment"},
		{"raw dot-dot segment", "p/e/s/d/../c", true, "dot segment"},
		{"escaped tilde", "p/e/s/d/r/%7E", true, "must appear as itself"},
		{"raw space", "p/e/s/d/r r/c", true, "must be percent-encoded"},
		{"raw space with escape", "p/e/s/d/%23 /c", true, "must be percent-encoded"},
		{"raw percent sign", "p/e/s/d/100%/c", true, "truncated escape"},
		{"truncated escape one digit", "p/e/s/d/r/%2", true, "truncated escape"},
		{"truncated escape bare", "p/e/s/d/r/ab%", true, "truncated escape"},
		{"raw hash in a longer row", "p/e/s/d/#1/c", true, "must be percent-encoded"},
		{"raw hash in column", "p/e/s/d/r/#", true, "must be percent-encoded"},
		{"raw hash as dataview", "p/e/s/#/r/c", true, "must be percent-encoded"},
		{"raw unicode", "p/e/s/d/é/c", true, "must be percent-encoded"},
		{"raw question mark", "p/e/s/d/r?/c", true, "must be percent-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var got any
			if tt.cell {
				got, err = ParseCellPath(tt.in)
			} else {
				got, err = ParseDataviewPath(tt.in)
			}
			if err == nil {
				t.Fatalf("parse %q = %+v, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parse %q error = %q, want one containing %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestEscapeSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abcXYZ019", "abcXYZ019"},
		{"-._~", "-._~"},
		{"a/b", "a%2Fb"},
		{"%", "%25"},
		{"#", "%23"},
		{" ", "%20"},
		{"é", "%C3%A9"},
		{"\x00\xff", "%00%FF"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := EscapeSegment(tt.in); got != tt.want {
				t.Errorf("EscapeSegment(%q) = %q, want %q", tt.in, got, tt.want)
			}
			back, err := UnescapeSegment(tt.want)
			if err != nil || back != tt.in {
				t.Errorf("UnescapeSegment(%q) = %q, %v; want %q", tt.want, back, err, tt.in)
			}
		})
	}
}

// FuzzPathRoundTrip checks both directions of the canonical encoding: any
// names survive String then Parse, and any text that parses is the
// canonical String of what it parses to.
func FuzzPathRoundTrip(f *testing.F) {
	f.Add("p", "e", "s", "d", "r", "c", false)
	f.Add("ldn/oms", "OMS primary", "disk", "/var/log", "#", "used %", false)
	f.Add("p", "e", "s", "d", "", "load1", true)
	f.Add("日本", "~", ".", "..", "%23", "%", false)
	f.Fuzz(func(t *testing.T, probe, entity, sampler, dataview, row, column string, headline bool) {
		if probe == "" || entity == "" || sampler == "" || dataview == "" || column == "" || !headline && row == "" {
			return // names are never empty
		}
		p := CellPath{DataviewPath: DataviewPath{probe, entity, sampler, dataview}, Headline: headline, Row: row, Column: column}
		if headline {
			p.Row = ""
		}
		s := p.String()
		for i := range len(s) {
			if c := s[i]; c != '%' && c != '/' && c != '#' && !unreserved(c) {
				t.Fatalf("String() = %q holds byte %q", s, c)
			}
		}
		back, err := ParseCellPath(s)
		if err != nil {
			t.Fatalf("ParseCellPath(%q) of %+v: %v", s, p, err)
		}
		if back != p {
			t.Fatalf("ParseCellPath(%q) = %+v, want %+v", s, back, p)
		}
		dv, err := ParseDataviewPath(p.DataviewPath.String())
		if err != nil || dv != p.DataviewPath {
			t.Fatalf("ParseDataviewPath(%q) = %+v, %v; want %+v", p.DataviewPath.String(), dv, err, p.DataviewPath)
		}
		// The same strings as one path to parse: if it parses, it is
		// canonical.
		for _, in := range []string{probe, probe + "/" + entity + "/" + sampler + "/" + dataview + "/" + row + "/" + column} {
			if cp, err := ParseCellPath(in); err == nil && cp.String() != in {
				t.Fatalf("ParseCellPath(%q) = %+v, whose String() is %q", in, cp, cp.String())
			}
		}
	})
}

// FuzzParseCellPath parses arbitrary text: it must not panic, and whatever
// parses must be in the canonical form String gives.
func FuzzParseCellPath(f *testing.F) {
	for _, s := range []string{
		"p/e/s/d/r/c", "p/e/s/d/#/load1", "p/e/s/d/%23/load1", "p/e/s/%2Fvar%2Flog/r/c",
		"p/e/s/d/%2f/c", "p/e/s/d/%41/c", "p/e/s/d/r/%", "p/e/s/d/r/%2", "p/e/s/d//c", "////////",
		"%E6%97%A5/e/s/d/r/c", "p/e/s/d/r r/c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseCellPath(s)
		if err == nil {
			if got := p.String(); got != s {
				t.Fatalf("ParseCellPath(%q) = %+v, whose String() is %q", s, p, got)
			}
			if p.Headline && p.Row != "" {
				t.Fatalf("headline path %q has row %q", s, p.Row)
			}
		}
		if dv, err := ParseDataviewPath(s); err == nil && dv.String() != s {
			t.Fatalf("ParseDataviewPath(%q) = %+v, whose String() is %q", s, dv, dv.String())
		}
		if seg, err := UnescapeSegment(s); err == nil {
			if got := EscapeSegment(seg); got != s {
				t.Fatalf("UnescapeSegment(%q) = %q, which escapes as %q", s, seg, got)
			}
		}
	})
}
