package faults_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/faults"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// sleeps records the client's waits between attempts without sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newClient(t *testing.T, srv *spotzeetest.Server, opts ...client.Option) (*client.API, *sleeps) {
	t.Helper()
	s := &sleeps{}
	c, err := client.New(srv.URL, srv.AdminKey, append([]client.Option{client.WithSleep(s.sleep)}, opts...)...)
	require.NoError(t, err)
	return c, s
}

func countKeys(t *testing.T, c *client.API) int {
	t.Helper()
	list, err := c.ListKeys(t.Context(), nil)
	require.NoError(t, err)
	return len(list.Results)
}

// TestClientSeesEachFaultAsDocumented scripts each fault kind through
// spotzeetest and checks what the Go client (with retries) makes of it.
func TestClientSeesEachFaultAsDocumented(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// script scripts the faults; call makes the client call and checks it.
		script      func(*faults.Injector)
		call        func(t *testing.T, c *client.API, keyID int64) error
		opts        []client.Option
		wantSleeps  []time.Duration // nil: not checked
		wantRetries int             // len(sleeps)
		wantErr     func(t *testing.T, err error)
		wantNewKeys int
		operation   string
		injected    int
	}{
		{
			name: "429 rate_limited honours Retry-After",
			script: func(in *faults.Injector) {
				in.Next("listProjectApiKeys", 2, faults.Error(spotzee.CodeRateLimited, time.Second))
			},
			call: func(t *testing.T, c *client.API, _ int64) error {
				_, err := c.ListKeys(t.Context(), nil)
				return err
			},
			wantSleeps: []time.Duration{time.Second, time.Second}, wantRetries: 2,
			operation: "listProjectApiKeys", injected: 2,
		},
		{
			name: "409 idempotency_in_progress on create is retried after Retry-After",
			script: func(in *faults.Injector) {
				in.Next("createProjectApiKey", 1, faults.Error(spotzee.CodeIdempotencyInProgress, 2*time.Second))
			},
			call: func(t *testing.T, c *client.API, _ int64) error {
				_, err := c.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "in progress"})
				return err
			},
			wantSleeps: []time.Duration{2 * time.Second}, wantRetries: 1, wantNewKeys: 1,
			operation: "createProjectApiKey", injected: 1,
		},
		{
			name: "503 service_unavailable retried for GET",
			script: func(in *faults.Injector) {
				in.Next("getProjectApiKey", 2, faults.Error(spotzee.CodeServiceUnavailable, 0))
			},
			call: func(t *testing.T, c *client.API, id int64) error {
				_, err := c.GetKey(t.Context(), id)
				return err
			},
			wantRetries: 2, operation: "getProjectApiKey", injected: 2,
		},
		{
			name: "503 on a create without an idempotency key is not retried",
			script: func(in *faults.Injector) {
				in.Next("createProjectApiKey", 1, faults.Error(spotzee.CodeServiceUnavailable, 0))
			},
			opts: []client.Option{client.WithAutoIdempotencyKeys(false)},
			call: func(t *testing.T, c *client.API, _ int64) error {
				_, err := c.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "unsafe"})
				return err
			},
			wantErr: func(t *testing.T, err error) {
				var apiErr *client.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
				assert.Equal(t, client.ErrorCodeServiceUnavailable, apiErr.Code)
				assert.Equal(t, 1, apiErr.Attempts)
			},
			operation: "createProjectApiKey", injected: 1,
		},
		{
			name:   "dropped connection retried for GET",
			script: func(in *faults.Injector) { in.Next("getProjectApiKey", 1, faults.Drop()) },
			call: func(t *testing.T, c *client.API, id int64) error {
				_, err := c.GetKey(t.Context(), id)
				return err
			},
			operation: "getProjectApiKey", injected: 1,
		},
		{
			name:   "lost create response recovered by the idempotent replay",
			script: func(in *faults.Injector) { in.Next("createProjectApiKey", 1, faults.LoseResponse()) },
			call: func(t *testing.T, c *client.API, _ int64) error {
				created, err := c.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "lost"})
				if err == nil {
					got, gerr := c.GetKey(t.Context(), created.ID)
					require.NoError(t, gerr)
					assert.Equal(t, "lost", got.Name)
					assert.Regexp(t, `^sk_[0-9A-Z]{26}$`, created.Value, "the replay carries the full value")
				}
				return err
			},
			wantNewKeys: 1, operation: "createProjectApiKey", injected: 1,
		},
		{
			name:   "added latency",
			script: func(in *faults.Injector) { in.Next("getProjectApiKey", 1, faults.Delay(60*time.Millisecond)) },
			call: func(t *testing.T, c *client.API, id int64) error {
				start := time.Now()
				_, err := c.GetKey(t.Context(), id)
				assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
				return err
			},
			operation: "getProjectApiKey", injected: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := spotzeetest.NewServer(t)
			c, s := newClient(t, srv, tt.opts...)
			k, err := c.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "existing"})
			require.NoError(t, err)
			before := countKeys(t, c)

			tt.script(srv.Faults())
			err = tt.call(t, c, k.ID)
			if tt.wantErr != nil {
				tt.wantErr(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.injected, srv.Faults().Injected(tt.operation))
			assert.Empty(t, srv.Faults().Rules(), "every scripted fault was used")
			if tt.wantSleeps != nil {
				assert.Equal(t, tt.wantSleeps, s.list())
			} else if tt.wantRetries > 0 {
				assert.Len(t, s.list(), tt.wantRetries)
			}
			assert.Equal(t, before+tt.wantNewKeys, countKeys(t, c), "keys created")
		})
	}
}

