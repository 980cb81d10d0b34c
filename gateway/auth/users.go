package auth

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// Limits on a scope given through the API or the command line.
const (
	maxScopeValues = 100
	maxScopeValue  = 128
)

// UserInfo is a user as the API and the command line list it: never its
// password hash.
type UserInfo struct {
	Name string `json:"name"`
	// Source is "config" for a user of the configuration file (read-only
	// here) or "database" for one managed at run time.
	Source   string    `json:"source"`
	Roles    []string  `json:"roles"`
	Scope    string    `json:"scope"` // "" or "client=acme|beta"
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created,omitzero"`
	Updated  time.Time `json:"updated,omitzero"`
	// HasPassword is false for a user who can log in only through a
	// one-time link.
	HasPassword bool `json:"has_password"`
}

func (p *principal) info() UserInfo {
	src := "database"
	if p.config {
		src = "config"
	}
	roles := p.roles
	if roles == nil {
		roles = []string{}
	}
	return UserInfo{Name: p.name, Source: src, Roles: roles, Scope: p.scope.String(), Disabled: p.disabled,
		Created: p.created, Updated: p.updated, HasPassword: p.hash != ""}
}

// checkUserName says what is wrong with a new user's name: 1 to 64 bytes
// of letters, digits and . _ - @, starting with a letter or digit.
func checkUserName(name string) error {
	if name == "" {
		return invalid("name: required")
	}
	if len(name) > maxName {
		return invalid("name: a user name has at most %d bytes", maxName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._-@", rune(c))) {
			return invalid("name %q: use letters, digits and . _ - @, starting with a letter or digit", name)
		}
	}
	return nil
}

// checkScope says what is wrong with a scope given through the API or
// the command line.
func checkScope(sc store.Scope) error {
	if sc.Attribute == "" {
		if len(sc.Values) > 0 {
			return invalid("scope: values without an attribute")
		}
		return nil
	}
	if len(sc.Attribute) > maxName {
		return invalid("scope: an attribute has at most %d bytes", maxName)
	}
	for i := 0; i < len(sc.Attribute); i++ {
		c := sc.Attribute[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return invalid("scope: attribute %q: use letters, digits and . _ -", sc.Attribute)
		}
	}
	switch {
	case len(sc.Values) == 0:
		return invalid("scope: attribute %s needs at least one value", sc.Attribute)
	case len(sc.Values) > maxScopeValues:
		return invalid("scope: at most %d values", maxScopeValues)
	}
	for i, v := range sc.Values {
		switch {
		case v == "":
			return invalid("scope: an empty value")
		case len(v) > maxScopeValue:
			return invalid("scope: a value has at most %d bytes", maxScopeValue)
		case strings.ContainsAny(v, "|\x00\r\n\t"):
			return invalid("scope: value %q: no | or control characters", v)
		case slices.Contains(sc.Values[:i], v):
			return invalid("scope: value %q given twice", v)
		}
	}
	return nil
}

// parseScope reads a scope as the API takes it: "client=acme|beta", or
// {"client": ["acme", "beta"]} (a single value may be a string), or
// null, "" or {} for the whole estate.
func parseScope(raw json.RawMessage) (store.Scope, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return store.Scope{}, nil
	}
	var sc store.Scope
	switch raw[0] {
	case '"':
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return sc, invalid("scope: %v", err)
		}
		if text == "" {
			return sc, nil
		}
		attr, vals, ok := strings.Cut(text, "=")
		if !ok {
			return sc, invalid(`scope %q: want attribute=value, like "client=acme" or "client=acme|beta"`, text)
		}
		sc = store.Scope{Attribute: attr, Values: strings.Split(vals, "|")}
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return sc, invalid("scope: %v", err)
		}
		if len(m) == 0 {
			return sc, nil
		}
		if len(m) > 1 {
			return sc, invalid(`scope: one attribute, like {"client": ["acme"]}`)
		}
		for attr, v := range m {
			var one string
			var many []string
			switch {
			case json.Unmarshal(v, &one) == nil:
				many = []string{one}
			case json.Unmarshal(v, &many) == nil:
			default:
				return sc, invalid("scope: the values of %s: want a string or a list of strings", attr)
			}
			sc = store.Scope{Attribute: attr, Values: many}
		}
	default:
		return sc, invalid(`scope: want "attribute=value" or {"attribute": ["value", …]}`)
	}
	return sc, checkScope(sc)
}

