package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
	"github.com/watchfloor/watchfloor/gateway/incident"
)

// `gateway backup` copies a running gateway's store while people keep
// raising incidents; restored into a stopped gateway's data file, the
// copy holds every incident the API confirmed before the backup began.
// restore refuses while the gateway runs.
func TestBackupWhileWritingThenRestore(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gateway.yaml")
	data := filepath.Join(dir, "watchfloor.db")
	addr := freePort(t)
	if err := os.WriteFile(cfgFile, []byte(crashConfig(addr, "venue-backup-token-0123456789")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, _ := start(t, nil, "gateway", "--config", cfgFile, "--log-level", "warn")
	gt.WaitListening(t, addr)
	olu := gt.Login(t, "http://"+addr, "olu")

	var mu sync.Mutex
	var confirmed []string
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			var inc incident.Incident
			if raise(ctx, olu, addr, fmt.Sprintf("raised %d", i), &inc) {
				mu.Lock()
				confirmed = append(confirmed, inc.ID)
				mu.Unlock()
			}
		}
	})
	gt.Eventually(t, "incidents raised", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(confirmed) >= 50
	})
	mu.Lock()
	before := append([]string(nil), confirmed...)
	mu.Unlock()
	backupFile := filepath.Join(dir, "backup.db")
	if _, errOut, code := runGateway(t, "backup", "--data", data, backupFile); code != 0 {
		t.Fatalf("gateway backup: exit %d: %s", code, errOut)
	}
	gt.Eventually(t, "incidents raised after the backup", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(confirmed) > len(before)+20
	})
	stop()
	wg.Wait()
	restored := filepath.Join(dir, "restored.db")
	if _, errOut, code := runGateway(t, "restore", "--data", data, backupFile); code != 1 || !strings.Contains(errOut, "running gateway") {
		t.Fatalf("restore into a running gateway's store: exit %d: %s", code, errOut)
	}
	stopProcess(t, cmd)
	if _, errOut, code := runGateway(t, "restore", "--data", restored, backupFile); code != 0 {
		t.Fatalf("gateway restore: exit %d: %s", code, errOut)
	}

	cmd2, _ := start(t, nil, "gateway", "--config", cfgFile, "--data", restored, "--log-level", "warn")
	gt.WaitListening(t, addr)
	admin := gt.Login(t, "http://"+addr, gt.Admin.Name)
	for _, id := range before {
		if code, body := admin.Do(t, http.MethodGet, "/api/v1/incidents/"+id, nil); code != http.StatusOK {
			t.Fatalf("%s, confirmed before the backup, is not in the restored store: %d %s", id, code, body)
		}
	}
	var list struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	admin.Get(t, "/api/v1/incidents?limit=1000", &list)
	t.Logf("%d incidents confirmed before the backup, %d in it, %d confirmed in all", len(before), len(list.Incidents), len(confirmed))
	if len(list.Incidents) >= len(confirmed) {
		t.Fatalf("the restored store holds %d incidents: some raised after the backup, %d in all, should be missing", len(list.Incidents), len(confirmed))
	}
	stopProcess(t, cmd2)
}

func stopProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	stop(t, cmd, syscall.SIGTERM)
}

// raise raises an incident, true if the API confirmed it.
func raise(ctx context.Context, s *gt.Session, addr, title string, out *incident.Incident) bool {
	return call(ctx, s, http.MethodPost, "http://"+addr+"/api/v1/incidents", map[string]string{"title": title}, http.StatusCreated, out)
}
