package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// This file is a small decoder over the syntax tree of goccy/go-yaml,
// which any schema of this package drives: the gateway's configuration
// (schema.go), its rules and a rule sent alone (rules.go), and rule test
// files (ruletests.go). A schema is code that asks each value
// for what it expects there (an object with known keys, a list, a string, a
// whole number, free-form JSON). The decoder checks the kind, reports every
// problem at its place with its field path rather than stopping at the
// first, and records where each field was, so that validation of the
// decoded values can place its errors too. It knows nothing of any schema.

// place is a line and column, both from 1.
type place struct{ line, col int }

// Aliases let a few lines name a tree of billions of values ("billion
// laughs"), so a decoder visits at most aliasFactor times the nodes written
// in the file, or minAliasBudget if that is more, before giving up. A real
// configuration that shares attributes and sampler lists between its
// entities stays far below that.
const (
	aliasFactor    = 64
	minAliasBudget = 1 << 16
)

// decoder holds what a document's decoding has found so far. It is used by
// one goroutine.
type decoder struct {
	file string
	// subject names the whole document in messages ("the configuration").
	subject string
	errs    Errors
	// places holds the place of every value decoded, by field path.
	places map[string]place
	// bad holds the fields whose decoding failed: validation skips them
	// and everything under them rather than report them twice.
	bad map[string]bool
	// texts holds the values of the expressions and patterns decoded, by
	// field path, so that an error inside one can be placed at its
	// character; src is the document and lines where each of its lines
	// starts.
	texts map[string]value
	src   string
	lines []int
	// aliases maps each alias to the node its anchor names; an alias
	// whose anchor is not before it is missing.
	aliases map[*ast.AliasNode]ast.Node
	// left is how many more values the decoding may visit; budget is how
	// many it could at first. exhausted is set once it has run out.
	left, budget int
	exhausted    bool
}

func newDecoder(file, subject string) *decoder {
	return &decoder{file: file, subject: subject, places: map[string]place{"": {1, 1}}, bad: map[string]bool{}, texts: map[string]value{}}
}

