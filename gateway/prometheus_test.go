package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// A real Prometheus scrapes /metrics the way it scrapes any protected
// target, with the bearer token from a credentials file: that target is
// up, and the same target scraped without the token is down with 401.
func TestPrometheusScrapesWithBearerToken(t *testing.T) {
	prom := gt.Tool(t, "prometheus", "prometheus")
	const token = "scrape-token-for-the-test"
	ln := gt.Listen(t)
	yaml := gt.Config(ln.Addr().String()) + fmt.Sprintf("metrics:\n  bearer_token_sha256: %s\n", config.HashToken(token))
	cfg, err := config.Parse("metrics.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln})

	dir := t.TempDir()
	cred := filepath.Join(dir, "token")
	if err := os.WriteFile(cred, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	promCfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: with-token
    authorization: {credentials_file: %q}
    static_configs: [{targets: [%q]}]
  - job_name: without-token
    static_configs: [{targets: [%q]}]
`, cred, gw.Addr, gw.Addr)
	file := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(file, []byte(promCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := gt.Listen(t)
	addr := promAddr.Addr().String()
	promAddr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, prom, "--config.file="+file, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })

	type target struct {
		ScrapePool string `json:"scrapePool"`
		Health     string `json:"health"`
		LastError  string `json:"lastError"`
	}
	var health map[string]target
	gt.Eventually(t, "Prometheus to have scraped both jobs", func() bool {
		resp, err := http.Get("http://" + addr + "/api/v1/targets")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				ActiveTargets []target `json:"activeTargets"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil {
			return false
		}
		health = map[string]target{}
		for _, tg := range out.Data.ActiveTargets {
			if tg.Health != "unknown" {
				health[tg.ScrapePool] = tg
			}
		}
		return len(health) == 2
	})
	if h := health["with-token"]; h.Health != "up" {
		t.Errorf("the target scraped with the token is %s: %s", h.Health, h.LastError)
	}
	if h := health["without-token"]; h.Health != "down" || !strings.Contains(h.LastError, "401") {
		t.Errorf("the target scraped without the token is %s (%q), want down with 401", h.Health, h.LastError)
	}
}
