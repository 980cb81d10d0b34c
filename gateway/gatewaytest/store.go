package gatewaytest

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/store"
)

// OpenStore opens a store file for a gateway under test, closed when the
// test ends (after the gateways Start runs, which stop first).
func OpenStore(t testing.TB, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { CloseStore(t, st) })
	return st
}

// CloseStore closes a store file and waits until buntdb's background
// goroutine, which ends at its next one-second tick after the close, is
// gone, so that a leak check finds none. Closing twice is harmless.
func CloseStore(t testing.TB, st *store.Store) {
	t.Helper()
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("close the store: %v", err)
	}
	deadline := time.Now().Add(Wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		if !strings.Contains(string(buf), "buntdb.(*DB).backgroundManager") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("buntdb's background goroutine still runs %v after Close", Wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
