package protocol

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// message is what every protocol message implements.
type message interface {
	Append([]byte) []byte
	Decode([]byte) error
}

// roundTrip encodes m after a prefix (Append must leave it alone), decodes
// the message into into, and returns the encoding.
func roundTrip(t *testing.T, m, into message) []byte {
	t.Helper()
	prefix := []byte("prefix")
	enc := m.Append(append([]byte(nil), prefix...))
	if !strings.HasPrefix(string(enc), string(prefix)) {
		t.Fatalf("Append changed the bytes before it: % x", enc[:len(prefix)])
	}
	enc = enc[len(prefix):]
	if err := into.Decode(enc); err != nil {
		t.Fatalf("Decode(% x): %v", enc, err)
	}
	if !reflect.DeepEqual(m, into) {
		t.Fatalf("round trip changed the message:\n have %+v\n want %+v", into, m)
	}
	return enc
}

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		msg      message
		into     func() message
		wantKind Kind
	}{
		{"hello", &Hello{MinVersion: MinVersion, MaxVersion: MaxVersion, Name: "ldn-oms-01", MaxMessage: DefaultMaxMessage, Software: "netprobe v0.1.0 (linux/amd64)"},
			func() message { return new(Hello) }, KindHello},
		{"hello one version", &Hello{MinVersion: 1, MaxVersion: 1, Name: "ldn-oms-01", MaxMessage: DefaultMaxMessage},
			func() message { return new(Hello) }, KindHello},
		{"hello empty", &Hello{},
			func() message { return new(Hello) }, KindHello},
		{"hello extremes", &Hello{MinVersion: 1<<32 - 2, MaxVersion: 1<<32 - 1, Name: "名前/with\x00nul", MaxMessage: 1<<32 - 1, Software: strings.Repeat("x", 300)},
			func() message { return new(Hello) }, KindHello},
		{"welcome v1", &Welcome{Version: 1, MaxMessage: 1 << 20},
			func() message { return new(Welcome) }, KindWelcome},
		{"welcome v2", &Welcome{Version: 2, MaxMessage: 1 << 20, MinVersion: 1, MaxVersion: 2,
			Limits: Limits{MaxDataviews: 10_000, MaxColumns: 512, MaxHeadlines: 256, MaxRows: 100_000, MaxCells: 1 << 40}},
			func() message { return new(Welcome) }, KindWelcome},
		{"welcome zero", &Welcome{},
			func() message { return new(Welcome) }, KindWelcome},
		{"config", &Config{Samplers: []SamplerConfig{
			{ID: 1, Entity: "OMS-primary", Name: "cpu", Type: "cpu", Interval: 100 * time.Millisecond},
			{ID: 70000, Entity: "OMS-primary", Name: "disk /data", Type: "disk", Interval: 24 * time.Hour,
				Params: []byte(`{"mounts":["/data","/var/log"]}`)},
			{ID: 3, Entity: "", Name: "", Type: "", Interval: 0},
		}}, func() message { return new(Config) }, KindConfig},
		{"config empty", &Config{Samplers: []SamplerConfig{}},
			func() message { return new(Config) }, KindConfig},
		{"snapshot request", &SnapshotRequest{Reason: "gap: expected batch 7, got 9"},
			func() message { return new(SnapshotRequest) }, KindSnapshotRequest},
		{"snapshot request empty", &SnapshotRequest{},
			func() message { return new(SnapshotRequest) }, KindSnapshotRequest},
		{"batch", sampleBatch(), func() message { return new(Batch) }, KindBatch},
		{"batch empty", &Batch{}, func() message { return new(Batch) }, KindBatch},
		{"batch minimal declares", &Batch{Seq: 1, Flags: SnapshotStart | SnapshotEnd,
			Declares: []Declare{{ID: 1}, {ID: 2}, {ID: 3}}},
			func() message { return new(Batch) }, KindBatch},
		{"batch minimal updates", &Batch{Seq: 2, Updates: []Update{{ID: 1}, {ID: 2}, {ID: 3}}},
			func() message { return new(Batch) }, KindBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := roundTrip(t, tt.msg, tt.into())
			k, err := KindOf(enc)
			if err != nil || k != tt.wantKind {
				t.Errorf("KindOf = %v, %v; want %v", k, err, tt.wantKind)
			}
		})
	}
}

// A version-1 netprobe's Hello, byte for byte as it was sent before
// version ranges existed, reads as a probe that speaks version 1 only.
func TestHelloVersion1(t *testing.T) {
	v1 := []byte{byte(KindHello), 1, 2, 'p', '1', 0x80, 0x80, 0x80, 0x02, 2, 'v', '1'}
	var h Hello
	if err := h.Decode(v1); err != nil {
		t.Fatal(err)
	}
	want := Hello{MinVersion: 1, MaxVersion: 1, Name: "p1", MaxMessage: 4 << 20, Software: "v1"}
	if h != want {
		t.Fatalf("decoded %+v, want %+v", h, want)
	}
	if got := want.Append(nil); string(got) != string(v1) {
		t.Fatalf("a one-version Hello encodes as % x, want the version-1 bytes % x", got, v1)
	}
	bad := append(append([]byte(nil), v1...), 1) // a "range" of 1 to 1
	if err := new(Hello).Decode(bad); err == nil || !strings.Contains(err.Error(), "not above min version") {
		t.Fatalf("Hello with max version 1 after min 1: err = %v", err)
	}
}

