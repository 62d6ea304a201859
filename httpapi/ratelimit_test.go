package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/sqlite"
	"github.com/spotzeekit/spotzee-keys/validate"
)

var rateHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Tier"}

// limitedServer answers with 3 reads and 2 writes per 10 s window per key,
// on a clock the test moves.
func limitedServer(t testing.TB) (*spotzeetest.Server, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clock.Now), spotzeetest.WithRateLimits(ratelimit.Config{
		Override: &ratelimit.Limits{ReadPerWindow: 3, WritePerWindow: 2},
		Now:      clock.Now,
	}))
	return srv, clock
}

func headerInt(t testing.TB, resp response, name string) int {
	t.Helper()
	v := resp.Header.Get(name)
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s: %q", name, v)
	return n
}

// requireRateHeaders checks the four X-RateLimit-* headers.
func requireRateHeaders(t testing.TB, resp response, limit, remaining int, tier string) {
	t.Helper()
	assert.Equal(t, limit, headerInt(t, resp, "X-RateLimit-Limit"), "limit")
	assert.Equal(t, remaining, headerInt(t, resp, "X-RateLimit-Remaining"), "remaining")
	reset := headerInt(t, resp, "X-RateLimit-Reset")
	assert.True(t, reset >= 0 && reset <= 10, "reset %d within the window", reset)
	assert.Equal(t, tier, resp.Header.Get("X-RateLimit-Tier"))
}

func requireNoRateHeaders(t testing.TB, resp response) {
	t.Helper()
	for _, h := range rateHeaders {
		assert.Empty(t, resp.Header.Values(h), h)
	}
}

