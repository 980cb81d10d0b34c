package cpu

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"

	"github.com/shirou/gopsutil/v4/common"
)

// withProc points gopsutil at a recorded /proc tree for calls made with the
// returned context, the way a netprobe in a container is pointed at the
// host's.
func withProc(ctx context.Context, dir string) context.Context {
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{common.HostProcEnvKey: dir})
}

// TestFixtureSteps steps one sampler through recorded /proc trees and checks
// the rates against figures worked out by hand from the counters. Fields in
// /proc/stat: user nice system idle iowait irq softirq steal guest guest_nice.
func TestFixtureSteps(t *testing.T) {
	s, err := New(nil, samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		dir       string
		rows      []string
		headlines string
	}{
		{
			// No previous sample: since boot. Each core has 10000 ticks,
			// guest excluded; busy = user+nice+system+irq+softirq+steal.
			// cpu0 busy 1800, cpu1 4200, total 6000 of 20000.
			dir: "1-boot",
			rows: []string{
				"total 30.00 20.00 7.50 3.50 1.00",
				"cpu0 18.00 10.00 5.00 4.00 1.00",
				"cpu1 42.00 30.00 10.00 3.00 1.00",
			},
			headlines: "load1=0.52 load5=0.58 load15=0.59 cores=2",
		},
		{
			// 300 ticks per core. cpu0: user +150 of which guest +30;
			// counting guest again would make 330 ticks and user 45.45.
			// cpu1: nice +10, all of it guest_nice; busy 44 -> 14.67.
			// total: 600 ticks, busy 248 -> 41.33, user 170 -> 28.33.
			dir: "2-guest",
			rows: []string{
				"total 41.33 28.33 9.17 1.17 0.83",
				"cpu0 68.00 50.00 15.00 2.00 1.00",
				"cpu1 14.67 6.67 3.33 0.33 0.67",
			},
			headlines: "load1=1.04 load5=0.69 load15=0.62 cores=2",
		},
		{
			// The same counters again: no tick has elapsed, so the last
			// rates stand rather than a division by zero.
			dir: "2-guest",
			rows: []string{
				"total 41.33 28.33 9.17 1.17 0.83",
				"cpu0 68.00 50.00 15.00 2.00 1.00",
				"cpu1 14.67 6.67 3.33 0.33 0.67",
			},
			headlines: "load1=1.04 load5=0.69 load15=0.62 cores=2",
		},
		{
			// cpu1 is offline: its line is gone and the total line keeps
			// its frozen counters. cpu0: 200 ticks, busy 70; iowait went
			// from 406 to 404, which counts as 0, not -2 (-2 would make
			// 198 ticks and user 20.20).
			dir: "3-offline",
			rows: []string{
				"total 35.00 20.00 10.00 0.00 0.00",
				"cpu0 35.00 20.00 10.00 0.00 0.00",
			},
			headlines: "load1=0.95 load5=0.68 load15=0.62 cores=1",
		},
		{
			// cpu1 is back; its counters moved only while online, so the
			// change since step 2 is this interval: user +50, system +25,
			// idle +25. cpu0 was idle for 100 ticks.
			dir: "4-online",
			rows: []string{
				"total 37.50 25.00 12.50 0.00 0.00",
				"cpu0 0.00 0.00 0.00 0.00 0.00",
				"cpu1 75.00 50.00 25.00 0.00 0.00",
			},
			headlines: "load1=0.87 load5=0.67 load15=0.61 cores=2",
		},
	}
	for i, st := range steps {
		dvs, err := s.Sample(withProc(t.Context(), "testdata/"+st.dir+"/proc"))
		if err != nil {
			t.Fatalf("step %d (%s): %v", i+1, st.dir, err)
		}
		rows, headlines := lines(t, dvs)
		if got, want := strings.Join(rows, "\n"), strings.Join(st.rows, "\n"); got != want {
			t.Errorf("step %d (%s) rows:\n%s\nwant:\n%s", i+1, st.dir, got, want)
		}
		if headlines != st.headlines {
			t.Errorf("step %d (%s) headlines: %s, want %s", i+1, st.dir, headlines, st.headlines)
		}
	}
}

