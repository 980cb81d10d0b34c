package actions

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/watchfloor/watchfloor/gateway/config"
)

// userAgent is sent with every HTTP request.
const userAgent = "watchfloor"

// snippetSize is how much of a refusal's body, or of a command's
// standard error, an error quotes.
const snippetSize = 200

// webhook posts each message as JSON.
type webhook struct {
	url    string
	header http.Header
	client *httpClient
}

var _ sender = (*webhook)(nil)

func newWebhook(c *config.WebhookAction, f *files) (*webhook, []error) {
	var errs []error
	u, err := httpURL(c.URL)
	if err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	header := http.Header{}
	for name, value := range c.Headers {
		if err := checkHeader(name, value); err != nil {
			errs = append(errs, fmt.Errorf("headers: %w", err))
			continue
		}
		header.Set(name, value)
	}
	client, es := newHTTPClient(c.BearerTokenFile, c.CAFile, f)
	errs = append(errs, es...)
	if c.BearerTokenFile != "" && header.Get("Authorization") != "" {
		errs = append(errs, fmt.Errorf("headers: Authorization and bearer_token_file both set"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &webhook{url: u.String(), header: header, client: client}, nil
}

func (w *webhook) prepare(m Message, _ time.Time) (func(ctx context.Context) error, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return func(ctx context.Context) error {
		return w.client.post(ctx, w.url, w.header, body)
	}, nil
}

func (w *webhook) close() { w.client.close() }

// httpClient is what the webhook and Alertmanager actions share: a
// transport of their own, trusting CAFile if given, and a bearer token.
type httpClient struct {
	client    *http.Client
	transport *http.Transport
	token     string
}

func newHTTPClient(tokenFile, caFile string, f *files) (*httpClient, []error) {
	var errs []error
	c := &httpClient{}
	if tokenFile != "" {
		tok, err := f.secret(tokenFile, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("bearer_token_file: %w", err))
		}
		c.token = tok
	}
	c.transport = http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := f.caPool(caFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("ca_file: %w", err))
		}
		c.transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c.client = &http.Client{
		Transport: c.transport,
		// A redirect is an answer, not followed: the token stays with the
		// host it was configured for.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, errs
}

// post sends body as JSON to u. A 2xx is success; a 5xx, a 429, or no
// answer is worth a retry; any other status is permanent.
func (c *httpClient) post(ctx context.Context, u string, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return permanent(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, snippetSize))
	// Read a little more, so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("POST %s: %s: %q", redact(u), resp.Status, strings.TrimSpace(string(snippet)))
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return err
	}
	return permanent(err)
}

func (c *httpClient) close() { c.transport.CloseIdleConnections() }

// httpURL parses an http or https URL.
func httpURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("missing")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: want an http or https URL", redact(s))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", redact(s))
	}
	return u, nil
}

// redact hides a URL's password, for errors and logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// checkHeader refuses a header name that is not an HTTP token, and a
// value that could end the header.
func checkHeader(name, value string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return fmt.Errorf("%q: not a header name", name)
		}
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("%s: value has a line break", name)
	}
	return nil
}
