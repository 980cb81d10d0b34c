// Package rules is Watchfloor's rule language: what back-line engineers
// write about cells, dataviews and probes (Def), checked and compiled
// once into a Set, and judged by each probe's actor with the time as a
// parameter. It does no I/O and reads no clock.
//
// # Kinds of rule
//
// A rule is one of four kinds, told apart by the fields it sets:
//
//   - a cell rule (critical and/or warning) judges each cell its pattern
//     selects: the levels give warning or critical, and a cell whose
//     levels do not fire is ok;
//   - a staleness rule (stale) gives its severity to a dataview not
//     sampled for that long while its probe is connected;
//   - an absence rule (rows) gives its severity to each listed row a
//     selected dataview does not have;
//   - a probe rule (probe_down) gives its severity to a probe
//     disconnected for that long.
//
// The last three need a severity, warning or critical; a cell rule has
// none of its own. The package finds the rules of a cell, a dataview or
// a probe and judges cells; the gateway keeps the time for the other
// kinds.
//
// # Patterns
//
// match is a path of "/"-separated segments, each percent-encoded as
// samplers.EscapeSegment writes it: probe/entity/sampler/dataview/row/column
// for a cell rule (row "#" is the dataview's headlines), the first four for
// staleness and absence rules, one segment for a probe rule. In a pattern:
//
//   - "*" is any one segment, the headline row included;
//   - a "*" inside a segment is any run of characters ("disk-*", "*-feed",
//     "a*b*c"); such a glob never matches the headline row;
//   - "**" is any number of segments, none included;
//   - "#" is the headline row only, and "%23" only a row named "#";
//   - anything else is one segment, decoded: the mount point /var/log is
//     %2Fvar%2Flog, and %2A is a literal "*".
//
// where selects by entity attribute: each named attribute must be present
// with one of the listed values (where: {environment: [production,
// preprod]}). Probes have no attributes; a probe rule has no where.
//
// The set files each pattern under one of its literal segments, so that
// finding a cell's rules tries only those that can match.
//
// # Conditions
//
// A level's when, and its clear, are expressions of
// github.com/expr-lang/expr giving true or false: comparisons, and, or,
// not, arithmetic, in, contains, startsWith, endsWith, matches, ?: and ??,
// and functions such as len, lower, trim, split, abs and max. A condition
// sees:
//
//	value      the cell's number (a float64) where its text is a finite
//	           number, else its text
//	text       the cell's text as sampled
//	previous   the value before the cell's last change; the value itself
//	           while the cell has not changed since it appeared. Judging an
//	           unchanged cell again does not move it.
//	rate       (value - previous) per second between the two changes,
//	           read as a counter: if value went down the counter was
//	           reset, and rate is value over the seconds since previous
//	           was set. 0 if either is text, or before a change.
//	age        seconds (with fractions) from the value's change to the
//	           evaluation. A cell whose rules read age is judged again
//	           each time its dataview is sampled (CellState.UsesAge).
//	row        the cells of the cell's row, by column: row.instances,
//	           row["queue depth"]; empty for a headline
//	headlines  the dataview's headlines, by name
//	attrs      the entity's attributes, by name; "" for one it lacks
//
// A cell named in row or headlines that does not exist is nil: write
// (row.spare ?? 0) < 3 to give it a default.
//
// # Levels
//
// A cell rule's critical level is tried first, then its warning level;
// both advance at every evaluation, and the rule gives critical if its
// critical level fires, else warning if its warning level fires, else ok.
// A level:
//
//   - with for, is pending from the first evaluation at which when holds
//     and fires at the first at or after that time plus for, provided
//     when held at every evaluation between: one at which it does not
//     starts the wait again. Verdict.Next is the time it would fire, for
//     the cell's owner to judge the cell again then, unchanged;
//   - with clear, once firing, goes on firing while when does not hold,
//     until clear holds: a value hovering between clear and when does not
//     flap;
//   - with keep_firing_for, goes on firing that long after when stops
//     holding (and with clear, after clear holds), Verdict.Next being the
//     end. If when holds again meanwhile, it never stopped; if clear
//     stops holding, the wait starts again when it holds.
//
// A level that has stopped firing fires again as from the start, its for
// counted afresh.
//
// # Most severe wins
//
// A cell's severity is the most severe result of its rules; of equals,
// the first rule by name. A rule giving ok beats none, and a cell no rule
// judges is undefined. Verdict.Rule and CellState.Rule name the rule the
// severity is from.
//
// # Errors at run time
//
// A condition that fails when it runs (a text cell compared with a
// number, a missing cell compared, the memory budget exceeded) makes its
// rule give nothing at that evaluation; Evaluator.OnError is told. The
// rule's levels start again: a pending for is lost, a firing level stops.
// A cell whose only rule fails is undefined.
//
// # Limits
//
// Rules come from many engineers, through the configuration and the API,
// and are judged on every change of every cell they select; no rule may
// make the gateway slow or large. So:
//
//   - a name is at most 128 bytes of letters, digits, '.', '_' and '-';
//     a pattern at most 1024 bytes; a condition at most 2048 bytes and 256
//     nodes; a rule at most 1024 rows and 256 values an attribute;
//   - one run of a condition may build at most 65536 elements of arrays
//     and maps (1..100000 fails);
//   - the pattern of matches is a quoted string, compiled with the rule
//     (RE2: its time is the text's length times the pattern's compiled
//     size, at most 2048 steps, so ".{1000}.{1000}.{1000}" is refused);
//     an invalid one is an error with its place, and a pattern read from
//     a cell is refused;
//   - a condition cannot name values (let) or loop (any, all, map, filter,
//     reduce, ...), and has no repeat, replace or join: with these a short
//     condition can double a string at each step, and the memory budget
//     counts elements, not bytes. Each part of a condition runs once;
//   - there is no now, date, duration or timezone: time is a parameter
//     (Input.Now, Unix ns), so that judging is the same in the gateway,
//     in a test and in a simulation of a rule's history.
//
// Compile reports every problem, each with its rule, its field and, in a
// condition or a pattern, its line and column in that field's text.
//
// # Simulations and backtests
//
// Simulate runs a Case, the samples of a rule's unit test, and Backtest
// a Recording, the history the gateway keeps (each dataview's sample
// times, each numeric cell's changes), through one engine that judges
// cells as the gateway's probe actor does live: the cells an event
// changed, then the cells of the dataviews it sampled whose rules read
// age, and each cell again at its verdict's deadline.
//
// Backtest answers "would this rule have fired last night?". It replays
// a recording through a set (a candidate rule, alone or with others) at
// the probe's sample times, building the state at the window's start
// from the recording before it, and reports each cell's transitions in
// the window — a change of severity, or of the rule that set it — in the
// order the gateway would have made them, at most MaxTransitions of
// them, all counted. A value is its number as samplers.Number(v, -1)
// writes it; a cell whose point is StaleNaN went: it is undefined, its
// rule state lost, until it has a value again, and a cell that went with
// a severity makes a transition to undefined, as in the gateway.
//
// # Sets and state
//
// Compile(defs, prev) compiles the set that follows prev. A rule whose
// definition is unchanged is prev's *Rule, and CellState.Bind keeps the
// state of the rules a cell had, so an edit of one rule restarts no
// other rule's for or keep_firing_for.
//
// A Set and its Rules are immutable and safe for concurrent use. An
// Evaluator holds scratch space: one per goroutine. A CellState belongs
// to its cell's owner, which calls Changing before a cell's value
// changes, Bind when the set changes, and Judge.
package rules
