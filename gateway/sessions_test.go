package gateway_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// The dashboard socket checks the session before it upgrades: without
// one, or with one that ended, the upgrade is refused with 401.
func TestDashboardSocketNeedsSession(t *testing.T) {
	gw := startClients(t, gateway.Options{})
	if _, err := gt.TryDialDashboard(gw.Addr, ""); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("dial without a session: %v, want 401", err)
	}
	if _, err := gt.TryDialDashboard(gw.Addr, "watchfloor_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("dial with an unknown session: %v, want 401", err)
	}
	s := gt.Login(t, gw.URL(), "viewer")
	if code, body := s.Do(t, http.MethodPost, "/api/v1/logout", nil); code != http.StatusNoContent {
		t.Fatalf("log out: %d %s", code, body)
	}
	if _, err := gt.TryDialDashboard(gw.Addr, s.Cookie); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("dial with a logged-out session: %v, want 401", err)
	}
}

// treeJSON is /api/v1/tree's answer.
type treeJSON struct {
	Counts map[string]int64 `json:"counts"`
	Probes []gt.TreeNode    `json:"probes"`
}

// A scoped viewer sees only its client's entities, everywhere: the tree
// on its socket and in the API, the tree's roll-up counts, the dataview
// list and reads, the probe list; a subscription outside its scope is
// refused. When a reload moves an entity out of its scope, its
// subscription there is withdrawn and the tree follows.
func TestScopedViewerSeesOnlyItsScope(t *testing.T) {
	gw, write := gt.StartFile(t, gateway.Options{})
	write(clientsConfig(gw.Addr))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	admin := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, acmeProbe)
	gt.StartProbe(t, gw.Addr, betaProbe)
	waitDataview(admin, cpuPath(acmeProbe))
	waitDataview(admin, cpuPath(betaProbe))

	acme := gt.Login(t, gw.URL(), "acme-viewer")
	tree := gt.WatchTree(t, gw.Addr, acme)
	tree.Wait("acme's cpu dataview in the scoped tree", func(tr *gt.Tree) bool { _, ok := tr.Node(cpuPath(acmeProbe)); return ok })
	if _, ok := tree.Node(betaProbe.Name); ok {
		t.Errorf("the scoped tree shows beta's probe")
	}

	var all, mine treeJSON
	gw.Admin(t).Get(t, "/api/v1/tree", &all)
	acme.Get(t, "/api/v1/tree", &mine)
	if len(mine.Probes) != 1 || mine.Probes[0].Name != acmeProbe.Name {
		t.Fatalf("the scoped API tree has probes %+v, want acme's alone", mine.Probes)
	}
	var acmeCounts map[string]int64
	for _, p := range all.Probes {
		if p.Name == acmeProbe.Name {
			acmeCounts = p.Counts
		}
	}
	if !maps.Equal(mine.Counts, mine.Probes[0].Counts) || sum(mine.Counts) == 0 || sum(mine.Counts) >= sum(all.Counts) {
		t.Errorf("scoped totals %v (acme's probe %v, everything %v): want acme's alone", mine.Counts, acmeCounts, all.Counts)
	}

	var dvs []struct{ Path string }
	acme.Get(t, "/api/v1/dataviews", &dvs)
	for _, dv := range dvs {
		if !strings.HasPrefix(dv.Path, acmeProbe.Name+"/") {
			t.Errorf("the scoped dataview list has %s", dv.Path)
		}
	}
	if len(dvs) == 0 {
		t.Error("the scoped dataview list is empty")
	}
	if code, _ := acme.Do(t, http.MethodGet, "/api/v1/dataviews/"+cpuPath(betaProbe), nil); code != http.StatusNotFound {
		t.Errorf("reading beta's dataview in acme's scope: %d, want 404", code)
	}
	var probes []struct{ Name string }
	acme.Get(t, "/api/v1/probes", &probes)
	if len(probes) != 1 || probes[0].Name != acmeProbe.Name {
		t.Errorf("the scoped probe list is %+v", probes)
	}

	d := gt.DialDashboard(t, gw.Addr, acme)
	beta := dashboard.DataviewTopic(cpuPath(betaProbe))
	d.Subscribe(beta)
	f := d.Next("beta's dataview refused", func(f gt.Frame) bool { return f.Topic == beta })
	if f.Type != "error" || !strings.Contains(f.Message, "sees only client=acme") {
		t.Errorf("subscribing to beta's dataview in acme's scope: %s", f.Raw)
	}
	mineTopic := dashboard.DataviewTopic(cpuPath(acmeProbe))
	d.Subscribe(mineTopic)
	d.Next("acme's dataview snapshot", func(f gt.Frame) bool { return f.Topic == mineTopic && f.Type == "snapshot" })

	// acme's entity goes to another client: the open subscription is
	// withdrawn and the scoped tree empties.
	write(strings.Replace(clientsConfig(gw.Addr), "client: acme", "client: gamma", 1))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	f = d.Next("the subscription withdrawn", func(f gt.Frame) bool { return f.Topic == mineTopic && f.Type == "error" })
	if !strings.Contains(f.Message, "withdrawn") {
		t.Errorf("withdrawal frame %s", f.Raw)
	}
	tree.Wait("acme's probe to leave the scoped tree", func(tr *gt.Tree) bool { _, ok := tr.Node(acmeProbe.Name); return !ok })
}

