package gateway

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
)

// The rules API: the rules in force, from the configuration file
// (read-only) and authored through the API (kept in the store, every
// version), and the tools to author them: validate and preview.
//
// A write goes, under g.rules.mu from its first check to its install:
// decode and check the rule on its own → check its name against the
// configuration's and the API's → compile the whole candidate set → write
// the store (fsynced) → keep g.rules.api in step → install the set. A
// failure at any step leaves the store and the running set as they were.

const (
	// maxRuleBody bounds a request's body.
	maxRuleBody = 64 << 10
	// maxPreview bounds what a preview lists.
	maxPreview = 1000
	// anonymous is the author recorded for a caller with no name.
	anonymous = "anonymous"
)

func (g *Gateway) rulesRoutes(r *access.Router) {
	r.GET("/api/v1/rules", access.ReadRules, g.listRules)
	r.POST("/api/v1/rules", access.EditRules, g.createRule)
	// Validate and preview change nothing, so reading rules is enough.
	r.POST("/api/v1/rules/validate", access.ReadRules, g.validateRule)
	r.POST("/api/v1/rules/preview", access.ReadRules, g.previewRuleAPI)
	r.POST("/api/v1/rules/backtest", access.Backtest, g.backtestRuleAPI)
	r.GET("/api/v1/rules/:name", access.ReadRules, g.getRule)
	r.PUT("/api/v1/rules/:name", access.EditRules, g.updateRule)
	r.DELETE("/api/v1/rules/:name", access.EditRules, g.deleteRule)
	r.GET("/api/v1/rules/:name/history", access.ReadRules, g.ruleHistory)
	r.POST("/api/v1/rules/:name/revert", access.EditRules, g.revertRule)
	r.POST("/api/v1/rules/:name/copy", access.EditRules, g.copyRule)
}

// storedRules returns the API's rules from the store, for New. A name
// the configuration file uses as well is refused: each rule has one
// source.
func (g *Gateway) storedRules(configRules []rules.Def) ([]rules.Def, error) {
	defs, err := g.store.Rules()
	if err != nil {
		return nil, fmt.Errorf("gateway: load the API's rules: %w", err)
	}
	var both []string
	for _, d := range defs {
		if hasRule(configRules, d.Name) {
			both = append(both, d.Name)
		}
	}
	if len(both) > 0 {
		what := "rule " + both[0] + " is"
		if len(both) > 1 {
			what = "rules " + strings.Join(both, ", ") + " are"
		}
		return nil, fmt.Errorf("gateway: %s in the configuration file and authored through the API too (store %s); a rule has one source: take it out of the file, or rename it there",
			what, g.store.Path())
	}
	return defs, nil
}

// ruleJSON is a rule in force.
type ruleJSON struct {
	Name     string    `json:"name"`
	Source   string    `json:"source"` // "config" or "api"
	ReadOnly bool      `json:"readOnly"`
	Def      rules.Def `json:"def"`
	// For API rules: the current version, and who made it when.
	Version   int    `json:"version,omitempty"`
	UpdatedBy string `json:"updatedBy,omitempty"`
	UpdatedAt string `json:"updatedAt,omitempty"`
	// Thresholds, in GET /api/v1/rules/{name} only: the numbers the rule
	// in force compares cells' values with, for charts.
	Thresholds []rules.Threshold `json:"thresholds,omitempty"`
}

func configRuleJSON(d rules.Def) ruleJSON {
	return ruleJSON{Name: d.Name, Source: "config", ReadOnly: true, Def: d}
}

func apiRuleJSON(v store.RuleVersion) ruleJSON {
	return ruleJSON{Name: v.Name, Source: "api", Def: v.Def, Version: v.Version, UpdatedBy: v.Author,
		UpdatedAt: rfc3339(v.Time.UnixNano())}
}

