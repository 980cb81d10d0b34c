//go:build linux

package actions

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/watchfloor/watchfloor/gateway/config"
)

func TestCommandTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pids := filepath.Join(t.TempDir(), "pids")
	hang := script(t, dir, "hang.sh", `sleep 60 & echo $! >> "$1"; sleep 60`)
	a := commandAction("hang", hang, pids)
	a.Timeout, a.Retries = 300*time.Millisecond, 1
	rec := newRecorder()
	d := start(t, Options{Actions: []config.Action{a}, AllowExec: []string{dir}, Done: rec.done})

	began := time.Now()
	d.Send([]string{"hang"}, msg(Opened, "INC-1"))
	o := rec.next(t)
	if o.err == nil || !strings.Contains(o.err.Error(), "deadline exceeded") {
		t.Errorf("Done err %v, want the timeout", o.err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("took %v: the program was not killed", took)
	}
	if s := statOf(t, d, "hang"); s.Retries != 1 || s.Failed != 1 {
		t.Errorf("stat %+v, want one retry and a failure", s)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		t.Fatalf("pids %q, want one per attempt", lines)
	}
	for _, line := range lines {
		pid, err := strconv.Atoi(line)
		if err != nil {
			t.Fatal(err)
		}
		awaitExit(t, pid)
	}
}

// awaitExit waits for process pid to end, through a pidfd: it becomes
// readable when the process exits.
func awaitExit(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // gone, and reaped
	}
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(wait/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd: %v", err)
		}
		if n == 0 {
			t.Fatalf("process %d, started by the timed-out program, still runs", pid)
		}
		return
	}
}
