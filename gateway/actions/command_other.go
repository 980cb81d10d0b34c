//go:build !unix

package actions

import "os/exec"

// ownGroup leaves cmd as it is where there are no process groups: a
// cancel kills the program alone.
func ownGroup(*exec.Cmd) {}
