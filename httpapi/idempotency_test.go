package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keymaterial"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/orgs"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/sqlite"
	"github.com/spotzeekit/spotzee-keys/validate"
)

func idem(key string) http.Header { return hdr("Idempotency-Key", key) }

// requireReplay checks that replay is original sent again.
func requireReplay(t testing.TB, original, replay response) {
	t.Helper()
	require.Equal(t, original.Status, replay.Status, "body: %s", replay.Body)
	assert.Equal(t, string(original.Body), string(replay.Body), "same body")
	assert.Equal(t, original.requestID(), replay.requestID(), "same X-Request-Id")
	assert.Equal(t, original.Header.Get("Content-Type"), replay.Header.Get("Content-Type"))
	assert.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, currentVersion, replay.Header.Get("Spotzee-Version"))
	assert.Empty(t, original.Header.Get("Idempotent-Replayed"), "the original is not a replay")
}

func TestIdempotentCreateReplays(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	tg := targetOf(srv)
	store := srv.Ref().Store()

	body, first := createKey(t, tg, `{"name":"ci","role":"editor"}`, idem("create-1"))
	value, _ := body["value"].(string)
	require.Regexp(t, fullValuePattern, value)
	before := liveKeys(t, store, srv.ProjectID)

	for _, replayBody := range []string{
		`{"name":"ci","role":"editor"}`,
		// The same value in another member order and spacing is the same request.
		"{ \"role\" : \"editor\",\n \"name\" : \"ci\" }",
	} {
		replay := do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: replayBody, Header: idem("create-1")})
		requireReplay(t, first, replay)
		again := replay.json(t)
		assert.Equal(t, value, again["value"], "the replay returns the same full value")
		assert.Equal(t, idOf(t, body), idOf(t, again))
	}
	assert.Equal(t, before, liveKeys(t, store, srv.ProjectID), "no second key")

	// The replayed value is the real one: it authenticates as the key made.
	k, err := srv.Ref().Service().Authenticate(context.Background(), value)
	require.NoError(t, err)
	assert.Equal(t, idOf(t, body), k.ID)
}

func TestIdempotentUpdateReplays(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clock.Now))
	store := srv.Ref().Store()
	created, _ := createKey(t, targetOf(srv), `{"name":"before"}`, nil)
	id := idOf(t, created)

	clock.Advance(time.Minute)
	first := do(t, srv, call{Method: http.MethodPatch, Path: keyPath(id), Body: `{"name":"after"}`, Header: idem("patch-1")})
	require.Equal(t, http.StatusOK, first.Status, "body: %s", first.Body)
	updated, err := store.Key(context.Background(), srv.ProjectID, id)
	require.NoError(t, err)

	// Another change in between, then the replay: a re-run would rename the
	// key back and move updated_at.
	clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodPatch, Path: keyPath(id), Body: `{"description":"x"}`}).Status)
	changed, err := store.Key(context.Background(), srv.ProjectID, id)
	require.NoError(t, err)
	clock.Advance(time.Minute)

	replay := do(t, srv, call{Method: http.MethodPatch, Path: keyPath(id), Body: `{"name":"after"}`, Header: idem("patch-1")})
	requireReplay(t, first, replay)
	assert.Equal(t, "after", replay.json(t)["name"])
	assert.Nil(t, replay.json(t)["description"], "the original response, not the key's current state")
	now, err := store.Key(context.Background(), srv.ProjectID, id)
	require.NoError(t, err)
	assert.Equal(t, changed, now, "the replay ran nothing")
	assert.True(t, changed.UpdatedAt.After(updated.UpdatedAt))
}

