// Package tooltest finds the outside programs tests run, such as
// prometheus or victoria-metrics. It is for tests only.
//
// It is its own package, importing nothing of the gateway, so that the
// tests of every package (gateway's, and remotewrite's, which gateway
// imports) can share it.
package tooltest

import (
	"os"
	"os/exec"
	"testing"
)

// Tool returns the path of an installed program. Missing, it skips the
// test on a developer's machine and fails it under CI=true, where .ci/run
// installs the Debian package pkg.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true and is missing (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s); skipping", name, pkg)
	}
	return path
}