// prepareUser checks a new database user, and hashes its password: the
// rules the API and the command line share. isConfig reports whether a
// name is a configuration file's user.
func prepareUser(roles access.Roles, isConfig func(string) bool, u store.User, password string, params access.PasswordParams) (store.User, error) {
	if err := checkUserName(u.Name); err != nil {
		return u, err
	}
	if isConfig(u.Name) {
		return u, &configUserError{name: u.Name}
	}
	if err := checkRoles(roles, u.Roles); err != nil {
		return u, err
	}
	if err := checkScope(u.Scope); err != nil {
		return u, err
	}
	u.Disabled = false
	if err := dbPrincipal(u).build(roles); err != nil {
		return u, invalid("%v", err)
	}
	if err := access.CheckPassword(password); err != nil {
		return u, invalid("password: %v", err)
	}
	hash, err := access.HashPasswordWith(password, params)
	if err != nil {
		return u, err
	}
	u.PasswordHash = hash
	return u, nil
}

func checkRoles(roles access.Roles, names []string) error {
	if len(names) == 0 {
		return invalid("roles: give at least one role (roles: %s)", strings.Join(roles.Names(), ", "))
	}
	for i, n := range names {
		if _, ok := roles[n]; !ok {
			return invalid("roles: unknown role %q (roles: %s)", n, strings.Join(roles.Names(), ", "))
		}
		if slices.Contains(names[:i], n) {
			return invalid("roles: %s given twice", n)
		}
	}
	return nil
}

// mayManage refuses (403) a caller who would manage a user holding, or
// give one, a permission the caller does not hold: each of held is the
// roles a user has or is given. Without it a role granting manage-users
// and little else would let its holder make an administrator, take one
// over by setting its password, or become one. Unknown roles (a disabled
// user's) grant nothing now, and enabling checks the roles again.
func mayManage(caller access.Identity, roles access.Roles, target string, held ...[]string) error {
	for _, names := range held {
		for _, n := range names {
			for _, p := range roles[n].Permissions {
				if !caller.Can(p) {
					return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
						"%s may not manage %s: role %s grants %s, which %s does not hold", whoName(caller), target, n, p, whoName(caller)))
				}
			}
		}
	}
	return nil
}

// changes says what a change to a user does, for its audit entries: the
// actions and a detail for each.
func changes(cur, next *principal) []struct{ action, detail string } {
	var out []struct{ action, detail string }
	var what []string
	if !access.SameNames(cur.roles, next.roles) {
		what = append(what, fmt.Sprintf("roles %s → %s", strings.Join(cur.roles, ","), strings.Join(next.roles, ",")))
	}
	if !cur.scope.Equal(next.scope) {
		what = append(what, fmt.Sprintf("scope %q → %q", cur.scope.String(), next.scope.String()))
	}
	if len(what) > 0 {
		out = append(out, struct{ action, detail string }{store.AuditUserUpdate, strings.Join(what, "; ") + "; its sessions ended"})
	}
	switch {
	case next.disabled && !cur.disabled:
		out = append(out, struct{ action, detail string }{store.AuditUserDisable, "its sessions ended"})
	case !next.disabled && cur.disabled:
		out = append(out, struct{ action, detail string }{store.AuditUserEnable, ""})
	}
	return out
}

// applied is cur with ch made.
func applied(cur *principal, ch store.UserChange) *principal {
	next := *cur
	if ch.Roles != nil {
		next.roles = slices.Clone(ch.Roles)
	}
	if ch.Scope != nil {
		next.scope = toAccess(*ch.Scope)
	}
	if ch.Disabled != nil {
		next.disabled = *ch.Disabled
	}
	if ch.PasswordHash != "" {
		next.hash = ch.PasswordHash
	}
	next.updated = ch.At
	return &next
}

