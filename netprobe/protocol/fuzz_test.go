package protocol

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/samplers"
)

// fuzzRoundTrip is the property every decoder must have: whatever decodes
// re-encodes into a message that decodes to the same value, and encoding
// that value again gives the same bytes (the encoding is canonical even
// when the input was not, e.g. a decimal sent as text).
func fuzzRoundTrip[M any, P interface {
	*M
	message
}](t *testing.T, data []byte) {
	var first M
	if err := P(&first).Decode(data); err != nil {
		return
	}
	enc := P(&first).Append(nil)
	var second M
	if err := P(&second).Decode(enc); err != nil {
		t.Fatalf("re-encoding of a decoded message does not decode: %v\ninput   % x\nencoded % x", err, data, enc)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("round trip changed the message:\nfirst  %+v\nsecond %+v", first, second)
	}
	if again := P(&second).Append(nil); !bytes.Equal(enc, again) {
		t.Fatalf("encoding is not stable:\n% x\n% x", enc, again)
	}
}

// FuzzBatchDecode feeds the batch decoder arbitrary bytes, as a hostile or
// broken probe could.
func FuzzBatchDecode(f *testing.F) {
	f.Add(sampleBatch().Append(nil))
	f.Add((&Batch{}).Append(nil))
	f.Add((&Batch{Seq: 1, Flags: SnapshotStart | SnapshotEnd, Declares: []Declare{{ID: 1}, {ID: 2}}}).Append(nil))
	eb, _ := exampleParts()
	f.Add(eb.Append(nil))
	for _, b := range SplitSnapshot([]Declare{makeDecl(1, 3, 1, 20, 5), makeDecl(2, 1, 0, 2, 1)}, 200) {
		f.Add(b.Append(nil))
	}
	tick := benchTick()
	tick.Updates = tick.Updates[:3]
	f.Add(tick.Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip[Batch](t, data)
		// Every cell must hold samplers.Text's reading of its raw text,
		// whichever way it travelled.
		var b Batch
		if b.Decode(data) != nil {
			return
		}
		check := func(c samplers.Cell) {
			if want := samplers.Text(c.Raw); c != want {
				t.Fatalf("cell decodes as %+v, samplers.Text gives %+v", c, want)
			}
		}
		for _, d := range b.Declares {
			for _, c := range d.HeadValues {
				check(c)
			}
			for _, r := range d.Rows {
				for _, c := range r.Cells {
					check(c)
				}
			}
		}
		for _, u := range b.Updates {
			for _, r := range u.AddRows {
				for _, c := range r.Cells {
					check(c)
				}
			}
			for _, c := range u.Cells {
				check(c.Value)
			}
			for _, h := range u.Headlines {
				check(h.Value)
			}
		}
	})
}

// FuzzConfigDecode feeds the config decoder arbitrary bytes, as a broken
// gateway could.
func FuzzConfigDecode(f *testing.F) {
	f.Add((&Config{Samplers: []SamplerConfig{
		{ID: 1, Entity: "OMS-primary", Name: "cpu", Type: "cpu", Interval: time.Second},
		{ID: 2, Entity: "OMS-primary", Name: "disk", Type: "disk", Interval: 24 * time.Hour, Params: []byte(`{"mounts":["/"]}`)},
	}}).Append(nil))
	f.Add((&Config{}).Append(nil))
	f.Add(cat([]byte{byte(KindConfig)}, uv(1), uv(1), uv(0), uv(0), uv(0), uv(86_400_001), uv(0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip[Config](t, data)
	})
}

// FuzzHelloDecode fuzzes the handshake's messages, and SnapshotRequest,
// whose decoders share the string and integer readers.
func FuzzHelloDecode(f *testing.F) {
	f.Add((&Hello{MinVersion: 1, MaxVersion: 1, Name: "ldn-oms-01", MaxMessage: DefaultMaxMessage, Software: "netprobe dev"}).Append(nil))
	f.Add((&Hello{MinVersion: MinVersion, MaxVersion: MaxVersion, Name: "ldn-oms-01", MaxMessage: DefaultMaxMessage}).Append(nil))
	f.Add((&Hello{}).Append(nil))
	f.Add((&Welcome{Version: 1, MaxMessage: DefaultMaxMessage}).Append(nil))
	f.Add((&Welcome{Version: 2, MaxMessage: DefaultMaxMessage, MinVersion: 1, MaxVersion: 2, Limits: Limits{MaxCells: 1e6}}).Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip[Hello](t, data)
		fuzzRoundTrip[Welcome](t, data)
		fuzzRoundTrip[SnapshotRequest](t, data)
	})
}

// FuzzValue checks that any text survives the value encoding with
// samplers.Text's meaning, and takes the decimal form only when it is
// canonical.
func FuzzValue(f *testing.F) {
	for _, s := range []string{"12.30", "-0.05", "0", "-0", "007", "1e5", "", "abc", "123456789012345678", "1234567890123456789", "温度"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := samplers.Text(s)
		enc := appendValue(nil, in)
		out, err := decodeValue(enc)
		if err != nil {
			t.Fatalf("value %q encodes as % x, which does not decode: %v", s, enc, err)
		}
		if out != in {
			t.Fatalf("value %q round-trips as %+v, want %+v", s, out, in)
		}
		if enc[0] == tagDecimal {
			m, prec, _ := parseDecimal(s)
			if formatDecimal(m, prec).Raw != s {
				t.Fatalf("%q took the decimal form but formats back differently", s)
			}
		}
	})
}
