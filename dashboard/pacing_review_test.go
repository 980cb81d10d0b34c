package dashboard

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A topic held back for a paced client gets it nothing more until the
// catch-up snapshot that the client's ack brings, even if the client's
// count of frames in flight dips under its window meanwhile without an
// ack: the write loop takes a frame from the queue before it numbers it,
// and a delta let through then would follow the held frame's gap.
func TestReviewHeldTopicWaitsForItsCatchUp(t *testing.T) {
	src := newMemSource()
	src.set(dvTopic, "0")
	h := newTestHub(src, Options{QueueLen: 16})
	c := newTestClient(h)
	if err := c.pace(2); err != nil {
		t.Fatal(err)
	}
	h.subscribe(c, dvTopic, dvTopic)
	t0 := time.Unix(1_800_000_000, 0)
	h.flush(t0)
	written(t, c) // the snapshot: 1 sent
	src.set(dvTopic, "1")
	h.Publish(dvTopic, cellUpdate("1"))
	h.flush(t0.Add(time.Second)) // the delta with 1: queued, the window full
	src.set(dvTopic, "2")
	h.Publish(dvTopic, cellUpdate("2"))
	h.flush(t0.Add(2 * time.Second))
	if got := h.held.Get(); got != 1 {
		t.Fatalf("frames held = %d, want the delta with 2 held", got)
	}
	// The write loop takes the queued delta and has not numbered it yet.
	taken := <-c.send
	src.set(dvTopic, "3")
	h.Publish(dvTopic, cellUpdate("3"))
	h.flush(t0.Add(3 * time.Second))
	c.sent.Add(1)
	if f := decode(t, dataOf(taken)); f.Type != "delta" || f.Cells[0].V != "1" {
		t.Fatalf("the frame taken: %+v, want the delta with 1", f)
	}
	if got := written(t, c); len(got) != 0 {
		t.Fatalf("a topic held back (its delta with 2 dropped for the client) then sent %+v before its catch-up snapshot", got)
	}
	if err := c.ack(2); err != nil {
		t.Fatal(err)
	}
	h.flush(t0.Add(4 * time.Second))
	got := written(t, c)
	if len(got) != 1 || got[0].Type != "snapshot" || got[0].Rows[0].Cells[0].V != "3" {
		t.Fatalf("after the ack got %+v, want the catch-up snapshot with 3", got)
	}
}

// tapListener hands each connection it accepts to conns, wrapped so that
// the test can see what the hub writes to it.
type tapListener struct {
	net.Listener
	conns chan *tapConn
}

func (l tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &tapConn{Conn: c, closed: make(chan struct{})}
	l.conns <- tc
	return tc, nil
}

// tapConn counts the data frames written to it once after is set, each
// written a millisecond late; closed is closed when the hub closes it.
type tapConn struct {
	net.Conn
	after     atomic.Bool
	late      atomic.Int64
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *tapConn) Write(b []byte) (int, error) {
	// A server's text frame starts 0x81 (FIN, text); its close frame 0x88.
	if c.after.Load() && len(b) > 0 && b[0] == 0x81 {
		c.late.Add(1)
	}
	// A slow socket: the write loop is nearly always writing, so a kick
	// comes during a write, and its heartbeat is due when it returns.
	time.Sleep(time.Millisecond)
	return c.Conn.Write(b)
}

func (c *tapConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// Once Disconnect has returned, a connection gets its close frame and no
// heartbeat: a write loop that has both a kick and a due heartbeat must
// take the kick. At most one frame may be written after Disconnect
// returns, the one the write loop had taken before the kick.
func TestReviewNoHeartbeatAfterKick(t *testing.T) {
	h := NewHub(newMemSource(), Options{
		Logger:    slog.New(slog.DiscardHandler),
		Heartbeat: time.Nanosecond, // always due
	})
	srv := httptest.NewUnstartedServer(h)
	conns := make(chan *tapConn, 1)
	srv.Listener = tapListener{Listener: srv.Listener, conns: conns}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
		srv.Close()
	}()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	for trial := range 40 {
		dctx, dcancel := context.WithTimeout(context.Background(), wait)
		conn, _, err := websocket.Dial(dctx, url, nil)
		dcancel()
		if err != nil {
			t.Fatal(err)
		}
		tc := <-conns
		ctx, rcancel := context.WithTimeout(context.Background(), wait)
		if _, _, err := conn.Read(ctx); err != nil { // the write loop runs
			t.Fatal(err)
		}
		read := make(chan struct{})
		go func() {
			defer close(read)
			for {
				if _, _, err := conn.Read(ctx); err != nil {
					return
				}
			}
		}()
		if n := h.Disconnect(func(any) bool { return true }, "ended"); n != 1 {
			t.Fatalf("trial %d: Disconnect closed %d connections, want 1", trial, n)
		}
		tc.after.Store(true)
		select {
		case <-tc.closed:
		case <-time.After(wait):
			t.Fatalf("trial %d: the hub never closed a kicked connection", trial)
		}
		<-read
		rcancel()
		conn.CloseNow()
		if n := tc.late.Load(); n > 1 {
			t.Fatalf("trial %d: %d frames written after Disconnect returned, want at most the one under way", trial, n)
		}
	}
}
