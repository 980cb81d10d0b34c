package gateway

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/dashboard"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// A batch of a million changes to a watched dataview does not leave its
// actor's dashboard sink holding a buffer that size afterwards.
func TestDashboardSinkBufferBounded(t *testing.T) {
	a, _, sid, clock := testActor(t, testLimits)
	hub := dashboard.NewHub(source{t: a.g.tree}, dashboard.Options{Logger: slog.New(slog.DiscardHandler), StateTopics: []string{treeTopic}})
	sink := newDashboardSink(hub)
	a.consumers = []Consumer{sink}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	topic := dashboard.DataviewTopic(key)
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"op":"subscribe","topic":"`+topic+`"}`)); err != nil {
		t.Fatal(err)
	}
	for !hub.Watched(topic) {
		if ctx.Err() != nil {
			t.Fatal("never watched")
		}
		time.Sleep(time.Millisecond)
	}

	now := clock.Now().UnixNano()
	if err := a.do(snapshot(declare(1, sid, "d", now, "x"))); err != nil {
		t.Fatal(err)
	}
	const n = 800_000
	u := protocol.Update{ID: 1, SampleTime: now + 1, Cells: make([]protocol.CellChange, n)}
	for i := range u.Cells {
		v := "a"
		if i%2 == 1 {
			v = "b"
		}
		u.Cells[i] = protocol.CellChange{Row: 0, Col: 0, Value: samplers.Text(v)}
	}
	b := protocol.Batch{Seq: 1, Updates: []protocol.Update{u}}
	wire := len(b.Append(nil))
	if err := a.do(b); err != nil {
		t.Fatal(err)
	}
	kept := uintptr(cap(sink.buf)) * unsafe.Sizeof(dashboard.Change{})
	t.Logf("a %d KiB batch left the sink holding %d changes (%d MiB) for good", wire>>10, cap(sink.buf), kept>>20)
	if cap(sink.buf) > maxKeptCells {
		t.Errorf("the sink keeps a buffer of %d changes (%d MiB) after the batch: past maxKeptCells (%d), for the probe's lifetime",
			cap(sink.buf), kept>>20, maxKeptCells)
	}
}