// errorAt records an error at p.
func (d *decoder) errorAt(p place, field, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: p.line, Column: p.col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// place returns the place of field or, when it has none (a key left out),
// of its nearest ancestor that has one.
func (d *decoder) place(field string) (line, col int) {
	for f := field; ; f = parent(f) {
		if p, ok := d.places[f]; ok {
			return p.line, p.col
		}
		if f == "" {
			return 0, 0
		}
	}
}

// skip reports whether field or one of its ancestors failed to decode.
func (d *decoder) skip(field string) bool {
	for f := field; ; f = parent(f) {
		if d.bad[f] {
			return true
		}
		if f == "" {
			return false
		}
	}
}

// link resolves the aliases under root and sets the budget from the number
// of nodes written. An alias names the last node before it with that
// anchor, as YAML says; one inside the node its anchor names refers to
// that node, which json catches. It returns the place and text of an
// error that makes the tree unfit to decode, or msg "".
func (d *decoder) link(root ast.Node) (p place, msg string) {
	l := linker{links: &links{anchors: map[string]ast.Node{}, aliases: map[*ast.AliasNode]ast.Node{}}}
	ast.Walk(l, root)
	d.aliases = l.aliases
	d.budget = max(aliasFactor*l.nodes, minAliasBudget)
	d.left = d.budget
	switch {
	case l.dangling != nil:
		return placeOf(l.dangling), fmt.Sprintf("the tag %s ends its line, and the lines below are not indented deeper than %s: "+
			"write the value after the tag, or indent it", l.dangling.Start.Value, l.owner)
	case l.deep != nil:
		return placeOf(l.deep), fmt.Sprintf("collections nest more than %d deep", maxDepth)
	}
	return place{}, ""
}

// linker visits a tree for link; each visitor knows how many collections
// are open around the nodes it visits.
type linker struct {
	*links
	depth int
}

type links struct {
	anchors map[string]ast.Node
	aliases map[*ast.AliasNode]ast.Node
	nodes   int
	// deep is the first collection nested more than maxDepth deep;
	// dangling the first tag that took the lines below it (see
	// danglingTag), which owner names.
	deep     ast.Node
	dangling *ast.TagNode
	owner    string
}

func (l linker) Visit(n ast.Node) ast.Visitor {
	l.nodes++
	switch n := n.(type) {
	case *ast.AnchorNode:
		l.anchors[n.Name.GetToken().Value] = n.Value
	case *ast.AliasNode:
		if target, ok := l.anchors[n.Value.GetToken().Value]; ok {
			l.aliases[n] = target
		}
	case *ast.MappingValueNode:
		if t := danglingTag(n.Value, placeOf(n.Key).col, true); t != nil && l.dangling == nil {
			l.dangling, l.owner = t, "its key"
		}
	case *ast.MappingNode, *ast.SequenceNode:
		if l.depth++; l.depth > maxDepth && l.deep == nil {
			l.deep = n
		}
		if s, ok := n.(*ast.SequenceNode); ok && !s.IsFlowStyle {
			for _, e := range s.Entries {
				if t := danglingTag(e.Value, placeOf(e).col, false); t != nil && l.dangling == nil {
					l.dangling, l.owner = t, `its "-"`
				}
			}
		}
	}
	return l
}

// danglingTag returns the tag on n, the value of a key or list item at
// column col, when it ends its line and goccy/go-yaml (v1.19.2) took the
// block collection on the lines below as its value although it is not
// indented under the key (a list under a key may be level with it) or the
// "-". YAML ends the value at the tag, and makes those lines siblings of
// the key or item; taking them as the tag's would quietly move keys of
// the configuration into another value.
func danglingTag(n ast.Node, col int, listMayAlign bool) *ast.TagNode {
	n, tag := unwrap(n)
	if tag == nil {
		return nil
	}
	switch c := n.(type) {
	case *ast.MappingNode:
		if !c.IsFlowStyle && below(tag, c) && placeOf(c).col <= col {
			return tag
		}
	case *ast.SequenceNode:
		if !c.IsFlowStyle && below(tag, c) && (placeOf(c).col < col || placeOf(c).col == col && !listMayAlign) {
			return tag
		}
	}
	return nil
}

// unwrap returns the value under n's anchors and tags, and the innermost
// tag (nil if none).
func unwrap(n ast.Node) (ast.Node, *ast.TagNode) {
	var tag *ast.TagNode
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			tag, n = t, t.Value
		default:
			return n, tag
		}
	}
}

// below reports whether n starts on a line after the tag.
func below(tag *ast.TagNode, n ast.Node) bool {
	return placeOf(n).line > tag.Start.Position.Line
}

// kind is what a value is, once aliases, anchors and tags are seen
// through.
type kind int

const (
	broken kind = iota // an error already reported: nothing to decode
	null
	scalar
	mapping
	sequence
)

// value is one YAML value met while decoding, with its field path.
type value struct {
	d    *decoder
	kind kind
	node ast.Node // aliases followed; anchors and tags taken off
	tag  string   // the tag written on it, "" if none
	at   place    // where it is written (the alias, if it is one)
	path string
	// alias is the alias this value is written as, if it is one; outer
	// is the outermost alias it was reached through, if any, which is
	// where the budget's error goes: the alias that names a huge value
	// is the one to fix.
	alias, outer *origin
	// free is set inside a free-form value (json), whose parts have no
	// fields for validation to place.
	free bool
}

// origin is where an alias was written.
type origin struct {
	name string
	at   place
	path string
}

// value makes the value written as n, at, for field path, reached through
// the alias outer (nil if none), and records its place. n nil is an empty
// document.
func (d *decoder) value(n ast.Node, at place, path string, outer *origin) value {
	d.places[path] = at
	return d.see(n, at, path, outer)
}

