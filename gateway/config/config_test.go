package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
	"github.com/watchfloor/watchfloor/samplers"
)

var (
	token1 = config.HashToken("token-1")
	token2 = config.HashToken("token-2")
)

// TestParse checks what Parse decodes from files that are valid.
func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want *config.Config
	}{
		{
			name: "empty file takes defaults",
			yaml: "allow_insecure_http: true\n",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: ":7039", AllowInsecureHTTP: true},
		},
		{
			name: "loopback needs no tls",
			yaml: "listen: 127.0.0.1:7039",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "127.0.0.1:7039"},
		},
		{
			name: "localhost needs no tls",
			yaml: "listen: localhost:7039",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "localhost:7039"},
		},
		{
			name: "IPv6 loopback needs no tls",
			yaml: `listen: "[::1]:0"`,
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "[::1]:0"},
		},
		{
			name: "tls on every interface",
			yaml: "tls: {cert_file: c.pem, key_file: k.pem}",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: ":7039", TLS: &config.TLS{CertFile: "c.pem", KeyFile: "k.pem"}},
		},
		{
			name: "host name with tls",
			yaml: "listen: gw.example.com:443\ntls: {cert_file: c.pem, key_file: k.pem}",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "gw.example.com:443", TLS: &config.TLS{CertFile: "c.pem", KeyFile: "k.pem"}},
		},
		{
			name: "explicit opt-out",
			yaml: "listen: 10.0.0.1:7039\nallow_insecure_http: True",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "10.0.0.1:7039", AllowInsecureHTTP: true},
		},
		{
			name: "sampler defaults",
			yaml: "listen: 127.0.0.1:1\nsamplers: [{name: s, type: test}, {name: t, type: test, interval: 0s, params: ~}]",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "127.0.0.1:1", Samplers: []config.Sampler{
				{Name: "s", Type: "test", Interval: samplers.DefaultInterval},
				{Name: "t", Type: "test", Interval: samplers.DefaultInterval},
			}},
		},
		{
			name: "interval at the floor",
			yaml: "listen: 127.0.0.1:1\nsamplers: [{name: s, type: test, interval: 100ms, params: {}}]",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "127.0.0.1:1", Samplers: []config.Sampler{
				{Name: "s", Type: "test", Interval: 100 * time.Millisecond, Params: []byte(`{}`)},
			}},
		},
		{
			name: "params become JSON",
			yaml: `listen: 127.0.0.1:1
samplers:
  - name: s
    type: test-any
    params:
      int: 0x10
      big: 18446744073709551615
      float: 1.5e3
      bool: true
      "null": ~
      str: "007"
      plain: 007x
      date: 2001-12-14
      html: "<&>"
      list: [1, [], {}]
`,
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Limits: config.DefaultLimits(), Listen: "127.0.0.1:1", Samplers: []config.Sampler{{
				Name: "s", Type: "test-any", Interval: time.Second,
				Params: []byte(`{"int":16,"big":18446744073709551615,"float":1500,"bool":true,"null":null,"str":"007",` +
					`"plain":"007x","date":"2001-12-14","html":"\u003c\u0026\u003e","list":[1,[],{}]}`),
			}}},
		},
		{
			name: "scalars are strings as written",
			yaml: `listen: 127.0.0.1:1
probes: [{name: 1.10, token_sha256: ` + token1 + `}]
entities:
  - name: true
    probe: 1.10
    attributes: {tier: 007, on: yes, empty: , "with space": "a/b"}
`,
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(),
				Listen: "127.0.0.1:1",
				Limits: config.DefaultLimits(),
				Probes: []config.Probe{{Name: "1.10", TokenSHA256: token1}},
				Entities: []config.Entity{{Name: "true", Probe: "1.10",
					Attributes: map[string]string{"tier": "007", "on": "yes", "empty": "", "with space": "a/b"}}},
			},
		},
		{
			name: "public URL, allowed hosts and limits",
			yaml: `listen: 127.0.0.1:7039
public_url: https://Watchfloor.example.com:8443/ops/
allowed_hosts: [watchfloor, 10.1.2.3, "fd00::1", wf.example.com.]
limits: {max_dataviews: 1_000, max_rows: 2e5, max_cells: 0x100000, max_columns: ~}
`,
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(),
				Listen:       "127.0.0.1:7039",
				PublicURL:    "https://Watchfloor.example.com:8443/ops/",
				AllowedHosts: []string{"watchfloor", "10.1.2.3", "fd00::1", "wf.example.com."},
				Limits:       config.Limits{MaxDataviews: 1000, MaxColumns: 512, MaxHeadlines: 256, MaxRows: 200_000, MaxCells: 1 << 20},
			},
		},
		{
			name: "limits at their largest",
			yaml: "listen: 127.0.0.1:1\nlimits: {max_dataviews: 1e6, max_columns: 65536, max_headlines: 65536, max_rows: 1e7, max_cells: 1e9}",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Listen: "127.0.0.1:1", Limits: config.Limits{
				MaxDataviews: 1_000_000, MaxColumns: 65536, MaxHeadlines: 65536, MaxRows: 10_000_000, MaxCells: 1_000_000_000,
			}},
		},
		{
			name: "empty limits take the defaults",
			yaml: "listen: 127.0.0.1:1\nlimits:\npublic_url:\nallowed_hosts:\n",
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(), Listen: "127.0.0.1:1", Limits: config.DefaultLimits()},
		},
		{
			name: "aliases",
			yaml: `listen: 127.0.0.1:1
probes: [{name: &p p1, token_sha256: ` + token1 + `}]
samplers: [{name: &s s1, type: test, params: &params {n: 3}}, {name: s2, type: test, params: *params}]
entities:
  - {name: e1, probe: *p, attributes: &a {region: emea}, samplers: &list [*s, s2]}
  - {name: e2, probe: *p, attributes: *a, samplers: *list}
`,
			want: &config.Config{Sessions: config.DefaultSessions(), Audit: config.DefaultAudit(), History: config.DefaultHistory(), Incidents: config.DefaultIncidents(),
				Listen: "127.0.0.1:1",
				Limits: config.DefaultLimits(),
				Probes: []config.Probe{{Name: "p1", TokenSHA256: token1}},
				Samplers: []config.Sampler{
					{Name: "s1", Type: "test", Interval: time.Second, Params: []byte(`{"n":3}`)},
					{Name: "s2", Type: "test", Interval: time.Second, Params: []byte(`{"n":3}`)},
				},
				Entities: []config.Entity{
					{Name: "e1", Probe: "p1", Attributes: map[string]string{"region": "emea"}, Samplers: []string{"s1", "s2"}},
					{Name: "e2", Probe: "p1", Attributes: map[string]string{"region": "emea"}, Samplers: []string{"s1", "s2"}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse("", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

// dump shows a config with its TLS and params as text.
func dump(c *config.Config) string {
	s := fmt.Sprintf("%+v", *c)
	if c.TLS != nil {
		s += fmt.Sprintf("\n  tls: %+v", *c.TLS)
	}
	for _, sm := range c.Samplers {
		s += "\n  params of " + sm.Name + ": " + string(sm.Params)
	}
	return s
}

// TestParseErrors checks single problems in small files, and that Parse
// reports all of them.
func TestParseErrors(t *testing.T) {
	const head = "listen: 127.0.0.1:1\n"
	headP := head + "probes: [{name: p, token_sha256: " + token1 + "}]\n"
	tests := []struct {
		name string
		yaml string
		want []string // Error() of each, without a file
	}{
		{
			name: "root is a scalar",
			yaml: "hello",
			want: []string{`1:1: the configuration must be a mapping, not "hello"`},
		},
		{
			name: "duplicate top-level key",
			yaml: head + "listen: 127.0.0.1:2",
			want: []string{`2:1: listen: duplicate key (first at line 1)`},
		},
		{
			name: "non-string key",
			yaml: head + "[a]: b",
			want: []string{`2:1: keys must be strings, not a list`},
		},
		{
			name: "tls with empty files",
			yaml: "tls: {cert_file: '', key_file: ~}",
			want: []string{`1:18: tls.cert_file: must not be empty`, `1:32: tls.key_file: must not be empty`},
		},
		{
			name: "non-loopback IP",
			yaml: "listen: 192.168.1.1:7039",
			want: []string{`1:9: listen: "192.168.1.1:7039" is not a loopback address, and plain HTTP is served only on loopback: ` +
				`set tls (cert_file and key_file), or set allow_insecure_http: true to accept unencrypted traffic`},
		},
		{
			name: "IPv6 any",
			yaml: `listen: "[::]:7039"`,
			want: []string{`1:9: listen: "[::]:7039" listens on every interface, and plain HTTP is served only on loopback: ` +
				`set tls (cert_file and key_file), or set allow_insecure_http: true to accept unencrypted traffic`},
		},
		{
			name: "empty listen",
			yaml: `listen: ""`,
			want: []string{`1:9: listen: "" is not host:port (like ":7039" or "127.0.0.1:7039")`},
		},
		{
			name: "port out of range",
			yaml: `listen: "127.0.0.1:70390"`,
			want: []string{`1:9: listen: port "70390" must be a number from 0 to 65535`},
		},
		{
			name: "probe without name",
			yaml: head + "probes: [{token_sha256: " + token1 + "}]",
			want: []string{`2:10: probes[0].name: required`},
		},
		{
			name: "probe with empty name",
			yaml: head + "probes: [{name: , token_sha256: " + token1 + "}]",
			want: []string{`2:11: probes[0].name: must not be empty`},
		},
		{
			name: "sampler without type",
			yaml: head + "samplers: [{name: s}]",
			want: []string{`2:12: samplers[0].type: required`},
		},
		{
			name: "sampler with empty type",
			yaml: head + "samplers: [{name: s, type: ''}]",
			want: []string{`2:28: samplers[0].type: must not be empty`},
		},
		{
			name: "interval as a number",
			yaml: head + "samplers: [{name: s, type: test, interval: 1.5}]",
			want: []string{`2:44: samplers[0].interval: "1.5" is not a duration (like 500ms, 2s or 1m)`},
		},
		{
			name: "params as a string",
			yaml: head + "samplers: [{name: s, type: test, params: '{\"n\": 1}'}]",
			want: []string{`2:42: samplers[0].params: must be a mapping, not "{\"n\": 1}"`},
		},
		{
			name: "params error without params is placed at the type",
			yaml: head + "samplers:\n  - name: s\n    type: test-strict\n",
			want: []string{`4:11: samplers[0].params: test-strict sampler: params: n is required and must be at least 1`},
		},
		{
			name: "params key not a string",
			yaml: head + "samplers: [{name: s, type: test-any, params: {[a]: 1}}]",
			want: []string{`2:47: keys must be strings, not a list`},
		},
		{
			name: "params key an alias of a list",
			yaml: head + "samplers: [{name: s, type: test-any, params: {a: &m [1], *m : 2}}]",
			want: []string{`2:58: samplers[0].params: keys must be strings, not a list`},
		},
		{
			name: "params merge key",
			yaml: head + "samplers: [{name: s, type: test-any, params: {<<: {a: 1}}}]",
			want: []string{`2:47: samplers[0].params["<<"]: merge keys (<<) are not supported`},
		},
		{
			name: "bad params do not hide other errors",
			yaml: head + "samplers: [{name: s, type: test, interval: 1ms, params: {n: .nan}}]",
			want: []string{
				`2:44: samplers[0].interval: 1ms is below the minimum interval 100ms`,
				`2:61: samplers[0].params.n: ".nan" has no JSON form`,
			},
		},
		{
			name: "entity references are not judged against broken names",
			yaml: head + "probes: [{name: [p], token_sha256: " + token1 + "}]\nsamplers: [{name: {s: 1}, type: test}]\n" +
				"entities: [{name: e, probe: p, samplers: [s]}]",
			want: []string{
				`2:17: probes[0].name: must be a string, not a list`,
				`3:19: samplers[0].name: must be a string, not a mapping`,
			},
		},
		{
			name: "null list element",
			yaml: head + "probes:\n  -\n",
			want: []string{`3:3: probes[0]: must be a mapping, not empty`},
		},
		{
			name: "key in quoted brackets",
			yaml: headP + "entities: [{name: e, probe: p, \"sam plers\": []}]",
			want: []string{`3:32: entities[0]["sam plers"]: unknown key (known: name, probe, attributes, samplers)`},
		},
		{
			name: "attribute value not a string",
			yaml: headP + "entities: [{name: e, probe: p, attributes: {a: {b: c}}}]",
			want: []string{`3:48: entities[0].attributes.a: must be a string, not a mapping`},
		},
		{
			name: "duplicate attribute",
			yaml: headP + "entities: [{name: e, probe: p, attributes: {a: x, a: y}}]",
			want: []string{`3:51: entities[0].attributes.a: duplicate key (first at line 3)`},
		},
		{
			name: "public URL without a scheme",
			yaml: head + "public_url: watchfloor.example.com",
			want: []string{`2:13: public_url: "watchfloor.example.com" must be an absolute http:// or https:// URL, like "https://watchfloor.example.com"`},
		},
		{
			name: "public URL without a host",
			yaml: head + "public_url: 'https:///ops'",
			want: []string{`2:13: public_url: "https:///ops" has no host`},
		},
		{
			name: "public URL with a query",
			yaml: head + "public_url: https://wf.example.com/?a=b",
			want: []string{`2:13: public_url: "https://wf.example.com/?a=b" must not have a query or a fragment`},
		},
		{
			name: "public URL with a fragment",
			yaml: head + "public_url: https://wf.example.com/#",
			want: []string{`2:13: public_url: "https://wf.example.com/#" must not have a query or a fragment`},
		},
		{
			name: "public URL with a bad host",
			yaml: head + "public_url: https://wf_example!.com",
			want: []string{`2:13: public_url: host "wf_example!.com" is neither an IP address nor a host name`},
		},
		{
			name: "public URL with a bad port",
			yaml: head + "public_url: https://wf.example.com:70000",
			want: []string{`2:13: public_url: port "70000" must be a number from 1 to 65535`},
		},
		{
			name: "public URL that does not parse",
			yaml: head + "public_url: 'https://[::1'",
			want: []string{`2:13: public_url: not a URL: missing ']' in host`},
		},
		{
			name: "public URL not a string",
			yaml: head + "public_url: {url: x}",
			want: []string{`2:13: public_url: must be a string, not a mapping`},
		},
		{
			name: "limits with a tag that does not match",
			yaml: head + "limits: {max_rows: !!str 10}",
			want: []string{`2:20: limits.max_rows: must be a whole number, not "10"`},
		},
		{
			name: "limits beyond an int64",
			yaml: head + "limits: {max_cells: 1e19}",
			want: []string{`2:21: limits.max_cells: "1e19" is too large`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its errors")
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: %T %v, want config.Errors", err, err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestAliasBomb checks that aliases cannot make Parse do unbounded work.
func TestAliasBomb(t *testing.T) {
	// In the schema walk, in params, and in a loop.
	laughs := `a: &a [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
`
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "params",
			yaml: laughs + "samplers: [{name: s, type: test-any, params: {x: *g}}]\n",
			want: "8:50: samplers[0].params.x: aliases expand the configuration to more than 65536 values",
		},
		{
			name: "entity list",
			// Quadratic rather than exponential: each of 2000 entities
			// is the one with 2000 samplers.
			yaml: "x: &x {name: e, probe: p, samplers: [" + strings.Repeat("s, ", 1999) + "s]}\n" +
				"entities: [" + strings.Repeat("*x, ", 1999) + "*x]\n",
			want: "aliases expand the configuration",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("", []byte(tt.yaml))
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: %v, want config.Errors", err)
			}
			for _, e := range errs {
				if strings.Contains(e.Error(), tt.want) {
					return
				}
			}
			t.Errorf("errors\n%v\nwant one containing %q", err, tt.want)
		})
	}
}

// TestValidate checks configurations built in code.
func TestValidate(t *testing.T) {
	good := func() *config.Config {
		return &config.Config{
			Listen:   "127.0.0.1:7039",
			Limits:   config.DefaultLimits(),
			Sessions: config.DefaultSessions(),
			Audit:    config.DefaultAudit(),
			Probes:   []config.Probe{{Name: "p", TokenSHA256: token1}},
			Samplers: []config.Sampler{{Name: "s", Type: "test", Interval: time.Second}},
			Entities: []config.Entity{{Name: "e", Probe: "p", Samplers: []string{"s"}}},
		}
	}
	tests := []struct {
		name   string
		change func(c *config.Config)
		want   string
	}{
		{name: "valid", change: func(*config.Config) {}},
		{
			name:   "zero interval is not defaulted",
			change: func(c *config.Config) { c.Samplers[0].Interval = 0 },
			want:   "samplers[0].interval: 0s is below the minimum interval 100ms",
		},
		{
			name:   "empty listen",
			change: func(c *config.Config) { c.Listen = "" },
			want:   `listen: "" is not host:port (like ":7039" or "127.0.0.1:7039")`,
		},
		{
			name:   "params not an object",
			change: func(c *config.Config) { c.Samplers[0].Params = []byte(`[1]`) },
			want:   "samplers[0].params: test sampler: params: json: cannot unmarshal array into Go value of type config_test.testParams",
		},
		{
			name:   "limits left out are not defaulted",
			change: func(c *config.Config) { c.Limits = config.Limits{MaxCells: 1} },
			want: "limits.max_dataviews: must be from 1 to 1000000, not 0\n" +
				"limits.max_columns: must be from 1 to 65536, not 0\n" +
				"limits.max_headlines: must be from 1 to 65536, not 0\n" +
				"limits.max_rows: must be from 1 to 10000000, not 0",
		},
		{
			name:   "limits too large",
			change: func(c *config.Config) { c.Limits.MaxCells = 1e9 + 1 },
			want:   "limits.max_cells: must be from 1 to 1000000000, not 1000000001",
		},
		{
			name:   "public URL",
			change: func(c *config.Config) { c.PublicURL = "wss://wf.example.com" },
			want:   `public_url: "wss://wf.example.com" must be an absolute http:// or https:// URL, like "https://watchfloor.example.com"`,
		},
		{
			name:   "allowed hosts",
			change: func(c *config.Config) { c.AllowedHosts = []string{"wf.example.com", "", "wf.example.com:80"} },
			want: "allowed_hosts[1]: must not be empty\n" +
				`allowed_hosts[2]: "wf.example.com:80" must be a host name or an IP address without a port`,
		},
		{
			name: "several",
			change: func(c *config.Config) {
				c.Probes = append(c.Probes, config.Probe{Name: "p", TokenSHA256: token2})
				c.Entities[0].Probe = "q"
				c.Entities[0].Samplers = append(c.Entities[0].Samplers, "s")
				c.Entities[0].Attributes = map[string]string{"": "x", "b": "\xff"}
			},
			want: `probes[1].name: probe "p" is already defined (probes[0])` + "\n" +
				`entities[0].probe: unknown probe "q"` + "\n" +
				`entities[0].attributes[""]: attribute names must not be empty` + "\n" +
				`entities[0].attributes.b: must be valid UTF-8` + "\n" +
				`entities[0].samplers[1]: sampler "s" is already listed (entities[0].samplers[0])`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  config.Error
		want string
	}{
		{name: "full", err: config.Error{File: "gw.yaml", Line: 3, Column: 5, Field: "listen", Msg: "bad"}, want: "gw.yaml:3:5: listen: bad"},
		{name: "no file", err: config.Error{Line: 3, Column: 5, Field: "listen", Msg: "bad"}, want: "3:5: listen: bad"},
		{name: "line only", err: config.Error{File: "gw.yaml", Line: 3, Msg: "bad"}, want: "gw.yaml:3: bad"},
		{name: "no place", err: config.Error{File: "gw.yaml", Field: "listen", Msg: "bad"}, want: "gw.yaml: listen: bad"},
		{name: "message only", err: config.Error{Msg: "bad"}, want: "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	c, err := config.Load("testdata/example.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := c.Probe("trading-2"); !ok || p.TokenSHA256 != token2 {
		t.Errorf("Probe(trading-2) = %+v, %v", p, ok)
	}
	if _, ok := c.Probe("trading-9"); ok {
		t.Errorf("Probe(trading-9) found")
	}
	if s, ok := c.Sampler("cpu-fast"); !ok || s.Interval != 500*time.Millisecond || string(s.Params) != `{"n":5}` {
		t.Errorf("Sampler(cpu-fast) = %+v, %v", s, ok)
	}
	if _, ok := c.Sampler("nope"); ok {
		t.Errorf("Sampler(nope) found")
	}
	var names []string
	for _, e := range c.EntitiesOf("trading-1") {
		names = append(names, e.Name)
	}
	if want := []string{"OMS-primary", "SOR"}; !reflect.DeepEqual(names, want) {
		t.Errorf("EntitiesOf(trading-1) = %v, want %v", names, want)
	}
	if es := c.EntitiesOf("trading-9"); len(es) != 0 {
		t.Errorf("EntitiesOf(trading-9) = %v", es)
	}
}

func TestHashToken(t *testing.T) {
	// printf %s test | sha256sum
	if got, want := config.HashToken("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; got != want {
		t.Errorf("HashToken(test) = %s, want %s", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := config.Load(file)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want a not-exist error", err)
	}
	var errs config.Errors
	if errors.As(err, &errs) {
		t.Errorf("Load(absent) returned config.Errors")
	}
}
