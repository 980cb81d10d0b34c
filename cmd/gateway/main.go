// Command gateway runs Watchfloor's gateway.
//
//	gateway --config FILE [--data FILE]  serve the configuration in FILE
//	gateway --demo [--listen ADDR]       demo mode: loopback only, with a netprobe for this machine
//	gateway token                  print a new probe token and the hash for the config
//	gateway check FILE             validate a configuration and its rules, offline
//	gateway test-rules [-v] FILE   run the unit tests of rules in FILE (docs/rule-tests.md)
//	gateway user add|passwd|disable|enable|list|hash   manage people in the database (docs/access.md)
//	gateway backup [--data FILE] OUT   copy the database consistently, while the gateway runs or not
//	gateway restore [--data FILE] IN   put a backup back into a stopped gateway's database
//
// In demo mode, Debian's victoria-metrics, if installed, runs beside the
// gateway on loopback and takes its history (--no-victoria-metrics: not).
//
// SIGHUP rereads the configuration file; SIGINT and SIGTERM stop the
// gateway cleanly.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/VictoriaMetrics/metrics"
	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/demo"
	"github.com/watchfloor/watchfloor/gateway/store"
	_ "github.com/watchfloor/watchfloor/samplers/all"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "token":
			return newToken()
		case "check":
			return check(args[1:], os.Stdout, os.Stderr)
		case "test-rules":
			return testRules(args[1:], os.Stdout, os.Stderr)
		case "user":
			return user(args[1:], os.Stdin, os.Stdout, os.Stderr)
		case "backup", "restore":
			return backup(args[0], args[1:], os.Stdout, os.Stderr)
		}
	}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfgFile := fs.String("config", "", "configuration `file` (YAML)")
	demoMode := fs.Bool("demo", false, "demo mode: no config file, loopback only, with an in-process netprobe for this machine")
	listen := fs.String("listen", "", "with --demo: loopback `address` to listen on (default "+demo.DefaultListen+")")
	noVM := fs.Bool("no-victoria-metrics", false, "with --demo: do not run VictoriaMetrics for the demo's history, even if it is installed")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	data := fs.String("data", "", "the store `file`: rules authored through the API (default: watchfloor.db beside the configuration file; "+
		"with --demo, watchfloor/demo.db in the user's cache directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	metrics.ExposeMetadata(true)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch {
	case *demoMode && *cfgFile != "":
		fmt.Fprintln(os.Stderr, "gateway: --demo and --config exclude each other")
		return 2
	case *demoMode:
		if *data == "" {
			*data = demo.DefaultStore()
		}
		opts := demo.Options{Listen: *listen, Logger: log, Store: *data}
		hint := false // victoria-metrics is not installed
		if !*noVM {
			if bin, err := exec.LookPath("victoria-metrics"); err == nil {
				opts.VictoriaMetrics, opts.VictoriaMetricsData = bin, demo.DefaultVictoriaMetricsData()
			} else {
				hint = true
			}
		}
		opts.Ready = func(s demo.Started) { printDemo(s, hint) }
		if err := demo.Run(ctx, opts); err != nil {
			fmt.Fprintln(os.Stderr, "gateway:", err)
			return 1
		}
		return 0
	case *cfgFile == "":
		fmt.Fprintln(os.Stderr, "gateway: --config FILE or --demo is required")
		fs.Usage()
		return 2
	case *listen != "":
		fmt.Fprintln(os.Stderr, "gateway: --listen is for --demo; set listen in the configuration file")
		return 2
	case *noVM:
		fmt.Fprintln(os.Stderr, "gateway: --no-victoria-metrics is for --demo; set remote_write in the configuration file")
		return 2
	}

	cfg, err := config.Load(*cfgFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *data == "" {
		*data = filepath.Join(filepath.Dir(*cfgFile), "watchfloor.db")
	}
	st, err := store.Open(*data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	defer st.Close()
	gw, err := gateway.New(gateway.Options{Config: cfg, ConfigFile: *cfgFile, Logger: log, Store: st,
		ControlSocket: gateway.ControlSocket(*data)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	if err := gw.Listen(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := gw.Reload(); err != nil {
					log.Error("configuration reload refused; the running configuration stays", "err", err)
				}
			}
		}
	}()
	if err := gw.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	return 0
}

// printDemo tells a newcomer where to start once the demo serves; hint
// says how to get VictoriaMetrics in the demo.
func printDemo(s demo.Started, hint bool) {
	fmt.Printf("Open %s\n", s.Link)
	fmt.Println("(the link logs you in as admin once, within 15 minutes; restart the demo for another)")
	fmt.Printf("Dashboard, once logged in: %[1]s/#/wall (the wall), %[1]s/#/incidents, %[1]s/#/rules; a wall screen: %[1]s/?kiosk=1#/wall\n", s.URL)
	fmt.Printf("History, once logged in: %s\n", s.History())
	switch ui := s.VictoriaMetricsUI(); {
	case ui != "":
		fmt.Printf("VictoriaMetrics keeps it longer: %s (try watchfloor_cpu_utilisation{row=\"total\"})\n", ui)
	case hint:
		fmt.Println("(to keep it longer, with charts: apt-get install victoria-metrics, and the demo runs it)")
	}
	fmt.Printf("Incidents: %s/api/v1/incidents?state=open (one opens within seconds, for client %s)\n", s.URL, demo.Client)
	fmt.Printf("The demo's pager: tail -f %s\n", s.PagerLog)
}

// newToken prints a fresh probe token and the hash that goes in the
// gateway's configuration.
func newToken() int {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	token := hex.EncodeToString(secret)
	fmt.Printf("token:        %s\ntoken_sha256: %s\n", token, config.HashToken(token))
	fmt.Println("Give the token to the netprobe (NETPROBE_TOKEN or --token-file); put token_sha256 in the gateway's probes list.")
	return 0
}
