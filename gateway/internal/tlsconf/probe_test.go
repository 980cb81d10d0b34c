package tlsconf_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/internal/testcert"
	"github.com/watchfloor/watchfloor/netprobe"
)

// A real netprobe, given the CA and its certificate as its flags would,
// gets through a listener with Config and ProbeCert as the gateway's
// probe socket checks it; presenting another probe's certificate, it does
// not.
func TestNetprobeMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewAuthority(t, "ca")
	cert, key := ca.Server(t, dir)
	caFile := ca.CAFile(t, dir)
	s := newServer(t, &config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: caFile, RequireProbeCert: true})

	// checked receives ProbeCert's verdict on each connection.
	checked := make(chan error, 100)
	done := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: s.Config(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws/probe" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unknown token", http.StatusUnauthorized)
			return
		}
		err := s.ProbeCert(r, "oms-1")
		select {
		case checked <- err:
		case <-done:
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Read(r.Context()) // the hello
		c.Close(websocket.StatusGoingAway, "test over")
	})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.ServeTLS(ln, "", "")
	}()
	t.Cleanup(func() { srv.Close(); <-served })
	t.Cleanup(func() { close(done) })

	run := func(clientCN string) error {
		t.Helper()
		certFile, keyFile := ca.Client(t, dir, clientCN)
		np, err := netprobe.New(netprobe.Options{
			Gateway: "wss://" + ln.Addr().String(), Name: "oms-1", Token: "tok",
			TLS:    netprobe.TLSFiles{CAFile: caFile, CertFile: certFile, KeyFile: keyFile},
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			np.Run(ctx)
		}()
		defer func() { stop(); <-stopped }()
		select {
		case err := <-checked:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("the probe did not connect")
			return nil
		}
	}
	if err := run("oms-1"); err != nil {
		t.Errorf("the probe with its own certificate: %v", err)
	}
	if err := run("oms-2"); err == nil {
		t.Error("the probe with another probe's certificate passed ProbeCert")
	} else if want := `tls: probe "oms-1" presented the client certificate of "oms-2"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}