// changeUser changes a database user in the store and in memory, under
// s.mu: plan says, from the user as it is, what to change and the audit
// entries (none: nothing to do). A change that ends the user's sessions
// ends them (but ch.KeepSession) in the same store transaction. It
// returns the user as changed and the sessions ended, for Ended.
func (s *Service) changeUser(name string, plan func(cur *principal) (store.UserChange, []store.Audit, error)) (*principal, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snap.Load()
	cur := sn.users[name]
	switch {
	case cur == nil:
		return nil, nil, fmt.Errorf("no user %s: %w", name, store.ErrNotFound)
	case cur.config:
		return nil, nil, &configUserError{name: name}
	}
	ch, audit, err := plan(cur)
	if err != nil {
		return nil, nil, err
	}
	if len(audit) == 0 {
		return cur, nil, nil
	}
	next := applied(cur, ch)
	if !next.disabled {
		if err := checkRoles(sn.roles, next.roles); err != nil {
			return nil, nil, err
		}
	}
	if err := next.build(sn.roles); err != nil {
		return nil, nil, invalid("%v", err)
	}
	u, _, err := s.store.ChangeUser(name, ch, audit...)
	if err != nil {
		return nil, nil, err
	}
	np := dbPrincipal(u)
	if err := np.build(sn.roles); err != nil {
		return nil, nil, err // checked above, on the same user
	}
	ns := sn.clone()
	ns.users = maps.Clone(sn.users)
	ns.users[name] = np
	var ids []string
	ends := cur.endsSessions(np)
	for _, l := range sn.byHash {
		if l.kiosk != nil || l.user.Load().name != name {
			continue
		}
		if ends && l.key != ch.KeepSession {
			ns.remove(l)
			ids = append(ids, l.id)
			continue
		}
		l.user.Store(np)
	}
	s.snap.Store(ns)
	return np, ids, nil
}

func (s *Service) listUsers(c *echo.Context) error {
	sn := s.snap.Load()
	out := make([]UserInfo, 0, len(sn.users))
	for _, n := range slices.Sorted(maps.Keys(sn.users)) {
		out = append(out, sn.users[n].info())
	}
	return replyJSON(c, http.StatusOK, out)
}

func (s *Service) addUser(c *echo.Context) error {
	var body struct {
		Name     string          `json:"name"`
		Roles    []string        `json:"roles"`
		Scope    json.RawMessage `json:"scope"`
		Password string          `json:"password"`
	}
	if err := decodeJSON(c, maxBody, &body); err != nil {
		return s.fail(c, err)
	}
	sc, err := parseScope(body.Scope)
	if err != nil {
		return s.fail(c, err)
	}
	now := s.now()
	sn := s.snap.Load()
	isConfig := func(n string) bool { p := sn.users[n]; return p != nil && p.config }
	u, err := prepareUser(sn.roles, isConfig, store.User{Name: body.Name, Roles: body.Roles, Scope: sc, Created: now, Updated: now},
		body.Password, s.params)
	if err != nil {
		return s.fail(c, err)
	}
	a := s.auditBy(c, now, store.AuditUserAdd, u.Name, userDetail(u), true)
	p, err := s.storeNewUser(access.IdentityOf(c), u, a)
	if err != nil {
		return s.fail(c, err)
	}
	return replyJSON(c, http.StatusCreated, p.info())
}

func userDetail(u store.User) string {
	d := "roles " + strings.Join(u.Roles, ",")
	if sc := toAccess(u.Scope); !sc.Whole() {
		d += ", scope " + sc.String()
	}
	return d
}

// storeNewUser adds a prepared user to the store and to memory, if its
// roles grant nothing beyond what caller holds.
func (s *Service) storeNewUser(caller access.Identity, u store.User, a store.Audit) (*principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snap.Load()
	if err := mayManage(caller, sn.roles, u.Name, u.Roles); err != nil {
		return nil, err
	}
	if q := sn.users[u.Name]; q != nil {
		if q.config {
			return nil, &configUserError{name: u.Name}
		}
		return nil, fmt.Errorf("user %s: %w", u.Name, store.ErrExists)
	}
	p := dbPrincipal(u)
	if err := p.build(sn.roles); err != nil {
		return nil, invalid("%v", err) // the role table changed since prepareUser
	}
	if err := s.store.AddUser(u, a); err != nil {
		return nil, err
	}
	ns := sn.clone()
	ns.users = maps.Clone(sn.users)
	ns.users[u.Name] = p
	s.snap.Store(ns)
	return p, nil
}

