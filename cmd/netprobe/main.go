// Command netprobe runs a Watchfloor netprobe on this server.
//
//	netprobe --gateway wss://HOST:7039 --name NAME [--allow-read DIR] [--allow-exec DIR]
//	         [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]
//
// The credential comes from the NETPROBE_TOKEN environment variable or from
// --token-file. With a wss:// gateway, --tls-ca names the authority that
// signs the gateway's certificate (the system's are trusted otherwise) and
// --tls-cert with --tls-key the probe's client certificate for a gateway
// that checks them; the files are reread at every reconnect. The gateway decides what the probe samples, but only this
// command line decides what its samplers may read and run: nothing beyond
// what they need from /proc unless --allow-read and --allow-exec say so.
// SIGINT and SIGTERM stop it cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/watchfloor/watchfloor/netprobe"
	"github.com/watchfloor/watchfloor/samplers"
	_ "github.com/watchfloor/watchfloor/samplers/all"
)

const usage = `Usage: netprobe --gateway URL --name NAME [flags]

Runs a Watchfloor netprobe: connects to the gateway, runs the samplers the
gateway configures for this probe, and streams their dataviews. The
credential comes from NETPROBE_TOKEN or --token-file.

Samplers may read files and run programs only under the directories
allowed here, whatever the gateway asks; with neither flag they reach
nothing beyond /proc. Both flags take absolute paths, may be repeated and
take several directories separated by commas; symbolic links are resolved,
so a link inside an allowed directory that points outside it is refused.

  netprobe --gateway wss://gw.example:7039 --name oms-1 \
    --allow-read /var/log/oms,/data/ticks --allow-exec /opt/oms/bin

With a wss:// gateway the probe checks the gateway's certificate against
the system's certificate authorities, or against those in --tls-ca only.
A gateway may also check probes' certificates (mutual TLS): --tls-cert and
--tls-key, always together, give this probe's certificate and key, and the
certificate's common name or one of its DNS names must be this probe's
--name. The files are PEM; they are read at start, where a mistake stops
the probe, and again before every reconnect, so a renewed certificate is
used from the next connection without a restart.

  netprobe --gateway wss://gw.example:7039 --name oms-1 \
    --tls-ca /etc/watchfloor/ca.crt \
    --tls-cert /etc/watchfloor/oms-1.crt --tls-key /etc/watchfloor/oms-1.key

Flags:
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	opts, level, code := parse(args, os.Stderr)
	if code >= 0 {
		return code
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	p, err := netprobe.New(opts)
	if err != nil {
		if opts.Token == "" {
			fmt.Fprintln(os.Stderr, err, "(a token comes from NETPROBE_TOKEN or --token-file)")
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
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

// parse reads the command line into the probe's options. It returns an
// exit code to stop with, or -1 to go on: 2 for a usage error, 1 for a
// token file it cannot read, 0 for --help.
func parse(args []string, stderr io.Writer) (netprobe.Options, slog.Level, int) {
	fs := flag.NewFlagSet("netprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var read, exec dirs
	gw := fs.String("gateway", "", "gateway `URL`, ws://HOST:PORT or wss://HOST:PORT")
	name := fs.String("name", "", "this probe's `name` in the gateway's configuration")
	tokenFile := fs.String("token-file", "", "read the credential from `file` instead of NETPROBE_TOKEN")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.Var(&read, "allow-read", "let samplers read files under `DIR` (absolute; repeatable, or comma-separated)")
	fs.Var(&exec, "allow-exec", "let samplers run programs under `DIR` (absolute; repeatable, or comma-separated)")
	var files netprobe.TLSFiles
	fs.StringVar(&files.CAFile, "tls-ca", "", "trust only the certificate authorities in PEM `FILE` for a wss:// gateway's certificate (default: the system's)")
	fs.StringVar(&files.CertFile, "tls-cert", "", "present the client certificate in PEM `FILE` to a wss:// gateway (mutual TLS; needs --tls-key)")
	fs.StringVar(&files.KeyFile, "tls-key", "", "the private key of --tls-cert, in PEM `FILE`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return netprobe.Options{}, 0, 0
		}
		return netprobe.Options{}, 0, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "netprobe: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return netprobe.Options{}, 0, 2
	}
	if (files.CertFile == "") != (files.KeyFile == "") {
		fmt.Fprintln(stderr, "netprobe: --tls-cert and --tls-key go together: give both or neither")
		return netprobe.Options{}, 0, 2
	}
	if files != (netprobe.TLSFiles{}) && !strings.HasPrefix(*gw, "wss://") {
		fmt.Fprintf(stderr, "netprobe: --tls-ca, --tls-cert and --tls-key need a wss:// gateway, not %q\n", *gw)
		return netprobe.Options{}, 0, 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(stderr, "netprobe:", err)
		return netprobe.Options{}, 0, 2
	}
	env, err := samplers.NewEnv(read, exec)
	if err != nil {
		fmt.Fprintln(stderr, "netprobe:", err)
		return netprobe.Options{}, 0, 2
	}
	token := os.Getenv("NETPROBE_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintln(stderr, "netprobe:", err)
			return netprobe.Options{}, 0, 1
		}
		token = strings.TrimSpace(string(b))
	}
	return netprobe.Options{Gateway: *gw, Name: *name, Token: token, Env: env, TLS: files}, level, -1
}

// dirs is a flag that may be repeated, each time with one directory or
// several separated by commas.
type dirs []string

func (d *dirs) String() string { return strings.Join(*d, ",") }

func (d *dirs) Set(v string) error {
	for _, dir := range strings.Split(v, ",") {
		if dir == "" {
			return errors.New("empty directory (leave the flag out to allow nothing)")
		}
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("%q: must be an absolute path", dir)
		}
		*d = append(*d, dir)
	}
	return nil
}
