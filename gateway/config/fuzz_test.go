package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/samplers"
)

// FuzzParse checks that Parse never panics, that its errors are placed in
// the file it was given, and that a configuration it accepts validates
// again and survives being written out and read back.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		c, err := config.Parse(name, data)
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse: %T %v, want non-empty config.Errors", err, err)
			}
			if c != nil {
				t.Fatalf("Parse returned a config with its errors")
			}
			for _, e := range errs {
				if e.File != name || e.Line < 0 || e.Column < 0 || e.Msg == "" {
					t.Fatalf("badly placed error %#v", e)
				}
			}
			return
		}
		if c.File != name {
			t.Fatalf("File = %q", c.File)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate rejects: %v", err)
		}
		for _, s := range c.Samplers {
			if s.Interval < samplers.MinInterval {
				t.Fatalf("sampler %q has interval %v", s.Name, s.Interval)
			}
			if s.Params != nil && !json.Valid(s.Params) {
				t.Fatalf("sampler %q has params %q", s.Name, s.Params)
			}
		}
		for _, e := range c.Entities {
			if _, ok := c.Probe(e.Probe); !ok {
				t.Fatalf("entity %q on unknown probe %q", e.Name, e.Probe)
			}
		}

		out := marshal(t, c)
		back, err := config.Parse(name, out)
		if err != nil {
			t.Fatalf("written out as\n%s\nit does not parse: %v", out, err)
		}
		if !equal(t, c, back) {
			t.Fatalf("written out as\n%s\nit reads back as\n%+v\nnot\n%+v", out, back, c)
		}
	})
}

// marshal writes c out as YAML, building the node tree by hand:
// yaml.v3 may write a string as a literal block its own parser rejects (a
// tab starting a line), so every string here is double-quoted.
func marshal(t *testing.T, c *config.Config) []byte {
	t.Helper()
	top := mapping("listen", str(c.Listen), "allow_insecure_http", scalar(strconv.FormatBool(c.AllowInsecureHTTP)))
	if c.TLS != nil {
		top = add(top, "tls", mapping("cert_file", str(c.TLS.CertFile), "key_file", str(c.TLS.KeyFile)))
	}
	var probes, samplers, entities []*yaml.Node
	for _, p := range c.Probes {
		probes = append(probes, mapping("name", str(p.Name), "token_sha256", str(p.TokenSHA256)))
	}
	for _, s := range c.Samplers {
		n := mapping("name", str(s.Name), "type", str(s.Type), "interval", str(s.Interval.String()))
		if s.Params != nil {
			n = add(n, "params", toNode(decodeJSON(t, s.Params)))
		}
		samplers = append(samplers, n)
	}
	for _, e := range c.Entities {
		attrs := mapping()
		for _, k := range slices.Sorted(maps.Keys(e.Attributes)) {
			attrs = add(attrs, k, str(e.Attributes[k]))
		}
		var names []*yaml.Node
		for _, name := range e.Samplers {
			names = append(names, str(name))
		}
		entities = append(entities, mapping("name", str(e.Name), "probe", str(e.Probe), "attributes", attrs, "samplers", seq(names)))
	}
	top = add(add(add(top, "probes", seq(probes)), "samplers", seq(samplers)), "entities", seq(entities))
	out, err := yaml.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func seq(items []*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

// mapping returns a mapping of keys to values given in turn.
func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i < len(kv); i += 2 {
		n = add(n, kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return n
}

func add(m *yaml.Node, key string, v *yaml.Node) *yaml.Node {
	m.Content = append(m.Content, str(key), v)
	return m
}

// toNode converts a value decoded from JSON.
func toNode(v any) *yaml.Node {
	switch v := v.(type) {
	case nil:
		return scalar("null")
	case bool:
		return scalar(strconv.FormatBool(v))
	case float64:
		return scalar(strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		return str(v)
	case []any:
		var items []*yaml.Node
		for _, e := range v {
			items = append(items, toNode(e))
		}
		return seq(items)
	case map[string]any:
		n := mapping()
		for _, k := range slices.Sorted(maps.Keys(v)) {
			n = add(n, k, toNode(v[k]))
		}
		return n
	}
	panic(fmt.Sprintf("unexpected JSON value %T", v))
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("params %q: %v", data, err)
	}
	return v
}

// equal compares configurations, params by the JSON values they hold.
func equal(t *testing.T, a, b *config.Config) bool {
	t.Helper()
	if len(a.Samplers) != len(b.Samplers) {
		return false
	}
	for i := range a.Samplers {
		pa, pb := a.Samplers[i].Params, b.Samplers[i].Params
		if (pa == nil) != (pb == nil) || pa != nil && !reflect.DeepEqual(decodeJSON(t, pa), decodeJSON(t, pb)) {
			return false
		}
	}
	strip := func(c *config.Config) config.Config {
		s := *c
		s.Samplers = nil
		for _, sm := range c.Samplers {
			sm.Params = nil
			s.Samplers = append(s.Samplers, sm)
		}
		return s
	}
	return reflect.DeepEqual(strip(a), strip(b))
}
