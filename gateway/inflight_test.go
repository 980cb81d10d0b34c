package gateway_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// busyConsumer does some work per changed cell, as the rules evaluator,
// history and the incident queue will on the actor's goroutine: it never
// blocks, it only takes time. Consumers are called concurrently by every
// probe's actor, the gateway's own probe's too.
type busyConsumer struct{ sink atomic.Uint64 }

func (c *busyConsumer) Consume(ch *gateway.Changes) {
	var sink uint64
	for i := range ch.Dataviews {
		for cell := range ch.Cells(&ch.Dataviews[i]) {
			for j := range 40 {
				sink += uint64(len(cell.Value.Raw) + j)
			}
		}
	}
	c.sink.Add(sink)
}

// A probe that sends batches faster than its actor applies them makes the
// gateway hold one decoded batch at a time, not a queue of them: a
// decoded batch is several times its message.
func TestQueuedBatchesWithinBound(t *testing.T) {
	p := probe("flood", "cpu")
	ln := gt.Listen(t)
	cfg, err := config.Parse("flood.yaml", []byte(gt.Config(ln.Addr().String(), p)+"limits: {max_cells: 10000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	const maxMessage = 512 << 10
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln, MaxMessage: maxMessage, Consumers: []gateway.Consumer{&busyConsumer{}}}, p)
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	rp.Send(snapshotOf(rp, 1, "x"))

	// As many one-cell changes as fit a message: 5 bytes each.
	u := protocol.Update{ID: 1, SampleTime: time.Now().UnixNano()}
	for len(u.Cells)*5 < maxMessage-64 {
		v := "a"
		if len(u.Cells)%2 == 1 {
			v = "b"
		}
		u.Cells = append(u.Cells, protocol.CellChange{Value: samplers.Text(v)})
	}
	batch := protocol.Batch{Updates: []protocol.Update{u}}
	u = protocol.Update{}

	before := heapInUse()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for range 100 {
			if rp.TrySend(batch) != nil {
				return
			}
		}
	})
	var m runtime.MemStats
	deadline := time.After(30 * time.Second)
poll:
	for {
		runtime.GC() // live objects only, not garbage awaiting collection
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
		select {
		case <-done:
			break poll
		case <-deadline:
			break poll
		case <-time.After(20 * time.Millisecond):
		}
	}
	rp.Conn.CloseNow()
	wg.Wait()
	grew := int64(peak) - int64(before)
	bound := int64(2*10_000*200 + maxMessage)
	t.Logf("the live heap peaked %d MiB above where it started; the documented bound for this probe is about %d MiB", grew>>20, bound>>20)
	if grew > 8*bound {
		t.Errorf("one probe at a budget of 10,000 cells made the heap climb %d MiB, past the documented %d MiB (even ×8)", grew>>20, bound>>20)
	}
}
