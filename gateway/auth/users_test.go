package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

func TestUsersAPI(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.login("root", "root-password")
	add := func(body any) resp { return admin.req(http.MethodPost, "/api/v1/users", body) }

	r := add(map[string]any{"name": "alice", "roles": []string{"operator"}, "password": "alice-password"})
	want(t, "add alice", r, http.StatusCreated, `"source":"database"`)
	for _, c := range []struct {
		name string
		body any
		code int
		msg  string
	}{
		{"duplicate", map[string]any{"name": "alice", "roles": []string{"viewer"}, "password": "other-password"}, 409, "exists"},
		{"a config user's name", map[string]any{"name": "olive", "roles": []string{"viewer"}, "password": "other-password"}, 409, "defined in the config file"},
		{"unknown role", map[string]any{"name": "bob", "roles": []string{"wizard"}, "password": "bob-password"}, 400,
			`unknown role \"wizard\" (roles: admin, client, client-services, engineer, manager, operator, viewer)`},
		{"no roles", map[string]any{"name": "bob", "password": "bob-password"}, 400, "at least one role"},
		{"a role needing a scope, without", map[string]any{"name": "bob", "roles": []string{"client"}, "password": "bob-password"}, 400, "requires a scope"},
		{"short password", map[string]any{"name": "bob", "roles": []string{"viewer"}, "password": "short"}, 400, "at least 8 characters"},
		{"bad name", map[string]any{"name": "bob smith", "roles": []string{"viewer"}, "password": "bob-password"}, 400, "use letters, digits"},
		{"a name with a colon", map[string]any{"name": "kiosk:x", "roles": []string{"viewer"}, "password": "bob-password"}, 400, "use letters"},
		{"long name", map[string]any{"name": strings.Repeat("b", 65), "roles": []string{"viewer"}, "password": "bob-password"}, 400, "at most 64"},
		{"bad scope", map[string]any{"name": "bob", "roles": []string{"client"}, "scope": "client=", "password": "bob-password"}, 400, "empty value"},
		{"unknown field", map[string]any{"name": "bob", "roles": []string{"viewer"}, "password": "bob-password", "admin": true}, 400, "unknown field"},
	} {
		want(t, c.name, add(c.body), c.code, c.msg)
	}
	want(t, "a client with a scope", add(map[string]any{"name": "carl", "roles": []string{"client"}, "scope": map[string]any{"client": "acme"},
		"password": "carl-password"}), http.StatusCreated, `"scope":"client=acme"`)
	want(t, "not JSON", admin.req(http.MethodPost, "/api/v1/users", "name=bob", "Content-Type", "text/plain"), 415, "")
	want(t, "an operator adding a user", e.operator().req(http.MethodPost, "/api/v1/users", map[string]any{"name": "x"}), 403, "manage-users")

	list := admin.get("/api/v1/users")
	want(t, "list", list, http.StatusOK, "")
	if strings.Contains(list.text(), "argon2") || strings.Contains(list.text(), "password_hash") {
		t.Errorf("the user list shows hashes: %s", list.body)
	}
	for _, s := range []string{`"name":"alice","source":"database","roles":["operator"]`, `"name":"olive","source":"config"`,
		`"name":"demo","source":"config","roles":["admin"],"scope":"","disabled":false,"has_password":false`} {
		if !strings.Contains(list.text(), s) {
			t.Errorf("the list lacks %s: %s", s, list.body)
		}
	}

	// alice changes her own password: her other sessions end, this one stays.
	a1, a2 := e.client(), e.client()
	a1.login("alice", "alice-password")
	a2.login("alice", "alice-password")
	id1, id2 := a1.session(), a2.session()
	want(t, "a wrong old password", a1.req(http.MethodPost, "/api/v1/me/password", map[string]string{"old": "wrong-one", "new": "alice-password-2"}),
		http.StatusForbidden, "the old password is wrong")
	want(t, "a short new password", a1.req(http.MethodPost, "/api/v1/me/password", map[string]string{"old": "alice-password", "new": "short"}),
		http.StatusBadRequest, "new: a password needs at least 8 characters")
	want(t, "own password", a1.req(http.MethodPost, "/api/v1/me/password", map[string]string{"old": "alice-password", "new": "alice-password-2"}),
		http.StatusNoContent, "")
	want(t, "the session that changed it", a1.get("/api/v1/me"), http.StatusOK, "")
	want(t, "her other session", a2.get("/api/v1/me"), http.StatusUnauthorized, "")
	if !e.ended.has(id2) || e.ended.has(id1) {
		t.Errorf("Ended told %v; want %s and not %s", e.ended.list(), id2, id1)
	}
	e.client().login("alice", "alice-password-2")
	want(t, "a config user's own password", e.operator().req(http.MethodPost, "/api/v1/me/password",
		map[string]string{"old": "olive-password", "new": "olive-password-2"}), http.StatusConflict,
		"user olive is defined in the config file; change its password_hash there")

	// Changing roles ends her sessions.
	put := func(name string, body any) resp { return admin.req(http.MethodPut, "/api/v1/users/"+name, body) }
	r = put("alice", map[string]any{"roles": []string{"engineer"}})
	want(t, "roles", r, http.StatusOK, `"roles":["engineer"]`)
	want(t, "alice after her roles changed", a1.get("/api/v1/me"), http.StatusUnauthorized, "")
	if !e.ended.has(id1) {
		t.Error("a change of roles did not end the user's session")
	}
	a1.login("alice", "alice-password-2")
	if m := a1.get("/api/v1/me").json(t); !slices.Contains(m["permissions"].([]any), any("edit-rules")) {
		t.Errorf("alice, now an engineer, holds %v", m["permissions"])
	}
	want(t, "the same roles again", put("alice", map[string]any{"roles": []string{"engineer"}}), http.StatusOK, "")
	want(t, "a session a no-op change keeps", a1.get("/api/v1/me"), http.StatusOK, "")

	// Disabling ends them, and refuses the login.
	id1 = a1.session()
	want(t, "disable", put("alice", map[string]any{"disabled": true}), http.StatusOK, `"disabled":true`)
	if !e.ended.has(id1) {
		t.Error("disabling did not end the user's session")
	}
	want(t, "a disabled login", e.client().req(http.MethodPost, "/api/v1/login", map[string]string{"user": "alice", "password": "alice-password-2"}),
		http.StatusUnauthorized, "account disabled")
	want(t, "enable", put("alice", map[string]any{"disabled": false}), http.StatusOK, `"disabled":false`)
	a1.login("alice", "alice-password-2")

	for _, c := range []struct {
		name, user string
		body       any
		code       int
		msg        string
	}{
		{"a config user", "olive", map[string]any{"roles": []string{"admin"}}, 409, "defined in the config file"},
		{"nobody", "nobody", map[string]any{"disabled": true}, 404, "no user nobody"},
		{"nothing", "alice", map[string]any{}, 400, "nothing to change"},
		{"unknown role", "alice", map[string]any{"roles": []string{"wizard"}}, 400, "unknown role"},
		{"no roles", "alice", map[string]any{"roles": []string{}}, 400, "at least one role"},
		{"client without scope", "alice", map[string]any{"roles": []string{"client"}}, 400, "requires a scope"},
		{"unknown field", "alice", map[string]any{"password": "x"}, 400, "unknown field"},
	} {
		want(t, c.name, put(c.user, c.body), c.code, c.msg)
	}
	want(t, "scope", put("alice", map[string]any{"scope": "client=acme"}), http.StatusOK, `"scope":"client=acme"`)
	a1.login("alice", "alice-password-2")

	// An administrator sets her password: all her sessions end.
	id1 = a1.session()
	want(t, "a config user's password", admin.req(http.MethodPost, "/api/v1/users/olive/password", map[string]string{"password": "x-password"}),
		http.StatusConflict, "change its password_hash there")
	want(t, "nobody's password", admin.req(http.MethodPost, "/api/v1/users/nobody/password", map[string]string{"password": "x-password"}),
		http.StatusNotFound, "")
	want(t, "a short password", admin.req(http.MethodPost, "/api/v1/users/alice/password", map[string]string{"password": "x"}),
		http.StatusBadRequest, "at least 8")
	want(t, "set password", admin.req(http.MethodPost, "/api/v1/users/alice/password", map[string]string{"password": "alice-password-3"}),
		http.StatusNoContent, "")
	if !e.ended.has(id1) {
		t.Error("setting the password did not end the user's sessions")
	}
	a1.login("alice", "alice-password-3")

	// Sessions: listed, and ended one by one.
	sessions := admin.get("/api/v1/sessions")
	want(t, "sessions", sessions, http.StatusOK, `"user":"alice"`)
	id1 = a1.session()
	if !strings.Contains(sessions.text(), id1) {
		t.Errorf("the sessions list lacks %s: %s", id1, sessions.body)
	}
	want(t, "end a session", admin.req(http.MethodDelete, "/api/v1/sessions/"+id1, nil), http.StatusNoContent, "")
	want(t, "the ended session", a1.get("/api/v1/me"), http.StatusUnauthorized, "")
	want(t, "end it again", admin.req(http.MethodDelete, "/api/v1/sessions/"+id1, nil), http.StatusNotFound, "")

	// Everything was audited, by root, on alice.
	var got []string
	for _, a := range e.audit(store.AuditQuery{Target: "alice", Limit: 1000}) {
		if a.Action != store.AuditLogin && a.Action != store.AuditLoginFailed {
			got = append(got, fmt.Sprint(a.Who, " ", a.Action, " ", a.OK))
		}
	}
	slices.Reverse(got)
	wantAudit := []string{"root user.add true", "alice user.password false", "alice user.password true", "root user.update true",
		"root user.disable true", "root user.enable true", "root user.update true", "root user.password true", "root session.end true"}
	if !slices.Equal(got, wantAudit) {
		t.Errorf("audit on alice:\n%q\nwant\n%q", got, wantAudit)
	}
}

