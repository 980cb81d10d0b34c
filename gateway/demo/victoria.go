package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// VictoriaMetrics in the demo: when Debian's victoria-metrics is
// installed, the demo runs one beside the gateway and exports its history
// there, so that a newcomer sees the long-term side too.
const (
	// victoriaPort is VictoriaMetrics' usual port, taken if it is free.
	victoriaPort = "8428"
	// victoriaStart bounds the wait for it to answer; victoriaStop how
	// long it has to stop on SIGTERM before it is killed.
	victoriaStart = 10 * time.Second
	victoriaStop  = 5 * time.Second
	// victoriaTarget is its name among the gateway's remote-write
	// targets (the row of watchfloor/gateway/self/remote-write).
	victoriaTarget = "victoria-metrics"
)

// DefaultVictoriaMetricsData is where the demo's VictoriaMetrics keeps its
// data: watchfloor/victoria-metrics in the user's cache directory, beside
// DefaultStore, or "" (a temporary directory) where there is none.
func DefaultVictoriaMetricsData() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "watchfloor", "victoria-metrics")
}

// victoria is a VictoriaMetrics process the demo started. Its owner
// goroutine waits for the process; stop ends both.
type victoria struct {
	addr   string
	cmd    *exec.Cmd
	out    *tail
	log    *slog.Logger
	exited chan struct{} // closed once the process is gone
	// watched is set while an exit would be news: from its first answer
	// until stop.
	watched atomic.Bool
	cleanup func() // removes a temporary data directory
}

// startVictoria starts the VictoriaMetrics at bin on loopback, keeping
// its data in dir (a temporary directory, removed when it stops, if dir
// is ""), and waits until it answers. On an error nothing is left
// running.
func startVictoria(ctx context.Context, bin, dir string, log *slog.Logger) (*victoria, error) {
	addr, err := victoriaAddr()
	if err != nil {
		return nil, err
	}
	v := &victoria{addr: addr, out: &tail{max: 4096}, log: log, exited: make(chan struct{}), cleanup: func() {}}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "watchfloor-victoria-metrics-"); err != nil {
			return nil, err
		}
		v.cleanup = func() { os.RemoveAll(dir) }
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	v.cmd = exec.Command(bin,
		"-storageDataPath="+dir,
		"-httpListenAddr="+addr,
		// Without it, queries hide the newest 30 s: a chart of the demo
		// would lag behind the dashboard.
		"-search.latencyOffset=0s",
		// A week is plenty for a demo, and keeps the cache small.
		"-retentionPeriod=7d",
		"-loggerLevel=WARN",
	)
	v.cmd.Stdout, v.cmd.Stderr = v.out, v.out
	v.cmd.SysProcAttr = childAttr()

	started := make(chan error, 1)
	go func() {
		defer close(v.exited)
		// On Linux the child gets SIGTERM when the thread that started it
		// ends (childAttr), so that a demo killed outright takes it along.
		// This goroutine keeps that thread until the child has gone; the
		// runtime ends the thread with it.
		runtime.LockOSThread()
		if err := v.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := v.cmd.Wait()
		if v.watched.Load() {
			log.Warn("VictoriaMetrics exited; the demo's history is no longer exported", "err", err, "output", v.out.String())
		}
	}()
	if err := <-started; err != nil {
		<-v.exited
		v.cleanup()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if err := v.waitHealthy(ctx); err != nil {
		v.stop()
		if out := v.out.String(); out != "" {
			err = fmt.Errorf("%w; its output: %s", err, out)
		}
		return nil, err
	}
	v.watched.Store(true)
	return v, nil
}

// victoriaAddr is 127.0.0.1:8428 if that port is free, else another free
// loopback port.
func victoriaAddr() (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", victoriaPort))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return "", fmt.Errorf("a port for VictoriaMetrics: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy waits until /health answers OK, for at most victoriaStart.
func (v *victoria) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, victoriaStart)
	defer cancel()
	// No connection kept: nothing of the wait outlives it.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if v.healthy(ctx, client) {
			return nil
		}
		select {
		case <-v.exited:
			return fmt.Errorf("VictoriaMetrics exited at start: %v", v.cmd.ProcessState)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("VictoriaMetrics did not answer on %s within %v", v.addr, victoriaStart)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (v *victoria) healthy(ctx context.Context, client *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url()+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK"
}

// url is its base URL.
func (v *victoria) url() string { return "http://" + v.addr }

// writeURL is where it takes Prometheus remote write.
func (v *victoria) writeURL() string { return v.url() + "/api/v1/write" }

// pid is its process ID.
func (v *victoria) pid() int { return v.cmd.Process.Pid }

// stop ends the process, SIGTERM first so that it flushes what it took,
// then SIGKILL after victoriaStop, and waits until it and its owner
// goroutine are gone. It is for Run, once.
func (v *victoria) stop() {
	v.watched.Store(false)
	defer v.cleanup()
	select {
	case <-v.exited:
		return
	default:
	}
	if err := terminate(v.cmd.Process); err != nil {
		_ = v.cmd.Process.Kill()
	}
	t := time.NewTimer(victoriaStop)
	defer t.Stop()
	select {
	case <-v.exited:
	case <-t.C:
		v.log.Warn("VictoriaMetrics did not stop on SIGTERM; killing it", "after", victoriaStop, "pid", v.pid())
		_ = v.cmd.Process.Kill()
		<-v.exited
	}
}

// tail keeps the last max bytes written to it: the end of a process's
// output, for a warning. It is safe for concurrent use.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf) - t.max; n > 0 {
		t.buf = append(t.buf[:0], t.buf[n:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
