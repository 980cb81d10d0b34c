package estate

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/watchfloor/watchfloor/gateway"
	"github.com/watchfloor/watchfloor/gateway/config"
)

// Gateway is a real gateway run in this process.
type Gateway struct {
	cancel context.CancelFunc
	done   chan error
}

// StartGateway parses yaml (a configuration such as Config renders; name
// is the file name its errors give) and runs a gateway with it on ln,
// logging to log, until Stop. On an error it closes ln.
func StartGateway(ln net.Listener, name, yaml string, log *slog.Logger) (*Gateway, error) {
	cfg, err := config.Parse(name, []byte(yaml))
	if err != nil {
		ln.Close()
		return nil, err
	}
	gw, err := gateway.New(gateway.Options{Config: cfg, Listener: ln, Logger: log})
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gateway{cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- gw.Run(ctx) }()
	return g, nil
}

// Stop stops the gateway, waits for it to end and returns why it ended if
// that was not Stop. Call it once.
func (g *Gateway) Stop() error {
	g.cancel()
	err := <-g.done
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