func sum(c map[string]int64) (n int64) {
	for _, v := range c {
		n += v
	}
	return n
}

// expectClose reads d until the gateway closes it, and returns the close
// code and reason.
func expectClose(t *testing.T, d *gt.Dashboard) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	for {
		if _, _, err := d.Conn.Read(ctx); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("the socket ended without a close frame: %v", err)
			}
			return ce.Code, ce.Reason
		}
	}
}

// An administrator revokes a wall screen's kiosk link while the screen
// watches: its socket is closed at once (before the revocation is
// answered, the close is on its way), the link and its cookie no longer
// work, and a screen on another link carries on.
func TestKioskRevokedWhileWatching(t *testing.T) {
	gw := startClients(t, gateway.Options{})
	wall, other := kioskSession(t, gw, ""), kioskSession(t, gw, "client=acme")
	d, keep := gt.WatchTree(t, gw.Addr, wall), gt.DialDashboard(t, gw.Addr, other)
	id := kioskID(t, gw, "wall ")

	if code, body := gw.Admin(t).Do(t, http.MethodDelete, "/api/v1/kiosks/"+id, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", code, body)
	}
	revoked := time.Now()
	code, reason := expectClose(t, d.Dashboard())
	t.Logf("closed %v after the revocation was answered", time.Since(revoked).Round(time.Millisecond))
	if code != dashboard.CloseSessionEnded || reason != "session ended" {
		t.Errorf("close %d %q, want %d session ended", code, reason, dashboard.CloseSessionEnded)
	}
	if _, err := gt.TryDialDashboard(gw.Addr, wall.Cookie); err == nil {
		t.Error("the revoked kiosk's cookie still opens the socket")
	}
	if code, _ := send(t, gw, wall, http.MethodGet, "/api/v1/me"); code != http.StatusUnauthorized {
		t.Errorf("the revoked kiosk's cookie: %d, want 401", code)
	}
	keep.Subscribe("tree")
	keep.Next("the other screen's tree", func(f gt.Frame) bool { return f.Topic == "tree" && f.Type == "snapshot" })
}

