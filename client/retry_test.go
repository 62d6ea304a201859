package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/faults"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

const uuidV4Pattern = `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`

// TestRetryMatrix pins down which method × response combinations are
// retried: with a server that always answers the same way, a retried call
// makes MaxAttempts (4) attempts and any other call exactly one.
func TestRetryMatrix(t *testing.T) {
	t.Parallel()
	callers := []struct {
		name     string
		op       string
		opts     []client.Option
		callOpts []client.CallOption
		safe     bool // retried on transient failures
		keyed    bool // sends an Idempotency-Key
	}{
		{name: "GET list", op: "list", safe: true},
		{name: "GET one", op: "get", safe: true},
		{name: "DELETE", op: "revoke", safe: true},
		{name: "POST generated key", op: "create", safe: true, keyed: true},
		{name: "POST caller key", op: "create", callOpts: []client.CallOption{client.WithIdempotencyKey("k-1")}, safe: true, keyed: true},
		{name: "POST no key", op: "create", opts: []client.Option{client.WithAutoIdempotencyKeys(false)}},
		{name: "PATCH generated key", op: "update", safe: true, keyed: true},
		{name: "PATCH caller key", op: "update", callOpts: []client.CallOption{client.WithIdempotencyKey("k-2")}, safe: true, keyed: true},
		{name: "PATCH no key", op: "update", opts: []client.Option{client.WithAutoIdempotencyKeys(false)}},
	}
	kinds := []struct {
		name       string
		rep        reply
		transient  bool // 5xx, 429, network error
		inProgress bool // 409 idempotency_in_progress
	}{
		{name: "2xx", rep: reply{}},
		{name: "500", rep: reply{status: 500, code: client.ErrorCodeInternalError}, transient: true},
		{name: "502 HTML", rep: reply{status: 502, body: "<html>Bad Gateway</html>", header: map[string]string{"Content-Type": "text/html"}}, transient: true},
		{name: "503", rep: reply{status: 503, code: client.ErrorCodeServiceUnavailable}, transient: true},
		{name: "504 empty", rep: reply{status: 504, body: " "}, transient: true},
		{name: "429", rep: reply{status: 429, code: client.ErrorCodeRateLimited, header: map[string]string{"Retry-After": "1"}}, transient: true},
		{name: "network error", rep: reply{drop: true}, transient: true},
		{name: "400", rep: reply{status: 400, code: client.ErrorCodeParameterInvalidFormat}},
		{name: "400 idempotency_key_invalid", rep: reply{status: 400, code: client.ErrorCodeIdempotencyKeyInvalid}},
		{name: "401", rep: reply{status: 401, code: client.ErrorCodeAuthenticationRequired}},
		{name: "402", rep: reply{status: 402, code: client.ErrorCodeQuotaExceeded}},
		{name: "403", rep: reply{status: 403, code: client.ErrorCodePermissionDenied}},
		{name: "404", rep: reply{status: 404, code: client.ErrorCodeResourceMissing}},
		{name: "409 state_conflict", rep: reply{status: 409, code: client.ErrorCodeStateConflict}},
		{name: "409 resource_already_exists", rep: reply{status: 409, code: client.ErrorCodeResourceAlreadyExists}},
		{name: "409 idempotency_key_mismatch", rep: reply{status: 409, code: client.ErrorCodeIdempotencyKeyMismatch}},
		{name: "409 idempotency_in_progress", rep: reply{status: 409, code: client.ErrorCodeIdempotencyInProgress, header: map[string]string{"Retry-After": "1"}}, inProgress: true},
		{name: "422", rep: reply{status: 422, code: client.ErrorCodeValidationFailed}},
	}
	for _, cl := range callers {
		for _, k := range kinds {
			t.Run(cl.name+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				srv := newFaultServer(t, k.rep)
				c, _ := newTestAPI(t, srv.Server, cl.opts...)

				err := call(t.Context(), c, cl.op, cl.callOpts...)

				want := 1
				if cl.safe && k.transient || cl.keyed && k.inProgress {
					want = client.DefaultRetryPolicy().MaxAttempts
				}
				assert.Equal(t, want, srv.count(), "attempts")
				for i, r := range srv.requests() {
					assert.Equal(t, cl.keyed, r.header.Get("Idempotency-Key") != "", "attempt %d: Idempotency-Key sent", i+1)
				}
				if k.name == "2xx" {
					assert.NoError(t, err)
					return
				}
				require.Error(t, err)
				var apiErr *client.APIError
				if k.rep.drop {
					assert.False(t, errors.As(err, &apiErr), "a network error is not an APIError: %v", err)
					return
				}
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, want, apiErr.Attempts)
				assert.Equal(t, k.rep.status, apiErr.StatusCode)
			})
		}
	}
}

