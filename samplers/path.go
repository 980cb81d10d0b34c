package samplers

import (
	"errors"
	"fmt"
	"strings"
)

// HeadlineRow is the row segment that addresses a dataview's headlines.
// A row literally named "#" is encoded as "%23", so the two never clash.
const HeadlineRow = "#"

// DataviewPath addresses one dataview: probe/entity/sampler/dataview.
type DataviewPath struct {
	Probe, Entity, Sampler, Dataview string
}

// CellPath addresses one cell: a dataview path, then the row (or the
// headline marker) and the column (or the headline's name).
type CellPath struct {
	DataviewPath
	Headline bool
	Row      string
	Column   string
}

// String returns the canonical encoding: each segment percent-encoded, so a
// name holding "/" stays one segment.
func (p DataviewPath) String() string {
	var b strings.Builder
	p.appendTo(&b)
	return b.String()
}

func (p DataviewPath) appendTo(b *strings.Builder) {
	appendSegment(b, p.Probe)
	b.WriteByte('/')
	appendSegment(b, p.Entity)
	b.WriteByte('/')
	appendSegment(b, p.Sampler)
	b.WriteByte('/')
	appendSegment(b, p.Dataview)
}

// String returns the canonical encoding of the cell path.
func (p CellPath) String() string {
	var b strings.Builder
	p.DataviewPath.appendTo(&b)
	b.WriteByte('/')
	if p.Headline {
		b.WriteString(HeadlineRow)
	} else {
		appendSegment(&b, p.Row)
	}
	b.WriteByte('/')
	appendSegment(&b, p.Column)
	return b.String()
}

// Cell returns the path of a cell in this dataview.
func (p DataviewPath) Cell(row, column string) CellPath {
	return CellPath{DataviewPath: p, Row: row, Column: column}
}

// HeadlineCell returns the path of a headline in this dataview.
func (p DataviewPath) HeadlineCell(name string) CellPath {
	return CellPath{DataviewPath: p, Headline: true, Column: name}
}

// EscapeSegment percent-encodes one path segment. Every byte other than
// ASCII letters, digits and "-._~" is encoded, with upper-case hex, and so
// are the names "." and "..", so each name has exactly one encoding and no
// URL normalisation can change a path.
func EscapeSegment(s string) string {
	var b strings.Builder
	appendSegment(&b, s)
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func appendSegment(b *strings.Builder, s string) {
	if s == "." || s == ".." {
		// URL dot segments: encoded, so no client or router resolves them.
		b.WriteString(strings.Repeat("%2E", len(s)))
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

// UnescapeSegment decodes one canonical segment. It refuses empty segments
// and anything that EscapeSegment would not have produced.
func UnescapeSegment(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty segment")
	}
	if s == "." || s == ".." {
		return "", fmt.Errorf("dot segment %q must be percent-encoded", s)
	}
	if !strings.Contains(s, "%") {
		for i := 0; i < len(s); i++ {
			if !unreserved(s[i]) {
				return "", fmt.Errorf("byte %q at %d must be percent-encoded", s[i], i)
			}
		}
		return s, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case unreserved(c):
			out = append(out, c)
		case c == '%':
			if i+2 >= len(s) {
				return "", fmt.Errorf("truncated escape at %d", i)
			}
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("bad escape %q at %d (hex digits are upper-case)", s[i:i+3], i)
			}
			d := byte(hi<<4 | lo)
			if unreserved(d) && !(d == '.' && (s == "%2E" || s == "%2E%2E")) {
				return "", fmt.Errorf("escape %q at %d encodes a byte that must appear as itself", s[i:i+3], i)
			}
			out = append(out, d)
			i += 2
		default:
			return "", fmt.Errorf("byte %q at %d must be percent-encoded", c, i)
		}
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// ParseDataviewPath decodes "probe/entity/sampler/dataview".
func ParseDataviewPath(s string) (DataviewPath, error) {
	segs, err := splitSegments(s, 4)
	if err != nil {
		return DataviewPath{}, fmt.Errorf("dataview path %q: %w", s, err)
	}
	return DataviewPath{Probe: segs[0], Entity: segs[1], Sampler: segs[2], Dataview: segs[3]}, nil
}

// ParseCellPath decodes "probe/entity/sampler/dataview/row/column", where a
// row of "#" addresses a headline.
func ParseCellPath(s string) (CellPath, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 6 {
		return CellPath{}, fmt.Errorf("cell path %q: want 6 segments, have %d", s, len(parts))
	}
	headline := parts[4] == HeadlineRow
	if headline {
		parts[4] = "%23" // any valid placeholder; the row is dropped below
	}
	segs, err := decodeSegments(parts)
	if err != nil {
		return CellPath{}, fmt.Errorf("cell path %q: %w", s, err)
	}
	p := CellPath{
		DataviewPath: DataviewPath{Probe: segs[0], Entity: segs[1], Sampler: segs[2], Dataview: segs[3]},
		Headline:     headline,
		Row:          segs[4],
		Column:       segs[5],
	}
	if headline {
		p.Row = ""
	}
	return p, nil
}

func splitSegments(s string, n int) ([]string, error) {
	parts := strings.Split(s, "/")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d segments, have %d", n, len(parts))
	}
	return decodeSegments(parts)
}

func decodeSegments(parts []string) ([]string, error) {
	for i, p := range parts {
		d, err := UnescapeSegment(p)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i+1, err)
		}
		parts[i] = d
	}
	return parts, nil
}
