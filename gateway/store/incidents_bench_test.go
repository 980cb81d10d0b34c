package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/incident"
	"github.com/watchfloor/watchfloor/gateway/store"
	"github.com/watchfloor/watchfloor/rules"
)

// Incidents opened per second with durable writes: the Book opens them
// from transitions, and each batch is one fsynced transaction, as the
// gateway's desk writes a batch of transitions (1: a lone cell turning
// bad, as an API command is; 1,000: a storm's tick). Run with
//
//	go test -run '^$' -bench IncidentsOpened -benchtime 3s ./gateway/store/
func BenchmarkIncidentsOpened(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			st, err := store.Open(filepath.Join(b.TempDir(), "watchfloor.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			book := incident.NewBook(incident.Policy{}, "", 0)
			def := &rules.IncidentDef{Open: rules.Critical}
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			opened := 0
			b.ResetTimer()
			for i := 0; opened < b.N; i++ {
				writes := make([]store.IncidentWrite, 0, batch)
				for j := 0; j < batch && opened < b.N; j++ {
					if opened%500_000 == 499_999 {
						now = now.Add(24 * time.Hour) // a day numbers at most 999,999
					}
					path := fmt.Sprintf("venue/router-%d/orders/orders/A/latency", opened)
					for _, c := range book.Signal(incident.Signal{Rule: "latency", Path: path, Probe: "venue", Entity: "router",
						Old: rules.OK, New: rules.Critical, Worst: rules.Critical, Value: "90", Time: now, Open: def}) {
						writes = append(writes, store.IncidentWrite{Incident: *c.Incident, Events: c.Events})
					}
					opened++
				}
				if err := st.PutIncidents(writes); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "incidents/s")
		})
	}
}
