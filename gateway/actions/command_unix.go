//go:build unix

package actions

import (
	"os/exec"
	"syscall"
)

// ownGroup runs cmd in a process group of its own, and has a cancel kill
// the whole group, so that what the program started dies with it.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