// A holder of manage-users whose roles grant less than an administrator's
// cannot make an administrator, take one over, disable one, end its
// sessions or promote itself: it manages only users whose roles grant
// nothing beyond its own, and gives only such roles.
func TestNoGrantBeyondOwn(t *testing.T) {
	st := store.OpenMemory()
	defer st.Close()
	for _, u := range []store.User{
		{Name: "ada", Roles: []string{"admin"}, PasswordHash: hash("ada-password")},
		{Name: "hal", Roles: []string{"helpdesk"}, PasswordHash: hash("hal-password")},
	} {
		if err := st.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig()
	cfg.Roles = []config.Role{{Name: "helpdesk", Permissions: []access.Permission{access.View, access.ManageUsers}}}
	e := newEnv(t, withStore(st), withConfig(cfg))
	hal := e.client()
	hal.login("hal", "hal-password")
	root := e.client()
	root.login("root", "root-password")
	for _, c := range []struct {
		name, method, path string
		body               any
	}{
		{"add an administrator", http.MethodPost, "/api/v1/users", map[string]any{"name": "eve", "roles": []string{"admin"}, "password": "eve-password"}},
		{"set an administrator's password", http.MethodPost, "/api/v1/users/ada/password", map[string]any{"password": "taken-over"}},
		{"disable an administrator", http.MethodPut, "/api/v1/users/ada", map[string]any{"disabled": true}},
		{"promote himself", http.MethodPut, "/api/v1/users/hal", map[string]any{"roles": []string{"helpdesk", "admin"}}},
		{"end an administrator's session", http.MethodDelete, "/api/v1/sessions/" + root.session(), nil},
	} {
		want(t, "hal may not "+c.name, hal.req(c.method, c.path, c.body), http.StatusForbidden, "which hal does not hold")
	}
	want(t, "ada after all that", e.client().req(http.MethodPost, "/api/v1/login", map[string]string{"user": "ada", "password": "ada-password"}),
		http.StatusOK, "")
	want(t, "root after all that", root.get("/api/v1/me"), http.StatusOK, "")
	if es := e.audit(store.AuditQuery{Action: "user."}); len(es) != 0 {
		t.Errorf("audit entries for refused changes: %+v", es)
	}
	// What his own roles cover, he may do.
	want(t, "hal adds a helpdesk user", hal.req(http.MethodPost, "/api/v1/users",
		map[string]any{"name": "hugo", "roles": []string{"helpdesk"}, "password": "hugo-password"}), http.StatusCreated, "")
	want(t, "hal sets hugo's password", hal.req(http.MethodPost, "/api/v1/users/hugo/password",
		map[string]any{"password": "hugo-password-2"}), http.StatusNoContent, "")
	want(t, "hal disables hugo", hal.req(http.MethodPut, "/api/v1/users/hugo", map[string]any{"disabled": true}), http.StatusOK, "")
}

// The same scope with its values in another order is no change: no
// session ends, and the audit log does not say one did.
func TestScopeInAnotherOrder(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.login("root", "root-password")
	want(t, "add", admin.req(http.MethodPost, "/api/v1/users", map[string]any{"name": "alice", "roles": []string{"viewer"},
		"scope": "client=acme|beta", "password": "alice-password"}), http.StatusCreated, "")
	alice := e.client()
	alice.login("alice", "alice-password")
	want(t, "the scope reordered", admin.req(http.MethodPut, "/api/v1/users/alice", map[string]any{"scope": "client=beta|acme"}), http.StatusOK, "")
	want(t, "alice's session", alice.get("/api/v1/me"), http.StatusOK, "")
	if es := e.audit(store.AuditQuery{Action: store.AuditUserUpdate}); len(es) != 0 {
		t.Errorf("audit entries for no change: %+v", es)
	}
}

// The command line's helpers share the API's checks, and disabling from
// it deletes the user's sessions in the same transaction. They hash with
// the default parameters.
func TestCLI(t *testing.T) {
	st := store.OpenMemory()
	defer st.Close()
	cfg := testConfig()
	if err := auth.AddUser(st, cfg, store.User{Name: "bob", Roles: []string{"viewer"}}, "bob-password", "ops"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		u    store.User
		pw   string
		want string
	}{
		{"duplicate", store.User{Name: "bob", Roles: []string{"viewer"}}, "bob-password", "exists"},
		{"a config user", store.User{Name: "root", Roles: []string{"viewer"}}, "root-password", "defined in the config file"},
		{"unknown role", store.User{Name: "cy", Roles: []string{"wizard"}}, "cy-password", "unknown role"},
		{"short password", store.User{Name: "cy", Roles: []string{"viewer"}}, "cy", "at least 8"},
	} {
		if err := auth.AddUser(st, cfg, c.u, c.pw, "ops"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	u, err := st.User("bob")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("bob = %+v, %v; want a hash with the default parameters", u, err)
	}

	// bob logs in (through a service), then the service stops and the
	// command line disables him.
	e := newEnv(t, withStore(st), withConfig(cfg))
	bob := e.client()
	bob.login("bob", "bob-password")
	e.srv.Close()
	if ss, _ := st.Sessions(); len(ss) != 1 {
		t.Fatalf("sessions %+v", ss)
	}
	if err := auth.SetDisabled(st, cfg, "bob", true, "ops"); err != nil {
		t.Fatal(err)
	}
	if ss, _ := st.Sessions(); len(ss) != 0 {
		t.Errorf("disabling kept bob's sessions: %+v", ss)
	}
	if err := auth.SetDisabled(st, cfg, "root", true, "ops"); err == nil {
		t.Error("the command line disabled a config user")
	}
	if err := auth.SetDisabled(st, cfg, "nobody", true, "ops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("disabling nobody: %v", err)
	}
	if err := auth.SetPassword(st, cfg, "bob", "bob-password-2", "ops"); err != nil {
		t.Fatal(err)
	}
	if err := auth.SetPassword(st, cfg, "bob", "x", "ops"); err == nil {
		t.Error("a short password was set")
	}
	if err := auth.SetPassword(st, cfg, "olive", "olive-password-2", "ops"); err == nil || !strings.Contains(err.Error(), "password_hash") {
		t.Errorf("setting a config user's password: %v", err)
	}
	list, err := auth.ListUsers(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Name+":"+u.Source)
	}
	if !slices.Equal(names, []string{"bob:database", "demo:config", "olive:config", "root:config", "vera:config"}) {
		t.Errorf("ListUsers = %q", names)
	}
	// Enabling checks the roles are still defined.
	if err := auth.SetDisabled(st, cfg, "bob", false, "ops"); err != nil {
		t.Fatal(err)
	}
	var es []string
	for _, a := range slices.Backward(mustQuery(t, st, store.AuditQuery{Who: "ops"})) {
		es = append(es, a.Action+" "+a.Target+" "+a.Source)
	}
	if !slices.Equal(es, []string{"user.add bob cli", "user.disable bob cli", "user.password bob cli", "user.enable bob cli"}) {
		t.Errorf("the command line's audit: %q", es)
	}
}

func mustQuery(t *testing.T, st *store.Store, q store.AuditQuery) []store.Audit {
	t.Helper()
	es, _, err := st.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// A configuration whose roles the database's users no longer find, or
// whose users clash with the database's, is refused at start, by Check
// and by Apply.
func TestConfigAgainstDatabase(t *testing.T) {
	st := store.OpenMemory()
	defer st.Close()
	cfg := testConfig()
	cfg.Roles = []config.Role{{Name: "desk", Extends: []string{"operator"}}}
	if err := st.AddUser(store.User{Name: "dana", Roles: []string{"desk"}, PasswordHash: hash("dana-password")}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withStore(st), withConfig(cfg))

	clash := testConfig()
	clash.Roles = cfg.Roles
	clash.Users = append(clash.Users, config.User{Name: "dana", Roles: []string{"viewer"}})
	err := e.svc.Check(clash)
	if err == nil || !strings.Contains(err.Error(), "user dana is defined in the configuration file and in the database") {
		t.Errorf("Check of a clashing configuration: %v", err)
	}
	noRole := testConfig()
	err = e.svc.Check(noRole)
	if err == nil || !strings.Contains(err.Error(), `user dana: unknown role "desk"`) || !strings.Contains(err.Error(), "gateway user disable dana") {
		t.Errorf("Check of a configuration without dana's role: %v", err)
	}
	if err := e.svc.Apply(noRole); err == nil {
		t.Error("Apply took a configuration Check refuses")
	}
	e.client().login("dana", "dana-password") // the running configuration is unchanged

	o := e.options
	o.Config = clash
	if _, err := auth.New(o); err == nil || !strings.Contains(err.Error(), "dana") {
		t.Errorf("New with a clashing configuration: %v", err)
	}
	// A disabled database user's missing role is no obstacle.
	yes := true
	if _, _, err := st.ChangeUser("dana", store.UserChange{Disabled: &yes, At: t0}); err != nil {
		t.Fatal(err)
	}
	o.Config = noRole
	if _, err := auth.New(o); err != nil {
		t.Errorf("New with a disabled user's role gone: %v", err)
	}
	if err := auth.SetDisabled(st, noRole, "dana", false, "ops"); err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Errorf("enabling a user whose role is gone: %v", err)
	}
}

// A reload ends the sessions of configuration users removed or changed,
// and only theirs; the others go on with what their roles grant now.
func TestApply(t *testing.T) {
	st := store.OpenMemory()
	defer st.Close()
	if err := st.AddUser(store.User{Name: "alice", Roles: []string{"operator"}, PasswordHash: hash("alice-password")}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withStore(st))
	root, olive, vera, alice := e.client(), e.client(), e.client(), e.client()
	root.login("root", "root-password")
	olive.login("olive", "olive-password")
	vera.login("vera", "vera-password")
	alice.login("alice", "alice-password")
	ids := map[string]string{"root": root.session(), "olive": olive.session(), "vera": vera.session(), "alice": alice.session()}

	next := testConfig()
	next.Users = slices.DeleteFunc(next.Users, func(u config.User) bool { return u.Name == "vera" }) // removed
	next.Users[1].Roles = []string{"engineer"}                                                       // olive
	next.Roles = []config.Role{{Name: "operator", Permissions: append(access.DefaultRoles()["operator"].Permissions, access.Backtest)}}
	next.Sessions.IdleTimeout = 5 * time.Minute
	if err := e.svc.Check(next); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Apply(next); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		c     *client
		ended bool
	}{{"root", root, false}, {"olive", olive, true}, {"vera", vera, true}, {"alice", alice, false}} {
		if e.ended.has(ids[c.name]) != c.ended {
			t.Errorf("%s's session: ended %v, want %v", c.name, !c.ended, c.ended)
		}
		code := http.StatusOK
		if c.ended {
			code = http.StatusUnauthorized
		}
		want(t, c.name+" after the reload", c.c.get("/api/v1/me"), code, "")
	}
	m := alice.get("/api/v1/me").json(t)
	if !slices.Contains(m["permissions"].([]any), any("backtest")) || m["idle_timeout"] != float64(300) {
		t.Errorf("alice after the reload: %v; want the redefined operator's backtest and the new idle timeout", m)
	}
	if ss, _ := st.Sessions(); len(ss) != 2 {
		t.Errorf("stored sessions after the reload: %+v, want root's and alice's", ss)
	}
	want(t, "vera's login", e.client().req(http.MethodPost, "/api/v1/login", map[string]string{"user": "vera", "password": "vera-password"}),
		http.StatusUnauthorized, "wrong user name or password")
	olive.login("olive", "olive-password")
	if m := olive.get("/api/v1/me").json(t); !slices.Contains(m["roles"].([]any), any("engineer")) {
		t.Errorf("olive after the reload: %v", m)
	}
	if got := e.svc.RolesGranting(access.Backtest); !slices.Contains(got, "operator") {
		t.Errorf("RolesGranting(backtest) = %v, want operator among them", got)
	}
}

