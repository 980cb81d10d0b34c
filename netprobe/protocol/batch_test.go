package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/watchfloor/watchfloor/samplers"
)

// sampleBatch exercises every part of a batch: removes, declarations with
// headlines and rows, and updates that remove and add rows and change cells
// and headlines, with decimal and text values.
func sampleBatch() *Batch {
	return &Batch{
		Seq:     1 << 40,
		Flags:   SnapshotStart,
		Removes: []uint32{7, 1<<32 - 1},
		Declares: []Declare{
			{
				ID: 1, SamplerID: 10, Name: "cpu", SampleTime: 1_700_000_000_123_456_789,
				Columns:    []string{"cpu", "user %", "system %"},
				Headlines:  []string{"load1", "state"},
				HeadValues: []samplers.Cell{samplers.Text("0.75"), samplers.Text("running")},
				Rows: []RowDecl{
					{Index: 0, Name: "cpu0", Cells: []samplers.Cell{samplers.Text("cpu0"), samplers.Text("12.30"), samplers.Text("-0")}},
					{Index: 5, Name: "/var/log/app.log", Cells: []samplers.Cell{samplers.Text(""), samplers.Text("1e5"), samplers.Text("温度")}},
				},
			},
			{ID: 2, SamplerID: 10, Name: "empty", SampleTime: -1},
		},
		Updates: []Update{
			{
				ID: 1, SampleTime: 1_700_000_001_000_000_000,
				RemoveRows: []uint32{5},
				AddRows:    []RowDecl{{Index: 5, Name: "cpu1", Cells: []samplers.Cell{samplers.Text("cpu1"), samplers.Text("0.05"), samplers.Text("007")}}},
				Cells: []CellChange{
					{Row: 0, Col: 1, Value: samplers.Text("99.99")},
					{Row: 0, Col: 2, Value: samplers.Text("n/a")},
				},
				Headlines: []HeadlineChange{{Index: 0, Value: samplers.Text("1.25")}, {Index: 1, Value: samplers.Text("stopped")}},
			},
			{ID: 9, SampleTime: 0}, // alive, nothing changed
		},
	}
}

// TestBatchDecodeReuse decodes different batches into one value, as the
// probe and the gateway may: nothing of the previous batch may survive.
func TestBatchDecodeReuse(t *testing.T) {
	var b Batch
	full := sampleBatch()
	for i, want := range []*Batch{full, {Seq: 3}, full, {Seq: 4, Removes: []uint32{1}}} {
		if err := b.Decode(want.Append(nil)); err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		if b.Seq != want.Seq || b.Flags != want.Flags || len(b.Removes) != len(want.Removes) ||
			len(b.Declares) != len(want.Declares) || len(b.Updates) != len(want.Updates) {
			t.Fatalf("decode %d into a used batch: have %+v, want %+v", i, b, want)
		}
		if len(want.Declares) > 0 && !reflect.DeepEqual(b.Declares, want.Declares) {
			t.Errorf("decode %d: declares differ", i)
		}
	}
}

func TestBatchReset(t *testing.T) {
	b := sampleBatch()
	b.Reset()
	if b.Seq != 0 || b.Flags != 0 || len(b.Removes)+len(b.Declares)+len(b.Updates) != 0 {
		t.Fatalf("Reset left %+v", b)
	}
	if cap(b.Removes) == 0 || cap(b.Declares) == 0 || cap(b.Updates) == 0 {
		t.Errorf("Reset dropped the slices' capacity")
	}
	if got := b.Append(nil); !bytes.Equal(got, (&Batch{}).Append(nil)) {
		t.Errorf("reset batch encodes as % x", got)
	}
}

