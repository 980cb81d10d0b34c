package rules

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// cellSegs turns a cell path in its encoding into the segments matching
// sees.
func cellSegs(t testing.TB, path string) []seg {
	t.Helper()
	c := cellInfo(t, path, nil)
	return []seg{{name: c.Path.Probe}, {name: c.Path.Entity}, {name: c.Path.Sampler}, {name: c.Path.Dataview},
		{name: c.Row, headline: c.Headline}, {name: c.Column}}
}

func TestPatternMatch(t *testing.T) {
	const util = "lon1/web1/cpu/cpu/total/utilisation"
	cases := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"*/*/cpu/cpu/*/utilisation", util, true},
		{"*/*/cpu/cpu/*/utilisation", "lon1/web1/memory/memory/total/used", false},
		{"*/*/cpu/cpu/*", util, false}, // five segments, not six
		{"lon1/web1/cpu/cpu/total/utilisation", util, true},
		{"lon1/web1/cpu/cpu/total/Utilisation", util, false}, // names are case-sensitive

		// ** at the start, in the middle, at the end, and for nothing.
		{"**", util, true},
		{"**/utilisation", util, true},
		{"**/idle", util, false},
		{"lon1/**", util, true},
		{"lon2/**", util, false},
		{"lon1/**/utilisation", util, true},
		{"lon1/**/total/utilisation", util, true},
		{"**/cpu/**", util, true},
		{"**/web1/*/*/total/**", util, true},
		{"lon1/web1/cpu/cpu/total/utilisation/**", util, true},
		{"**/lon1/web1/cpu/cpu/total/utilisation", util, true},
		{"lon1/web1/cpu/**/cpu/total/utilisation", util, true},
		{"lon1/**/**/utilisation", util, true},
		{"**/cpu/cpu/cpu/**", util, false},

		// Globs inside a segment.
		{"*/*/disk/disk-*/*/used", "p/e/disk/disk-sda/total/used", true},
		{"*/*/disk/disk-*/*/used", "p/e/disk/disk-/total/used", true},
		{"*/*/disk/disk-*/*/used", "p/e/disk/disk/total/used", false},
		{"*/*/fix/*-feed/*/*", "p/e/fix/lse-feed/s/c", true},
		{"*/*/fix/*-feed/*/*", "p/e/fix/feed/s/c", false},
		{"*/*/fix/*-feed/*/*", "p/e/fix/lse-feed2/s/c", false},
		{"*/*/*/a*b*c/*/*", "p/e/s/abc/r/c", true},
		{"*/*/*/a*b*c/*/*", "p/e/s/aXbYc/r/c", true},
		{"*/*/*/a*b*c/*/*", "p/e/s/abbc/r/c", true},
		{"*/*/*/a*b*c/*/*", "p/e/s/acb/r/c", false},
		{"*/*/*/a*b*c/*/*", "p/e/s/ab/r/c", false},
		{"*/*/*/a*b*c/*/*", "p/e/s/abcX/r/c", false},
		{"*/*/*/*.*/*/*", "p/e/s/app.log/r/c", true},
		{"*/*/*/*.*/*/*", "p/e/s/applog/r/c", false},
		{"*/*/*/a**b/*/*", "p/e/s/aXb/r/c", true}, // "**" inside a segment is a glob

		// Percent-encoded segments: a mount point, a log path, a literal star.
		{"*/*/disk/mounts/%2Fvar%2Flog/used", "p/db1/disk/mounts/%2Fvar%2Flog/used", true},
		{"*/*/disk/mounts/%2Fvar%2Flog/used", "p/db1/disk/mounts/%2Fvar/used", false},
		{"*/*/disk/mounts/%2Fvar*/used", "p/db1/disk/mounts/%2Fvar%2Flog/used", true},
		{"*/*/disk/mounts/%2Fvar*/used", "p/db1/disk/mounts/%2Fhome/used", false},
		{"*/*/logs/%2Fvar%2Flog%2F*.log/*/lines", "p/e/logs/%2Fvar%2Flog%2Fapp.log/r/lines", true},
		{"*/*/logs/%2Fvar%2Flog%2F*.log/*/lines", "p/e/logs/%2Fvar%2Flog%2Fapp.txt/r/lines", false},
		{"*/*/s/d/%2A/c", "p/e/s/d/%2A/c", true},
		{"*/*/s/d/%2A/c", "p/e/s/d/x/c", false},
		{"*/*/s/d/a%2Ab/c", "p/e/s/d/a%2Ab/c", true},
		{"*/*/s/d/a%2Ab/c", "p/e/s/d/aXb/c", false},
		{"*/*/s/d/%2A*/c", "p/e/s/d/%2Afoo/c", true},
		{"*/*/s/d/%2A*/c", "p/e/s/d/foo/c", false},
		{"*/*/s/%2E%2E/*/c", "p/e/s/%2E%2E/r/c", true},

		// The headline row: "#" only headlines, "%23" only a row named
		// "#", "*" and "**" both; a glob never a headline.
		{"*/*/s/d/#/status", "p/e/s/d/#/status", true},
		{"*/*/s/d/#/status", "p/e/s/d/%23/status", false},
		{"*/*/s/d/#/status", "p/e/s/d/total/status", false},
		{"*/*/s/d/%23/status", "p/e/s/d/%23/status", true},
		{"*/*/s/d/%23/status", "p/e/s/d/#/status", false},
		{"*/*/s/d/*/status", "p/e/s/d/#/status", true},
		{"*/*/s/d/*/status", "p/e/s/d/total/status", true},
		{"**/status", "p/e/s/d/#/status", true},
		{"*/*/s/d/*%23*/status", "p/e/s/d/#/status", false},
		{"*/*/s/d/***/status", "p/e/s/d/#/status", false},
		{"*/*/s/d/***/status", "p/e/s/d/x/status", true},
		{"*/*/s/d/*%23*/status", "p/e/s/d/a%23b/status", true},
		{"*/*/s/d/#/*", "p/e/s/d/#/%23", true},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.pattern)
		if err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		if p.String() != c.pattern {
			t.Errorf("String() = %q, want %q", p.String(), c.pattern)
		}
		if got := p.match(cellSegs(t, c.path)); got != c.want {
			t.Errorf("%s on %s: %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

func TestParsePatternErrors(t *testing.T) {
	cases := []struct {
		pattern string
		col     int // 0: no place
		msg     string
	}{
		{"", 0, "empty"},
		{strings.Repeat("a", maxPattern+1), 0, "over the limit"},
		{"a//b", 3, "empty segment"},
		{"/a", 1, "empty segment"},
		{"a/", 2, "empty segment"},
		{"a/b c/d", 3, `byte ' '`},
		{"abc/def/g h", 9, `byte ' '`},
		{"a/%zz", 3, "bad escape"},
		{"a/b%2", 3, "truncated escape"},
		{"a/%41", 3, "must appear as itself"},
		{"a/./b", 3, "dot segment"},
		{"a/../b", 3, "dot segment"},
		{"a/x*y z", 3, `byte ' '`},
		{"a/é", 3, "must be percent-encoded"},
		{"a/%2f", 3, "bad escape"},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.pattern)
		if err == nil {
			t.Errorf("%q: parsed as %v, want an error", c.pattern, p)
			continue
		}
		wantLine := 0
		if c.col != 0 {
			wantLine = 1
		}
		if err.Line != wantLine || err.Col != c.col || !strings.Contains(err.Msg, c.msg) {
			t.Errorf("%q: %d:%d %q, want %d:%d and %q", c.pattern, err.Line, err.Col, err.Msg, wantLine, c.col, c.msg)
		}
	}
}

func TestPatternManyDoubleStars(t *testing.T) {
	// Consecutive "**" are one: matching a pattern of hundreds of them
	// against a path it cannot match ends at once instead of trying every
	// way to share six segments among them (about 10^12 ways here; a
	// regression shows as this test hanging until go test's timeout).
	s := strings.Repeat("**/", 339) + "nosuch"
	p, err := ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.match(cellSegs(t, "a/b/c/d/e/f")) {
		t.Fatal("matched")
	}
	if !p.match(cellSegs(t, "a/b/c/d/e/nosuch")) {
		t.Fatal("did not match")
	}
	if len(p.elems) != 2 {
		t.Fatalf("%d elements, want 2 (** and nosuch)", len(p.elems))
	}
}

// patternGen draws patterns and paths from a small alphabet, so that they
// often match.
type patternGen struct {
	r *rand.Rand
}

var (
	genNames  = []string{"a", "b", "ab", "abc", "b-c"}
	genGlobs  = []string{"a*", "*b", "a*c", "*b*", "b-*", "***"}
	genFixedN = 6
)

// elem returns one pattern segment; row says it is at the row position,
// where "#" and "%23" may be drawn.
func (g patternGen) elem(row bool) string {
	switch n := g.r.IntN(20); {
	case n < 8:
		return genNames[g.r.IntN(len(genNames))]
	case n < 11:
		return "*"
	case n < 14:
		return "**"
	case n < 17:
		return genGlobs[g.r.IntN(len(genGlobs))]
	case n < 19 && row:
		return "#"
	case row:
		return "%23"
	}
	return "*"
}

// pattern returns a pattern of about n segments.
func (g patternGen) pattern(n int) string {
	k := 1 + g.r.IntN(n+2)
	parts := make([]string, k)
	for i := range parts {
		parts[i] = g.elem(n == genFixedN && i == 4)
	}
	return strings.Join(parts, "/")
}

// path returns n segments, the fifth (of six) sometimes the headline row.
func (g patternGen) path(n int) []seg {
	segs := make([]seg, n)
	for i := range segs {
		segs[i].name = genNames[g.r.IntN(len(genNames))]
		if n == genFixedN && i == 4 {
			switch g.r.IntN(5) {
			case 0:
				segs[i] = seg{headline: true}
			case 1:
				segs[i].name = "#"
			}
		}
	}
	return segs
}

// oracle matches pattern text against segs through a regular expression
// built from the text: each segment is written followed by "/", so "**"
// is "any number of segments", and the headline row is written "\x00",
// which no name in the alphabet holds.
func oracle(t *testing.T, pattern string, segs []seg) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, e := range strings.Split(pattern, "/") {
		switch {
		case e == "**":
			re.WriteString(`(?:[^/]+/)*`)
		case e == "*":
			re.WriteString(`[^/]+/`)
		case e == "#":
			re.WriteString(`\x00/`)
		case e == "%23":
			re.WriteString(`#/`)
		case strings.Contains(e, "*"):
			parts := strings.Split(e, "*")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			re.WriteString(strings.Join(parts, `[^/\x00]*`) + "/")
		default:
			re.WriteString(regexp.QuoteMeta(e) + "/")
		}
	}
	re.WriteString("$")
	var path strings.Builder
	for _, s := range segs {
		if s.headline {
			path.WriteString("\x00/")
		} else {
			path.WriteString(s.name + "/")
		}
	}
	return regexp.MustCompile(re.String()).MatchString(path.String())
}

