package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/netprobe"
	"github.com/watchfloor/watchfloor/netprobe/protocol"
	_ "github.com/watchfloor/watchfloor/samplers/all"
)

// childEnv names the configuration file a re-executed test binary serves
// as a standalone gateway process, so tests can kill a real process.
const childEnv = "WATCHFLOOR_TEST_GATEWAY_CONFIG"

func TestMain(m *testing.M) {
	if file := os.Getenv(childEnv); file != "" {
		os.Exit(runChildGateway(file))
	}
	goleak.VerifyTestMain(m)
}

func runChildGateway(file string) int {
	cfg, err := config.Load(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, ConfigFile: file})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := gw.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// wait is how long a test waits for an event: generous, so tests pass
// under -race on a busy two-core machine.
const wait = 20 * time.Second

type probeSpec struct {
	name, token string
	samplers    []string // sampler names from samplerDefs
}

const samplerDefs = `samplers:
  - name: cpu
    type: cpu
    interval: 100ms
  - name: memory
    type: memory
    interval: 100ms
`

// configYAML renders a configuration with one entity per probe, named
// after it.
func configYAML(listen string, probes ...probeSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nprobes:\n", listen)
	for _, p := range probes {
		fmt.Fprintf(&b, "  - name: %s\n    token_sha256: %s\n", p.name, config.HashToken(p.token))
	}
	b.WriteString(samplerDefs)
	b.WriteString("entities:\n")
	for _, p := range probes {
		fmt.Fprintf(&b, "  - name: %s-entity\n    probe: %s\n    attributes: {region: emea}\n    samplers: [%s]\n",
			p.name, p.name, strings.Join(p.samplers, ", "))
	}
	return b.String()
}

type testGateway struct {
	*gateway.Gateway
	addr string
}

// startGateway runs a gateway on a loopback port until the test ends.
func startGateway(t *testing.T, opts gateway.Options, probes ...probeSpec) *testGateway {
	t.Helper()
	ln := opts.Listener
	if ln == nil {
		ln = listenOn(t, "127.0.0.1:0")
	}
	if opts.Config == nil {
		cfg, err := config.Parse("test.yaml", []byte(configYAML(ln.Addr().String(), probes...)))
		if err != nil {
			t.Fatal(err)
		}
		opts.Config = cfg
	}
	opts.Listener = ln
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway run: %v", err)
		}
	})
	return &testGateway{Gateway: gw, addr: ln.Addr().String()}
}

// startProbe runs a real netprobe against addr until the test ends or
// the returned func stops it.
func startProbe(t *testing.T, addr string, p probeSpec) (stop func()) {
	t.Helper()
	np, err := netprobe.New(netprobe.Options{
		Gateway: "ws://" + addr, Name: p.name, Token: p.token,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		np.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// getJSON fetches url into v and returns the status, 0 if the gateway
// could not be reached (it may be restarting).
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode
}

// eventually polls cond until it holds or the wait runs out. It is for
// state that can only be polled (the REST API); streams are read instead.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type apiDataview struct {
	Path       string   `json:"path"`
	Type       string   `json:"type"`
	Stale      bool     `json:"stale"`
	SampleTime string   `json:"sampleTime"`
	Columns    []string `json:"columns"`
	Rows       []struct {
		Name  string `json:"name"`
		Cells []struct {
			Path  string `json:"path"`
			Value string `json:"value"`
		} `json:"cells"`
	} `json:"rows"`
}

func dataviews(t *testing.T, addr string) map[string]apiDataview {
	t.Helper()
	var list []apiDataview
	getJSON(t, "http://"+addr+"/api/v1/dataviews", &list)
	out := make(map[string]apiDataview, len(list))
	for _, dv := range list {
		out[dv.Path] = dv
	}
	return out
}

// dashFrame is any frame the dashboard hub sends.
type dashFrame struct {
	Type       string   `json:"type"`
	Dataview   string   `json:"dataview"`
	SampleTime int64    `json:"sampleTime"`
	Stale      *bool    `json:"stale"`
	Columns    []string `json:"columns"`
	Rows       []struct {
		Name  string `json:"name"`
		Cells []struct {
			V string `json:"v"`
		} `json:"cells"`
	} `json:"rows"`
	Cells []struct {
		R, C, V string
	} `json:"cells"`
	Message string `json:"message"`
}

type dashClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialDashboard(t *testing.T, addr string) *dashClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/dashboard", nil)
	if err != nil {
		t.Fatalf("dial dashboard: %v", err)
	}
	conn.SetReadLimit(16 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &dashClient{t: t, conn: conn}
}

func (d *dashClient) subscribe(dataview string) {
	d.t.Helper()
	msg, _ := json.Marshal(map[string]string{"op": "subscribe", "dataview": dataview})
	if err := d.conn.Write(context.Background(), websocket.MessageText, msg); err != nil {
		d.t.Fatalf("subscribe: %v", err)
	}
}

// next reads frames until match accepts one.
func (d *dashClient) next(what string, match func(dashFrame) bool) dashFrame {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, data, err := d.conn.Read(ctx)
		if err != nil {
			d.t.Fatalf("waiting for %s: %v", what, err)
		}
		var f dashFrame
		if err := json.Unmarshal(data, &f); err != nil {
			d.t.Fatalf("bad frame %q: %v", data, err)
		}
		if match(f) {
			return f
		}
	}
}

