package config_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/config"
)

const (
	argon2Hash = "$argon2id$v=19$m=19456,t=2,p=1$zVxsfuIhPJRonSYoBjeGWw$gExIzMHNcrfq3aiCNHu2n6Cwah573Wz4Puy2KVmMLH4"
	bcryptHash = "$2a$10$by/bpuHasSyX9/3TrB9Vk./Yl.uFVT1ZgHUAIAroGtrkUvCnnG/QC"
	metricsTok = "7046a5a5ed9ee58dcd295bc6a1a1cbba702cae04aef864262d38466442a77339"
)

// TestParseAccess checks what Parse decodes from a file with every key of
// access control, defaults filled in where a key is left out.
func TestParseAccess(t *testing.T) {
	c, err := config.Load("testdata/access.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Config{
		File:   "testdata/access.good.yaml",
		Listen: "127.0.0.1:7039",
		TLS:    &config.TLS{CertFile: "gw.crt", KeyFile: "gw.key", ClientCAFile: "probe-ca.pem"},
		Limits: config.DefaultLimits(),
		Roles: []config.Role{
			{Name: "night-operator", Extends: []string{"shift-base", "operator"}, Permissions: []access.Permission{access.MaintenanceWindows}},
			{Name: "shift-base", Permissions: []access.Permission{access.ReadReports, access.Snooze}},
			{Name: "client", Permissions: []access.Permission{access.View, access.Comment}, RequiresScope: true},
			{Name: "partner", Extends: []string{"viewer"}, RequiresScope: true},
			{Name: "viewer", Permissions: []access.Permission{access.View, access.ReadRules}},
			{Name: "client-plus", Extends: []string{"client"}, Permissions: []access.Permission{access.ReadReports}},
		},
		Users: []config.User{
			{Name: "alice", Roles: []string{"night-operator", "viewer"}, PasswordHash: argon2Hash},
			{Name: "acme-desk", Roles: []string{"client"}, Scope: access.Scope{Attribute: "client", Values: []string{"acme"}}},
			{Name: "Partner Desk/1", Roles: []string{"partner"},
				Scope: access.Scope{Attribute: "region", Values: []string{"emea", "apac"}}, PasswordHash: bcryptHash},
			{Name: "007", Roles: []string{"admin"}},
		},
		Sessions:  config.Sessions{IdleTimeout: 15 * time.Minute, AbsoluteTimeout: 720 * time.Hour},
		Metrics:   config.Metrics{BearerTokenSHA256: metricsTok, PublicOnLoopback: true},
		Audit:     config.Audit{Retention: 24 * time.Hour},
		History:   config.DefaultHistory(),
		Incidents: config.DefaultIncidents(),
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%s\nwant\n%s", dump(c), dump(want))
	}
}

