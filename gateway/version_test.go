package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	"github.com/watchfloor/watchfloor/samplers"
)

// A netprobe from before version ranges sends a version-1 Hello; a
// gateway that speaks versions 1 and 2 answers it in version 1 — a
// Welcome with nothing after its two fields, as that netprobe's strict
// decoder demands — and serves it.
func TestOldProbeNewGateway(t *testing.T) {
	p := probe("old", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	// The bytes a version-1 netprobe sends: kind, version 1, name,
	// max_message, software — and nothing else.
	v1 := append([]byte{byte(protocol.KindHello), 1, byte(len(p.Name))}, p.Name...)
	v1 = append(v1, 0x80, 0x80, 0x80, 0x02, 2, 'v', '1')
	conn := gt.DialProbeSocket(t, gw.Addr, p.Token)
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageBinary, v1); err != nil {
		t.Fatal(err)
	}
	_, welcome, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{byte(protocol.KindWelcome), 1}; len(welcome) < 2 || string(welcome[:2]) != string(want) {
		t.Fatalf("welcome = % x, want a version-1 welcome", welcome)
	}
	var w protocol.Welcome
	if err := w.Decode(welcome); err != nil || w.Version != 1 || w.Limits != (protocol.Limits{}) {
		t.Fatalf("welcome decodes as %+v (%v), want version 1 with no more fields", w, err)
	}
	var cfg protocol.Config
	_, msg, err := conn.Read(ctx)
	if err != nil || cfg.Decode(msg) != nil || len(cfg.Samplers) != 1 {
		t.Fatalf("config after a version-1 welcome: %v", err)
	}
	b := protocol.Batch{Seq: 1, Flags: protocol.SnapshotStart | protocol.SnapshotEnd, Declares: []protocol.Declare{{
		ID: 1, SamplerID: cfg.Samplers[0].ID, Name: "raw", SampleTime: 1, Columns: []string{"value"},
		Rows: []protocol.RowDecl{{Index: 0, Name: "r", Cells: []samplers.Cell{samplers.Text("v1")}}}}}}
	d := gw.Dashboard(t)
	shows := watchRaw(d, dvPath(p, "cpu", "raw"))
	if err := conn.Write(ctx, websocket.MessageBinary, b.Append(nil)); err != nil {
		t.Fatal(err)
	}
	shows("v1")
}

// A netprobe that speaks versions 1 and 2 and a gateway that does agree on
// 2, whose Welcome carries the gateway's range and the limits its
// configuration sets.
func TestNewProbeNewGateway(t *testing.T) {
	p := probe("new", "cpu")
	gw := gt.Start(t, gateway.Options{}, p)
	rp := gt.DialRawProbe(t, gw.Addr, p.Name, p.Token)
	w := rp.Welcome
	if w.Version != 2 || w.MinVersion != 1 || w.MaxVersion != 2 {
		t.Fatalf("welcome = %+v, want version 2 of 1 to 2", w)
	}
	want := protocol.Limits{MaxDataviews: 10000, MaxColumns: 512, MaxHeadlines: 256, MaxRows: 100000, MaxCells: 1000000}
	if w.Limits != want {
		t.Fatalf("welcome limits = %+v, want the configuration's defaults %+v", w.Limits, want)
	}
}

// A gateway that speaks only version 1 serves a real netprobe that speaks
// 1 and 2; one whose range shares nothing with the probe's refuses it and
// says why.
func TestVersionNegotiation(t *testing.T) {
	p := probe("mixed", "cpu")
	gw := gt.Start(t, gateway.Options{MaxVersion: 1}, p)
	streaming(t, gw, p) // over version 1

	later := probe("later", "cpu")
	gw1 := gt.Start(t, gateway.Options{MaxVersion: 1}, later)
	conn := gt.DialProbeSocket(t, gw1.Addr, later.Token)
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	hello := protocol.Hello{MinVersion: 2, MaxVersion: 3, Name: later.Name}
	if err := conn.Write(ctx, websocket.MessageBinary, hello.Append(nil)); err != nil {
		t.Fatal(err)
	}
	_, _, err := conn.Read(ctx)
	var ce websocket.CloseError
	if !asClose(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "no protocol version in common") {
		t.Fatalf("hello for versions 2 to 3 at a version-1 gateway: %v, want 1008 saying why", err)
	}
}

// The handshake's own limits: a Hello over the gateway's message limit is
// refused with 1009, as every oversized message is, and a Welcome larger
// than the Hello said the probe accepts is never sent.
func TestHandshakeSizeLimits(t *testing.T) {
	p := probe("big", "cpu")
	gw := gt.Start(t, gateway.Options{MaxMessage: 1024}, p)
	ctx, cancel := context.WithTimeout(context.Background(), gt.Wait)
	defer cancel()
	expect := func(hello protocol.Hello, code websocket.StatusCode, reason string) {
		t.Helper()
		conn := gt.DialProbeSocket(t, gw.Addr, p.Token)
		if err := conn.Write(ctx, websocket.MessageBinary, hello.Append(nil)); err != nil {
			t.Fatal(err)
		}
		_, msg, err := conn.Read(ctx)
		var ce websocket.CloseError
		if !asClose(err, &ce) || ce.Code != code || !strings.Contains(ce.Reason, reason) {
			t.Fatalf("got message % x, err %v; want close %d containing %q", msg, err, code, reason)
		}
	}
	expect(protocol.Hello{MinVersion: 1, MaxVersion: 2, Name: p.Name, Software: strings.Repeat("x", 2000)},
		websocket.StatusMessageTooBig, "over 1024 bytes")
	expect(protocol.Hello{MinVersion: 1, MaxVersion: 2, Name: p.Name, MaxMessage: 8},
		websocket.StatusMessageTooBig, "exceeds the probe's limit of 8 bytes")
}
