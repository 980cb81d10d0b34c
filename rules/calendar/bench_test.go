package calendar

import (
	"fmt"
	"testing"
	"time"
)

// benchTimes are instants spread over two weeks of 2026, so a benchmark
// sees every kind of day.
func benchTimes() []time.Time {
	out := make([]time.Time, 1024)
	base := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = base.Add(time.Duration(i) * 19 * time.Minute)
	}
	return out
}

func BenchmarkScheduleActive(b *testing.B) {
	s := checked(b, lseTrading())
	ts := benchTimes()
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if s.Active(ts[i%len(ts)]) {
			n++
		}
	}
	_ = n
}

func BenchmarkScheduleNext(b *testing.B) {
	s := checked(b, lseTrading())
	ts := benchTimes()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Next(ts[i%len(ts)])
	}
}

func BenchmarkWorkCycleAt(b *testing.B) {
	w := checked(b, ptr(lse()))
	ts := benchTimes()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.At(ts[i%len(ts)])
	}
}

// BenchmarkTenThousandSchedules is a gateway asking each of 10,000
// schedules, in ten zones, whether it is active now: one op is all 10,000.
func BenchmarkTenThousandSchedules(b *testing.B) {
	zones := []string{"Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "America/Chicago",
		"Asia/Hong_Kong", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo", "UTC"}
	ss := make([]*Schedule, 10000)
	for i := range ss {
		open := Clock{6 + i%4, (i % 4) * 15}
		ss[i] = checked(b, &Schedule{
			Name: fmt.Sprintf("s%d", i), Zone: mustZone(zones[i%len(zones)]), Days: weekdays,
			Windows:  []Window{{open, Clock{16 + i%3, 30}}},
			Holidays: map[Date]string{date("2026-12-25"): "Christmas", date("2026-01-01"): "New Year"},
		})
	}
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, s := range ss {
			if s.Active(now) {
				n++
			}
		}
		now = now.Add(time.Second)
	}
}

func BenchmarkMaintenanceActive(b *testing.B) {
	m := checked(b, &Maintenance{Zone: london, Days: weekdays, Window: Window{Clock{22, 0}, Clock{23, 30}},
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	ts := benchTimes()
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if m.Active(ts[i%len(ts)]) {
			n++
		}
	}
	_ = n
}

func BenchmarkMaintenanceNext(b *testing.B) {
	m := checked(b, &Maintenance{Zone: london, Days: weekdays, Window: Window{Clock{22, 0}, Clock{23, 30}},
		End: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	ts := benchTimes()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Next(ts[i%len(ts)])
	}
}
