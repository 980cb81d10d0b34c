package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.bad.errors from what Parse reports (review the diff)")

// TestGoodFiles checks that every testdata/*.good.yaml loads and
// re-validates.
func TestGoodFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := config.Load(file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.File != file {
				t.Errorf("File = %q, want %q", c.File, file)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate after Load: %v", err)
			}
		})
	}
}

// TestBadFiles checks that every testdata/NAME.bad.yaml fails with exactly
// the errors listed in testdata/NAME.bad.errors, one per line.
func TestBadFiles(t *testing.T) {
	badFiles(t, "testdata/*.bad.yaml", func(file string) (any, error) { return config.Load(file) })
}

// badFiles checks that loading each file the glob names fails with
// exactly the errors in the file beside it, NAME.bad.errors (-update
// writes them).
func badFiles(t *testing.T, glob string, load func(file string) (any, error)) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			golden := strings.TrimSuffix(file, ".yaml") + ".errors"
			v, err := load(file)
			if err == nil {
				t.Fatalf("loading succeeded: %+v", v)
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("loading: %T %v, want config.Errors", err, err)
			}
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ\n--- got\n%s--- want (%s)\n%s", got, golden, want)
			}
		})
	}
}

// TestTestdataHasErrorFiles catches an expected-errors file left behind
// when its YAML file was renamed or removed.
func TestTestdataHasErrorFiles(t *testing.T) {
	golden, err := filepath.Glob("testdata/*.bad.errors")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range golden {
		if _, err := os.Stat(strings.TrimSuffix(g, ".errors") + ".yaml"); err != nil {
			t.Errorf("%s has no YAML file: %v", g, err)
		}
	}
}
