package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxDepth is how deeply a document may nest collections. goccy/go-yaml
// takes time and memory that grow with the number of nodes times their
// depth (100,000 nested "[" take gigabytes), and no configuration needs
// more than a few levels.
const maxDepth = 100

// parse reads data as one YAML document, links its aliases and returns its
// root. ok is false when the YAML itself is broken; the error, with its
// line and column, is then in d.errs. Parsing stops at the first such
// error: what follows it cannot be read reliably.
func (d *decoder) parse(data []byte) (root value, ok bool) {
	defer func() {
		// goccy/go-yaml returns its errors; a panic would be a bug in it,
		// and the operator's input must not crash the gateway.
		if r := recover(); r != nil {
			d.errorAt(place{1, 1}, "", "the YAML parser failed: %v", r)
			root, ok = value{}, false
		}
	}()
	if p, msg := checkText(data); msg != "" {
		d.errorAt(p, "", "%s", msg)
		return value{}, false
	}
	src := string(bytes.TrimPrefix(data, []byte("\uFEFF")))
	d.src, d.lines = src, lineStarts(src)
	tokens := lexer.Tokenize(src)
	fixTagColumns(tokens)
	if p, msg := badEscape(src, tokens); msg != "" {
		d.errorAt(p, "", "%s", msg)
		return value{}, false
	}
	if tk := tooDeep(tokens); tk != nil {
		d.errorAt(tokenPlace(tk), "", "collections nest more than %d deep", maxDepth)
		return value{}, false
	}
	f, err := parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		d.syntax(err)
		return value{}, false
	}
	if len(f.Docs) > 1 {
		// Carry on with the first document: its errors are worth
		// reporting too.
		if p, ok := docPlace(f.Docs[1]); ok {
			d.errorAt(p, "", "a second YAML document: %s is one document", d.subject)
		}
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return d.value(nil, place{1, 1}, "", nil), true
	}
	body := f.Docs[0].Body
	if p, msg := d.link(body); msg != "" {
		d.errorAt(p, "", "%s", msg)
		return value{}, false
	}
	return d.value(body, placeOf(body), "", nil), true
}

// docPlace returns where a document starts: its "---", or its content.
func docPlace(doc *ast.DocumentNode) (place, bool) {
	switch {
	case doc.Start != nil:
		return tokenPlace(doc.Start), true
	case doc.Body != nil:
		return placeOf(doc.Body), true
	}
	return place{}, false
}

// checkText returns the place of the first thing in data that is not YAML
// text, and what is wrong with it; msg is "" when there is none. goccy/go-
// yaml takes invalid UTF-8 and control characters as they come.
func checkText(data []byte) (p place, msg string) {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return place{1, 1}, "the file is UTF-16: save it as UTF-8"
	}
	p = place{1, 1}
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size <= 1:
			return p, fmt.Sprintf("byte 0x%02x is not UTF-8: the file must be UTF-8 text", data[0])
		case !printable(r):
			return p, fmt.Sprintf("control character %U is not allowed (in a double-quoted string, write it as \\u%04x)", r, r)
		case r == '\n':
			p = place{p.line + 1, 1}
		default:
			p.col++
		}
		data = data[size:]
	}
	return place{}, ""
}

// printable reports whether YAML allows r in a stream (YAML 1.2, 5.1).
func printable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0x7e, r == 0x85:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// fixTagColumns works around goccy/go-yaml (v1.19.2) placing every token
// after a tag, on the tag's line, one column early: its scanner skips a
// tag's "!" without counting the column.
func fixTagColumns(tokens token.Tokens) {
	line, shift := 0, 0
	for _, tk := range tokens {
		if tk.Position.Line != line {
			line, shift = tk.Position.Line, 0
		}
		tk.Position.Column += shift
		if tk.Type == token.TagType {
			shift++
		}
	}
}

