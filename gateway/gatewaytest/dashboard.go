package gatewaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// Frame is any frame the dashboard hub sends, decoded loosely: the fields
// a test may look at.
type Frame struct {
	Type       string   `json:"type"`
	Topic      string   `json:"topic"`
	Dataview   string   `json:"dataview"`
	SampleTime int64    `json:"sampleTime"`
	Stale      *bool    `json:"stale"`
	Columns    []string `json:"columns"`
	Rows       []struct {
		Name  string `json:"name"`
		Cells []Cell `json:"cells"`
	} `json:"rows"`
	Headlines []struct {
		Name string `json:"name"`
		Cell
	} `json:"headlines"`
	Cells []struct {
		R string `json:"r"`
		C string `json:"c"`
		Cell
	} `json:"cells"`
	Removed []string `json:"removed"`
	// The tree topic's parts.
	Probes []TreeNode `json:"probes"`
	Nodes  []TreeNode `json:"nodes"`
	// Message is an error frame's.
	Message string `json:"message"`
	// Raw is the frame as it came.
	Raw []byte `json:"-"`
}

// Cell is a cell in a frame.
type Cell struct {
	V    string `json:"v"`
	S    string `json:"s"`
	T    int64  `json:"t"`
	Rule string `json:"rule"`
}

// TreeNode is a node of the tree topic and of /api/v1/tree.
type TreeNode struct {
	Kind       string            `json:"kind"`
	Name       string            `json:"name"`
	Path       string            `json:"path"`
	Connected  *bool             `json:"connected"`
	Stale      *bool             `json:"stale"`
	Severity   string            `json:"severity"`
	Counts     map[string]int64  `json:"counts"`
	Findings   []Finding         `json:"findings"`
	Attributes map[string]string `json:"attributes"`
	Entities   []TreeNode        `json:"entities"`
	Samplers   []TreeNode        `json:"samplers"`
	Dataviews  []TreeNode        `json:"dataviews"`
}

// Finding is what a dataview or probe rule found, as a tree node shows it.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Row      string `json:"row"`
	Reason   string `json:"reason"`
}

// Dashboard is a real dashboard WebSocket client.
type Dashboard struct {
	t    testing.TB
	Conn *websocket.Conn
}

// DialDashboard connects to the gateway's dashboard socket with a
// session, as a page on the gateway's own origin would.
func DialDashboard(t testing.TB, addr string, s *Session) *Dashboard {
	t.Helper()
	conn, err := TryDialDashboard(addr, s.Cookie)
	if err != nil {
		t.Fatalf("dial dashboard: %v", err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &Dashboard{t: t, Conn: conn}
}

// TryDialDashboard dials the dashboard socket with a cookie header ("" for
// none) and returns the dial's error, for tests of refusals.
func TryDialDashboard(addr, cookie string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	hdr := http.Header{"Origin": {"http://" + addr}}
	if cookie != "" {
		hdr.Set("Cookie", cookie)
	}
	conn, resp, err := websocket.Dial(ctx, "ws://"+addr+"/ws/dashboard", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (status %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	return conn, nil
}

// Subscribe asks for a topic.
func (d *Dashboard) Subscribe(topic string) { d.op("subscribe", topic) }

// Unsubscribe drops a topic.
func (d *Dashboard) Unsubscribe(topic string) { d.op("unsubscribe", topic) }

func (d *Dashboard) op(op, topic string) {
	d.t.Helper()
	msg, _ := json.Marshal(map[string]string{"op": op, "topic": topic})
	if err := d.Conn.Write(context.Background(), websocket.MessageText, msg); err != nil {
		d.t.Fatalf("%s %s: %v", op, topic, err)
	}
}

// Next reads frames until match accepts one, failing the test after Wait.
func (d *Dashboard) Next(what string, match func(Frame) bool) Frame {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	for {
		_, data, err := d.Conn.Read(ctx)
		if err != nil {
			d.t.Fatalf("waiting for %s: %v", what, err)
		}
		var f Frame
		if err := json.Unmarshal(data, &f); err != nil {
			d.t.Fatalf("bad frame %q: %v", data, err)
		}
		f.Raw = data
		if match(f) {
			return f
		}
	}
}

// Tree follows the tree topic on its own dashboard connection, keeping a
// model of it from the snapshot and the deltas, so tests wait for what
// the gateway pushes rather than poll its API.
type Tree struct {
	t      testing.TB
	d      *Dashboard
	seen   bool
	probes map[string]TreeNode // whole subtrees by probe path, as last sent
	states map[string]TreeNode // node states sent since, by path
}

// WatchTree subscribes to the tree topic with a session and reads its
// snapshot.
func WatchTree(t testing.TB, addr string, s *Session) *Tree {
	t.Helper()
	tr := &Tree{t: t, d: DialDashboard(t, addr, s), probes: map[string]TreeNode{}, states: map[string]TreeNode{}}
	tr.d.Subscribe("tree")
	tr.Wait("the tree's snapshot", func(*Tree) bool { return true })
	return tr
}

// Dashboard is the connection the tree is read from.
func (tr *Tree) Dashboard() *Dashboard { return tr.d }

// Wait applies tree frames until cond holds, failing the test after Wait.
// Once the snapshot has arrived it checks cond before reading, so a
// condition that already holds returns at once.
func (tr *Tree) Wait(what string, cond func(*Tree) bool) {
	tr.t.Helper()
	if tr.seen && cond(tr) {
		return
	}
	tr.d.Next(what, func(f Frame) bool {
		if f.Topic != "tree" {
			return false
		}
		switch f.Type {
		case "snapshot":
			tr.seen = true
			clear(tr.probes)
			clear(tr.states)
			for _, p := range f.Probes {
				tr.probes[p.Path] = p
			}
		case "delta":
			var removed struct {
				Removed []string `json:"removed"`
			}
			if err := json.Unmarshal(f.Raw, &removed); err != nil {
				tr.t.Fatalf("tree delta %s: %v", f.Raw, err)
			}
			for _, path := range removed.Removed {
				tr.replace(path, nil)
			}
			for _, p := range f.Probes {
				tr.replace(p.Path, &p)
			}
			for _, n := range f.Nodes {
				tr.states[n.Path] = n
			}
		default:
			return false
		}
		return tr.seen && cond(tr)
	})
}

// replace sets a probe's subtree (nil: removes it) and forgets the node
// states under it, which the subtree supersedes.
func (tr *Tree) replace(probe string, p *TreeNode) {
	delete(tr.probes, probe)
	if p != nil {
		tr.probes[probe] = *p
	}
	for path := range tr.states {
		if path == probe || strings.HasPrefix(path, probe+"/") {
			delete(tr.states, path)
		}
	}
}

// Node returns the node at a canonical path (one to four segments) as the
// gateway last described it.
func (tr *Tree) Node(path string) (TreeNode, bool) {
	segs := strings.Split(path, "/")
	n, ok := tr.probes[segs[0]]
	for depth := 1; ok && depth < len(segs); depth++ {
		prefix := strings.Join(segs[:depth+1], "/")
		ok = false
		for _, c := range append(append(n.Entities, n.Samplers...), n.Dataviews...) {
			if c.Path == prefix {
				n, ok = c, true
				break
			}
		}
	}
	if !ok {
		return TreeNode{}, false
	}
	if s, ok := tr.states[path]; ok {
		n.Severity, n.Counts, n.Findings = s.Severity, s.Counts, s.Findings
		if s.Connected != nil {
			n.Connected = s.Connected
		}
		if s.Stale != nil {
			n.Stale = s.Stale
		}
	}
	return n, true
}
