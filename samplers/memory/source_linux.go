package memory

import (
	"context"

	"github.com/shirou/gopsutil/v4/mem"
)

// gopsutilSource reads /proc/meminfo through gopsutil, which honours
// HOST_PROC from the environment or the context (common.EnvKey).
//
// Swap comes from the same read as physical memory rather than from
// gopsutil's SwapMemory, which takes swap from sysinfo(2) and so ignores
// HOST_PROC (a netprobe in a container watching the host's /proc would see
// one machine's memory and another's swap), and which also fails where
// /proc/vmstat is missing. The figures are the kernel's same counters.
type gopsutilSource struct{}

func (gopsutilSource) memory(ctx context.Context) (*mem.VirtualMemoryStat, *mem.SwapMemoryStat, error) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, nil, err
	}
	return vm, &mem.SwapMemoryStat{Total: vm.SwapTotal, Free: vm.SwapFree}, nil
}