// uv encodes an unsigned varint with the standard library, so messages
// built by hand do not depend on the encoder under test.
func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// cat joins the fields of a message built by hand.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeErrors(t *testing.T) {
	valid := sampleBatch().Append(nil)
	hello := (&Hello{MinVersion: 1, MaxVersion: 1, Name: "p"}).Append(nil)
	b := []byte{byte(KindBatch)}
	// A batch with one update, so counts deeper in the message can be
	// made to lie.
	upd := func(rest ...[]byte) []byte {
		return cat(b, uv(1), []byte{0}, uv(0), uv(0), uv(1), uv(3), uv(0), cat(rest...))
	}
	tests := []struct {
		name    string
		msg     []byte
		into    message
		wantErr string
	}{
		{"empty batch", nil, new(Batch), "empty message"},
		{"empty hello", []byte{}, new(Hello), "empty message"},
		{"empty config", nil, new(Config), "empty message"},
		{"empty welcome", nil, new(Welcome), "empty message"},
		{"empty snapshot request", nil, new(SnapshotRequest), "empty message"},
		{"hello as batch", hello, new(Batch), "want batch message, have hello"},
		{"batch as hello", valid, new(Hello), "want hello message, have batch"},
		{"batch as config", valid, new(Config), "want config message, have batch"},
		{"unknown kind as batch", []byte{99, 0}, new(Batch), "have kind(99)"},
		{"kind byte only", b, new(Batch), "truncated"},
		{"trailing byte", append(append([]byte(nil), valid...), 0), new(Batch), "1 bytes of trailing data"},
		{"trailing hello", append(append([]byte(nil), hello...), 2, 2), new(Hello), "1 bytes of trailing data"},
		{"trailing welcome", []byte{byte(KindWelcome), 1, 0, 0}, new(Welcome), "trailing"},
		{"seq varint overflow", cat(b, bytes.Repeat([]byte{0xff}, 9), []byte{0x7f}, []byte{0, 0, 0, 0}), new(Batch), "overflows 64 bits"},
		{"seq varint eleven bytes", cat(b, bytes.Repeat([]byte{0x80}, 10), []byte{0x01}, []byte{0, 0, 0, 0}), new(Batch), "overflows 64 bits"},
		{"seq varint unterminated", cat(b, []byte{0x80, 0x80}), new(Batch), "truncated"},
		{"hello version over 32 bits", cat([]byte{byte(KindHello)}, uv(1<<32), uv(0), uv(0), uv(0)), new(Hello), "exceeds 32 bits"},
		{"remove over 32 bits", cat(b, uv(1), []byte{0}, uv(1), uv(1<<32), uv(0), uv(0)), new(Batch), "exceeds 32 bits"},
		{"huge removes count", cat(b, uv(1), []byte{0}, uv(1<<40)), new(Batch), "exceeds what the message can hold"},
		{"huge declares count", cat(b, uv(1), []byte{0}, uv(0), uv(1<<40)), new(Batch), "exceeds what the message can hold"},
		{"huge updates count", cat(b, uv(1), []byte{0}, uv(0), uv(0), uv(1<<40)), new(Batch), "exceeds what the message can hold"},
		{"huge string length", cat([]byte{byte(KindHello)}, uv(1), uv(1<<40), []byte("abc")), new(Hello), "exceeds what the message can hold"},
		{"max uvarint count", cat(b, uv(1), []byte{0}, uv(1<<64-1)), new(Batch), "exceeds what the message can hold"},
		{"huge config count", cat([]byte{byte(KindConfig)}, uv(1<<40), []byte{0, 0, 0, 0, 0, 0}), new(Config), "exceeds what the message can hold"},
		{"huge params length", cat([]byte{byte(KindConfig)}, uv(1), uv(1), uv(0), uv(0), uv(0), uv(100), uv(1<<40), []byte("{}")), new(Config), "exceeds what the message can hold"},
		{"huge remove rows count", upd(uv(1 << 40)), new(Batch), "exceeds what the message can hold"},
		{"huge add rows count", upd(uv(0), uv(1<<40)), new(Batch), "exceeds what the message can hold"},
		{"huge cells count", upd(uv(0), uv(0), uv(1<<40)), new(Batch), "exceeds what the message can hold"},
		{"huge headlines count", upd(uv(0), uv(0), uv(0), uv(1<<40)), new(Batch), "exceeds what the message can hold"},
		{"huge row cells count", upd(uv(0), uv(1), uv(0), uv(1), []byte("r"), uv(1<<40), uv(0), uv(0)), new(Batch), "exceeds what the message can hold"},
		{"huge columns count", cat(b, uv(1), []byte{0}, uv(0), uv(1), uv(1), uv(1), uv(1), []byte("d"), uv(0), uv(1<<40), uv(0), uv(0), uv(0)), new(Batch), "exceeds what the message can hold"},
		{"unknown value tag", upd(uv(0), uv(0), uv(1), uv(0), uv(0), []byte{2, 0}, uv(0)), new(Batch), "unknown value tag 2"},
		{"value tag 255", upd(uv(0), uv(0), uv(1), uv(0), uv(0), []byte{255, 0}, uv(0)), new(Batch), "unknown value tag 255"},
		{"decimal precision 19", upd(uv(0), uv(0), uv(1), uv(0), uv(0), []byte{tagDecimal, 19}, uv(5), uv(0)), new(Batch), "decimal precision 19 exceeds 18"},
		{"decimal precision 255", upd(uv(0), uv(0), uv(1), uv(0), uv(0), []byte{tagDecimal, 255}, uv(5), uv(0)), new(Batch), "decimal precision 255 exceeds 18"},
		{"decimal mantissa truncated", upd(uv(0), uv(0), uv(1), uv(0), uv(0), []byte{tagDecimal, 2, 0x80}), new(Batch), "truncated"},
		{"config interval over a day", cat([]byte{byte(KindConfig)}, uv(1), uv(1), uv(0), uv(0), uv(0), uv(86_400_001), uv(0)), new(Config), "over a day"},
		{"config interval max uvarint", cat([]byte{byte(KindConfig)}, uv(1), uv(1), uv(0), uv(0), uv(0), uv(1<<64-1), uv(0)), new(Config), "over a day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.into.Decode(tt.msg)
			if err == nil {
				t.Fatalf("Decode(% x) succeeded: %+v", tt.msg, tt.into)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decode(% x) error = %q, want one containing %q", tt.msg, err, tt.wantErr)
			}
		})
	}
}

