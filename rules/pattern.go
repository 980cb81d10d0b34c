package rules

import (
	"fmt"
	"strings"

	"github.com/watchfloor/watchfloor/samplers"
)

// Pattern is a compiled path pattern (see Def.Match).
type Pattern struct {
	text  string
	elems []elem
}

type elemKind uint8

const (
	elemLiteral  elemKind = iota // one segment with this name
	elemStar                     // "*": any one segment
	elemGlob                     // a segment with "*" inside: names matching its parts
	elemAny                      // "**": any number of segments
	elemHeadline                 // "#": the row of a dataview's headlines
)

type elem struct {
	kind  elemKind
	name  string   // elemLiteral: the decoded name
	parts []string // elemGlob: the decoded text around each "*"
	col   int      // where it is written in the pattern, from 1
}

// maxPattern bounds a pattern's length.
const maxPattern = 1024

// ParsePattern compiles a path pattern. An error names the column (from 1)
// of the segment at fault.
func ParsePattern(s string) (*Pattern, *Error) {
	if s == "" {
		return nil, &Error{Msg: "the pattern is empty: write one, like */*/cpu/cpu/*/utilisation"}
	}
	if len(s) > maxPattern {
		return nil, &Error{Msg: fmt.Sprintf("the pattern is %d bytes long, over the limit of %d", len(s), maxPattern)}
	}
	p := &Pattern{text: s}
	col := 1
	for seg := range strings.SplitSeq(s, "/") {
		e, msg := parseElem(seg)
		if msg != "" {
			// An empty last segment has no column of its own: name the
			// slash before it.
			return nil, &Error{Line: 1, Col: min(col, len(s)), Msg: msg}
		}
		e.col = col
		col += len(seg) + 1
		if n := len(p.elems); e.kind == elemAny && n > 0 && p.elems[n-1].kind == elemAny {
			// "**/**" is "**"; kept apart, each would try every split
			// of the path, and matching would take time exponential in
			// their number.
			continue
		}
		p.elems = append(p.elems, e)
	}
	return p, nil
}

func parseElem(seg string) (elem, string) {
	switch seg {
	case "":
		return elem{}, "an empty segment (two slashes, or one at an end)"
	case "*":
		return elem{kind: elemStar}, ""
	case "**":
		return elem{kind: elemAny}, ""
	case samplers.HeadlineRow:
		return elem{kind: elemHeadline}, ""
	}
	pieces := strings.Split(seg, "*")
	for i, piece := range pieces {
		if piece == "" {
			continue // around a "*" at an end, or "**" inside a segment
		}
		if len(pieces) > 1 && (piece == "." || piece == "..") {
			continue // part of a longer name ("*.*"), not a dot segment
		}
		name, err := samplers.UnescapeSegment(piece)
		if err != nil {
			return elem{}, fmt.Sprintf("segment %q: %v", seg, err)
		}
		pieces[i] = name
	}
	if len(pieces) == 1 {
		return elem{kind: elemLiteral, name: pieces[0]}, ""
	}
	return elem{kind: elemGlob, parts: pieces}, ""
}

// misplacedHeadline finds a "#" where a path of the kind has no row, so
// the pattern could never match: in a dataview's or probe's pattern, or in
// a cell pattern at a place that is not the row's (the fifth segment, or
// the next to last after a "**"). It returns the column of that "#".
func (p *Pattern) misplacedHeadline(k Kind) (col int, misplaced bool) {
	first, last := -1, -1 // the first and last "**"
	for i, e := range p.elems {
		if e.kind == elemAny {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i, e := range p.elems {
		if e.kind == elemHeadline {
			var fits bool
			switch {
			case k != CellRule:
			case first < 0 || i < first:
				fits = i == 4
			case i > last:
				fits = i == len(p.elems)-2
			default:
				fits = true // between two "**": anywhere
			}
			if !fits {
				return e.col, true
			}
		}
	}
	return 0, false
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.text }

// fits reports whether the pattern can match paths of n segments.
func (p *Pattern) fits(n int) bool {
	fixed, open := 0, false
	for _, e := range p.elems {
		if e.kind == elemAny {
			open = true
		} else {
			fixed++
		}
	}
	return fixed == n || open && fixed < n
}

// seg is one segment of a path being matched: a name, the row of
// headlines, or (when matching a dataview against cell patterns) a
// segment not known yet, which any one-segment element may match.
type seg struct {
	name     string
	headline bool
	unknown  bool
}

// match reports whether the pattern matches the path segs.
func (p *Pattern) match(segs []seg) bool { return matchElems(p.elems, segs) }

func matchElems(es []elem, segs []seg) bool {
	for len(es) > 0 {
		e := es[0]
		if e.kind == elemAny {
			for k := 0; k <= len(segs); k++ {
				if matchElems(es[1:], segs[k:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 || !e.matches(segs[0]) {
			return false
		}
		es, segs = es[1:], segs[1:]
	}
	return len(segs) == 0
}

func (e *elem) matches(s seg) bool {
	if s.unknown {
		return true
	}
	switch e.kind {
	case elemStar:
		return true
	case elemHeadline:
		return s.headline
	case elemLiteral:
		return !s.headline && s.name == e.name
	case elemGlob:
		return !s.headline && globMatch(e.parts, s.name)
	}
	return false
}

// globMatch reports whether name is parts joined by runs of any
// characters.
func globMatch(parts []string, name string) bool {
	first, last := parts[0], parts[len(parts)-1]
	if len(name) < len(first)+len(last) || !strings.HasPrefix(name, first) || !strings.HasSuffix(name, last) {
		return false
	}
	name = name[len(first) : len(name)-len(last)]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name = name[i+len(part):]
	}
	return true
}

// key is where the index files a pattern: the name of one literal
// segment, at a position counted from the start (fromEnd false) or from
// the end.
type key struct {
	pos     int
	fromEnd bool
	name    string
	kind    Kind // while the index is built: keys of different kinds are not shared
}

// indexKeys lists the literal segments the pattern could be filed under:
// each one before any "**", counted from the start, and each one after
// every "**", counted from the end. A path the pattern matches has each
// of those names at that position.
func (p *Pattern) indexKeys() []key {
	var keys []key
	open := -1 // the first "**"
	for i, e := range p.elems {
		if e.kind == elemAny {
			open = i
			break
		}
		if e.kind == elemLiteral {
			keys = append(keys, key{pos: i, name: e.name})
		}
	}
	if open < 0 {
		return keys
	}
	for i := len(p.elems) - 1; i > open; i-- {
		e := p.elems[i]
		if e.kind == elemAny {
			break
		}
		if e.kind == elemLiteral {
			keys = append(keys, key{pos: len(p.elems) - 1 - i, fromEnd: true, name: e.name})
		}
	}
	return keys
}
