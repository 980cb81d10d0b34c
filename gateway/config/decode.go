package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/watchfloor/watchfloor/samplers"
)

// The keys each mapping of the schema allows, in the order the
// documentation gives them (and unknown-key errors list them).
var (
	topKeys     = []string{"listen", "tls", "allow_insecure_http", "probes", "samplers", "entities"}
	tlsKeys     = []string{"cert_file", "key_file"}
	probeKeys   = []string{"name", "token_sha256"}
	samplerKeys = []string{"name", "type", "interval", "params"}
	entityKeys  = []string{"name", "probe", "attributes", "samplers"}
)

// Aliases let a few lines name a tree of billions of nodes ("billion
// laughs"), so the decoder visits at most aliasFactor times the nodes
// written in the file, or minAliasBudget if that is more, before giving
// up. A real configuration that shares attributes and sampler lists
// between its entities stays far below that.
const (
	aliasFactor    = 64
	minAliasBudget = 1 << 16
)

// place is a node's line and column.
type place struct{ line, col int }

func placeOf(n *yaml.Node) place { return place{n.Line, n.Column} }

// decoder walks a YAML node tree against the configuration's schema. It
// collects every error with its place instead of stopping at the first,
// and records where each field was, so that validation, which works on the
// decoded Config, can place its own errors.
type decoder struct {
	file string
	errs Errors
	// places holds the place of every decoded field's node, by field path.
	places map[string]place
	// bad holds the fields whose decoding failed: validation skips them
	// and everything under them rather than report them twice.
	bad map[string]bool
	// visits is how many more nodes the walk may visit; budget is how
	// many it could at first.
	visits, budget int
	// outer is the outermost alias being expanded in params, at field
	// outerField.
	outer      *yaml.Node
	outerField string
}

// errTooLarge stops the walk when aliases expand it past its budget;
// config recovers it.
var errTooLarge = errors.New("too large")

func newDecoder(file string) *decoder {
	return &decoder{file: file, places: map[string]place{}, bad: map[string]bool{}}
}

// fail records an error at n for field and marks the field bad.
func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
	d.bad[field] = true
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

// parse parses data into a node tree and returns its root: nil for an
// empty file. ok is false when the YAML itself is broken; the error is
// then in d.errs.
func (d *decoder) parse(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// yaml.v3 returns its errors; a panic would be a bug in it, and
		// the operator's input must not crash the gateway.
		if r := recover(); r != nil {
			d.errs = append(d.errs, Error{File: d.file, Msg: fmt.Sprintf("YAML parser failed: %v", r)})
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, true
	} else if err != nil {
		d.syntax(err, data)
		return nil, false
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != nil && !errors.Is(err, io.EOF) {
		d.syntax(err, data)
		return nil, false
	} else if err == nil {
		// Carry on with the first document: its errors are worth
		// reporting too.
		d.errs = append(d.errs, Error{File: d.file, Line: next.Line, Column: next.Column,
			Msg: "a second YAML document: the configuration is one document"})
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	root = doc.Content[0]
	d.budget = max(aliasFactor*count(root), minAliasBudget)
	d.visits = d.budget
	return root, true
}

// count returns the number of nodes written in the tree under n, not
// following aliases.
func count(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += count(k)
	}
	return c
}

var (
	syntaxLine    = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// parserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner) errors. For these it gives a 0-based line, one less than the
// line meant (that of the collection or node being parsed, or of the
// problem when that collection starts on the first line), and no line at
// all when it is the first.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntax records a YAML syntax error. yaml.v3 gives most with a line and
// none with a column; for some without a line (bad UTF-8, control
// characters, an unknown alias) the place is found here.
func (d *decoder) syntax(err error, data []byte) {
	msg := err.Error()
	e := Error{File: d.file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	switch {
	case parserProblems[e.Msg]:
		// At the end of the stream this can point past the last line.
		e.Line = min(e.Line+1, lineCount(data))
	case e.Line > 0:
		// A scanner error, placed right.
	case unknownAnchor.MatchString(msg):
		e.Line, e.Column = findAlias(data, unknownAnchor.FindStringSubmatch(msg)[1])
	default:
		e.Line, e.Column = badChar(data)
		if e.Line == 0 {
			// yaml.v3 leaves the line out when it is the first.
			e.Line = 1
		}
	}
	d.errs = append(d.errs, e)
}

// findAlias returns the place of the first *name in data, or zeros.
func findAlias(data []byte, name string) (line, col int) {
	alias := []byte("*" + name)
	for off := 0; ; {
		i := bytes.Index(data[off:], alias)
		if i < 0 {
			return 0, 0
		}
		i += off
		off = i + len(alias)
		// The name must end there: yaml.v3's anchor names are
		// letters, digits, '-' and '_'.
		if off < len(data) && anchorChar(data[off]) {
			continue
		}
		before := data[:i]
		line = 1 + bytes.Count(before, []byte("\n"))
		col = 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
		return line, col
	}
}

func anchorChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// lineCount returns the number of lines in data, at least 1.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) == 0 || data[len(data)-1] != '\n' {
		n++
	}
	return max(n, 1)
}

// badChar returns the place of the first byte in data that YAML does not
// allow in a UTF-8 stream, or zeros when there is none (or the stream is
// UTF-16, which yaml.v3 also reads).
func badChar(data []byte) (line, col int) {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return 0, 0
	}
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 || !printable(r) {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		data = data[size:]
	}
	return 0, 0
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

// visit charges n nodes, met at the node at for field, to the walk's
// budget. The error goes at the outermost alias being expanded in params,
// if any: the alias that names the huge value is the one to fix.
func (d *decoder) visit(at *yaml.Node, field string, n int) {
	d.visits -= n
	if d.visits >= 0 {
		return
	}
	if d.outer != nil {
		at, field = d.outer, d.outerField
	}
	d.errs = append(d.errs, Error{File: d.file, Line: at.Line, Column: at.Column, Field: field,
		Msg: fmt.Sprintf("aliases expand the configuration to more than %d values", d.budget)})
	panic(errTooLarge)
}

// deref returns the node an alias stands for, or n itself.
func deref(n *yaml.Node) *yaml.Node {
	// An alias never points at an alias (an alias has no anchor), but
	// the loop costs nothing and guards against a malformed tree.
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "empty"
		}
		v := n.Value
		if utf8.RuneCountInString(v) > 40 {
			v = string([]rune(v)[:40]) + "…"
		}
		return strconv.Quote(v)
	}
	return "an alias"
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

