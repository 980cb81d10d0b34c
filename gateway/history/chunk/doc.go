// Package chunk encodes a series of points, each a time and a value, as
// Gorilla does (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory
// Time Series Database", VLDB 2015): a time as the change in its delta
// from the one before, a value as its XOR with the one before, so that
// regular times and repeated or slowly changing values cost a few bits.
//
// A Chunk appends points and holds them encoded; its Bytes are the
// encoding, which an Iter reads back. Times are int64 (Unix milliseconds
// in the gateway) and strictly increasing; values are float64, kept bit
// for bit: NaN payloads such as Prometheus' stale marker, infinities and
// negative zero come back as they went in.
//
// # Layout
//
// An encoded chunk of N points is:
//
//	bytes 0-3  N, a big-endian uint32; if N is 0 nothing more is read
//	bytes 4-   the first time t0 as a signed varint (encoding/binary's
//	           Varint: zigzag-mapped, 7 bits a byte, the low group first,
//	           the high bit set on every byte but the last)
//	then       a bit stream, each byte's most significant bit first: point
//	           0's value field, then each later point's time field and
//	           value field; the last byte is padded with zero bits
//
// An empty input is an empty chunk too (Bytes of an empty Chunk is nil).
// Bytes after the last point's bits are not read.
//
// # Time fields
//
// For i >= 1 let Δi = ti - t(i-1), and Δ0 = 0, and let Di = Δi - Δ(i-1),
// both computed modulo 2^64 (uint64 arithmetic, wrapping), so that every
// int64 time and gap can be encoded without overflow. Point i's time
// field holds Di, as a prefix and, after it, Di as an n-bit two's
// complement number, sign-extended to 64 bits when read:
//
//	prefix  n   Di
//	0       0   0
//	10      6   -32 to 31
//	110     13  -4096 to 4095
//	1110    20  -524288 to 524287
//	1111    64  any
//
// The encoder uses the shortest that fits; a decoder accepts any. It
// computes Δi = Δ(i-1) + Di and ti = t(i-1) + Δi modulo 2^64; a ti not
// greater than t(i-1), as int64, makes the stream corrupt.
//
// The buckets fit the gateway's times: samples at a sub-second tick with
// a few milliseconds of jitter, recorded only when a value changes. A
// value that changes every tick takes 1 or 8 bits of time (the first two
// buckets, up to 32 ms of jitter); one that skips ticks, 16 bits while
// its gaps change by up to 4 s; and the fourth bucket covers gaps that
// change by up to 8.7 minutes, more than a chunk of the gateway's
// history spans. The first delta (D1 = Δ1) is encoded as any other.
//
// # Value fields
//
// Let X = bits(vi) XOR bits(v(i-1)), where bits are the IEEE 754 binary64
// bits (math.Float64bits) and bits(v(-1)) = 0, so point 0 is encoded as
// any other. The decoder keeps a window of L leading and M meaningful
// bits, which starts as L = 0, M = 64. Point i's value field is one of:
//
//	0                  X = 0: the value repeats
//	10, M bits         X's meaningful bits in the window: X is them
//	                   shifted left by 64-L-M
//	11, 5 bits L',     a new window: L = L', M = M' (0 meaning 64), then
//	6 bits M', M bits  X's M meaningful bits as for 10; L'+M' > 64 makes
//	                   the stream corrupt
//
// For an X that is not 0 the encoder takes L' as X's leading zero bits,
// at most 31, and M' as what is left of the 64 after them and X's
// trailing zero bits. It writes 10 when X's set bits fall in the window
// and the window is at most 11 bits (the cost of the new window's L' and
// M') longer than M', and 11 otherwise. Gorilla reuses any window X fits;
// this rule stops a wide window, such as the starting one, from
// outliving the values it was made for.
//
// # Example
//
// The points (1000, 1), (1250, 1), (1500, 1.5), (1751, 1.5) encode as the
// 14 bytes 00 00 00 04 d0 0f c4 57 ff 81 f4 6c 07 02:
//
//	00 00 00 04   N = 4
//	d0 0f         t0 = 1000 (zigzag 2000)
//	11 00010 001010 1111111111        point 0 value: X = 0x3ff0000000000000,
//	                                  L' = 2, M' = 10
//	110 0000011111010  0              point 1: D = 250; value repeats
//	0  11 01100 000001 1              point 2: D = 0; X = 0x0008000000000000
//	                                  does not fit the window: L' = 12, M' = 1
//	10 000001  0                      point 3: D = 1; value repeats
//
// # Memory
//
// A Chunk is 56 bytes and an array of its encoded bytes. The first
// Append allocates 32 bytes, room for the header, any first time and any
// first value. A later one grows the array when the point's bits, and
// the 7 bytes past them that the writer's 64-bit stores reach, do not
// fit: to at least a quarter more, rounded up to the Go allocator's size
// class. A chunk then leaves at most about a fifth of its array unused,
// a tenth on average, and copies each byte about four times as it grows.
// Size reports the array's capacity, Bytes the part in use.
package chunk