func TestFixtureTotalOnly(t *testing.T) {
	s, err := New(json.RawMessage(`{"percpu": false}`), samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	dvs, err := s.Sample(withProc(t.Context(), "testdata/1-boot/proc"))
	if err != nil {
		t.Fatal(err)
	}
	rows, headlines := lines(t, dvs)
	if got, want := strings.Join(rows, "\n"), "total 30.00 20.00 7.50 3.50 1.00"; got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	// The cores headline still counts the cores it does not show.
	if want := "load1=0.52 load5=0.58 load15=0.59 cores=2"; headlines != want {
		t.Errorf("headlines %s, want %s", headlines, want)
	}
}

func TestMissingProc(t *testing.T) {
	s, err := New(nil, samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	dvs, err := s.Sample(withProc(t.Context(), "testdata/no-such-dir/proc"))
	if err == nil {
		t.Fatalf("Sample with no /proc/stat: no error, dataviews %v", dvs)
	}
}

// procStatCores counts the cpuN lines of the real /proc/stat, read without
// gopsutil.
func procStatCores(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	coreLine := regexp.MustCompile(`^cpu[0-9]+ `)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if coreLine.MatchString(sc.Text()) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLive(t *testing.T) {
	s, err := New(nil, samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	// The first sample covers the time since boot, the second the time
	// since the first; both must hold together.
	for i := range 2 {
		dvs, err := s.Sample(t.Context())
		if err != nil {
			t.Fatalf("sample %d: %v", i+1, err)
		}
		dv := dvs[0]
		cores := procStatCores(t)
		if got := len(dv.Rows) - 1; got != cores {
			t.Errorf("sample %d: %d core rows, /proc/stat has %d cpuN lines", i+1, got, cores)
		}
		if dv.Rows[0].Name != "total" {
			t.Errorf("sample %d: first row %q, want total", i+1, dv.Rows[0].Name)
		}
		for _, r := range dv.Rows {
			v := map[string]float64{}
			for j, c := range r.Cells {
				if !c.IsNum || c.Num < 0 || c.Num > 100 {
					t.Errorf("sample %d: %s %s = %q, want a percentage", i+1, r.Name, dv.Columns[j], c.Raw)
				}
				v[dv.Columns[j]] = c.Num
			}
			// Utilisation holds user, system and steal among the busy
			// fields, and leaves out iowait; each figure is rounded to
			// 0.005, hence the slack.
			const slack = 0.02
			if v["utilisation"]+slack < v["user"]+v["system"]+v["steal"] {
				t.Errorf("sample %d: %s utilisation %v < user+system+steal %v", i+1, r.Name, v["utilisation"], v["user"]+v["system"]+v["steal"])
			}
			if v["utilisation"]+v["iowait"] > 100+slack {
				t.Errorf("sample %d: %s utilisation+iowait %v > 100", i+1, r.Name, v["utilisation"]+v["iowait"])
			}
		}
		h := map[string]float64{}
		for _, hl := range dv.Headlines {
			if !hl.Value.IsNum || hl.Value.Num < 0 {
				t.Errorf("sample %d: headline %s = %q", i+1, hl.Name, hl.Value.Raw)
			}
			h[hl.Name] = hl.Value.Num
		}
		if int(h["cores"]) != cores {
			t.Errorf("sample %d: cores headline %v, /proc/stat has %d", i+1, h["cores"], cores)
		}
	}
}

// TestLiveBurn spins for a while between two samples and checks that the
// total user time moved. The machine is shared, so only the lower bound
// is ours to assert.
func TestLiveBurn(t *testing.T) {
	s, err := New(json.RawMessage(`{"percpu": false}`), samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sample(t.Context()); err != nil {
		t.Fatal(err)
	}
	// 300ms of one core is 30 ticks at the usual USER_HZ of 100.
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
	}
	dvs, err := s.Sample(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	total := dvs[0].Rows[0]
	if user := total.Cells[1]; user.Num <= 0 {
		t.Errorf("total user %s%% after a 300ms spin, want above 0", user.Raw)
	}
	if len(dvs[0].Rows) != 1 {
		t.Errorf("percpu false: %d rows, want only total", len(dvs[0].Rows))
	}
}