func TestIdempotencyKeyMismatch(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	store := srv.Ref().Store()
	a, _ := createKey(t, targetOf(srv), `{"name":"a"}`, nil)
	b, _ := createKey(t, targetOf(srv), `{"name":"b"}`, nil)
	_, _ = createKey(t, targetOf(srv), `{"name":"first"}`, idem("mismatch"))
	require.Equal(t, http.StatusOK, do(t, srv, call{Method: http.MethodPatch, Path: keyPath(idOf(t, a)), Body: `{"name":"a2"}`, Header: idem("patch-mismatch")}).Status)

	for _, c := range []call{
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"second"}`, Header: idem("mismatch")},
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"first","role":"admin"}`, Header: idem("mismatch")},
		// Same key on another operation or another key id is another request.
		{Method: http.MethodPatch, Path: keyPath(idOf(t, a)), Body: `{"name":"first"}`, Header: idem("mismatch")},
		{Method: http.MethodPatch, Path: keyPath(idOf(t, b)), Body: `{"name":"a2"}`, Header: idem("patch-mismatch")},
	} {
		before := liveKeys(t, store, srv.ProjectID)
		resp := do(t, srv, c)
		p := requireProblem(t, resp, 0, spotzee.CodeIdempotencyKeyMismatch)
		assert.Equal(t, "Idempotency-Key", paramOf(p))
		assert.Empty(t, resp.Header.Get("Retry-After"))
		assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
		assert.Equal(t, before, liveKeys(t, store, srv.ProjectID))
	}
}

func TestIdempotencyInProgress(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	hooks := &hookStore{
		createKey: func(ctx context.Context, k spotzee.NewKey, next func(context.Context, spotzee.NewKey) (spotzee.APIKey, error)) (spotzee.APIKey, error) {
			if calls.Add(1) == 1 {
				close(entered)
				<-release
			}
			return next(ctx, k)
		},
	}
	srv := newCustomServer(t, hooks, customOptions{})
	const body = `{"name":"slow"}`

	firstDone := make(chan response, 1)
	go func() {
		resp, err := httpClient.Do(srv.request(t, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: idem("running")}))
		if err != nil {
			close(firstDone)
			return
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		firstDone <- response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
	}()
	select {
	case <-entered:
	case <-time.After(waitFor):
		close(release)
		t.Fatal("the first request never reached the store")
	}

	// While the first runs: the same request is in progress…
	resp := srv.do(t, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: idem("running")})
	p := requireProblem(t, resp, 0, spotzee.CodeIdempotencyInProgress)
	assert.Equal(t, "Idempotency-Key", paramOf(p))
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	// …and another body with the same key is a mismatch.
	resp = srv.do(t, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"other"}`, Header: idem("running")})
	requireProblem(t, resp, 0, spotzee.CodeIdempotencyKeyMismatch)
	// Another key is not held up.
	_, _ = createKey(t, srv.target, `{"name":"fast"}`, idem("other"))

	close(release)
	var first response
	select {
	case r, ok := <-firstDone:
		require.True(t, ok, "the first request failed")
		first = r
	case <-time.After(waitFor):
		t.Fatal("the first request never finished")
	}
	require.Equal(t, http.StatusOK, first.Status, "body: %s", first.Body)
	requireReplay(t, first, srv.do(t, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: idem("running")}))
	assert.Equal(t, int32(2), calls.Load(), "slow and fast created once each")
}

func TestIdempotencyKeyLength(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	created, _ := createKey(t, targetOf(srv), `{"name":"t"}`, nil)
	for _, c := range []call{
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`},
		{Method: http.MethodPatch, Path: keyPath(idOf(t, created)), Body: `{"name":"x"}`},
	} {
		for _, key := range []string{"", strings.Repeat("k", 256), strings.Repeat("é", 256)} {
			before := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
			c.Header = idem(key)
			p := requireProblem(t, do(t, srv, c), 0, spotzee.CodeIdempotencyKeyInvalid)
			assert.Equal(t, "Idempotency-Key", paramOf(p))
			assert.Equal(t, before, liveKeys(t, srv.Ref().Store(), srv.ProjectID))
		}
		// The bounds themselves are valid (one key per operation).
		last := map[string]string{http.MethodPost: "a", http.MethodPatch: "b"}[c.Method]
		for _, key := range []string{last, strings.Repeat("k", 254) + last} {
			c.Header = idem(key)
			resp := do(t, srv, c)
			assert.Less(t, resp.Status, 300, "key of %d characters: %s", len(key), resp.Body)
		}
	}
}

