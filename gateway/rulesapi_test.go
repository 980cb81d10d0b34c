package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
)

// configRules is the rules section the rules API tests' configuration
// files carry: one rule, read-only through the API.
const configRules = `rules:
  - name: cfg-cpu
    match: "*/*/cpu/cpu/total/utilisation"
    critical:
      when: value > 99
`

// openStore opens a store file, closed when t ends.
func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore(t, st) })
	return st
}

// closeStore closes st (again, harmlessly) and waits for buntdb's
// background goroutine to notice, on its next one-second tick, so that
// the leak check at the end of the tests finds none.
func closeStore(t *testing.T, st *store.Store) {
	t.Helper()
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("close store: %v", err)
	}
	gt.Eventually(t, "buntdb's background goroutine to end", func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "buntdb.(*DB).backgroundManager")
	})
}

// authors are the back-line engineers who author rules in these tests;
// call sends a request as the one the X-Test-Caller header names
// (tester by default).
var authors = []gt.User{
	{Name: "tester", Roles: []string{"engineer"}}, {Name: "alice", Roles: []string{"engineer"}},
	{Name: "bob", Roles: []string{"engineer"}}, {Name: "carol", Roles: []string{"engineer"}},
}

// startRules runs a gateway with the store, probes p, the rules of
// configRules and the authors.
func startRules(t *testing.T, st *store.Store, probes ...gt.Probe) *gt.Gateway {
	t.Helper()
	ln := gt.Listen(t)
	cfg, err := config.Parse("test.yaml", []byte(gt.Entities(ln.Addr().String(), probes...)+gt.Users(append(authors, gt.Admin)...)+configRules))
	if err != nil {
		t.Fatal(err)
	}
	return gt.Start(t, gateway.Options{Config: cfg, Listener: ln, Store: st})
}

// sessions holds each test gateway's authors' sessions, by gateway and
// name (not by URL: a later test's gateway may get the same port).
var sessions sync.Map

type sessionKey struct {
	gw   *gt.Gateway
	name string
}

// sessionOf returns a session of the named author on gw.
func sessionOf(t *testing.T, gw *gt.Gateway, name string) *gt.Session {
	t.Helper()
	key := sessionKey{gw, name}
	if s, ok := sessions.Load(key); ok {
		return s.(*gt.Session)
	}
	s := gt.Login(t, gw.URL(), name)
	sessions.Store(key, s)
	return s
}

type reply struct {
	code int
	body []byte
	hdr  http.Header
}

// decode decodes the reply's JSON body into v.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// call makes one request; hdr are header names and values.
func call(t *testing.T, gw *gt.Gateway, method, path, ctype, body string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, gw.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	caller := "tester"
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "X-Test-Caller" {
			caller = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := sessionOf(t, gw, caller).Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, b, resp.Header}
}

// want fails the test unless the reply has the status code.
func (r reply) want(t *testing.T, code int) reply {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	return r
}

const jsonType = "application/json"

type ruleReply struct {
	Name      string    `json:"name"`
	Source    string    `json:"source"`
	ReadOnly  bool      `json:"readOnly"`
	Def       rules.Def `json:"def"`
	Version   int       `json:"version"`
	UpdatedBy string    `json:"updatedBy"`
	UpdatedAt string    `json:"updatedAt"`
}

