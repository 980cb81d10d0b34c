package gateway_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/coder/websocket"

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
//
// The heap is measured while the gateway is at its fullest and stands
// still: every tenth batch, a consumer holds the actor once it has applied
// the batch, while its connection's reader has read the next message and
// waits for its turn. Nothing else then allocates, so two collections
// leave only what is live. Sampling the heap while batches flow instead
// counts what the process allocates during each collection's concurrent
// mark as live (the decoding of the next batch, the growth of the lists),
// more the longer a collection takes on a busy machine; and the sender,
// which shares the process, encodes into one buffer made beforehand, as
// the start-up's password hash is waited for, so neither is counted.
func TestQueuedBatchesWithinBound(t *testing.T) {
	p := probe("flood", "cpu")
	ln := gt.Listen(t)
	cfg, err := config.Parse("flood.yaml", []byte(gt.Config(ln.Addr().String(), p)+"limits: {max_cells: 10000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	const maxMessage = 512 << 10
	hold := &holdingConsumer{probe: p.Name, every: 10, held: make(chan struct{}), resume: make(chan struct{}), done: make(chan struct{})}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln, MaxMessage: maxMessage, Consumers: []gateway.Consumer{&busyConsumer{}, hold}}, p)
	// Registered after Start, so it runs before the gateway stops: a test
	// that fails while the actor is held does not wait for it for ever.
	t.Cleanup(func() { close(hold.done) })
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	rp.Send(snapshotOf(rp, 1, "x"))
	// A login waits for the random password hash the gateway makes when
	// it starts (an argon2id hash: 19 MiB while it runs).
	gw.Admin(t)

	// As many one-cell changes as fit a message: 5 bytes each.
	u := protocol.Update{ID: 1, SampleTime: time.Now().UnixNano()}
	for len(u.Cells)*5 < maxMessage-64 {
		v := "a"
		if len(u.Cells)%2 == 1 {
			v = "b"
		}
		u.Cells = append(u.Cells, protocol.CellChange{Value: samplers.Text(v)})
	}
	changes := len(u.Cells)
	batch := protocol.Batch{Updates: []protocol.Update{u}}
	u = protocol.Update{}
	const batches = 100
	// Every batch's message is as long as this one: its sequence number
	// stays one byte.
	batch.Seq = batches + 1
	msg := batch.Append(nil)

	before := heapInUse()
	var wg sync.WaitGroup
	wg.Go(func() {
		for seq := range uint64(batches) {
			batch.Seq = seq + 2 // the snapshot was 1
			msg = batch.Append(msg[:0])
			if rp.Conn.Write(context.Background(), websocket.MessageBinary, msg) != nil {
				return
			}
		}
	})
	var peak uint64
	deadline := time.After(30 * time.Second)
	for range batches / hold.every {
		select {
		case <-hold.held:
		case <-deadline:
			t.Fatal("the flood's batches were not all applied within 30 s")
		}
		peak = max(peak, heapInUse())
		hold.resume <- struct{}{}
	}
	rp.Conn.CloseNow()
	wg.Wait()

	// What the design lets this probe hold, from its protocol and its
	// lists: the message its reader has read; the batch its actor applies,
	// decoded (a 5-byte change becomes a 40-byte protocol.CellChange); and
	// the actor's list of the cells the batch touched, one 16-byte entry
	// per change. The message and the list grow by append, which leaves up
	// to a quarter of their capacity unused. The probe's one cell, and the
	// gateway's own dataviews sampled meanwhile, fit in the 256 KiB left.
	decoded := changes * int(unsafe.Sizeof(protocol.CellChange{}))
	touched := changes * 16
	bound := int64((len(msg)+touched)*5/4 + decoded + 256<<10)
	grew := int64(peak) - int64(before)
	t.Logf("with one batch applied and the next read, the live heap stood %.1f MiB above where it started; the design bounds it at %.1f MiB",
		float64(grew)/(1<<20), float64(bound)/(1<<20))
	if grew > bound {
		t.Errorf("one probe's flood of %d-change batches made the gateway hold %.1f MiB, over the %.1f MiB of one message, one decoded batch and its touched cells: it holds more than one batch",
			changes, float64(grew)/(1<<20), float64(bound)/(1<<20))
	}
}

// holdingConsumer holds its probe's actor inside Consume after every
// every-th batch that changed cells, until the test resumes it or ends
// (done). Only the actor calls Consume; n is its own.
type holdingConsumer struct {
	probe        string
	every, n     int
	held, resume chan struct{}
	done         chan struct{}
}

func (h *holdingConsumer) Consume(ch *gateway.Changes) {
	if ch.Probe != h.probe || !changedCells(ch) {
		return
	}
	h.n++
	if h.n%h.every != 0 {
		return
	}
	select {
	case h.held <- struct{}{}:
	case <-h.done:
		return
	}
	select {
	case <-h.resume:
	case <-h.done:
	}
}

func changedCells(ch *gateway.Changes) bool {
	for i := range ch.Dataviews {
		for range ch.Cells(&ch.Dataviews[i]) {
			return true
		}
	}
	return false
}
