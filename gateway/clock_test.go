package gateway

import "time"

// stepClock is a Clock for tests that call the actor's methods directly:
// its time moves only when the test moves it. Its timers are real ones
// that nothing arms, since no actor goroutine runs.
type stepClock struct{ now time.Time }

func newStepClock() *stepClock {
	return &stepClock{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *stepClock) Now() time.Time          { return c.now }
func (c *stepClock) NewTimer() Timer         { return systemClock{}.NewTimer() }
func (c *stepClock) Advance(d time.Duration) { c.now = c.now.Add(d) }