type errorsReply struct {
	Valid  bool `json:"valid"`
	Errors []struct {
		Field   string `json:"field"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Message string `json:"message"`
	} `json:"errors"`
}

// storeState is what a store holds of the named rules, to compare before
// and after a refused write.
func storeState(t *testing.T, st *store.Store, names ...string) string {
	t.Helper()
	defs, err := st.Rules()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"rules": defs}
	for _, n := range names {
		h, err := st.History(n)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		out[n] = h
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func TestRulesAPILifecycle(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "watchfloor.db"))
	gw := startRules(t, st)
	rulesInForce := func() float64 { t.Helper(); return metric(t, gw, "watchfloor_rules") }

	var list []ruleReply
	call(t, gw, "GET", "/api/v1/rules", "", "").want(t, 200).decode(t, &list)
	if len(list) != 1 || list[0].Name != "cfg-cpu" || list[0].Source != "config" || !list[0].ReadOnly {
		t.Fatalf("rules at start = %+v, want cfg-cpu from the config, read-only", list)
	}

	// Create.
	v1 := `{"name": "cpu-high", "match": "*/*/cpu/cpu/*/utilisation", "critical": {"when": "value > 90"}}`
	r := call(t, gw, "POST", "/api/v1/rules", jsonType, v1, "X-Test-Caller", "alice").want(t, 201)
	var created store.RuleVersion
	r.decode(t, &created)
	if created.Name != "cpu-high" || created.Version != 1 || created.Action != store.Create || created.Author != "alice" ||
		created.Def.Critical == nil || created.Def.Critical.When != "value > 90" {
		t.Errorf("created = %+v", created)
	}
	if loc := r.hdr.Get("Location"); loc != "/api/v1/rules/cpu-high" {
		t.Errorf("Location = %q", loc)
	}
	if n := rulesInForce(); n != 2 {
		t.Errorf("%v rules in force after a create, want 2", n)
	}
	call(t, gw, "POST", "/api/v1/rules", jsonType, v1).want(t, 409)

	var got ruleReply
	r = call(t, gw, "GET", "/api/v1/rules/cpu-high", "", "").want(t, 200)
	r.decode(t, &got)
	if got.Source != "api" || got.ReadOnly || got.Version != 1 || got.UpdatedBy != "alice" || got.UpdatedAt == "" ||
		!reflect.DeepEqual(got.Def, created.Def) || r.hdr.Get("ETag") != `"1"` {
		t.Errorf("GET = %+v (ETag %s)", got, r.hdr.Get("ETag"))
	}
	call(t, gw, "GET", "/api/v1/rules", "", "").want(t, 200).decode(t, &list)
	if len(list) != 2 || list[0].Name != "cfg-cpu" || list[1].Name != "cpu-high" || list[1].Version != 1 {
		t.Errorf("rules = %+v, want cfg-cpu, cpu-high", list)
	}

	// Update, as the version it read.
	v2 := `{"match": "*/*/cpu/cpu/*/utilisation", "critical": {"when": "value > 95"}, "warning": {"when": "value > 80"}}`
	var updated store.RuleVersion
	call(t, gw, "PUT", "/api/v1/rules/cpu-high", jsonType, v2, "If-Match", `"1"`, "X-Test-Caller", "bob").want(t, 200).decode(t, &updated)
	if updated.Version != 2 || updated.Author != "bob" || updated.Change != "critical.when: value > 90 → value > 95; warning added" {
		t.Errorf("updated = %+v", updated)
	}
	before := storeState(t, st, "cpu-high", "other")
	call(t, gw, "PUT", "/api/v1/rules/cpu-high", jsonType, v1, "If-Match", "1").want(t, 409)
	call(t, gw, "DELETE", "/api/v1/rules/cpu-high", "", "", "If-Match", "1").want(t, 409)
	call(t, gw, "PUT", "/api/v1/rules/cpu-high", jsonType, strings.Replace(v1, "cpu-high", "other", 1)).want(t, 422)
	call(t, gw, "PUT", "/api/v1/rules/other", jsonType, strings.Replace(v1, "cpu-high", "other", 1)).want(t, 404)
	call(t, gw, "PUT", "/api/v1/rules/cpu-high", jsonType, v1, "If-Match", "one").want(t, 400)
	if after := storeState(t, st, "cpu-high", "other"); after != before {
		t.Errorf("refused writes changed the store:\nbefore %s\nafter  %s", before, after)
	}

	// The configuration file's rule is read-only, but can be copied.
	cfgEdit := `{"name": "cfg-cpu", "match": "*/*/cpu/cpu/total/utilisation", "critical": {"when": "value > 50"}}`
	before = storeState(t, st, "cpu-high", "cfg-cpu")
	r = call(t, gw, "PUT", "/api/v1/rules/cfg-cpu", jsonType, cfgEdit).want(t, 409)
	if !strings.Contains(string(r.body), "read-only") || !strings.Contains(string(r.body), "POST /api/v1/rules/cfg-cpu/copy") {
		t.Errorf("editing a config rule: %s", r.body)
	}
	call(t, gw, "DELETE", "/api/v1/rules/cfg-cpu", "", "").want(t, 409)
	call(t, gw, "POST", "/api/v1/rules", jsonType, cfgEdit).want(t, 409)
	call(t, gw, "POST", "/api/v1/rules/cfg-cpu/revert", jsonType, `{"version": 1}`).want(t, 409)
	call(t, gw, "GET", "/api/v1/rules/cfg-cpu/history", "", "").want(t, 404)
	if after := storeState(t, st, "cpu-high", "cfg-cpu"); after != before {
		t.Errorf("refused edits of the config rule changed the store:\nbefore %s\nafter  %s", before, after)
	}
	var copied store.RuleVersion
	call(t, gw, "POST", "/api/v1/rules/cfg-cpu/copy", jsonType, `{"name": "cfg-cpu-tight"}`).want(t, 201).decode(t, &copied)
	if copied.Name != "cfg-cpu-tight" || copied.Action != store.Copy || copied.From != "cfg-cpu" || copied.Change != "copied from cfg-cpu" ||
		copied.Def.Match != "*/*/cpu/cpu/total/utilisation" || copied.Def.Critical.When != "value > 99" {
		t.Errorf("copy of the config rule = %+v", copied)
	}
	call(t, gw, "POST", "/api/v1/rules/cpu-high/copy", jsonType, `{"name": "cpu-high-2"}`).want(t, 201)
	call(t, gw, "POST", "/api/v1/rules/cpu-high/copy", jsonType, `{"name": "cfg-cpu"}`).want(t, 409)
	call(t, gw, "POST", "/api/v1/rules/cpu-high/copy", jsonType, `{"name": "bad name"}`).want(t, 422)
	call(t, gw, "POST", "/api/v1/rules/cpu-high/copy", "application/yaml", "name: cpu-high-3\n").want(t, 415)
	call(t, gw, "POST", "/api/v1/rules/cpu-high/revert", "text/plain", `{"version": 1}`).want(t, 415)
	call(t, gw, "POST", "/api/v1/rules/missing/copy", jsonType, `{"name": "x"}`).want(t, 404)
	if n := rulesInForce(); n != 4 {
		t.Errorf("%v rules in force after two copies, want 4", n)
	}

	// Delete, then revert to the first version, which revives the rule.
	call(t, gw, "DELETE", "/api/v1/rules/cpu-high", "", "", "X-Test-Caller", "carol").want(t, 204)
	call(t, gw, "GET", "/api/v1/rules/cpu-high", "", "").want(t, 404)
	call(t, gw, "DELETE", "/api/v1/rules/cpu-high", "", "").want(t, 404)
	if n := rulesInForce(); n != 3 {
		t.Errorf("%v rules in force after a delete, want 3", n)
	}
	call(t, gw, "POST", "/api/v1/rules/cpu-high/revert", jsonType, `{"version": 3}`).want(t, 422) // the deletion
	call(t, gw, "POST", "/api/v1/rules/cpu-high/revert", jsonType, `{"version": 9}`).want(t, 404)
	var reverted store.RuleVersion
	call(t, gw, "POST", "/api/v1/rules/cpu-high/revert", jsonType, `{"version": 1}`).want(t, 200).decode(t, &reverted)
	if reverted.Version != 4 || reverted.Action != store.Revert || reverted.Def.Critical.When != "value > 90" || reverted.Def.Warning != nil {
		t.Errorf("reverted = %+v", reverted)
	}
	call(t, gw, "GET", "/api/v1/rules/cpu-high", "", "").want(t, 200).decode(t, &got)
	if got.Version != 4 || !reflect.DeepEqual(got.Def, created.Def) {
		t.Errorf("after the revert GET = %+v, want version 4 with version 1's definition", got)
	}

	var hist struct {
		Name     string              `json:"name"`
		Versions []store.RuleVersion `json:"versions"`
	}
	call(t, gw, "GET", "/api/v1/rules/cpu-high/history", "", "").want(t, 200).decode(t, &hist)
	var lines []string
	for _, v := range hist.Versions {
		lines = append(lines, strconv.Itoa(v.Version)+" "+string(v.Action)+" by "+v.Author+": "+v.Change)
	}
	wantLines := []string{
		"1 create by alice: created",
		"2 update by bob: critical.when: value > 90 → value > 95; warning added",
		"3 delete by carol: deleted",
		"4 revert by tester: reverted to version 1, restoring the deleted rule",
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("history:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	for _, v := range hist.Versions {
		if v.Time.IsZero() || v.Def.Name != "cpu-high" {
			t.Errorf("version %d: time %v, def %+v", v.Version, v.Time, v.Def)
		}
	}
	call(t, gw, "GET", "/api/v1/rules/never/history", "", "").want(t, 404)

	// The API's rules are the store's.
	defs, err := st.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"cfg-cpu-tight", "cpu-high", "cpu-high-2"}) {
		t.Errorf("stored rules = %v", names)
	}
}

// A PUT's body may leave the name out, in JSON or YAML: the path gives it.
func TestRulesUpdateTakesNameFromPath(t *testing.T) {
	gw := startRules(t, nil)
	call(t, gw, "POST", "/api/v1/rules", "application/yaml", "name: disk\nmatch: \"*/*/disk/*/*/used\"\ncritical:\n  when: value > 90\n").want(t, 201)
	var v store.RuleVersion
	call(t, gw, "PUT", "/api/v1/rules/disk", "text/yaml", "match: \"*/*/disk/*/*/used\"\ncritical:\n  when: value > 95\n").want(t, 200).decode(t, &v)
	if v.Version != 2 || v.Def.Name != "disk" || v.Change != "critical.when: value > 90 → value > 95" {
		t.Errorf("YAML update without a name = %+v", v)
	}
	call(t, gw, "PUT", "/api/v1/rules/disk", jsonType, `{"match": "*/*/disk/*/*/used", "warning": {"when": "value > 80"}}`).want(t, 200).decode(t, &v)
	if v.Version != 3 || v.Def.Name != "disk" || v.Change != "critical removed; warning added" {
		t.Errorf("JSON update without a name = %+v", v)
	}
	// A YAML body whose name is wrong keeps its own errors.
	var e errorsReply
	call(t, gw, "PUT", "/api/v1/rules/disk", "application/x-yaml", "name: \"bad name\"\nmatch: \"*/*/disk/*/*/used\"\ncritical:\n  when: value > 1\n").want(t, 422).decode(t, &e)
	if len(e.Errors) != 1 || e.Errors[0].Field != "name" || e.Errors[0].Line != 1 {
		t.Errorf("bad YAML name: %+v", e)
	}
}

// A refused rule is answered with every problem, each at its place: in a
// JSON body inside its field's text, in a YAML body in the YAML text.
func TestRulesInvalidWithPositions(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "watchfloor.db"))
	gw := startRules(t, st)
	call(t, gw, "POST", "/api/v1/rules", jsonType, `{"name": "keep", "match": "*", "probe_down": "1m", "severity": "critical"}`).want(t, 201)
	before := storeState(t, st, "keep", "bad")
	versionBefore := metric(t, gw, "watchfloor_rules_version")

	type wantErr struct {
		field     string
		line, col int
		msg       string // a part of the message
	}
	cases := []struct {
		name, ctype, body string
		want              []wantErr
	}{
		{"JSON: errors in expressions and the pattern", jsonType,
			`{"name": "bad", "match": "*/*/cpu/cpu/*/b[", "critical": {"when": "value > 90 and bogus > 1"}, "warning": {"when": "value >"}}`,
			[]wantErr{{"match", 1, 15, "percent-encoded"}, {"critical.when", 1, 16, "unknown name bogus"}, {"warning.when", 1, 7, "unexpected token"}}},
		{"JSON: unknown fields and wrong types, each at its path", jsonType,
			`{"name": "bad", "match": "*", "critical": {"when": "value > 1", "fro": "1m"}, "stale": 30, "colour": "red", "where": {"region": 3}}`,
			[]wantErr{{"critical.fro", 0, 0, "unknown field"}, {"stale", 0, 0, "want a string, not a JSON number"}, {"colour", 0, 0, "unknown field"}, {"where.region", 0, 0, "a string or a list"}}},
		{"JSON: a syntax error, in the body", jsonType,
			"{\"name\": \"bad\",\n \"match\": }", []wantErr{{"", 2, 11, "not valid JSON"}}},
		{"JSON: a rule of no kind", jsonType, `{"name": "bad", "match": "*"}`, []wantErr{{"", 0, 0, "a rule judges something"}}},
		{"YAML: the expression's error in the YAML text", "application/yaml",
			"name: bad\nmatch: \"*/*/cpu/cpu/*/utilisation\"\ncritical:\n  when: value > 90 and bogus > 1\n  for: 1m\n",
			[]wantErr{{"critical.when", 4, 24, "unknown name bogus"}}},
		{"YAML: an unknown key and a bad duration", "application/yaml",
			"name: bad\nmatch: \"*/*/cpu/cpu/*/utilisation\"\ncritical:\n  when: value > 90\n  for: soon\ncolour: red\n",
			[]wantErr{{"critical.for", 5, 8, "not a duration"}, {"colour", 6, 1, ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/rules", "/api/v1/rules/validate", "/api/v1/rules/preview"} {
				var e errorsReply
				call(t, gw, "POST", path, c.ctype, c.body).want(t, 422).decode(t, &e)
				var got []wantErr
				for _, x := range e.Errors {
					got = append(got, wantErr{x.Field, x.Line, x.Column, x.Message})
				}
				ok := !e.Valid && len(got) == len(c.want)
				for i := 0; ok && i < len(got); i++ {
					w := c.want[i]
					ok = got[i].field == w.field && got[i].line == w.line && got[i].col == w.col && strings.Contains(got[i].msg, w.msg)
				}
				if !ok {
					t.Errorf("POST %s: errors\n%+v\nwant\n%+v", path, got, c.want)
				}
			}
		})
	}
	call(t, gw, "PUT", "/api/v1/rules/keep", jsonType, `{"match": "*", "probe_down": "never", "severity": "critical"}`).want(t, 422)
	call(t, gw, "POST", "/api/v1/rules", "text/plain", `{}`).want(t, 415)
	big := `{"name": "bad", "description": "` + strings.Repeat("x", 64<<10) + `", "match": "*", "probe_down": "1m", "severity": "critical"}`
	call(t, gw, "POST", "/api/v1/rules", jsonType, big).want(t, 413)
	call(t, gw, "POST", "/api/v1/rules/validate", jsonType, big).want(t, 413)

	if after := storeState(t, st, "keep", "bad"); after != before {
		t.Errorf("refused writes changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if v := metric(t, gw, "watchfloor_rules_version"); v != versionBefore {
		t.Errorf("refused writes installed a rule set: version %v, was %v", v, versionBefore)
	}
}

// Validate says whether a rule is good and of what kind, and changes
// nothing at all.
func TestRulesValidateHasNoSideEffects(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "watchfloor.db"))
	gw := startRules(t, st)
	before := storeState(t, st, "v1", "v2")
	versionBefore := metric(t, gw, "watchfloor_rules_version")
	for _, c := range []struct{ ctype, body, kind string }{
		{jsonType, `{"name": "v1", "match": "*/*/cpu/cpu/*/utilisation", "critical": {"when": "value > 90", "for": "1m"}}`, "cell"},
		{"application/yaml", "name: v2\nmatch: \"*/*/cpu/cpu\"\nstale: 30s\nseverity: warning\n", "stale"},
		{jsonType, `{"name": "v1", "match": "*/*/cpu/cpu", "rows": ["total"], "severity": "critical"}`, "absence"},
		{jsonType, `{"name": "cfg-cpu", "match": "*", "probe_down": "0s", "severity": "critical"}`, "probe"},
	} {
		var out struct {
			Valid bool   `json:"valid"`
			Kind  string `json:"kind"`
		}
		call(t, gw, "POST", "/api/v1/rules/validate", c.ctype, c.body).want(t, 200).decode(t, &out)
		if !out.Valid || out.Kind != c.kind {
			t.Errorf("validate %s = %+v, want valid %s", c.body, out, c.kind)
		}
	}
	var list []ruleReply
	call(t, gw, "GET", "/api/v1/rules", "", "").want(t, 200).decode(t, &list)
	if len(list) != 1 {
		t.Errorf("rules after validating = %+v, want only the config's", list)
	}
	if after := storeState(t, st, "v1", "v2"); after != before {
		t.Errorf("validate changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if v := metric(t, gw, "watchfloor_rules_version"); v != versionBefore {
		t.Errorf("validate installed a rule set: version %v, was %v", v, versionBefore)
	}
}

// Preview judges a real netprobe's live cpu dataview by a rule that is not
// in force: every utilisation cell, with its value.
func TestRulesPreviewLiveTree(t *testing.T) {
	p := probe("preview-1", "cpu")
	gw := startRules(t, nil, p)
	streaming(t, gw, p)

	var dv struct {
		Rows []struct {
			Name  string `json:"name"`
			Cells []struct {
				Path   string `json:"path"`
				Column string `json:"column"`
			} `json:"cells"`
		} `json:"rows"`
	}
	getJSON(t, gw.URL()+"/api/v1/dataviews/"+cpuPath(p), &dv)
	var want []string
	for _, r := range dv.Rows {
		for _, c := range r.Cells {
			if c.Column == "utilisation" {
				want = append(want, c.Path)
			}
		}
	}
	if len(want) < 2 {
		t.Fatalf("cpu dataview rows = %+v, want total and a cpu", dv.Rows)
	}

	type preview struct {
		Items     []gateway.PreviewItem `json:"items"`
		Total     int                   `json:"total"`
		Truncated bool                  `json:"truncated"`
	}
	rule := `{"name": "any-cpu", "match": "*/*/cpu/cpu/*/utilisation", "critical": {"when": "value >= 0"}}`
	var pv preview
	call(t, gw, "POST", "/api/v1/rules/preview", jsonType, rule).want(t, 200).decode(t, &pv)
	var paths []string
	for _, it := range pv.Items {
		paths = append(paths, it.Path)
		v, err := strconv.ParseFloat(it.Value, 64)
		if err != nil || v < 0 || v > 100 || it.Severity != "critical" {
			t.Errorf("preview item %+v: want a percentage, critical", it)
		}
	}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) || pv.Total != len(want) || pv.Truncated {
		t.Errorf("preview = %v (total %d, truncated %v)\nwant the utilisation cells %v", paths, pv.Total, pv.Truncated, want)
	}

	call(t, gw, "POST", "/api/v1/rules/preview?limit=1", "application/yaml",
		"name: any-cpu\nmatch: \"*/*/cpu/cpu/*/utilisation\"\nwarning:\n  when: value < 0\n").want(t, 200).decode(t, &pv)
	if len(pv.Items) != 1 || pv.Total != len(want) || !pv.Truncated || pv.Items[0].Severity != "ok" {
		t.Errorf("preview limited to 1 = %+v, want 1 ok item of %d, truncated", pv, len(want))
	}
	call(t, gw, "POST", "/api/v1/rules/preview", jsonType, `{"name": "none", "match": "nowhere/*/*/*/*/*", "critical": {"when": "true"}}`).want(t, 200).decode(t, &pv)
	if pv.Items == nil || len(pv.Items) != 0 || pv.Total != 0 {
		t.Errorf("preview matching nothing = %+v, want an empty list", pv)
	}
	call(t, gw, "POST", "/api/v1/rules/preview?limit=0", jsonType, rule).want(t, 400)
	var list []ruleReply
	call(t, gw, "GET", "/api/v1/rules", "", "").want(t, 200).decode(t, &list)
	if len(list) != 1 {
		t.Errorf("rules after previews = %+v, want only the config's", list)
	}
}

// Rules authored through the API outlive the gateway: a new gateway on the
// same store file serves them, with their history.
func TestRulesSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchfloor.db")
	rule := `{"name": "mem-high", "match": "*/*/memory/memory/*/used", "critical": {"when": "value > 90"}}`
	t.Run("first gateway", func(t *testing.T) {
		st := openStore(t, path)
		gw := startRules(t, st)
		call(t, gw, "POST", "/api/v1/rules", jsonType, rule, "X-Test-Caller", "alice").want(t, 201)
		call(t, gw, "PUT", "/api/v1/rules/mem-high", jsonType, strings.Replace(rule, "90", "95", 1), "X-Test-Caller", "bob").want(t, 200)
	})
	t.Run("second gateway", func(t *testing.T) {
		st := openStore(t, path)
		gw := startRules(t, st)
		var got ruleReply
		call(t, gw, "GET", "/api/v1/rules/mem-high", "", "").want(t, 200).decode(t, &got)
		if got.Version != 2 || got.UpdatedBy != "bob" || got.Def.Critical == nil || got.Def.Critical.When != "value > 95" {
			t.Errorf("after a restart GET = %+v", got)
		}
		var hist struct {
			Versions []store.RuleVersion `json:"versions"`
		}
		call(t, gw, "GET", "/api/v1/rules/mem-high/history", "", "").want(t, 200).decode(t, &hist)
		if len(hist.Versions) != 2 || hist.Versions[0].Author != "alice" || hist.Versions[1].Change != "critical.when: value > 90 → value > 95" {
			t.Errorf("after a restart history = %+v", hist.Versions)
		}
		if n := metric(t, gw, "watchfloor_rules"); n != 2 {
			t.Errorf("%v rules in force after a restart, want the config's and the API's", n)
		}
	})
}

// A stored rule whose name the configuration file has taken since keeps
// the gateway from starting, with both named.
func TestRulesStoreClashRefused(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "watchfloor.db"))
	def := rules.Def{Name: "cfg-cpu", Match: "*", ProbeDown: new(rules.Duration), Severity: rules.Critical}
	if _, err := st.PutRule(store.Edit{Def: def, Action: store.Create, Author: "alice", At: time.Now(), Expect: store.NewRule}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("test.yaml", []byte(gt.Config("127.0.0.1:0")+configRules))
	if err != nil {
		t.Fatal(err)
	}
	_, err = gateway.New(gateway.Options{Config: cfg, Store: st})
	if err == nil || !strings.Contains(err.Error(), "cfg-cpu") || !strings.Contains(err.Error(), "one source") {
		t.Errorf("New with a clashing stored rule: %v", err)
	}
}

// Concurrent creates of one name: one wins, the others are told it
// exists, and the store holds one version.
func TestRulesConcurrentCreates(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "watchfloor.db"))
	gw := startRules(t, st)
	tester := sessionOf(t, gw, "tester")
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := `{"name": "race", "match": "*", "probe_down": "` + strconv.Itoa(i+1) + `s", "severity": "critical"}`
			resp, err := tester.Client.Post(gw.URL()+"/api/v1/rules", jsonType, strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	slices.Sort(codes)
	if codes[0] != 201 || codes[1] != 409 || codes[n-1] != 409 {
		t.Errorf("status codes = %v, want one 201 and the rest 409", codes)
	}
	if h, err := st.History("race"); err != nil || len(h) != 1 {
		t.Errorf("history = %+v, %v; want one version", h, err)
	}
}

// FuzzRulesBody sends arbitrary bodies, JSON or YAML, to validate:
// whatever arrives, the gateway answers (a panic would cut the
// connection) that the rule is valid, or why not, or that it is too
// large; never with an error of its own.
func FuzzRulesBody(f *testing.F) {
	// The gateway's log goes nowhere: a fuzz target's log is its inputs'.
	gw := gt.Start(f, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
	for _, seed := range []struct {
		yaml bool
		body string
	}{
		{false, `{"name": "a", "match": "*/*/cpu/cpu/*/utilisation", "critical": {"when": "value > 90", "for": "1m"}}`},
		{false, `{"name": "a", "match": "*", "where": {"r": ["x", "y"], "s": "z"}, "probe_down": "0s", "severity": "critical"}`},
		{false, `{"name": "a", "critical": {"when": "value >", "fro": 1}, "Name": "b", "name": "c", "rows": [1]}`},
		{false, `{"where": {"r": null}, "critical": null, "stale": null}`},
		{false, `[{"name": "a"}] {}`},
		{true, "name: a\nmatch: \"*/*/feed/*\"\nstale: 30s\nseverity: warning\n"},
		{true, "name: &n a\nmatch: *n\nrows: [x, *n]\nseverity: critical\n"},
		{true, "critical:\n  when: |\n    value > 90 and\n    bogus\n"},
	} {
		f.Add(seed.yaml, seed.body)
	}
	client := gw.Admin(f).Client
	f.Fuzz(func(t *testing.T, yaml bool, body string) {
		ctype := jsonType
		if yaml {
			ctype = "application/yaml"
		}
		resp, err := client.Post(gw.URL()+"/api/v1/rules/validate", ctype, strings.NewReader(body))
		if err != nil {
			t.Fatalf("validate %q: %v", body, err)
		}
		defer resp.Body.Close()
		var out errorsReply
		dec := json.NewDecoder(resp.Body)
		switch resp.StatusCode {
		case http.StatusOK:
			var ok struct {
				Valid bool   `json:"valid"`
				Kind  string `json:"kind"`
			}
			if err := dec.Decode(&ok); err != nil || !ok.Valid || ok.Kind == "" {
				t.Errorf("validate %q: 200 with %+v, %v", body, ok, err)
			}
		case http.StatusUnprocessableEntity:
			if err := dec.Decode(&out); err != nil || out.Valid || len(out.Errors) == 0 {
				t.Errorf("validate %q: 422 with %+v, %v", body, out, err)
			}
			for _, e := range out.Errors {
				if e.Message == "" || e.Line < 0 || e.Column < 0 || (e.Line == 0) != (e.Column == 0) {
					t.Errorf("validate %q: error %+v", body, e)
				}
			}
		case http.StatusRequestEntityTooLarge:
			if len(body) <= 64<<10 {
				t.Errorf("validate: 413 for %d bytes", len(body))
			}
		default:
			t.Errorf("validate %q: status %d", body, resp.StatusCode)
		}
	})
}
