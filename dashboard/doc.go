// Package dashboard is the browser-facing WebSocket hub: browsers
// subscribe to topics, get a snapshot of each, then deltas. The hub holds
// no business state: frames come from a Source, news of changes from
// Publish, Touch and Reset. docs/dashboard-protocol.md is the wire
// contract.
//
// # Topics
//
// A state topic (Options.StateTopics, such as "tree") is fed by Touch with
// the keys whose state changed; the hub collects them and, at its next
// frame, asks Source.Delta for their current state. A dataview topic
// (DataviewPrefix and a dataview's path) is fed by Publish with the
// dataview's cell changes, which the hub merges itself, keeping the latest
// value of each cell, and encodes into a delta. Every subscriber that
// joins a topic, and every one that is resynchronised, gets a snapshot
// from Source.Snapshot (or "gone" when it has none), one shared by all who
// joined since the topic's last flush. Reset makes every subscriber of a
// topic a joiner again, and so does a topic's pending changes passing
// Options.MaxPending keys: it is resent whole instead.
//
// # Access
//
// Authorizer.Connect vets each browser and names its principal;
// Authorizer.Subscribe vets each subscription and answers the topic it
// joins. For a state topic that may be a variant, "tree?client=acme": the
// filtered view of one scope, a topic of its own that every subscriber
// with that scope shares, so each of its frames is computed once. The hub
// keeps the name the browser asked for: the client holds the subscription
// under it, and every frame says it (the Source writes it into snapshots
// and deltas, the hub into "gone" and error frames). Touch and Reset of a
// state topic reach all its variants, each coalescing its keys apart; a
// variant goes when its last subscriber leaves.
//
// Reauthorize asks the Authorizer again about every subscription held,
// withdrawing the ones now refused and moving the ones whose variant
// changed. Disconnect closes the connections of principals whose session
// ended, with close code CloseSessionEnded; Principals lists those
// connected.
//
// # Frames
//
// A frame goes out at once if any subscriber's queue is empty (and, for a
// paced one, its frames are all acknowledged); only while every
// subscriber is still busy with earlier frames does a topic hold its
// changes back, until Coalesce has passed since its last frame. Each frame
// is encoded once for all its subscribers. A client whose bounded queue
// overflows is resynchronised: its queued frames, and any more until its
// write loop has drained its queue, are dropped, and it rejoins all its
// topics. One resynchronised more than 10 times a minute by the hub's
// clock, or whose socket accepts nothing for WriteTimeout, is cut off.
// Neither slows the publisher or other clients.
//
// A withdrawal's error frame is a notice: the hub goroutine queues it
// after every frame of the topic the client has left, so none follows it.
// One that finds the queue full, or is still queued when the queue
// overflows, is kept and sent at the client's resync: no snapshot replaces
// it.
//
// # Pacing and heartbeats
//
// A client may ask to be paced (pacing.go): it numbers the frames it gets
// and acknowledges the ones it has handled, and while as many of them as
// the window it asked for are unacknowledged it counts as busy and its
// topics' frames are held back, not queued. The hub notes each topic it
// missed, and holds back every frame of it until an ack brings the client
// under its window: then it rejoins them
// and gets one fresh snapshot of each, shared with the topics' other
// joiners: the latest value of every cell, with no resync counted. A
// client that never asks is served as above. Every connection that has
// had nothing written for Heartbeat gets a heartbeat frame, so that a
// browser, which cannot see WebSocket pings, can tell a quiet gateway
// from one it is cut off from.
//
// # Goroutines
//
// Run is the hub goroutine, owned by whoever calls Run and ended by
// cancelling its context. It alone flushes topics, so it alone queues a
// topic's frames and delivers notices (a client's resync queues again the
// ones it kept), and it is the only caller of the Source.
// Each client has two goroutines: its read loop runs in ServeHTTP (the
// HTTP server's goroutine for the request) and handles its requests and
// acks, rejoining the topics held back for it; its write loop is started
// by ServeHTTP, numbers the frames it writes and writes heartbeats. When
// Run ends it closes every client's connection and waits for both loops
// of each to return. A client that Disconnect closes
// has its write loop send the close frame; a timer, stopped when the
// write loop returns, closes its socket a second later in case the write
// loop is stuck writing to a browser that reads nothing.
//
// # Locks
//
// Hub.mu guards the topic and client maps, each state topic's list of
// variants, and the Disconnects that connections still connecting may
// have missed; each topic's mu guards its subscribers, its joiners and its
// pending changes, and is the lock Publish, Touch and Reset take; each
// client's subMu serialises changes to its subscriptions (its requests,
// Reauthorize, its leaving) and is taken before any other, its mu guards
// its subscriptions and its kept notices (it is held while a notice is
// queued or kept, and while a resync ends and takes them, so that neither
// falls between the other's steps) and its pacing, its acks and the
// topics held back for it (a frame is held and its topic noted under it,
// and an ack takes the notes under it, releasing it before it rejoins
// them, so no held topic goes unsent), and its closeMu, a leaf, whether it
// is closing; dirtyMu guards the set of topics to flush and the
// notices to queue. A topic's lock may be held while taking the hub's or a
// client's mu; dirtyMu is taken last and alone. No lock is held while
// calling the Source or the Authorizer, encoding a frame or writing to a
// socket: a flush swaps a topic's pending changes out and notes who joined
// under the topic's lock, then releases it, encodes the delta for the
// subscribers that were there before, and takes one snapshot for the ones
// that joined. Because the gateway publishes a change before a snapshot
// can see it, everything in the swapped-out delta is in that snapshot, and
// everything published after the swap goes to every subscriber in the
// next frame.
package dashboard
