package gateway

import (
	"bufio"
	"context"
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
// A client writes one line, "backup", and reads the store's consistent
// copy until the gateway closes the connection; a failure is a first line
// "error: …".

// controlBackup is the one request the control socket answers.
const controlBackup = "backup"

// ControlSocket returns the control socket's path for a store file.
func ControlSocket(storeFile string) string { return storeFile + ".sock" }

// serveControl listens on the control socket until ctx is done, serving
// each connection on a goroutine of its own that it waits for.
func (g *Gateway) serveControl(ctx context.Context, path string) error {
	_ = os.Remove(path) // a socket a killed gateway left behind
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("gateway: control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
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
	cw := &countingWriter{w: c}
	if err := g.store.Backup(cw); err != nil {
		g.log.Error("backup through the control socket", "err", err)
		if cw.n == 0 {
			fmt.Fprintf(c, "error: %v\n", err)
		}
		return
	}
	g.log.Info("backup through the control socket", "bytes", cw.n, "took", time.Since(start).Round(time.Millisecond))
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