func TestIdempotencyIsScopedPerAPIKey(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	other := srv.AddKey(srv.ProjectID, "second admin", spotzee.ScopeSecret, spotzee.RoleAdmin)
	tg := targetOf(srv)
	tg2 := tg
	tg2.AdminKey = other

	a, ra := createKey(t, tg, `{"name":"shared"}`, idem("shared-key"))
	b, rb := createKey(t, tg2, `{"name":"shared"}`, idem("shared-key"))
	assert.NotEqual(t, idOf(t, a), idOf(t, b), "two keys created")
	assert.NotEqual(t, a["value"], b["value"])
	assert.Empty(t, rb.Header.Get("Idempotent-Replayed"))
	assert.NotEqual(t, ra.requestID(), rb.requestID())

	// Each caller replays its own.
	requireReplay(t, ra, tg.do(t, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"shared"}`, Header: idem("shared-key")}))
	requireReplay(t, rb, tg2.do(t, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"shared"}`, Header: idem("shared-key")}))
}

func TestIdempotencyExpiresAfter24Hours(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clock.Now))
	const body = `{"name":"daily"}`
	first, r1 := createKey(t, targetOf(srv), body, idem("ttl"))

	clock.Advance(24*time.Hour - time.Second)
	requireReplay(t, r1, do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: idem("ttl")}))

	clock.Advance(2 * time.Second)
	second, r2 := createKey(t, targetOf(srv), body, idem("ttl"))
	assert.NotEqual(t, idOf(t, first), idOf(t, second), "runs again after 24 h")
	assert.Empty(t, r2.Header.Get("Idempotent-Replayed"))
	// And the new response is the one replayed from now on, with a new body
	// (a mismatch is possible again too).
	requireReplay(t, r2, do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: idem("ttl")}))
	requireProblem(t, do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`, Header: idem("ttl")}), 0, spotzee.CodeIdempotencyKeyMismatch)
}

func TestIdempotencySurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.db")
	secret := bytes.Repeat([]byte{42}, 32)
	srv1 := spotzeetest.NewServer(t, spotzeetest.WithDB(path, secret))
	const body = `{"name":"durable"}`
	created, first := createKey(t, targetOf(srv1), body, idem("restart"))
	adminKey := srv1.AdminKey
	srv1.Close()

	srv2 := spotzeetest.NewServer(t, spotzeetest.WithDB(path, secret))
	before := liveKeys(t, srv2.Ref().Store(), 1)
	tg := targetOf(srv2)
	tg.AdminKey = adminKey // idempotency keys belong to the API key that sent them
	replay := tg.do(t, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: idem("restart")})
	requireReplay(t, first, replay)
	assert.Equal(t, created["value"], replay.json(t)["value"])
	assert.Equal(t, before, liveKeys(t, srv2.Ref().Store(), 1))
}

// TestIdempotencyNotCachedFor5xx: a store fault is a 500 that is not
// cached, so the retry with the same key runs and creates the key.
func TestIdempotencyNotCachedFor5xx(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	hooks := &hookStore{
		createKey: func(ctx context.Context, k spotzee.NewKey, next func(context.Context, spotzee.NewKey) (spotzee.APIKey, error)) (spotzee.APIKey, error) {
			switch calls.Add(1) {
			case 1:
				return spotzee.APIKey{}, errors.New("database is locked")
			case 2:
				panic("driver bug")
			}
			return next(ctx, k)
		},
	}
	srv := newCustomServer(t, hooks, customOptions{})
	c := call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"flaky"}`, Header: idem("retry-me")}

	requireProblem(t, srv.do(t, c), 0, spotzee.CodeInternalError) // store error
	requireProblem(t, srv.do(t, c), 0, spotzee.CodeInternalError) // panic
	created, resp := createKey(t, srv.target, c.Body, c.Header)
	assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
	requireReplay(t, resp, srv.do(t, c))
	assert.Equal(t, int32(3), calls.Load())
	_, err := srv.DB.Key(context.Background(), srv.ProjectID, idOf(t, created))
	require.NoError(t, err)
}

