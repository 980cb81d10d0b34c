package gateway

import (
	"maps"
	"slices"
	"strings"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// treeTopic is the dashboard topic of the tree summary.
const treeTopic = "tree"

// source gives the dashboard hub the tree's state: the tree topic, and
// each dataview's snapshot. Each probe's actor publishes a change before
// it releases the probe's lock, and the snapshots are taken under that
// lock (read), so a snapshot never holds what has not been published.
type source struct{ t *tree }

func (s source) Snapshot(topic string) ([]byte, bool) {
	if topic == treeTopic {
		return encodeTree(s.t, treeTopic), true
	}
	key, ok := strings.CutPrefix(topic, dashboard.DataviewPrefix)
	if !ok {
		return nil, false
	}
	dv := s.t.get(key)
	if dv == nil {
		return nil, false
	}
	p := dv.sampler.entity.probe
	p.mu.RLock()
	snap := dv.snapshot()
	p.mu.RUnlock()
	return dashboard.EncodeSnapshot(snap), true
}

func (s source) Delta(topic string, keys []string) []byte {
	return encodeTreeDelta(s.t, keys)
}

type countsJSON struct {
	Undefined int64 `json:"undefined"`
	OK        int64 `json:"ok"`
	Warning   int64 `json:"warning"`
	Critical  int64 `json:"critical"`
}

func countsOf(s sevCounts) (string, countsJSON) {
	return s.worst().String(), countsJSON{s[rules.Undefined], s[rules.OK], s[rules.Warning], s[rules.Critical]}
}

// findingJSON is what a dataview or probe rule found.
type findingJSON struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Row      string `json:"row,omitempty"`
	Reason   string `json:"reason"`
}

func findingsJSON(fs *[]finding) []findingJSON {
	if fs == nil {
		return nil
	}
	out := make([]findingJSON, len(*fs))
	for i, f := range *fs {
		out[i] = findingJSON{Rule: f.rule, Severity: f.sev.String(), Row: f.row, Reason: f.reason}
	}
	return out
}

// findingsList is findingsJSON for a node delta: never nil.
func findingsList(fs *[]finding) *[]findingJSON {
	out := findingsJSON(fs)
	if out == nil {
		out = []findingJSON{}
	}
	return &out
}

type dataviewNode struct {
	Kind     string        `json:"kind"`
	Name     string        `json:"name"`
	Path     string        `json:"path"`
	Stale    bool          `json:"stale"`
	Severity string        `json:"severity"`
	Counts   countsJSON    `json:"counts"`
	Findings []findingJSON `json:"findings,omitempty"`
}

type samplerNodeJSON struct {
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Path      string         `json:"path"`
	Type      string         `json:"type"`
	Severity  string         `json:"severity"`
	Counts    countsJSON     `json:"counts"`
	Dataviews []dataviewNode `json:"dataviews"`
}

type entityNodeJSON struct {
	Kind       string            `json:"kind"`
	Name       string            `json:"name"`
	Path       string            `json:"path"`
	Attributes map[string]string `json:"attributes"`
	Severity   string            `json:"severity"`
	Counts     countsJSON        `json:"counts"`
	Samplers   []samplerNodeJSON `json:"samplers"`
}

type probeNodeJSON struct {
	Kind      string           `json:"kind"`
	Name      string           `json:"name"`
	Path      string           `json:"path"`
	Connected bool             `json:"connected"`
	Since     string           `json:"since,omitempty"`
	Severity  string           `json:"severity"`
	Counts    countsJSON       `json:"counts"`
	Findings  []findingJSON    `json:"findings,omitempty"`
	Entities  []entityNodeJSON `json:"entities"`
}

// nodeState is one node's own state, in a tree delta.
type nodeState struct {
	Kind      string     `json:"kind"`
	Path      string     `json:"path"`
	Connected *bool      `json:"connected,omitempty"`
	Since     string     `json:"since,omitempty"`
	Stale     *bool      `json:"stale,omitempty"`
	Severity  string     `json:"severity"`
	Counts    countsJSON `json:"counts"`
	// Findings is set, empty or not, for dataviews and probes: a delta
	// replaces the node's findings with it.
	Findings *[]findingJSON `json:"findings,omitempty"`
}

type treeJSON struct {
	Type     string          `json:"type,omitempty"`
	Topic    string          `json:"topic,omitempty"`
	Severity string          `json:"severity"`
	Counts   countsJSON      `json:"counts"`
	Probes   []probeNodeJSON `json:"probes"`
}

type treeDeltaJSON struct {
	Type     string          `json:"type"`
	Topic    string          `json:"topic"`
	Severity string          `json:"severity"`
	Counts   countsJSON      `json:"counts"`
	Probes   []probeNodeJSON `json:"probes,omitempty"`
	Nodes    []nodeState     `json:"nodes,omitempty"`
	Removed  []string        `json:"removed,omitempty"`
}

