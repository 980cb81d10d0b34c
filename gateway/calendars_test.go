package gateway_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
	gt "github.com/watchfloor/watchfloor/gateway/gatewaytest"
)

// calendarsYAML is a gateway with an LSE-like work cycle, a schedule and
// two desks, and a rule that judges the cycle's phase.
const calendarsYAML = `
calendars:
  desks:
    - {name: London, zone: Europe/London}
    - {name: Tokyo, zone: Asia/Tokyo}
  schedules:
    - {name: lse-trading, zone: Europe/London, days: [mon, tue, wed, thu, fri], windows: ["08:00-16:30"]}
  work_cycles:
    - name: lse-equities
      where: {system: lse}
      zone: Europe/London
      days: [mon, tue, wed, thu, fri]
      phases: {bod: "07:00", intraday: "08:00", eod: "16:30", closed: "17:30"}
rules:
  - name: lse-open
    match: "watchfloor/gateway/self/work-cycles/lse-equities/phase"
    warning: {when: text == "intraday"}
`

// selfRow reads a row of one of the gateway's own dataviews, by column.
func selfRow(t *testing.T, s *gt.Session, view, row string) map[string]cellJSON {
	t.Helper()
	var dv struct {
		Rows []struct {
			Name  string
			Cells []cellJSON
		}
	}
	code, body := s.Do(t, http.MethodGet, "/api/v1/dataviews/watchfloor/gateway/self/"+view, nil)
	if code != http.StatusOK {
		return nil
	}
	if err := json.Unmarshal(body, &dv); err != nil {
		t.Fatal(err)
	}
	for _, r := range dv.Rows {
		if r.Name == row {
			out := map[string]cellJSON{}
			for _, c := range r.Cells {
				out[c.Column] = c
			}
			return out
		}
	}
	return nil
}

// A work cycle's phase is a live dataview of the gateway's own: at 07:59:58
// London time on a Tuesday the LSE cycle is in Beginning of Day, two
// seconds to Intraday; when the gateway's clock passes 08:00, the phase is
// Intraday and a rule on it judges it; the schedule opens with it, and
// the desks' clocks show their zones.
func TestWorkCyclePhaseChangesAtItsInstant(t *testing.T) {
	start := time.Date(2026, 12, 1, 7, 59, 58, 0, time.UTC) // London is on UTC in December
	clock := gt.NewManualClock(start)
	ln := gt.Listen(t)
	cfg, err := config.Parse("calendars.yaml", []byte(gt.Config(ln.Addr().String())+calendarsYAML))
	if err != nil {
		t.Fatal(err)
	}
	gw := gt.Start(t, gateway.Options{Config: cfg, Listener: ln, Clock: clock})
	admin := gw.Admin(t)
	var row map[string]cellJSON
	gt.Eventually(t, "the cycle in Beginning of Day", func() bool {
		row = selfRow(t, admin, "work-cycles", "lse-equities")
		return row != nil && row["phase"].Value == "bod"
	})
	if row["next"].Value != "intraday" || row["nextAt"].Value != "2026-12-01T08:00:00Z" || row["secondsToNext"].Value != "2" ||
		row["since"].Value != "2026-12-01T07:00:00Z" || row["zone"].Value != "Europe/London" || row["where"].Value != "system=lse" {
		t.Fatalf("the cycle before 08:00: %+v", row)
	}
	if row["phase"].Severity != "ok" || row["phase"].Rule != "lse-open" {
		t.Fatalf("the rule on the phase before 08:00: %+v", row["phase"])
	}
	if s := selfRow(t, admin, "schedules", "lse-trading"); s["active"].Value != "false" || s["nextChange"].Value != "2026-12-01T08:00:00Z" {
		t.Fatalf("the schedule before 08:00: %+v", s)
	}
	if d := selfRow(t, admin, "desks", "Tokyo"); d["time"].Value != "2026-12-01 16:59:58" || d["utcOffset"].Value != "+09:00" {
		t.Fatalf("Tokyo's desk: %+v", d)
	}

	clock.Advance(2 * time.Second)
	gt.Eventually(t, "the cycle in Intraday, judged", func() bool {
		row = selfRow(t, admin, "work-cycles", "lse-equities")
		return row["phase"].Value == "intraday" && row["phase"].Severity == "warning"
	})
	if row["next"].Value != "eod" || row["nextAt"].Value != "2026-12-01T16:30:00Z" {
		t.Fatalf("the cycle after 08:00: %+v", row)
	}
	if s := selfRow(t, admin, "schedules", "lse-trading"); s["active"].Value != "true" {
		t.Fatalf("the schedule after 08:00: %+v", s)
	}
}