// The audit API: filters, pages, and bad parameters.
func TestAuditAPI(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	admin.login("root", "root-password")
	e.clock.Advance(time.Minute)
	e.client().req(http.MethodPost, "/api/v1/login", map[string]string{"user": "olive", "password": "wrong-password"})
	e.clock.Advance(time.Minute)
	o := e.operator()
	e.clock.Advance(time.Minute)
	o.req(http.MethodPost, "/api/v1/logout", nil)

	q := func(query string) map[string]any {
		t.Helper()
		r := admin.get("/api/v1/audit" + query)
		want(t, "audit "+query, r, http.StatusOK, "")
		return r.json(t)
	}
	actions := func(m map[string]any) []string {
		var out []string
		for _, x := range m["entries"].([]any) {
			a := x.(map[string]any)
			out = append(out, a["action"].(string)+" "+a["who"].(string))
		}
		return out
	}
	if got := actions(q("")); !slices.Equal(got, []string{"logout olive", "login olive", "login.failed olive", "login root"}) {
		t.Errorf("all: %q", got)
	}
	if got := actions(q("?action=login.")); !slices.Equal(got, []string{"login olive", "login.failed olive", "login root"}) {
		t.Errorf("the login family: %q", got)
	}
	if got := actions(q("?who=olive&action=login")); !slices.Equal(got, []string{"login olive"}) {
		t.Errorf("olive's logins: %q", got)
	}
	if got := actions(q("?target=root")); !slices.Equal(got, []string{"login root"}) {
		t.Errorf("on root: %q", got)
	}
	since := t0.Add(time.Minute).Format(time.RFC3339)
	until := t0.Add(3 * time.Minute).Format(time.RFC3339)
	if got := actions(q("?since=" + since + "&until=" + until)); !slices.Equal(got, []string{"login olive", "login.failed olive"}) {
		t.Errorf("between: %q", got)
	}
	p1 := q("?limit=3")
	p2 := q("?limit=3&before=" + p1["next"].(string))
	if got := append(actions(p1), actions(p2)...); len(got) != 4 || p2["next"] != "" || got[3] != "login root" {
		t.Errorf("pages: %q, next %v", got, p2["next"])
	}
	if e := q("?who=nobody")["entries"]; e == nil || len(e.([]any)) != 0 {
		t.Errorf("no entries: %v, want []", e)
	}
	entry := q("?action=login.failed")["entries"].([]any)[0].(map[string]any)
	if entry["kind"] != "anonymous" || entry["source"] != "127.0.0.1" || entry["ok"] != false || entry["detail"] != "wrong password" {
		t.Errorf("the failed login's entry: %v", entry)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?limit=x", "?since=yesterday", "?until=2026-03-02", "?before=zzz",
		"?colour=red", "?who=a&who=b"} {
		want(t, "audit "+bad, admin.get("/api/v1/audit"+bad), http.StatusBadRequest, "")
	}
	want(t, "an operator reading the audit", e.operator().get("/api/v1/audit"), http.StatusForbidden, "read-audit")
}

