package tooltest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/gateway/internal/tooltest"
)

// outcome records how Tool ended a test, stopping its goroutine as the
// real Fatalf and Skipf do.
type outcome struct {
	testing.TB
	failed, skipped string
}

func (o *outcome) Helper() {}
func (o *outcome) Fatalf(format string, args ...any) {
	o.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (o *outcome) Skipf(format string, args ...any) {
	o.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func tool(t *testing.T, name string) (path string, o *outcome) {
	o = &outcome{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path = tooltest.Tool(o, name, "pkg-"+name)
	}()
	<-done
	return path, o
}

func TestTool(t *testing.T) {
	const missing = "watchfloor-no-such-tool"
	f := func(name, ci, found, failed, skipped string) {
		t.Helper()
		t.Run(name+" CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			path, o := tool(t, name)
			if !strings.HasSuffix(path, found) || found == "" && path != "" {
				t.Errorf("path %q, want one ending in %q", path, found)
			}
			if !strings.Contains(o.failed, failed) || failed == "" && o.failed != "" {
				t.Errorf("failed with %q, want %q", o.failed, failed)
			}
			if !strings.Contains(o.skipped, skipped) || skipped == "" && o.skipped != "" {
				t.Errorf("skipped with %q, want %q", o.skipped, skipped)
			}
		})
	}
	f("sh", "", "/sh", "", "")
	f("sh", "true", "/sh", "", "")
	f(missing, "", "", "", missing+" is not installed (apt-get install pkg-"+missing+"); skipping")
	f(missing, "false", "", "", "is not installed")
	f(missing, "true", "", missing+" is required under CI=true and is missing (apt-get install pkg-"+missing+")", "")
}
