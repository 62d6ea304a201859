package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/proxy"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

const (
	testKey   = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
	fullValue = "sk_01HXY7Z9K8M5J2N4P6Q8R0ZZZZ"
	okKey     = `{"id":4,  "project_id":1,"name":"a","scope":"secret","role":"admin","value":"sk_****S1T2","created_at":null,"updated_at":null}`
	created   = `{"id":7,"project_id":3,"name":"n","scope":"secret","role":"admin","value":"` + fullValue + `","created_at":null,"updated_at":null}`
	problem   = `{"status":"error","code":"authentication_required","message":"no","error":"no"}`
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// received is what the broken upstream saw last.
type received struct {
	mu     sync.Mutex
	body   []byte
	header http.Header
}

// brokenUpstream answers some requests correctly and others in breach of
// the contract.
func brokenUpstream(t *testing.T, got *received) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.mu.Lock()
		got.body, got.header = body, r.Header.Clone()
		got.mu.Unlock()
		w.Header().Set("X-Upstream", "kept")
		switch {
		case r.Method == http.MethodPost:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(created))
		case r.URL.Path == "/api/client/keys":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(problem))
		case r.URL.Path == "/api/client/keys/1": // undocumented status
			w.WriteHeader(http.StatusTeapot)
		case r.URL.Path == "/api/client/keys/2": // a required field missing, a full value in the body
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(strings.Replace(created, `"project_id":3,`, "", 1)))
		case r.URL.Path == "/api/client/keys/3": // a plain-text error
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("not found"))
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(okKey))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newProxy(t testing.TB, upstream string, log io.Writer, opts ...func(*proxy.Config)) (*proxy.Proxy, *httptest.Server) {
	t.Helper()
	u, err := url.Parse(upstream)
	require.NoError(t, err)
	cfg := proxy.Config{Upstream: u, Logger: slog.New(slog.NewJSONHandler(log, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := proxy.New(cfg)
	require.NoError(t, err)
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	return p, hs
}

func TestProxyReportsEveryViolationOfABrokenUpstream(t *testing.T) {
	t.Parallel()
	got := &received{}
	up := brokenUpstream(t, got)
	logs := &syncBuffer{}
	p, hs := newProxy(t, up.URL, logs)

	exchanges := []struct {
		name       string
		method     string
		path       string
		auth       bool
		body       string
		wantStatus int
		wantBody   string
	}{
		{name: "valid get", method: http.MethodGet, path: "/keys/4", auth: true, wantStatus: 200, wantBody: okKey},
		{name: "valid create, bytes kept", method: http.MethodPost, path: "/keys", auth: true, body: `{ "name" :   "x" }`, wantStatus: 200, wantBody: created},
		{name: "undocumented status", method: http.MethodGet, path: "/keys/1", auth: true, wantStatus: 418},
		{name: "missing required field", method: http.MethodGet, path: "/keys/2", auth: true, wantStatus: 200},
		{name: "plain-text error", method: http.MethodGet, path: "/keys/3", auth: true, wantStatus: 404, wantBody: "not found"},
		{name: "request without Authorization", method: http.MethodGet, path: "/keys", wantStatus: 401, wantBody: problem},
	}
	for _, ex := range exchanges { // sequential: the upstream keeps the last request
		var body io.Reader
		if ex.body != "" {
			body = strings.NewReader(ex.body)
		}
		req, err := http.NewRequestWithContext(t.Context(), ex.method, hs.URL+"/api/client"+ex.path, body)
		require.NoError(t, err)
		if ex.auth {
			req.Header.Set("Authorization", "Bearer "+testKey)
		}
		req.Header.Set("Idempotency-Key", "idem-1")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		if ex.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, ex.name)
		respBody, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, ex.wantStatus, resp.StatusCode, ex.name)
		if ex.wantBody != "" {
			assert.Equal(t, ex.wantBody, string(respBody), ex.name+": the response body passes unchanged")
		}
		assert.Equal(t, "kept", resp.Header.Get("X-Upstream"), ex.name)
		got.mu.Lock()
		assert.Equal(t, ex.body, string(got.body), ex.name+": the request body passes unchanged")
		if ex.auth {
			assert.Equal(t, "Bearer "+testKey, got.header.Get("Authorization"), ex.name)
		}
		assert.Equal(t, "idem-1", got.header.Get("Idempotency-Key"), ex.name)
		assert.Equal(t, []string{"203.0.113.9"}, got.header.Values("X-Forwarded-For"), ex.name+": kept, nothing added")
		got.mu.Unlock()
	}

	rep := p.Report()
	assert.Equal(t, 6, rep.Requests)
	assert.Equal(t, 4, p.Violations())
	type vio struct {
		kind, op, path string
		status         int
	}
	var vs []vio
	for _, v := range rep.Violations {
		vs = append(vs, vio{v.Kind, v.OperationID, v.Path, v.Status})
		assert.NotEmpty(t, v.Reason)
	}
	assert.Equal(t, []vio{
		{"response", "getProjectApiKey", "/api/client/keys/1", 418},
		{"response", "getProjectApiKey", "/api/client/keys/2", 200},
		{"response", "getProjectApiKey", "/api/client/keys/3", 404},
		{"request", "listProjectApiKeys", "/api/client/keys", 401},
	}, vs)
	assert.Contains(t, rep.Violations[1].Reason, "project_id")
	assert.Equal(t, []proxy.Exchange{
		{OperationID: "createProjectApiKey", Status: 200, Count: 1},
		{OperationID: "getProjectApiKey", Status: 200, Count: 2, Violations: 1},
		{OperationID: "getProjectApiKey", Status: 404, Count: 1, Violations: 1},
		{OperationID: "getProjectApiKey", Status: 418, Count: 1, Violations: 1},
		{OperationID: "listProjectApiKeys", Status: 401, Count: 1, Violations: 1},
	}, rep.Exchanges)
	assert.Equal(t, 4, rep.Coverage.Covered)
	assert.Len(t, rep.Coverage.Undocumented, 1)

	// Each violation was logged as it happened, with its context and no secret.
	var lines []map[string]any
	for line := range strings.Lines(logs.String()) {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		if m["msg"] == "contract violation" {
			lines = append(lines, m)
		}
	}
	require.Len(t, lines, 4)
	for _, m := range lines {
		for _, k := range []string{"kind", "method", "path", "operation", "status", "reason"} {
			assert.Contains(t, m, k)
		}
	}
	all := logs.String() + rep.Violations[0].Reason + rep.Violations[1].Reason
	assert.NotContains(t, all, testKey)
	assert.NotContains(t, all, fullValue)
	assert.NotContains(t, all, "Bearer sk_")

	// The report files: JSON and JUnit XML that parse.
	dir := t.TempDir()
	jsonPath, junitPath := dir+"/report.json", dir+"/report.xml"
	require.NoError(t, rep.WriteFiles(jsonPath, junitPath))
	var back proxy.Report
	require.NoError(t, json.Unmarshal(readFile(t, jsonPath), &back))
	assert.Equal(t, rep.Violations[3].Reason, back.Violations[3].Reason)
	assert.Equal(t, rep.Coverage, back.Coverage)
	var junit proxy.JUnitSuites
	require.NoError(t, xml.Unmarshal(readFile(t, junitPath), &junit))
	assert.Equal(t, 5, junit.Tests)
	assert.Equal(t, 4, junit.Failures)
	require.Len(t, junit.Suites, 1)
	require.Len(t, junit.Suites[0].Cases, 5)
	assert.Equal(t, "createProjectApiKey 200", junit.Suites[0].Cases[0].Name)
	assert.Nil(t, junit.Suites[0].Cases[0].Failure)
	for _, c := range junit.Suites[0].Cases[1:] {
		if assert.NotNil(t, c.Failure, c.Name) {
			assert.Equal(t, "ContractViolation", c.Failure.Type)
		}
	}
	assert.NotContains(t, string(readFile(t, jsonPath))+string(readFile(t, junitPath)), fullValue)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestProxyInFrontOfTheReferenceServerReportsNothing(t *testing.T) {
	t.Parallel()
	ref, err := validate.Reference()
	require.NoError(t, err)
	profiles := []struct {
		name string
		v    *validate.Validator
	}{
		{name: "faithful"},
		{name: "reference", v: ref},
	}
	for _, pr := range profiles {
		t.Run(pr.name, func(t *testing.T) {
			t.Parallel()
			srv := spotzeetest.NewServer(t)
			logs := &syncBuffer{}
			p, hs := newProxy(t, srv.RootURL, logs, func(c *proxy.Config) { c.Validator, c.Profile = pr.v, pr.name })
			c, err := client.New(hs.URL+"/api/client", srv.AdminKey)
			require.NoError(t, err)
			ctx := t.Context()

			k, err := c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "through the proxy"})
			require.NoError(t, err)
			list, err := c.ListKeys(ctx, nil)
			require.NoError(t, err)
			assert.NotEmpty(t, list.Results)
			_, err = c.GetKey(ctx, k.ID)
			require.NoError(t, err)
			name := "renamed"
			_, err = c.UpdateKey(ctx, k.ID, client.ProjectAPIKeyUpdate{Name: &name})
			require.NoError(t, err)
			_, err = c.RevokeKey(ctx, k.ID)
			require.NoError(t, err)
			_, err = c.GetKey(ctx, k.ID)
			require.ErrorIs(t, err, client.ErrNotFound)

			rep := p.Report()
			assert.Empty(t, rep.Violations, logs.String())
			assert.Equal(t, pr.name, rep.Profile)
			assert.Equal(t, 6, rep.Requests)
			assert.Equal(t, 6, rep.Coverage.Covered, "create, list, get 200 and 404, update, revoke")
			assert.NotContains(t, logs.String(), srv.AdminKey)
		})
	}
}

