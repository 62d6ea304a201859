package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

func TestNewRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		baseURL string
		apiKey  string
		opts    []client.Option
		wantErr string
	}{
		{"empty key", "", "", nil, "empty API key"},
		{"key with newline", "", testKey + "\nX-Evil: 1", nil, "white space or control"},
		{"key with space", "", "sk_ab cd", nil, "white space or control"},
		{"relative URL", "/api/client", testKey, nil, "absolute http or https"},
		{"ftp URL", "ftp://example.com", testKey, nil, "absolute http or https"},
		{"unparsable URL", "http://[::1", testKey, nil, "absolute http or https"},
		{"version not a date", "", testKey, []client.Option{client.WithVersion("latest")}, "not a YYYY-MM-DD date"},
		{"version not a real date", "", testKey, []client.Option{client.WithVersion("2026-02-30")}, "not a YYYY-MM-DD date"},
		{"zero attempts", "", testKey, []client.Option{client.WithMaxAttempts(0)}, "WithMaxAttempts"},
		{"policy without attempts", "", testKey, []client.Option{client.WithRetryPolicy(client.RetryPolicy{})}, "MaxAttempts 0 < 1"},
		{"negative delay", "", testKey, []client.Option{client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 2, BaseDelay: -1})}, "negative delay"},
		{"negative timeout", "", testKey, []client.Option{client.WithTimeout(-time.Second)}, "negative timeout"},
		{"empty user agent", "", testKey, []client.Option{client.WithUserAgent("")}, "WithUserAgent"},
		{"empty client type", "", testKey, []client.Option{client.WithClientType("")}, "WithClientType"},
		{"nil sleep", "", testKey, []client.Option{client.WithSleep(nil)}, "WithSleep"},
		{"nil transport", "", testKey, []client.Option{client.WithTransport(nil)}, "WithTransport"},
		{"transport on a non-http.Client doer", "", testKey,
			[]client.Option{client.WithHTTPClient(doerFunc(nil)), client.WithTransport(http.DefaultTransport)}, "needs WithHTTPClient to get an *http.Client"},
		{"failing generated option", "", testKey, []client.Option{client.WithBaseURL("http://[::1")}, "new client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(tt.baseURL, tt.apiKey, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorContains(t, err, tt.wantErr)
			assertNoKey(t, err.Error())
		})
	}
}

// doerFunc is an HttpRequestDoer that is not an *http.Client.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []client.Option
		params *client.ListProjectAPIKeysParams
		want   map[string]string
	}{
		{
			name: "defaults",
			want: map[string]string{
				"Authorization":         "Bearer " + testKey,
				"User-Agent":            "spotzee-keys-go/" + client.Version,
				"Spotzee-Version":       "2026-04-28",
				"X-Spotzee-Client-Type": "unknown",
				"Accept":                "application/json, application/problem+json",
			},
		},
		{
			name: "options",
			opts: []client.Option{client.WithUserAgent("acme-billing/1.2"), client.WithVersion("2025-11-01"), client.WithClientType("cli")},
			want: map[string]string{
				"Authorization":         "Bearer " + testKey,
				"User-Agent":            "acme-billing/1.2",
				"Spotzee-Version":       "2025-11-01",
				"X-Spotzee-Client-Type": "cli",
			},
		},
		{
			name:   "generated params win over defaults",
			params: &client.ListProjectAPIKeysParams{SpotzeeVersion: new("2026-01-15"), XSpotzeeClientType: new("mcp")},
			want:   map[string]string{"Spotzee-Version": "2026-01-15", "X-Spotzee-Client-Type": "mcp"},
		},
		{
			name: "generated request editor runs after the SDK's",
			opts: []client.Option{client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
				r.Header.Set("X-Trace", "t-1")
				r.Header.Set("User-Agent", "edited")
				return nil
			})},
			want: map[string]string{"X-Trace": "t-1", "User-Agent": "edited", "Authorization": "Bearer " + testKey},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t)
			c, _ := newTestAPI(t, srv.Server, tt.opts...)

			_, err := c.ListKeys(t.Context(), tt.params)

			require.NoError(t, err)
			reqs := srv.requests()
			require.Len(t, reqs, 1)
			for k, v := range tt.want {
				assert.Equal(t, []string{v}, reqs[0].header.Values(k), k)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		suffix   string
		opts     func(srvURL string) []client.Option
		wantPath string
	}{
		{"host only", "", nil, "/keys/12"},
		{"path prefix", "/api/client", nil, "/api/client/keys/12"},
		{"path prefix with slash", "/api/client/", nil, "/api/client/keys/12"},
		{"generated WithBaseURL overrides", "/ignored", func(u string) []client.Option {
			return []client.Option{client.WithBaseURL(u + "/v2")}
		}, "/v2/keys/12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t)
			var opts []client.Option
			if tt.opts != nil {
				opts = tt.opts(srv.URL)
			}
			c, err := client.New(srv.URL+tt.suffix, testKey, append([]client.Option{client.WithHTTPClient(srv.Client())}, opts...)...)
			require.NoError(t, err)

			_, err = c.GetKey(t.Context(), 12)

			require.NoError(t, err)
			assert.Equal(t, tt.wantPath, srv.requests()[0].path)
		})
	}

	c, err := client.New("", testKey)
	require.NoError(t, err)
	assert.Contains(t, c.String(), client.DefaultBaseURL)
}

