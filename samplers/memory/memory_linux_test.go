package memory

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/samplers"

	"github.com/shirou/gopsutil/v4/common"
)

// withProc points gopsutil at a recorded /proc tree for calls made with the
// returned context, the way a netprobe in a container is pointed at the
// host's.
func withProc(ctx context.Context, dir string) context.Context {
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{common.HostProcEnvKey: dir})
}

func TestFixtures(t *testing.T) {
	f := func(dir string, want ...string) {
		t.Helper()
		s, err := New(nil, samplers.Env{})
		if err != nil {
			t.Fatal(err)
		}
		dvs, err := s.Sample(withProc(t.Context(), "testdata/"+dir+"/proc"))
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if got := strings.Join(lines(t, dvs), "\n"); got != strings.Join(want, "\n") {
			t.Errorf("%s rows:\n%s\nwant:\n%s", dir, got, strings.Join(want, "\n"))
		}
	}
	// MemTotal 16303392 kB, MemAvailable 9876540 kB: used 6426852 kB,
	// 39.42%. SwapTotal 4194300 kB, SwapFree 2987428 kB: used 1206872 kB,
	// 28.77%.
	f("swap",
		"physical 16694673408 6581096448 10113576960 39.42",
		"swap 4294963200 1235836928 3059126272 28.77",
	)
	// No swap at all is 0% used, not a division by zero.
	f("noswap",
		"physical 16694673408 6581096448 10113576960 39.42",
		"swap 0 0 0 0.00",
	)
}

func TestMissingProc(t *testing.T) {
	s, err := New(nil, samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if dvs, err := s.Sample(withProc(t.Context(), "testdata/no-such-dir/proc")); err == nil {
		t.Fatalf("Sample with no /proc/meminfo: no error, dataviews %v", dvs)
	}
}

// meminfo reads the real /proc/meminfo without gopsutil, in bytes.
func meminfo(t *testing.T) map[string]uint64 {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(kb, 10, 64)
		if err != nil {
			t.Fatalf("/proc/meminfo %s: %v", key, err)
		}
		m[key] = v * 1024
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLive(t *testing.T) {
	s, err := New(nil, samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	dvs, err := s.Sample(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	lines(t, dvs)
	want := meminfo(t)
	rows := dvs[0].Rows
	if len(rows) != 2 || rows[0].Name != "physical" || rows[1].Name != "swap" {
		t.Fatalf("rows %v, want physical and swap", rows)
	}
	physical, swap := rows[0].Cells, rows[1].Cells
	if got := uint64(physical[0].Num); got != want["MemTotal"] {
		t.Errorf("physical total %d, MemTotal %d", got, want["MemTotal"])
	}
	// Available moves while we look; a few percent covers a busy neighbour.
	if got, avail := physical[2].Num, float64(want["MemAvailable"]); got < avail*0.95 || got > avail*1.05 {
		t.Errorf("physical available %.0f, MemAvailable %.0f", got, avail)
	}
	if got := uint64(swap[0].Num); got != want["SwapTotal"] {
		t.Errorf("swap total %d, SwapTotal %d", got, want["SwapTotal"])
	}
	for _, r := range rows {
		total, used, available, pct := r.Cells[0].Num, r.Cells[1].Num, r.Cells[2].Num, r.Cells[3].Num
		if used+available != total {
			t.Errorf("%s: used %.0f + available %.0f != total %.0f", r.Name, used, available, total)
		}
		if pct < 0 || pct > 100 {
			t.Errorf("%s: usedPercent %v", r.Name, pct)
		}
	}
}
