package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// TestRequestIDOnEveryResponse checks X-Request-Id (and the version echo)
// on successes and on every kind of error, from every layer that answers.
func TestRequestIDOnEveryResponse(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	editor := srv.AddKey(srv.ProjectID, "editor", spotzee.ScopeSecret, spotzee.RoleEditor)
	created, _ := createKey(t, targetOf(srv), `{"name":"some key"}`, nil)

	panicking := newCustomServer(t, &hookStore{
		listKeys: func(context.Context, spotzee.ListQuery) (spotzee.KeyPage, error) { panic("boom") },
	}, customOptions{})

	// A server whose admin key has used up its read budget.
	rl := spotzeetest.NewServer(t, spotzeetest.WithRateLimits(ratelimit.Config{
		Override: &ratelimit.Limits{ReadPerWindow: 1, WritePerWindow: 1}, Now: newFakeClock().Now}))
	require.Equal(t, http.StatusOK, do(t, rl, call{Method: http.MethodGet, Path: "/keys"}).Status)

	for _, tc := range []struct {
		name   string
		tg     target
		call   call
		status int
		code   spotzee.Code // "" for a success
	}{
		{"200 list", targetOf(srv), call{Method: http.MethodGet, Path: "/keys"}, 200, ""},
		{"200 create", targetOf(srv), call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`}, 200, ""},
		{"200 get", targetOf(srv), call{Method: http.MethodGet, Path: keyPath(idOf(t, created))}, 200, ""},
		{"200 healthz", targetOf(srv), call{Method: http.MethodGet, Path: "/healthz", Root: true, NoAuth: true}, 200, ""},
		{"200 openapi.json", targetOf(srv), call{Method: http.MethodGet, Path: "/api/openapi.json", Root: true, NoAuth: true}, 200, ""},
		{"404 outside the API", targetOf(srv), call{Method: http.MethodGet, Path: "/nope", Root: true}, 404, spotzee.CodeResourceMissing},
		{"404 unknown API path", targetOf(srv), call{Method: http.MethodGet, Path: "/nope"}, 404, spotzee.CodeResourceMissing},
		{"404 missing key", targetOf(srv), call{Method: http.MethodGet, Path: "/keys/999999"}, 404, spotzee.CodeResourceMissing},
		{"405", targetOf(srv), call{Method: http.MethodPut, Path: "/keys/1"}, 405, spotzee.CodeResourceMissing},
		{"405 healthz", targetOf(srv), call{Method: http.MethodPost, Path: "/healthz", Root: true}, 405, spotzee.CodeResourceMissing},
		{"400 version malformed", targetOf(srv), call{Method: http.MethodGet, Path: "/keys", Header: hdr("Spotzee-Version", "latest")}, 400, spotzee.CodeParameterInvalidFormat},
		{"400 version unsupported", targetOf(srv), call{Method: http.MethodGet, Path: "/keys", Header: hdr("Spotzee-Version", "2020-01-01")}, 400, spotzee.CodeVersionUnsupported},
		{"400 parameter", targetOf(srv), call{Method: http.MethodGet, Path: "/keys?limit=abc"}, 400, spotzee.CodeParameterInvalidFormat},
		{"401", targetOf(srv), call{Method: http.MethodGet, Path: "/keys", NoAuth: true}, 401, spotzee.CodeAuthenticationRequired},
		{"403", targetOf(srv), call{Method: http.MethodGet, Path: "/keys", Auth: "Bearer " + editor}, 403, spotzee.CodePermissionDenied},
		{"422", targetOf(srv), call{Method: http.MethodPost, Path: "/keys", Body: `{"name":7}`}, 422, spotzee.CodeValidationFailed},
		{"429", targetOf(rl), call{Method: http.MethodGet, Path: "/keys"}, 429, spotzee.CodeRateLimited},
		{"500", panicking.target, call{Method: http.MethodGet, Path: "/keys"}, 500, spotzee.CodeInternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.tg.do(t, tc.call)
			require.Equal(t, tc.status, resp.Status, "body: %s", resp.Body)
			assert.Regexp(t, requestIDPattern, resp.requestID())
			assert.Len(t, resp.Header.Values("X-Request-Id"), 1)
			assert.Equal(t, currentVersion, resp.Header.Get("Spotzee-Version"))
			if tc.code != "" {
				requireProblem(t, resp, tc.status, tc.code)
			}
		})
	}
}

func TestRequestIDIsUniquePerRequest(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	const n = 60
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := call{Method: http.MethodGet, Path: "/keys"}
			switch i % 3 {
			case 1:
				c = call{Method: http.MethodGet, Path: "/keys/424242"}
			case 2:
				c = call{Method: http.MethodGet, Path: "/keys", NoAuth: true}
			}
			ids[i] = do(t, srv, c).requestID()
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		assert.Regexp(t, requestIDPattern, id)
		assert.False(t, seen[id], "duplicate request id %s", id)
		seen[id] = true
	}
}

func TestSpotzeeVersion(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for _, tc := range []struct {
		name    string
		values  []string // nil: header absent
		code    spotzee.Code
		message string
	}{
		{name: "absent", values: nil},
		{name: "current release", values: []string{currentVersion}},
		{name: "slashes", values: []string{"2026/04/28"}, code: spotzee.CodeParameterInvalidFormat},
		{name: "word", values: []string{"latest"}, code: spotzee.CodeParameterInvalidFormat},
		{name: "unpadded", values: []string{"2026-4-28"}, code: spotzee.CodeParameterInvalidFormat},
		{name: "empty", values: []string{""}, code: spotzee.CodeParameterInvalidFormat},
		{name: "not a calendar date", values: []string{"2026-02-30"}, code: spotzee.CodeParameterInvalidFormat},
		{name: "date and time", values: []string{"2026-04-28T00:00:00Z"}, code: spotzee.CodeParameterInvalidFormat},
		{name: "two values", values: []string{currentVersion, currentVersion}, code: spotzee.CodeParameterInvalidFormat},
		{name: "unknown release", values: []string{"2020-01-01"}, code: spotzee.CodeVersionUnsupported},
		{name: "future release", values: []string{"2099-12-31"}, code: spotzee.CodeVersionUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.values != nil {
				h["Spotzee-Version"] = tc.values
			}
			// A version error wins over everything else, even a missing key.
			for _, c := range []call{
				{Method: http.MethodGet, Path: "/keys", Header: h},
				{Method: http.MethodGet, Path: "/keys/999999", Header: h},
				{Method: http.MethodGet, Path: "/keys", Header: h, NoAuth: true},
			} {
				resp := do(t, srv, c)
				assert.Equal(t, currentVersion, resp.Header.Get("Spotzee-Version"), "echo on every response")
				if tc.code == "" {
					assert.NotEqual(t, http.StatusBadRequest, resp.Status, "body: %s", resp.Body)
					continue
				}
				p := requireProblem(t, resp, http.StatusBadRequest, tc.code)
				assert.Equal(t, "Spotzee-Version", paramOf(p))
			}
		})
	}
}

// TestSpotzeeVersionEchoesTheRequestedRelease registers a second release so
// the echo of a requested version differs from the default. It changes
// package state, so it does not run in parallel (parallel tests wait).
func TestSpotzeeVersionEchoesTheRequestedRelease(t *testing.T) {
	const older = "2025-10-01"
	httpapi.KnownVersions[older] = true
	t.Cleanup(func() { delete(httpapi.KnownVersions, older) })
	srv := spotzeetest.NewServer(t)
	for _, c := range []call{
		{Method: http.MethodGet, Path: "/keys"},
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"versioned"}`},
		{Method: http.MethodGet, Path: "/keys/999999"},
		{Method: http.MethodGet, Path: "/keys", NoAuth: true},
		{Method: http.MethodGet, Path: "/healthz", Root: true},
	} {
		c.Header = hdr("Spotzee-Version", older)
		resp := do(t, srv, c)
		assert.Less(t, resp.Status, 500)
		assert.Equal(t, older, resp.Header.Get("Spotzee-Version"), "%s %s", c.Method, c.Path)
	}
	resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys"})
	assert.Equal(t, currentVersion, resp.Header.Get("Spotzee-Version"))
}
