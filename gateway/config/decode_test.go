package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// rule and decodeRules are a schema of another shape than the gateway's,
// as the rules file will be: nested lists of objects, free-form values and
// whole numbers. The decoder must serve it as it is.
type rule struct {
	group, name string
	severity    int64
	match       []string
	labels      json.RawMessage
}

func decodeRules(root value) []rule {
	var rules []rule
	root.object(required("groups", func(v value) {
		for _, g := range v.items() {
			var group string
			g.object(
				required("name", setStr(&group)),
				optional("rules", func(v value) {
					for _, item := range v.items() {
						r := rule{group: group, severity: 1}
						item.object(
							required("name", setStr(&r.name)),
							optional("severity", func(v value) { r.severity, _ = v.integer() }),
							required("match", func(v value) { r.match = strs(v) }),
							optional("labels", func(v value) { r.labels = v.json() }),
						)
						rules = append(rules, r)
					}
				}),
			)
		}
	}))
	return rules
}

func parseRules(t *testing.T, yaml string) (*decoder, []rule) {
	t.Helper()
	d := newDecoder("rules.yaml", "the rules file")
	root, ok := d.parse([]byte(yaml))
	if !ok {
		t.Fatalf("parse: %v", d.errs.err())
	}
	return d, decodeRules(root)
}

func TestDecoderDrivesAnotherSchema(t *testing.T) {
	d, rules := parseRules(t, `groups:
  - name: disks
    rules:
      - name: full
        severity: 2
        match: [disk/*/used, &m "disk/*/free"]
        labels: {team: ops, page: true}
      - name: slow
        match: [*m]
`)
	if err := d.errs.err(); err != nil {
		t.Fatalf("errors: %v", err)
	}
	want := []rule{
		{group: "disks", name: "full", severity: 2, match: []string{"disk/*/used", "disk/*/free"}, labels: json.RawMessage(`{"team":"ops","page":true}`)},
		{group: "disks", name: "slow", severity: 1, match: []string{"disk/*/free"}},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("rules =\n%+v\nwant\n%+v", rules, want)
	}
	// Validation of decoded values finds their places by field path; a
	// field left out is placed at its nearest ancestor.
	for field, want := range map[string]place{
		"groups[0].rules[0].match[1]": {6, 30},
		"groups[0].rules[1].match[0]": {9, 17},
		"groups[0].rules[1].severity": {8, 9},
	} {
		if line, col := d.place(field); (place{line, col}) != want {
			t.Errorf("place(%s) = %d:%d, want %d:%d", field, line, col, want.line, want.col)
		}
	}
}

func TestDecoderErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
		bad  []string // fields validation must skip
	}{
		{
			name: "document of the wrong kind",
			yaml: "- groups: []",
			want: []string{`rules.yaml:1:1: the rules file must be a mapping, not a list`},
			bad:  []string{"", "groups"},
		},
		{
			name: "every mistake, in file order",
			yaml: `groups:
  - name: disks
    rules:
      - name: full
        severity: high
        match: disk/*/used
        lables: {}
      - severity: 3
        match: [a, [b]]
        labels: {a: .inf, a: 1}
  - rules: {}
    nmae: cpu
`,
			want: []string{
				`rules.yaml:5:19: groups[0].rules[0].severity: must be a whole number, not "high"`,
				`rules.yaml:6:16: groups[0].rules[0].match: must be a list, not "disk/*/used"`,
				`rules.yaml:7:9: groups[0].rules[0].lables: unknown key (known: name, severity, match, labels)`,
				`rules.yaml:8:9: groups[0].rules[1].name: required`,
				`rules.yaml:9:20: groups[0].rules[1].match[1]: must be a string, not a list`,
				`rules.yaml:10:21: groups[0].rules[1].labels.a: ".inf" has no JSON form`,
				`rules.yaml:10:27: groups[0].rules[1].labels.a: duplicate key (first at line 10)`,
				`rules.yaml:11:5: groups[1].name: required`,
				`rules.yaml:11:12: groups[1].rules: must be a list, not a mapping`,
				`rules.yaml:12:5: groups[1].nmae: unknown key (known: name, rules)`,
			},
			bad: []string{"groups[0].rules[0].severity", "groups[0].rules[1].labels", "groups[1].rules", "groups[1].name"},
		},
		{
			name: "aliases that expand too far",
			yaml: `groups:
  - name: laughs
    rules:
      - {name: a, match: [x], labels: {a: &a [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]}}
      - {name: b, match: [x], labels: {b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}}
      - {name: c, match: [x], labels: {c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}}
      - {name: d, match: [x], labels: {d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}}
      - {name: e, match: [x], labels: {e: [*d]}}
`,
			want: []string{`rules.yaml:7:99: groups[0].rules[3].labels.d[13]: aliases expand the rules file to more than 65536 values`},
			bad:  []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder("rules.yaml", "the rules file")
			root, ok := d.parse([]byte(tt.yaml))
			if !ok {
				t.Fatalf("parse: %v", d.errs.err())
			}
			decodeRules(root)
			err := d.errs.err()
			if err == nil {
				t.Fatal("no errors")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%s\nwant\n%s", err, strings.Join(tt.want, "\n"))
			}
			for _, f := range tt.bad {
				if !d.skip(f) {
					t.Errorf("skip(%q) = false", f)
				}
			}
		})
	}
}
