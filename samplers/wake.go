package samplers

import "context"

// A Waker is a sampler that learns of news between its ticks — a watched
// process exited, a followed file grew — and would rather not wait for the
// next tick to ship it. The netprobe watches Wake and then calls
// SampleNews, rate-limited per instance so that a crash loop or a busy log
// coalesces into at most one update per spacing; the tick goes on as
// before.
type Waker interface {
	Sampler
	// Wake returns the channel on which the sampler signals news. It is
	// called once, before the first Sample; the sampler sends on it
	// without blocking (a buffer of one, dropping a send when one is
	// already pending) from whatever goroutine learns the news, and never
	// closes it.
	Wake() <-chan struct{}
	// SampleNews returns the sampler's dataviews brought up to date with
	// the news since the last Sample or SampleNews, doing only the work
	// the news needs (not a full sample). Like Sample, it is never called
	// concurrently with Sample or itself, and stops when ctx is done.
	SampleNews(ctx context.Context) ([]Dataview, error)
}

// Signal sends on a Waker's channel without blocking: a signal already
// pending covers this one.
func Signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
