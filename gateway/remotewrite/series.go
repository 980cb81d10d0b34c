package remotewrite

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
)

// Label is one label of a series.
type Label struct{ Name, Value string }

// Series is one time series of a Writer: its labels, encoded once, and
// what the Writer needs to resend its last value. Make it with
// Writer.Series and pass it only to that Writer. It is safe for concurrent
// use by Add and Forget.
type Series struct {
	// labels is the TimeSeries' repeated label field, protobuf-encoded,
	// ready to be copied into every request.
	labels string

	// The rest belongs to the sender (Run's goroutine), except gone.

	// prev and next link the series into the resend list, least recently
	// sent first.
	prev, next *Series
	// lastT and lastV are the newest sample sent; lastT is math.MinInt64
	// before the first.
	lastT int64
	lastV float64
	// sentAt is when (Options.Now, Unix ms) the sender last took a sample
	// of the series into a request.
	sentAt int64
	// gone is set by Forget: the series is never resent again.
	gone   atomic.Bool
	linked bool
	// resent is true when the newest sample sent was a resend, which a
	// late sample of the caller must not precede.
	resent bool
}

// staleNaN is Prometheus' staleness marker: a NaN that tells the store a
// series ended, so queries stop returning it before their lookback ends.
const staleNaN = 0x7ff0000000000002

func isStale(v float64) bool { return math.Float64bits(v) == staleNaN }

// Series makes the series named by labels. Labels with an empty value are
// left out, as Prometheus treats them as absent; the rest are sorted by
// name and encoded once. Names and values that are not valid UTF-8 get
// U+FFFD in place of the bad bytes, since protobuf strings must be UTF-8.
//
// The labels must include __name__ with a value and must not repeat a
// name; Series panics otherwise, as both are mistakes of the code that
// forms the labels. Names should match [a-zA-Z_][a-zA-Z0-9_]*, which the
// store may check.
//
// A Series costs 64 bytes plus its encoded labels (about the length of
// the names and values plus 6 bytes per label).
func (w *Writer) Series(labels []Label) *Series {
	ls := make([]Label, 0, len(labels))
	for _, l := range labels {
		if l.Value != "" {
			ls = append(ls, Label{strings.ToValidUTF8(l.Name, "\uFFFD"), strings.ToValidUTF8(l.Value, "\uFFFD")})
		}
	}
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	named := false
	size := 0
	for i, l := range ls {
		if l.Name == "" {
			panic(fmt.Sprintf("remotewrite: series %v has a label without a name", labels))
		}
		if i > 0 && ls[i-1].Name == l.Name {
			panic(fmt.Sprintf("remotewrite: series %v repeats label %q", labels, l.Name))
		}
		named = named || l.Name == "__name__"
		n := labelSize(l)
		size += 1 + protowire.SizeVarint(uint64(n)) + n
	}
	if !named {
		panic(fmt.Sprintf("remotewrite: series %v has no __name__ label", labels))
	}
	var b strings.Builder
	b.Grow(size)
	var head [1 + binary.MaxVarintLen64]byte // a field's tag and length
	field := func(num protowire.Number, n int) {
		b.Write(protowire.AppendVarint(protowire.AppendTag(head[:0], num, protowire.BytesType), uint64(n)))
	}
	for _, l := range ls {
		field(fieldLabels, labelSize(l))
		field(fieldLabelName, len(l.Name))
		b.WriteString(l.Name)
		field(fieldLabelValue, len(l.Value))
		b.WriteString(l.Value)
	}
	return &Series{labels: b.String(), lastT: math.MinInt64}
}

// labelSize is the size of l's Label message.
func labelSize(l Label) int {
	return 1 + protowire.SizeBytes(len(l.Name)) + 1 + protowire.SizeBytes(len(l.Value))
}

// resendList is the sender's list of series to resend, least recently
// sent first, so a sweep looks only at the series that are due.
type resendList struct{ head, tail *Series }

// touch records that s was sent at now (Unix ms), moving it to the back.
func (l *resendList) touch(s *Series, now int64) {
	s.sentAt = now
	if l.tail == s {
		return
	}
	l.remove(s)
	s.prev, s.linked = l.tail, true
	if l.tail != nil {
		l.tail.next = s
	} else {
		l.head = s
	}
	l.tail = s
}

// remove takes s out of the list if it is in it.
func (l *resendList) remove(s *Series) {
	if !s.linked {
		return
	}
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		l.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		l.tail = s.prev
	}
	s.prev, s.next, s.linked = nil, nil, false
}
