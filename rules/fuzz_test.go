package rules

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/watchfloor/watchfloor/samplers"
)

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"*/*/cpu/cpu/*/utilisation", "**", "**/#/status", "a/**/b/**", "*/*/disk/disk-*/*/used",
		"*/*/disk/mounts/%2Fvar%2Flog/used", "*/*/s/d/%2A/c", "*/*/s/d/%23/c", "a*b*c", "*.*", "a//b", "a/", "%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			if p != nil {
				t.Fatal("a pattern and an error")
			}
			if err.Line == 0 {
				if err.Col != 0 {
					t.Fatalf("column %d without a line", err.Col)
				}
				return
			}
			// The column is the start of the segment at fault: the
			// first byte or one after a slash, or the last slash for
			// an empty last segment.
			c := err.Col
			if err.Line != 1 || c < 1 || c > len(s) {
				t.Fatalf("%q: error at %d:%d, outside the pattern", s, err.Line, c)
			}
			if c > 1 && s[c-2] != '/' && !(c == len(s) && s[c-1] == '/') {
				t.Fatalf("%q: column %d is not the start of a segment", s, c)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("String() %q", p.String())
		}

		// The path the pattern spells, each wildcard taken at its
		// narrowest ("*" one segment "x", a glob's stars empty, "**" no
		// segments), matches it; one more segment matches where a "**"
		// is, and nowhere in a pattern without one.
		var path []seg
		open := -1
		for _, e := range p.elems {
			switch e.kind {
			case elemLiteral:
				path = append(path, seg{name: e.name})
			case elemStar:
				path = append(path, seg{name: "x"})
			case elemGlob:
				path = append(path, seg{name: strings.Join(e.parts, "")})
			case elemHeadline:
				path = append(path, seg{headline: true})
			case elemAny:
				if open < 0 {
					open = len(path)
				}
			}
		}
		if !p.match(path) {
			t.Fatalf("%q does not match the path it spells, %+v", s, path)
		}
		longer := append([]seg{}, path...)
		if open >= 0 {
			longer = append(longer[:open], append([]seg{{name: "x"}}, longer[open:]...)...)
		} else {
			longer = append(longer, seg{name: "x"})
		}
		if got := p.match(longer); got != (open >= 0) {
			t.Fatalf("%q with one more segment %+v: %v", s, longer, got)
		}
		if !p.fits(len(path)) {
			t.Fatalf("%q does not fit the %d segments it spells", s, len(path))
		}

		// Wherever the index may file the pattern is a literal of every
		// path it matches.
		for _, k := range p.indexKeys() {
			i := k.pos
			if k.fromEnd {
				i = len(path) - 1 - k.pos
			}
			if i < 0 || i >= len(path) || path[i].headline || path[i].name != k.name {
				t.Fatalf("%q may be filed under %+v, which its path %+v does not have", s, k, path)
			}
		}
	})
}

// textOf returns the text of the field an error names in d, for the
// fields FuzzCompile fuzzes.
func textOf(d *Def, field string) (string, bool) {
	switch field {
	case "match":
		return d.Match, true
	case "critical.when":
		return d.Critical.When, true
	case "critical.clear":
		return d.Critical.Clear, true
	case "warning.when":
		return d.Warning.When, true
	}
	return "", false
}

// inside reports whether line and col (from 1) name a character of text.
func inside(text string, line, col int) bool {
	lines := strings.SplitAfter(text, "\n")
	if line < 1 || line > len(lines) || col < 1 {
		return false
	}
	return col <= utf8.RuneCountInString(lines[line-1])
}

