package gateway

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/rules"
	"github.com/watchfloor/watchfloor/samplers"
)

// sevCounts counts cells by severity.
type sevCounts [rules.Critical + 1]int64

func (s *sevCounts) add(o *sevCounts) {
	for i, v := range o {
		s[i] += v
	}
}

func (s *sevCounts) sub(o *sevCounts) {
	for i, v := range o {
		s[i] -= v
	}
}

func (s *sevCounts) zero() bool { return *s == sevCounts{} }

// worst is the most severe severity any cell has, Undefined if none was
// judged.
func (s *sevCounts) worst() rules.Severity {
	for sev := rules.Critical; sev > rules.Undefined; sev-- {
		if s[sev] > 0 {
			return sev
		}
	}
	return rules.Undefined
}

// counters are a node's cell counts by severity. The probe's actor adds
// to them as cells come, go and change severity; readers load them
// without a lock. A reader may see one batch half counted; the actor
// touches the node again when it is done, so watchers get the whole.
type counters struct {
	c [rules.Critical + 1]atomic.Int64
}

func (n *counters) add(d *sevCounts) {
	for i, v := range d {
		if v != 0 {
			n.c[i].Add(v)
		}
	}
}

func (n *counters) load() sevCounts {
	var s sevCounts
	for i := range s {
		s[i] = n.c[i].Load()
	}
	return s
}

// probeNode is one probe's subtree. Its actor is the only writer of
// everything under it.
type probeNode struct {
	name, path string
	counts     counters
	connected  atomic.Bool
	since      atomic.Int64 // Unix ns the connection state last changed; 0 if it never connected
	lastSeen   atomic.Int64 // Unix ns of the last batch
	// findings are what the probe rules found (the probe down), written by
	// the actor and read without a lock.
	findings atomic.Pointer[[]finding]

	// mu guards the cell state of every dataview of the probe. The actor
	// holds it for writing from applying an event until its changes are
	// handed to every consumer, so a reader never sees a change that has
	// not been published, nor a value without the severity judged for it.
	// Lock order: mu before tree.mu; never take mu while holding tree.mu.
	mu sync.RWMutex

	// Guarded by tree.mu.
	entities []*entityNode
}

type entityNode struct {
	probe      *probeNode
	name, path string
	counts     counters

	// Guarded by tree.mu.
	attrs    map[string]string // replaced whole, never changed in place
	samplers []*samplerNode
	// maintenance is the maintenance window the entity is in, "" if none
	// (maintenancewatch.go).
	maintenance string
}

type samplerNode struct {
	entity     *entityNode
	id         uint32 // the instance's ID in the probe protocol
	name, path string
	counts     counters

	// Guarded by tree.mu.
	typ       string
	interval  time.Duration
	dataviews map[string]*Dataview // by dataview name
}

// ancestors calls f with each node above a dataview of this sampler.
func (s *samplerNode) ancestors(f func(*counters)) {
	f(&s.counts)
	f(&s.entity.counts)
	f(&s.entity.probe.counts)
}

// tree holds every probe's subtree. Its lock guards the structure — which
// nodes exist and what hangs under what — which changes when a probe
// declares or drops a dataview or the configuration changes; cell state is
// guarded by each probe's lock, counts and flags are atomic.
type tree struct {
	mu        sync.RWMutex
	probes    map[string]*probeNode
	dataviews map[string]*Dataview // by canonical path
}

func newTree() *tree {
	return &tree{probes: make(map[string]*probeNode), dataviews: make(map[string]*Dataview)}
}

func (t *tree) get(key string) *Dataview {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.dataviews[key]
}

// list returns every dataview, sorted by path.
func (t *tree) list() []*Dataview {
	t.mu.RLock()
	out := make([]*Dataview, 0, len(t.dataviews))
	for _, dv := range t.dataviews {
		out = append(out, dv)
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Dataview) int { return strings.Compare(a.key, b.key) })
	return out
}

// sortedProbes returns the probes by name. The caller holds t.mu.
func (t *tree) sortedProbes() []*probeNode {
	out := make([]*probeNode, 0, len(t.probes))
	for _, p := range t.probes {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *probeNode) int { return strings.Compare(a.name, b.name) })
	return out
}

// addProbe adds a probe's node, replacing any of the same name.
func (t *tree) addProbe(p *probeNode) {
	t.mu.Lock()
	t.probes[p.name] = p
	t.mu.Unlock()
}

// removeProbe removes a probe's node and its dataviews, if p is still the
// node under its name.
func (t *tree) removeProbe(p *probeNode) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.probes[p.name] != p {
		return
	}
	delete(t.probes, p.name)
	for _, e := range p.entities {
		for _, s := range e.samplers {
			for _, dv := range s.dataviews {
				if t.dataviews[dv.key] == dv {
					delete(t.dataviews, dv.key)
				}
			}
		}
	}
}