func TestNewRefusesBadUpstreams(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "localhost:8080", "ftp://example.com", "http://"} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()
			var u *url.URL
			if raw != "" {
				var err error
				u, err = url.Parse(raw)
				require.NoError(t, err)
			}
			_, err := proxy.New(proxy.Config{Upstream: u})
			assert.Error(t, err)
		})
	}
}

func TestUnreachableUpstreamIs502(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	p, hs := newProxy(t, dead.URL, io.Discard)
	resp, err := http.Get(hs.URL + "/api/client/keys")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	rep := p.Report()
	assert.Equal(t, []proxy.Exchange{{OperationID: "listProjectApiKeys", Status: 502, Count: 1, Violations: 1}}, rep.Exchanges)
	assert.Equal(t, "request", rep.Violations[0].Kind, "no Authorization")
}

// BenchmarkProxy measures the validating proxy against a plain
// httputil.ReverseProxy in front of the same in-process upstream, GET
// /keys/{id} over loopback.
func BenchmarkProxy(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(okKey))
	}))
	b.Cleanup(upstream.Close)
	u, err := url.Parse(upstream.URL)
	require.NoError(b, err)
	p, err := proxy.New(proxy.Config{Upstream: u, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(b, err)
	plain := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }}

	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"validating", p}, {"plain", plain}} {
		b.Run(bc.name, func(b *testing.B) {
			hs := httptest.NewServer(bc.h)
			defer hs.Close()
			hc := hs.Client()
			req, err := http.NewRequest(http.MethodGet, hs.URL+"/api/client/keys/4", nil)
			require.NoError(b, err)
			req.Header.Set("Authorization", "Bearer "+testKey)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
	if n := p.Violations(); n != 0 {
		b.Fatalf("%d violations", n)
	}
}

func TestGzipResponsesAreValidatedAndPassedCompressed(t *testing.T) {
	t.Parallel()
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, err := zw.Write([]byte(okKey))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(zipped.Bytes())
			return
		}
		_, _ = w.Write([]byte(okKey))
	}))
	t.Cleanup(up.Close)
	p, hs := newProxy(t, up.URL, io.Discard)

	tests := []struct {
		name, acceptEncoding string
		want                 []byte
	}{
		{name: "gzip asked", acceptEncoding: "gzip", want: zipped.Bytes()},
		{name: "identity", want: []byte(okKey)},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+"/api/client/keys/4", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testKey)
		if tt.acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", tt.acceptEncoding)
		}
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, tt.want, body, tt.name)
	}
	assert.Zero(t, p.Violations())
}
