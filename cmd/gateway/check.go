package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// loadFailed reports a file that did not load: each of its errors on a
// line of its own (FILE:LINE:COL: …), or the one error there is. It
// returns the exit status, 1.
func loadFailed(stderr io.Writer, cmd string, err error) int {
	var errs config.Errors
	if !errors.As(err, &errs) {
		fmt.Fprintln(stderr, cmd+":", err)
		return 1
	}
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	return 1
}

// check is `gateway check FILE`: it reads and validates a configuration,
// its rules and its samplers' parameters, as the gateway does when it
// starts or reloads, without serving anything. Each problem goes to
// stderr as FILE:LINE:COL: field: message, one per line, and the exit
// status is 1; a valid file gives one line on stdout and status 0. A
// usage error is status 2.
func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway check FILE\n\nReads and validates the gateway configuration in FILE, with its rules, offline.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	file := fs.Arg(0)
	cfg, err := config.Load(file)
	if err != nil {
		return loadFailed(stderr, "gateway check", err)
	}
	fmt.Fprintf(stdout, "%s: ok: %d probes, %d entities, %d samplers, %d rules\n",
		file, len(cfg.Probes), len(cfg.Entities), len(cfg.Samplers), len(cfg.Rules))
	return 0
}