// badEscape returns the place of the first \x, \u or \U escape in a
// double-quoted string that is not followed by enough hex digits, and what
// is wrong with it; msg is "" when there is none, up to the first token
// goccy/go-yaml could not read. goccy reads whatever follows these escapes
// as hex digits, so "C:\Users\x.pem" would become a garbled path without
// a word.
func badEscape(src string, tokens token.Tokens) (p place, msg string) {
	offsets := offsets{src: src, starts: lineStarts(src)}
	for _, tk := range tokens {
		if tk.Type != token.DoubleQuoteType && tk.Type != token.InvalidType {
			continue
		}
		// An invalid token that starts at a quote is a string that does
		// not end, maybe because an escape took its closing quote.
		at := tokenPlace(tk)
		if off := offsets.of(at); off >= 0 && src[off] == '"' {
			if p, msg := hexEscapes(src[off+1:], place{at.line, at.col + 1}); msg != "" {
				return p, msg
			}
		}
		if tk.Type == token.InvalidType {
			break
		}
	}
	return place{}, ""
}

// hexDigits is how many hex digits each escape that takes them needs.
var hexDigits = map[rune]int{'x': 2, 'u': 4, 'U': 8}

// hexEscapes checks the hex escapes of a double-quoted string whose text
// (after the opening quote) starts at p, up to its closing quote.
func hexEscapes(s string, p place) (place, string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '"' {
			return place{}, ""
		}
		if r == '\\' && i+1 < len(s) {
			c, _ := utf8.DecodeRuneInString(s[i+1:])
			if n, hex := hexDigits[c]; hex && !isHex(s[i+2:], n) {
				return p, fmt.Sprintf(`escape \%c must be followed by %d hex digits (in a double-quoted string, write \\ for a backslash)`, c, n)
			}
			// Step over the backslash, and below over the character it
			// escapes, which cannot end the string.
			p.col++
			i++
			r, size = c, utf8.RuneLen(c)
		}
		switch {
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			// The line ends at the "\n".
		case r == '\n' || r == '\r':
			p = place{p.line + 1, 1}
		default:
			p.col++
		}
		i += size
	}
	return place{}, ""
}

func isHex(s string, n int) bool {
	if len(s) < n {
		return false
	}
	for _, c := range []byte(s[:n]) {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
			return false
		}
	}
	return true
}