func (s *Service) updateUser(c *echo.Context) error {
	name := c.Param("name")
	var body struct {
		Roles    []string        `json:"roles"`
		Scope    json.RawMessage `json:"scope"`
		Disabled *bool           `json:"disabled"`
	}
	if err := decodeJSON(c, maxBody, &body); err != nil {
		return s.fail(c, err)
	}
	if body.Roles == nil && body.Scope == nil && body.Disabled == nil {
		return s.fail(c, invalid("nothing to change: give roles, scope or disabled"))
	}
	var ch store.UserChange
	if body.Roles != nil {
		ch.Roles = body.Roles
	}
	if body.Scope != nil {
		sc, err := parseScope(body.Scope)
		if err != nil {
			return s.fail(c, err)
		}
		ch.Scope = &sc
	}
	ch.Disabled = body.Disabled
	now := s.now()
	ch.At = now
	p, ids, err := s.changeUser(name, func(cur *principal) (store.UserChange, []store.Audit, error) {
		next := applied(cur, ch)
		if err := mayManage(access.IdentityOf(c), s.snap.Load().roles, name, cur.roles, next.roles); err != nil {
			return ch, nil, err
		}
		var audit []store.Audit
		for _, x := range changes(cur, next) {
			audit = append(audit, s.auditBy(c, now, x.action, name, x.detail, true))
		}
		return ch, audit, nil
	})
	if err != nil {
		return s.fail(c, err)
	}
	s.notify(ids)
	return replyJSON(c, http.StatusOK, p.info())
}

func (s *Service) setUserPassword(c *echo.Context) error {
	name := c.Param("name")
	var body struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(c, maxBody, &body); err != nil {
		return s.fail(c, err)
	}
	sn := s.snap.Load()
	if p := sn.users[name]; p == nil {
		return s.fail(c, fmt.Errorf("no user %s: %w", name, store.ErrNotFound))
	} else if p.config {
		return s.fail(c, &configUserError{name: name, what: "its password_hash"})
	}
	if err := access.CheckPassword(body.Password); err != nil {
		return s.fail(c, invalid("password: %v", err))
	}
	hash, err := access.HashPasswordWith(body.Password, s.params)
	if err != nil {
		return s.fail(c, err)
	}
	now := s.now()
	a := s.auditBy(c, now, store.AuditUserPassword, name, "password set; its sessions ended", true)
	_, ids, err := s.changeUser(name, func(cur *principal) (store.UserChange, []store.Audit, error) {
		if err := mayManage(access.IdentityOf(c), s.snap.Load().roles, name, cur.roles); err != nil {
			return store.UserChange{}, nil, err
		}
		return store.UserChange{PasswordHash: hash, At: now}, []store.Audit{a}, nil
	})
	if err != nil {
		return s.fail(c, err)
	}
	s.notify(ids)
	return c.NoContent(http.StatusNoContent)
}

// sessionJSON is a person's live session.
type sessionJSON struct {
	ID       string `json:"id"`
	User     string `json:"user"`
	Created  string `json:"created"`
	LastSeen string `json:"last_seen"`
	Source   string `json:"source"`
	Agent    string `json:"user_agent"`
}

func (s *Service) listSessions(c *echo.Context) error {
	sn := s.snap.Load()
	var ls []*live
	for _, l := range sn.byHash {
		if l.kiosk == nil {
			ls = append(ls, l)
		}
	}
	slices.SortFunc(ls, func(a, b *live) int {
		return cmp.Or(cmp.Compare(a.created, b.created), strings.Compare(a.id, b.id))
	})
	out := make([]sessionJSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, sessionJSON{ID: l.id, User: l.userName(), Created: rfc3339(nsTime(l.created)),
			LastSeen: rfc3339(nsTime(l.lastSeen.Load())), Source: l.source, Agent: l.agent})
	}
	return replyJSON(c, http.StatusOK, out)
}

