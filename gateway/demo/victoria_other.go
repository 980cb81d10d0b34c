//go:build !linux

package demo

import (
	"os"
	"syscall"
)

// childAttr is the default elsewhere: a demo killed outright may leave its
// VictoriaMetrics running.
func childAttr() *syscall.SysProcAttr { return nil }

// terminate asks the process to stop cleanly where signals exist, and
// fails elsewhere, which has it killed.
func terminate(p *os.Process) error { return p.Signal(os.Interrupt) }
