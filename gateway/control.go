package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// The control socket is a Unix socket beside the store file that answers
// `gateway backup` while the gateway runs and holds the store: whoever may
// open it may read the store file anyway, so the file system's permissions
// (the socket is the owner's alone) are its authentication.
//
// A client writes one line, "backup", and reads a first line "ok <size>"
// followed by the store's consistent copy of exactly size bytes: a copy
// cut short (the gateway stopped, the connection broke) is told from a
// whole one. A failure is a first line "error: …".

// controlBackup is the one request the control socket answers.
const controlBackup = "backup"

// ControlSocket returns the control socket's path for a store file.
func ControlSocket(storeFile string) string { return storeFile + ".sock" }

// serveControl listens on the control socket until ctx is done, serving
// each connection on a goroutine of its own that it waits for.
func (g *Gateway) serveControl(ctx context.Context, path string) error {
	ln, err := listenControl(path)
	if err != nil {
		return fmt.Errorf("gateway: control socket: %w", err)
	}
	var wg sync.WaitGroup
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer func() {
		wg.Wait()
		os.Remove(path)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			g.log.Warn("control socket", "err", err)
			continue
		}
		wg.Go(func() { g.control(ctx, c) })
	}
}

// listenControl listens on a Unix socket at path that only the owner may
// connect to: made under a random name beside it, made the owner's alone,
// then renamed into place, so it is never open to others, whatever the
// umask. A socket a killed gateway left at path is replaced; any other
// file there is refused.
func listenControl(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("%s exists and is not a socket", path)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.%x", path, rnd)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	err = os.Chmod(tmp, 0o600)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	return ln, nil
}

// control answers one connection to the control socket.
func (g *Gateway) control(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if strings.TrimSpace(line) != controlBackup {
		fmt.Fprintf(c, "error: unknown request %q; the control socket answers %q\n", strings.TrimSpace(line), controlBackup)
		return
	}
	start := time.Now()
	b, err := g.store.Snapshot()
	if err != nil {
		g.log.Error("backup through the control socket", "err", err)
		fmt.Fprintf(c, "error: %v\n", err)
		return
	}
	if err := sendBackup(c, b, controlStall); err != nil {
		g.log.Error("backup through the control socket", "err", err)
		return
	}
	g.log.Info("backup through the control socket", "bytes", len(b), "took", time.Since(start).Round(time.Millisecond))
}

// controlChunk and controlStall bound how long a client may leave the
// backup unread: each chunk must go within controlStall, or the
// connection is cut, so that a client that never reads does not hold a
// copy of the store in memory for ever.
const (
	controlChunk = 1 << 20
	controlStall = 30 * time.Second
)

// sendBackup writes the header line and b to c, a chunk at a time, each
// within stall.
func sendBackup(c net.Conn, b []byte, stall time.Duration) error {
	_ = c.SetWriteDeadline(time.Now().Add(stall))
	if _, err := fmt.Fprintf(c, "ok %d\n", len(b)); err != nil {
		return err
	}
	for len(b) > 0 {
		n := min(len(b), controlChunk)
		_ = c.SetWriteDeadline(time.Now().Add(stall))
		if _, err := c.Write(b[:n]); err != nil {
			return fmt.Errorf("%d bytes unsent: %w", len(b), err)
		}
		b = b[n:]
	}
	return nil
}