// child makes the value written as n, at, under v.
func (v value) child(n ast.Node, at place, path string) value {
	if v.free {
		c := v.d.see(n, at, path, v.outer)
		c.free = true
		return c
	}
	return v.d.value(n, at, path, v.outer)
}

// see is value without recording the place.
func (d *decoder) see(n ast.Node, at place, path string, outer *origin) value {
	v := value{d: d, at: at, path: path, outer: outer}
	if a, ok := n.(*ast.AliasNode); ok {
		v.alias = &origin{name: a.Value.GetToken().Value, at: at, path: path}
		if v.outer == nil {
			v.outer = v.alias
		}
		target, ok := d.aliases[a]
		if !ok {
			hint := ""
			if strings.ContainsAny(v.alias.name, "/*") {
				hint = `: a path pattern that starts with "*" must be quoted`
			}
			v.fail("unknown alias *%s: no anchor &%s comes before it%s", v.alias.name, v.alias.name, hint)
			return v
		}
		n = target
	}
	n, tag := unwrap(n)
	if tag != nil {
		v.tag = tag.Start.Value
	}
	v.node = n
	switch n := n.(type) {
	case nil:
		v.kind = null
	case *ast.NullNode:
		v.kind = null
		if v.tag != "" && v.tag != "!!null" {
			v.kind = scalar // !!str ~ is the string "~"
		}
	case *ast.MappingNode:
		v.kind = mapping
	case *ast.SequenceNode:
		v.kind = sequence
	case *ast.AliasNode:
		v.fail("an alias (*%s) cannot have a tag or an anchor", n.Value.GetToken().Value)
	case ast.ScalarNode:
		v.kind = scalar
	default:
		v.fail("unexpected YAML %s", n.Type().YAMLName())
	}
	return v
}

// placeOf returns where n is written: for a block mapping, its first key.
func placeOf(n ast.Node) place {
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 {
		return placeOf(m.Values[0].Key)
	}
	p := n.GetToken().Position
	return place{p.Line, p.Column}
}

// implicit reports whether n is a value left out: `key:` with nothing
// after it. goccy places these after the indicator; the key or the "-"
// is a better place to point at.
func implicit(n ast.Node) bool {
	tk := n.GetToken()
	return tk != nil && tk.Type == token.ImplicitNullType
}

// fail records an error at v and marks its field bad.
func (v value) fail(format string, args ...any) {
	v.d.errorAt(v.at, v.path, format, args...)
	v.d.bad[v.path] = true
}

// mustBe reports that v is not what, as "must be what, not (what v is)".
func (v value) mustBe(what string) {
	if v.kind == broken {
		return
	}
	subject := "must be"
	if v.path == "" {
		subject = v.d.subject + " must be"
	}
	v.fail("%s %s, not %s", subject, what, v.describe())
}

// describe names what v is, for "must be X, not Y" messages.
func (v value) describe() string {
	switch v.kind {
	case null:
		return "empty"
	case mapping:
		return "a mapping"
	case sequence:
		return "a list"
	}
	s := v.text()
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}

// charge takes n visits from the budget, and reports whether there were
// enough. The first time there are not, it records the error, and marks
// the whole document bad: what was not decoded cannot be judged.
func (v value) charge(n int) bool {
	d := v.d
	d.left -= n
	if d.left >= 0 {
		return true
	}
	if !d.exhausted {
		at, path := v.at, v.path
		if v.outer != nil {
			at, path = v.outer.at, v.outer.path
		}
		d.errorAt(at, path, "aliases expand %s to more than %d values", d.subject, d.budget)
		d.exhausted = true
		d.bad[""] = true
	}
	return false
}

// entry is one key of a mapping and its value.
type entry struct {
	key string
	at  place // the key's
	val value
}