// TestRateLimitHeadersOnEveryAuthenticatedResponse: successes and 4xx after
// authentication carry the headers; 401 does not; each request counts once.
func TestRateLimitHeadersOnEveryAuthenticatedResponse(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clock.Now), spotzeetest.WithRateLimits(ratelimit.Config{
		Override: &ratelimit.Limits{ReadPerWindow: 50, WritePerWindow: 50}, Now: clock.Now,
	}))
	editor := srv.AddKey(srv.ProjectID, "editor", spotzee.ScopeSecret, spotzee.RoleEditor)
	created, first := createKey(t, targetOf(srv), `{"name":"x"}`, idem("rl"))
	requireRateHeaders(t, first, 50, 49, "starter")
	id := idOf(t, created)

	reads, writes := 0, 1
	for _, tc := range []struct {
		name   string
		call   call
		status int
	}{
		{"200 list", call{Method: http.MethodGet, Path: "/keys"}, 200},
		{"200 get", call{Method: http.MethodGet, Path: keyPath(id)}, 200},
		{"404 get", call{Method: http.MethodGet, Path: "/keys/999999"}, 404},
		{"400 bad limit", call{Method: http.MethodGet, Path: "/keys?limit=abc"}, 400},
		{"403 editor", call{Method: http.MethodGet, Path: "/keys", Auth: "Bearer " + editor}, 403},
		{"200 update", call{Method: http.MethodPatch, Path: keyPath(id), Body: `{"name":"y"}`}, 200},
		{"422 update", call{Method: http.MethodPatch, Path: keyPath(id), Body: `{"role":"owner"}`}, 422},
		{"404 update", call{Method: http.MethodPatch, Path: "/keys/999999", Body: `{}`}, 404},
		{"200 replay", call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`, Header: idem("rl")}, 200},
		{"409 mismatch", call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"z"}`, Header: idem("rl")}, 409},
		{"409 system key", call{Method: http.MethodDelete, Path: "/keys/1"}, 409},
		{"200 revoke", call{Method: http.MethodDelete, Path: keyPath(id)}, 200},
	} {
		resp := do(t, srv, tc.call)
		require.Equal(t, tc.status, resp.Status, "%s: %s", tc.name, resp.Body)
		if tc.call.Auth != "" {
			requireRateHeaders(t, resp, 50, 49, "starter") // the editor's own bucket
			continue
		}
		if tc.call.Method == http.MethodGet {
			reads++
			requireRateHeaders(t, resp, 50, 50-reads, "starter")
		} else {
			writes++
			requireRateHeaders(t, resp, 50, 50-writes, "starter")
		}
	}

	for _, c := range []call{
		{Method: http.MethodGet, Path: "/keys", NoAuth: true},
		{Method: http.MethodGet, Path: "/keys", Auth: "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"},
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`, Auth: "Bearer nope"},
	} {
		resp := do(t, srv, c)
		requireProblem(t, resp, 0, spotzee.CodeAuthenticationRequired)
		requireNoRateHeaders(t, resp)
	}
	// Answers that come before authentication carry none either.
	requireNoRateHeaders(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: hdr("Spotzee-Version", "latest")}))
	requireNoRateHeaders(t, do(t, srv, call{Method: http.MethodGet, Path: "/nope"}))
	requireNoRateHeaders(t, do(t, srv, call{Method: http.MethodGet, Path: "/healthz", Root: true}))
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	srv, clock := limitedServer(t)
	for i := range 3 {
		resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys"})
		require.Equal(t, http.StatusOK, resp.Status)
		requireRateHeaders(t, resp, 3, 2-i, "starter")
		clock.Advance(time.Second)
	}
	resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys"})
	p := requireProblem(t, resp, http.StatusTooManyRequests, spotzee.CodeRateLimited)
	assert.Empty(t, paramOf(p))
	requireRateHeaders(t, resp, 3, 0, "starter")
	retry := headerInt(t, resp, "Retry-After")
	assert.GreaterOrEqual(t, retry, 1)
	assert.LessOrEqual(t, retry, 10)

	// Denied requests do not count; the bucket frees as the window slides.
	clock.Advance(time.Duration(retry)*time.Second - time.Millisecond)
	requireProblem(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}), 0, spotzee.CodeRateLimited)
	clock.Advance(time.Millisecond)
	resp = do(t, srv, call{Method: http.MethodGet, Path: "/keys"})
	require.Equal(t, http.StatusOK, resp.Status, "allowed after Retry-After: %s", resp.Body)

	// After a whole window, the whole budget is back.
	clock.Advance(10 * time.Second)
	for range 3 {
		require.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}).Status)
	}
	requireProblem(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}), 0, spotzee.CodeRateLimited)
}

func TestRateLimitBucketsAreIndependent(t *testing.T) {
	t.Parallel()
	srv, _ := limitedServer(t)
	for range 3 {
		require.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}).Status)
	}
	requireProblem(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys/1"}), 0, spotzee.CodeRateLimited)

	// Reads are spent; writes are not.
	created, resp := createKey(t, targetOf(srv), `{"name":"w"}`, nil)
	requireRateHeaders(t, resp, 2, 1, "starter")
	resp = do(t, srv, call{Method: http.MethodDelete, Path: keyPath(idOf(t, created))})
	require.Equal(t, http.StatusOK, resp.Status)
	requireRateHeaders(t, resp, 2, 0, "starter")
	before := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
	for _, c := range []call{
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"w2"}`},
		{Method: http.MethodPatch, Path: "/keys/2", Body: `{"name":"w3"}`},
		{Method: http.MethodDelete, Path: "/keys/2"},
	} {
		resp := do(t, srv, c)
		requireProblem(t, resp, 0, spotzee.CodeRateLimited)
		requireRateHeaders(t, resp, 2, 0, "starter")
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	}
	assert.Equal(t, before, liveKeys(t, srv.Ref().Store(), srv.ProjectID), "a refused write does nothing")
}

func TestRateLimitIsPerKey(t *testing.T) {
	t.Parallel()
	srv, _ := limitedServer(t)
	other := srv.AddKey(srv.ProjectID, "other admin", spotzee.ScopeSecret, spotzee.RoleAdmin)
	for range 3 {
		require.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}).Status)
	}
	requireProblem(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}), 0, spotzee.CodeRateLimited)
	resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys", Auth: "Bearer " + other})
	require.Equal(t, http.StatusOK, resp.Status)
	requireRateHeaders(t, resp, 3, 2, "starter")
}