func newProbeNode(name string) *probeNode {
	return &probeNode{name: name, path: samplers.EscapeSegment(name)}
}

// entityConfig is one entity as the configuration gives it, with the
// sampler instances it runs.
type entityConfig struct {
	name     string
	attrs    map[string]string
	samplers []instance
}

// instance is one sampler instance a probe runs for one entity.
type instance struct {
	id       uint32
	entity   string
	sampler  string
	typ      string
	interval time.Duration
}

// configure makes p's entities and samplers those of cfg. Sampler nodes
// that stay keep their dataviews; the dataviews of sampler instances that
// went are returned, for the caller to remove. The caller is p's actor,
// holding p.mu.
func (t *tree) configure(p *probeNode, cfg []entityConfig) (gone []*Dataview) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := make(map[uint32]*samplerNode)
	oldEntities := make(map[string]*entityNode)
	for _, e := range p.entities {
		oldEntities[e.name] = e
		for _, s := range e.samplers {
			old[s.id] = s
		}
	}
	entities := make([]*entityNode, 0, len(cfg))
	for _, ec := range cfg {
		e := oldEntities[ec.name]
		if e == nil {
			e = &entityNode{probe: p, name: ec.name, path: p.path + "/" + samplers.EscapeSegment(ec.name)}
		}
		e.attrs = ec.attrs
		e.samplers = e.samplers[:0]
		for _, in := range ec.samplers {
			s := old[in.id]
			if s != nil && s.entity == e {
				delete(old, in.id)
			} else {
				s = &samplerNode{entity: e, id: in.id, name: in.sampler,
					path: e.path + "/" + samplers.EscapeSegment(in.sampler), dataviews: make(map[string]*Dataview)}
			}
			s.typ, s.interval = in.typ, in.interval
			e.samplers = append(e.samplers, s)
		}
		entities = append(entities, e)
	}
	p.entities = entities
	for _, s := range old {
		for _, dv := range s.dataviews {
			gone = append(gone, dv)
		}
	}
	return gone
}

// sampler returns p's sampler node with the given instance ID. The caller
// holds t.mu or is p's actor.
func (p *probeNode) sampler(id uint32) *samplerNode {
	for _, e := range p.entities {
		for _, s := range e.samplers {
			if s.id == id {
				return s
			}
		}
	}
	return nil
}

// insert puts dv into the tree under its sampler, replacing whatever had
// its path. The caller is the probe's actor.
func (t *tree) insert(dv *Dataview) {
	t.mu.Lock()
	defer t.mu.Unlock()
	dv.sampler.dataviews[dv.path.Dataview] = dv
	t.dataviews[dv.key] = dv
}

// remove takes dv out of the tree, if it is still there. The caller is the
// probe's actor.
func (t *tree) remove(dv *Dataview) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := dv.sampler; s.dataviews[dv.path.Dataview] == dv {
		delete(s.dataviews, dv.path.Dataview)
	}
	if t.dataviews[dv.key] == dv {
		delete(t.dataviews, dv.key)
	}
}

// attrsOf returns the attributes of the named entity on the named probe,
// nil if there is none. The map is never changed.
func (t *tree) attrsOf(probe, entity string) map[string]string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p := t.probes[probe]
	if p == nil {
		return nil
	}
	for _, e := range p.entities {
		if e.name == entity {
			if e.attrs == nil {
				return map[string]string{}
			}
			return e.attrs
		}
	}
	return nil
}

// cellSeverity returns the severity of the cell at an encoded path now
// (Undefined if there is no such cell).
func (t *tree) cellSeverity(path string) rules.Severity {
	cp, err := samplers.ParseCellPath(path)
	if err != nil {
		return rules.Undefined
	}
	dv := t.get(cp.DataviewPath.String())
	if dv == nil {
		return rules.Undefined
	}
	p := dv.sampler.entity.probe
	p.mu.RLock()
	defer p.mu.RUnlock()
	if cp.Headline {
		if i := slices.Index(dv.headlines, cp.Column); i >= 0 && i < len(dv.head) {
			return dv.head[i].sev
		}
		return rules.Undefined
	}
	ri, ok := dv.rowIndex[cp.Row]
	col := slices.Index(dv.columns, cp.Column)
	if !ok || col < 0 || int(ri) >= len(dv.rows) || dv.rows[ri] == nil || col >= len(dv.rows[ri].cells) {
		return rules.Undefined
	}
	return dv.rows[ri].cells[col].sev
}
