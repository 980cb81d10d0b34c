// Package protocol holds the messages a netprobe and the gateway exchange
// over a WebSocket, and their compact binary encoding. docs/protocol.md
// describes the wire format; this package is its reference implementation.
//
// Every WebSocket binary message holds exactly one protocol message: a kind
// byte, then the kind's fields. Integers are varints, strings are
// length-prefixed UTF-8, and cell values carry a type tag. Decoding checks
// every length against what remains, so a hostile frame cannot make the
// decoder allocate more than the frame's own size allows.
package protocol
