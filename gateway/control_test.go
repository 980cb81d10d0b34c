package gateway

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// A client of the control socket that asks for a backup and never reads
// it is cut off, instead of holding a copy of the store for ever.
func TestSendBackupCutsOffClientThatNeverReads(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	done := make(chan error, 1)
	go func() { done <- sendBackup(server, make([]byte, 3*controlChunk), 50*time.Millisecond) }()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("sendBackup to a client that never reads: %v, want a deadline exceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sendBackup still blocked on a client that never reads")
	}
}

// The control socket is the owner's alone from the moment it appears,
// replaces a socket a killed gateway left, and refuses to replace a file
// that is not a socket.
func TestListenControl(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/watchfloor.db.sock"
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // as a killed gateway leaves it
	ln, err := listenControl(path)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the socket: %v, %v", fi.Mode(), err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
	ln.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	file := dir + "/not-a-socket"
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listenControl(file); err == nil {
		t.Fatal("a regular file was replaced by the socket")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatalf("the file became %q", b)
	}
}
