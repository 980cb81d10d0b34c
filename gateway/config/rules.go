package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/rules"
)

// The rules' schema, shared by the configuration's rules key, a rule sent
// to the API (ParseRule) and the inline rules of a rule test file. The keys
// are the JSON names of rules.Def's fields.

// ruleDef decodes one rule. Every key is optional here: rules.Compile
// says what a rule lacks, in words about rules.
func ruleDef(v value) rules.Def {
	var d rules.Def
	v.object(
		optional("name", setStr(&d.Name)),
		optional("description", setStr(&d.Description)),
		optional("match", setText(&d.Match)),
		optional("where", func(v value) { d.Where = where(v) }),
		optional("critical", func(v value) { d.Critical = levelDef(v) }),
		optional("warning", func(v value) { d.Warning = levelDef(v) }),
		optional("stale", func(v value) { d.Stale = new(rules.Duration); setDuration(d.Stale)(v) }),
		optional("rows", func(v value) {
			// Not nil even when empty or broken: rows given make the
			// rule an absence rule, which then needs some.
			d.Rows = append([]string{}, strs(v)...)
		}),
		optional("for", setDuration(&d.For)),
		optional("probe_down", func(v value) { d.ProbeDown = new(rules.Duration); setDuration(d.ProbeDown)(v) }),
		optional("severity", setSeverity(&d.Severity)),
		optional("incident", func(v value) { d.Incident = incidentDef(v) }),
		optional("active", func(v value) {
			d.Active = &rules.ActiveDef{}
			v.object(
				optional("phases", func(v value) { d.Active.Phases = strs(v) }),
				optional("schedules", func(v value) { d.Active.Schedules = strs(v) }),
			)
		}),
		optional("schedule", setStr(&d.Schedule)),
		optional("phases", func(v value) {
			es, _ := v.entries("a mapping of phases (bod, intraday, eod, closed) to their levels")
			d.Phases = map[string]*rules.PhaseLevels{}
			for _, e := range es {
				pl := &rules.PhaseLevels{}
				e.val.object(
					optional("critical", func(v value) { pl.Critical = levelDef(v) }),
					optional("warning", func(v value) { pl.Warning = levelDef(v) }),
				)
				d.Phases[e.key] = pl
			}
		}),
	)
	return d
}

// setSeverity returns a decode function that sets *dst to the value,
// warning or critical.
func setSeverity(dst *rules.Severity) func(value) {
	return func(v value) {
		s, ok := v.str()
		if !ok {
			return
		}
		sev, err := rules.ParseSeverity(s)
		if err != nil || sev == rules.Undefined {
			v.fail("must be warning or critical, not %q", s)
			return
		}
		*dst = sev
	}
}

// incidentDef decodes what a rule says about incidents. It is not nil
// even when broken: the rule is meant to open them.
func incidentDef(v value) *rules.IncidentDef {
	inc := &rules.IncidentDef{}
	v.object(
		optional("open", setSeverity(&inc.Open)),
		optional("client", setStr(&inc.Client)),
		optional("manual", setBool(&inc.Manual)),
		optional("impact", setBool(&inc.Impact)),
		optional("escalation", setStr(&inc.Escalation)),
		optional("notify", func(v value) { inc.Notify = strs(v) }),
		optional("title", setText(&inc.Title)),
	)
	return inc
}

// levelDef decodes one level of a cell rule. It is not nil even when
// broken, so the rule's kind is still known.
func levelDef(v value) *rules.LevelDef {
	l := &rules.LevelDef{}
	v.object(
		optional("when", setText(&l.When)),
		optional("for", setDuration(&l.For)),
		optional("clear", setText(&l.Clear)),
		optional("keep_firing_for", setDuration(&l.KeepFiringFor)),
	)
	return l
}

// where decodes attribute selectors: each attribute's value, or a list of
// values. It is nil when none are given.
func where(v value) map[string]rules.Values {
	es, _ := v.entries("a mapping of attribute names to values")
	var m map[string]rules.Values
	for _, e := range es {
		var vals rules.Values
		switch e.val.kind {
		case sequence:
			vals = strs(e.val)
		case scalar:
			s, _ := e.val.str()
			vals = rules.Values{s}
		default:
			e.val.mustBe("a value or a list of values")
			continue
		}
		if m == nil {
			m = map[string]rules.Values{}
		}
		m[e.key] = vals
	}
	return m
}

// setText is setStr for the text of an expression or a pattern: it keeps
// the value, so that an error inside the text can be placed at its
// character in the file (textPlace).
func setText(dst *string) func(value) {
	return func(v value) {
		s, ok := v.str()
		if !ok {
			return
		}
		*dst = s
		v.d.texts[v.path] = v
	}
}

