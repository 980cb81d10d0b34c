package gateway

import (
	"container/heap"
	"time"
)

// Clock is the gateway's source of time. Apply and evaluation take the
// time as a parameter; the actors read it here once per event, and wait
// for their deadlines on its timers, so tests can run them in virtual time
// (testing/synctest) or step them by hand.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() Timer
}

// Timer is a Clock's timer: C fires once after each Reset.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// systemClock is the real clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer() Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return sysTimer{t}
}

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time   { return s.t.C }
func (s sysTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s sysTimer) Stop()                 { s.t.Stop() }

// deadlineKind says what a deadline is for.
type deadlineKind uint8

const (
	// deadlineStale: a dataview that has not been sampled for a while is
	// marked stale.
	deadlineStale deadlineKind = iota
	// deadlineSnapshot: a snapshot that a connection opened and never
	// finished ends that connection.
	deadlineSnapshot
	// deadlineCell: a cell is judged again, for a level pending on `for`
	// or kept by keep_firing_for.
	deadlineCell
	// deadlineFindings: a dataview's staleness rules are checked again.
	deadlineFindings
	// deadlineProbe: the probe rules are checked again.
	deadlineProbe
)

type deadline struct {
	when time.Time
	kind deadlineKind
	key  string // deadlineStale, deadlineCell, deadlineFindings: the dataview's path
	// deadlineCell: the cell's rule state, and where the cell is: its row
	// (or headline) and column by name, and the column's index then.
	rs       *cellRules
	row      string
	column   string
	col      int32
	headline bool
}

// deadlines is an actor's one heap of timers, earliest first. Entries are
// not removed early: each says what it is for, and whoever pops it checks
// whether it still holds (a dataview sampled since, a snapshot finished),
// so moving a deadline later costs nothing until it falls due. A cell's
// rule deadline is the exception: a cell has at most one, moved earlier in
// place and removed with the cell, so rows that come and go under a long
// `for` do not pile deadlines up.
type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].when.Before(d[j].when) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d.placed(i)
	d.placed(j)
}
func (d *deadlines) Push(x any) {
	*d = append(*d, x.(deadline))
	d.placed(len(*d) - 1)
}
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	old[len(old)-1] = deadline{}
	*d = old[:len(old)-1]
	if x.rs != nil {
		x.rs.heapIdx = -1
	}
	return x
}

// placed records where a cell's deadline is, so that it can be moved or
// removed (a cell has at most one in the heap).
func (d deadlines) placed(i int) {
	if rs := d[i].rs; rs != nil {
		rs.heapIdx = i
	}
}
func (d *deadlines) add(x deadline) { heap.Push(d, x) }
func (d *deadlines) next() (time.Time, bool) {
	if len(*d) == 0 {
		return time.Time{}, false
	}
	return (*d)[0].when, true
}

// due pops the deadlines at or before now.
func (d *deadlines) due(now time.Time, f func(deadline)) {
	for len(*d) > 0 && !(*d)[0].when.After(now) {
		f(heap.Pop(d).(deadline))
	}
}