// A version-1 Welcome has no fields after MaxMessage, so a version-1
// netprobe reads what a newer gateway sends it.
func TestWelcomeVersion1HasNoRange(t *testing.T) {
	w := Welcome{Version: 1, MaxMessage: 1 << 20, MinVersion: 1, MaxVersion: 2, Limits: Limits{MaxRows: 9}}
	enc := w.Append(nil)
	if want := []byte{byte(KindWelcome), 1, 0x80, 0x80, 0x40}; string(enc) != string(want) {
		t.Fatalf("version-1 Welcome = % x, want % x", enc, want)
	}
	bad := Welcome{Version: 3, MinVersion: 1, MaxVersion: 2}
	if err := new(Welcome).Decode(bad.Append(nil)); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("Welcome agreeing on a version outside its own range: err = %v", err)
	}
}

func TestAgree(t *testing.T) {
	tests := []struct {
		name                   string
		aMin, aMax, bMin, bMax uint32
		want                   uint32
		err                    string
	}{
		{"same", 1, 2, 1, 2, 2, ""},
		{"older probe", 1, 1, 1, 2, 1, ""},
		{"older gateway", 1, 2, 1, 1, 1, ""},
		{"overlap in the middle", 1, 3, 2, 5, 3, ""},
		{"disjoint", 2, 2, 1, 1, 0, "no protocol version in common: version 2 against version 1"},
		{"disjoint ranges", 3, 4, 1, 2, 0, "versions 3 to 4 against versions 1 to 2"},
		{"zero", 0, 0, 0, 0, 0, "no protocol version in common"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Agree(tt.aMin, tt.aMax, tt.bMin, tt.bMax)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Agree = %d, %v; want an error containing %q", v, err, tt.err)
				}
				return
			}
			if err != nil || v != tt.want {
				t.Fatalf("Agree = %d, %v; want %d", v, err, tt.want)
			}
		})
	}
}

func TestCost(t *testing.T) {
	for _, c := range []struct {
		text string
		want uint64
	}{{"", 1}, {"12.30", 1}, {strings.Repeat("x", CostUnit-1), 1}, {strings.Repeat("x", CostUnit), 2}, {strings.Repeat("x", 10*CostUnit+5), 11}} {
		if got := Cost(c.text); got != c.want {
			t.Errorf("Cost(%d bytes) = %d, want %d", len(c.text), got, c.want)
		}
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		name    string
		msg     []byte
		want    Kind
		wantErr bool
		str     string
	}{
		{"hello", []byte{1, 0}, KindHello, false, "hello"},
		{"welcome", []byte{2}, KindWelcome, false, "welcome"},
		{"config", []byte{3, 0}, KindConfig, false, "config"},
		{"batch", []byte{4}, KindBatch, false, "batch"},
		{"snapshot request", []byte{5, 0}, KindSnapshotRequest, false, "snapshot-request"},
		{"unknown", []byte{200, 1, 2}, Kind(200), false, "kind(200)"},
		{"zero", []byte{0}, Kind(0), false, "kind(0)"},
		{"empty", nil, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := KindOf(tt.msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("KindOf(% x) error = %v, want error %v", tt.msg, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if k != tt.want {
				t.Errorf("KindOf(% x) = %d, want %d", tt.msg, k, tt.want)
			}
			if s := k.String(); s != tt.str {
				t.Errorf("Kind(%d).String() = %q, want %q", k, s, tt.str)
			}
		})
	}
}

func TestConfigInterval(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		want     time.Duration
		wantErr  string
	}{
		{"100ms floor", 100 * time.Millisecond, 100 * time.Millisecond, ""},
		{"sub-millisecond truncates", 1500 * time.Microsecond, time.Millisecond, ""},
		{"a day exactly", 24 * time.Hour, 24 * time.Hour, ""},
		{"a day and a millisecond", 24*time.Hour + time.Millisecond, 0, "over a day"},
		{"a year", 365 * 24 * time.Hour, 0, "over a day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Config{Samplers: []SamplerConfig{{ID: 1, Entity: "e", Name: "n", Type: "cpu", Interval: tt.interval}}}
			var out Config
			err := out.Decode(in.Append(nil))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Samplers[0].Interval; got != tt.want {
				t.Errorf("interval = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConfigParamsCopied checks that decoded params do not alias the
// message buffer, which the WebSocket reader may reuse.
func TestConfigParamsCopied(t *testing.T) {
	in := Config{Samplers: []SamplerConfig{{ID: 1, Type: "cpu", Params: []byte(`{"a":1}`)}}}
	msg := in.Append(nil)
	var out Config
	if err := out.Decode(msg); err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		msg[i] = 'X'
	}
	if got := string(out.Samplers[0].Params); got != `{"a":1}` {
		t.Errorf("params = %q after overwriting the message; they alias it", got)
	}
}
