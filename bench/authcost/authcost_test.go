package authcost_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/watchfloor/watchfloor/bench/internal/estate"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/access"
	"github.com/watchfloor/watchfloor/gateway/auth"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/samplers"
)

// idle is the sampler type the estate's entities name; no probe runs it.
type idle struct{}

func (idle) Sample(context.Context) ([]samplers.Dataview, error) { return nil, nil }
func (idle) Close() error                                        { return nil }

func init() {
	noParams := func(p json.RawMessage) error { return samplers.DecodeParams(p, &struct{}{}) }
	samplers.Register(samplers.Type{Name: "idle", Validate: noParams,
		New: func(p json.RawMessage, _ samplers.Env) (samplers.Sampler, error) { return idle{}, noParams(p) }})
}

// otherSessions is how many sessions besides the measured one each
// service holds, so a check looks its session up among some (as
// BenchmarkAuthenticate in gateway/auth does).
const otherSessions = 1000

// BenchmarkSession sets the session check beside what it guards, in one
// run: check is auth.Service.Authenticate on a request with a session
// cookie (the check the gateway's router makes for every request but
// /healthz and a probe's); request is a whole small authenticated API
// request, GET /api/v1/probes (10 probes) with that cookie, served by a
// real gateway in this process over loopback HTTP with keep-alive, client
// included; healthz is the public GET /healthz, which no session guards,
// the floor under any request. The client and the gateway share the
// machine's cores, as the figures for one request in turn.
func BenchmarkSession(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg, err := config.Parse("authcost", []byte(estate.Config(addr, 10, "authcost", "{name: idle, type: idle}", "idle")))
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw, err := gateway.New(gateway.Options{Config: cfg, Listener: ln, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// The gateway's own sessions: the measured one, then the others.
	cookie, err := estate.Login(ctx, addr, estate.Viewer)
	if err != nil {
		b.Fatal(err)
	}
	for range otherSessions {
		if _, err := estate.Login(ctx, addr, estate.Viewer); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("check", func(b *testing.B) {
		// A service of the same configuration, reached directly: the
		// gateway's own is not exported.
		st := store.OpenMemory()
		defer st.Close()
		svc, err := auth.New(auth.Options{Store: st, Config: cfg, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		e := echo.New()
		svc.Routes(access.NewRouter(e, svc))
		login := func() string {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/api/v1/login",
				strings.NewReader(`{"user":"`+estate.Viewer+`","password":"`+estate.Password+`"}`))
			req.Header.Set("Content-Type", "application/json")
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("login: %d %s", rec.Code, rec.Body)
			}
			return strings.Split(rec.Header().Get("Set-Cookie"), ";")[0]
		}
		own := login()
		for range otherSessions {
			login()
		}
		req := httptest.NewRequest(http.MethodGet, "/api/v1/probes", nil)
		req.Header.Set("Cookie", own)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(req); err != nil {
				b.Fatal(err)
			}
		}
	})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	get := func(b *testing.B, path, cookie string) {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("GET %s: %s", path, resp.Status)
			}
		}
	}
	b.Run("request", func(b *testing.B) { get(b, "/api/v1/probes", cookie) })
	b.Run("healthz", func(b *testing.B) { get(b, "/healthz", "") })
}

// `gateway user hash` makes) and at the benches' cheap ones (estate).
func BenchmarkPassword(b *testing.B) {
	const pw = "correct horse battery staple"
	for _, c := range []struct {
		name string
		p    access.PasswordParams
	}{
		{"default", access.DefaultPasswordParams},
		{"bench", access.PasswordParams{Memory: 64, Time: 1, Threads: 1}},
	} {
		hash, err := access.HashPasswordWith(pw, c.p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("verify/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !access.VerifyPassword(hash, pw) {
					b.Fatal("the password does not verify")
				}
			}
		})
		b.Run("hash/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := access.HashPasswordWith(pw, c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
