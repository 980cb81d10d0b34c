// Package gateway is Watchfloor's central server: the probe hub and the
// probes' actors, the live tree of probes, entities, samplers and
// dataviews, configuration and its reload, the REST API, /metrics and the
// dashboard's WebSocket.
//
// # Data flow
//
// A netprobe's connection is read by its handler goroutine, which checks
// each batch's sequence number and hands it to the probe's actor. The
// actor applies the batch to its probe's subtree, collecting every cell it
// touched in a Changes, then judges those cells by the rules (judge.go):
// each cell is bound, when it appears, to the rules whose patterns match
// it, found through the rule set's index, and judged again when its value
// changes, when a deadline of its rules falls due, or when the rule set
// changes. Severity changes are counted up the tree and queued as
// Transitions. Then the actor hands the list to its consumers in order —
// the dashboard sink first (which publishes each watched dataview's
// changes to the dashboard hub and tells the hub which tree nodes
// changed), then any Options.Consumers. Nothing a consumer does may block:
// the hub merges by key and never waits on a browser.
//
// # Rules
//
// The rule set in force is one immutable rules.Set, swapped whole: the
// configuration file's rules and the API's, compiled together. A new set
// reaches each actor as an event (a reload's in the same event as its
// configuration), which binds every cell again, and the change returns
// once every actor has it; a rule
// unchanged from the set before is the same rules.Rule, so the cells keep
// its state — a pending `for`, a firing level — and a reload alone never
// makes a cell flap.
//
// # Goroutines
//
// Every goroutine has an owner that stops it and waits for it:
//
//   - Run's caller owns Run. Run starts the HTTP server's goroutine, the
//     hub's goroutine (dashboard.Hub.Run) and, through applyConfig, one
//     actor goroutine per configured probe; when its context ends it shuts
//     the server down, closes every hijacked connection and waits for all
//     of them (wg for actors, connWG for probe connections).
//   - An actor (probeActor.run) lives as long as its probe is configured:
//     a reload that removes the probe, or changes its token, cancels it
//     and waits for it. It outlives connections.
//   - Each probe connection has its handler goroutine (the HTTP server's,
//     reading) and one writer goroutine (probeConn.writeLoop); both end
//     when the connection closes, which the actor or the gateway's
//     shutdown can force.
//   - The hub owns one reader and one writer goroutine per browser.
//
// # Locks
//
// From outermost to innermost; a goroutine holding one may take only
// those after it:
//
//  1. Gateway.rules.mu serialises changes of the rule set: a reload, an
//     API request that stores a rule, from compiling to installing.
//  2. Gateway.reloadMu serialises configuration changes.
//  3. Gateway.mu guards the configuration, the actors and the
//     connections. Nothing that may block on I/O runs under it.
//  4. probeNode.mu, one per probe, guards the cell state of all its
//     dataviews. The actor holds it for writing from applying an event
//     until every consumer has taken the changes; readers (the API, the
//     hub's snapshots) hold it for reading while they copy, and encode
//     after releasing it. So a reader never sees a value that was not
//     published, nor one without the severity judged for it.
//  5. tree.mu guards the tree's structure: which probes, entities,
//     samplers and dataviews exist. Taken by actors (under their probe's
//     lock) when dataviews come and go, and by readers of the structure,
//     which never take a probe's lock while holding it. Counts and the
//     stale and connected flags and the findings are atomics, read without
//     any lock.
//  6. The dashboard hub's own locks (see package dashboard) and the
//     transitions queue's, taken by publishers under the locks above and
//     never held while calling back into the gateway.
//
// No lock is held while writing to a socket or a file.
//
// # Time
//
// Apply and evaluation take the time as a parameter: the actor reads its
// Clock once per event and keeps its deadlines (a dataview going stale, a
// snapshot that must end, a rule's `for` or keep_firing_for, a staleness
// or probe rule's duration) in one heap, waited on with the Clock's timer.
// Nothing polls.
package gateway