// countingTransport counts round trips and passes them on.
type countingTransport struct{ n atomic.Int32 }

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ct.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestWithTransport(t *testing.T) {
	t.Parallel()
	t.Run("alone", func(t *testing.T) {
		t.Parallel()
		srv := newFaultServer(t, reply{status: 503, code: client.ErrorCodeServiceUnavailable}, reply{})
		rt := &countingTransport{}
		c, err := client.New(srv.URL, testKey, client.WithTransport(rt), client.WithSleep(func(context.Context, time.Duration) error { return nil }))
		require.NoError(t, err)

		_, err = c.GetKey(t.Context(), 12)

		require.NoError(t, err)
		assert.Equal(t, int32(2), rt.n.Load(), "every attempt goes through the transport")
	})
	t.Run("with an http.Client, which is not modified", func(t *testing.T) {
		t.Parallel()
		srv := newFaultServer(t)
		rt := &countingTransport{}
		hc := &http.Client{Timeout: time.Minute}
		c, err := client.New(srv.URL, testKey, client.WithHTTPClient(hc), client.WithTransport(rt))
		require.NoError(t, err)

		_, err = c.ListKeys(t.Context(), nil)

		require.NoError(t, err)
		assert.Equal(t, int32(1), rt.n.Load())
		assert.Nil(t, hc.Transport, "the caller's client keeps its transport")
	})
}

func TestWithHTTPClientTakesAnyDoer(t *testing.T) {
	t.Parallel()
	srv := newFaultServer(t)
	var n atomic.Int32
	doer := doerFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return srv.Client().Do(r)
	})
	c, err := client.New(srv.URL, testKey, client.WithHTTPClient(doer))
	require.NoError(t, err)

	_, err = c.RevokeKey(t.Context(), 12)

	require.NoError(t, err)
	assert.Equal(t, int32(1), n.Load())
}

func TestAPIKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	c, err := client.New("https://apix.spotzee.com/api/client", testKey, client.WithClientType("cli"))
	require.NoError(t, err)

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("configured", "client", c)
	j, err := json.Marshal(c)
	require.NoError(t, err)

	outputs := map[string]string{
		"fmt verbs":     fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		"quoted, hex":   fmt.Sprintf("%q %x %T", c, c, c),
		"value, not *":  fmt.Sprintf("%v %+v %#v", *c, *c, *c),
		"in a struct":   fmt.Sprintf("%+v %#v", struct{ C *client.API }{c}, struct{ C *client.API }{c}),
		"slog":          logs.String(),
		"json":          string(j),
		"nil":           fmt.Sprintf("%v %#v", (*client.API)(nil), (*client.API)(nil)),
		"Raw() printed": fmt.Sprintf("%+v", c.Raw()),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assertNoKey(t, out)
		})
	}
	assert.Equal(t, `client.API{baseURL: "https://apix.spotzee.com/api/client", apiKey: "sk_****S1T2", version: "2026-04-28", clientType: "cli"}`, c.String())
	assert.Equal(t, "&"+c.String(), c.GoString())
	assert.Contains(t, logs.String(), `"api_key":"sk_****S1T2"`)
}

func TestMaskKey(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		testKey:                          "sk_****S1T2",
		"pk_01HXY7Z9K8M5J2N4P6Q8R0ABCD":  "pk_****ABCD",
		"ok_short":                       "ok_****",
		"tok":                            "****",
		"no-prefix-but-long-enough-1234": "****1234",
	}
	for in, want := range tests {
		assert.Equal(t, want, client.MaskKey(in), in)
	}
}

func TestNewUUIDv4(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(uuidV4Pattern)
	seen := map[string]bool{}
	for range 1000 {
		u := client.NewUUIDv4()
		require.Regexp(t, re, u)
		require.False(t, seen[u], "duplicate %s", u)
		seen[u] = true
	}
}

// TestRawSharesAuthAndRetries: the generated client behind Raw sends the same
// headers and is retried like the typed methods.
func TestRawSharesAuthAndRetries(t *testing.T) {
	t.Parallel()
	srv := newFaultServer(t, reply{status: 503, code: client.ErrorCodeServiceUnavailable}, reply{})
	c, sl := newTestAPI(t, srv.Server)

	resp, err := c.Raw().GetProjectAPIKeyWithResponse(t.Context(), 12, nil)

	require.NoError(t, err)
	require.NotNil(t, resp.JSON200)
	assert.Equal(t, int64(12), resp.JSON200.ID)
	assert.Len(t, sl.recorded(), 1)
	for _, r := range srv.requests() {
		assert.Equal(t, "Bearer "+testKey, r.header.Get("Authorization"))
	}

	// Raw POSTs get a generated Idempotency-Key too.
	created, err := c.Raw().CreateProjectAPIKeyWithResponse(t.Context(), nil, client.ProjectAPIKeyCreate{Name: "raw"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, created.StatusCode())
	reqs := srv.requests()
	assert.Regexp(t, uuidV4Pattern, reqs[len(reqs)-1].header.Get("Idempotency-Key"))
}
