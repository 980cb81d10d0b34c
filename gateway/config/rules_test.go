package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/rules"
)

// TestParseRules checks what the rules key decodes to.
func TestParseRules(t *testing.T) {
	c, err := config.Parse("gw.yaml", []byte(`listen: 127.0.0.1:1
rules:
  - name: cpu
    description: busy
    match: "*/*/cpu/cpu/*/utilisation"
    where: {system: OMS, region: [emea, apac]}
    critical: {when: value > 90, for: 30s, clear: value < 80, keep_firing_for: 1m}
    warning: {when: value > 75}
  - {name: stale, match: "*/*/cpu/cpu", stale: 2m, severity: warning}
  - {name: rows, match: "*/*/fix/sessions", rows: [LSE, XETRA], severity: critical}
  - {name: down, match: "*", probe_down: 0s, severity: critical}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := func(v time.Duration) *rules.Duration { r := rules.Duration(v); return &r }
	want := []rules.Def{
		{
			Name: "cpu", Description: "busy", Match: "*/*/cpu/cpu/*/utilisation",
			Where:    map[string]rules.Values{"system": {"OMS"}, "region": {"emea", "apac"}},
			Critical: &rules.LevelDef{When: "value > 90", For: rules.Duration(30 * time.Second), Clear: "value < 80", KeepFiringFor: rules.Duration(time.Minute)},
			Warning:  &rules.LevelDef{When: "value > 75"},
		},
		{Name: "stale", Match: "*/*/cpu/cpu", Stale: d(2 * time.Minute), Severity: rules.Warning},
		{Name: "rows", Match: "*/*/fix/sessions", Rows: []string{"LSE", "XETRA"}, Severity: rules.Critical},
		{Name: "down", Match: "*", ProbeDown: d(0), Severity: rules.Critical},
	}
	if !reflect.DeepEqual(c.Rules, want) {
		t.Errorf("rules =\n%+v\nwant\n%+v", c.Rules, want)
	}
}

// TestRuleErrorAtItsCharacter checks that an error inside a condition or
// a pattern is placed at the character at fault, however the value is
// written: the file's text at the place reported starts with what the
// case names.
func TestRuleErrorAtItsCharacter(t *testing.T) {
	tests := []struct {
		name, rule string
		at         string // the file's text from the error's place
	}{
		{"plain", "critical: {when: value > 90 && vlaue < 1}", "vlaue"},
		{"single-quoted with a doubled quote", `critical: {when: 'text == "it''s" || text == "''" || vlaue'}`, "vlaue"},
		{"double-quoted", `critical: {when: "value > 90 && vlaue < 1"}`, "vlaue"},
		{"tagged", "critical: {when: !!str value > 90 && vlaue < 1}", "vlaue"},
		{"not unicode-naive", "critical: {when: text == 'é€😀' && vlaue < 1}", "vlaue"},
		{"literal block", "critical:\n      when: |\n        value > 90\n          && vlaue < 1\n", "vlaue"},
		{"literal block with indentation indicator", "critical:\n      when: |2\n            value > 90\n          && vlaue < 1", "vlaue"},
		{"literal block kept", "critical:\n      when: |+\n\n        value > 90 && vlaue\n\n", "vlaue"},
		{"pattern segment", "critical: {when: value > 1}\n    match: \"*/*/disk/disks/var log/used\"", "var log"},
		{"pattern single-quoted", "critical: {when: value > 1}\n    match: '*/*/disk/disks/%2fvar/used'", "%2fvar"},
		{"pattern plain", "critical: {when: value > 1}\n    match: a/b//d/e/f", "/d/e/f"},
		{"flow mapping in JSON", `critical: {"when": "value > 90 && vlaue < 1"}`, "vlaue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			match := "\n    match: \"*/*/cpu/cpu/*/utilisation\""
			if strings.Contains(tt.rule, "match:") {
				match = ""
			}
			src := "listen: 127.0.0.1:1\nrules:\n  - name: r" + match + "\n    " + tt.rule + "\n"
			_, err := config.Parse("gw.yaml", []byte(src))
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("Parse: %v, want one error", err)
			}
			e := errs[0]
			lines := strings.Split(src, "\n")
			if e.Line < 1 || e.Line > len(lines) || e.Column < 1 {
				t.Fatalf("error %v is outside the file", e)
			}
			line := []rune(lines[e.Line-1])
			if e.Column > len(line) || !strings.HasPrefix(string(line[e.Column-1:]), tt.at) {
				t.Errorf("error %v points at %q, want %q\n%s", e, string(line[min(e.Column-1, len(line)):]), tt.at, src)
			}
			if strings.Contains(e.Msg, "in the value") {
				t.Errorf("error %v says it is not exact", e)
			}
		})
	}
}

// TestRuleErrorAtTheValue checks that where the text of a condition is
// not the file's characters (folded, escaped, an alias), the error is at
// the value's start, and the message says where in the text it is.
func TestRuleErrorAtTheValue(t *testing.T) {
	tests := []struct {
		name, rule, want string
	}{
		{"folded block", "critical:\n      when: >\n        value > 90\n        && vlaue < 1", "gw.yaml:6:13: rules[0].critical.when: unknown name vlaue (at 1:15 in the value)"},
		{"escape before", `critical: {when: "text == \"x\" && vlaue < 1"}`, `gw.yaml:5:22: rules[0].critical.when: unknown name vlaue (at 1:16 in the value)`},
		{"plain over two lines", "critical:\n      when: value > 90 &&\n        vlaue < 1", "gw.yaml:6:13: rules[0].critical.when: unknown name vlaue (at 1:15 in the value)"},
		{"alias", "description: &w vlaue > 1\n    critical: {when: *w}", "gw.yaml:6:22: rules[0].critical.when: unknown name vlaue (at 1:1 in the value)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "listen: 127.0.0.1:1\nrules:\n  - name: r\n    match: \"*/*/cpu/cpu/*/utilisation\"\n    " + tt.rule + "\n"
			_, err := config.Parse("gw.yaml", []byte(src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse: %v\nwant %s\n%s", err, tt.want, src)
			}
		})
	}
}

// TestValidateRules checks that Config.Validate compiles rules too, with
// field paths and the place inside the text in the message.
func TestValidateRules(t *testing.T) {
	c := &config.Config{Listen: "127.0.0.1:1", Limits: config.DefaultLimits(), Sessions: config.DefaultSessions(),
		Audit: config.DefaultAudit(), Rules: []rules.Def{
			{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation", Critical: &rules.LevelDef{When: "value > > 1"}},
			{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation", Warning: &rules.LevelDef{When: "value > 1"}},
			{Name: "attrs", Match: "**", Where: map[string]rules.Values{"cost centre": nil}, Warning: &rules.LevelDef{When: "value > 1"}},
		}}
	want := "rules[0].critical.when: unexpected token Operator(\">\") (at 1:9 in the value)\n" +
		`rules[1].name: rule "cpu" is already defined (rules[0])` + "\n" +
		`rules[2].where["cost centre"]: list at least one value`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate: %v\nwant\n%s", err, want)
	}
}

func TestParseRule(t *testing.T) {
	def, err := config.ParseRule("rule.json", []byte(`{"name": "cpu", "match": "*/*/cpu/cpu/*/utilisation", "where": {"system": "OMS"}, "critical": {"when": "value > 90", "for": "30s"},
		"incident": {"open": "warning", "client": "customer", "manual": true, "impact": false, "escalation": "desk", "notify": ["desk-hook"], "title": "{{.Rule}} on {{.Entity}}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := rules.Def{Name: "cpu", Match: "*/*/cpu/cpu/*/utilisation", Where: map[string]rules.Values{"system": {"OMS"}},
		Critical: &rules.LevelDef{When: "value > 90", For: rules.Duration(30 * time.Second)},
		Incident: &rules.IncidentDef{Open: rules.Warning, Client: "customer", Manual: true, Escalation: "desk",
			Notify: []string{"desk-hook"}, Title: "{{.Rule}} on {{.Entity}}"}}
	if !reflect.DeepEqual(def, want) {
		t.Errorf("ParseRule = %+v, want %+v", def, want)
	}

	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "rule.yaml:1:1: the rule must be a mapping, not empty"},
		{"a list", "- name: x", "rule.yaml:1:1: the rule must be a mapping, not a list"},
		{"YAML", "name: cpu\nmatch: \"*/*/cpu/cpu/*/u\"\ncritical:\n  when: value >> 1\n  fro: 1s\n",
			"rule.yaml:4:16: critical.when: unexpected token Operator(\">\")\n" +
				"rule.yaml:5:3: critical.fro: unknown key (known: when, for, clear, keep_firing_for)"},
		{"JSON", `{"name": "cpu", "match": "*/*/cpu", "critical": {"when": "valeu > 1"}}`,
			"rule.yaml:1:26: match: a cell rule's pattern selects paths of 6 segments (probe/entity/sampler/dataview/row/column), but \"*/*/cpu\" cannot match one\n" +
				"rule.yaml:1:59: critical.when: unknown name valeu"},
		{"a second document", "name: a\nmatch: '*'\nprobe_down: 1s\nseverity: critical\n---\nname: b\n", "rule.yaml:5:1: a second YAML document: the rule is one document"},
		// Alone, a rule's escalation and actions are names the API
		// checks against the running configuration.
		{"incident", "name: cpu\nmatch: \"*/*/cpu/cpu/*/u\"\ncritical: {when: value > 1}\nincident:\n  open: ok\n  escalation: nowhere\n" +
			"  notify: [nothing, \"\"]\n  title: |\n    {{.Rule}}\n    {{.Rul}}\n  titel: x\n",
			"rule.yaml:5:9: incident.open: an incident opens at warning or critical; ok is no problem\n" +
				"rule.yaml:7:21: incident.notify[1]: an action's name is not empty\n" +
				"rule.yaml:10:7: incident.title: <.Rul>: can't evaluate field Rul in type incident.Signal\n" +
				"rule.yaml:11:3: incident.titel: unknown key (known: open, client, manual, impact, escalation, notify, title)"},
		{"incident title that does not parse", "name: cpu\nmatch: \"*/*/cpu/cpu/*/u\"\ncritical: {when: value > 1}\nincident:\n  title: |\n    {{.Rule}}\n    {{if}}\n",
			"rule.yaml:7:5: incident.title: missing value for if"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseRule("rule.yaml", []byte(tt.doc))
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("ParseRule: %T %v, want config.Errors", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseRule:\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}
