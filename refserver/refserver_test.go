package refserver_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

func ptr[T any](v T) *T { return &v }

var fixedSecret = bytes.Repeat([]byte{0x5a}, refserver.SecretSize)

func quietConfig(path string, secret []byte) refserver.Config {
	return refserver.Config{
		DBPath: path, Secret: secret,
		RateLimits: ratelimit.Config{Disabled: true},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func TestOpenRejectsBadSecret(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		srv, err := refserver.Open(t.Context(), quietConfig(":memory:", make([]byte, n)))
		assert.Error(t, err, "secret of %d bytes", n)
		assert.Nil(t, srv)
	}
	_, err := refserver.Open(t.Context(), quietConfig(filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), nil))
	assert.Error(t, err, "an unopenable database")
}

func TestBootstrapIfEmpty(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keys.db")
	srv, err := refserver.Open(ctx, quietConfig(path, nil))
	require.NoError(t, err)
	b, created, err := srv.BootstrapIfEmpty(ctx)
	require.NoError(t, err)
	require.True(t, created)
	assert.Equal(t, int64(1), b.Project.ID)
	assert.True(t, b.SystemKey.IsSystem)
	assert.Equal(t, spotzee.RoleAdmin, b.Admin.Key.Role)
	caller, err := srv.Service().Authenticate(ctx, b.Admin.Value)
	require.NoError(t, err)
	assert.Equal(t, int64(1), caller.ProjectID)

	b2, created, err := srv.BootstrapIfEmpty(ctx)
	require.NoError(t, err)
	assert.False(t, created, "project 1 exists")
	assert.Empty(t, b2.Admin.Value)
	n, err := srv.Store().CountKeys(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "nothing more was created")

	other, err := srv.Bootstrap(ctx, "B", spotzee.TierEnterprise)
	require.NoError(t, err)
	assert.Equal(t, int64(2), other.Project.ID)
	require.NoError(t, srv.Close())

	// Reopened: still bootstrapped, and the admin key still authenticates.
	srv, err = refserver.Open(ctx, quietConfig(path, nil))
	require.NoError(t, err)
	defer srv.Close()
	_, created, err = srv.BootstrapIfEmpty(ctx)
	require.NoError(t, err)
	assert.False(t, created)
	_, err = srv.Service().Authenticate(ctx, b.Admin.Value)
	assert.NoError(t, err)
}