// config decodes the root node, which may be nil (an empty file).
func (d *decoder) config(root *yaml.Node) (c *Config) {
	c = &Config{File: d.file, Listen: DefaultListen}
	d.places[""] = place{1, 1}
	if root == nil {
		return c
	}
	defer func() {
		if r := recover(); r != nil {
			if r != errTooLarge {
				panic(r)
			}
			d.bad[""] = true // the rest is unchecked; don't judge it
		}
	}()
	d.places[""] = placeOf(root)
	if isNull(root) {
		return c
	}
	m := d.mapping(root, "", topKeys)
	if m == nil {
		return c
	}
	if v := m["listen"]; v != nil && !isNull(v) {
		c.Listen, _ = d.str(v, "listen")
	}
	if v := m["tls"]; v != nil && !isNull(v) {
		// Set even when broken, so validation does not also complain
		// about plain HTTP.
		c.TLS = &TLS{}
		if tm := d.mapping(v, "tls", tlsKeys); tm != nil {
			d.require(tm, v, "tls", tlsKeys...)
			c.TLS.CertFile = d.optStr(tm, "tls", "cert_file")
			c.TLS.KeyFile = d.optStr(tm, "tls", "key_file")
		}
	}
	if v := m["allow_insecure_http"]; v != nil && !isNull(v) {
		c.AllowInsecureHTTP = d.boolean(v, "allow_insecure_http")
	}
	for i, n := range d.list(m["probes"], "probes") {
		c.Probes = append(c.Probes, d.probe(n, index("probes", i)))
	}
	for i, n := range d.list(m["samplers"], "samplers") {
		c.Samplers = append(c.Samplers, d.sampler(n, index("samplers", i)))
	}
	for i, n := range d.list(m["entities"], "entities") {
		c.Entities = append(c.Entities, d.entity(n, index("entities", i)))
	}
	return c
}

func (d *decoder) probe(n *yaml.Node, field string) Probe {
	var p Probe
	if m := d.mapping(n, field, probeKeys); m != nil {
		d.require(m, n, field, probeKeys...)
		p.Name = d.optStr(m, field, "name")
		p.TokenSHA256 = d.optStr(m, field, "token_sha256")
	}
	return p
}