func TestIdempotencyKeySameOnEveryAttemptNewPerCall(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"create", "update"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t,
				reply{status: 503, code: client.ErrorCodeServiceUnavailable},
				reply{drop: true},
				reply{status: 409, code: client.ErrorCodeIdempotencyInProgress, header: map[string]string{"Retry-After": "0"}},
				reply{status: 429, code: client.ErrorCodeRateLimited},
				reply{}, // first call succeeds at attempt 5...
			)
			c, _ := newTestAPI(t, srv.Server, client.WithMaxAttempts(5))

			require.NoError(t, call(t.Context(), c, op))
			require.NoError(t, call(t.Context(), c, op)) // ...the second at once

			reqs := srv.requests()
			require.Len(t, reqs, 6)
			first := reqs[0].header.Get("Idempotency-Key")
			assert.Regexp(t, uuidV4Pattern, first)
			for i, r := range reqs[:5] {
				assert.Equal(t, first, r.header.Get("Idempotency-Key"), "attempt %d", i+1)
			}
			assert.Regexp(t, uuidV4Pattern, reqs[5].header.Get("Idempotency-Key"))
			assert.NotEqual(t, first, reqs[5].header.Get("Idempotency-Key"), "a new call gets a new key")
		})
	}
}

func TestCallerIdempotencyKeyUsedAsIs(t *testing.T) {
	t.Parallel()
	const key = "order-42/create key"
	for _, op := range []string{"create", "update"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, reply{status: 500, code: client.ErrorCodeInternalError}, reply{drop: true}, reply{})
			c, _ := newTestAPI(t, srv.Server, client.WithAutoIdempotencyKeys(false))

			require.NoError(t, call(t.Context(), c, op, client.WithIdempotencyKey(key)))

			reqs := srv.requests()
			require.Len(t, reqs, 3)
			for i, r := range reqs {
				assert.Equal(t, []string{key}, r.header.Values("Idempotency-Key"), "attempt %d", i+1)
			}
		})
	}
}

func TestInvalidCallerIdempotencyKeySendsNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
	}{
		{"empty", ""},
		{"256 characters", strings.Repeat("k", 256)},
		{"newline", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t)
			c, _ := newTestAPI(t, srv.Server)
			for _, op := range []string{"create", "update"} {
				err := call(t.Context(), c, op, client.WithIdempotencyKey(tt.key))
				assert.ErrorContains(t, err, "invalid idempotency key", op)
			}
			assert.Zero(t, srv.count())
		})
	}
}

func TestNoIdempotencyKeyOnReadsAndDeletes(t *testing.T) {
	t.Parallel()
	srv := newFaultServer(t, reply{status: 503, code: client.ErrorCodeServiceUnavailable}, reply{})
	c, _ := newTestAPI(t, srv.Server)
	for _, op := range []string{"list", "get", "revoke"} {
		require.NoError(t, call(t.Context(), c, op))
	}
	for _, r := range srv.requests() {
		assert.Empty(t, r.header.Values("Idempotency-Key"), "%s %s", r.method, r.path)
	}
}