// TestPersistence: keys, revocations and exact timestamps survive a restart
// on the same database file; old keys keep working; cursors survive with
// the same secret and are refused with another.
func TestPersistence(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keys.db")

	srv1 := spotzeetest.NewServer(t, spotzeetest.WithDB(path, fixedSecret))
	admin := srv1.AdminKey
	c1 := srv1.Client
	var created []client.ProjectAPIKeyCreated
	for i, name := range []string{"alpha", "bravo", "charlie", "delta"} {
		req := client.ProjectAPIKeyCreate{Name: name, Role: ptr(client.ProjectRoleAdmin)}
		if i%2 == 0 {
			req.Description = nullable.NewNullableWithValue("described " + name)
		}
		cr, err := c1.CreateProjectAPIKeyWithResponse(ctx, nil, req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cr.StatusCode())
		created = append(created, *cr.JSON200)
	}
	ur, err := c1.UpdateProjectAPIKeyWithResponse(ctx, created[3].ID, nil, client.ProjectAPIKeyUpdate{
		Name: ptr("delta renamed"), Role: ptr(client.ProjectRoleEditor), Scope: ptr(client.APIKeyScopePublic),
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ur.StatusCode())
	revoked := created[1]
	rr, err := c1.RevokeProjectAPIKeyWithResponse(ctx, revoked.ID, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rr.StatusCode())

	before := listAll(t, c1)
	firstPage := listPage(t, c1, &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2)})
	require.False(t, firstPage.NextCursor.IsNull())
	cursor := firstPage.NextCursor.MustGet()
	secondPage := listPage(t, c1, &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(cursor)})
	beforeRaw := rawList(t, c1)
	srv1.Close()

	// Restart on the same file and secret.
	srv2 := spotzeetest.NewServer(t, spotzeetest.WithDB(path, fixedSecret))
	assert.Equal(t, int64(1), srv2.ProjectID)
	assert.NotEqual(t, admin, srv2.AdminKey, "no second bootstrap: the helper made a fresh key")
	old := srv2.NewClient(admin)
	after := listAll(t, old)
	assert.Equal(t, append(before, mustGet(t, srv2.Client, lastID(t, srv2.Client))), after,
		"every key, field and timestamp survives (plus the helper's new admin key)")
	afterRaw := rawList(t, old)
	require.Len(t, afterRaw, len(beforeRaw)+1)
	assert.Equal(t, beforeRaw, afterRaw[:len(beforeRaw)], "the wire form, timestamps included, is exactly the same")

	// The revoked key: still refused, still gone.
	resp, err := srv2.NewClient(revoked.Value).ListProjectAPIKeysWithResponse(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode())
	gr, err := old.GetProjectAPIKeyWithResponse(ctx, revoked.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, gr.StatusCode())
	for _, k := range after {
		assert.NotEqual(t, revoked.ID, k.ID, "the revoked key is not listed")
	}
	// The created admin keys still work; the one PATCHed to public does not.
	for i, k := range created {
		resp, err := srv2.NewClient(k.Value).ListProjectAPIKeysWithResponse(ctx, &client.ListProjectAPIKeysParams{Limit: ptr(1)})
		require.NoError(t, err)
		want := http.StatusOK
		if i == 1 || i == 3 {
			want = http.StatusUnauthorized
		}
		assert.Equal(t, want, resp.StatusCode(), k.Name)
	}
	// The cursor made before the restart still leads to the same page.
	again := listPage(t, old, &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(cursor)})
	assert.Equal(t, secondPage.Results, again.Results)
	srv2.Close()

	// With another secret the data is the same but old cursors are refused.
	srv3 := spotzeetest.NewServer(t, spotzeetest.WithDB(path, bytes.Repeat([]byte{0x11}, refserver.SecretSize)))
	c3 := srv3.NewClient(admin)
	lr, err := c3.ListProjectAPIKeysWithResponse(ctx, &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(cursor)})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, lr.StatusCode())
	assert.Equal(t, client.ErrorCodeParameterInvalidFormat, lr.ApplicationProblemJSON400.Code)
	assert.Equal(t, "cursor", *lr.ApplicationProblemJSON400.Param)
	assert.Equal(t, after[:len(after)-1], listAll(t, c3)[:len(after)-1])
}

// TestNoKeyValueOnDisk: no full key value (nor its random part) is ever
// written to the database file, not even in cached idempotent replays of
// create responses; nor is the server secret.
func TestNoKeyValueOnDisk(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.db")
	srv := spotzeetest.NewServer(t, spotzeetest.WithDB(path, fixedSecret))
	values := []string{srv.AdminKey}
	const probe = "on-disk-probe-name"
	for i := range 6 {
		params := &client.CreateProjectAPIKeyParams{}
		if i%2 == 0 {
			params.IdempotencyKey = ptr("idem-create-" + string(rune('a'+i)))
		}
		req := client.ProjectAPIKeyCreate{Name: probe, Role: ptr(client.ProjectRoleAdmin)}
		if i == 5 {
			req.Scope = ptr(client.APIKeyScopePublic)
		}
		cr, err := srv.Client.CreateProjectAPIKeyWithResponse(ctx, params, req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cr.StatusCode())
		values = append(values, cr.JSON200.Value)
		if params.IdempotencyKey != nil {
			// The replay comes from the cached record, value and all.
			replay, err := srv.Client.CreateProjectAPIKeyWithResponse(ctx, params, req)
			require.NoError(t, err)
			require.Equal(t, "true", replay.HTTPResponse.Header.Get("Idempotent-Replayed"))
			require.Equal(t, cr.JSON200.Value, replay.JSON200.Value)
		}
		// Each new key also caches a response of its own.
		kc := srv.NewClient(cr.JSON200.Value)
		if i != 5 {
			ur, err := kc.UpdateProjectAPIKeyWithResponse(ctx, cr.JSON200.ID, &client.UpdateProjectAPIKeyParams{IdempotencyKey: ptr("idem-patch")},
				client.ProjectAPIKeyUpdate{Description: nullable.NewNullableWithValue("patched")})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, ur.StatusCode())
		}
	}
	srv.Close()

	files, err := filepath.Glob(path + "*")
	require.NoError(t, err)
	var disk []byte
	for _, f := range files {
		if strings.HasSuffix(f, "-shm") {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		disk = append(disk, data...)
	}
	require.Contains(t, string(disk), probe, "the files hold the data (the check below is not vacuous)")
	for _, v := range values {
		random := v[3:]
		assert.NotContains(t, string(disk), v, "a full key value is on disk")
		assert.NotContains(t, string(disk), random, "a key's random part is on disk")
		assert.NotContains(t, string(disk), strings.ToLower(random))
		assert.NotContains(t, string(disk), hex.EncodeToString([]byte(v)))
	}
	assert.False(t, bytes.Contains(disk, fixedSecret), "the server secret is on disk")
	assert.NotContains(t, string(disk), hex.EncodeToString(fixedSecret))
}

