package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// crashEntities is how many entities the crash test's probe feeds, each
// with one cell that flaps between ok and critical.
const crashEntities = 8

func crashConfig(listen, token string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nprobes:\n  - name: venue\n    token_sha256: %s\n", listen, config.HashToken(token))
	b.WriteString("samplers:\n  - name: orders\n    type: cpu\n    interval: 100ms\nentities:\n")
	for i := range crashEntities {
		fmt.Fprintf(&b, "  - name: e%d\n    probe: venue\n    attributes: {client: c%d}\n    samplers: [orders]\n", i, i%2)
	}
	b.WriteString(`rules:
  - name: latency
    match: "venue/*/orders/orders/A/latency"
    critical: {when: value > 80}
    incident: {open: critical}
`)
	b.WriteString(gt.Users(gt.Admin, gt.User{Name: "olu", Roles: []string{"operator"}}))
	return b.String()
}

// confirmedAck is an acknowledgement the API answered 200 for.
type confirmedAck struct {
	id, comment string
}

// A real gateway process takes a stream of severity changes from a probe
// and acknowledgements through its API, and is killed with SIGKILL at a
// random moment, five times over. After each restart on the same store,
// every acknowledgement the API confirmed is on its incident's timeline,
// and no incident is duplicated: each cell flaps within the reopen
// window, so it has one incident across all the restarts.
func TestIncidentsSurviveSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gateway.yaml")
	addr := freePort(t)
	token := "venue-crash-token-0123456789"
	if err := os.WriteFile(cfgFile, []byte(crashConfig(addr, token)), 0o600); err != nil {
		t.Fatal(err)
	}
	var acks []confirmedAck
	opened := map[string]bool{}
	for round := range 5 {
		cmd, _ := start(t, nil, "gateway", "--config", cfgFile, "--log-level", "warn")
		gt.WaitListening(t, addr)
		if round > 0 {
			check(t, addr, acks, opened)
		}
		olu := gt.Login(t, "http://"+addr, "olu")
		probe := gt.DialRawProbe(t, addr, "venue", token)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		wg.Go(func() { flap(ctx, probe) })
		wg.Go(func() {
			for ctx.Err() == nil {
				for _, a := range ackOpen(ctx, olu, addr, round) {
					mu.Lock()
					acks = append(acks, a)
					mu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		time.Sleep(time.Duration(800+rand.IntN(2000)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		stop()
		wg.Wait()
		mu.Lock()
		t.Logf("round %d: %d acknowledgements confirmed so far", round, len(acks))
		mu.Unlock()
	}
	cmd, _ := start(t, nil, "gateway", "--config", cfgFile, "--log-level", "warn")
	gt.WaitListening(t, addr)
	check(t, addr, acks, opened)
	if len(acks) == 0 {
		t.Fatal("no acknowledgement was confirmed: the test proved nothing")
	}
	stop(t, cmd, syscall.SIGTERM)
}

// flap sends each entity's latency, flipping between 10 and 90 at random,
// until ctx is done or the gateway goes.
func flap(ctx context.Context, p *gt.RawProbe) {
	ids := map[string]uint32{}
	var decl []protocol.Declare
	for _, s := range p.Config.Samplers {
		ids[s.Entity] = s.ID
		decl = append(decl, protocol.Declare{ID: s.ID, SamplerID: s.ID, Name: "orders", SampleTime: time.Now().UnixNano(),
			Columns: []string{"latency"}, Rows: []protocol.RowDecl{{Index: 0, Name: "A", Cells: []samplers.Cell{samplers.Text("90")}}}})
	}
	if p.TrySend(protocol.Batch{Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: decl}) != nil {
		return
	}
	for ctx.Err() == nil {
		var b protocol.Batch
		for _, id := range ids {
			if rand.IntN(3) == 0 {
				v := []string{"10", "90"}[rand.IntN(2)]
				b.Updates = append(b.Updates, protocol.Update{ID: id, SampleTime: time.Now().UnixNano(),
					Cells: []protocol.CellChange{{Row: 0, Col: 0, Value: samplers.Text(v)}}})
			}
		}
		if p.TrySend(b) != nil {
			return
		}
		time.Sleep(15 * time.Millisecond)
	}
}

// ackOpen acknowledges the open incidents not yet acknowledged, and
// returns those the API confirmed. Errors (the gateway killed under it)
// end the attempt quietly.
func ackOpen(ctx context.Context, s *gt.Session, addr string, round int) []confirmedAck {
	var list struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	if !call(ctx, s, http.MethodGet, "http://"+addr+"/api/v1/incidents?state=open", nil, http.StatusOK, &list) {
		return nil
	}
	var out []confirmedAck
	for _, inc := range list.Incidents {
		if inc.Ack != nil {
			continue
		}
		comment := fmt.Sprintf("round %d, %d", round, rand.Int64())
		var got incident.Incident
		if call(ctx, s, http.MethodPost, "http://"+addr+"/api/v1/incidents/"+inc.ID+"/ack", map[string]string{"comment": comment}, http.StatusOK, &got) {
			out = append(out, confirmedAck{id: inc.ID, comment: comment})
		}
	}
	return out
}

// call makes a request and decodes the JSON of an answer with status want
// into out; false for anything else, a gateway gone included.
func call(ctx context.Context, s *gt.Session, method, url string, body any, want int, out any) bool {
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == want && json.NewDecoder(resp.Body).Decode(out) == nil
}

// check asserts, against a gateway just restarted, that every confirmed
// acknowledgement is on its incident's timeline, that no cell has more
// than one incident, and that no incident seen before is gone.
func check(t *testing.T, addr string, acks []confirmedAck, seen map[string]bool) {
	t.Helper()
	admin := gt.Login(t, "http://"+addr, gt.Admin.Name)
	var list struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	admin.Get(t, "/api/v1/incidents?limit=1000", &list)
	byPath := map[string][]string{}
	ids := map[string]bool{}
	for _, inc := range list.Incidents {
		byPath[inc.Path] = append(byPath[inc.Path], inc.ID)
		ids[inc.ID] = true
	}
	for path, l := range byPath {
		if len(l) > 1 {
			t.Errorf("cell %s has %d incidents %v: its flaps within the reopen window must reopen one", path, len(l), l)
		}
	}
	for id := range seen {
		if !ids[id] {
			t.Errorf("incident %s, stored before the kill, is gone", id)
		}
	}
	for id := range ids {
		seen[id] = true
	}
	timelines := map[string][]incident.Event{}
	for _, a := range acks {
		tl, ok := timelines[a.id]
		if !ok {
			var inc struct {
				Timeline []incident.Event `json:"timeline"`
			}
			admin.Get(t, "/api/v1/incidents/"+a.id, &inc)
			tl = inc.Timeline
			timelines[a.id] = tl
		}
		found := false
		for _, e := range tl {
			if e.Kind == incident.EvAcknowledged && e.Who == "olu" && e.Text == a.comment {
				found = true
			}
		}
		if !found {
			t.Errorf("the acknowledgement %q of %s was confirmed, and is not on its timeline after the kill", a.comment, a.id)
		}
	}
	for id, tl := range timelines {
		for i, e := range tl {
			if e.Seq != i+1 {
				t.Fatalf("%s's timeline skips or repeats: event %d has seq %d", id, i, e.Seq)
			}
		}
	}
}
