package demo

import (
	"os"
	"syscall"
)

// childAttr puts VictoriaMetrics in a process group of its own, so that a
// Ctrl-C in the terminal reaches the demo alone and the demo stops it
// after the gateway has sent its last samples; and it has the kernel send
// it SIGTERM if the demo dies without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// terminate asks the process to stop cleanly.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
