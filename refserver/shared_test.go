package refserver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/postgres/pgtest"
	"github.com/spotzeekit/spotzee-keys/refserver"
)

// TestChangesOnOneServerReachTheOthersNextRequest opens two reference
// servers (rate limits on) on one database — two handles on one SQLite file,
// and two PostgreSQL pools when SPOTZEE_TEST_POSTGRES_DSN is set — warms a
// key on B, changes it through A's API, and checks that B refuses it on its
// very next request: revocation (401), demotion (403), scope change (401).
// A tier change made on A is in B's next X-RateLimit-Limit. Nothing about a
// caller or its tier outlives a commit: with SQLite, each server's
// authenticated-key cache (on, and warm, in one run, off in another) is
// dropped when the database's change stamp moves, which every commit of
// every process does; with PostgreSQL there is no cache.
func TestChangesOnOneServerReachTheOthersNextRequest(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testSharedDatabase(t, filepath.Join(t.TempDir(), "shared.db"), false)
	})
	t.Run("sqlite without the auth cache", func(t *testing.T) {
		t.Parallel()
		testSharedDatabase(t, filepath.Join(t.TempDir(), "shared.db"), true)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testSharedDatabase(t, pgtest.DSN(t), false)
	})
}

type tierSetter interface {
	SetProjectTier(ctx context.Context, id int64, tier spotzee.Tier) error
}

// testSharedDatabase runs TestChangesOnOneServerReachTheOthersNextRequest
// on the database at path, with each server's authenticated-key cache
// (SQLite only) on unless cacheOff; when it is on, the warm-up requests
// must have been answered from it.
func testSharedDatabase(t *testing.T, path string, cacheOff bool) {
	open := func() (*refserver.Server, tierSetter) {
		srv, err := refserver.Open(t.Context(), refserver.Config{
			DBPath: path, Secret: fixedSecret, DisableAuthCache: cacheOff,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		if pg := srv.Postgres(); pg != nil {
			return srv, pg
		}
		return srv, srv.Store()
	}
	a, tiersA := open()
	b, _ := open()
	boot, _, err := a.BootstrapIfEmpty(t.Context())
	require.NoError(t, err)
	admin := boot.Admin.Value

	do := func(srv *refserver.Server, method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), method, path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	newKey := func(name string) keys.Created {
		c, err := a.Service().AddKey(t.Context(), boot.Project.ID,
			keys.CreateInput{Name: name, Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin})
		require.NoError(t, err)
		return c
	}
	keyPath := func(c keys.Created) string { return fmt.Sprintf("/api/client/keys/%d", c.Key.ID) }
	// warm sends three GETs with c to srv, which must answer them, and, when
	// srv has a cache, checks that it answered some from memory.
	warm := func(t *testing.T, srv *refserver.Server, c keys.Created) {
		before, on := srv.AuthCacheStats()
		for range 3 {
			require.Equal(t, http.StatusOK, do(srv, http.MethodGet, keyPath(c), c.Value, "").Code)
		}
		after, _ := srv.AuthCacheStats()
		cached := srv.Store() != nil && !cacheOff
		require.Equal(t, cached, on, "a cache with SQLite unless turned off, never with PostgreSQL")
		if on {
			require.Greater(t, after.Hits, before.Hits, "the cache is warm")
		}
	}

	tests := []struct {
		name   string
		change func(c keys.Created) *httptest.ResponseRecorder
		want   int
	}{
		{"revoke", func(c keys.Created) *httptest.ResponseRecorder {
			return do(a, http.MethodDelete, keyPath(c), admin, "")
		}, http.StatusUnauthorized},
		{"demote", func(c keys.Created) *httptest.ResponseRecorder {
			return do(a, http.MethodPatch, keyPath(c), admin, `{"role":"support"}`)
		}, http.StatusForbidden},
		{"scope change", func(c keys.Created) *httptest.ResponseRecorder {
			return do(a, http.MethodPatch, keyPath(c), admin, `{"scope":"public"}`)
		}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newKey(tc.name)
			warm(t, b, c) // the key works there
			warm(t, a, c)
			rec := tc.change(c)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, tc.want, do(b, http.MethodGet, keyPath(c), c.Value, "").Code, "B's very next request")
			assert.Equal(t, tc.want, do(a, http.MethodGet, keyPath(c), c.Value, "").Code, "and A's")
		})
	}

	t.Run("tier", func(t *testing.T) {
		c := newKey("tiered")
		warm(t, b, c)
		first := do(b, http.MethodGet, keyPath(c), c.Value, "")
		require.Equal(t, http.StatusOK, first.Code)
		before := first.Header().Get("X-RateLimit-Limit")
		require.NotEmpty(t, before)
		require.NoError(t, tiersA.SetProjectTier(t.Context(), boot.Project.ID, spotzee.TierEnterprise))
		next := do(b, http.MethodGet, keyPath(c), c.Value, "")
		require.Equal(t, http.StatusOK, next.Code)
		assert.NotEqual(t, before, next.Header().Get("X-RateLimit-Limit"), "B's next request has the new tier's limit")
	})
}
