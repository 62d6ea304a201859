package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// fromIP returns an HTTP client whose connections leave from the loopback
// address ip (the server listens on 127.0.0.1; Linux routes all of
// 127.0.0.0/8 to lo), so the server sees a second client address.
func fromIP(t testing.TB, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// secondLoopbackUsable reports whether this machine can send from
// 127.0.0.2 (Linux can; some systems configure only 127.0.0.1).
func secondLoopbackUsable() bool {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// doFrom sends c through hc.
func doFrom(t testing.TB, hc *http.Client, tg target, c call) response {
	t.Helper()
	resp, err := hc.Do(tg.request(t, c))
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
}

// requireEdge429 checks Spotzee's edge answer: 429 rate_limited as
// problem+json with status, code, message, error, title and type,
// Retry-After, and no request_id in the body; the response still carries
// X-Request-Id and Spotzee-Version (every response does) and no
// X-RateLimit-* (the per-key limiter never ran).
func requireEdge429(t testing.TB, resp response, retryAfter string) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, resp.Status, "body: %s", resp.Body)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, retryAfter, resp.Header.Get("Retry-After"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(resp.Body, &body))
	assert.Equal(t, "error", body["status"])
	assert.Equal(t, string(spotzee.CodeRateLimited), body["code"])
	assert.Equal(t, spotzee.CodeRateLimited.Title(), body["title"])
	assert.Equal(t, spotzee.CodeRateLimited.TypeURL(), body["type"])
	assert.NotEmpty(t, body["message"])
	assert.Equal(t, body["message"], body["error"])
	assert.NotContains(t, body, "request_id", "the edge's 429 has no request_id")
	assert.Regexp(t, requestIDPattern, resp.requestID())
	assert.Equal(t, currentVersion, resp.Header.Get("Spotzee-Version"))
	requireNoRateHeaders(t, resp)
}