// rawProbe speaks the probe protocol by hand, to send what a real netprobe
// never would.
type rawProbe struct {
	t    *testing.T
	conn *websocket.Conn
	cfg  protocol.Config
	seq  uint64
}

// dialProbeSocket opens the probe endpoint with a token and nothing else:
// the handshake is the caller's.
func dialProbeSocket(t *testing.T, addr, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/probe", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial probe: %v", err)
	}
	conn.SetReadLimit(protocol.DefaultMaxMessage)
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

func dialRawProbe(t *testing.T, addr, name, token string) *rawProbe {
	t.Helper()
	p := &rawProbe{t: t, conn: dialProbeSocket(t, addr, token)}
	hello := protocol.Hello{MinVersion: protocol.MinVersion, MaxVersion: protocol.MaxVersion, Name: name, MaxMessage: protocol.DefaultMaxMessage}
	p.write(hello.Append(nil))
	var welcome protocol.Welcome
	if err := welcome.Decode(p.read()); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	if err := p.cfg.Decode(p.read()); err != nil {
		t.Fatalf("config: %v", err)
	}
	return p
}

func (p *rawProbe) write(msg []byte) {
	p.t.Helper()
	if err := p.conn.Write(context.Background(), websocket.MessageBinary, msg); err != nil {
		p.t.Fatalf("probe write: %v", err)
	}
}

func (p *rawProbe) read() []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, data, err := p.conn.Read(ctx)
	if err != nil {
		p.t.Fatalf("probe read: %v", err)
	}
	return data
}

// send numbers and sends a batch.
func (p *rawProbe) send(b protocol.Batch) {
	p.t.Helper()
	p.seq++
	b.Seq = p.seq
	p.write(b.Append(nil))
}

// expectClose reads until the gateway closes the connection and returns
// the close status.
func (p *rawProbe) expectClose() (websocket.StatusCode, string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, _, err := p.conn.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			p.t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startFileGateway runs a gateway whose configuration lives in a file, as
// reloads need, on a loopback port; write replaces the file's contents.
func startFileGateway(t *testing.T, probes ...probeSpec) (gw *testGateway, write func(yaml string)) {
	t.Helper()
	ln := listenOn(t, "127.0.0.1:0")
	file := filepath.Join(t.TempDir(), "gateway.yaml")
	write = func(yaml string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(configYAML(ln.Addr().String(), probes...))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return startGateway(t, gateway.Options{Config: cfg, ConfigFile: file, Listener: ln}), write
}
