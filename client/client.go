package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Version is the version of this SDK, sent in the default User-Agent.
const Version = "0.1.0"

// Defaults used by [New].
const (
	// DefaultBaseURL is Spotzee's production client API (project keys).
	DefaultBaseURL = "https://apix.spotzee.com/api/client"
	// DefaultAdminBaseURL is Spotzee's production admin API (organisation
	// keys), the base URL of [NewAdmin].
	DefaultAdminBaseURL = "https://apix.spotzee.com/api/admin"
	// DefaultAPIVersion is the Spotzee-Version this SDK is written against.
	DefaultAPIVersion = "2026-04-28"
	// DefaultClientType is the x-spotzee-client-type sent by default.
	DefaultClientType = "unknown"
	// DefaultUserAgent is the User-Agent sent by default.
	DefaultUserAgent = "spotzee-keys-go/" + Version
	// DefaultTimeout bounds each HTTP attempt by default.
	DefaultTimeout = 30 * time.Second
)

// API is a client for Spotzee's project API-key endpoints: typed methods
// with errors as [*APIError], retries and pagination, on top of the
// generated [ClientWithResponses] (see [API.Raw]). It is safe for concurrent
// use. Printing or logging it never shows the API key, only its masked form.
type API struct {
	// One pointer field only: printing an API value (not a pointer) then
	// shows an address, never the configuration.
	core *core
}

type core struct {
	baseURL    string
	maskedKey  string
	version    string
	clientType string
	userAgent  string
	raw        *ClientWithResponses
	redact     func(string) string
}

// New returns an API that calls baseURL ([DefaultBaseURL] when empty) with
// apiKey as bearer token. It returns an error, never containing the key, if
// apiKey is empty or not a valid header value, baseURL is not an absolute
// http(s) URL, or an option fails.
func New(baseURL, apiKey string, opts ...Option) (*API, error) {
	c, err := newCore(baseURL, DefaultBaseURL, apiKey, opts)
	if err != nil {
		return nil, err
	}
	return &API{core: c}, nil
}

// newCore builds what API and Admin share: settings, the retrying doer and
// the generated client for baseURL (def when empty).
func newCore(baseURL, def, apiKey string, opts []Option) (*core, error) {
	if apiKey == "" {
		return nil, errors.New("spotzee: new client: empty API key")
	}
	if strings.ContainsAny(apiKey, " \t") || !validHeaderValue(apiKey) {
		return nil, errors.New("spotzee: new client: API key contains white space or control characters")
	}
	if baseURL == "" {
		baseURL = def
	}
	s := defaultSettings(baseURL)
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(s); err != nil {
			return nil, fmt.Errorf("spotzee: new client: %w", err)
		}
	}
	u, err := url.Parse(s.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("spotzee: new client: base URL must be an absolute http or https URL")
	}

	next := s.doer
	if s.transport != nil {
		switch d := next.(type) {
		case nil:
			next = &http.Client{Transport: s.transport}
		case *http.Client:
			cp := *d
			cp.Transport = s.transport
			next = &cp
		default:
			return nil, fmt.Errorf("spotzee: new client: WithTransport needs WithHTTPClient to get an *http.Client, not %T", d)
		}
	}
	if next == nil {
		next = &http.Client{}
	}

	redact := func(t string) string { return strings.ReplaceAll(t, apiKey, "[REDACTED]") }
	doer := &retryDoer{
		next:       next,
		policy:     s.retry,
		timeout:    s.timeout,
		autoIdem:   s.autoIdem,
		sleep:      s.sleep,
		jitter:     s.jitter,
		newIdemKey: s.newIdemKey,
		redact:     redact,
	}
	editors := append([]RequestEditorFn{headerEditor(apiKey, s)}, s.editors...)
	raw, err := NewClientWithResponses(s.baseURL, WithHTTPClient(doer), func(c *Client) error {
		c.RequestEditors = editors
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spotzee: new client: %w", err)
	}
	return &core{
		baseURL:    s.baseURL,
		maskedKey:  maskKey(apiKey),
		version:    s.version,
		clientType: s.clientType,
		userAgent:  s.userAgent,
		raw:        raw,
		redact:     redact,
	}, nil
}

// headerEditor sets the bearer token and the SDK's headers on every request;
// Spotzee-Version and x-spotzee-client-type only when the call did not set
// them through its generated params. It never fails.
func headerEditor(apiKey string, s *settings) RequestEditorFn {
	auth := "Bearer " + apiKey
	ua, version, clientType := s.userAgent, s.version, s.clientType
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", auth)
		req.Header.Set("User-Agent", ua)
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json, application/problem+json")
		}
		if req.Header.Get("Spotzee-Version") == "" {
			req.Header.Set("Spotzee-Version", version)
		}
		if req.Header.Get("x-spotzee-client-type") == "" {
			req.Header.Set("x-spotzee-client-type", clientType)
		}
		return nil
	}
}

// Raw returns the generated client under c, for operations or details the
// typed methods do not cover. It sends the same auth and headers and goes
// through the same retries. Unlike the typed methods, its *WithResponse
// methods return a decode error (and no response) for an error body that is
// not valid JSON or a header value they cannot parse.
func (c *API) Raw() *ClientWithResponses { return c.core.raw }

// String describes c with its API key masked (prefix, four asterisks, last
// four characters).
func (c *API) String() string {
	if c == nil || c.core == nil {
		return "client.API(nil)"
	}
	return fmt.Sprintf("client.API{baseURL: %q, apiKey: %q, version: %q, clientType: %q}",
		c.core.baseURL, c.core.maskedKey, c.core.version, c.core.clientType)
}

// GoString is like String, for the %#v verb.
func (c *API) GoString() string {
	if c == nil || c.core == nil {
		return "(*client.API)(nil)"
	}
	return "&" + c.String()
}

// LogValue makes log/slog log c with its API key masked.
func (c *API) LogValue() slog.Value {
	if c == nil || c.core == nil {
		return slog.StringValue("client.API(nil)")
	}
	return slog.GroupValue(
		slog.String("base_url", c.core.baseURL),
		slog.String("api_key", c.core.maskedKey),
		slog.String("version", c.core.version),
	)
}

// maskKey masks an API key the way Spotzee masks stored ones: its prefix,
// four asterisks and its last four characters (only the prefix for a key too
// short to hide much).
func maskKey(k string) string {
	prefix := ""
	if i := strings.IndexByte(k, '_'); i > 0 && i <= 3 {
		prefix = k[:i+1]
	}
	if len(k) >= 20 {
		return prefix + "****" + k[len(k)-4:]
	}
	return prefix + "****"
}