// entries returns the entries of v, a mapping, in file order. what says
// what v must be when it is not a mapping ("a mapping"). Keys must be
// strings, and a key given twice keeps its first value: the later ones
// are reported and left out, as are merge keys (<<), which would hide
// where a value came from. ok is false when v is not a mapping, or the
// budget has run out.
func (v value) entries(what string) (es []entry, ok bool) {
	if v.kind != mapping {
		v.mustBe(what)
		return nil, false
	}
	m := v.node.(*ast.MappingNode)
	if !v.charge(2 * len(m.Values)) {
		return nil, false
	}
	first := map[string]place{}
	for _, kv := range m.Values {
		kat := placeOf(kv.Key)
		key, refused := v.key(kv.Key, kat)
		if refused {
			continue
		}
		path := join(v.path, key)
		if p, dup := first[key]; dup {
			v.d.errorAt(kat, path, "duplicate key (first at line %d)", p.line)
			continue
		}
		first[key] = kat
		at := kat
		if !implicit(kv.Value) {
			at = placeOf(kv.Value)
		}
		es = append(es, entry{key: key, at: kat, val: v.child(kv.Value, at, path)})
	}
	return es, true
}

// key returns the text of a mapping key written at at, or refused when
// the key is not allowed.
func (v value) key(n ast.Node, at place) (key string, refused bool) {
	if mk, ok := n.(*ast.MappingKeyNode); ok {
		n = mk.Value // "? key"
	}
	k := v.d.see(n, at, v.path, v.outer)
	switch {
	case k.kind == broken:
		return "", true
	case isMergeKey(k.node) && k.tag == "":
		v.d.errorAt(at, join(v.path, "<<"), "merge keys (<<) are not supported")
		return "", true
	case k.kind != scalar && k.kind != null:
		v.d.errorAt(at, v.path, "keys must be strings, not %s", k.describe())
		return "", true
	}
	return k.text(), false
}

func isMergeKey(n ast.Node) bool {
	_, ok := n.(*ast.MergeKeyNode)
	return ok
}

// items returns the elements of v, a list.
func (v value) items() []value {
	if v.kind != sequence {
		v.mustBe("a list")
		return nil
	}
	s := v.node.(*ast.SequenceNode)
	if !v.charge(len(s.Values)) {
		return nil
	}
	vs := make([]value, len(s.Values))
	for i, n := range s.Values {
		at := placeOf(n)
		if implicit(n) && !s.IsFlowStyle && i < len(s.Entries) {
			at = placeOf(s.Entries[i]) // the "-"
		}
		vs[i] = v.child(n, at, index(v.path, i))
	}
	return vs
}

// field is one key of an object in a schema. decode is called with the
// key's value, unless it is null (the key given with no value, `key:`),
// which counts as absent but satisfies required.
type field struct {
	key      string
	required bool
	decode   func(value)
}

// optional and required make fields.
func optional(key string, decode func(value)) field { return field{key: key, decode: decode} }
func required(key string, decode func(value)) field {
	return field{key: key, required: true, decode: decode}
}

// object decodes v, a mapping whose keys are the fields'. An unknown key
// is reported with the known ones, in the order the fields are given; a
// required one left out, at the mapping.
func (v value) object(fields ...field) {
	es, ok := v.entries("a mapping")
	if !ok {
		return
	}
	given := map[string]bool{}
	for _, e := range es {
		i := fieldIndex(fields, e.key)
		if i < 0 {
			v.d.errorAt(e.at, e.val.path, "unknown key (known: %s)", fieldKeys(fields))
			v.d.bad[e.val.path] = true
			continue
		}
		given[e.key] = true
		if e.val.kind != null {
			fields[i].decode(e.val)
		}
	}
	for _, f := range fields {
		if f.required && !given[f.key] {
			path := join(v.path, f.key)
			v.d.errorAt(v.at, path, "required")
			v.d.bad[path] = true
		}
	}
}

// placeAbsent places key, when the mapping v does not give it, where like
// is: an error about key's default then points at what chose it.
func (v value) placeAbsent(key, like string) {
	k := join(v.path, key)
	if _, ok := v.d.places[k]; ok {
		return
	}
	if p, ok := v.d.places[join(v.path, like)]; ok {
		v.d.places[k] = p
	}
}