// TestIdempotencyWhenClientGoesAway: the client disconnects (its request
// context is cancelled) while the handler runs. The outcome must still be
// recorded (finished or abandoned), or every retry would be answered
// idempotency_in_progress for 24 hours.
func TestIdempotencyWhenClientGoesAway(t *testing.T) {
	t.Parallel()
	for _, fail := range []bool{false, true} {
		name := map[bool]string{false: "created", true: "failed"}[fail]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cancels := make(chan context.CancelFunc, 1)
			var calls atomic.Int32
			hooks := &hookStore{
				createKey: func(ctx context.Context, k spotzee.NewKey, next func(context.Context, spotzee.NewKey) (spotzee.APIKey, error)) (spotzee.APIKey, error) {
					if calls.Add(1) > 1 {
						return next(ctx, k)
					}
					key, err := next(context.WithoutCancel(ctx), k)
					(<-cancels)() // the client goes away as the store answers
					if fail {
						return spotzee.APIKey{}, errors.New("connection reset")
					}
					return key, err
				},
			}
			srv := newCustomServer(t, hooks, customOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			cancels <- cancel
			c := call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"gone"}`, Header: idem("disconnect")}
			rec := httptest.NewRecorder()
			srv.Handler.ServeHTTP(rec, srv.request(t, c).WithContext(ctx))
			first := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}

			retry := srv.do(t, c)
			if fail {
				// The client has gone: the failure is not answered (no 500).
				assert.Empty(t, first.Body, "nothing is sent to a client that has gone")
				assert.NotEqual(t, http.StatusInternalServerError, first.Status)
				// The insert committed with its finished record (one
				// transaction) before the error: the retry replays that key
				// rather than making a second one.
				require.Equal(t, http.StatusOK, retry.Status, "the retry is answered: %s", retry.Body)
				assert.Equal(t, "true", retry.Header.Get("Idempotent-Replayed"))
				assert.Equal(t, int32(1), calls.Load(), "no second key")
				return
			}
			require.Equal(t, http.StatusOK, first.Status)
			requireReplay(t, first, retry)
		})
	}
}

// TestIdempotencyNotCachedFor429: the rate limit answers before the request
// runs; after the window the same key runs for real.
func TestIdempotencyNotCachedFor429(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clock.Now),
		spotzeetest.WithRateLimits(ratelimit.Config{Override: &ratelimit.Limits{ReadPerWindow: 10, WritePerWindow: 1}}))
	_, _ = createKey(t, targetOf(srv), `{"name":"uses the budget"}`, nil)
	c := call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"later"}`, Header: idem("limited")}
	before := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
	resp := do(t, srv, c)
	requireProblem(t, resp, 0, spotzee.CodeRateLimited)
	assert.Equal(t, before, liveKeys(t, srv.Ref().Store(), srv.ProjectID))

	clock.Advance(10 * time.Second)
	_, again := createKey(t, targetOf(srv), c.Body, c.Header)
	assert.Empty(t, again.Header.Get("Idempotent-Replayed"))
	assert.Len(t, liveKeys(t, srv.Ref().Store(), srv.ProjectID), len(before)+1)
}

func TestIdempotencyIgnoredOnGetAndDelete(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	created, _ := createKey(t, targetOf(srv), `{"name":"doomed"}`, nil)
	id := idOf(t, created)

	for _, key := range []string{"reads", "", strings.Repeat("k", 300)} {
		r1 := do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: idem(key)})
		r2 := do(t, srv, call{Method: http.MethodGet, Path: keyPath(id), Header: idem(key)})
		r3 := do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: idem(key)})
		for _, r := range []response{r1, r2, r3} {
			require.Equal(t, http.StatusOK, r.Status, "key %q: %s", key, r.Body)
			assert.Empty(t, r.Header.Get("Idempotent-Replayed"))
		}
		assert.NotEqual(t, r1.requestID(), r3.requestID())
	}

	r1 := do(t, srv, call{Method: http.MethodDelete, Path: keyPath(id), Header: idem("deletes")})
	require.Equal(t, http.StatusOK, r1.Status, "body: %s", r1.Body)
	r2 := do(t, srv, call{Method: http.MethodDelete, Path: keyPath(id), Header: idem("deletes")})
	requireProblem(t, r2, 0, spotzee.CodeResourceMissing) // ran again: the key is gone
	assert.Empty(t, r2.Header.Get("Idempotent-Replayed"))

	// Neither GET nor DELETE recorded the key: a POST with it runs.
	for _, key := range []string{"reads", "deletes"} {
		_, resp := createKey(t, targetOf(srv), `{"name":"fresh"}`, idem(key))
		assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
	}
}

