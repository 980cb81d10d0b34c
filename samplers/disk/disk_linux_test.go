package disk

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shirou/gopsutil/v4/common"

	"github.com/watchfloor/watchfloor/samplers"
)

// withProc points gopsutil at a recorded /proc tree for calls made with the
// returned context.
func withProc(ctx context.Context, dir string) context.Context {
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{common.HostProcEnvKey: dir})
}

// sample builds a sampler from params, samples once with ctx and returns
// the rows by name, checking the dataview's shape on the way.
func sample(t *testing.T, ctx context.Context, params string) (names []string, rows map[string]map[string]samplers.Cell) {
	t.Helper()
	s, err := New(json.RawMessage(params), samplers.Env{})
	if err != nil {
		t.Fatalf("New(%s): %v", params, err)
	}
	defer s.Close()
	dvs, err := s.Sample(ctx)
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	if len(dvs) != 1 || dvs[0].Name != "disk" {
		t.Fatalf("got %d dataviews (%v), want one named disk", len(dvs), dvs)
	}
	dv := dvs[0]
	rows = map[string]map[string]samplers.Cell{}
	for _, r := range dv.Rows {
		if len(r.Cells) != len(dv.Columns) {
			t.Fatalf("row %s has %d cells for %d columns", r.Name, len(r.Cells), len(dv.Columns))
		}
		if _, dup := rows[r.Name]; dup {
			t.Errorf("row %s appears twice", r.Name)
		}
		cells := map[string]samplers.Cell{}
		for i, c := range r.Cells {
			cells[dv.Columns[i]] = c
		}
		rows[r.Name] = cells
		names = append(names, r.Name)
	}
	if len(dv.Headlines) != 1 || dv.Headlines[0].Name != "mounts" || dv.Headlines[0].Value.Num != float64(len(dv.Rows)) {
		t.Errorf("headlines %v, want mounts=%d", dv.Headlines, len(dv.Rows))
	}
	return names, rows
}

func TestFixtureFiltering(t *testing.T) {
	ctx := withProc(t.Context(), "testdata/proc")
	for _, c := range []struct {
		name, params, want string
	}{
		// "/" is listed twice; the later, read-only, mount is the one
		// its path reaches.
		{"defaults", `{}`, "/"},
		{"all types", `{"excludeTypes": []}`, "/ /mnt/ov"},
		{"nothing excluded", `{"excludeTypes": [], "excludeMounts": ""}`, "/ /proc /sys /var/lib/docker/overlay2/abc/merged /mnt/ov"},
		{"mounts", `{"excludeTypes": [], "mounts": ["^/mnt/"]}`, "/mnt/ov"},
	} {
		t.Run(c.name, func(t *testing.T) {
			names, rows := sample(t, ctx, c.params)
			if got := strings.Join(names, " "); got != c.want {
				t.Errorf("rows %q, want %q", got, c.want)
			}
			if root, ok := rows["/"]; ok && root["readOnly"].Raw != "1" {
				t.Errorf("/ readOnly %q, want 1 (the last mount is ro)", root["readOnly"].Raw)
			}
			// /mnt/ov does not exist here: its statfs fails, and the row
			// stays with the failure in its error column.
			if ov, ok := rows["/mnt/ov"]; ok {
				if ov["error"].Raw == "" || ov["size"].Raw != "" {
					t.Errorf("/mnt/ov: size %q error %q, want empty size and an error", ov["size"].Raw, ov["error"].Raw)
				}
			}
		})
	}
}

func TestMissingProc(t *testing.T) {
	s, err := New(nil, samplers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if dvs, err := s.Sample(withProc(t.Context(), "testdata/no-such-dir")); err == nil {
		t.Fatalf("Sample with no mount table: no error, dataviews %v", dvs)
	}
}

// TestLiveRoot compares / with a statfs made here.
func TestLiveRoot(t *testing.T) {
	_, rows := sample(t, t.Context(), `{"mounts": ["^/$"]}`)
	root, ok := rows["/"]
	if !ok {
		t.Fatalf("no / row in %v", rows)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/", &st); err != nil {
		t.Fatal(err)
	}
	bs := float64(st.Bsize)
	size := float64(st.Blocks) * bs
	used := float64(st.Blocks-st.Bfree) * bs
	free := float64(st.Bavail) * bs
	// Something else may write to / between the two statfs calls.
	const slack = 64 << 20
	near := func(col string, want float64) {
		t.Helper()
		if got := root[col].Num; got < want-slack || got > want+slack {
			t.Errorf("/ %s = %s, statfs gives %.0f", col, root[col].Raw, want)
		}
	}
	near("used", used)
	near("free", free)
	if root["size"].Num != size {
		t.Errorf("/ size %s, statfs gives %.0f", root["size"].Raw, size)
	}
	if root["error"].Raw != "" {
		t.Errorf("/ error %q", root["error"].Raw)
	}
}

// requireRoot skips when the test cannot mount, except in CI, where it
// must be able to.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mounting a tmpfs needs root, and CI=true requires this test to run")
		}
		t.Skip("mounting a tmpfs needs root; skipped (set CI=true to make this a failure)")
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func TestLiveTmpfs(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	run(t, "mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", dir)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	// Resolve as the kernel lists the mount point.
	mp, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	params := `{"mounts": ["^` + strings.ReplaceAll(mp, ".", `\.`) + `$"], "excludeMounts": ""}`
	get := func() map[string]samplers.Cell {
		t.Helper()
		_, rows := sample(t, t.Context(), params)
		r, ok := rows[mp]
		if !ok {
			t.Fatalf("no row for %s in %v", mp, rows)
		}
		return r
	}
	before := get()
	if before["size"].Num != 64<<20 {
		t.Errorf("size %s, want %d", before["size"].Raw, 64<<20)
	}
	if before["readOnly"].Raw != "0" || before["error"].Raw != "" {
		t.Errorf("readOnly %q error %q, want 0 and none", before["readOnly"].Raw, before["error"].Raw)
	}
	const n = 5 << 20
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
	after := get()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if grew := after["used"].Num - before["used"].Num; grew < n-float64(st.Bsize) || grew > n+float64(st.Bsize) {
		t.Errorf("used grew by %.0f after writing %d bytes (block %d)", grew, n, st.Bsize)
	}
	used, free := after["used"].Num, after["free"].Num
	if want := samplers.Number(100*used/(used+free), 2).Raw; after["usedPercent"].Raw != want {
		t.Errorf("usedPercent %s, want %s", after["usedPercent"].Raw, want)
	}
	run(t, "mount", "-o", "remount,ro", dir)
	if ro := get()["readOnly"].Raw; ro != "1" {
		t.Errorf("readOnly %q after remount,ro, want 1", ro)
	}
}
