package demo

import (
	"fmt"
	"os"
	"path/filepath"
)

// The demo's pager stands in for the mail, webhooks and pagers a desk
// configures: a command action whose script appends every message it is
// given (incidents opening, escalating, resolving) to a log a newcomer
// can follow with tail -f.
const (
	pagerAction = "demo-pager"
	pagerScript = "pager.sh"
	pagerLog    = "pager.log"
)

// newPager writes the pager's script into a new temporary directory and
// returns it, with a function that removes it.
func newPager() (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", "watchfloor-demo-")
	if err != nil {
		return "", nil, err
	}
	script := fmt.Sprintf(`#!/bin/sh
# The demo's pager: one line per message the gateway sends it.
printf '%%s %%-10s %%s %%s\n' "$(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)" "$WATCHFLOOR_EVENT" "$WATCHFLOOR_INCIDENT_ID" "$WATCHFLOOR_TITLE" >> %q
`, filepath.Join(dir, pagerLog))
	if err := os.WriteFile(filepath.Join(dir, pagerScript), []byte(script), 0o700); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// pagerConfig is the configuration of the demo's pager in dir: the
// command action, and the directory it may run from.
func pagerConfig(dir string) string {
	return fmt.Sprintf("action_dirs: [%q]\nactions:\n  - name: %s\n    retries: 1\n    command: {path: %q}\n",
		dir, pagerAction, filepath.Join(dir, pagerScript))
}