func FuzzCompile(f *testing.F) {
	f.Add("value > 90", "value < 80", "*/*/cpu/cpu/*/utilisation")
	f.Add("value >", "", "**")
	f.Add("value > 1 and\n  vlaue < 2", "text matches \"(\"", "a/**")
	f.Add(`text matches "(" + "a"`, "let x = 1; x > 0", "*/*/*/*/#/x")
	f.Add(`"déjà" == text`, "any(values(row), # > 1)", "a//b")
	f.Fuzz(func(t *testing.T, when, clear, match string) {
		d := Def{Name: "f", Match: match,
			Critical: &LevelDef{When: when, Clear: clear, For: Duration(time.Second)},
			Warning:  &LevelDef{When: when}}
		s, errs := Compile([]Def{d}, nil)
		if (s == nil) == (errs == nil) {
			t.Fatalf("set %v and errors %v", s, errs)
		}
		for _, e := range errs {
			if e.Field == "" || e.Name != "f" || e.Rule != 0 {
				t.Fatalf("error without its place: %+v", *e)
			}
			if e.Msg == "" || strings.Contains(e.Msg, "\n") {
				t.Fatalf("message %q", e.Msg)
			}
			if e.Line == 0 && e.Col == 0 {
				continue
			}
			text, ok := textOf(&d, e.Field)
			if !ok {
				t.Fatalf("a position in field %s, which has no text: %+v", e.Field, *e)
			}
			if !inside(text, e.Line, e.Col) {
				t.Fatalf("%s %q: error at %d:%d, outside the text: %s", e.Field, text, e.Line, e.Col, e.Msg)
			}
		}
	})
}

func FuzzJudge(f *testing.F) {
	f.Add("value > 90", "95", "50", int64(10))
	f.Add(`text matches "^ERR" or previous != value`, "ERR 1", "OK", int64(1))
	f.Add("rate > 1 and age < 60", "100", "200", int64(5))
	f.Add("row.instances < row.expected", "2", "n/a", int64(0))
	f.Add(`headlines.status == "DOWN" || attrs.system == "OMS"`, "", "DOWN", int64(-3))
	f.Add("$env.age > 1", "1", "1", int64(100))
	f.Fuzz(func(t *testing.T, when, v1, v2 string, dt int64) {
		r, errs := CompileOne(Def{Name: "f", Match: "**",
			Critical: &LevelDef{When: when, For: Duration(5 * time.Second), KeepFiringFor: Duration(time.Second)},
			Warning:  &LevelDef{When: when, Clear: "!(" + when + ")"}})
		if errs != nil {
			// The clear is the when negated; if that does not compile
			// (a when ending in a comment), try without it.
			if r, errs = CompileOne(Def{Name: "f", Match: "**", Critical: &LevelDef{When: when}}); errs != nil {
				return
			}
		}
		// Two evaluators judging the same history must agree: nothing of
		// one cell's judgement may leak into another's.
		var got [2][]Verdict
		for run := range got {
			e := NewEvaluator()
			failed := false
			e.OnError = func(*Rule, error) { failed = true }
			var cs CellState
			cs.Bind([]*Rule{r})
			heads := cells{{"status", samplers.Text(v2)}}
			attrs := map[string]string{"system": v1}
			now, changed := int64(1_700_000_000)*sec, int64(1_700_000_000)*sec
			prev := samplers.Text(v1)
			for i, raw := range []string{v1, v2, v2, v1} {
				v := samplers.Text(raw)
				if i > 0 && v.Raw != prev.Raw {
					cs.Changing(prev, changed)
					changed = now
				}
				prev = v
				failed = false
				verdict := e.Judge(&cs, &Input{Now: now, Value: v, Changed: changed,
					Row: cells{{"instances", samplers.Text(v1)}, {"expected", v}}, Headlines: heads, Attrs: attrs})
				if verdict.Severity == Undefined && !failed || verdict.Severity != Undefined && verdict.Rule != r {
					t.Fatalf("%q: verdict %+v, OnError called %v", when, verdict, failed)
				}
				got[run] = append(got[run], verdict)
				now += dt * sec
			}
		}
		for i := range got[0] {
			if got[0][i] != got[1][i] {
				t.Fatalf("%q: two evaluators disagree at step %d: %+v and %+v", when, i, got[0][i], got[1][i])
			}
		}
	})
}