// setDuration returns a decode function that sets *dst to the value, a
// duration such as "30s".
func setDuration(dst *rules.Duration) func(value) {
	return func(v value) {
		if d, ok := duration(v); ok {
			*dst = rules.Duration(d)
		}
	}
}

// duration decodes a duration such as "500ms", "30s" or "5m".
func duration(v value) (time.Duration, bool) { return durationLike(v, "500ms, 30s or 5m") }

// durationLike decodes a Go duration; like gives examples for the error
// when the value is not one.
func durationLike(v value, like string) (time.Duration, bool) {
	text, ok := v.str()
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		v.fail("%q is not a duration (like %s)", text, like)
		return 0, false
	}
	return d, true
}

// rules compiles the rules of a configuration or a rule test file, at
// field "rules", and records their errors.
func (v *validator) rules(defs []rules.Def) {
	if len(defs) == 0 || v.skipped("rules") {
		return
	}
	_, errs := rules.Compile(defs, nil)
	first := map[string]int{}
	for i, d := range defs {
		if _, ok := first[d.Name]; !ok {
			first[d.Name] = i
		}
	}
	for _, e := range errs {
		prefix := index("rules", e.Rule)
		if j := first[e.Name]; e.Field == "name" && e.Name != "" && j < e.Rule {
			// The one name error Compile gives a rule whose name an
			// earlier one has: said as the other sections say it.
			v.errorf(prefix+".name", "rule %q is already defined (%s)", e.Name, index("rules", j))
			continue
		}
		if e.Field == "incident.title" {
			continue // incidentTitle places it at its line
		}
		v.ruleError(prefix, e)
	}
	for i, d := range defs {
		v.incidentTitle(index("rules", i), d)
	}
}

// incidentTitle checks a rule's incident title as rules.Compile does,
// placing an error at its line, and also that it runs: against a signal
// with nothing in it but the rule's name and incident settings, so that a
// misspelt field is found now rather than giving every incident the
// fallback title. prefix is the rule's field, "" when the rule is the
// whole document.
func (v *validator) incidentTitle(prefix string, d rules.Def) {
	if d.Incident == nil || d.Incident.Title == "" {
		return
	}
	if err := runTemplate("title", d.Incident.Title, incident.Signal{Rule: d.Name, Open: d.Incident}); err != nil {
		v.templateError(ruleField(prefix, "incident.title"), d.Incident.Title, err)
	}
}

// ruleError records a rule's error, for the rule at field prefix (""
// when the rule is the whole document). An error inside an expression or
// a pattern is placed at its character when the text can be followed
// there in the file, and at the start of the value otherwise, with the
// place inside the text in the message.
func (v *validator) ruleError(prefix string, e *rules.Error) {
	field := ruleField(prefix, e.Field)
	if v.skipped(field) {
		return
	}
	err := Error{File: v.file, Field: field, Msg: e.Msg}
	if v.place != nil {
		err.Line, err.Column = v.place(field)
	}
	if e.Line > 0 {
		exact := false
		if v.text != nil {
			if line, col, ok := v.text(field, e.Line, e.Col); ok {
				err.Line, err.Column, exact = line, col, true
			}
		}
		if !exact {
			err.Msg = fmt.Sprintf("%s (at %d:%d in the value)", e.Msg, e.Line, e.Col)
		}
	}
	v.errs = append(v.errs, err)
}

// ruleField turns the field of a rules.Error, a path inside its rule
// ("critical.when", "where.system", "rows[2]", "" for the whole rule),
// into a field path of the document, under prefix.
func ruleField(prefix, f string) string {
	switch {
	case f == "":
		return prefix
	case strings.HasPrefix(f, "where."):
		// An attribute's name may be any text: shown as keys are.
		return join(join(prefix, "where"), strings.TrimPrefix(f, "where."))
	case prefix == "":
		return f
	case strings.HasPrefix(f, "["):
		return prefix + f
	}
	return prefix + "." + f
}

// ParseRule parses one rule, a YAML document (or JSON, which is YAML),
// and checks it on its own as rules.CompileOne does. file is used in error
// messages. Errors are placed as Parse places them, with field paths
// inside the rule ("critical.when"); it returns them as Errors.
func ParseRule(file string, data []byte) (rules.Def, error) {
	return ParseRuleAs(file, data, "")
}

