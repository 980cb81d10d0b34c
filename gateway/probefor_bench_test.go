package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// BenchmarkProbeFor is the token check of a netprobe's connection, among
// 1,000 configured probes with 64-character tokens: what a thousand
// probes reconnecting at once cost to authenticate.
func BenchmarkProbeFor(b *testing.B) {
	const n = 1000
	tokens := make([]string, n)
	var y strings.Builder
	y.WriteString("listen: \"127.0.0.1:0\"\nsamplers: [{name: cpu, type: cpu}]\nprobes:\n")
	for i := range tokens {
		raw := make([]byte, 32)
		rand.Read(raw)
		tokens[i] = hex.EncodeToString(raw)
		fmt.Fprintf(&y, "  - {name: p%04d, token_sha256: %s}\n", i, config.HashToken(tokens[i]))
	}
	y.WriteString("entities:\n")
	for i := range tokens {
		fmt.Fprintf(&y, "  - {name: e%04d, probe: p%04d, samplers: [cpu]}\n", i, i)
	}
	cfg, err := config.Parse("bench", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(Options{Config: cfg, Listener: ln, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// Run has built the probes' table once it serves.
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, probePath, nil)
		reqs[i].Header.Set("Authorization", "Bearer "+tokens[i])
		if _, ok := g.probeFor(reqs[i]); !ok {
			b.Fatalf("probe %d's token is not known", i)
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := g.probeFor(reqs[i%n]); !ok {
			b.Fatal("token not known")
		}
		i++
	}
}