// The sweep deletes entries older than the retention, hourly.
func TestAuditRetention(t *testing.T) {
	cfg := testConfig()
	cfg.Audit.Retention = 24 * time.Hour
	e := newEnv(t, withConfig(cfg))
	old := store.Audit{Time: t0.Add(-25 * time.Hour), Who: "x", Kind: "person", Action: store.AuditConfigReload, OK: true}
	recent := store.Audit{Time: t0.Add(-23 * time.Hour), Who: "x", Kind: "person", Action: store.AuditConfigReload, OK: true}
	if err := e.st.Record(old, recent); err != nil {
		t.Fatal(err)
	}
	e.svc.Sweep()
	if es := e.audit(store.AuditQuery{}); len(es) != 1 || !es[0].Time.Equal(recent.Time) {
		t.Errorf("after a sweep: %+v, want the recent entry only", es)
	}
	e.clock.Advance(59 * time.Minute)
	e.svc.Sweep()
	if es := e.audit(store.AuditQuery{}); len(es) != 1 {
		t.Errorf("within the hour, a sweep deleted entries: %+v", es)
	}
	e.clock.Advance(2 * time.Minute)
	e.svc.Sweep()
	if es := e.audit(store.AuditQuery{}); len(es) != 0 {
		t.Errorf("an hour on, the entry over 24 h old is kept: %+v", es)
	}
}

