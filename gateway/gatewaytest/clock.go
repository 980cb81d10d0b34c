package gatewaytest

import (
	"sync"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
)

// ManualClock is a gateway.Clock that moves only when a test advances it;
// its timers fire then. It is safe for concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

var _ gateway.Clock = (*ManualClock)(nil)

// NewManualClock returns a clock stopped at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a stopped timer of this clock.
func (c *ManualClock) NewTimer() gateway.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{clock: c, c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock on and fires the timers that fall due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.armed && !t.at.After(c.now) {
			t.fire(c.now)
		}
	}
}

type manualTimer struct {
	clock *ManualClock
	c     chan time.Time
	at    time.Time
	armed bool
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

// fire sends on the timer's channel; the caller holds the clock's lock.
func (t *manualTimer) fire(now time.Time) {
	t.armed = false
	select {
	case t.c <- now:
	default:
	}
}

func (t *manualTimer) Reset(d time.Duration) {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.at, t.armed = t.clock.now.Add(d), true
	if d <= 0 {
		t.fire(t.clock.now)
	}
}

func (t *manualTimer) Stop() {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.armed = false
	select {
	case <-t.c:
	default:
	}
}