// TestIdempotencyCaches4xxFromTheHandler: a 404 from the handler is
// replayed, even after the key it was about came to exist.
func TestIdempotencyCaches4xxFromTheHandler(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	keys := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
	next := keys[len(keys)-1].ID + 1
	c := call{Method: http.MethodPatch, Path: keyPath(next), Body: `{"name":"renamed"}`, Header: idem("missing")}

	first := do(t, srv, c)
	requireProblem(t, first, 0, spotzee.CodeResourceMissing)
	created, _ := createKey(t, targetOf(srv), `{"name":"now it exists"}`, nil)
	require.Equal(t, next, idOf(t, created))

	replay := do(t, srv, c)
	requireReplay(t, first, replay)
	requireProblem(t, replay, 0, spotzee.CodeResourceMissing)
	k, err := srv.Ref().Store().Key(context.Background(), srv.ProjectID, next)
	require.NoError(t, err)
	assert.Equal(t, "now it exists", k.Name, "the replay did not run")
}

// TestIdempotencyNotCachedForValidationErrors pins a project decision: a
// request refused by validation never ran, so nothing is recorded and the
// corrected request with the same key runs (as Stripe does).
func TestIdempotencyNotCachedForValidationErrors(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	requireProblem(t, do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":7}`, Header: idem("fix-me")}), 0, spotzee.CodeValidationFailed)
	_, resp := createKey(t, targetOf(srv), `{"name":"fixed"}`, idem("fix-me"))
	assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
}

// TestIdempotencyNeverStoresFullValue looks for the full key value in the
// SQLite files (database and WAL), raw and in the encodings a cached
// response could take, while replays keep returning it.
func TestIdempotencyNeverStoresFullValue(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.db")
	srv := spotzeetest.NewServer(t, spotzeetest.WithDB(path, bytes.Repeat([]byte{1}, 32)))
	const body = `{"name":"secret holder","description":"cached create"}`
	created, first := createKey(t, targetOf(srv), body, idem("at-rest"))
	value := created["value"].(string)
	replay := do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: idem("at-rest")})
	requireReplay(t, first, replay)
	require.Contains(t, string(replay.Body), value)

	check := func(when string) {
		for _, f := range []string{path, path + "-wal"} {
			data, err := os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			require.NoError(t, err)
			for _, needle := range encodings(value) {
				assert.False(t, bytes.Contains(data, []byte(needle)), "%s: %s holds the value (as %q)", when, filepath.Base(f), needle)
			}
			// The whole response as encoding/json would store a []byte.
			assert.False(t, bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(first.Body))), "%s: %s holds the response", when, filepath.Base(f))
		}
	}
	check("while open")
	srv.Close() // checkpoints the WAL into the database
	check("after close")
}

// encodings returns the value raw, in hex, and the middle of its base64
// encoding at each of the three byte alignments it can have inside a
// larger encoded buffer.
func encodings(value string) []string {
	out := []string{value, hex.EncodeToString([]byte(value)), strings.ToUpper(hex.EncodeToString([]byte(value)))}
	for shift := range 3 {
		padded := append(bytes.Repeat([]byte{0}, shift), value...)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			s := enc.EncodeToString(padded)
			out = append(out, s[4:len(s)-4])
		}
	}
	return out
}