// fieldError is one problem in a rule, placed as its body's format
// allows (docs/api.md).
type fieldError struct {
	Field   string `json:"field"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// validJSON is what validate answers, and every 422.
type validJSON struct {
	Valid   bool         `json:"valid"`
	Kind    string       `json:"kind,omitempty"`
	Message string       `json:"message,omitempty"`
	Errors  []fieldError `json:"errors,omitempty"`
}

// invalidRule is every problem found in a rule: a 422.
type invalidRule []fieldError

func (e invalidRule) Error() string {
	msgs := make([]string, len(e))
	for i, f := range e {
		msgs[i] = f.Message
		if f.Field != "" {
			msgs[i] = f.Field + ": " + f.Message
		}
	}
	return strings.Join(msgs, "; ")
}

func fromRuleErrors(errs rules.Errors, name string) invalidRule {
	out := make(invalidRule, len(errs))
	for i, e := range errs {
		msg := e.Msg
		if e.Name != "" && e.Name != name {
			msg = "rule " + e.Name + ": " + msg
		}
		out[i] = fieldError{Field: e.Field, Line: e.Line, Column: e.Col, Message: msg}
	}
	return out
}

// fail answers a failed rules request.
func (g *Gateway) fail(c *echo.Context, err error) error {
	var inv invalidRule
	var he *echo.HTTPError
	switch {
	case errors.As(err, &inv):
		return replyJSON(c, http.StatusUnprocessableEntity, validJSON{Message: "the rule is not valid", Errors: inv})
	case errors.As(err, &he):
		return he
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	g.log.Error("rules API: store", "err", err)
	return echo.NewHTTPError(http.StatusInternalServerError, "store: "+err.Error())
}

// stamp records in e who makes it, from where and when.
func (g *Gateway) stamp(c *echo.Context, e store.Edit) store.Edit {
	e.Author, e.Kind, e.Source, e.At = ruleAuthor(c), access.IdentityOf(c).Kind.String(), c.RealIP(), g.clock.Now()
	return e
}

// deletion is a rule's deletion by the caller, at version expect.
func (g *Gateway) deletion(c *echo.Context, expect int) store.Deletion {
	return store.Deletion{Author: ruleAuthor(c), Kind: access.IdentityOf(c).Kind.String(), Source: c.RealIP(), At: g.clock.Now(), Expect: expect}
}

func ruleAuthor(c *echo.Context) string {
	if name := access.IdentityOf(c).Name; name != "" {
		return name
	}
	return anonymous
}

func hasRule(defs []rules.Def, name string) bool {
	return slices.ContainsFunc(defs, func(d rules.Def) bool { return d.Name == name })
}

func findRule(defs []rules.Def, name string) (rules.Def, bool) {
	i := slices.IndexFunc(defs, func(d rules.Def) bool { return d.Name == name })
	if i < 0 {
		return rules.Def{}, false
	}
	return defs[i], true
}

// withRule returns a new list: defs with d in place of the rule of its
// name, or added, sorted by name. defs is not changed.
func withRule(defs []rules.Def, d rules.Def) []rules.Def {
	out := slices.DeleteFunc(slices.Clone(defs), func(x rules.Def) bool { return x.Name == d.Name })
	out = append(out, d)
	slices.SortFunc(out, func(a, b rules.Def) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// withoutRule returns a new list: defs without the named rule.
func withoutRule(defs []rules.Def, name string) []rules.Def {
	return slices.DeleteFunc(slices.Clone(defs), func(x rules.Def) bool { return x.Name == name })
}

func readOnlyRule(name string) error {
	return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf(
		"rule %s is read-only: the configuration file's rules are changed in the file; POST /api/v1/rules/%s/copy makes an API rule from it", name, name))
}

// commit makes api the API's rules: it compiles them with the
// configuration's, runs write (the store's) and, if both succeed,
// installs the set. The caller holds g.rules.mu.
func (g *Gateway) commit(api []rules.Def, name string, write func() (store.RuleVersion, error)) (store.RuleVersion, error) {
	set, errs := g.compileRules(g.rules.config, api)
	if errs != nil {
		return store.RuleVersion{}, fromRuleErrors(errs, name)
	}
	v, err := write()
	if err != nil {
		return store.RuleVersion{}, err
	}
	g.rules.api = api
	g.installRules(set)
	return v, nil
}

// replyJSON answers with v as JSON, leaving <, > and & as they are:
// conditions are full of them, and the answer is no HTML page.
func replyJSON(c *echo.Context, code int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("gateway: encode " + err.Error()) // the gateway built v
	}
	return c.Blob(code, "application/json", buf.Bytes())
}

// answerVersion answers a write with the version it stored.
func answerVersion(c *echo.Context, code int, v store.RuleVersion) error {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(v.Version)))
	if code == http.StatusCreated {
		c.Response().Header().Set("Location", "/api/v1/rules/"+v.Name)
	}
	return replyJSON(c, code, v)
}

func (g *Gateway) listRules(c *echo.Context) error {
	g.rules.mu.Lock()
	cfgRules := g.rules.config
	cur, err := g.store.Current()
	g.rules.mu.Unlock()
	if err != nil {
		return g.fail(c, err)
	}
	out := make([]ruleJSON, 0, len(cfgRules)+len(cur))
	for _, d := range cfgRules {
		out = append(out, configRuleJSON(d))
	}
	for _, v := range cur {
		out = append(out, apiRuleJSON(v))
	}
	slices.SortFunc(out, func(a, b ruleJSON) int { return strings.Compare(a.Name, b.Name) })
	return replyJSON(c, http.StatusOK, out)
}

func (g *Gateway) getRule(c *echo.Context) error {
	name := c.Param("name")
	g.rules.mu.Lock()
	d, inConfig := findRule(g.rules.config, name)
	g.rules.mu.Unlock()
	if inConfig {
		return replyJSON(c, http.StatusOK, g.withThresholds(configRuleJSON(d)))
	}
	v, err := g.store.Rule(name)
	if err != nil {
		return g.fail(c, err)
	}
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(v.Version)))
	return replyJSON(c, http.StatusOK, g.withThresholds(apiRuleJSON(v)))
}

// withThresholds adds the thresholds of the rule of that name in force.
func (g *Gateway) withThresholds(r ruleJSON) ruleJSON {
	if compiled, ok := g.rules.current().Rule(r.Name); ok {
		r.Thresholds = compiled.Thresholds()
	}
	return r
}

func (g *Gateway) ruleHistory(c *echo.Context) error {
	name := c.Param("name")
	hist, err := g.store.History(name)
	if errors.Is(err, store.ErrNotFound) {
		g.rules.mu.Lock()
		inConfig := hasRule(g.rules.config, name)
		g.rules.mu.Unlock()
		if inConfig {
			return echo.NewHTTPError(http.StatusNotFound, "rule "+name+" is the configuration file's: its history is the file's")
		}
		return echo.NewHTTPError(http.StatusNotFound, "no rule "+name+" was ever authored through the API")
	}
	if err != nil {
		return g.fail(c, err)
	}
	return replyJSON(c, http.StatusOK, map[string]any{"name": name, "versions": hist})
}

// locked runs f under g.rules.mu: a write from its first check to its
// install. The answer is written after, with no lock held.
func (g *Gateway) locked(f func() (store.RuleVersion, error)) (store.RuleVersion, error) {
	g.rules.mu.Lock()
	defer g.rules.mu.Unlock()
	return f()
}

func (g *Gateway) createRule(c *echo.Context) error {
	def, err := g.decodeRule(c, "")
	if err != nil {
		return g.fail(c, err)
	}
	v, err := g.locked(func() (store.RuleVersion, error) {
		if hasRule(g.rules.config, def.Name) {
			return store.RuleVersion{}, echo.NewHTTPError(http.StatusConflict, fmt.Sprintf(
				"rule %s exists in the configuration file; choose another name (POST /api/v1/rules/%s/copy copies it)", def.Name, def.Name))
		}
		if hasRule(g.rules.api, def.Name) {
			return store.RuleVersion{}, echo.NewHTTPError(http.StatusConflict, fmt.Sprintf(
				"rule %s exists; PUT /api/v1/rules/%s changes it", def.Name, def.Name))
		}
		return g.commit(withRule(g.rules.api, def), def.Name, func() (store.RuleVersion, error) {
			return g.store.PutRule(g.stamp(c, store.Edit{Def: def, Action: store.Create, Expect: store.NewRule}))
		})
	})
	if err != nil {
		return g.fail(c, err)
	}
	return answerVersion(c, http.StatusCreated, v)
}

func (g *Gateway) updateRule(c *echo.Context) error {
	name := c.Param("name")
	expect, err := ifMatch(c)
	if err != nil {
		return err
	}
	def, err := g.decodeRule(c, name)
	if err != nil {
		return g.fail(c, err)
	}
	if def.Name != name {
		return g.fail(c, invalidRule{{Field: "name", Message: fmt.Sprintf(
			"the body names rule %s, but the path rule %s: a rule is renamed by copying it, then deleting the old one", def.Name, name)}})
	}
	v, err := g.locked(func() (store.RuleVersion, error) {
		if hasRule(g.rules.config, name) {
			return store.RuleVersion{}, readOnlyRule(name)
		}
		if !hasRule(g.rules.api, name) {
			return store.RuleVersion{}, echo.NewHTTPError(http.StatusNotFound, "no rule "+name+"; POST /api/v1/rules creates one")
		}
		return g.commit(withRule(g.rules.api, def), name, func() (store.RuleVersion, error) {
			return g.store.PutRule(g.stamp(c, store.Edit{Def: def, Action: store.Update, Expect: expect}))
		})
	})
	if err != nil {
		return g.fail(c, err)
	}
	return answerVersion(c, http.StatusOK, v)
}

func (g *Gateway) deleteRule(c *echo.Context) error {
	name := c.Param("name")
	expect, err := ifMatch(c)
	if err != nil {
		return err
	}
	_, err = g.locked(func() (store.RuleVersion, error) {
		if hasRule(g.rules.config, name) {
			return store.RuleVersion{}, readOnlyRule(name)
		}
		if !hasRule(g.rules.api, name) {
			return store.RuleVersion{}, echo.NewHTTPError(http.StatusNotFound, "no rule "+name)
		}
		return g.commit(withoutRule(g.rules.api, name), name, func() (store.RuleVersion, error) {
			return g.store.DeleteRule(name, g.deletion(c, expect))
		})
	})
	if err != nil {
		return g.fail(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (g *Gateway) revertRule(c *echo.Context) error {
	name := c.Param("name")
	expect, err := ifMatch(c)
	if err != nil {
		return err
	}
	var body struct {
		Version int `json:"version"`
	}
	if err := decodeSmall(c, &body); err != nil {
		return g.fail(c, err)
	}
	if body.Version < 1 {
		return g.fail(c, invalidRule{{Field: "version", Message: "the version to revert to, from 1 (GET /api/v1/rules/" + name + "/history lists them)"}})
	}
	v, err := g.locked(func() (store.RuleVersion, error) {
		if hasRule(g.rules.config, name) {
			return store.RuleVersion{}, readOnlyRule(name)
		}
		old, err := g.store.Version(name, body.Version)
		if err != nil {
			return store.RuleVersion{}, err
		}
		if old.Deleted() {
			return store.RuleVersion{}, invalidRule{{Field: "version", Message: fmt.Sprintf(
				"version %d deleted the rule; revert to a version that defines it", body.Version)}}
		}
		return g.commit(withRule(g.rules.api, old.Def), name, func() (store.RuleVersion, error) {
			return g.store.PutRule(g.stamp(c, store.Edit{Def: old.Def, Action: store.Revert, From: strconv.Itoa(body.Version),
				Expect: expect}))
		})
	})
	if err != nil {
		return g.fail(c, err)
	}
	return answerVersion(c, http.StatusOK, v)
}

func (g *Gateway) copyRule(c *echo.Context) error {
	from := c.Param("name")
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeSmall(c, &body); err != nil {
		return g.fail(c, err)
	}
	v, err := g.locked(func() (store.RuleVersion, error) {
		def, ok := findRule(g.rules.config, from)
		if !ok {
			def, ok = findRule(g.rules.api, from)
		}
		if !ok {
			return store.RuleVersion{}, echo.NewHTTPError(http.StatusNotFound, "no rule "+from)
		}
		def.Name = body.Name
		if _, errs := rules.CompileOne(def); errs != nil {
			return store.RuleVersion{}, fromRuleErrors(errs, def.Name)
		}
		if hasRule(g.rules.config, def.Name) || hasRule(g.rules.api, def.Name) {
			return store.RuleVersion{}, echo.NewHTTPError(http.StatusConflict, "rule "+def.Name+" exists; copy to another name")
		}
		return g.commit(withRule(g.rules.api, def), def.Name, func() (store.RuleVersion, error) {
			return g.store.PutRule(g.stamp(c, store.Edit{Def: def, Action: store.Copy, From: from, Expect: store.NewRule}))
		})
	})
	if err != nil {
		return g.fail(c, err)
	}
	return answerVersion(c, http.StatusCreated, v)
}

func (g *Gateway) validateRule(c *echo.Context) error {
	def, err := g.decodeRule(c, "")
	if err != nil {
		return g.fail(c, err)
	}
	r, errs := rules.CompileOne(def)
	if errs != nil {
		return g.fail(c, fromRuleErrors(errs, def.Name))
	}
	return replyJSON(c, http.StatusOK, validJSON{Valid: true, Kind: r.Kind().String()})
}

// previewJSON is what a preview answers.
type previewJSON struct {
	Items     []PreviewItem `json:"items"`
	Total     int           `json:"total"`
	Truncated bool          `json:"truncated"`
}

func (g *Gateway) previewRuleAPI(c *echo.Context) error {
	limit := maxPreview
	if q := c.QueryParam("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			return echo.NewHTTPError(http.StatusBadRequest, "limit: a number of items from 1 (at most "+strconv.Itoa(maxPreview)+")")
		}
		limit = min(n, maxPreview)
	}
	def, err := g.decodeRule(c, "")
	if err != nil {
		return g.fail(c, err)
	}
	items, total, errs := g.previewRule(def, limit)
	if errs != nil {
		return g.fail(c, fromRuleErrors(errs, def.Name))
	}
	if items == nil {
		items = []PreviewItem{}
	}
	return replyJSON(c, http.StatusOK, previewJSON{Items: items, Total: total, Truncated: total > len(items)})
}

// ifMatch reads the If-Match header: the version a write expects the
// rule to be at ("3", or as the ETag gives it, "\"3\""), or
// store.AnyVersion when absent or "*".
func ifMatch(c *echo.Context) (int, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" || h == "*" {
		return store.AnyVersion, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v < 1 {
		return 0, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("If-Match: %q is not a rule version (like 3)", h))
	}
	return v, nil
}

// readRuleBody reads a request's body, up to maxRuleBody.
func readRuleBody(c *echo.Context) ([]byte, error) {
	req := c.Request()
	tooLarge := echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d KiB", maxRuleBody>>10))
	if req.ContentLength > maxRuleBody {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, maxRuleBody+1))
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "read the body: "+err.Error())
	}
	if len(data) > maxRuleBody {
		return nil, tooLarge
	}
	return data, nil
}

// bodyFormat is how a body is written.
type bodyFormat uint8

const (
	formatJSON bodyFormat = iota
	formatYAML
)

func formatOf(c *echo.Context) (bodyFormat, error) {
	ct := c.Request().Header.Get("Content-Type")
	if ct == "" {
		return formatJSON, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "application/json":
		return formatJSON, nil
	case mt == "application/yaml", mt == "application/x-yaml", mt == "text/yaml":
		return formatYAML, nil
	}
	return 0, echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf(
		"Content-Type %q: send a rule as application/json or application/yaml", ct))
}

// readRule reads a rule from the body, JSON or YAML, and checks it on
// its own (rules.CompileOne), returning every problem as invalidRule. A
// rule that names none is named name, if that is given.
func readRule(c *echo.Context, name string) (rules.Def, error) {
	format, err := formatOf(c)
	if err != nil {
		return rules.Def{}, err
	}
	data, err := readRuleBody(c)
	if err != nil {
		return rules.Def{}, err
	}
	if format == formatYAML {
		return decodeYAMLRule(data, name)
	}
	def, errs := decodeJSONRule(data)
	if errs != nil {
		return rules.Def{}, errs
	}
	if def.Name == "" {
		def.Name = name
	}
	if _, errs := rules.CompileOne(def); errs != nil {
		return rules.Def{}, fromRuleErrors(errs, def.Name)
	}
	return def, nil
}

// decodeYAMLRule parses a rule written in YAML, placing each problem at
// its line and column in data. A rule that names none is named name, if
// that is given.
func decodeYAMLRule(data []byte, name string) (rules.Def, error) {
	def, err := config.ParseRuleAs("body", data, name)
	var cerrs config.Errors
	errors.As(err, &cerrs)
	if err == nil {
		return def, nil
	}
	if cerrs == nil {
		return rules.Def{}, invalidRule{{Message: err.Error()}}
	}
	out := make(invalidRule, len(cerrs))
	for i, e := range cerrs {
		out[i] = fieldError{Field: e.Field, Line: e.Line, Column: e.Column, Message: e.Msg}
	}
	return rules.Def{}, out
}

// decodeSmall decodes a small JSON body (revert's, copy's), refusing
// unknown fields and other media types.
func decodeSmall(c *echo.Context, v any) error {
	if format, err := formatOf(c); err != nil {
		return err
	} else if format != formatJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send this body as application/json")
	}
	data, err := readRuleBody(c)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); errors.Is(err, io.EOF) {
		return invalidRule{{Message: "the body is empty"}}
	} else if err != nil {
		return invalidRule{jsonError(data, "", err)}
	}
	if dec.More() {
		return invalidRule{{Message: "the body holds more than one JSON value"}}
	}
	return nil
}

// decodeJSONRule decodes a rule from JSON. Unlike json.Unmarshal with
// DisallowUnknownFields, which stops at the first problem and names an
// unknown key without saying where it is, it reports every problem with
// the path of its field ("critical.foo", "where.region"), and refuses a
// key given twice and keys that differ from a field's only in case.
func decodeJSONRule(data []byte) (rules.Def, invalidRule) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return rules.Def{}, invalidRule{{Message: "the body is empty: send a rule"}}
		}
		return rules.Def{}, invalidRule{jsonError(data, "", err)}
	}
	if dec.More() {
		return rules.Def{}, invalidRule{{Message: "the body holds more than one JSON value"}}
	}
	var def rules.Def
	var errs invalidRule
	strictJSON(raw, reflect.ValueOf(&def).Elem(), "", &errs)
	if errs != nil {
		return rules.Def{}, errs
	}
	return def, nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodesItself reports whether values of t (or pointers to them) have
// their own JSON or text decoding.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(jsonUnmarshaler) || p.Implements(textUnmarshaler)
}

// strictJSON decodes raw, valid JSON, into v: structs field by field
// (their JSON names), maps with text keys entry by entry, and everything
// else as encoding/json does, recording each problem at its path.
func strictJSON(raw json.RawMessage, v reflect.Value, path string, errs *invalidRule) {
	t := v.Type()
	if t.Kind() == reflect.Pointer && !decodesItself(t.Elem()) && (t.Elem().Kind() == reflect.Struct || t.Elem().Kind() == reflect.Map) {
		if jsonNull(raw) {
			v.SetZero()
			return
		}
		p := reflect.New(t.Elem())
		strictJSON(raw, p.Elem(), path, errs)
		v.Set(p)
		return
	}
	switch {
	case decodesItself(t):
	case t.Kind() == reflect.Struct:
		strictObject(raw, v, path, errs)
		return
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		if jsonNull(raw) {
			v.SetZero()
			return
		}
		entries, ok := jsonMembers(raw)
		if !ok {
			*errs = append(*errs, fieldError{Field: path, Message: "want an object, not " + jsonKind(raw)})
			return
		}
		m := reflect.MakeMapWithSize(t, len(entries))
		seen := map[string]bool{}
		for _, e := range entries {
			field := fieldPath(path, e.key)
			if seen[e.key] {
				*errs = append(*errs, fieldError{Field: field, Message: "given twice"})
				continue
			}
			seen[e.key] = true
			elem := reflect.New(t.Elem()).Elem()
			strictJSON(e.val, elem, field, errs)
			m.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), elem)
		}
		v.Set(m)
		return
	}
	if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
		*errs = append(*errs, jsonError(raw, path, err))
	}
}

// strictObject decodes a JSON object into the struct v.
func strictObject(raw json.RawMessage, v reflect.Value, path string, errs *invalidRule) {
	t := v.Type()
	entries, ok := jsonMembers(raw)
	if !ok {
		*errs = append(*errs, fieldError{Field: path, Message: "want an object, not " + jsonKind(raw)})
		return
	}
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = i
		names = append(names, name)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		field := fieldPath(path, e.key)
		i, known := fields[e.key]
		switch {
		case !known:
			what := "a rule"
			if path != "" {
				what = path
			}
			*errs = append(*errs, fieldError{Field: field, Message: fmt.Sprintf("unknown field; %s has %s", what, strings.Join(names, ", "))})
		case seen[e.key]:
			*errs = append(*errs, fieldError{Field: field, Message: "given twice"})
		default:
			seen[e.key] = true
			strictJSON(e.val, v.Field(i), field, errs)
		}
	}
}

type jsonMember struct {
	key string
	val json.RawMessage
}

// jsonMembers lists the members of a JSON object, in order, duplicates
// included; ok is false if raw is not an object.
func jsonMembers(raw json.RawMessage) ([]jsonMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			return nil, false
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, false
		}
		out = append(out, jsonMember{key, val})
	}
	return out, true
}

func jsonNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// fieldPath is the path of key inside the field at path.
func fieldPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonKind names the kind of a JSON value.
func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonError turns a decoding error into a fieldError at field. A syntax
// error is placed at its line and column in data.
func jsonError(data []byte, field string, err error) fieldError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fieldError{Field: field, Line: line, Column: col, Message: "not valid JSON: " + se.Error()}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fieldError{Field: field, Message: "not valid JSON: it ends too soon"}
	case errors.As(err, &te):
		if field == "" {
			field = te.Field
		}
		return fieldError{Field: field, Message: fmt.Sprintf("want %s, not a JSON %s", typeWord(te.Type), te.Value)}
	}
	return fieldError{Field: field, Message: strings.TrimPrefix(err.Error(), "json: ")}
}

// typeWord says in words what JSON a Go type takes.
func typeWord(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case decodesItself(t), t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Map, t.Kind() == reflect.Struct:
		return "an object"
	case t.Kind() == reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// lineCol returns the line and column, from 1, of the byte at offset in
// data, counting columns in characters.
func lineCol(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len([]rune(string(before[bytes.LastIndexByte(before, '\n')+1:])))
	if col == 0 {
		col = 1
	}
	return line, col
}

// decodeRule is readRule, and refuses a rule that names a schedule the
// running configuration does not define.
func (g *Gateway) decodeRule(c *echo.Context, name string) (rules.Def, error) {
	def, err := readRule(c, name)
	if err != nil {
		return def, err
	}
	g.mu.RLock()
	cal := &g.cfg.Calendars
	field, sched, bad := cal.UnknownSchedule(&def)
	known := cal.KnownSchedules()
	g.mu.RUnlock()
	if bad {
		return rules.Def{}, invalidRule{{Field: field, Message: fmt.Sprintf("unknown schedule %q (%s)", sched, known)}}
	}
	return def, nil
}