func TestRateLimitClientType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		clientType string // "" : header absent
		limit      int
	}{
		{"", 3},
		{"mcp", 6},
		{"MCP", 3},
		{"Mcp", 3},
		{"mcp,cli", 3},
		{"foo", 3},
		{"unknown", 3},
		{"cli", 3},
		{"sdk-js", 3},
	} {
		t.Run("client type "+strconv.Quote(tc.clientType), func(t *testing.T) {
			t.Parallel()
			srv, _ := limitedServer(t)
			var h http.Header
			if tc.clientType != "" {
				h = hdr("x-spotzee-client-type", tc.clientType)
			}
			for i := range tc.limit {
				resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: h})
				require.Equal(t, http.StatusOK, resp.Status, "request %d: %s", i+1, resp.Body)
				requireRateHeaders(t, resp, tc.limit, tc.limit-i-1, "starter")
			}
			resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: h})
			requireProblem(t, resp, 0, spotzee.CodeRateLimited)
			// Writes are doubled alike.
			for range tc.limit * 2 / 3 {
				_, _ = createKey(t, targetOf(srv), `{"name":"w"}`, h)
			}
			requireProblem(t, do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"w"}`, Header: h}), 0, spotzee.CodeRateLimited)
		})
	}
}

func TestRateLimitTierComesFromTheProject(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithRateLimits(ratelimit.Config{Now: newFakeClock().Now}))
	ctx := context.Background()
	for _, tc := range []struct {
		tier        spotzee.Tier
		read, write int
	}{
		{spotzee.TierStarter, 2000, 1000}, // the default
		{spotzee.TierProfessional, 10000, 5000},
		{spotzee.TierEnterprise, 50000, 25000},
		{spotzee.TierStarter, 2000, 1000},
	} {
		require.NoError(t, srv.Ref().Store().SetProjectTier(ctx, srv.ProjectID, tc.tier))
		resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys"})
		require.Equal(t, http.StatusOK, resp.Status)
		assert.Equal(t, string(tc.tier), resp.Header.Get("X-RateLimit-Tier"))
		assert.Equal(t, strconv.Itoa(tc.read), resp.Header.Get("X-RateLimit-Limit"))
		_, resp = createKey(t, targetOf(srv), `{"name":"w"}`, nil)
		assert.Equal(t, string(tc.tier), resp.Header.Get("X-RateLimit-Tier"))
		assert.Equal(t, strconv.Itoa(tc.write), resp.Header.Get("X-RateLimit-Limit"))
	}

	// Another project keeps its own tier.
	_, otherKey := srv.NewProject("other")
	require.NoError(t, srv.Ref().Store().SetProjectTier(ctx, srv.ProjectID, spotzee.TierEnterprise))
	resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys", Auth: "Bearer " + otherKey})
	assert.Equal(t, "starter", resp.Header.Get("X-RateLimit-Tier"))
	resp = do(t, srv, call{Method: http.MethodGet, Path: "/keys"})
	assert.Equal(t, "enterprise", resp.Header.Get("X-RateLimit-Tier"))
}

func TestFailedAuthenticationThrottle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	secret := bytes.Repeat([]byte{7}, 32)
	b, err := keys.New(db, secret).Bootstrap(ctx, "P", spotzee.TierStarter)
	require.NoError(t, err)
	clock := newFakeClock()
	h, err := httpapi.NewHandler(httpapi.Config{
		Service: keys.New(db, secret), Tiers: db, Logger: discardLogger(), Now: clock.Now,
		AuthFailures: 3, AuthFailureWindow: time.Minute,
		ValidateResponses: true,
		OnResponseViolation: func(_ *http.Request, v *validate.ResponseViolation) {
			t.Errorf("response breaks the spec: %v", v)
		},
	})
	require.NoError(t, err)
	const unknown = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
	get := func(addr, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/client/keys", nil)
		req.RemoteAddr = addr
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	steps := []struct {
		name       string
		advance    time.Duration
		addr, key  string
		wantStatus int
	}{
		{"first failure", 0, "192.0.2.1:1000", unknown, http.StatusUnauthorized},
		{"second failure, another port", 0, "192.0.2.1:1001", unknown, http.StatusUnauthorized},
		{"third failure", 0, "192.0.2.1:1002", unknown, http.StatusUnauthorized},
		{"throttled", 0, "192.0.2.1:1003", unknown, http.StatusTooManyRequests},
		{"throttled even with a good key", 0, "192.0.2.1:1004", b.Admin.Value, http.StatusTooManyRequests},
		{"another address is not", 0, "198.51.100.7:1000", b.Admin.Value, http.StatusOK},
		{"another address fails on its own", 0, "198.51.100.7:1000", unknown, http.StatusUnauthorized},
		{"still throttled before the window ends", 59 * time.Second, "192.0.2.1:1005", b.Admin.Value, http.StatusTooManyRequests},
		{"a new window", time.Second, "192.0.2.1:1006", b.Admin.Value, http.StatusOK},
		{"fails again from zero", 0, "192.0.2.1:1007", unknown, http.StatusUnauthorized},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		rec := get(s.addr, s.key)
		require.Equal(t, s.wantStatus, rec.Code, "%s: %s", s.name, rec.Body)
		if s.wantStatus == http.StatusTooManyRequests {
			var body problemBody
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, spotzee.CodeRateLimited, body.Code, s.name)
			assert.Contains(t, body.Message, "failed authentications", s.name)
			assert.NotEmpty(t, rec.Header().Get("Retry-After"), s.name)
		}
	}
}
