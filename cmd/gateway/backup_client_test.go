package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

// A backup that stops coming before its end (the gateway stopped, the
// connection broke) is an error, not a shorter backup.
func TestBackupThroughCutShort(t *testing.T) {
	whole := bytes.Repeat([]byte("*3\r\n$3\r\nset\r\n"), 100)
	f := func(t *testing.T, send func(c net.Conn), wantErr string) {
		t.Helper()
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			defer server.Close()
			if _, err := bufio.NewReader(server).ReadString('\n'); err != nil {
				return
			}
			send(server)
		}()
		var got bytes.Buffer
		err := backupThrough(client, &got)
		switch {
		case wantErr == "" && err != nil:
			t.Fatalf("backupThrough: %v", err)
		case wantErr == "" && !bytes.Equal(got.Bytes(), whole):
			t.Fatalf("got %d bytes, want the %d sent", got.Len(), len(whole))
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Fatalf("backupThrough err %v, want %q", err, wantErr)
		}
	}
	t.Run("whole", func(t *testing.T) {
		f(t, func(c net.Conn) { _, _ = io.WriteString(c, "ok 1300\n"+string(whole)) }, "")
	})
	t.Run("cut short", func(t *testing.T) {
		f(t, func(c net.Conn) { _, _ = io.WriteString(c, "ok 1300\n"+string(whole[:700])) }, "cut short at 700 of 1300 bytes")
	})
	t.Run("no header", func(t *testing.T) {
		f(t, func(c net.Conn) { _, _ = c.Write(whole[:700]) }, "not a backup")
	})
	t.Run("refused", func(t *testing.T) {
		f(t, func(c net.Conn) { _, _ = io.WriteString(c, "error: back up the store: closed\n") }, "the gateway says back up the store: closed")
	})
	t.Run("nothing", func(t *testing.T) { f(t, func(net.Conn) {}, "no answer") })
}
