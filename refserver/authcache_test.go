package refserver_test

import (
	"bytes"
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
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
)

// TestAuthCacheSameServer warms the authenticated-key cache of one server
// with a key — GET /keys/{id} (caller, tier and key in one read) and GET
// /keys (the caller alone, or with its tier when rate limits are on) —
// changes the key through the same server's API, and checks that the very
// next request is refused; a tier change is in the next X-RateLimit-Limit.
func TestAuthCacheSameServer(t *testing.T) {
	t.Parallel()
	dbs := []struct {
		name string
		path func(t *testing.T) string
	}{
		{"memory", func(*testing.T) string { return ":memory:" }},
		{"file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "keys.db") }},
	}
	for _, db := range dbs {
		for _, limits := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, rate limits %v", db.name, limits), func(t *testing.T) {
				t.Parallel()
				testAuthCacheSameServer(t, db.path(t), limits)
			})
		}
	}
}

func testAuthCacheSameServer(t *testing.T, path string, limits bool) {
	srv, err := refserver.Open(t.Context(), refserver.Config{
		DBPath: path, Secret: fixedSecret,
		RateLimits: ratelimit.Config{Disabled: !limits},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	boot, _, err := srv.BootstrapIfEmpty(t.Context())
	require.NoError(t, err)
	admin := boot.Admin.Value

	do := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), method, path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	keyPath := func(c keys.Created) string { return fmt.Sprintf("/api/client/keys/%d", c.Key.ID) }
	const listPath = "/api/client/keys"
	warm := func(t *testing.T, c keys.Created) {
		before, on := srv.AuthCacheStats()
		require.True(t, on, "on by default with SQLite")
		for range 3 {
			require.Equal(t, http.StatusOK, do(http.MethodGet, keyPath(c), c.Value, "").Code)
			require.Equal(t, http.StatusOK, do(http.MethodGet, listPath, c.Value, "").Code)
		}
		after, _ := srv.AuthCacheStats()
		require.GreaterOrEqual(t, after.Hits-before.Hits, int64(4), "warm: both reads answered from memory")
	}

	tests := []struct {
		name   string
		change func(c keys.Created) *httptest.ResponseRecorder
		want   int
	}{
		{"revoke", func(c keys.Created) *httptest.ResponseRecorder {
			return do(http.MethodDelete, keyPath(c), admin, "")
		}, http.StatusUnauthorized},
		{"demote", func(c keys.Created) *httptest.ResponseRecorder {
			return do(http.MethodPatch, keyPath(c), admin, `{"role":"support"}`)
		}, http.StatusForbidden},
		{"scope change", func(c keys.Created) *httptest.ResponseRecorder {
			return do(http.MethodPatch, keyPath(c), admin, `{"scope":"public"}`)
		}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		for _, next := range []string{"get", "list"} {
			t.Run(tc.name+", then "+next, func(t *testing.T) {
				c, err := srv.Service().AddKey(t.Context(), boot.Project.ID,
					keys.CreateInput{Name: tc.name, Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin})
				require.NoError(t, err)
				warm(t, c)
				rec := tc.change(c)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				p := keyPath(c)
				if next == "list" {
					p = listPath
				}
				assert.Equal(t, tc.want, do(http.MethodGet, p, c.Value, "").Code, "the very next request")
			})
		}
	}

	t.Run("the key asked for, revoked", func(t *testing.T) {
		target, err := srv.Service().AddKey(t.Context(), boot.Project.ID, keys.CreateInput{Name: "target"})
		require.NoError(t, err)
		for range 3 {
			require.Equal(t, http.StatusOK, do(http.MethodGet, keyPath(target), admin, "").Code)
		}
		require.Equal(t, http.StatusOK, do(http.MethodDelete, keyPath(target), admin, "").Code)
		assert.Equal(t, http.StatusNotFound, do(http.MethodGet, keyPath(target), admin, "").Code)
	})

	t.Run("a rename keeps the others' entries", func(t *testing.T) {
		renamed, err := srv.Service().AddKey(t.Context(), boot.Project.ID, keys.CreateInput{Name: "old name"})
		require.NoError(t, err)
		other, err := srv.Service().AddKey(t.Context(), boot.Project.ID, keys.CreateInput{Name: "other"})
		require.NoError(t, err)
		for range 2 {
			require.Equal(t, http.StatusOK, do(http.MethodGet, keyPath(renamed), admin, "").Code)
			require.Equal(t, http.StatusOK, do(http.MethodGet, keyPath(other), admin, "").Code)
		}
		rec := do(http.MethodPatch, keyPath(renamed), admin, `{"name":"new name"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		before, _ := srv.AuthCacheStats()
		got := do(http.MethodGet, keyPath(renamed), admin, "")
		require.Equal(t, http.StatusOK, got.Code)
		assert.Contains(t, got.Body.String(), `"name":"new name"`, "the renamed key as stored")
		require.Equal(t, http.StatusOK, do(http.MethodGet, keyPath(other), admin, "").Code)
		after, _ := srv.AuthCacheStats()
		if path != ":memory:" {
			// The rename's commit is carried over (sqlite.DB.OnLabelCommit):
			// the caller and the other key are still kept.
			assert.Equal(t, int64(1), after.Misses-before.Misses, "only the renamed key read again")
			assert.Equal(t, int64(1), after.Hits-before.Hits, "the other key from memory")
		}
		// The caller renaming itself sees its new name on its next request.
		self := fmt.Sprintf("/api/client/keys/%d", boot.Admin.Key.ID)
		rec = do(http.MethodPatch, self, admin, `{"name":"renamed admin"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Contains(t, do(http.MethodGet, self, admin, "").Body.String(), `"name":"renamed admin"`)
		// A revocation after a carried-over rename is still refused at once.
		require.Equal(t, http.StatusOK, do(http.MethodDelete, keyPath(other), admin, "").Code)
		assert.Equal(t, http.StatusNotFound, do(http.MethodGet, keyPath(other), admin, "").Code)
	})

	if limits {
		t.Run("tier", func(t *testing.T) {
			c, err := srv.Service().AddKey(t.Context(), boot.Project.ID,
				keys.CreateInput{Name: "tiered", Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin})
			require.NoError(t, err)
			warm(t, c)
			for _, p := range []string{keyPath(c), listPath} {
				before := do(http.MethodGet, p, c.Value, "").Header().Get("X-RateLimit-Limit")
				tier := spotzee.TierEnterprise
				if p == listPath {
					tier = spotzee.TierStarter
				}
				require.NoError(t, srv.Store().SetProjectTier(t.Context(), boot.Project.ID, tier))
				after := do(http.MethodGet, p, c.Value, "").Header().Get("X-RateLimit-Limit")
				assert.NotEqual(t, before, after, "%s: the next request has the new tier's limit", p)
			}
		})
	}
}

// TestAuthCacheSwitch checks Config.DisableAuthCache: no cache, every
// request reads its caller.
func TestAuthCacheSwitch(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		srv, err := refserver.Open(t.Context(), refserver.Config{DBPath: ":memory:", DisableAuthCache: off,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		_, on := srv.AuthCacheStats()
		assert.Equal(t, !off, on)
		require.NoError(t, srv.Close())
	}
}
