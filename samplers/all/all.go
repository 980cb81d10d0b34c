// Package all registers every sampler type. Import it for its side effect
// where samplers are built by name (the netprobe, the demo).
package all

import (
	_ "github.com/watchfloor/watchfloor/samplers/cpu"
	_ "github.com/watchfloor/watchfloor/samplers/disk"
	_ "github.com/watchfloor/watchfloor/samplers/memory"
	_ "github.com/watchfloor/watchfloor/samplers/network"
)
