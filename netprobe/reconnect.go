package netprobe

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// outcome is how a connection attempt ended, as far as reconnecting goes.
type outcome int

const (
	// lasted: a session ran long enough to show that the gateway works
	// and takes this probe. Backoff starts afresh.
	lasted outcome = iota
	// unreachable: the gateway could not be reached (connection refused,
	// dial timeout, a proxy whose backend is down, a gateway going away
	// during the handshake). An outage: it says nothing about this
	// probe, so it is retried soon, up to a low cap, with full jitter so
	// that a fleet comes back spread out, not in a herd.
	unreachable
	// refused: the gateway refused this probe (HTTP 401 or another
	// client error, a handshake it closed, a session that ended at once).
	// Retrying soon would not help, so the wait keeps growing towards
	// the long cap, and a misconfigured probe does not hammer it.
	refused
	// versionRefused: the gateway closed a Hello that offers a version
	// range with a policy violation before any Welcome, as gateways from
	// before version ranges do; the next attempt, soon, offers version 1
	// alone.
	versionRefused
)

func (o outcome) String() string {
	switch o {
	case lasted:
		return "lasted"
	case unreachable:
		return "unreachable"
	case refused:
		return "refused"
	case versionRefused:
		return "version refused"
	}
	return "unknown"
}

// backoff paces reconnects: two ceilings that grow apart, one for a
// gateway that cannot be reached and one for a gateway that refuses the
// probe. It is owned by Run's goroutine.
type backoff struct {
	min, maxUnreachable, maxRefused time.Duration
	unreachable, refused            time.Duration // the current ceilings
	// rand returns a duration in [0, n]; tests pin it.
	rand func(n time.Duration) time.Duration
}

func newBackoff(min, maxUnreachable, maxRefused time.Duration, rand func(time.Duration) time.Duration) *backoff {
	return &backoff{min: min, maxUnreachable: maxUnreachable, maxRefused: maxRefused,
		unreachable: min, refused: min, rand: rand}
}

// next returns how long to wait after an attempt that ended in o, and
// grows the ceiling o counts against.
func (b *backoff) next(o outcome) time.Duration {
	switch o {
	case unreachable:
		// Full jitter: anywhere up to the ceiling, so that probes that
		// lost the gateway together do not return together.
		d := b.unreachable
		b.unreachable = min(2*d, b.maxUnreachable)
		return b.rand(d)
	case refused:
		// Half to all of the ceiling: never sooner than half, so a
		// refusing gateway sees each probe at most twice per ceiling.
		d := b.refused
		b.refused = min(2*d, b.maxRefused)
		return d/2 + b.rand(d-d/2)
	case versionRefused:
		return b.rand(b.min)
	default:
		b.unreachable, b.refused = b.min, b.min
		return b.rand(b.min)
	}
}

// dialOutcome classifies a failed dial: an HTTP answer other than the
// upgrade is a refusal, unless it is a proxy saying the gateway behind it
// is down; a certificate the probe does not trust, or a TLS alert from
// the gateway (which refuses the probe's client certificate so), is a
// refusal (it will not change by retrying); anything else (refused, timed
// out, reset) is an unreachable gateway.
func dialOutcome(resp *http.Response, err error) outcome {
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return unreachable
		}
		return refused
	}
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) || isTLSAlert(err) {
		return refused
	}
	return unreachable
}

// isTLSAlert reports whether err holds an alert the peer sent in the TLS
// handshake; crypto/tls reports one as a net.OpError whose Op is "remote
// error".
func isTLSAlert(err error) bool {
	for {
		var op *net.OpError
		if !errors.As(err, &op) {
			return false
		}
		if op.Op == "remote error" {
			return true
		}
		err = op.Err
	}
}

// handshakeOutcome classifies an error between the upgrade and the
// Config: a message that is not the one expected is a refusal; a close
// frame saying the gateway is going away or restarting, or no close
// frame at all (the connection dropped), is an unreachable gateway; any
// other close is a refusal, and a policy violation in answer to a version
// range is the sign of a gateway from before version ranges.
func handshakeOutcome(err error, rangeHello bool) outcome {
	if errors.Is(err, errUnexpected) {
		return refused
	}
	switch websocket.CloseStatus(err) {
	case -1, websocket.StatusGoingAway, websocket.StatusServiceRestart, websocket.StatusTryAgainLater:
		return unreachable
	case websocket.StatusPolicyViolation:
		if rangeHello {
			return versionRefused
		}
	}
	return refused
}
