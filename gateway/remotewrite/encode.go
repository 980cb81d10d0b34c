package remotewrite

import (
	"cmp"
	"math"
	"slices"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of prometheus/prompb's WriteRequest and the messages in it.
const (
	fieldTimeseries      = 1 // WriteRequest.timeseries
	fieldLabels          = 1 // TimeSeries.labels
	fieldSamples         = 2 // TimeSeries.samples
	fieldLabelName       = 1 // Label.name
	fieldLabelValue      = 2 // Label.value
	fieldSampleValue     = 1 // Sample.value, double
	fieldSampleTimestamp = 2 // Sample.timestamp, int64
)

// group is the samples of one series in a batch: ordered[start:start+n].
type group struct {
	s        *Series
	start, n int
}

// encoder turns a batch of samples into a request body. Its buffers are
// reused from batch to batch. It is not safe for concurrent use.
type encoder struct {
	index   map[*Series]int
	groups  []group
	of      []int // the group of each sample of the batch
	ordered []Sample
	raw     []byte
	body    []byte
}

// group sorts batch into groups, one per series, each in time order,
// keeping arrival order for equal times.
func (e *encoder) group(batch []Sample) {
	if e.index == nil {
		e.index = make(map[*Series]int)
	}
	clear(e.index)
	e.groups = e.groups[:0]
	e.of = e.of[:0]
	for _, smp := range batch {
		g, ok := e.index[smp.Series]
		if !ok {
			g = len(e.groups)
			e.index[smp.Series] = g
			e.groups = append(e.groups, group{s: smp.Series})
		}
		e.groups[g].n++
		e.of = append(e.of, g)
	}
	start := 0
	for i := range e.groups {
		e.groups[i].start = start
		start += e.groups[i].n
		e.groups[i].n = 0
	}
	e.ordered = slices.Grow(e.ordered[:0], len(batch))[:len(batch)]
	for i, smp := range batch {
		g := &e.groups[e.of[i]]
		e.ordered[g.start+g.n] = smp
		g.n++
	}
	for _, g := range e.groups {
		samples := e.ordered[g.start : g.start+g.n]
		if !slices.IsSortedFunc(samples, bySampleTime) {
			slices.SortStableFunc(samples, bySampleTime)
		}
	}
}

func bySampleTime(a, b Sample) int { return cmp.Compare(a.T, b.T) }

// resend adds a group of one sample to resend s's last value at t.
func (e *encoder) resend(s *Series, t int64) {
	e.groups = append(e.groups, group{s: s, start: len(e.ordered), n: 1})
	e.ordered = append(e.ordered, Sample{Series: s, T: t, V: s.lastV})
}

// encode writes the groups as a WriteRequest, snappy block compressed,
// into e.body and returns it.
func (e *encoder) encode() []byte {
	e.raw = e.raw[:0]
	for _, g := range e.groups {
		e.raw = appendTimeSeries(e.raw, g.s.labels, e.ordered[g.start:g.start+g.n])
	}
	e.body = snappy.Encode(e.body[:cap(e.body)], e.raw)
	return e.body
}

// reset drops the references to series the encoder holds.
func (e *encoder) reset() {
	clear(e.index)
	clear(e.groups)
	clear(e.ordered)
	e.groups, e.ordered = e.groups[:0], e.ordered[:0]
}

func appendTimeSeries(b []byte, labels string, samples []Sample) []byte {
	n := len(labels)
	for _, s := range samples {
		m := sampleSize(s.T)
		n += 1 + protowire.SizeVarint(uint64(m)) + m
	}
	b = protowire.AppendTag(b, fieldTimeseries, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	b = append(b, labels...)
	for _, s := range samples {
		b = protowire.AppendTag(b, fieldSamples, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sampleSize(s.T)))
		b = protowire.AppendTag(b, fieldSampleValue, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(s.V))
		b = protowire.AppendTag(b, fieldSampleTimestamp, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s.T))
	}
	return b
}

// sampleSize is the size of a Sample message with timestamp t.
func sampleSize(t int64) int { return 1 + 8 + 1 + protowire.SizeVarint(uint64(t)) }