// TestEdgeLimits: past the per-IP budget every request under the API prefix
// — authenticated or not, valid or not, routed or not — gets the edge 429;
// a second client address is not affected; the budget comes back when the
// window ends. In both profiles, with per-key limits on (the edge answers
// first).
func TestEdgeLimits(t *testing.T) {
	t.Parallel()
	for _, p := range profiles {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			srv := spotzeetest.NewServer(t, spotzeetest.WithProfile(p), spotzeetest.WithClock(clock.Now),
				spotzeetest.WithRateLimits(ratelimit.Config{Override: &ratelimit.Limits{ReadPerWindow: 100, WritePerWindow: 100}}),
				spotzeetest.WithEdgeLimits(edgelimit.Config{Rules: []edgelimit.Rule{
					{Prefix: "/api/client/", Limit: 50, Window: time.Minute},
					{Prefix: "/api/", Limit: 4, Window: 10 * time.Second},
				}}))
			tg := targetOf(srv)
			one, two := fromIP(t, "127.0.0.1"), fromIP(t, "127.0.0.2")

			// The budget of 4 is spent by requests of every kind: they all count.
			assert.Equal(t, http.StatusOK, doFrom(t, one, tg, call{Method: http.MethodGet, Path: "/keys"}).Status)
			assert.Equal(t, http.StatusUnauthorized, doFrom(t, one, tg, call{Method: http.MethodGet, Path: "/keys", NoAuth: true}).Status)
			assert.Equal(t, http.StatusNotFound, doFrom(t, one, tg, call{Method: http.MethodGet, Path: "/nope"}).Status)
			assert.Equal(t, http.StatusBadRequest, doFrom(t, one, tg, call{Method: http.MethodPost, Path: "/keys", Body: `{`}).Status)
			// Outside /api/ nothing counts.
			assert.Equal(t, http.StatusOK, doFrom(t, one, tg, call{Method: http.MethodGet, Path: "/healthz", Root: true}).Status)

			clock.Advance(3 * time.Second)
			for _, c := range []call{
				{Method: http.MethodGet, Path: "/keys"},
				{Method: http.MethodGet, Path: "/keys", NoAuth: true},
				{Method: http.MethodGet, Path: "/keys", Auth: "Bearer sk_nope"},
				{Method: http.MethodGet, Path: "/nope"},
				{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`},
				{Method: http.MethodGet, Path: "/keys", Header: hdr("Spotzee-Version", "not-a-date")},
				{Method: http.MethodGet, Path: "/api/openapi.json", Root: true},
			} {
				requireEdge429(t, doFrom(t, one, tg, c), "7")
			}
			assert.Equal(t, http.StatusOK, doFrom(t, one, tg, call{Method: http.MethodGet, Path: "/healthz", Root: true}).Status)

			// Another client address has its own budget (where 127.0.0.2 is
			// unusable, TestEdgeLimitsTrustedProxyHeader shows it through a
			// trusted proxy header instead).
			if secondLoopbackUsable() {
				resp := doFrom(t, two, tg, call{Method: http.MethodGet, Path: "/keys"})
				assert.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
			} else {
				t.Log("127.0.0.2 is not usable here: the second address is not checked")
			}

			// The window ends: the first address is served again.
			clock.Advance(7 * time.Second)
			resp := doFrom(t, one, tg, call{Method: http.MethodGet, Path: "/keys"})
			assert.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
		})
	}
}

// TestEdgeLimitsClientRule: the /api/client/ budget is separate from the
// /api/ one: once it is spent the spec (under /api/ only) is still served.
func TestEdgeLimitsClientRule(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clock.Now),
		spotzeetest.WithEdgeLimits(edgelimit.Config{Rules: []edgelimit.Rule{
			{Prefix: "/api/client/", Limit: 2, Window: time.Minute},
			{Prefix: "/api/", Limit: 100, Window: 10 * time.Second},
		}}))
	for range 2 {
		assert.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}).Status)
	}
	requireEdge429(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}), "60")
	assert.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodGet, Path: "/api/openapi.json", Root: true}).Status)
	clock.Advance(time.Minute)
	assert.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}).Status)
}

// TestEdgeLimitsTrustedProxyHeader: with a trusted proxy header the client
// IP is its right-most address; without one the header is ignored (a client
// cannot pick its own budget).
func TestEdgeLimitsTrustedProxyHeader(t *testing.T) {
	t.Parallel()
	rules := []edgelimit.Rule{{Prefix: "/api/", Limit: 1, Window: 10 * time.Second}}
	tests := []struct {
		name    string
		header  string
		secondB int // status of a request forwarded for another client after the first spent its budget
	}{
		{"trusted", "X-Forwarded-For", http.StatusOK},
		{"not trusted", "", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := spotzeetest.NewServer(t, spotzeetest.WithEdgeLimits(edgelimit.Config{Rules: rules, TrustedProxyHeader: tt.header}))
			a := hdr("X-Forwarded-For", "198.51.100.9, 203.0.113.1")
			b := hdr("X-Forwarded-For", "203.0.113.1, 203.0.113.2")
			assert.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: a}).Status)
			requireEdge429(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: a}), "10")
			assert.Equal(t, tt.secondB, do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: b}).Status)
		})
	}
}

// TestEdgeLimitedClientSeesAPIError: the Go client turns the edge 429 into
// an error the reference profile accepts (no request_id in the body), and
// the validating spotzeetest client sees a 429, not a contract violation.
func TestEdgeLimitedClientSeesAPIError(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithProfile(refserver.ProfileCurrent),
		spotzeetest.WithEdgeLimits(edgelimit.Config{Rules: []edgelimit.Rule{{Prefix: "/api/", Limit: 1, Window: time.Minute}}}))
	_, err := srv.Client.ListProjectAPIKeysWithResponse(t.Context(), nil)
	require.NoError(t, err)
	resp, err := srv.Client.ListProjectAPIKeysWithResponse(t.Context(), nil)
	require.NoError(t, err, "the edge 429 passes the reference profile")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode())
	assert.True(t, strings.Contains(string(resp.Body), `"rate_limited"`), "body: %s", resp.Body)
}
