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
// touched in a Changes, then hands that list to its consumers in order —
// the dashboard sink first (which publishes each watched dataview's
// changes to the dashboard hub and tells the hub which tree nodes
// changed), then any Options.Consumers. Nothing a consumer does may block:
// the hub merges by key and never waits on a browser.
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
//  1. Gateway.reloadMu serialises configuration changes.
//  2. Gateway.mu guards the configuration, the actors and the
//     connections. Nothing that may block on I/O runs under it.
//  3. probeNode.mu, one per probe, guards the cell state of all its
//     dataviews. The actor holds it for writing from applying an event
//     until every consumer has taken the changes; readers (the API, the
//     hub's snapshots) hold it for reading while they copy, and encode
//     after releasing it. So a reader never sees a value that was not
//     published, nor one without the severity judged for it.
//  4. tree.mu guards the tree's structure: which probes, entities,
//     samplers and dataviews exist. Taken by actors (under their probe's
//     lock) when dataviews come and go, and by readers of the structure,
//     which never take a probe's lock while holding it. Counts and the
//     stale and connected flags are atomics, read without any lock.
//  5. The dashboard hub's own locks (see package dashboard), taken by
//     publishers under the locks above and never held while calling back
//     into the gateway.
//
// No lock is held while writing to a socket or a file.
//
// # Time
//
// Apply and evaluation take the time as a parameter: the actor reads its
// Clock once per event and keeps its deadlines (a dataview going stale, a
// snapshot that must end) in one heap, waited on with the Clock's timer.
package gateway
