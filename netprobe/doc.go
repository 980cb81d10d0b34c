// Package netprobe is the agent that runs on each server. It connects to
// the gateway, receives the samplers to run, runs each on its own tick,
// diffs every new dataview against what it last sent, and ships only the
// changes, one message per tick. After every (re)connect it ships a full
// snapshot; it reconnects with jittered, capped exponential backoff and
// applies new configuration without restarting.
//
// The netprobe evaluates no rules: judging values is the gateway's job.
package netprobe
