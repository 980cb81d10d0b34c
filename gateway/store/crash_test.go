package store_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// helperEnv names the store file TestHelperProcess writes to, in the
// child process TestKilledWriterLosesNothing starts.
const helperEnv = "WATCHFLOOR_STORE_HELPER"

// TestHelperProcess is not a test: run as a child with helperEnv set, it
// opens the store file and writes incidents until it is killed, each
// batch opening one and resolving the one before, and prints the ID of
// the one it opened once PutIncidents has returned.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s, err := store.Open(path)
	if err != nil {
		fail(err)
	}
	first, err := s.LastIncidentNumber("20261201")
	if err != nil {
		fail(err)
	}
	for n := first + 1; ; n++ {
		batch := []store.IncidentWrite{numbered(n)}
		if n > 1 {
			prev, err := s.Incident(numbered(n - 1).Incident.ID)
			if err != nil {
				fail(err)
			}
			prev.State, prev.Resolved = incident.Resolved, day0
			batch = append(batch, store.IncidentWrite{Incident: prev, Events: event(&prev, day0, incident.EvResolved, "")})
		}
		if err := s.PutIncidents(batch, incAudit(store.AuditIncidentRaise, batch[0].Incident.ID, day0)); err != nil {
			fail(err)
		}
		// A parent that has gone makes this write fail, and the process
		// end on SIGPIPE.
		fmt.Println(batch[0].Incident.ID)
	}
}

// A write confirmed is on disk: a process killed while it writes loses
// none of the writes whose PutIncidents returned.
func TestKilledWriterLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchfloor.db")
	var confirmed []string
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		kill := 100 + rand.IntN(300)
		got := 0
		for got < kill && lines.Scan() {
			confirmed = append(confirmed, lines.Text())
			got++
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		// What it printed before it died was confirmed too.
		for lines.Scan() {
			confirmed = append(confirmed, lines.Text())
			got++
		}
		err = cmd.Wait()
		if got < kill {
			t.Fatalf("round %d: the writer confirmed %d writes, then ended: %v\n%s", round, got, err, stderr.Bytes())
		}
		if ps := cmd.ProcessState; ps == nil || ps.Success() || ps.ExitCode() != -1 {
			t.Fatalf("round %d: the writer was not killed: %v\n%s", round, err, stderr.Bytes())
		}

		s, err := store.Open(path)
		if err != nil {
			t.Fatalf("round %d: the store does not open after the kill: %v", round, err)
		}
		for i, id := range confirmed {
			inc, err := s.Incident(id)
			if err != nil {
				t.Errorf("round %d: confirmed %s: %v", round, id, err)
				continue
			}
			_, tl, err := s.Timeline(id)
			if err != nil || len(tl) != inc.Events || len(tl) < 2 {
				t.Errorf("round %d: %s has %d events and a timeline of %d: %v", round, id, inc.Events, len(tl), err)
			}
			// The batch that confirmed the next one resolved it.
			if resolved := inc.State == incident.Resolved; i < len(confirmed)-1 && !resolved {
				t.Errorf("round %d: %s is %s, but the write that resolved it was confirmed", round, id, inc.State)
			}
		}
		closeStore(t, s)
		t.Logf("round %d: killed after %d confirmed writes", round, got)
	}
}