func TestPatternMatchesLikeARegexp(t *testing.T) {
	g := patternGen{rand.New(rand.NewPCG(1, 2))}
	matched := 0
	for range 20000 {
		n := []int{1, 4, 6}[g.r.IntN(3)]
		text := g.pattern(n)
		p, err := ParsePattern(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		segs := g.path(n)
		got, want := p.match(segs), oracle(t, text, segs)
		if got != want {
			t.Fatalf("%s on %+v: %v, the regexp says %v", text, segs, got, want)
		}
		if got {
			matched++
		}
	}
	// The alphabet is small so that matches are common: a generator that
	// never matched would prove nothing.
	if matched < 1000 {
		t.Fatalf("only %d of 20000 matched", matched)
	}
}

// A "#" where a path of its kind has no row could never match: it is
// refused, at its column.
func TestMisplacedHeadlineRefused(t *testing.T) {
	for _, c := range []struct {
		match string
		kind  Kind
		col   int // 0: accepted
	}{
		{"*/*/cpu/cpu/#/load1", CellRule, 0},
		{"**/#/load1", CellRule, 0},
		{"*/**/#/*", CellRule, 0},
		{"**/#/**", CellRule, 0},
		{"*/*/cpu/#/x/y", CellRule, 9},
		{"**/#", CellRule, 4},
		{"#/*/cpu/cpu/x/y", CellRule, 1},
	} {
		p, perr := ParsePattern(c.match)
		if perr != nil {
			t.Fatalf("%s: %v", c.match, perr)
		}
		col, bad := p.misplacedHeadline(c.kind)
		if c.col == 0 && bad || c.col != 0 && (!bad || col != c.col) {
			t.Errorf("%s: misplaced %v at %d, want column %d (0: accepted)", c.match, bad, col, c.col)
		}
	}
	_, errs := Compile([]Def{{Name: "x", Match: "p/e/s/#", Stale: durationOf(10), Severity: Critical}}, nil)
	if len(errs) != 1 || errs[0].Field != "match" || errs[0].Col != 7 {
		t.Fatalf("a dataview pattern with #: %v", errs)
	}
}

func durationOf(seconds int) *Duration {
	d := Duration(int64(seconds) * 1e9)
	return &d
}

// Collapsed "**/**" keep the columns of what follows them.
func TestMisplacedHeadlineColumnAfterCollapsedAny(t *testing.T) {
	p, perr := ParsePattern("**/**/#")
	if perr != nil {
		t.Fatal(perr)
	}
	if col, bad := p.misplacedHeadline(CellRule); !bad || col != 7 {
		t.Fatalf("misplaced %v at %d, want column 7", bad, col)
	}
}
