// Package history keeps, in memory, a short window of the recent values
// of every numeric cell the gateway holds: by default the last 15
// minutes, longer for the cells a Window pattern names.
//
// Only changes are recorded. A View, one per dataview, records the times
// its dataview was sampled; each of its Series records a cell's value
// only when it changes, so a value that stays the same costs nothing per
// tick beyond the one sample time its whole dataview shares, and the
// sample times say the value still held. Points are Gorilla-encoded
// (package chunk: delta-of-delta times in milliseconds; short decimals,
// as samplers give them, as deltas of scaled integers, others XORed) in
// chunks of at most 120 points or a quarter of the window; a chunk whose
// last point has left the window is dropped, its last point kept as the
// value in force at the window's start. Appends drop their own series'
// old chunks; Store.Sweep drops those of cells that stopped changing, and
// the series and views of cells and dataviews that went.
//
// A cell that goes (its row removed, its dataview dropped, its value
// turned to text) gets a rules.StaleNaN point: it has no value until its next
// one.
//
// Times are the probe's sample times, in Unix milliseconds: a chart shows
// when a value was sampled, and a backtest replays the probe's own
// timeline. A sample whose time is not after its view's last (a probe's
// clock stepped back) is refused and counted; history resumes once the
// times pass the last one recorded.
//
// Each View has one writer at a time, its probe's actor, which brackets
// a sample's appends with Begin and End and holds the view's lock
// between them. Readers (Read) copy a view's encoded chunks under the
// same lock and decode them after releasing it.
package history
