// Package chunk encodes a series of points, each a time and a value, as
// Gorilla does (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory
// Time Series Database", VLDB 2015): a time as the change in its delta
// from the one before, a value as its XOR with the one before, so that
// regular times and repeated or slowly changing values cost a few bits.
// A value that is a short decimal, as nearly all the samplers' are (two
// decimals, or an integer), is encoded instead as the change in its
// digits: 12.34 to 12.51 is 17, where the XOR of the two floats is some
// 40 bits.
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
// A value v is a decimal at the scale k, 0 <= k <= 7, when there is an
// integer n, |n| < 2^51, for which float64(n) / 10^k, an IEEE 754
// division (correctly rounded), is v bit for bit; n is v's scaled
// integer. It is then the only such integer, and it is v·10^k, the
// product rounded to a float64, rounded to the nearest integer. Every
// value a sampler formats with k decimals and parses back is one, as is
// every integer of less than 2^51; -0, NaN, the infinities and most
// other floats are not.
//
// The decoder keeps the scale k, 0 at first, and the last value's
// scaled integer at k when it has one; before point 0 the last value is
// 0, whose scaled integer is 0. It keeps too, for XOR, a window of L
// leading and M meaningful bits, which starts as L = 0, M = 64; let X =
// bits(vi) XOR bits(v(i-1)), where bits are the IEEE 754 binary64 bits
// (math.Float64bits) and bits(v(-1)) = 0. Point i's value field is one
// of:
//
//	0                  the value repeats
//	10, D              a decimal: n = n(i-1) + D, vi = float64(n) / 10^k;
//	                   a v(i-1) that is not a decimal at k makes the
//	                   stream corrupt
//	110, M bits        X's meaningful bits in the window: X is them
//	                   shifted left by 64-L-M
//	1110, 5 bits L',   a new window: L = L', M = M' (0 meaning 64), then
//	6 bits M', M bits  X's M meaningful bits as for 110; L'+M' > 64 makes
//	                   the stream corrupt
//	1111, 3 bits k',   a decimal at a new scale: k = k', n = D,
//	D                  vi = float64(n) / 10^k
//
// where D, a delta or a scaled integer, is a prefix and, after it, an
// n-bit two's complement number, sign-extended to 64 bits when read, as
// a time field's is:
//
//	prefix  n   D
//	0       4   -8 to 7
//	10      11  -1024 to 1023
//	110     17  -65536 to 65535
//	1110    24  -8388608 to 8388607
//	1111    64  any
//
// The sum n(i-1) + D is modulo 2^64; an n, as int64, not between
// -2^51 and 2^51 makes the stream corrupt. After a decimal field the
// scaled integer is n; after an XOR field the decoder works it out from
// the value, when a delta needs it.
//
// The buckets fit the samplers' decimals: load averages and used
// percentages that move by a few hundredths take the first, CPU
// percentages of a tick (multiples of about 2 %, to two decimals) the
// second, memory moving by a few pages of 4096 bytes the third, and by
// a few megabytes the fourth.
//
// The encoder writes a repeat as 0. Otherwise it takes the decimal field,
// if the value is a decimal, and the XOR field, and writes the shorter,
// the decimal one when they tie. The decimal field is a delta (10) if
// the value and the one before are decimals at k; a new scale (1111) at
// k if only the value is; and otherwise a new scale at the smallest k'
// at which the value is a decimal, if there is one. For an X that is not
// 0 it takes L' as X's leading zero bits, at most 31, and M' as what is
// left of the 64 after them and X's trailing zero bits. The XOR field is
// 110 when X's set bits fall in the window and the window is at most 12
// bits (the cost of the new window's L' and M' and its longer prefix)
// longer than M', and 1110 otherwise. Gorilla reuses any window X fits;
// this rule stops a wide window, such as the starting one, from
// outliving the values it was made for.
//
// # Example
//
// The points (1000, 1), (1250, 1), (1500, 1.5), (1751, 12.34), (2001,
// 12.37) encode as the 18 bytes 00 00 00 05 d0 0f 83 81 f4 73 01 c0 fa
// c0 4d 2b f8 60:
//
//	00 00 00 05   N = 5
//	d0 0f         t0 = 1000 (zigzag 2000)
//	10 0 0001                          point 0 value: a delta of 1 from 0
//	110 0000011111010  0               point 1: D = 250; value repeats
//	0  1110 01100 000001 1             point 2: D = 0; 1.5 is no decimal
//	                                   at k = 0 and its 16 bits of XOR,
//	                                   X = 0x0008000000000000, L' = 12,
//	                                   M' = 1, beat the 20 of k = 1, n = 15
//	10 000001  1111 010 110 00000010011010010
//	                                   point 3: D = 1; k = 2, n = 1234
//	10 111111  10 0 0011  00000        point 4: D = -1; a delta of 3;
//	                                   padding
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