// lineStarts returns the byte offset at which each line of src starts,
// breaking lines as goccy/go-yaml does: at "\r\n", "\n" or "\r".
func lineStarts(src string) []int {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		switch {
		case src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n':
			i++
			starts = append(starts, i+1)
		case src[i] == '\n' || src[i] == '\r':
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offsets finds the byte offsets of places in src. It indexes the runes
// of one line at a time, so that places met in file order cost time in
// proportion to the file, however long its lines.
type offsets struct {
	src    string
	starts []int // where each line starts
	line   int   // the line indexed
	runes  []int // where each rune of line starts
}

// of returns the byte offset of p, or -1 if it is outside src.
func (o *offsets) of(p place) int {
	if p.line > len(o.starts) {
		return -1
	}
	if p.line != o.line {
		o.line, o.runes = p.line, o.runes[:0]
		for i := range o.src[o.starts[p.line-1]:lineEnd(o.src, o.starts[p.line-1])] {
			o.runes = append(o.runes, o.starts[p.line-1]+i)
		}
	}
	if p.col > len(o.runes) {
		return -1
	}
	return o.runes[p.col-1]
}

// lineEnd returns the offset of the line break that ends the line starting
// at start, or len(src).
func lineEnd(src string, start int) int {
	if i := strings.IndexAny(src[start:], "\r\n"); i >= 0 {
		return start + i
	}
	return len(src)
}

// tooDeep returns the first token that is surely nested more than
// maxDepth deep, or nil: it counts the flow collections open around each
// token, and the "-" and "?" before it on its line, each of which opens a
// collection. link counts the depth exactly, once the document is parsed;
// this is to refuse before parsing the nestings that cost the parser the
// most while costing the file the least, with no indentation.
func tooDeep(tokens token.Tokens) *token.Token {
	flow, line, onLine := 0, 0, 0
	for _, tk := range tokens {
		if tk.Position.Line != line {
			line, onLine = tk.Position.Line, 0
		}
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			flow = max(flow-1, 0)
		case token.SequenceEntryType, token.MappingKeyType:
			if flow == 0 {
				onLine++
			}
		}
		if flow+onLine > maxDepth {
			return tk
		}
	}
	return nil
}

func tokenPlace(tk *token.Token) place {
	return place{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
}

// syntax records a YAML syntax error from goccy/go-yaml, at the token it
// names. Where goccy's message is unclear, a clearer one replaces it.
func (d *decoder) syntax(err error) {
	var se *yaml.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		d.errorAt(place{1, 1}, "", "%s", msg)
		return
	}
	at, msg := explain(se.Message, se.Token)
	d.errorAt(tokenPlace(at), "", "%s", msg)
}

// explain returns where a syntax error is and what it is, from goccy/go-
// yaml's message and the token it gave.
func explain(msg string, tk *token.Token) (*token.Token, string) {
	found := describeToken(tk)
	switch msg {
	case "',' or ']' must be specified", "',' or '}' must be specified":
		if open := opener(tk.Prev); open != nil {
			return open, fmt.Sprintf("this %q is never closed: expected \",\" or %q before %s at line %d, column %d",
				open.Value, closing(open), found, tk.Position.Line, tk.Position.Column)
		}
		return tk, fmt.Sprintf("expected \",\" or the end of the list or mapping before %s", found)
	case "sequence end token ']' not found", "could not find flow mapping end token '}'":
		return tk, fmt.Sprintf("this %q is never closed: %q is missing", tk.Value, closing(tk))
	case "could not find '[' character corresponding to ']'", "could not find '{' character corresponding to '}'":
		return tk, fmt.Sprintf("this %q closes nothing", tk.Value)
	case "value is not allowed in this context", "value is not allowed in this context. map key-value is pre-defined":
		switch {
		case tk.Type == token.SequenceEndType || tk.Type == token.MappingEndType:
			return tk, fmt.Sprintf("this %q closes nothing", tk.Value)
		case startsLine(tk):
			return tk, fmt.Sprintf("%s does not line up with the keys or list items above it: check its indentation", found)
		}
		return tk, fmt.Sprintf("unexpected %s after the value before it", found)
	case "mapping value is not allowed in this context":
		colon := tk
		if next := tk.Next; next != nil && next.Type == token.MappingValueType {
			colon = next
		}
		if tk.Position.Line < colon.Position.Line {
			return colon, fmt.Sprintf("unexpected \":\": this line is indented deeper than the key above it, "+
				"so it continues that key's value (%s)", found)
		}
		return colon, fmt.Sprintf("unexpected \":\" after %s: a nested mapping starts on a new line, indented under its key, "+
			"and a value that holds \": \" must be quoted", found)
	case "block sequence entries are not allowed in this context":
		return tk, "a list item (\"-\") cannot start on the line of its key: put it on the next line, indented"
	case "unexpected key name":
		if tk.Type == token.MappingValueType {
			return tk, "\":\" has no key before it"
		}
		return tk, fmt.Sprintf("%s is not a key: a key and its \":\" must be on one line (is a \":\" missing?)", found)
	case "non-map value is specified":
		if tk.Type == token.SequenceEntryType {
			return tk, "a list item (\"-\") where a key is expected: a mapping cannot also be a list"
		}
		return tk, fmt.Sprintf("%s where a key is expected: write \"key: value\"", found)
	case "found an invalid key for this map":
		if prev := tk.Prev; prev != nil && (prev.Type == token.SequenceEndType || prev.Type == token.MappingEndType) {
			kind := "a list"
			if prev.Type == token.MappingEndType {
				kind = "a mapping"
			}
			if open := opener(prev.Prev); open != nil {
				tk = open
			}
			return tk, "keys must be strings, not " + kind
		}
		return tk, "\":\" has no key before it"
	case "found character '\t' that cannot start any token", "found a tab character where an indentation space is expected",
		"tab character cannot use as a map key directly", "tab character cannot use as a sequence delimiter",
		"tab character cannot be used for indentation in double-quoted text",
		"tab character cannot be used for indentation in single-quoted text":
		return tk, "a tab character: YAML indents with spaces, not tabs"
	case "could not find end character of double-quoted text":
		return tk, "this double-quoted string has no closing \""
	case "could not find end character of single-quoted text":
		return tk, "this single-quoted string has no closing '"
	case "not enough length for escaped UTF-16 character":
		return tk, `escape \u must be followed by 4 hex digits (in a double-quoted string, write \\ for a backslash)`
	case "not enough length for escaped UTF-32 character":
		return tk, `escape \U must be followed by 8 hex digits (in a double-quoted string, write \\ for a backslash)`
	case "not enough length for escaped UTF-16 surrogate pair", "found unexpected character after high surrogate for UTF-16 surrogate pair",
		"found unexpected low surrogate after high surrogate":
		return tk, `a \u escape of a UTF-16 high surrogate (\ud800 to \udbff) must be followed by one of a low surrogate (\udc00 to \udfff)`
	case "undefined anchor value", "could not find anchor value", "undefined anchor name",
		"unexpected anchor. anchor name is not scalar value":
		return tk, "an anchor (&name) must be followed by the value it names"
	case "anchors cannot be used consecutively":
		return tk, "a value can have only one anchor"
	case "undefined alias name", "could not find alias value", "unexpected alias. alias name is not scalar value":
		return tk, "\"*\" must be followed by the name of an anchor"
	case "unexpected end content":
		return tk, fmt.Sprintf("%s after \"...\": nothing may follow the end of a document on its line", found)
	case "value cannot be placed after document separator":
		return tk, fmt.Sprintf("%s after \"---\": start the document on the next line", found)
	case "unexpected directive value. document not started":
		return tk, "a directive (%YAML, %TAG) must be followed by a \"---\" line"
	case "YAML version has already been specified":
		return tk, "%YAML is given twice"
	case "expected sequence element, but found ','":
		return tk, "expected a list item, found \",\""
	case "unexpected scalar value type", "could not find flow map content":
		if tk.Type == token.CollectEntryType {
			return tk, "unexpected \",\": an item is missing before it"
		}
		return tk, fmt.Sprintf("unexpected %s", found)
	}
	switch {
	case strings.HasPrefix(msg, "found unknown escape character "):
		c := strings.Trim(strings.TrimPrefix(msg, "found unknown escape character "), "'")
		return tk, fmt.Sprintf(`unknown escape \%s in a double-quoted string (write \\ for a backslash, or use single quotes)`, c)
	case strings.HasSuffix(msg, " is a reserved character"):
		c := strings.Trim(strings.TrimSuffix(msg, " is a reserved character"), "'")
		return tk, fmt.Sprintf("%q cannot start a plain value: quote the value", c)
	case strings.HasPrefix(msg, "invalid header option"):
		return tk, "a block scalar's | or > may be followed only by an indentation digit (1 to 9) and a + or -"
	case strings.HasPrefix(msg, "invalid number of indent is specified"):
		return tk, "this block scalar's text is indented less than its header says"
	}
	return tk, msg
}

// describeToken names a token for messages: its text, quoted and cut
// short.
func describeToken(tk *token.Token) string {
	s := strings.TrimSpace(tk.Value)
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// startsLine reports whether tk is the first token on its line.
func startsLine(tk *token.Token) bool {
	prev := tk.Prev
	for prev != nil && prev.Type == token.CommentType {
		prev = prev.Prev
	}
	return prev == nil || prev.Position.Line < tk.Position.Line
}

// opener returns the innermost "[" or "{" still open at tk, going back
// from it, or nil.
func opener(tk *token.Token) *token.Token {
	depth := 0
	for ; tk != nil; tk = tk.Prev {
		switch tk.Type {
		case token.SequenceEndType, token.MappingEndType:
			depth++
		case token.SequenceStartType, token.MappingStartType:
			if depth == 0 {
				return tk
			}
			depth--
		}
	}
	return nil
}

// closing returns what closes the flow collection that open opens.
func closing(open *token.Token) string {
	if open.Type == token.MappingStartType {
		return "}"
	}
	return "]"
}