// encodeTree encodes the whole tree: a snapshot frame of topic, or for
// the API (topic "") the tree alone.
func encodeTree(t *tree, topic string) []byte {
	t.mu.RLock()
	out := treeJSON{Probes: []probeNodeJSON{}}
	if topic != "" {
		out.Type, out.Topic = "snapshot", topic
	}
	probes := t.sortedProbes()
	out.Severity, out.Counts = totals(probes)
	for _, p := range probes {
		out.Probes = append(out.Probes, probeJSONOf(p))
	}
	t.mu.RUnlock()
	return marshal(out)
}

// totals are the whole gateway's counts. The caller holds t.mu.
func totals(probes []*probeNode) (string, countsJSON) {
	var all sevCounts
	for _, p := range probes {
		c := p.counts.load()
		all.add(&c)
	}
	return countsOf(all)
}

// probeJSONOf encodes a probe's subtree. The caller holds the tree's lock.
func probeJSONOf(p *probeNode) probeNodeJSON {
	out := probeNodeJSON{Kind: "probe", Name: p.name, Path: p.path, Connected: p.connected.Load(),
		Since: rfc3339(p.since.Load()), Entities: []entityNodeJSON{}}
	out.Severity, out.Counts = countsOf(p.counts.load())
	out.Findings = findingsJSON(p.findings.Load())
	for _, e := range p.entities {
		ej := entityNodeJSON{Kind: "entity", Name: e.name, Path: e.path, Attributes: e.attrs, Samplers: []samplerNodeJSON{}}
		if ej.Attributes == nil {
			ej.Attributes = map[string]string{}
		}
		ej.Severity, ej.Counts = countsOf(e.counts.load())
		for _, s := range e.samplers {
			sj := samplerNodeJSON{Kind: "sampler", Name: s.name, Path: s.path, Type: s.typ, Dataviews: []dataviewNode{}}
			sj.Severity, sj.Counts = countsOf(s.counts.load())
			for _, name := range slices.Sorted(maps.Keys(s.dataviews)) {
				sj.Dataviews = append(sj.Dataviews, dataviewJSONOf(s.dataviews[name]))
			}
			ej.Samplers = append(ej.Samplers, sj)
		}
		out.Entities = append(out.Entities, ej)
	}
	return out
}

func dataviewJSONOf(dv *Dataview) dataviewNode {
	out := dataviewNode{Kind: "dataview", Name: dv.path.Dataview, Path: dv.key, Stale: dv.stale.Load(), Findings: findingsJSON(dv.findings.Load())}
	out.Severity, out.Counts = countsOf(dv.counts.load())
	return out
}

// encodeTreeDelta encodes the state now of the tree nodes keys name: a
// probe's whole subtree for a subtree key, one node's own state for a node
// key. A probe that no longer exists is listed as removed; a node that no
// longer exists is left out (its probe's subtree is sent whole anyway).
func encodeTreeDelta(t *tree, keys []string) []byte {
	t.mu.RLock()
	out := treeDeltaJSON{Type: "delta", Topic: treeTopic}
	out.Severity, out.Counts = totals(t.sortedProbes())
	for _, k := range keys {
		if path, ok := strings.CutPrefix(k, subtreeKeyPrefix); ok {
			if p := t.probeAt(path); p != nil {
				out.Probes = append(out.Probes, probeJSONOf(p))
			} else {
				out.Removed = append(out.Removed, path)
			}
			continue
		}
		if ns, ok := t.nodeAt(strings.TrimPrefix(k, nodeKeyPrefix)); ok {
			out.Nodes = append(out.Nodes, ns)
		}
	}
	t.mu.RUnlock()
	return marshal(out)
}

// probeAt returns the probe at an encoded path. The caller holds t.mu.
func (t *tree) probeAt(path string) *probeNode {
	name, err := samplers.UnescapeSegment(path)
	if err != nil {
		return nil
	}
	return t.probes[name]
}

// nodeAt returns the state of the node at an encoded path of one to four
// segments. The caller holds t.mu.
func (t *tree) nodeAt(path string) (nodeState, bool) {
	segs := strings.Split(path, "/")
	p := t.probeAt(segs[0])
	if p == nil {
		return nodeState{}, false
	}
	switch len(segs) {
	case 1:
		up := p.connected.Load()
		ns := nodeState{Kind: "probe", Path: p.path, Connected: &up, Since: rfc3339(p.since.Load()), Findings: findingsList(p.findings.Load())}
		ns.Severity, ns.Counts = countsOf(p.counts.load())
		return ns, true
	case 4:
		dv := t.dataviews[path]
		if dv == nil {
			return nodeState{}, false
		}
		stale := dv.stale.Load()
		ns := nodeState{Kind: "dataview", Path: dv.key, Stale: &stale, Findings: findingsList(dv.findings.Load())}
		ns.Severity, ns.Counts = countsOf(dv.counts.load())
		return ns, true
	}
	for _, e := range p.entities {
		if len(segs) == 2 && e.path == path {
			ns := nodeState{Kind: "entity", Path: e.path}
			ns.Severity, ns.Counts = countsOf(e.counts.load())
			return ns, true
		}
		for _, s := range e.samplers {
			if len(segs) == 3 && s.path == path {
				ns := nodeState{Kind: "sampler", Path: s.path}
				ns.Severity, ns.Counts = countsOf(s.counts.load())
				return ns, true
			}
		}
	}
	return nodeState{}, false
}