// Logging out, and an administrator disabling a user, close that person's
// open sockets and no one else's.
func TestSessionEndClosesSockets(t *testing.T) {
	gw := startClients(t, gateway.Options{})
	op := gt.Login(t, gw.URL(), "operator")
	opDash := gt.DialDashboard(t, gw.Addr, op)
	if code, body := op.Do(t, http.MethodPost, "/api/v1/logout", nil); code != http.StatusNoContent {
		t.Fatalf("log out: %d %s", code, body)
	}
	if code, _ := expectClose(t, opDash); code != dashboard.CloseSessionEnded {
		t.Errorf("after logout the socket closed with %d", code)
	}

	admin := gw.Admin(t)
	if code, body := admin.Do(t, http.MethodPost, "/api/v1/users", map[string]any{
		"name": "night", "roles": []string{"operator"}, "password": gt.Password}); code != http.StatusCreated {
		t.Fatalf("add user: %d %s", code, body)
	}
	night := gt.Login(t, gw.URL(), "night")
	nightDash := gt.DialDashboard(t, gw.Addr, night)
	viewerDash := gt.DialDashboard(t, gw.Addr, gt.Login(t, gw.URL(), "viewer"))
	if code, body := admin.Do(t, http.MethodPut, "/api/v1/users/night", map[string]any{"disabled": true}); code != http.StatusOK {
		t.Fatalf("disable: %d %s", code, body)
	}
	if code, _ := expectClose(t, nightDash); code != dashboard.CloseSessionEnded {
		t.Errorf("after disabling its user the socket closed with %d", code)
	}
	if s, code, _ := gt.TryLogin(t, gw.URL(), "night", gt.Password); s != nil || code != http.StatusUnauthorized {
		t.Errorf("a disabled user logged in: %d", code)
	}
	viewerDash.Subscribe("tree")
	viewerDash.Next("the viewer's tree", func(f gt.Frame) bool { return f.Topic == "tree" && f.Type == "snapshot" })
}

// A session reaching its absolute expiry, by the gateway's clock, ends
// while its socket is open: the socket is closed and the cookie refused.
func TestAbsoluteExpiryClosesSocket(t *testing.T) {
	clock := gt.NewManualClock(time.Now())
	gw := startClients(t, gateway.Options{Clock: clock})
	s := gt.Login(t, gw.URL(), "viewer")
	d := gt.DialDashboard(t, gw.Addr, s)
	clock.Advance(config.DefaultSessions().AbsoluteTimeout + time.Minute)
	if code, _ := expectClose(t, d); code != dashboard.CloseSessionEnded {
		t.Errorf("at the absolute expiry the socket closed with %d", code)
	}
	if code, body := s.Do(t, http.MethodGet, "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Errorf("an expired session: %d %s, want 401", code, body)
	}
}

// A probe whose token is revoked by a reload is cut off at once, and its
// old token no longer connects; a probe whose token stays keeps going.
func TestProbeTokenRevokedWhileConnected(t *testing.T) {
	gone, kept := probe("revoked", "cpu"), probe("kept", "cpu")
	gw, write := gt.StartFile(t, gateway.Options{}, gone, kept)
	tree := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, kept)
	waitDataview(tree, cpuPath(kept))
	raw := gt.DialRawProbe(t, gw.Addr, gone.Name, gone.Token)

	rotated := gone
	rotated.Token = "a-new-token"
	write(gt.Config(gw.Addr, rotated, kept))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	code, reason := raw.ExpectClose()
	t.Logf("the revoked probe's connection closed: %d %q", code, reason)
	if _, err := tryDialProbe(gw.Addr, gone.Token); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("the revoked token: %v, want 401", err)
	}
	gt.Eventually(t, "one probe connected, the kept one", func() bool {
		return metric(t, gw, "watchfloor_probes_connected") == 1
	})
	if n, _ := tree.Node(kept.Name); n.Connected == nil || !*n.Connected {
		t.Errorf("the kept probe shows %+v", n)
	}
}

// tryDialProbe opens the probe socket with a token, returning the error.
func tryDialProbe(addr, token string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	return c, err
}

