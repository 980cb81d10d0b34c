package gateway_test

import (
	"testing"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// A YAML PUT body that leaves the name out takes the path's, whatever
// YAML style it is written in (docs/api.md: "its name must be the path's,
// or left out").
func TestYAMLUpdateWithoutNameAnyStyle(t *testing.T) {
	bodies := map[string]string{
		"flow mapping (JSON as YAML)": `{"match": "*/*/disk/*/*/used", "critical": {"when": "value > 95"}}`,
		"flow mapping over lines":     "{match: \"*/*/disk/*/*/used\",\n critical: {when: value > 95}}\n",
		"document end marker":         "match: \"*/*/disk/*/*/used\"\ncritical:\n  when: value > 95\n...\n",
		"indented block mapping":      "  match: \"*/*/disk/*/*/used\"\n  critical:\n    when: value > 95\n",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			gw := startRules(t, nil)
			call(t, gw, "POST", "/api/v1/rules", "application/yaml", "name: disk\nmatch: \"*/*/disk/*/*/used\"\ncritical:\n  when: value > 90\n").want(t, 201)
			r := call(t, gw, "PUT", "/api/v1/rules/disk", "application/yaml", body)
			if r.code != 200 {
				t.Fatalf("PUT YAML body without a name (%s): status %d, want 200: %s", name, r.code, r.body)
			}
			var v store.RuleVersion
			r.decode(t, &v)
			if v.Def.Name != "disk" || v.Def.Critical == nil || v.Def.Critical.When != "value > 95" {
				t.Errorf("stored %+v", v.Def)
			}
		})
	}
}

// Naming a YAML PUT body after its path changes none of its values: a
// keep block scalar keeps its trailing newlines.
func TestYAMLUpdateWithoutNameKeepsValues(t *testing.T) {
	body := "match: \"*/*/disk/*/*/used\"\ncritical:\n  when: value > 95\ndescription: |+\n  disk nearly full\n\n\n"
	want, err := config.ParseRule("body", []byte("name: disk\n"+body))
	if err != nil {
		t.Fatal(err)
	}
	gw := startRules(t, nil)
	call(t, gw, "POST", "/api/v1/rules", "application/yaml", "name: disk\nmatch: \"*/*/disk/*/*/used\"\ncritical:\n  when: value > 90\n").want(t, 201)
	var v store.RuleVersion
	call(t, gw, "PUT", "/api/v1/rules/disk", "application/yaml", body).want(t, 200).decode(t, &v)
	if v.Def.Description != want.Description {
		t.Errorf("stored description %q, but the body's is %q", v.Def.Description, want.Description)
	}
}