// ParseRuleAs is ParseRule for a rule whose name is known already (the
// API's PUT /api/v1/rules/{name}): a document that names none is given
// name.
func ParseRuleAs(file string, data []byte, name string) (rules.Def, error) {
	d := newDecoder(file, "the rule")
	root, ok := d.parse(data)
	if !ok {
		return rules.Def{}, d.errs.err()
	}
	def := ruleDef(root)
	if def.Name == "" {
		def.Name = name
	}
	v := &validator{file: file, place: d.place, skip: d.skip, text: d.textPlace}
	if !v.skipped("") {
		_, errs := rules.CompileOne(def)
		for _, e := range errs {
			if e.Field != "incident.title" { // incidentTitle places it at its line
				v.ruleError("", e)
			}
		}
		v.incidentTitle("", def)
	}
	if err := append(d.errs, v.errs...).err(); err != nil {
		return rules.Def{}, err
	}
	return def, nil
}

// textPlace returns where in the file the character at line and col
// (from 1) of field's text is, for a field decoded by setText. ok is false
// when the text cannot be followed there exactly (see charPlace).
func (d *decoder) textPlace(field string, line, col int) (fline, fcol int, ok bool) {
	v, found := d.texts[field]
	if !found {
		return 0, 0, false
	}
	p, ok := v.charPlace(line, col)
	return p.line, p.col, ok
}

// charPlace follows a scalar's text, character by character, to where the
// character at line and col of the text is written in the file. It does
// so where the text is the file's characters as they stand: a plain
// scalar, a single-quoted one (a doubled quote is one) or a double-quoted one up
// to its first escape, on one line; and a literal block scalar (|), each
// line of the text one line of the file below the indicator, after its
// indentation. Elsewhere the text is not the file's characters: a plain
// or quoted scalar folded over lines, a double-quoted one after an escape
// (\t, \u00e9), a folded block scalar (>), or a value written as an alias
// of another; ok is then false and the caller places the error at the
// value's start. col may be one past the end of its line (an expression
// that ends too soon).
func (v value) charPlace(line, col int) (place, bool) {
	if v.alias != nil || v.outer != nil {
		return place{}, false
	}
	text := []rune(v.text())
	off, ok := runeOffset(text, line, col)
	if !ok {
		return place{}, false
	}
	switch n := v.node.(type) {
	case *ast.StringNode:
		tk := n.GetToken()
		start := tokenPlace(tk)
		switch tk.Type {
		case token.StringType:
			return v.d.follow(text[:off], start, 0)
		case token.SingleQuoteType:
			return v.d.follow(text[:off], place{start.line, start.col + 1}, '\'')
		case token.DoubleQuoteType:
			return v.d.follow(text[:off], place{start.line, start.col + 1}, '"')
		}
	case *ast.LiteralNode:
		if n.Start.Type != token.LiteralType {
			return place{}, false
		}
		lines := strings.Split(string(text), "\n")
		want := []rune(lines[line-1])
		fileLine := n.Start.Position.Line + line
		if fileLine > len(v.d.lines) {
			return place{}, false
		}
		start := v.d.lines[fileLine-1]
		got := []rune(v.d.src[start:lineEnd(v.d.src, start)])
		indent := len(got) - len(want)
		if indent < 0 || string(got[indent:]) != string(want) || strings.Trim(string(got[:indent]), " ") != "" {
			return place{}, false
		}
		return place{fileLine, indent + col}, true
	}
	return place{}, false
}

// follow walks the file from at, on one line, over the characters of
// text, and returns the place after them. quote is the scalar's quote, or
// 0 for a plain scalar. ok is false when the file's characters are not
// text's: the line ends, an escape or a quote intervenes.
func (d *decoder) follow(text []rune, at place, quote rune) (place, bool) {
	if at.line > len(d.lines) {
		return place{}, false
	}
	start := d.lines[at.line-1]
	src := []rune(d.src[start:lineEnd(d.src, start)])
	j := at.col - 1
	for _, r := range text {
		switch {
		case j >= len(src):
			return place{}, false
		case quote == '\'' && r == '\'' && j+1 < len(src) && src[j] == '\'' && src[j+1] == '\'':
			j += 2
		case quote != 0 && (src[j] == quote || src[j] == '\\' && quote == '"'):
			return place{}, false
		case src[j] != r:
			return place{}, false
		default:
			j++
		}
	}
	return place{at.line, j + 1}, true
}

// runeOffset returns the offset, in runes, of line and col (from 1) in
// text, as rules counts them: lines end at "\n". col may be one past the
// end of its line.
func runeOffset(text []rune, line, col int) (int, bool) {
	l, c := 1, 1
	for i, r := range text {
		if l == line && c == col {
			return i, true
		}
		if r == '\n' {
			if l == line {
				return 0, false // col is past the end of its line
			}
			l, c = l+1, 1
		} else {
			c++
		}
	}
	return len(text), l == line && c == col
}
