package access

import (
	"fmt"
	"maps"
	"slices"
)

// Role is a named set of permissions. A role that RequiresScope may be
// held only by users (and kiosks) that have a scope: a client's people
// must never see the whole estate by a slip in the configuration.
type Role struct {
	Name          string
	Permissions   []Permission
	RequiresScope bool
}

// Roles is a role table by name. It is not changed once built.
type Roles map[string]Role

// DefaultRoles returns the roles every gateway starts with; the
// configuration may redefine any of them and add others. Each role holds
// the permissions of the one it builds on:
//
//	client           view and raise incidents, within its scope (required)
//	viewer           view and read rules, the whole estate or a scope
//	operator         first line: viewer + acknowledge, comment, snooze,
//	                 assign, raise incidents, request remedy commands
//	client-services  operator + client updates and notices, reports
//	engineer         back line: operator + author rules, backtest,
//	                 maintenance windows
//	manager          engineer + client-services + resolve and close
//	                 incidents, approve risky actions, escalation
//	admin            manager + users, probes, kiosks, audit, config
//	                 reload, profiles, metrics
func DefaultRoles() Roles {
	client := []Permission{View, RaiseIncident}
	viewer := []Permission{View, ReadRules}
	operator := append(slices.Clone(viewer), RaiseIncident, Acknowledge, Comment, Snooze, Assign, RequestRemedy)
	services := append(slices.Clone(operator), RecordClientUpdate, SendClientNotice, ReadReports)
	engineer := append(slices.Clone(operator), EditRules, Backtest, MaintenanceWindows)
	manager := append(slices.Clone(engineer), RecordClientUpdate, SendClientNotice, ReadReports,
		ResolveIncidents, ApproveActions, ManageEscalation)
	admin := append(slices.Clone(manager), ManageUsers, ManageProbes, ManageKiosks, ReadAudit, ReloadConfig, Debug, ScrapeMetrics)
	return Roles{
		"client":          {Name: "client", Permissions: client, RequiresScope: true},
		"viewer":          {Name: "viewer", Permissions: viewer},
		"operator":        {Name: "operator", Permissions: operator},
		"client-services": {Name: "client-services", Permissions: services},
		"engineer":        {Name: "engineer", Permissions: engineer},
		"manager":         {Name: "manager", Permissions: manager},
		"admin":           {Name: "admin", Permissions: admin},
	}
}

// Names returns the role names, sorted.
func (rs Roles) Names() []string { return slices.Sorted(maps.Keys(rs)) }

// Grant returns the permissions the named roles grant together, and
// whether one of them requires a scope. An unknown role is an error.
func (rs Roles) Grant(names []string) (perms []Permission, requiresScope bool, err error) {
	for _, n := range names {
		r, ok := rs[n]
		if !ok {
			return nil, false, fmt.Errorf("unknown role %q (roles: %v)", n, rs.Names())
		}
		perms = append(perms, r.Permissions...)
		requiresScope = requiresScope || r.RequiresScope
	}
	return perms, requiresScope, nil
}

// Granting returns the names of the roles that grant p, sorted.
func (rs Roles) Granting(p Permission) []string {
	var out []string
	for _, n := range rs.Names() {
		if slices.Contains(rs[n].Permissions, p) {
			out = append(out, n)
		}
	}
	return out
}
