// Command netprobe runs a Watchfloor netprobe on this server.
//
//	netprobe --gateway ws://HOST:7039 --name NAME
//
// The credential comes from the NETPROBE_TOKEN environment variable or from
// --token-file. SIGINT and SIGTERM stop it cleanly.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/watchfloor/watchfloor/netprobe"
	_ "github.com/watchfloor/watchfloor/samplers/all"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("netprobe", flag.ContinueOnError)
	gw := fs.String("gateway", "", "gateway `URL`, ws://HOST:PORT or wss://HOST:PORT")
	name := fs.String("name", "", "this probe's `name` in the gateway's configuration")
	tokenFile := fs.String("token-file", "", "read the credential from `file` instead of NETPROBE_TOKEN")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "netprobe:", err)
		return 2
	}
	token := os.Getenv("NETPROBE_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "netprobe:", err)
			return 1
		}
		token = strings.TrimSpace(string(b))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	p, err := netprobe.New(netprobe.Options{Gateway: *gw, Name: *name, Token: token, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err, "(a token comes from NETPROBE_TOKEN or --token-file)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "netprobe:", err)
		return 1
	}
	return 0
}