// A scoped viewer's tree never names a probe outside its scope: not as a
// subtree, and not among the removed probes when that probe's structure
// changes (its dataviews declared as it connects). A probe of its own that
// a reload removes still leaves its tree.
func TestScopedTreeNeverNamesOtherProbes(t *testing.T) {
	gw, write := gt.StartFile(t, gateway.Options{})
	write(clientsConfig(gw.Addr))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	tree := gt.WatchTree(t, gw.Addr, gt.Login(t, gw.URL(), "acme-viewer"))
	var leaks []string
	watch := tree.Dashboard()
	next := func(what string, match func(gt.Frame) bool) {
		t.Helper()
		watch.Next(what, func(f gt.Frame) bool {
			if f.Topic == "tree" && strings.Contains(string(f.Raw), betaProbe.Name) {
				leaks = append(leaks, string(f.Raw))
			}
			return f.Topic == "tree" && match(f)
		})
	}

	admin := gw.Tree(t)
	gt.StartProbe(t, gw.Addr, betaProbe)
	waitDataview(admin, cpuPath(betaProbe))
	gt.StartProbe(t, gw.Addr, acmeProbe)
	next("acme's cpu dataview in the scoped tree", func(f gt.Frame) bool {
		return strings.Contains(string(f.Raw), `"path":"`+cpuPath(acmeProbe)+`"`)
	})

	// acme's probe goes from the configuration.
	cfg := gt.Entities(gw.Addr, betaProbe) + gt.Users(people...)
	write(strings.Replace(cfg, "attributes: {region: emea}", "attributes: {region: emea, client: beta}", 1))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	next("acme's probe to leave the scoped tree", func(f gt.Frame) bool {
		return f.Type == "snapshot" && !strings.Contains(string(f.Raw), acmeProbe.Name) ||
			f.Type == "delta" && slices.Contains(f.Removed, acmeProbe.Name)
	})
	for _, l := range leaks {
		t.Errorf("acme's scoped tree names beta's probe: %s", l)
	}
}

// holdConfig is a Consumer that, once armed, holds the named probe's
// actor in the configuration a reload sends it, until released: a reload
// that is still busy with other probes.
type holdConfig struct {
	probe   string
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func (h *holdConfig) Consume(ch *gateway.Changes) {
	if ch.Probe != h.probe || !ch.Structure || !h.armed.CompareAndSwap(true, false) {
		return
	}
	close(h.held)
	select {
	case <-h.release:
	case <-time.After(gt.Wait):
	}
}

// When a reload moves an entity out of a viewer's scope, its dataview
// subscription is withdrawn before any sample taken after the move
// reaches the viewer, however long the rest of the reload takes: whether
// the entity's probe keeps its actor, or gets a new one because its token
// changed too.
func TestScopeMoveWithdrawsBeforeNewSamples(t *testing.T) {
	for _, c := range []struct {
		name  string
		token string // the acme probe's token after the reload
	}{
		{"attributes", acmeProbe.Token},
		{"attributes and token", "tok-rotated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hold := &holdConfig{probe: betaProbe.Name, held: make(chan struct{}), release: make(chan struct{})}
			gw, write := gt.StartFile(t, gateway.Options{Consumers: []gateway.Consumer{hold}})
			write(clientsConfig(gw.Addr))
			if code, res := postReload(t, gw.Addr); code != http.StatusOK {
				t.Fatalf("reload: %d %+v", code, res)
			}
			admin := gw.Tree(t)
			stopAcme := gt.StartProbe(t, gw.Addr, acmeProbe)
			gt.StartProbe(t, gw.Addr, betaProbe)
			waitDataview(admin, cpuPath(acmeProbe))
			waitDataview(admin, cpuPath(betaProbe))

			d := gt.DialDashboard(t, gw.Addr, gt.Login(t, gw.URL(), "acme-viewer"))
			topic := dashboard.DataviewTopic(cpuPath(acmeProbe))
			d.Subscribe(topic)
			d.Next("acme's dataview snapshot", func(f gt.Frame) bool { return f.Topic == topic && f.Type == "snapshot" })

			moved := acmeProbe
			moved.Token = c.token
			if moved.Token != acmeProbe.Token {
				// Its new token reaches it with the reload: the probe with
				// the old one is gone, rather than redialling to be refused
				// until the test ends.
				stopAcme()
			}
			// acme's entity goes to gamma; beta's probe, configured after
			// it, holds the reload up.
			hold.armed.Store(true)
			cfg := strings.Replace(clientsConfig(gw.Addr), "client: acme", "client: gamma", 1)
			write(strings.Replace(cfg, config.HashToken(acmeProbe.Token), config.HashToken(moved.Token), 1))
			client := gw.Admin(t).Client
			reloaded := make(chan error, 1)
			go func() {
				resp, err := client.Post(gw.URL()+"/api/v1/config/reload", "application/json", nil)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = errors.New(resp.Status)
					}
				}
				reloaded <- err
			}()
			defer func() {
				close(hold.release)
				if err := <-reloaded; err != nil {
					t.Errorf("reload: %v", err)
				}
			}()
			<-hold.held
			entity := acmeProbe.Name + "/" + acmeProbe.Entity()
			admin.Wait("acme's entity to move to gamma", func(tr *gt.Tree) bool {
				n, ok := tr.Node(entity)
				return ok && n.Attributes["client"] == "gamma"
			})
			since := time.Now().UnixMilli()
			if moved.Token != acmeProbe.Token {
				gt.StartProbe(t, gw.Addr, moved)
			}
			f := d.Next("the subscription withdrawn, or a sample taken since the move", func(f gt.Frame) bool {
				return f.Topic == topic && (f.Type == "error" || f.SampleTime > since)
			})
			if f.Type != "error" {
				t.Errorf("acme's viewer got a sample of gamma's entity taken after the move: %.300s", f.Raw)
			}
			if moved.Token != acmeProbe.Token {
				waitDataview(admin, cpuPath(moved)) // its dialling is over
			}
		})
	}
}

