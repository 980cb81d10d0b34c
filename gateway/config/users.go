package config

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/watchfloor/watchfloor/gateway/access"
)

// Access control's part of the configuration: roles, users, sessions,
// who may scrape metrics, and how long the audit log keeps its entries.
// The keys are decoded here and in decodeConfig, and checked here.

// roles decodes the mapping of role names to their definitions, in file
// order. A role whose definition is broken is kept, so that users holding
// it are not also told it is unknown.
func roles(v value) []Role {
	es, _ := v.entries("a mapping of role names to their definitions")
	var rs []Role
	for _, e := range es {
		// The key is the role's name: validation's errors about the
		// role as a whole point at it.
		e.val.placeAt(e.at)
		r := Role{Name: e.key}
		// A redefined default role that required a scope still does
		// unless the file says otherwise: listing client's permissions
		// anew must not quietly show clients the whole estate.
		if def, ok := access.DefaultRoles()[e.key]; ok {
			r.RequiresScope = def.RequiresScope
		}
		e.val.object(
			optional("extends", func(v value) { r.Extends = strs(v) }),
			optional("permissions", func(v value) {
				for _, p := range strs(v) {
					r.Permissions = append(r.Permissions, access.Permission(p))
				}
			}),
			optional("requires_scope", setBool(&r.RequiresScope)),
		)
		rs = append(rs, r)
	}
	return rs
}

func user(v value) User {
	var u User
	v.object(
		required("name", setStr(&u.Name)),
		required("roles", func(v value) { u.Roles = strs(v) }),
		optional("scope", func(v value) { u.Scope = scope(v) }),
		optional("password_hash", setStr(&u.PasswordHash)),
	)
	return u
}

// scope decodes a user's scope: one attribute and its value, or a list of
// values, as a rule's where gives them.
func scope(v value) access.Scope {
	const like = "like {client: acme} or {client: [acme, beta]}"
	es, ok := v.entries("a mapping of one attribute to its value, " + like)
	if !ok {
		return access.Scope{}
	}
	if len(es) != 1 {
		var keys []string
		for _, e := range es {
			keys = append(keys, e.key)
		}
		if len(es) == 0 {
			v.fail("must name one attribute and its value, %s; leave scope out for the whole estate", like)
		} else {
			v.fail("must name one attribute and its value, %s, not %d attributes (%s)", like, len(es), strings.Join(keys, ", "))
		}
		return access.Scope{}
	}
	e := es[0]
	s := access.Scope{Attribute: e.key}
	switch e.val.kind {
	case sequence:
		s.Values = strs(e.val)
	case scalar:
		text, _ := e.val.str()
		s.Values = []string{text}
	default:
		e.val.mustBe("a value or a list of values")
	}
	return s
}

// The bounds of sessions' timeouts and of the audit log's retention: a
// session shorter than a minute would end between two clicks, one longer
// than a month outlives the people who should still hold it, and a day is
// the least an audit log must remember to be of use after an incident.
const (
	minTimeout   = time.Minute
	maxAbsolute  = 30 * 24 * time.Hour
	minRetention = 24 * time.Hour
)

// access checks the roles, the users, the sessions, the metrics token
// (against the probes' tokens, in tokens) and the audit log's retention.
func (v *validator) access(c *Config, tokens map[string]string) {
	table := c.RoleTable()
	known := strings.Join(table.Names(), ", ")
	v.roles(c.Roles, table, known)
	v.users(c.Users, table, known)
	v.sessions(c.Sessions)
	v.metrics(c.Metrics, tokens)
	if r := c.Audit.Retention; r < minRetention {
		v.errorf("audit.retention", "%s is below the minimum retention %s", short(r), short(minRetention))
	}
}

// roles checks the roles the configuration defines: each named once, its
// permissions ones a role can grant, each listed once, its extensions
// known roles, without cycles. known lists the role names for messages.
func (v *validator) roles(rs []Role, table access.Roles, known string) {
	defined := map[string]bool{}
	for _, r := range rs {
		f := join("roles", r.Name)
		switch {
		case r.Name == "":
			v.errorf(f, "a role needs a name")
		case !utf8.ValidString(r.Name):
			v.errorf(f, "role names must be valid UTF-8")
		case defined[r.Name]:
			// Parse reports a key given twice; this is for Validate.
			v.errorf(f, "role %q is defined twice", r.Name)
		}
		defined[r.Name] = true

		listed := map[access.Permission]string{}
		for j, p := range r.Permissions {
			pf := index(f+".permissions", j)
			switch {
			case !v.nonEmpty(pf, string(p)):
			case p == access.Public || p == access.Probe:
				v.errorf(pf, "%q is not a permission a role grants: every caller has it", p)
			case !access.Known(p):
				v.errorf(pf, "unknown permission %q (known: %s)", p, permissionNames())
			case listed[p] != "":
				v.errorf(pf, "%q is already listed (%s)", p, listed[p])
			default:
				listed[p] = pf
			}
		}

		extends := map[string]string{}
		for j, name := range r.Extends {
			ef := index(f+".extends", j)
			switch _, ok := table[name]; {
			case !v.nonEmpty(ef, name):
			case extends[name] != "":
				v.errorf(ef, "role %q is already listed (%s)", name, extends[name])
			case !ok:
				v.errorf(ef, "unknown role %q (known: %s)", name, known)
			default:
				extends[name] = ef
			}
		}
	}
	v.roleCycles(rs)
}