// TestDecodeErrorsAreWrapped checks that a truncated message is reported as
// such to callers that test for it, with the offset in the text.
func TestDecodeErrorsAreWrapped(t *testing.T) {
	err := new(Batch).Decode([]byte{byte(KindBatch), 1})
	if !errors.Is(err, errShort) {
		t.Fatalf("error %v does not wrap errShort", err)
	}
	if !strings.Contains(err.Error(), "at byte 2") {
		t.Errorf("error %q does not give the offset", err)
	}
}

// TestDecodeTruncated cuts valid messages at every offset: each prefix must
// be refused, and none may panic.
func TestDecodeTruncated(t *testing.T) {
	tests := []struct {
		name string
		msg  message
		into func() message
	}{
		{"batch", sampleBatch(), func() message { return new(Batch) }},
		{"tick", benchTick(), func() message { return new(Batch) }},
		// A range Hello cut before its max version is a valid version-1
		// Hello: WebSocket messages arrive whole, so that cannot happen.
		{"hello", &Hello{MinVersion: 1, MaxVersion: 1, Name: "probe", MaxMessage: 1 << 22, Software: "v1"}, func() message { return new(Hello) }},
		{"welcome", &Welcome{Version: 1, MaxMessage: 1 << 22}, func() message { return new(Welcome) }},
		{"welcome v2", &Welcome{Version: 2, MaxMessage: 1 << 22, MinVersion: 1, MaxVersion: 2, Limits: Limits{MaxRows: 7, MaxCells: 1 << 33}}, func() message { return new(Welcome) }},
		{"config", &Config{Samplers: []SamplerConfig{{ID: 1, Entity: "e", Name: "n", Type: "t", Interval: 1000000000, Params: []byte("{}")}}}, func() message { return new(Config) }},
		{"snapshot request", &SnapshotRequest{Reason: "gap"}, func() message { return new(SnapshotRequest) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := tt.msg.Append(nil)
			if err := tt.into().Decode(enc); err != nil {
				t.Fatalf("the whole message does not decode: %v", err)
			}
			for n := range len(enc) {
				if err := tt.into().Decode(enc[:n]); err == nil {
					t.Errorf("prefix of %d of %d bytes decoded without error", n, len(enc))
				}
			}
		})
	}
}