// A reload that takes View away from a role withdraws the dashboard
// subscriptions of its holders, as it refuses their requests.
func TestReloadTakingViewWithdrawsSubscriptions(t *testing.T) {
	gw, write := gt.StartFile(t, gateway.Options{})
	write(clientsConfig(gw.Addr))
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	viewer := gt.Login(t, gw.URL(), "viewer")
	d := gt.DialDashboard(t, gw.Addr, viewer)
	d.Subscribe("tree")
	d.Next("the tree's snapshot", func(f gt.Frame) bool { return f.Topic == "tree" && f.Type == "snapshot" })

	write(clientsConfig(gw.Addr) + "roles:\n  viewer:\n    permissions: [read-reports]\n")
	if code, res := postReload(t, gw.Addr); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	if code, _ := viewer.Do(t, http.MethodGet, "/api/v1/tree", nil); code != http.StatusForbidden {
		t.Fatalf("the viewer's tree after the reload: %d, want 403", code)
	}
	f := d.Next("the tree withdrawn", func(f gt.Frame) bool { return f.Topic == "tree" && f.Type == "error" })
	if !strings.Contains(f.Message, "withdrawn") {
		t.Errorf("frame %s", f.Raw)
	}
}

// The audit log records who changed what from where: a rule authored
// through the API, a failed login, a kiosk link issued; an administrator
// reads it filtered by action, and nobody else may.
func TestAuditRecordsStateChanges(t *testing.T) {
	gw := startClients(t, gateway.Options{})
	eng := gt.Login(t, gw.URL(), "engineer")
	rule := map[string]any{"name": "audited", "match": "*/*/cpu/cpu/total/utilisation", "critical": map[string]any{"when": "value > 99"}}
	if code, body := eng.Do(t, http.MethodPost, "/api/v1/rules", rule); code != http.StatusCreated {
		t.Fatalf("create rule: %d %s", code, body)
	}
	if s, _, _ := gt.TryLogin(t, gw.URL(), "operator", "not the password"); s != nil {
		t.Fatal("a wrong password logged in")
	}
	kioskSession(t, gw, "")

	type entry struct {
		Who, Kind, Source, Action, Target string
		OK                                bool
	}
	find := func(action string) entry {
		t.Helper()
		var out struct{ Entries []entry }
		gw.Admin(t).Get(t, "/api/v1/audit?action="+action, &out)
		if len(out.Entries) == 0 {
			t.Fatalf("no audit entry %s", action)
		}
		return out.Entries[0]
	}
	if e := find("rule.create"); e.Who != "engineer" || e.Target != "audited" || e.Source != "127.0.0.1" || !e.OK {
		t.Errorf("rule.create entry %+v", e)
	}
	if e := find("login.failed"); e.Who != "operator" || e.Source != "127.0.0.1" || e.OK {
		t.Errorf("login.failed entry %+v", e)
	}
	if e := find("kiosk.issue"); e.Who != "admin" {
		t.Errorf("kiosk.issue entry %+v", e)
	}
	if code, _ := eng.Do(t, http.MethodGet, "/api/v1/audit", nil); code != http.StatusForbidden {
		t.Errorf("an engineer reading the audit log: %d, want 403", code)
	}
}