func listPage(t *testing.T, c *client.ClientWithResponses, p *client.ListProjectAPIKeysParams) *client.ProjectAPIKeyList {
	t.Helper()
	resp, err := c.ListProjectAPIKeysWithResponse(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "body: %s", resp.Body)
	return resp.JSON200
}

func listAll(t *testing.T, c *client.ClientWithResponses) []client.ProjectAPIKey {
	t.Helper()
	return listPage(t, c, &client.ListProjectAPIKeysParams{Limit: ptr(-1), Sort: ptr("id")}).Results
}

// rawList returns the full list's results as generic JSON, in id order.
func rawList(t *testing.T, c *client.ClientWithResponses) []map[string]any {
	t.Helper()
	resp, err := c.ListProjectAPIKeysWithResponse(t.Context(), &client.ListProjectAPIKeysParams{Limit: ptr(-1), Sort: ptr("id")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode())
	var page struct {
		Results []map[string]any `json:"results"`
	}
	require.NoError(t, json.Unmarshal(resp.Body, &page))
	for _, k := range page.Results {
		ts, ok := k["created_at"].(string)
		require.True(t, ok)
		require.True(t, strings.HasSuffix(ts, "Z"))
	}
	return page.Results
}

func lastID(t *testing.T, c *client.ClientWithResponses) int64 {
	t.Helper()
	ks := listAll(t, c)
	require.NotEmpty(t, ks)
	return ks[len(ks)-1].ID
}

func mustGet(t *testing.T, c *client.ClientWithResponses, id int64) client.ProjectAPIKey {
	t.Helper()
	resp, err := c.GetProjectAPIKeyWithResponse(t.Context(), id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode())
	return *resp.JSON200
}

func TestOpenProfilesAndEdgeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mod     func(*refserver.Config)
		wantErr bool
		// rateHeaders: a request carries X-RateLimit-* (per-key limits on).
		rateHeaders bool
		// secondStatus: the status of a second request (edge limit of 1).
		secondStatus int
	}{
		{"default profile is rollout", func(c *refserver.Config) { c.RateLimits = ratelimit.Config{} }, false, true, http.StatusOK},
		{"current has no per-key limits", func(c *refserver.Config) {
			c.RateLimits, c.Profile = ratelimit.Config{}, refserver.ProfileCurrent
		}, false, false, http.StatusOK},
		{"edge limits in rollout", func(c *refserver.Config) {
			c.EdgeLimits = &edgelimit.Config{Rules: []edgelimit.Rule{{Prefix: "/api/", Limit: 1, Window: time.Minute}}}
		}, false, false, http.StatusTooManyRequests},
		{"edge limits in current", func(c *refserver.Config) {
			c.Profile = refserver.ProfileCurrent
			c.EdgeLimits = &edgelimit.Config{Rules: []edgelimit.Rule{{Prefix: "/api/", Limit: 1, Window: time.Minute}}}
		}, false, false, http.StatusTooManyRequests},
		{"disabled edge limits", func(c *refserver.Config) { c.EdgeLimits = &edgelimit.Config{Disabled: true} }, false, false, http.StatusOK},
		{"unknown profile", func(c *refserver.Config) { c.Profile = "today" }, true, false, 0},
		{"bad edge rule", func(c *refserver.Config) {
			c.EdgeLimits = &edgelimit.Config{Rules: []edgelimit.Rule{{Prefix: "/api/", Limit: 0, Window: time.Minute}}}
		}, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := quietConfig(":memory:", nil)
			tt.mod(&cfg)
			srv, err := refserver.Open(t.Context(), cfg)
			if tt.wantErr {
				assert.Error(t, err)
				assert.Nil(t, srv)
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = srv.Close() })
			b, _, err := srv.BootstrapIfEmpty(t.Context())
			require.NoError(t, err)
			hs := httptest.NewServer(srv.Handler())
			t.Cleanup(hs.Close)
			get := func() *http.Response {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+"/api/client/keys", nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+b.Admin.Value)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				return resp
			}
			first := get()
			require.Equal(t, http.StatusOK, first.StatusCode)
			assert.Equal(t, tt.rateHeaders, first.Header.Get("X-RateLimit-Limit") != "")
			assert.Equal(t, tt.secondStatus, get().StatusCode)
		})
	}
}