func (d *decoder) sampler(n *yaml.Node, field string) Sampler {
	var s Sampler
	m := d.mapping(n, field, samplerKeys)
	if m == nil {
		return s
	}
	d.require(m, n, field, "name", "type")
	s.Name = d.optStr(m, field, "name")
	s.Type = d.optStr(m, field, "type")
	if v := m["interval"]; v != nil && !isNull(v) {
		f := join(field, "interval")
		if text, ok := d.str(v, f); ok {
			if iv, err := time.ParseDuration(text); err != nil {
				d.fail(v, f, "%q is not a duration (like 500ms, 2s or 1m)", text)
			} else {
				s.Interval = iv
			}
		}
	}
	if s.Interval == 0 {
		s.Interval = samplers.DefaultInterval
	}
	f := join(field, "params")
	if v := m["params"]; v != nil && !isNull(v) {
		s.Params = d.params(v, f)
	} else if _, ok := d.places[f]; !ok {
		// Without params, an error building the sampler from its
		// defaults belongs with the type.
		if p, ok := d.places[join(field, "type")]; ok {
			d.places[f] = p
		}
	}
	return s
}

func (d *decoder) entity(n *yaml.Node, field string) Entity {
	var e Entity
	m := d.mapping(n, field, entityKeys)
	if m == nil {
		return e
	}
	d.require(m, n, field, "name", "probe")
	e.Name = d.optStr(m, field, "name")
	e.Probe = d.optStr(m, field, "probe")
	if v := m["attributes"]; v != nil && !isNull(v) {
		e.Attributes = d.attributes(v, join(field, "attributes"))
	}
	f := join(field, "samplers")
	for i, sn := range d.list(m["samplers"], f) {
		name, _ := d.str(sn, index(f, i))
		e.Samplers = append(e.Samplers, name)
	}
	return e
}

// mapping checks that n is a mapping with only known keys, and returns
// the value nodes by key. It returns nil when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, field string, known []string) map[string]*yaml.Node {
	at, n := n, deref(n)
	d.places[field] = placeOf(at)
	if n.Kind != yaml.MappingNode {
		what := "must be"
		if field == "" {
			what = "the configuration must be"
		}
		d.fail(at, field, "%s a mapping, not %s", what, describe(n))
		return nil
	}
	d.visit(at, field, len(n.Content))
	vals := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, field)
		if !ok {
			continue
		}
		f := join(field, name)
		if first, dup := keys[name]; dup {
			d.duplicate(k, f, first)
			continue
		}
		keys[name] = k
		if !contains(known, name) {
			d.fail(k, f, "unknown key (known: %s)", strings.Join(known, ", "))
			continue
		}
		d.places[f] = placeOf(v)
		vals[name] = v
	}
	return vals
}

// duplicate reports a key given twice in a mapping. The first value
// stands and is judged as usual, so the field is not marked bad.
func (d *decoder) duplicate(k *yaml.Node, field string, first *yaml.Node) {
	d.errs = append(d.errs, Error{File: d.file, Line: k.Line, Column: k.Column, Field: field,
		Msg: fmt.Sprintf("duplicate key (first at line %d)", first.Line)})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// key returns the text of a mapping key under field.
func (d *decoder) key(k *yaml.Node, field string) (string, bool) {
	kn := deref(k)
	switch {
	case kn.Kind != yaml.ScalarNode:
		d.fail(k, field, "keys must be strings, not %s", describe(kn))
		return "", false
	case kn.ShortTag() == "!!merge":
		d.fail(k, join(field, kn.Value), "merge keys (<<) are not supported")
		return "", false
	case !utf8.ValidString(kn.Value):
		d.fail(k, field, "keys must be valid UTF-8")
		return "", false
	}
	return kn.Value, true
}

// require reports the keys missing from m, a mapping decoded from n.
func (d *decoder) require(m map[string]*yaml.Node, n *yaml.Node, field string, keys ...string) {
	for _, k := range keys {
		if _, ok := m[k]; !ok && !d.bad[join(field, k)] {
			d.fail(n, join(field, k), "required")
		}
	}
}

// list returns the elements of the list n, which may be nil (absent) or
// null (empty).
func (d *decoder) list(n *yaml.Node, field string) []*yaml.Node {
	if n == nil || isNull(n) {
		return nil
	}
	at, n := n, deref(n)
	if n.Kind != yaml.SequenceNode {
		d.fail(at, field, "must be a list, not %s", describe(n))
		return nil
	}
	d.visit(at, field, len(n.Content))
	for i, e := range n.Content {
		d.places[index(field, i)] = placeOf(e)
	}
	return n.Content
}

// str returns the text of a scalar. Any scalar is taken as written
// ("007", "1.10", "true" are strings here); null is the empty string.
func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	at, n := n, deref(n)
	d.places[field] = placeOf(at)
	switch {
	case n.Kind != yaml.ScalarNode:
		d.fail(at, field, "must be a string, not %s", describe(n))
		return "", false
	case n.ShortTag() == "!!null":
		return "", true
	case !utf8.ValidString(n.Value):
		d.fail(at, field, "must be valid UTF-8")
		return "", false
	}
	return n.Value, true
}

