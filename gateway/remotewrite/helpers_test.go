package remotewrite_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway/internal/tsdbtest"
	"github.com/watchfloor/watchfloor/gateway/remotewrite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitStats waits until the writer's stats satisfy cond and returns them.
func waitStats(t testing.TB, w *remotewrite.Writer, what string, cond func(remotewrite.Stats) bool) remotewrite.Stats {
	t.Helper()
	var st remotewrite.Stats
	tsdbtest.WaitFor(t, what, func() bool { st = w.Stats(); return cond(st) })
	return st
}

// run runs w until the test ends and checks that Run returns.
func run(t testing.TB, w *remotewrite.Writer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(tsdbtest.Patience):
			t.Errorf("Run did not return %v after its context ended", tsdbtest.Patience)
		}
	}
	t.Cleanup(stop)
	return stop
}

// clock is a settable time source for Options.Now.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ms.Store(t.UnixMilli())
	return c
}

func (c *clock) Now() time.Time           { return time.UnixMilli(c.ms.Load()) }
func (c *clock) Advance(d time.Duration)  { c.ms.Add(d.Milliseconds()) }
func (c *clock) UnixMilli() int64         { return c.ms.Load() }
func (c *clock) At(d time.Duration) int64 { return c.ms.Load() + d.Milliseconds() }

// logBuffer collects a slog text log, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