func TestFullValueResponsesAreNotStored(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	tg := targetOf(srv)
	body, created := createKey(t, tg, `{"name":"cache"}`, idem("no-store-1"))
	id := idOf(t, body)

	tests := []struct {
		name        string
		resp        response
		wantNoStore bool
	}{
		{"create", created, true},
		{"idempotent replay of the create", do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"cache"}`, Header: idem("no-store-1")}), true},
		{"create without an idempotency key", do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"plain"}`}), true},
		{"get (masked)", do(t, srv, call{Method: http.MethodGet, Path: keyPath(id)}), false},
		{"list (masked)", do(t, srv, call{Method: http.MethodGet, Path: "/keys"}), false},
		{"refused create", do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{}`}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.wantNoStore {
				require.Equal(t, http.StatusOK, tt.resp.Status, "body: %s", tt.resp.Body)
				assert.Equal(t, "no-store", tt.resp.Header.Get("Cache-Control"))
				return
			}
			assert.Empty(t, tt.resp.Header.Get("Cache-Control"))
		})
	}
}

// TestIdempotencyRecordUnderAnotherSecret: a cached response sealed under
// another server secret (a lost or changed secret) counts as expired: the
// request runs again, no 500.
func TestIdempotencyRecordUnderAnotherSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keys.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	cursorKey := bytes.Repeat([]byte{7}, 32)
	b, err := keys.New(db, cursorKey).Bootstrap(ctx, "P", spotzee.TierStarter)
	require.NoError(t, err)
	logs := &syncBuffer{}
	serve := func(secret byte) target {
		h, err := httpapi.NewHandler(httpapi.Config{
			Service: keys.New(db, cursorKey), Tiers: db, Idempotency: db,
			IdempotencySecret: bytes.Repeat([]byte{secret}, 32), Logger: newJSONLogger(logs),
		})
		require.NoError(t, err)
		hs := httptest.NewServer(h)
		t.Cleanup(hs.Close)
		return target{URL: hs.URL + httpapi.APIPrefix, RootURL: hs.URL, AdminKey: b.Admin.Value}
	}
	before, after := serve(1), serve(2)
	first, _ := createKey(t, before, `{"name":"sealed"}`, idem("secret-1"))

	tests := []struct {
		name       string
		tg         target
		body       string
		wantStatus int
		wantReplay bool
	}{
		{"under the new secret: runs again", after, `{"name":"sealed"}`, http.StatusOK, false},
		{"then replays under the new secret", after, `{"name":"sealed"}`, http.StatusOK, true},
		{"another body is still a mismatch", after, `{"name":"other"}`, http.StatusConflict, false},
	}
	var again string
	for _, tt := range tests {
		// Not parallel: each step builds on the one before.
		resp := tt.tg.do(t, call{Method: http.MethodPost, Path: "/keys", Body: tt.body, Header: idem("secret-1")})
		require.Equal(t, tt.wantStatus, resp.Status, "%s: %s", tt.name, resp.Body)
		assert.Equal(t, tt.wantReplay, resp.Header.Get("Idempotent-Replayed") == "true", tt.name)
		if tt.wantStatus != http.StatusOK {
			requireProblem(t, resp, tt.wantStatus, spotzee.CodeIdempotencyKeyMismatch)
			continue
		}
		value := resp.json(t)["value"].(string)
		assert.NotEqual(t, first["value"], value, "%s: not the old key's value", tt.name)
		if again != "" {
			assert.Equal(t, again, value, tt.name)
		}
		again = value
	}
	assert.NotContains(t, logs.String(), `"level":"ERROR"`)
	assert.Contains(t, logs.String(), "treating it as expired")
}

// TestIdempotentCreateFinishesInItsTransaction: a create with an
// Idempotency-Key hands the store the finished record to write with the key
// (spotzee.NewKey.Finish), so the record is done as soon as the insert
// commits, before the handler answers, and its replay is the response sent.
func TestIdempotentCreateFinishesInItsTransaction(t *testing.T) {
	t.Parallel()
	var srv *customServer
	var doneAtCommit bool
	hooks := &hookStore{
		createKey: func(ctx context.Context, k spotzee.NewKey, next func(context.Context, spotzee.NewKey) (spotzee.APIKey, error)) (spotzee.APIKey, error) {
			require.NotNil(t, k.Finish, "the store is given the record to finish")
			key, err := next(ctx, k)
			require.NoError(t, err)
			now := time.Now()
			rec, began, err := srv.DB.BeginIdempotent(ctx, spotzee.IdempotencyRecord{APIKeyID: k.Finish.APIKeyID,
				Key: k.Finish.Key, ExpiresAt: now.Add(time.Hour)}, now)
			require.NoError(t, err)
			doneAtCommit = !began && rec.Done && len(rec.Response) > 0
			return key, nil
		},
	}
	srv = newCustomServer(t, hooks, customOptions{})
	c := call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"atomic"}`, Header: idem("tx-1")}
	created, first := createKey(t, srv.target, c.Body, c.Header)
	assert.True(t, doneAtCommit, "the record was finished in the insert's transaction")
	replay := srv.do(t, c)
	requireReplay(t, first, replay)
	assert.Equal(t, created["value"], replay.json(t)["value"])
}