// optStr returns the string at key in m, or "" when it is absent or null.
func (d *decoder) optStr(m map[string]*yaml.Node, field, key string) string {
	v := m[key]
	if v == nil || isNull(v) {
		return ""
	}
	s, _ := d.str(v, join(field, key))
	return s
}

// boolean returns a YAML boolean: true or false (in any case), not the
// YAML 1.1 yes/no/on/off, which yaml.v3 reads as strings.
func (d *decoder) boolean(n *yaml.Node, field string) bool {
	at, n := n, deref(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.fail(at, field, "must be true or false, not %s", describe(n))
	}
	return b
}

// attributes decodes a mapping of attribute names to values.
func (d *decoder) attributes(n *yaml.Node, field string) map[string]string {
	at, n := n, deref(n)
	d.places[field] = placeOf(at)
	if n.Kind != yaml.MappingNode {
		d.fail(at, field, "must be a mapping of names to values, not %s", describe(n))
		return nil
	}
	d.visit(at, field, len(n.Content))
	attrs := map[string]string{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, field)
		if !ok {
			continue
		}
		f := join(field, name)
		if first, dup := keys[name]; dup {
			d.duplicate(k, f, first)
			continue
		}
		keys[name] = k
		if val, ok := d.str(v, f); ok {
			attrs[name] = val
		}
	}
	if len(attrs) == 0 {
		return nil
	}
	return attrs
}

// params converts a sampler's params, a mapping, to a JSON object.
func (d *decoder) params(n *yaml.Node, field string) json.RawMessage {
	if !isMapping(n) {
		d.fail(n, field, "must be a mapping, not %s", describe(n))
		return nil
	}
	var buf bytes.Buffer
	if !d.json(&buf, n, field, map[*yaml.Node]bool{}) {
		d.bad[field] = true
		return nil
	}
	return buf.Bytes()
}

func isMapping(n *yaml.Node) bool { return deref(n).Kind == yaml.MappingNode }

// json appends n to buf as JSON. active holds the collections being
// converted, to catch an alias inside the collection it names.
func (d *decoder) json(buf *bytes.Buffer, n *yaml.Node, field string, active map[*yaml.Node]bool) bool {
	at, n := n, deref(n)
	if active[n] {
		d.fail(at, field, "alias *%s is inside the value it names", at.Value)
		return false
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		active[n] = true
		defer delete(active, n)
	}
	if at.Kind == yaml.AliasNode && d.outer == nil {
		d.outer, d.outerField = at, field
		defer func() { d.outer = nil }()
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.visit(at, field, len(n.Content))
		ok := true
		keys := map[string]*yaml.Node{}
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, kok := d.key(k, field)
			if !kok {
				ok = false
				continue
			}
			f := join(field, name)
			if first, dup := keys[name]; dup {
				d.fail(k, f, "duplicate key (first at line %d)", first.Line)
				ok = false // JSON has no duplicate keys to pass on
				continue
			}
			if len(keys) > 0 {
				buf.WriteByte(',')
			}
			keys[name] = k
			writeJSON(buf, name)
			buf.WriteByte(':')
			ok = d.json(buf, v, f, active) && ok
		}
		buf.WriteByte('}')
		return ok
	case yaml.SequenceNode:
		d.visit(at, field, len(n.Content))
		ok := true
		buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			ok = d.json(buf, e, index(field, i), active) && ok
		}
		buf.WriteByte(']')
		return ok
	case yaml.ScalarNode:
		return d.scalarJSON(buf, at, n, field)
	}
	d.fail(at, field, "unexpected YAML node")
	return false
}

// scalarJSON appends a scalar as the JSON value its YAML type gives:
// null, a boolean, a number or a string.
func (d *decoder) scalarJSON(buf *bytes.Buffer, at, n *yaml.Node, field string) bool {
	switch tag := n.ShortTag(); tag {
	case "!!null":
		buf.WriteString("null")
		return true
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			d.fail(at, field, "%s is not a valid %s", describe(n), tag)
			return false
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			d.fail(at, field, "%s has no JSON form", describe(n))
			return false
		}
		writeJSON(buf, v)
		return true
	}
	// Strings, and other tags (timestamps, binary) as written.
	if !utf8.ValidString(n.Value) {
		d.fail(at, field, "must be valid UTF-8")
		return false
	}
	writeJSON(buf, n.Value)
	return true
}

// writeJSON appends v, a string, bool or number, as JSON.
func writeJSON(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("config: " + err.Error()) // callers pass only encodable values
	}
	buf.Write(b)
}