// Record writes what another part of the gateway did, as its caller.
func TestRecord(t *testing.T) {
	e := newEnv(t)
	r, _ := http.NewRequest(http.MethodPost, "/api/v1/config/reload", nil)
	r.RemoteAddr = "192.0.2.44:5555"
	id := access.NewIdentity("root", access.KindPerson, access.ReloadConfig)
	e.svc.Record(r.WithContext(access.WithIdentity(r.Context(), id)), store.AuditConfigReload, "gateway.yaml", "3 rules changed", true)
	e.svc.Record(r, store.AuditConfigReloadFailed, "gateway.yaml", "line 3: unknown key", false)
	es := e.audit(store.AuditQuery{Action: "config.reload."})
	if len(es) != 2 {
		t.Fatalf("entries %+v", es)
	}
	wantEntries := []store.Audit{
		{Time: t0, Who: "anonymous", Kind: "anonymous", Source: "192.0.2.44", Action: store.AuditConfigReloadFailed, Target: "gateway.yaml", Detail: "line 3: unknown key"},
		{Time: t0, Who: "root", Kind: "person", Source: "192.0.2.44", Action: store.AuditConfigReload, Target: "gateway.yaml", OK: true, Detail: "3 rules changed"},
	}
	for i := range es {
		if es[i] != wantEntries[i] {
			t.Errorf("entry %d = %+v\nwant %+v", i, es[i], wantEntries[i])
		}
	}
}