func TestRequestBodyIdenticalOnEveryAttempt(t *testing.T) {
	t.Parallel()
	create := client.ProjectAPIKeyCreate{
		Name:        "billing",
		Description: nullable.NewNullableWithValue("Used by the billing service"),
		Role:        new(client.ProjectRoleEditor),
		Scope:       new(client.APIKeyScopePublic),
	}
	update := client.ProjectAPIKeyUpdate{Name: new("renamed"), Description: nullable.NewNullNullable[string]()}
	tests := []struct {
		name string
		send func(context.Context, *client.API) error
		want string
	}{
		{
			name: "POST",
			send: func(ctx context.Context, c *client.API) error { _, err := c.CreateKey(ctx, create); return err },
			want: `{"description":"Used by the billing service","name":"billing","role":"editor","scope":"public"}`,
		},
		{
			name: "PATCH",
			send: func(ctx context.Context, c *client.API) error { _, err := c.UpdateKey(ctx, 12, update); return err },
			want: `{"description":null,"name":"renamed"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t,
				reply{status: 500, code: client.ErrorCodeInternalError},
				reply{drop: true},
				reply{status: 429, code: client.ErrorCodeRateLimited, header: map[string]string{"Retry-After": "0"}},
				reply{},
			)
			c, _ := newTestAPI(t, srv.Server)

			require.NoError(t, tt.send(t.Context(), c))

			reqs := srv.requests()
			require.Len(t, reqs, 4)
			for i, r := range reqs {
				assert.JSONEq(t, tt.want, string(r.body), "attempt %d", i+1)
				assert.Equal(t, string(reqs[0].body), string(r.body), "attempt %d: byte-identical", i+1)
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	identity := client.WithJitter(func(c time.Duration) time.Duration { return c })
	tests := []struct {
		name   string
		op     string
		first  reply
		delays []time.Duration
	}{
		// 429, 503 and 409 idempotency_in_progress with whole seconds:
		// TestRetryAfterHonouredAgainstInjectedFaults.
		{"zero", "update", reply{status: 429, code: client.ErrorCodeRateLimited, header: map[string]string{"Retry-After": "0"}}, []time.Duration{0}},
		{"malformed falls back to backoff", "revoke", reply{status: 429, code: client.ErrorCodeRateLimited, header: map[string]string{"Retry-After": "soon"}}, []time.Duration{200 * time.Millisecond}},
		{"absent: backoff", "list", reply{status: 500, code: client.ErrorCodeInternalError}, []time.Duration{200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, tt.first, reply{})
			c, sl := newTestAPI(t, srv.Server, identity)

			require.NoError(t, call(t.Context(), c, tt.op))

			assert.Equal(t, tt.delays, sl.recorded())
			assert.Equal(t, 2, srv.count())
		})
	}

	t.Run("HTTP date", func(t *testing.T) {
		t.Parallel()
		at := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
		srv := newFaultServer(t, reply{status: 503, code: client.ErrorCodeServiceUnavailable, header: map[string]string{"Retry-After": at}}, reply{})
		c, sl := newTestAPI(t, srv.Server)
		require.NoError(t, call(t.Context(), c, "get"))
		got := sl.recorded()
		require.Len(t, got, 1)
		assert.InDelta(t, 30*time.Second, got[0], float64(2*time.Second))
	})

	t.Run("longer than MaxRetryAfter is not waited for", func(t *testing.T) {
		t.Parallel()
		srv := newFaultServer(t, reply{status: 429, code: client.ErrorCodeRateLimited, header: map[string]string{"Retry-After": "120"}}, reply{})
		c, sl := newTestAPI(t, srv.Server)

		err := call(t.Context(), c, "list")

		var apiErr *client.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.ErrorIs(t, err, client.ErrRateLimited)
		assert.Equal(t, 120*time.Second, apiErr.RetryAfter)
		assert.Equal(t, 1, srv.count())
		assert.Empty(t, sl.recorded())
	})
}

// TestRetryAfterHonouredAgainstInjectedFaults has the reference server
// answer each retryable catalogue error once (faults injected through
// spotzeetest) and checks the client waits the Retry-After, then succeeds.
func TestRetryAfterHonouredAgainstInjectedFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		operation string
		code      spotzee.Code
		after     time.Duration
		call      func(ctx context.Context, c *client.API, id int64) error
	}{
		{"429 seconds", "listProjectApiKeys", spotzee.CodeRateLimited, 7 * time.Second,
			func(ctx context.Context, c *client.API, _ int64) error { _, err := c.ListKeys(ctx, nil); return err }},
		{"503 seconds", "getProjectApiKey", spotzee.CodeServiceUnavailable, 2 * time.Second,
			func(ctx context.Context, c *client.API, id int64) error { _, err := c.GetKey(ctx, id); return err }},
		{"409 in progress", "createProjectApiKey", spotzee.CodeIdempotencyInProgress, time.Second,
			func(ctx context.Context, c *client.API, _ int64) error {
				_, err := c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "ci"})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := spotzeetest.NewServer(t)
			sl := &sleeper{}
			c, err := client.New(srv.URL, srv.AdminKey, client.WithSleep(sl.sleep),
				client.WithJitter(func(c time.Duration) time.Duration { return c }))
			require.NoError(t, err)
			k, err := c.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "existing"})
			require.NoError(t, err)
			srv.Faults().Next(tt.operation, 1, faults.Error(tt.code, tt.after))

			require.NoError(t, tt.call(t.Context(), c, k.ID))

			assert.Equal(t, []time.Duration{tt.after}, sl.recorded())
			assert.Equal(t, 1, srv.Faults().Injected(tt.operation))
		})
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name   string
		policy client.RetryPolicy
		want   []time.Duration
	}{
		{
			name:   "default policy",
			policy: func() client.RetryPolicy { p := client.DefaultRetryPolicy(); p.MaxAttempts = 8; return p }(),
			want:   []time.Duration{200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms},
		},
		{
			name:   "custom base and cap",
			policy: client.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second},
			want:   []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second},
		},
		{
			name:   "zero base",
			policy: client.RetryPolicy{MaxAttempts: 3},
			want:   []time.Duration{0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, reply{status: 500, code: client.ErrorCodeInternalError})
			// The jitter hook returns the ceiling: the largest delay full
			// jitter may pick.
			c, sl := newTestAPI(t, srv.Server, client.WithRetryPolicy(tt.policy),
				client.WithJitter(func(c time.Duration) time.Duration { return c }))

			err := call(t.Context(), c, "list")

			require.Error(t, err)
			assert.Equal(t, tt.want, sl.recorded())
			assert.Equal(t, tt.policy.MaxAttempts, srv.count())
		})
	}

	t.Run("real jitter stays under the ceiling", func(t *testing.T) {
		t.Parallel()
		p := client.DefaultRetryPolicy()
		p.MaxAttempts = 10
		srv := newFaultServer(t, reply{status: 503, code: client.ErrorCodeServiceUnavailable})
		c, sl := newTestAPI(t, srv.Server, client.WithRetryPolicy(p))

		require.Error(t, call(t.Context(), c, "get"))

		got := sl.recorded()
		require.Len(t, got, 9)
		for i, d := range got {
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, client.BackoffCeiling(p, i+1), "retry %d", i+1)
		}
	})
}

func TestBackoffCeilingDoesNotOverflow(t *testing.T) {
	t.Parallel()
	p := client.DefaultRetryPolicy()
	for _, n := range []int{1, 2, 10, 63, 64, 1000} {
		c := client.BackoffCeiling(p, n)
		assert.Positive(t, c, "n=%d", n)
		assert.LessOrEqual(t, c, p.MaxDelay, "n=%d", n)
	}
}

func TestFullJitterRange(t *testing.T) {
	t.Parallel()
	const ceiling = 100 * time.Millisecond
	distinct := map[time.Duration]bool{}
	for range 1000 {
		d := client.FullJitter(ceiling)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, ceiling)
		distinct[d] = true
	}
	assert.Greater(t, len(distinct), 100, "delays are random")
	assert.Zero(t, client.FullJitter(0))
}

func TestCancellationStopsRetrying(t *testing.T) {
	t.Parallel()

	t.Run("cancelled during a fake sleep", func(t *testing.T) {
		t.Parallel()
		srv := newFaultServer(t, reply{status: 429, code: client.ErrorCodeRateLimited, header: map[string]string{"Retry-After": "3"}})
		ctx, cancel := context.WithCancel(t.Context())
		c, err := client.New(srv.URL, testKey, client.WithHTTPClient(srv.Client()),
			client.WithSleep(func(ctx context.Context, _ time.Duration) error {
				cancel()
				return ctx.Err()
			}))
		require.NoError(t, err)

		err = call(ctx, c, "list")

		require.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, client.ErrRateLimited, "the last failure stays inspectable")
		var apiErr *client.APIError
		assert.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 1, srv.count())
	})

	t.Run("cancelled during the real sleep", func(t *testing.T) {
		t.Parallel()
		srv := newFaultServer(t, reply{status: 429, code: client.ErrorCodeRateLimited, header: map[string]string{"Retry-After": "30"}})
		ctx, cancel := context.WithCancel(t.Context())
		var waited time.Duration
		c, err := client.New(srv.URL, testKey, client.WithHTTPClient(srv.Client()),
			client.WithSleep(func(ctx context.Context, d time.Duration) error {
				waited = d
				time.AfterFunc(20*time.Millisecond, cancel)
				return client.SleepContext(ctx, d) // the SDK's own sleep
			}))
		require.NoError(t, err)

		start := time.Now()
		err = call(ctx, c, "create")

		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 5*time.Second, "returns promptly")
		assert.Equal(t, 30*time.Second, waited)
		assert.Equal(t, 1, srv.count())
	})

	// Without WithSleep: the context must cut the default sleep or the
	// attempt short.
	realSleep := []struct {
		name    string
		op      string
		rep     reply
		ctx     func(t *testing.T) (context.Context, func(n int))
		wantErr error
	}{
		{
			name: "deadline while waiting for Retry-After",
			op:   "get",
			rep:  reply{status: 503, code: client.ErrorCodeServiceUnavailable, header: map[string]string{"Retry-After": "30"}},
			ctx: func(t *testing.T) (context.Context, func(int)) {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				t.Cleanup(cancel)
				return ctx, nil
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "cancel during an attempt",
			op:   "get",
			rep:  reply{block: true},
			ctx: func(t *testing.T) (context.Context, func(int)) {
				ctx, cancel := context.WithCancel(t.Context())
				return ctx, func(int) { go func() { time.Sleep(20 * time.Millisecond); cancel() }() }
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range realSleep {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, hook := tt.ctx(t)
			srv := newHookedFaultServer(t, hook, tt.rep)
			c, err := client.New(srv.URL, testKey, client.WithHTTPClient(srv.Client()))
			require.NoError(t, err)

			start := time.Now()
			err = call(ctx, c, tt.op)

			assert.ErrorIs(t, err, tt.wantErr)
			assert.Less(t, time.Since(start), 5*time.Second, "returns promptly")
			assert.Equal(t, 1, srv.count(), "no attempt after the context ended")
		})
	}
}

func TestAttemptCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []client.Option
		wantN      int
		wantStatus int
	}{
		{"one attempt disables retries", []client.Option{client.WithMaxAttempts(1)}, 1, 500},
		{"two", []client.Option{client.WithMaxAttempts(2)}, 2, 502},
		{"default four", nil, 4, 504},
		{"policy of six", []client.Option{client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 6})}, 6, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t,
				reply{status: 500, code: client.ErrorCodeInternalError},
				reply{status: 502, body: "bad gateway"},
				reply{status: 503, code: client.ErrorCodeServiceUnavailable},
				reply{status: 504, body: ""},
				reply{status: 429, code: client.ErrorCodeRateLimited},
			)
			c, sl := newTestAPI(t, srv.Server, tt.opts...)

			err := call(t.Context(), c, "get")

			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.wantN, srv.count())
			assert.Equal(t, tt.wantN, apiErr.Attempts)
			assert.Equal(t, tt.wantStatus, apiErr.StatusCode, "the last response's error")
			assert.Len(t, sl.recorded(), tt.wantN-1)
		})
	}
}

func TestNetworkErrorsExhausted(t *testing.T) {
	t.Parallel()
	srv := newFaultServer(t, reply{drop: true})
	c, _ := newTestAPI(t, srv.Server)

	err := call(t.Context(), c, "list")

	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 4 attempts")
	var apiErr *client.APIError
	assert.False(t, errors.As(err, &apiErr))
	assert.Equal(t, 4, srv.count())
	assertNoKey(t, err.Error())
}

func TestPerAttemptTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		op      string
		opts    []client.Option
		wantN   int
		wantErr bool
	}{
		{"GET retried after a timeout", "get", nil, 2, false},
		{"POST with key retried after a timeout", "create", nil, 2, false},
		{"POST without key not retried", "create", []client.Option{client.WithAutoIdempotencyKeys(false)}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, reply{block: true}, reply{})
			c, _ := newTestAPI(t, srv.Server, append([]client.Option{client.WithTimeout(50 * time.Millisecond)}, tt.opts...)...)

			err := call(t.Context(), c, tt.op)

			assert.Equal(t, tt.wantN, srv.count())
			if tt.wantErr {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// TestSuccessAfterRetriesDecodes checks the body of the answer that finally
// succeeds is the one decoded.
func TestSuccessAfterRetriesDecodes(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(keyJSON(77, "after retries"))
	require.NoError(t, err)
	srv := newFaultServer(t, reply{status: 503, code: client.ErrorCodeServiceUnavailable}, reply{drop: true}, reply{body: string(b)})
	c, _ := newTestAPI(t, srv.Server)

	key, err := c.GetKey(t.Context(), 77)

	require.NoError(t, err)
	assert.Equal(t, int64(77), key.ID)
	assert.Equal(t, "after retries", key.Name)
	assert.Equal(t, 3, srv.count())
}

// TestPermanentTransportErrorsAreNotRetried shows an error a retry cannot
// change (here a transport refusing the request) is returned after one
// attempt, while a dropped connection is retried.
func TestPermanentTransportErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		attempts int
	}{
		{"refused by the transport", errors.New("validate: request breaks the spec"), 1},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, 4},
		{"unexpected EOF", io.ErrUnexpectedEOF, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
				calls.Add(1)
				return nil, tt.err
			})
			api, err := client.New("http://127.0.0.1:1/api/client", "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2",
				client.WithTransport(rt), client.WithSleep(func(context.Context, time.Duration) error { return nil }))
			require.NoError(t, err)
			_, err = api.GetKey(t.Context(), 12)
			require.Error(t, err)
			assert.Equal(t, int32(tt.attempts), calls.Load())
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
