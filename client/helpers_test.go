package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

// testKey is the API key every test client uses; it must never leak.
const testKey = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"

// reply is one scripted answer of a faultServer.
type reply struct {
	status int               // 0 means 200
	code   client.Code       // problem code for a non-2xx without body
	header map[string]string // extra response headers
	body   string            // raw body, replacing the default one
	drop   bool              // close the connection without answering
	block  bool              // wait until the request's context ends
}

// seen is one request as a faultServer received it.
type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// faultServer answers the n-th request with script[n] (the last entry
// repeating) and records every request.
type faultServer struct {
	*httptest.Server
	mu        sync.Mutex
	script    []reply
	reqs      []seen
	onRequest func(n int) // called with the 1-based number of each request
}

func newFaultServer(t *testing.T, script ...reply) *faultServer {
	t.Helper()
	return newHookedFaultServer(t, nil, script...)
}

// newHookedFaultServer is newFaultServer with an onRequest hook.
func newHookedFaultServer(t *testing.T, onRequest func(n int), script ...reply) *faultServer {
	t.Helper()
	if len(script) == 0 {
		script = []reply{{}}
	}
	f := &faultServer{script: script, onRequest: onRequest}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Close)
	return f
}

func (f *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	rep := f.script[min(n, len(f.script)-1)]
	hook := f.onRequest
	f.mu.Unlock()
	if hook != nil {
		hook(n + 1)
	}
	// No keep-alive: net/http would silently resend an idempotent request
	// whose reused connection was dropped, hiding attempts from the count.
	w.Header().Set("Connection", "close")

	switch {
	case rep.drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case rep.block:
		<-r.Context().Done()
		return
	}
	reqID := fmt.Sprintf("req_%026d", n+1)
	w.Header().Set("X-Request-Id", reqID)
	w.Header().Set("Spotzee-Version", client.DefaultAPIVersion)
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	out := rep.body
	switch {
	case out != "":
	case status < 300:
		out = successBody(r)
	default:
		out = problemJSON(status, rep.code, reqID, "")
	}
	if w.Header().Get("Content-Type") == "" {
		ct := "application/json"
		if status >= 300 {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, out)
}

// requests returns a copy of what the server has received.
func (f *faultServer) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *faultServer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// problemJSON renders the error envelope for code.
func problemJSON(status int, code client.Code, reqID, param string) string {
	p := map[string]any{
		"status":     "error",
		"code":       code,
		"title":      "Title of " + string(code),
		"message":    fmt.Sprintf("HTTP %d with %s.", status, code),
		"type":       "https://docs.spotzee.com/main-api/errors#" + string(code),
		"request_id": reqID,
	}
	if param != "" {
		p["param"] = param
	}
	if code == client.ErrorCodeValidationFailed {
		p["errors"] = []map[string]string{{"param": "role", "code": "validation_failed", "message": "value must be one of support, smtpproxy, editor, publisher, admin"}}
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// keyJSON is a masked key as reads return it.
func keyJSON(id int64, name string) map[string]any {
	return map[string]any{
		"id": id, "project_id": 123, "name": name, "scope": "secret", "role": "admin",
		"value": "sk_****S1T2", "created_at": "2026-04-28T09:30:00Z", "updated_at": nil,
	}
}

// successBody is a plausible 2xx body for the operation r calls.
func successBody(r *http.Request) string {
	var v any
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/keys":
		v = map[string]any{"results": []any{keyJSON(1, "one")}, "nextCursor": nil, "prevCursor": nil, "limit": 25}
	case r.Method == http.MethodPost:
		k := keyJSON(12, "created")
		k["value"] = testKey[:3] + "01HXY7Z9K8M5J2N4P6Q8R0NEW1"
		v = k
	case r.Method == http.MethodDelete:
		v = map[string]any{"id": 12, "revoked": true, "revoked_at": "2026-04-28T09:30:00Z"}
	default:
		v = keyJSON(12, "key")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// sleeper is a fake sleep: it records each delay and returns at once (with
// ctx.Err() if ctx is done).
type sleeper struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// newTestAPI returns an API on srv with a recording fake sleep; opts come
// after the test defaults so they win.
func newTestAPI(t *testing.T, srv *httptest.Server, opts ...client.Option) (*client.API, *sleeper) {
	t.Helper()
	s := &sleeper{}
	all := append([]client.Option{client.WithHTTPClient(srv.Client()), client.WithSleep(s.sleep)}, opts...)
	c, err := client.New(srv.URL, testKey, all...)
	require.NoError(t, err)
	return c, s
}

// call runs the operation named op ("list", "get", "create", "update",
// "revoke") and returns its error.
func call(ctx context.Context, c *client.API, op string, opts ...client.CallOption) error {
	var err error
	switch op {
	case "list":
		_, err = c.ListKeys(ctx, nil)
	case "get":
		_, err = c.GetKey(ctx, 12)
	case "create":
		_, err = c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "ci"}, opts...)
	case "update":
		_, err = c.UpdateKey(ctx, 12, client.ProjectAPIKeyUpdate{Name: new("renamed")}, opts...)
	case "revoke":
		_, err = c.RevokeKey(ctx, 12)
	default:
		panic("unknown op " + op)
	}
	return err
}

// assertNoKey fails if s contains the test API key.
func assertNoKey(t *testing.T, s string) {
	t.Helper()
	assert.NotContains(t, s, testKey)
	assert.NotContains(t, s, strings.TrimPrefix(testKey, "sk_"))
}