func TestErrorFaultResponse(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	srv.Faults().Next(faults.AnyOperation, 1, faults.Error(spotzee.CodeRateLimited, 200*time.Millisecond))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/keys", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "1", resp.Header.Get("Retry-After"), "rounded up to whole seconds")
	assert.Regexp(t, `^req_`, resp.Header.Get("X-Request-Id"))
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "rate_limited", body["code"])
	assert.Equal(t, "error", body["status"])
}

// TestSometimesIsReproducible checks that a probability rule with a seed
// fails the same calls on every run.
func TestSometimesIsReproducible(t *testing.T) {
	t.Parallel()
	pattern := func() string {
		in, err := faults.New(nil)
		require.NoError(t, err)
		in.Sometimes("getProjectApiKey", 0.5, 42, faults.Error(spotzee.CodeServiceUnavailable, 0))
		h := in.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
		var b strings.Builder
		for range 40 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/client/keys/1", nil))
			if w.Code == http.StatusOK {
				b.WriteByte('.')
			} else {
				b.WriteByte('x')
			}
		}
		assert.Equal(t, strings.Count(b.String(), "x"), in.Injected("getProjectApiKey"))
		return b.String()
	}
	first := pattern()
	assert.Equal(t, first, pattern())
	assert.Contains(t, first, "x")
	assert.Contains(t, first, ".")
}

func TestOtherOperationsAndPathsPassThrough(t *testing.T) {
	t.Parallel()
	in, err := faults.New(nil)
	require.NoError(t, err)
	in.Next("getProjectApiKey", 1, faults.Drop())
	h := in.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, path := range []string{"/api/client/keys", "/healthz", "/api/client/keys/1/nothing"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusNoContent, w.Code, path)
	}
	assert.Len(t, in.Rules(), 1)
}