// TestDecodeHugeCountDoesNotAllocate checks that a count claiming far more
// elements than the message holds is refused before anything is allocated
// for them.
func TestDecodeHugeCountDoesNotAllocate(t *testing.T) {
	b := []byte{byte(KindBatch)}
	tests := []struct {
		name string
		msg  []byte
		into func() message
	}{
		{"removes", cat(b, uv(1), []byte{0}, uv(1<<40)), func() message { return new(Batch) }},
		{"declares", cat(b, uv(1), []byte{0}, uv(0), uv(1<<40)), func() message { return new(Batch) }},
		{"updates", cat(b, uv(1), []byte{0}, uv(0), uv(0), uv(1<<40)), func() message { return new(Batch) }},
		{"cells", cat(b, uv(1), []byte{0}, uv(0), uv(0), uv(1), uv(1), uv(0), uv(0), uv(0), uv(1<<40)), func() message { return new(Batch) }},
		{"config samplers", cat([]byte{byte(KindConfig)}, uv(1<<40), []byte{0, 0, 0}), func() message { return new(Config) }},
		{"hello name", cat([]byte{byte(KindHello)}, uv(1), uv(1<<40), []byte{0, 0}), func() message { return new(Hello) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.msg) > 16 {
				t.Fatalf("test message is %d bytes; keep it small", len(tt.msg))
			}
			const runs = 100
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				if err := tt.into().Decode(tt.msg); err == nil {
					t.Fatal("decoded without error")
				}
			}
			runtime.ReadMemStats(&after)
			// The error's text and the message value are all that may be
			// allocated: well under a kilobyte a run.
			if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 1024 {
				t.Errorf("decoding allocated %d bytes a run", per)
			}
		})
	}
}

// exampleParts is the Update batch shown in docs/protocol.md, split into
// labelled fields. TestUpdateExample checks that the fields concatenate to
// what Append produces, and that the documentation shows them.
func exampleParts() (*Batch, []struct {
	label string
	b     []byte
}) {
	b := &Batch{
		Seq: 42,
		Updates: []Update{{
			ID:         3,
			SampleTime: 1_700_000_000_000_000_000,
			RemoveRows: []uint32{2},
			AddRows:    []RowDecl{{Index: 5, Name: "eth1", Cells: []samplers.Cell{samplers.Text("0.05"), samplers.Text("up")}}},
			Cells:      []CellChange{{Row: 0, Col: 1, Value: samplers.Text("12.30")}, {Row: 1, Col: 0, Value: samplers.Text("n/a")}},
			Headlines:  []HeadlineChange{{Index: 0, Value: samplers.Text("-0.75")}},
		}},
	}
	parts := []struct {
		label string
		b     []byte
	}{
		{"kind 4 (batch)", []byte{byte(KindBatch)}},
		{"seq 42", uv(42)},
		{"flags 0", []byte{0}},
		{"removes: count 0", uv(0)},
		{"declares: count 0", uv(0)},
		{"updates: count 1", uv(1)},
		{"  dataview id 3", uv(3)},
		{"  sample time 1700000000000000000 ns (zigzag 3400000000000000000)", appendVarint(nil, 1_700_000_000_000_000_000)},
		{"  remove rows: count 1", uv(1)},
		{"    row index 2", uv(2)},
		{"  add rows: count 1", uv(1)},
		{"    row index 5", uv(5)},
		{`    name "eth1"`, cat(uv(4), []byte("eth1"))},
		{"    cells: count 2", uv(2)},
		{`      "0.05": decimal, precision 2, mantissa 5 (zigzag 10)`, cat([]byte{tagDecimal, 2}, appendVarint(nil, 5))},
		{`      "up": string, length 2, bytes`, cat([]byte{tagString}, uv(2), []byte("up"))},
		{"  cells: count 2", uv(2)},
		{"    row 0, column 1", cat(uv(0), uv(1))},
		{`    "12.30": decimal, precision 2, mantissa 1230 (zigzag 2460)`, cat([]byte{tagDecimal, 2}, appendVarint(nil, 1230))},
		{"    row 1, column 0", cat(uv(1), uv(0))},
		{`    "n/a": string, length 3, bytes`, cat([]byte{tagString}, uv(3), []byte("n/a"))},
		{"  headlines: count 1", uv(1)},
		{"    headline 0", uv(0)},
		{`    "-0.75": decimal, precision 2, mantissa -75 (zigzag 149)`, cat([]byte{tagDecimal, 2}, appendVarint(nil, -75))},
	}
	return b, parts
}

