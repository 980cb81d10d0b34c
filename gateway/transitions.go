package gateway

import (
	"sync/atomic"
	"time"

	"github.com/watchfloor/watchfloor/dashboard/coalesce"
	"github.com/watchfloor/watchfloor/rules"
)

// Transition is one severity change: of a cell, or of what a dataview or
// probe rule found (a dataview stale, a row missing, a probe down).
type Transition struct {
	// Path is the cell's path; for a finding, the dataview's (stale), the
	// missing row's (absence: the dataview's path and the row) or the
	// probe's.
	Path     string
	Headline bool
	Kind     rules.Kind
	Old, New rules.Severity
	// Worst is the worst severity the path had from Old to New: a spike
	// coalesced away between two Takes still shows.
	Worst rules.Severity
	// Attrs are the entity's attributes (nil for a probe's finding); the
	// map is never changed.
	Attrs map[string]string
	// Rule is the rule that set New (for a cell that lost its rules, "").
	Rule string
	// Value is the cell's value, or the finding's reason.
	Value string
	Time  time.Time
}

// maxPendingTransitions bounds the transitions waiting for their consumer:
// one per distinct path, however often each changes.
const maxPendingTransitions = 100_000

// Transitions is the queue of severity transitions out of every actor,
// coalesced by path: between two Takes a path's transitions merge into
// one from its first old severity to its latest state. It is bounded; a
// transition that finds it full is counted and the consumer is told at
// its next Take to read the live state again, so no path's latest state
// is lost for good.
type Transitions struct {
	q      *coalesce.Queue[string, Transition]
	wanted atomic.Bool // a consumer has asked; until then nothing is queued
	// every: queue every cell's transitions, not only those of rules
	// that open incidents, because an incident or a cell's snooze needs
	// them (see desk.refreshEvery).
	every atomic.Bool
	lost  atomic.Bool
}

// opensIncidents reports whether a cell judged by r, before or after a
// transition, concerns the incidents: the desk needs only those
// transitions, unless every is set.
func (t *Transitions) opensIncidents(r *rules.Rule) bool {
	return t.every.Load() || (r != nil && r.Incident() != nil)
}

func newTransitions() *Transitions {
	return &Transitions{q: coalesce.NewQueue[string, Transition](maxPendingTransitions)}
}

// Transitions returns the gateway's transition queue. Queueing starts
// with the first call: a gateway nobody consumes transitions from keeps
// none.
func (g *Gateway) Transitions() *Transitions {
	g.trans.wanted.Store(true)
	return g.trans
}

func (t *Transitions) put(tr Transition) {
	tr.Worst = max(tr.Old, tr.New)
	if !t.q.Put(tr.Path, tr, mergeTransition) {
		t.lost.Store(true)
	}
}

// mergeTransition keeps a path's first old severity and its worst, and
// takes the rest from the latest transition.
func mergeTransition(old *Transition, tr Transition) {
	tr.Old = old.Old
	tr.Worst = max(old.Worst, tr.Worst)
	*old = tr
}

// Ready is signalled after transitions are queued.
func (t *Transitions) Ready() <-chan struct{} { return t.q.Ready() }

// Take moves the pending transitions into dst. lost reports that some
// were refused since the last Take because the queue was full: the
// consumer should read the live tree again.
func (t *Transitions) Take(dst *coalesce.Map[string, Transition]) (lost bool) {
	t.q.Take(dst)
	return t.lost.Swap(false)
}
