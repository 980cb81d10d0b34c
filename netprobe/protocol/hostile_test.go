package protocol

import (
	"encoding/binary"
	"runtime"
	"testing"
)

// A hostile batch cannot make the decoder allocate much more than its own
// size: every count is checked against the smallest its elements can be,
// and decoding stops at the first error.
func TestHostileCountsStayBounded(t *testing.T) {
	const size = 1 << 20
	// craft builds a batch declaring one row whose cell count claims
	// claim(room) cells, where room is how many values could fit, followed
	// by as many empty-string values as fit.
	craft := func(claim func(room int) int) []byte {
		b := []byte{byte(KindBatch)}
		b = binary.AppendUvarint(b, 1) // seq
		b = append(b, 0, 0, 1)         // flags, no removes, one declare
		b = append(b, 1, 1, 0, 0, 0, 0)
		b = append(b, 1, 0, 0) // one row: index 0, empty name
		room := (size - len(b) - 8) / minValue
		b = binary.AppendUvarint(b, uint64(claim(room)))
		for range room {
			b = append(b, tagString, 0)
		}
		return append(b, 0) // no updates
	}
	for _, tc := range []struct {
		name  string
		claim func(int) int
		valid bool
	}{
		{"every value present", func(room int) int { return room }, true},
		{"one value more than the bytes hold", func(room int) int { return room + 1 }, false},
		{"a count of every remaining byte", func(room int) int { return 2 * room }, false},
	} {
		msg := craft(tc.claim)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var b Batch
		err := b.Decode(msg)
		runtime.ReadMemStats(&after)
		if (err == nil) != tc.valid {
			t.Fatalf("%s: decode error %v", tc.name, err)
		}
		// A value is two bytes on the wire and a 32-byte Cell decoded.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 20*uint64(len(msg)) {
			t.Fatalf("%s: decoding %d bytes allocated %d bytes", tc.name, len(msg), alloc)
		}
	}
}
