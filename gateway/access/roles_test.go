package access_test

import (
	"slices"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/access"
)

// Each default role holds what the one it builds on holds, and what the
// support desk expects of it: first line acknowledges but does not author
// rules, back line authors rules but does not close incidents or send
// client notices, only admins manage people.
func TestDefaultRoles(t *testing.T) {
	rs := access.DefaultRoles()
	has := func(role string, p access.Permission) bool { return slices.Contains(rs[role].Permissions, p) }
	builds := [][2]string{{"viewer", "operator"}, {"client", "operator"}, {"operator", "client-services"},
		{"operator", "engineer"}, {"engineer", "manager"}, {"client-services", "manager"}, {"manager", "admin"}}
	for _, b := range builds {
		for _, p := range rs[b[0]].Permissions {
			if !has(b[1], p) {
				t.Errorf("%s lacks %s, which %s holds", b[1], p, b[0])
			}
		}
	}
	for _, c := range []struct {
		role string
		p    access.Permission
		want bool
	}{
		{"client", access.View, true}, {"client", access.RaiseIncident, true}, {"client", access.ReadRules, false},
		{"client", access.Acknowledge, false},
		{"viewer", access.Acknowledge, false}, {"viewer", access.ReadRules, true},
		{"operator", access.Acknowledge, true}, {"operator", access.EditRules, false},
		{"client-services", access.SendClientNotice, true}, {"client-services", access.EditRules, false},
		{"engineer", access.EditRules, true}, {"engineer", access.SendClientNotice, false}, {"engineer", access.ResolveIncidents, false},
		{"manager", access.ResolveIncidents, true}, {"manager", access.ApproveActions, true}, {"manager", access.ManageUsers, false},
		{"admin", access.ManageUsers, true}, {"admin", access.ReadAudit, true}, {"admin", access.Debug, true},
	} {
		if got := has(c.role, c.p); got != c.want {
			t.Errorf("%s holds %s: %v, want %v", c.role, c.p, got, c.want)
		}
	}
	if !rs["client"].RequiresScope || rs["viewer"].RequiresScope {
		t.Errorf("only client requires a scope: client %v, viewer %v", rs["client"].RequiresScope, rs["viewer"].RequiresScope)
	}
	for _, r := range rs {
		for _, p := range r.Permissions {
			if !access.Known(p) {
				t.Errorf("role %s grants undeclared %s", r.Name, p)
			}
		}
	}
	if got := rs.Granting(access.EditRules); !slices.Equal(got, []string{"admin", "engineer", "manager"}) {
		t.Errorf("Granting(edit-rules) = %v", got)
	}
	perms, scoped, err := rs.Grant([]string{"viewer", "client"})
	if err != nil || !scoped || !slices.Contains(perms, access.RaiseIncident) || !slices.Contains(perms, access.ReadRules) {
		t.Errorf("Grant(viewer, client) = %v, %v, %v", perms, scoped, err)
	}
	if _, _, err := rs.Grant([]string{"root"}); err == nil {
		t.Error("Grant of an unknown role: no error")
	}
}

func TestScope(t *testing.T) {
	acme := access.Scope{Attribute: "client", Values: []string{"acme", "beta"}}
	for _, c := range []struct {
		attrs map[string]string
		want  bool
	}{
		{map[string]string{"client": "acme"}, true},
		{map[string]string{"client": "beta", "region": "emea"}, true},
		{map[string]string{"client": "gamma"}, false},
		{map[string]string{"region": "acme"}, false},
		{nil, false},
	} {
		if got := acme.Contains(c.attrs); got != c.want {
			t.Errorf("%s contains %v: %v", acme, c.attrs, got)
		}
	}
	if !(access.Scope{}).Contains(nil) || !(access.Scope{}).Whole() || acme.Whole() {
		t.Error("the zero scope is the whole estate")
	}
	if acme.String() != "client=acme|beta" {
		t.Errorf("String() = %q", acme.String())
	}
}
