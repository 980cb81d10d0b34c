//go:build !linux

package memory

import (
	"context"

	"github.com/shirou/gopsutil/v4/mem"
)

// gopsutilSource reads memory through gopsutil. Outside Linux its
// VirtualMemoryStat leaves the swap fields empty, so swap is read apart.
type gopsutilSource struct{}

func (gopsutilSource) memory(ctx context.Context) (*mem.VirtualMemoryStat, *mem.SwapMemoryStat, error) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, nil, err
	}
	sw, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		return nil, nil, err
	}
	return vm, sw, nil
}