// TestIdempotentOrgKeyCreateReplays: an organisation key create with an
// Idempotency-Key also finishes its record in the insert's transaction
// (spotzee.NewOrgKey.Finish); its replay is the response sent, and no second
// key is made.
func TestIdempotentOrgKeyCreateReplays(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	admin := target{URL: srv.AdminURL, AdminKey: srv.OwnerKey}
	c := call{Method: http.MethodPost, Path: "/organizations/api-keys", Body: `{"name":"ci","role":"member"}`, Header: idem("org-1")}
	first := admin.do(t, c)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	replay := admin.do(t, c)
	requireReplay(t, first, replay)
	assert.Equal(t, first.json(t)["value"], replay.json(t)["value"])
	list := admin.do(t, call{Method: http.MethodGet, Path: "/organizations/api-keys?limit=100"})
	require.Equal(t, http.StatusOK, list.Status, "%s", list.Body)
	assert.Equal(t, 1, strings.Count(string(list.Body), `"name":"ci"`), "no second key: %s", list.Body)
}

// countingIdem is an idempotency store that counts the records finished
// after the handler ran (FinishIdempotent), rather than in the write's own
// transaction.
type countingIdem struct {
	*sqlite.DB
	finishedAfter atomic.Int32
}

func (c *countingIdem) FinishIdempotent(ctx context.Context, apiKeyID int64, key string, begun time.Time, response []byte) error {
	c.finishedAfter.Add(1)
	return c.DB.FinishIdempotent(ctx, apiKeyID, key, begun, response)
}