// TestParseAccessDefaults checks that sections given in part keep the
// defaults of the keys they leave out.
func TestParseAccessDefaults(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		sessions config.Sessions
		audit    config.Audit
	}{
		{name: "absent", yaml: "", sessions: config.DefaultSessions(), audit: config.DefaultAudit()},
		{name: "empty", yaml: "sessions:\naudit: {}\n", sessions: config.DefaultSessions(), audit: config.DefaultAudit()},
		{
			name:     "idle only",
			yaml:     "sessions: {idle_timeout: 2h}\naudit: {retention: ~}\n",
			sessions: config.Sessions{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 12 * time.Hour},
			audit:    config.DefaultAudit(),
		},
		{
			name:     "absolute only",
			yaml:     "sessions: {absolute_timeout: 1h}\n",
			sessions: config.Sessions{IdleTimeout: time.Hour, AbsoluteTimeout: time.Hour},
			audit:    config.DefaultAudit(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("", []byte("listen: 127.0.0.1:1\n"+tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if c.Sessions != tt.sessions || c.Audit != tt.audit {
				t.Errorf("Sessions, Audit = %+v, %+v; want %+v, %+v", c.Sessions, c.Audit, tt.sessions, tt.audit)
			}
		})
	}
}

// TestRoleTable checks the roles a configuration's roles make: extended
// through roles defined before and after, redefined defaults replaced, and
// a scope required through extension.
func TestRoleTable(t *testing.T) {
	c, err := config.Load("testdata/access.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	table := c.RoleTable()
	defaults := access.DefaultRoles()

	// Its own, shift-base's and operator's, once each, in access.All's
	// order.
	night := table["night-operator"]
	wantSet := map[access.Permission]bool{access.MaintenanceWindows: true, access.ReadReports: true, access.Snooze: true}
	for _, p := range defaults["operator"].Permissions {
		wantSet[p] = true
	}
	gotSet := map[access.Permission]bool{}
	for _, p := range night.Permissions {
		gotSet[p] = true
	}
	if !reflect.DeepEqual(gotSet, wantSet) || len(night.Permissions) != len(wantSet) ||
		!inAllOrder(night.Permissions) || night.RequiresScope {
		t.Errorf("night-operator = %+v, want each of %v once, in access.All's order", night, wantSet)
	}

	p := func(ps ...access.Permission) []access.Permission { return ps }
	want := map[string]access.Role{
		"shift-base": {Name: "shift-base", Permissions: p(access.Snooze, access.ReadReports)},
		// Redefined: the default's raise-incident is gone.
		"client": {Name: "client", Permissions: p(access.View, access.Comment), RequiresScope: true},
		// Extends viewer as redefined.
		"partner":     {Name: "partner", Permissions: p(access.View, access.ReadRules), RequiresScope: true},
		"viewer":      {Name: "viewer", Permissions: p(access.View, access.ReadRules)},
		"client-plus": {Name: "client-plus", Permissions: p(access.View, access.Comment, access.ReadReports), RequiresScope: true},
		// Not redefined.
		"operator": defaults["operator"],
		"admin":    defaults["admin"],
	}
	for name, w := range want {
		if got := table[name]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %+v\nwant %+v", name, got, w)
		}
	}
	if got, want := len(table), len(defaults)+4; got != want {
		t.Errorf("%d roles (%v), want %d", got, table.Names(), want)
	}
}

// inAllOrder reports whether ps are in the order access.All gives them.
func inAllOrder(ps []access.Permission) bool {
	all := access.All()
	last := -1
	for _, p := range ps {
		i := slices.Index(all, p)
		if i <= last {
			return false
		}
		last = i
	}
	return true
}

// TestRoleTableExtendsMany checks that a role reached along many paths
// counts once, and is not walked along each: fifty layers of two roles,
// each extending both of the layer below, make 2^50 paths.
func TestRoleTableExtendsMany(t *testing.T) {
	c := &config.Config{Roles: []config.Role{
		{Name: "a0", Permissions: []access.Permission{access.View}},
		{Name: "b0", Permissions: []access.Permission{access.Comment}},
	}}
	for i := 1; i <= 50; i++ {
		below := []string{fmt.Sprint("a", i-1), fmt.Sprint("b", i-1)}
		c.Roles = append(c.Roles, config.Role{Name: fmt.Sprint("a", i), Extends: below}, config.Role{Name: fmt.Sprint("b", i), Extends: below})
	}
	if got, want := c.RoleTable()["a50"].Permissions, []access.Permission{access.View, access.Comment}; !reflect.DeepEqual(got, want) {
		t.Errorf("a50 = %v, want %v", got, want)
	}
}

// TestPasswordHashNotQuoted checks that no error about a password hash
// holds its text, nor the text of a value written where a hash belongs
// (it may be the password itself).
func TestPasswordHashNotQuoted(t *testing.T) {
	for _, hash := range []string{
		"correct horse battery staple",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$not base64!$aGFzaGhhc2hoYXNoaGFzaA",
		"$2b$10$tooshort",
		"$2b$99$by/bpuHasSyX9/3TrB9Vk./Yl.uFVT1ZgHUAIAroGtrkUvCnnG/QC",
		"$9x$10$by/bpuHasSyX9/3TrB9Vk./Yl.uFVT1ZgHUAIAroGtrkUvCnnG/QC",
	} {
		yaml := "listen: 127.0.0.1:1\nusers: [{name: u, roles: [viewer], password_hash: '" + hash + "'}]\n"
		_, err := config.Parse("", []byte(yaml))
		var errs config.Errors
		if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Field != "users[0].password_hash" {
			t.Errorf("hash %q: %v, want one error on users[0].password_hash", hash, err)
			continue
		}
		if strings.Contains(errs[0].Msg, hash) {
			t.Errorf("hash %q: error %q quotes it", hash, errs[0].Msg)
		}
		// The salt, the hash, bcrypt's tail: what identifies this one.
		for _, part := range strings.Split(hash, "$") {
			if len(part) >= 6 && part != "argon2id" && strings.Contains(errs[0].Msg, part) {
				t.Errorf("hash %q: error %q quotes %q", hash, errs[0].Msg, part)
			}
		}
	}
}

// TestValidateAccess checks access control in configurations built in
// code, which Validate judges as Parse does.
func TestValidateAccess(t *testing.T) {
	good := func() *config.Config {
		return &config.Config{
			Listen:   "127.0.0.1:7039",
			Limits:   config.DefaultLimits(),
			Probes:   []config.Probe{{Name: "p", TokenSHA256: token1}},
			Sessions: config.DefaultSessions(),
			Audit:    config.DefaultAudit(),
			Roles: []config.Role{
				{Name: "night", Extends: []string{"operator"}, Permissions: []access.Permission{access.MaintenanceWindows}},
			},
			Users: []config.User{
				{Name: "alice", Roles: []string{"night"}, PasswordHash: argon2Hash},
				{Name: "acme", Roles: []string{"client"}, Scope: access.Scope{Attribute: "client", Values: []string{"acme"}}},
			},
			Metrics: config.Metrics{BearerTokenSHA256: metricsTok},
		}
	}
	tests := []struct {
		name   string
		change func(c *config.Config)
		want   string
	}{
		{name: "valid", change: func(*config.Config) {}},
		{
			name:   "zero sessions and audit are not defaulted",
			change: func(c *config.Config) { c.Sessions, c.Audit = config.Sessions{}, config.Audit{} },
			want: "sessions.idle_timeout: 0s is below the minimum 1m\n" +
				"sessions.absolute_timeout: 0s is below the minimum 1m\n" +
				"audit.retention: 0s is below the minimum retention 24h",
		},
		{
			name: "absolute shorter than idle",
			change: func(c *config.Config) {
				c.Sessions = config.Sessions{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour}
			},
			want: "sessions.absolute_timeout: 1h is shorter than idle_timeout 2h: a session ends absolute_timeout " +
				"after its login whatever happens, so it must be at least idle_timeout",
		},
		{
			name: "roles",
			change: func(c *config.Config) {
				c.Roles = append(c.Roles,
					config.Role{Name: "night", Permissions: []access.Permission{"public", "snoze"}},
					config.Role{Name: "x", Extends: []string{"y", "nobody"}},
					config.Role{Name: "y", Extends: []string{"x"}},
				)
			},
			want: `roles.night: role "night" is defined twice` + "\n" +
				`roles.night.permissions[0]: "public" is not a permission a role grants: every caller has it` + "\n" +
				`roles.night.permissions[1]: unknown permission "snoze" (known: ` + strings.Join(permissionNames(), ", ") + ")\n" +
				`roles.x.extends[1]: unknown role "nobody" (known: admin, client, client-services, engineer, manager, night, operator, viewer, x, y)` + "\n" +
				"roles.y.extends[0]: roles cannot extend each other in a cycle: x → y → x",
		},
		{
			name: "users",
			change: func(c *config.Config) {
				c.Users = append(c.Users,
					config.User{Name: "alice", Roles: []string{"viewer"}},
					config.User{Name: "bob", Roles: []string{"client"}, PasswordHash: "plain-text-password"},
					config.User{Name: "carol", Roles: []string{"viewer"}, Scope: access.Scope{Attribute: "client"}},
					config.User{Name: "dave"},
				)
			},
			want: `users[2].name: user "alice" is already defined (users[0])` + "\n" +
				`users[3].roles: role "client" requires a scope; give the user scope: {client: …}` + "\n" +
				"users[3].password_hash: want an argon2id hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash) or a bcrypt one ($2b$…); " +
				"make one with `gateway user hash`\n" +
				"users[4].scope.client: list at least one value\n" +
				"users[5].roles: list at least one role (known: admin, client, client-services, engineer, manager, night, operator, viewer)",
		},
		{
			name:   "metrics token is a probe's",
			change: func(c *config.Config) { c.Metrics.BearerTokenSHA256 = token1 },
			want:   "metrics.bearer_token_sha256: same token as probes[0]: scrapers need a token of their own, which connects no probe",
		},
		{
			name:   "probe certificates without an authority",
			change: func(c *config.Config) { c.TLS = &config.TLS{CertFile: "c", KeyFile: "k", RequireProbeCert: true} },
			want:   "tls.require_probe_cert: needs client_ca_file, the authority that signs the probes' certificates",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(c)
			got := ""
			if err := c.Validate(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func permissionNames() []string {
	var names []string
	for _, p := range access.All() {
		names = append(names, string(p))
	}
	return names
}

// TestDocListsPermissions checks that the package documentation lists
// every permission a role can grant, and nothing else, as access.All
// grows.
func TestDocListsPermissions(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(src), "//   - permissions: the role's own, each listed once, from ")
	list, _, ok2 := strings.Cut(after, " (access.All)")
	if !ok || !ok2 {
		t.Fatal("doc.go has no list of permissions")
	}
	list = strings.NewReplacer("//", "", "\n", " ", " and ", ", ").Replace(list)
	var got []string
	for _, p := range strings.Split(list, ",") {
		got = append(got, strings.TrimSpace(p))
	}
	if want := permissionNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("doc.go lists %v\nwant %v", got, want)
	}
}
