package gateway

import (
	"log/slog"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/gateway/store"
)

// New holds the configuration's windows, and says so on maintenanceCh;
// maintenanceChanged never blocks, however many changes no one has read.
func TestMaintenanceSetAndSignal(t *testing.T) {
	cfg, err := config.Parse("x", []byte(`listen: "127.0.0.1:0"
maintenance:
  - {id: release, reason: OMS release, zone: UTC, start: 2026-12-05T08:00, end: 2026-12-06T18:00, entities: [oms-1]}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := store.OpenMemory()
	defer st.Close()
	g, err := New(Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := g.maintenanceSet().Window("release"); !ok || c.Window().Source != "config" {
		t.Fatalf("the set: %+v, %v", g.maintenanceSet().Windows(), ok)
	}
	for range 3 {
		g.maintenanceChanged()
	}
	if len(g.maintenanceCh) != 1 || cap(g.maintenanceCh) != 1 {
		t.Fatalf("maintenanceCh holds %d of %d", len(g.maintenanceCh), cap(g.maintenanceCh))
	}
	<-g.maintenanceCh
	if err := g.rebuildMaintenance(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.maintenanceCh:
	default:
		t.Error("a rebuild did not signal maintenanceCh")
	}
}