// placeAt records p as v's place for validation's errors, instead of
// where v is written: the key, for a value whose key is a name.
func (v value) placeAt(p place) {
	if !v.free {
		v.d.places[v.path] = p
	}
}

func fieldIndex(fields []field, key string) int {
	for i, f := range fields {
		if f.key == key {
			return i
		}
	}
	return -1
}

func fieldKeys(fields []field) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

// text returns a scalar as written (quotes and escapes resolved); it is
// "" for a value left out.
func (v value) text() string {
	switch n := v.node.(type) {
	case nil:
		return ""
	case *ast.StringNode:
		return n.Value
	case *ast.LiteralNode:
		return n.Value.Value
	}
	if implicit(v.node) {
		return ""
	}
	return v.node.GetToken().Value
}

// str returns the text of v. Any scalar is taken as written ("007",
// "1.10", "true" are strings here); null is "".
func (v value) str() (string, bool) {
	switch v.kind {
	case null:
		return "", true
	case scalar:
		return v.text(), true
	}
	if v.kind == mapping && v.node != nil && strings.Contains(v.node.String(), "://") {
		// [http://host:9093] is a list of one mapping to YAML.
		v.mustBe(`a string (a URL in a list or mapping written with brackets or braces needs quotes: "http://…")`)
		return "", false
	}
	v.mustBe("a string")
	return "", false
}

// setStr returns a decode function that sets *dst to the value's text.
func setStr(dst *string) func(value) {
	return func(v value) { *dst, _ = v.str() }
}

// boolean returns a YAML boolean: true or false, in any of the cases YAML
// 1.2 allows; not yes, no, on or off, which are strings.
func (v value) boolean() (bool, bool) {
	b, ok := v.resolve().(bool)
	if !ok {
		v.mustBe("true or false")
	}
	return b, ok
}

// integer returns a whole number that fits an int64: a YAML integer
// (decimal, 0x, 0o or 0b; underscores allowed), or a float with nothing
// after the point (1e6).
func (v value) integer() (int64, bool) {
	switch n := v.resolve().(type) {
	case int64:
		return n, true
	case uint64:
		v.fail("%s is too large", v.describe())
		return 0, false
	case float64:
		switch {
		case n != math.Trunc(n):
		case n < -(1<<63) || n >= 1<<63:
			v.fail("%s is too large", v.describe())
			return 0, false
		default:
			return int64(n), true
		}
	}
	v.mustBe("a whole number")
	return 0, false
}

// resolve returns what a scalar means: nil, a bool, an int64, a uint64, a
// float64 or a string, as YAML 1.2's core schema reads plain scalars.
// Quoted and block scalars are strings, unless tagged. A core tag (!!null,
// !!bool, !!int, !!float, !!str) must match the text, and !!float takes an
// integer too; other tags (!!binary, !!timestamp, !local) leave the text
// as written. A value whose tag does not match, or that is not a scalar,
// resolves to v itself, which no caller expects.
func (v value) resolve() any {
	switch v.kind {
	case null:
		return nil
	case scalar:
	default:
		return v
	}
	s := v.text()
	switch v.tag {
	case "":
		if quotedOrBlock(v.node) {
			return s
		}
		return resolvePlain(s)
	case "!!null", "!!bool", "!!int", "!!float":
	default:
		return s
	}
	r := resolvePlain(s)
	if v.tag == "!!float" {
		switch n := r.(type) {
		case int64:
			return float64(n)
		case uint64:
			return float64(n)
		}
	}
	if coreTag(r) != v.tag {
		return v
	}
	return r
}

// coreTag returns the tag of what resolvePlain returns.
func coreTag(r any) string {
	switch r.(type) {
	case nil:
		return "!!null"
	case bool:
		return "!!bool"
	case int64, uint64:
		return "!!int"
	case float64:
		return "!!float"
	}
	return "!!str"
}

