package config_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/samplers"
)

// TestHistoryGood checks what the history and remote_write sections
// decode to: every key given, and a target that takes every default and
// is named by its URL's host.
func TestHistoryGood(t *testing.T) {
	c, err := config.Load("testdata/history.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := c.History
	if h.Window != 30*time.Minute || h.MaxSeries != 200 || len(h.Windows) != 2 {
		t.Fatalf("history %+v", h)
	}
	for i, want := range []struct {
		match, path string
		window      time.Duration
	}{
		{"*/*/cpu/cpu/*/utilisation", "p/e/cpu/cpu/cpu0/utilisation", 24 * time.Hour},
		{"**/disk/disks/%2Fvar%2Flog/used", "p/e/disk/disks/%2Fvar%2Flog/used", time.Minute},
	} {
		w := h.Windows[i]
		if w.Match != want.match || w.Window != want.window || w.Pattern == nil || !w.Pattern.MatchCell(cellPath(t, want.path)) {
			t.Errorf("windows[%d] %+v, want %s for %s, matching %s", i, w, want.window, want.match, want.path)
		}
	}
	want := []config.RemoteWrite{
		{
			Name: "vm", URL: "https://vm.example:8427/api/v1/write", Username: "watch", PasswordFile: "/etc/watchfloor/vm.pass",
			CAFile: "/etc/watchfloor/ca.crt", CertFile: "/etc/watchfloor/client.crt", KeyFile: "/etc/watchfloor/client.key",
			Timeout: 3 * time.Second, BatchSize: 100_000, Buffer: 100_000, Resend: 0,
		},
		{
			Name: "127.0.0.1:8428", URL: "http://127.0.0.1:8428/api/v1/write", BearerTokenFile: "/etc/watchfloor/vm.token",
			Timeout: config.DefaultRemoteTimeout, BatchSize: config.DefaultRemoteBatch, Buffer: config.DefaultRemoteBuffer, Resend: config.DefaultRemoteResend,
		},
	}
	if !reflect.DeepEqual(c.RemoteWrite, want) {
		t.Errorf("remote_write\n got %+v\nwant %+v", c.RemoteWrite, want)
	}
}

func cellPath(t *testing.T, s string) samplers.CellPath {
	t.Helper()
	c, err := samplers.ParseCellPath(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
