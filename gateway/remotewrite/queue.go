package remotewrite

// chunkLen is the number of samples in one chunk of the queue: 24 KiB.
const chunkLen = 1024

type chunk struct {
	s    [chunkLen]Sample
	next *chunk
}

// queue is a FIFO of samples in a list of chunks, so its memory follows
// what it holds: after an outage the chunks it needed are freed, except a
// few kept for reuse. It is not safe for concurrent use.
type queue struct {
	head, tail *chunk
	r, w       int // the next sample to read in head, to write in tail
	n          int
	free       []*chunk
	keep       int // chunks kept in free at most
}

func newQueue(batchSize int) queue {
	// Enough spare chunks that the sender taking batches while Add refills
	// them allocates nothing: a few batches' worth.
	return queue{keep: 4*batchSize/chunkLen + 2}
}

// push appends s.
func (q *queue) push(s []Sample) {
	for len(s) > 0 {
		if q.tail == nil || q.w == chunkLen {
			c := q.alloc()
			if q.tail == nil {
				q.head, q.r = c, 0
			} else {
				q.tail.next = c
			}
			q.tail, q.w = c, 0
		}
		k := copy(q.tail.s[q.w:], s)
		q.w += k
		q.n += k
		s = s[k:]
	}
}

// pop appends up to max samples from the front to dst and returns it.
func (q *queue) pop(dst []Sample, max int) []Sample {
	for max > 0 && q.n > 0 {
		end := chunkLen
		if q.head == q.tail {
			end = q.w
		}
		k := min(end-q.r, max)
		dst = append(dst, q.head.s[q.r:q.r+k]...)
		// Drop the references, so a forgotten series is not kept alive.
		clear(q.head.s[q.r : q.r+k])
		q.r += k
		q.n -= k
		max -= k
		switch {
		case q.r < end:
		case q.head == q.tail:
			q.r, q.w = 0, 0
		default:
			c := q.head
			q.head, q.r = c.next, 0
			c.next = nil
			if len(q.free) < q.keep {
				q.free = append(q.free, c)
			}
		}
	}
	return dst
}

func (q *queue) alloc() *chunk {
	if n := len(q.free); n > 0 {
		c := q.free[n-1]
		q.free = q.free[:n-1]
		return c
	}
	return new(chunk)
}