func quotedOrBlock(n ast.Node) bool {
	if _, ok := n.(*ast.LiteralNode); ok {
		return true
	}
	t := n.GetToken().Type
	return t == token.SingleQuoteType || t == token.DoubleQuoteType
}

// yamlFloat is the core schema's float, underscores removed.
var yamlFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolvePlain reads a plain scalar as yaml.v3 did, which the
// configuration's params have always followed: the core schema's null,
// booleans, infinities and NaN; integers in Go's syntax (0x, 0o, 0b, and a
// leading 0 for octal) with underscores ignored; and floats. Anything else,
// timestamps included, is a string.
func resolvePlain(s string) any {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	case ".nan", ".NaN", ".NAN":
		return math.NaN()
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		return math.Inf(1)
	case "-.inf", "-.Inf", "-.INF":
		return math.Inf(-1)
	}
	switch c := s[0]; {
	case c == '.':
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		plain := strings.ReplaceAll(s, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return u
		}
		if yamlFloat.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return f
			}
		}
	}
	return s
}

// json returns v as JSON: mappings become objects, lists arrays, and
// scalars what they resolve to. It is nil, with the field marked bad,
// when any part of v has no JSON form.
func (v value) json() json.RawMessage {
	var buf bytes.Buffer
	errs := len(v.d.errs)
	v.free = true
	v.appendJSON(&buf, map[ast.Node]bool{})
	if len(v.d.errs) > errs {
		v.d.bad[v.path] = true
		return nil
	}
	return buf.Bytes()
}

// appendJSON appends v to buf. active holds the collections being
// converted, to catch an alias inside the collection it names.
func (v value) appendJSON(buf *bytes.Buffer, active map[ast.Node]bool) {
	if active[v.node] {
		v.fail("alias *%s is inside the value it names", v.alias.name)
		return
	}
	switch v.kind {
	case mapping:
		es, ok := v.entries("a mapping")
		if !ok {
			return
		}
		active[v.node] = true
		defer delete(active, v.node)
		buf.WriteByte('{')
		for i, e := range es {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSON(buf, e.key)
			buf.WriteByte(':')
			e.val.appendJSON(buf, active)
		}
		buf.WriteByte('}')
	case sequence:
		items := v.items()
		active[v.node] = true
		defer delete(active, v.node)
		buf.WriteByte('[')
		for i, e := range items {
			if i > 0 {
				buf.WriteByte(',')
			}
			e.appendJSON(buf, active)
		}
		buf.WriteByte(']')
	case null, scalar:
		v.scalarJSON(buf)
	}
}

// scalarJSON appends a scalar as the JSON value it resolves to.
func (v value) scalarJSON(buf *bytes.Buffer) {
	switch r := v.resolve().(type) {
	case value:
		v.fail("%s is not a valid %s", v.describe(), v.tag)
	case float64:
		if math.IsInf(r, 0) || math.IsNaN(r) {
			v.fail("%s has no JSON form", v.describe())
			return
		}
		writeJSON(buf, r)
	default:
		writeJSON(buf, r)
	}
}

// writeJSON appends v, nil, a string, a bool or a finite number, as JSON.
func writeJSON(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("config: " + err.Error()) // callers pass only encodable values
	}
	buf.Write(b)
}

// ident matches keys that field paths show after a dot; others are shown
// quoted in brackets.
var ident = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// join returns the path of key under field.
func join(field, key string) string {
	if !ident.MatchString(key) {
		return field + "[" + strconv.Quote(key) + "]"
	}
	if field == "" {
		return key
	}
	return field + "." + key
}

// index returns the path of element i of the list at field.
func index(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// parent returns the path field is under ("" for a top-level key). A
// bracket or dot inside a quoted key gives a path that names nothing,
// which callers skip over on their way up.
func parent(field string) string {
	i := strings.LastIndexAny(field, ".[")
	if i < 0 {
		return ""
	}
	return field[:i]
}
