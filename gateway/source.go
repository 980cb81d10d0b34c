package gateway

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// treeTopic is the dashboard topic of the tree summary.
const treeTopic = "tree"

// source gives the dashboard hub the tree's state: the tree topic, and
// each dataview's snapshot. Each probe's actor publishes a change before
// it releases the probe's lock, and the snapshots are taken under that
// lock (read), so a snapshot never holds what has not been published.
type source struct {
	t *tree
	d *desk
}

func (s source) Snapshot(topic string) ([]byte, bool) {
	switch base, variant, _ := strings.Cut(topic, "?"); base {
	case treeTopic:
		return encodeTree(s.t, treeTopic, variantScope(variant)), true
	case incidentsTopic:
		return s.d.encode(variantScope(variant), nil), true
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
	base, variant, _ := strings.Cut(topic, "?")
	if base == incidentsTopic {
		return s.d.encode(variantScope(variant), keys)
	}
	return encodeTreeDelta(s.t, keys, variantScope(variant))
}

// A scoped viewer watches a variant of a state topic (the tree, the
// incidents): the topic, "?" and its scope as a query string
// ("tree?client=acme"), shared by every viewer with that scope: the hub
// computes each variant's frames once.

// stateVariant returns the variant of a state topic a caller with scope
// watches.
func stateVariant(topic string, sc access.Scope) string {
	if sc.Whole() {
		return topic
	}
	vs := slices.Sorted(slices.Values(sc.Values))
	return topic + "?" + url.Values{sc.Attribute: vs}.Encode()
}

// variantScope is the scope of a tree variant; "" is the whole estate. A
// malformed variant, which stateVariant never makes, sees nothing.
func variantScope(variant string) access.Scope {
	if variant == "" {
		return access.Scope{}
	}
	q, err := url.ParseQuery(variant)
	if err == nil && len(q) == 1 {
		for attr, vs := range q {
			if attr != "" && len(vs) > 0 {
				return access.Scope{Attribute: attr, Values: vs}
			}
		}
	}
	return access.Scope{Attribute: "\x00malformed"}
}

// visible reports whether a caller with scope sees p: whether it sees one
// of its entities. The caller holds the tree's lock.
func visible(p *probeNode, sc access.Scope) bool {
	if sc.Whole() {
		return true
	}
	for _, e := range p.entities {
		if sc.Contains(e.attrs) {
			return true
		}
	}
	return false
}

// probeCounts are p's counts as a caller with scope sees them: those of
// the entities it sees and the probe's own findings. The caller holds the
// tree's lock.
func probeCounts(p *probeNode, sc access.Scope) sevCounts {
	if sc.Whole() {
		return p.counts.load()
	}
	var c sevCounts
	for _, e := range p.entities {
		if sc.Contains(e.attrs) {
			ec := e.counts.load()
			c.add(&ec)
		}
	}
	if fs := p.findings.Load(); fs != nil {
		countFindings(&c, *fs, 1)
	}
	return c
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
	// Maintenance is the maintenance window the entity is in now: its
	// severities show, but open no incident and raise no alert.
	Maintenance string            `json:"maintenance,omitempty"`
	Samplers    []samplerNodeJSON `json:"samplers"`
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

// encodeTree encodes the tree as a caller with scope sees it: a snapshot
// frame of topic, or for the API (topic "") the tree alone.
func encodeTree(t *tree, topic string, sc access.Scope) []byte {
	t.mu.RLock()
	out := treeJSON{Probes: []probeNodeJSON{}}
	if topic != "" {
		out.Type, out.Topic = "snapshot", topic
	}
	probes := t.sortedProbes()
	out.Severity, out.Counts = totals(probes, sc)
	for _, p := range probes {
		if visible(p, sc) {
			out.Probes = append(out.Probes, probeJSONOf(p, sc))
		}
	}
	t.mu.RUnlock()
	return marshal(out)
}

// totals are the counts of the whole tree a caller with scope sees. The
// caller holds t.mu.
func totals(probes []*probeNode, sc access.Scope) (string, countsJSON) {
	var all sevCounts
	for _, p := range probes {
		if visible(p, sc) {
			c := probeCounts(p, sc)
			all.add(&c)
		}
	}
	return countsOf(all)
}

// probeJSONOf encodes a probe's subtree as a caller with scope sees it.
// The caller holds the tree's lock.
func probeJSONOf(p *probeNode, sc access.Scope) probeNodeJSON {
	out := probeNodeJSON{Kind: "probe", Name: p.name, Path: p.path, Connected: p.connected.Load(),
		Since: rfc3339(p.since.Load()), Entities: []entityNodeJSON{}}
	out.Severity, out.Counts = countsOf(probeCounts(p, sc))
	out.Findings = findingsJSON(p.findings.Load())
	for _, e := range p.entities {
		if !sc.Contains(e.attrs) {
			continue
		}
		ej := entityNodeJSON{Kind: "entity", Name: e.name, Path: e.path, Attributes: e.attrs, Maintenance: e.maintenance, Samplers: []samplerNodeJSON{}}
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

// encodeTreeDelta encodes the state now of the tree nodes keys name, as a
// caller with scope sees them: a probe's whole subtree for a subtree key,
// one node's own state for a node key. A node that no longer exists or
// that the caller does not see is left out (its probe's subtree is sent
// whole anyway when it comes or goes). A probe that no longer exists is
// listed as removed for the whole estate; a scoped caller is never told
// of a probe it does not see, not even that it went: when a probe may
// leave a scope its actor resets the tree topic instead (Changes.rescoped).
func encodeTreeDelta(t *tree, keys []string, sc access.Scope) []byte {
	t.mu.RLock()
	out := treeDeltaJSON{Type: "delta", Topic: treeTopic}
	out.Severity, out.Counts = totals(t.sortedProbes(), sc)
	for _, k := range keys {
		if path, ok := strings.CutPrefix(k, subtreeKeyPrefix); ok {
			if p := t.probeAt(path); p != nil && visible(p, sc) {
				out.Probes = append(out.Probes, probeJSONOf(p, sc))
			} else if sc.Whole() {
				out.Removed = append(out.Removed, path)
			}
			continue
		}
		if ns, ok := t.nodeAt(strings.TrimPrefix(k, nodeKeyPrefix), sc); ok {
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
// segments, if a caller with scope sees it. The caller holds t.mu.
func (t *tree) nodeAt(path string, sc access.Scope) (nodeState, bool) {
	segs := strings.Split(path, "/")
	p := t.probeAt(segs[0])
	if p == nil || !visible(p, sc) {
		return nodeState{}, false
	}
	switch len(segs) {
	case 1:
		up := p.connected.Load()
		ns := nodeState{Kind: "probe", Path: p.path, Connected: &up, Since: rfc3339(p.since.Load()), Findings: findingsList(p.findings.Load())}
		ns.Severity, ns.Counts = countsOf(probeCounts(p, sc))
		return ns, true
	case 4:
		dv := t.dataviews[path]
		if dv == nil || !sc.Contains(dv.sampler.entity.attrs) {
			return nodeState{}, false
		}
		stale := dv.stale.Load()
		ns := nodeState{Kind: "dataview", Path: dv.key, Stale: &stale, Findings: findingsList(dv.findings.Load())}
		ns.Severity, ns.Counts = countsOf(dv.counts.load())
		return ns, true
	}
	for _, e := range p.entities {
		if !sc.Contains(e.attrs) {
			continue
		}
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

// entitySees reports whether the entity of a dataview's encoded path
// (probe/entity/sampler/dataview) exists and is inside sc. The dataview
// itself need not exist yet: a watcher may wait for it.
func (t *tree) entitySees(path string, sc access.Scope) bool {
	segs := strings.Split(path, "/")
	if len(segs) != 4 {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	p := t.probeAt(segs[0])
	if p == nil {
		return false
	}
	entity := segs[0] + "/" + segs[1]
	for _, e := range p.entities {
		if e.path == entity {
			return sc.Contains(e.attrs)
		}
	}
	return false
}