func (s *Service) endSession(c *echo.Context) error {
	id := c.Param("id")
	sn := s.snap.Load()
	l := sn.byID[id]
	if l == nil || l.kiosk != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no session "+id+" (GET /api/v1/sessions lists them)")
	}
	p := l.user.Load()
	if err := mayManage(access.IdentityOf(c), sn.roles, p.name, p.roles); err != nil {
		return err
	}
	a := s.auditBy(c, s.now(), store.AuditSessionEnd, l.userName(), "session "+id, true)
	ids, err := s.end([]*live{l}, a)
	if err != nil {
		return s.fail(c, err)
	}
	if len(ids) == 0 {
		return echo.NewHTTPError(http.StatusNotFound, "session "+id+" has ended already")
	}
	s.notify(ids)
	return c.NoContent(http.StatusNoContent)
}

// The command line's user management, against a store opened directly
// while no gateway runs (the store's lock file refuses a second opener).
// cfg is the gateway's configuration, for its roles and its users (whose
// names the database cannot take); by names who runs the command, for
// the audit log.

func cliAudit(action, target, detail, by string) store.Audit {
	return store.Audit{Time: time.Now(), Who: by, Kind: "person", Source: "cli", Action: action, Target: target, OK: true, Detail: detail}
}

func configUsers(cfg *config.Config) func(string) bool {
	return func(name string) bool {
		return slices.ContainsFunc(cfg.Users, func(u config.User) bool { return u.Name == name })
	}
}

// AddUser adds a database user with a password, checked as the API checks
// it: a free name (not the configuration's), known roles, a scope if a
// role requires one, an acceptable password.
func AddUser(st *store.Store, cfg *config.Config, u store.User, password, by string) error {
	now := time.Now()
	u.Created, u.Updated = now, now
	u, err := prepareUser(cfg.RoleTable(), configUsers(cfg), u, password, access.DefaultPasswordParams)
	if err != nil {
		return err
	}
	return st.AddUser(u, cliAudit(store.AuditUserAdd, u.Name, userDetail(u), by))
}

// SetPassword sets a database user's password, ending its sessions in the
// same store transaction.
func SetPassword(st *store.Store, cfg *config.Config, name, password, by string) error {
	if configUsers(cfg)(name) {
		return &configUserError{name: name, what: "its password_hash"}
	}
	if err := access.CheckPassword(password); err != nil {
		return invalid("password: %v", err)
	}
	hash, err := access.HashPasswordWith(password, access.DefaultPasswordParams)
	if err != nil {
		return err
	}
	_, _, err = st.ChangeUser(name, store.UserChange{PasswordHash: hash, At: time.Now()},
		cliAudit(store.AuditUserPassword, name, "password set; its sessions ended", by))
	return err
}

// SetDisabled disables a database user, deleting its sessions in the same
// store transaction, or enables it again, checking that its roles are
// still defined.
func SetDisabled(st *store.Store, cfg *config.Config, name string, disabled bool, by string) error {
	if configUsers(cfg)(name) {
		return &configUserError{name: name, what: "its entry"}
	}
	u, err := st.User(name)
	if err != nil {
		return err
	}
	if u.Disabled == disabled {
		return nil
	}
	action, detail := store.AuditUserDisable, "its sessions ended"
	if !disabled {
		action, detail = store.AuditUserEnable, ""
		roles := cfg.RoleTable()
		if err := checkRoles(roles, u.Roles); err != nil {
			return err
		}
		u.Disabled = false
		if err := dbPrincipal(u).build(roles); err != nil {
			return invalid("%v", err)
		}
	}
	_, _, err = st.ChangeUser(name, store.UserChange{Disabled: &disabled, At: time.Now()}, cliAudit(action, name, detail, by))
	return err
}

// ListUsers lists the configuration's users and the database's, sorted by
// name.
func ListUsers(st *store.Store, cfg *config.Config) ([]UserInfo, error) {
	dbUsers, err := st.Users()
	if err != nil {
		return nil, err
	}
	var out []UserInfo
	for _, u := range cfg.Users {
		out = append(out, configPrincipal(u).info())
	}
	for _, u := range dbUsers {
		out = append(out, dbPrincipal(u).info())
	}
	slices.SortStableFunc(out, func(a, b UserInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ParseScope reads a scope as the command line gives it, "client=acme" or
// "client=acme|beta"; "" is the whole estate.
func ParseScope(text string) (store.Scope, error) {
	raw, err := json.Marshal(text)
	if err != nil {
		return store.Scope{}, err
	}
	sc, err := parseScope(raw)
	if err != nil {
		return sc, err
	}
	return sc, checkScope(sc)
}