func TestRunPurgerDeletesExpiredIdempotencyRecords(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var mu sync.Mutex
	now := time.Date(2026, 4, 28, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := quietConfig(":memory:", fixedSecret)
	cfg.Now = clock
	srv, err := refserver.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	b, err := srv.Bootstrap(ctx, "P", spotzee.TierStarter)
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	create := func(key string) {
		req, err := http.NewRequest(http.MethodPost, hs.URL+"/api/client/keys", strings.NewReader(`{"name":"`+key+`"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+b.Admin.Value)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	records := func() int {
		n, err := srv.Store().IdempotencyRecords(ctx)
		require.NoError(t, err)
		return n
	}
	create("old")
	mu.Lock()
	now = now.Add(23 * time.Hour)
	mu.Unlock()
	create("recent")
	require.Equal(t, 2, records())

	mu.Lock()
	now = now.Add(2 * time.Hour) // "old" is 25 h old, "recent" 2 h
	mu.Unlock()
	purgeCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.RunPurger(purgeCtx, 10*time.Millisecond) }()
	require.Eventually(t, func() bool { return records() == 1 }, 5*time.Second, 10*time.Millisecond)
	stop()
	<-done
	assert.Equal(t, 1, records(), "the unexpired record stays")
}

func TestKeyQuota(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := quietConfig(":memory:", fixedSecret)
	cfg.MaxKeysPerProject = 3
	cfg.ValidateResponses = true
	cfg.OnResponseViolation = func(_ *http.Request, v *validate.ResponseViolation) {
		t.Errorf("response breaks the reference profile: %v", v)
	}
	srv, err := refserver.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	b, err := srv.Bootstrap(ctx, "P", spotzee.TierStarter) // system and admin key: 2 of 3
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c, err := client.New(hs.URL+"/api/client", b.Admin.Value, client.WithMaxAttempts(1))
	require.NoError(t, err)

	third, err := c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "third"})
	require.NoError(t, err)
	_, err = c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "fourth"})
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusPaymentRequired, apiErr.StatusCode)
	assert.Equal(t, client.ErrorCodeQuotaExceeded, apiErr.Code)

	// Operators are not capped; revoking makes room again.
	operators, err := srv.Service().AddKey(ctx, b.Project.ID, keys.CreateInput{Name: "operator's"})
	require.NoError(t, err)
	_, err = c.RevokeKey(ctx, third.ID)
	require.NoError(t, err)
	_, err = c.RevokeKey(ctx, operators.Key.ID)
	require.NoError(t, err)
	_, err = c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "fourth"})
	assert.NoError(t, err)
}