// roleCycles reports roles that extend each other in a cycle, each at the
// extension that closes it: a role that extends itself, and one cycle
// through others for each role that closes one, which bounds the errors
// that many roles extending each other can make.
func (v *validator) roleCycles(rs []Role) {
	byName := map[string]Role{}
	for _, r := range rs {
		if _, dup := byName[r.Name]; !dup {
			byName[r.Name] = r
		}
	}
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		state[name] = active
		stack = append(stack, name)
		reported := false
		for j, e := range byName[name].Extends {
			if _, ok := byName[e]; !ok {
				continue
			}
			switch state[e] {
			case unvisited:
				visit(e)
			case active:
				ef := index(join("roles", name)+".extends", j)
				if e == name {
					v.errorf(ef, "a role cannot extend itself (a redefined default role replaces the default: "+
						"list all its permissions, or define a role of another name that extends it)")
					continue
				}
				if reported {
					continue
				}
				reported = true
				cycle := append(slices.Clone(stack[slices.Index(stack, e):]), e)
				v.errorf(ef, "roles cannot extend each other in a cycle: %s", strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, r := range rs {
		if state[r.Name] == unvisited {
			visit(r.Name)
		}
	}
}

// permissionNames lists the permissions a role can grant, for messages.
func permissionNames() string {
	var names []string
	for _, p := range access.All() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// users checks the users defined in the file: each named once, holding
// known roles, with a scope if one of them requires it, and a password
// hash the gateway can verify.
func (v *validator) users(users []User, table access.Roles, known string) {
	names := map[string]string{}
	for i, u := range users {
		f := index("users", i)
		v.unique(f+".name", "user", u.Name, names, f)
		v.userRoles(f, u, table, known)
		v.scope(f+".scope", u.Scope)
		if u.PasswordHash != "" {
			// The hash is never quoted back: it is as good as a
			// password to someone who can try guesses offline.
			if err := access.ParsePasswordHash(u.PasswordHash); err != nil {
				v.errorf(f+".password_hash", "%v; make one with `gateway user hash`", err)
			}
		}
	}
}

// userRoles checks the roles of the user at field f.
func (v *validator) userRoles(f string, u User, table access.Roles, known string) {
	rf := f + ".roles"
	if len(u.Roles) == 0 {
		v.errorf(rf, "list at least one role (known: %s)", known)
		return
	}
	// A role whose definition did not decode, or a broken roles key, is
	// not judged again through its users.
	rolesComplete := !v.skipped("roles")
	scoped := ""
	listed := map[string]string{}
	for j, name := range u.Roles {
		jf := index(rf, j)
		if !v.nonEmpty(jf, name) {
			continue
		}
		if first, dup := listed[name]; dup {
			v.errorf(jf, "role %q is already listed (%s)", name, first)
			continue
		}
		listed[name] = jf
		r, ok := table[name]
		switch {
		case !ok:
			if rolesComplete {
				v.errorf(jf, "unknown role %q (known: %s)", name, known)
			}
		case r.RequiresScope && scoped == "" && !v.skipped(join("roles", name)):
			scoped = name
		}
	}
	if scoped != "" && u.Scope.Whole() && !v.skipped(f+".scope") {
		v.errorf(rf, "role %q requires a scope; give the user scope: {client: …}", scoped)
	}
}

// scope checks a user's scope, at field f: the zero Scope, or an
// attribute with at least one value, none empty, each listed once.
func (v *validator) scope(f string, s access.Scope) {
	if s.Attribute == "" {
		if len(s.Values) > 0 {
			v.errorf(join(f, ""), "attribute names must not be empty")
		}
		return
	}
	af := join(f, s.Attribute)
	if !utf8.ValidString(s.Attribute) {
		v.errorf(af, "attribute names must be valid UTF-8")
	}
	if len(s.Values) == 0 {
		v.errorf(af, "list at least one value")
		return
	}
	listed := map[string]string{}
	for j, val := range s.Values {
		vf := index(af, j)
		switch {
		case !v.nonEmpty(vf, val):
		case !utf8.ValidString(val):
			v.errorf(vf, "must be valid UTF-8")
		case listed[val] != "":
			v.errorf(vf, "%q is already listed (%s)", val, listed[val])
		default:
			listed[val] = vf
		}
	}
}

// sessions checks the timeouts: each at least a minute, the absolute one
// at most 30 days and no shorter than the idle one.
func (v *validator) sessions(s Sessions) {
	const idle, absolute = "sessions.idle_timeout", "sessions.absolute_timeout"
	idleOK := s.IdleTimeout >= minTimeout && !v.skipped(idle)
	if s.IdleTimeout < minTimeout {
		v.errorf(idle, "%s is below the minimum %s", short(s.IdleTimeout), short(minTimeout))
	}
	switch a := s.AbsoluteTimeout; {
	case a < minTimeout:
		v.errorf(absolute, "%s is below the minimum %s", short(a), short(minTimeout))
	case a > maxAbsolute:
		v.errorf(absolute, "%s is above the maximum %s (30 days)", short(a), short(maxAbsolute))
	case idleOK && a < s.IdleTimeout:
		v.errorf(absolute, "%s is shorter than idle_timeout %s: a session ends absolute_timeout after its login "+
			"whatever happens, so it must be at least idle_timeout", short(a), short(s.IdleTimeout))
	}
}

// metrics checks the hash of the scrapers' bearer token. It must be no
// probe's: the token sits in Prometheus's configuration, read by more
// people than a probe's, and must not let them connect as a probe.
func (v *validator) metrics(m Metrics, tokens map[string]string) {
	const field = "metrics.bearer_token_sha256"
	tok := m.BearerTokenSHA256
	if tok == "" || !v.sha256Hex(field, tok, "the bearer token scrapers present") {
		return
	}
	if first := tokens[tok]; first != "" {
		v.errorf(field, "same token as %s: scrapers need a token of their own, which connects no probe", first)
	}
}

// short formats d as Go does, without its zero minutes and seconds: 1h,
// not 1h0m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
