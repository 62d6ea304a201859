package client_test

// End-to-end tests of the SDK against the reference server's two behaviour
// profiles: what a lost create response does under today's production
// (ProfileCurrent, Idempotency-Key ignored) and under the documented rollout,
// the recipe client/doc.go gives for today, and the per-IP edge 429.

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// loseFirstPOST makes rec drop the response to the first POST, after the
// server has handled it.
func loseFirstPOST(rec *e2eRecorder) {
	lost := false // guarded by rec.mu
	rec.setLose(func(_ int, r *http.Request) bool {
		if !lost && r.Method == http.MethodPost {
			lost = true
			return true
		}
		return false
	})
}

// TestE2ELostCreateByProfile: with its default retries the SDK resends a
// create whose response was lost, with the same Idempotency-Key. After the
// rollout that makes one key; today (ProfileCurrent) the key is ignored and
// the retry creates a second one, as the package documentation warns.
func TestE2ELostCreateByProfile(t *testing.T) {
	t.Parallel()
	noSleep := client.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() })
	tests := []struct {
		profile  refserver.Profile
		wantKeys int
		replayed string
	}{
		{refserver.ProfileRollout, 1, "true"},
		{refserver.ProfileCurrent, 2, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.profile), func(t *testing.T) {
			t.Parallel()
			srv := spotzeetest.NewServer(t, spotzeetest.WithProfile(tt.profile))
			rec := newE2ERecorder(t, true)
			loseFirstPOST(rec)
			api := e2eAPI(t, srv, srv.AdminKey, rec, noSleep)

			_, err := api.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "lost once"})
			require.NoError(t, err)
			exs := rec.exchanges()
			require.Len(t, exs, 2, "the lost attempt and its retry")
			assert.Equal(t, exs[0].reqHeader.Get("Idempotency-Key"), exs[1].reqHeader.Get("Idempotency-Key"))
			assert.Equal(t, tt.replayed, exs[1].respHeader.Get("Idempotent-Replayed"))
			assert.Len(t, e2eAll(t, api, client.ListProjectAPIKeysParams{Q: new("lost once")}), tt.wantKeys)
		})
	}
}

// TestE2ECurrentProfileRecipe is the recipe client/doc.go gives for today's
// production: no automatic POST retries, and after an ambiguous failure look
// the key up by a unique marker before creating again. It ends with exactly
// one key.
func TestE2ECurrentProfileRecipe(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithProfile(refserver.ProfileCurrent))
	rec := newE2ERecorder(t, true)
	loseFirstPOST(rec)
	api := e2eAPI(t, srv, srv.AdminKey, rec, client.WithAutoIdempotencyKeys(false))

	const marker = "deploy-7f3a" // unique per intended key
	req := client.ProjectAPIKeyCreate{Name: "billing " + marker}
	_, err := api.CreateKey(t.Context(), req)
	require.ErrorIs(t, err, errLostResponse, "not retried: the caller cannot know whether it was created")
	var apiErr *client.APIError
	require.False(t, errors.As(err, &apiErr), "no answer at all: ambiguous")

	found := e2eAll(t, api, client.ListProjectAPIKeysParams{Q: new(marker)})
	if len(found) == 0 {
		_, err = api.CreateKey(t.Context(), req)
		require.NoError(t, err)
	}
	assert.Len(t, e2eAll(t, api, client.ListProjectAPIKeysParams{Q: new(marker)}), 1,
		"the lost create had made the key; looking first kept it to one")
	assert.Len(t, rec.exchanges(), 3, "one create, one list, one list: no second create")
}

// TestE2EEdgeLimited: the per-IP edge 429 has no request_id; the SDK still
// returns an *APIError (ErrRateLimited, RetryAfter set, RequestID from the
// X-Request-Id header) and retries a GET after Retry-After.
func TestE2EEdgeLimited(t *testing.T) {
	t.Parallel()
	for _, p := range []refserver.Profile{refserver.ProfileRollout, refserver.ProfileCurrent} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			clock := &e2eClock{now: time.Now()}
			srv := spotzeetest.NewServer(t, spotzeetest.WithProfile(p), spotzeetest.WithClock(clock.Now),
				spotzeetest.WithEdgeLimits(edgelimit.Config{Rules: []edgelimit.Rule{{Prefix: "/api/", Limit: 1, Window: 10 * time.Second}}}))
			rec := newE2ERecorder(t, true)
			once := e2eAPI(t, srv, srv.AdminKey, rec, client.WithMaxAttempts(1))
			_, err := once.ListKeys(t.Context(), nil)
			require.NoError(t, err)
			_, err = once.ListKeys(t.Context(), nil)
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.ErrorIs(t, err, client.ErrRateLimited)
			assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
			assert.Equal(t, 10*time.Second, apiErr.RetryAfter)
			last := rec.last(t)
			assert.NotContains(t, string(last.respBody), "request_id")
			assert.Equal(t, last.respHeader.Get("X-Request-Id"), apiErr.RequestID, "the header's id, for support")

			retrying := e2eAPI(t, srv, srv.AdminKey, rec, client.WithSleep(clock.sleep))
			rec.exchanges()
			_, err = retrying.ListKeys(t.Context(), nil)
			require.NoError(t, err, "retried once the window ended")
			exs := rec.exchanges()
			require.Len(t, exs, 2)
			assert.Equal(t, http.StatusTooManyRequests, exs[0].status)
			assert.Equal(t, http.StatusOK, exs[1].status)
		})
	}
}