// TestIdempotentAdminWritesFinishInTheirTransaction: organisation-key PATCH,
// project create and project PATCH (an empty one too) with an
// Idempotency-Key finish their record in the write's transaction (never
// after the handler), and a retry with the same key replays the response
// sent, writing nothing more.
func TestIdempotentAdminWritesFinishInTheirTransaction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	idemStore := &countingIdem{DB: db}
	svc := orgs.New(db, bytes.Repeat([]byte{3}, 32))
	o, err := svc.CreateOrganization(ctx, "acme", nil)
	require.NoError(t, err)
	owner, err := svc.AddKey(ctx, o.ID, orgs.KeyInput{Name: "owner", Role: spotzee.OrgRoleOwner})
	require.NoError(t, err)
	member, err := svc.AddKey(ctx, o.ID, orgs.KeyInput{Name: "member", Role: spotzee.OrgRoleMember})
	require.NoError(t, err)
	p, err := svc.AddProject(ctx, o.ID, orgs.ProjectInput{Name: "Shop"})
	require.NoError(t, err)
	h, err := httpapi.NewHandler(httpapi.Config{
		Service: keys.New(db, bytes.Repeat([]byte{1}, 32)), Orgs: svc, Tiers: db,
		Idempotency: idemStore, IdempotencySecret: bytes.Repeat([]byte{9}, 32),
		ValidateResponses: true, Logger: discardLogger(),
		OnResponseViolation: func(_ *http.Request, v *validate.ResponseViolation) { t.Errorf("response breaks the spec: %v", v) },
	})
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	admin := target{URL: hs.URL + httpapi.AdminPrefix, RootURL: hs.URL, AdminKey: owner.Value}
	countProjects := func() int {
		page, err := svc.ListProjects(ctx, owner.Key, keymaterial.ListInput{})
		require.NoError(t, err)
		return page.Total
	}

	tests := []struct {
		name string
		c    call
	}{
		{"org key PATCH", call{Method: http.MethodPatch, Path: fmt.Sprintf("/organizations/api-keys/%d", member.Key.ID),
			Body: `{"name":"renamed"}`}},
		{"empty org key PATCH", call{Method: http.MethodPatch, Path: fmt.Sprintf("/organizations/api-keys/%d", member.Key.ID),
			Body: `{}`}},
		{"project create", call{Method: http.MethodPost, Path: "/projects",
			Body: `{"name":"Blog","locale":"en","timezone":"UTC"}`}},
		{"project PATCH", call{Method: http.MethodPatch, Path: fmt.Sprintf("/projects/%d", p.ID),
			Body: `{"name":"Shop 2"}`}},
		{"empty project PATCH", call{Method: http.MethodPatch, Path: fmt.Sprintf("/projects/%d", p.ID),
			Body: `{}`}},
	}
	for i, tt := range tests {
		// Not parallel: the steps share the database and its counts.
		tt.c.Header = idem(fmt.Sprintf("admin-%d", i))
		before := countProjects()
		first := admin.do(t, tt.c)
		require.Equal(t, http.StatusOK, first.Status, "%s: %s", tt.name, first.Body)
		assert.Zero(t, idemStore.finishedAfter.Load(), "%s: the record was finished in the write's transaction", tt.name)
		rec, began, err := db.BeginIdempotent(ctx, spotzee.IdempotencyRecord{APIKeyID: -owner.Key.ID, Key: tt.c.Header.Get("Idempotency-Key"),
			ExpiresAt: time.Now().Add(time.Hour)}, time.Now())
		require.NoError(t, err)
		require.False(t, began, tt.name)
		assert.True(t, rec.Done, "%s: done once the write committed", tt.name)
		replay := admin.do(t, tt.c)
		requireReplay(t, first, replay)
		wantProjects := before
		if tt.c.Method == http.MethodPost {
			wantProjects++
		}
		assert.Equal(t, wantProjects, countProjects(), "%s: the retry wrote nothing", tt.name)
	}
}

// takenOverIdem is an idempotency store whose running records have all been
// taken over by a retry by the time their request finishes.
type takenOverIdem struct{ *sqlite.DB }

func (takenOverIdem) FinishIdempotent(context.Context, int64, string, time.Time, []byte) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No running request with this idempotency key.")
}

// TestIdempotencyTakenOverIsAWarning: a request whose record a retry took
// over (after the lease) cannot store its response; that is logged as a
// warning naming the cause, not as an error.
func TestIdempotencyTakenOverIsAWarning(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	cursorKey := bytes.Repeat([]byte{7}, 32)
	b, err := keys.New(db, cursorKey).Bootstrap(ctx, "P", spotzee.TierStarter)
	require.NoError(t, err)
	logs := &syncBuffer{}
	h, err := httpapi.NewHandler(httpapi.Config{
		Service: keys.New(db, cursorKey), Tiers: db, Idempotency: takenOverIdem{db},
		IdempotencySecret: bytes.Repeat([]byte{1}, 32), Logger: newJSONLogger(logs),
	})
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	tg := target{URL: hs.URL + httpapi.APIPrefix, RootURL: hs.URL, AdminKey: b.Admin.Value}

	// A 404 from the handler is stored after it ran (no write to finish it).
	got := tg.do(t, call{Method: http.MethodPatch, Path: keyPath(b.Admin.Key.ID + 100), Body: `{"name":"x"}`, Header: idem("slow")})
	requireProblem(t, got, http.StatusNotFound, spotzee.CodeResourceMissing)
	assert.Contains(t, logs.String(), `"level":"WARN"`)
	assert.Contains(t, logs.String(), "taken over by a retry")
	assert.NotContains(t, logs.String(), `"level":"ERROR"`)
}