// exampleDump renders exampleParts as the documentation shows them.
func exampleDump() (string, []byte) {
	_, parts := exampleParts()
	var sb strings.Builder
	var all []byte
	for _, p := range parts {
		all = append(all, p.b...)
		hex := ""
		for i, c := range p.b {
			if i > 0 {
				hex += " "
			}
			hex += strconv.FormatUint(uint64(c)>>4, 16) + strconv.FormatUint(uint64(c)&15, 16)
		}
		sb.WriteString(hex)
		sb.WriteString(strings.Repeat(" ", max(1, 30-len(hex))))
		sb.WriteString(p.label)
		sb.WriteByte('\n')
	}
	return sb.String(), all
}

func TestUpdateExample(t *testing.T) {
	b, _ := exampleParts()
	dump, all := exampleDump()
	enc := b.Append(nil)
	if !bytes.Equal(enc, all) {
		t.Fatalf("Append gives\n% x\nthe documented fields are\n% x", enc, all)
	}
	var back Batch
	if err := back.Decode(enc); err != nil || !reflect.DeepEqual(&back, b) {
		t.Fatalf("example does not round-trip: %v\n%+v", err, back)
	}
	doc, err := readDoc()
	if err != nil {
		t.Skipf("no documentation to check: %v", err)
	}
	if !strings.Contains(doc, dump) {
		t.Errorf("docs/protocol.md does not show the example as encoded; it should contain:\n%s", dump)
	}
	if !strings.Contains(doc, hexLine(enc)) {
		t.Errorf("docs/protocol.md does not show the example's whole encoding:\n%s", hexLine(enc))
	}
}

// TestValueExamples checks the value encodings docs/protocol.md lists.
func TestValueExamples(t *testing.T) {
	doc, err := readDoc()
	if err != nil {
		t.Skipf("no documentation to check: %v", err)
	}
	for _, raw := range []string{"12.30", "0", "-0.05", "123456789012345678", "-0", "007", "1e5", "12.", "1234567890123456789", "NaN", "up"} {
		row := "| `" + raw + "` | `" + hexLine(appendValue(nil, samplers.Text(raw))) + "` |"
		if !strings.Contains(doc, row) {
			t.Errorf("docs/protocol.md does not list the encoding of %q; want a table row starting\n%s", raw, row)
		}
	}
}

// readDoc reads the wire format's documentation, which shows the example.
func readDoc() (string, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "protocol.md"))
	return string(b), err
}

// hexLine renders b as space-separated lower-case hex bytes.
func hexLine(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
		sb.WriteString(strconv.FormatUint(uint64(c)&15, 16))
	}
	return sb.String()
}

// benchTick is a realistic tick: 100 dataviews each with 10 changed cells
// holding decimal values.
func benchTick() *Batch {
	b := &Batch{Seq: 123_456}
	for i := range 100 {
		u := Update{ID: uint32(i), SampleTime: 1_700_000_000_000_000_000 + int64(i)*1_000_000}
		for j := range 10 {
			v := float64(i*10+j) * 1.37
			u.Cells = append(u.Cells, CellChange{Row: uint32(j), Col: uint32(j % 4), Value: samplers.Number(v, 2)})
		}
		b.Updates = append(b.Updates, u)
	}
	return b
}

func BenchmarkBatchAppend(b *testing.B) {
	tick := benchTick()
	buf := tick.Append(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = tick.Append(buf[:0])
	}
}

func BenchmarkBatchDecode(b *testing.B) {
	msg := benchTick().Append(nil)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var into Batch
	for b.Loop() {
		if err := into.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}
