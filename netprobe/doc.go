// Package netprobe is the agent that runs on each server. It connects to
// the gateway, receives the samplers to run, runs each on its own tick,
// diffs every new dataview against what it last sent, and ships only the
// changes, one message per tick. After every (re)connect it ships a full
// snapshot; it applies new configuration without restarting.
//
// Reconnecting tells an unreachable gateway (connection refused, timed
// out, going away) from one that refuses this probe (HTTP 401, a refused
// handshake, a session that ends at once): the first is retried with full
// jitter up to a low cap (3 s by default), so a fleet is back within
// seconds of an outage however long it was and arrives spread out; the
// second backs off towards a long cap (30 s). A gateway that speaks
// protocol version 2 announces its limits in its Welcome, and the probe
// never sends what would pass them; an older gateway gets a version-1
// Hello after refusing the version range.
//
// Over wss:// the probe trusts the system's certificate authorities or
// those of its TLS CA file, and may present a client certificate (mutual
// TLS); it rereads those files before every connection attempt, so that a
// renewed certificate applies from the next reconnect (see TLSFiles). A
// gateway certificate it does not trust, or a TLS alert from a gateway
// that refuses its certificate, counts as a refusal.
//
// Goroutines: Run's own, which connects and waits between attempts; per
// session a reader, a pinger and the sender (Run's goroutine), ended
// together when the session ends; the runner's owner goroutine, which
// alone applies configurations (the latest wins) and never waits for a
// sampler; and one goroutine per sampler instance, which samples on its
// tick and closes its sampler when it ends. Stopping Run cancels them all
// and waits, for a sampler stuck in Sample only for a grace period.
//
// A sampler that is a samplers.Waker (a process watcher woken by a pidfd,
// a log follower woken by inotify) also ships between its ticks: when it
// signals news, the runner calls its SampleNews and the sender ships the
// change at once, at most once per 50 ms per instance; news that comes
// sooner is coalesced into one update when the spacing is up
// (watchfloor_netprobe_news_samples_total, _news_coalesced_total).
//
// The netprobe evaluates no rules: judging values is the gateway's job.
package netprobe