func TestAddRefusesBadRules(t *testing.T) {
	t.Parallel()
	ok := faults.Error(spotzee.CodeRateLimited, time.Second)
	tests := []struct {
		name string
		rule faults.Rule
	}{
		{name: "unknown operation", rule: faults.Rule{Operation: "nope", Times: 1, Fault: ok}},
		{name: "neither times nor probability", rule: faults.Rule{Operation: "getProjectApiKey", Fault: ok}},
		{name: "probability above 1", rule: faults.Rule{Operation: "getProjectApiKey", Probability: 1.5, Fault: ok}},
		{name: "unknown code", rule: faults.Rule{Operation: "getProjectApiKey", Times: 1, Fault: faults.Error("teapot", 0)}},
		{name: "unknown kind", rule: faults.Rule{Operation: "getProjectApiKey", Times: 1, Fault: faults.Fault{Kind: "explode"}}},
		{name: "no delay", rule: faults.Rule{Operation: "getProjectApiKey", Times: 1, Fault: faults.Delay(0)}},
		{name: "negative retry-after", rule: faults.Rule{Operation: "getProjectApiKey", Times: 1, Fault: faults.Error(spotzee.CodeRateLimited, -time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := faults.New(nil)
			require.NoError(t, err)
			assert.Error(t, in.Add(faults.Rule{Operation: "getProjectApiKey", Times: 1, Fault: ok}, tt.rule))
			assert.Empty(t, in.Rules(), "nothing added")
			assert.Panics(t, func() { in.Next(tt.rule.Operation, tt.rule.Times, tt.rule.Fault) }, "Next panics on a bad rule") // Times may be 0
		})
	}
}

func TestOperatorEndpoint(t *testing.T) {
	t.Parallel()
	in, err := faults.New(nil)
	require.NoError(t, err)
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	hs := httptest.NewServer(in.Mux(api))
	t.Cleanup(hs.Close)
	do := func(method, body string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, hs.URL+faults.EndpointPath, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	tests := []struct {
		name, method, body string
		wantStatus         int
		wantRules          int
	}{
		{name: "add", method: http.MethodPost, body: `{"rules":[{"operation":"getProjectApiKey","times":2,"fault":{"kind":"error","code":"rate_limited","retry_after":"1s"}}]}`, wantStatus: 200, wantRules: 1},
		{name: "add another", method: http.MethodPost, body: `{"rules":[{"operation":"*","probability":0.1,"seed":3,"fault":{"kind":"delay","delay":"5ms"}}]}`, wantStatus: 200, wantRules: 2},
		{name: "bad JSON", method: http.MethodPost, body: `{"rules":`, wantStatus: 400, wantRules: 2},
		{name: "unknown field", method: http.MethodPost, body: `{"rulez":[]}`, wantStatus: 400, wantRules: 2},
		{name: "bad rule with reset changes nothing", method: http.MethodPost, body: `{"reset":true,"rules":[{"operation":"x","times":1,"fault":{"kind":"drop"}}]}`, wantStatus: 400, wantRules: 2},
		{name: "state", method: http.MethodGet, wantStatus: 200, wantRules: 2},
		{name: "reset and add", method: http.MethodPost, body: `{"reset":true,"rules":[{"operation":"listProjectApiKeys","times":1,"fault":{"kind":"drop"}}]}`, wantStatus: 200, wantRules: 1},
		{name: "method", method: http.MethodPut, wantStatus: 405, wantRules: 1},
		{name: "clear", method: http.MethodDelete, wantStatus: 204, wantRules: 0},
	}
	for _, tt := range tests { // sequential: one injector
		status, body := do(tt.method, tt.body)
		assert.Equal(t, tt.wantStatus, status, tt.name+": "+body)
		if status == http.StatusOK {
			var st faults.State
			require.NoError(t, json.Unmarshal([]byte(body), &st), tt.name)
			assert.Len(t, st.Rules, tt.wantRules, tt.name)
		}
		assert.Len(t, in.Rules(), tt.wantRules, tt.name)
	}

	// A scripted fault reaches the API behind the endpoint.
	in.Next("getProjectApiKey", 1, faults.Error(spotzee.CodeServiceUnavailable, 0))
	resp, err := http.Get(hs.URL + "/api/client/keys/1")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	var f faults.Fault
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"delay","delay":"250ms","retry_after":1000000000}`), &f))
	assert.Equal(t, faults.Delay(250*time.Millisecond).Delay, f.Delay)
	assert.Equal(t, faults.Duration(time.Second), f.RetryAfter)
	b, err := json.Marshal(faults.Delay(time.Second))
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"delay","delay":"1s"}`, string(b))
	assert.Error(t, json.Unmarshal([]byte(`{"delay":"soon"}`), &f))
	assert.Error(t, json.Unmarshal([]byte(`{"delay":true}`), &f))
}
