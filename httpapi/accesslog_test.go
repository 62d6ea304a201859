package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// accessLines returns the access-log records ("msg":"request") in logs.
func accessLines(t testing.TB, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "log line %q", line)
		if rec["msg"] == "request" {
			out = append(out, rec)
		}
	}
	return out
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	srv := spotzeetest.NewServer(t,
		spotzeetest.WithLogger(newJSONLogger(logs)),
		spotzeetest.WithRateLimits(ratelimit.Config{Override: &ratelimit.Limits{ReadPerWindow: 100, WritePerWindow: 2}, Now: newFakeClock().Now}))
	const unknownKey = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"

	created, first := createKey(t, targetOf(srv), `{"name":"logged","role":"admin"}`, idem("log-1"))
	value := created["value"].(string)
	id := idOf(t, created)
	responses := []response{first}
	for _, c := range []call{
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"logged","role":"admin"}`, Header: idem("log-1")}, // replay
		{Method: http.MethodGet, Path: "/keys?q=logged"},
		{Method: http.MethodGet, Path: keyPath(id), Auth: "Bearer " + value},
		{Method: http.MethodGet, Path: "/keys/999999"},
		{Method: http.MethodGet, Path: "/keys", Auth: "Bearer " + unknownKey},
		{Method: http.MethodGet, Path: "/keys", Auth: "Basic " + srv.AdminKey},
		{Method: http.MethodGet, Path: "/keys", NoAuth: true},
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"over the write limit"}`},
		{Method: http.MethodGet, Path: "/keys", Header: hdr("Spotzee-Version", "latest")},
		{Method: http.MethodPut, Path: "/keys/1"},
		{Method: http.MethodGet, Path: "/nope", Root: true},
		{Method: http.MethodGet, Path: "/healthz", Root: true, NoAuth: true},
	} {
		responses = append(responses, do(t, srv, c))
	}
	require.Equal(t, http.StatusTooManyRequests, responses[8].Status)

	var lines []map[string]any
	require.Eventually(t, func() bool {
		lines = accessLines(t, logs.String())
		return len(lines) >= len(responses)
	}, waitFor, tick)
	require.Len(t, lines, len(responses), "one access line per request")

	byID := map[string]map[string]any{}
	for _, l := range lines {
		id, _ := l["request_id"].(string)
		assert.Regexp(t, requestIDPattern, id)
		assert.NotContains(t, byID, id, "one line per request id")
		byID[id] = l
		assert.Equal(t, "INFO", l["level"])
		for _, f := range []string{"method", "path", "status", "duration", "client_type"} {
			assert.Contains(t, l, f)
		}
	}
	for i, r := range responses {
		id := r.requestID()
		if r.Header.Get("Idempotent-Replayed") == "true" {
			// A replay answers with the original's request id; its own line
			// has its own id and points at the original.
			var replay map[string]any
			for _, l := range lines {
				if l["replay_of"] == id {
					replay = l
				}
			}
			require.NotNil(t, replay, "the replay's line names the original")
			assert.NotEqual(t, id, replay["request_id"])
			continue
		}
		l, ok := byID[id]
		require.True(t, ok, "response %d: no access line for %s", i, id)
		assert.EqualValues(t, r.Status, l["status"], "response %d", i)
	}

	all := logs.String()
	for _, secret := range []string{srv.AdminKey, value, unknownKey, "Bearer", "Basic", "Authorization", "authorization"} {
		assert.NotContains(t, all, secret)
	}
}

// TestClientClosedRequest: a client that goes away while its request runs
// is logged as 499 "client closed request" at info level, and no 500 or
// error is logged.
func TestClientClosedRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    call
	}{
		{"create", call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"gone"}`}},
		{"create with an idempotency key", call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"gone"}`, Header: idem("gone-1")}},
		{"list", call{Method: http.MethodGet, Path: "/keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entered := make(chan struct{})
			// The store blocks until the request's context ends, then fails
			// with its error, as SQLite does when interrupted.
			block := func(ctx context.Context) error {
				close(entered)
				<-ctx.Done()
				return fmt.Errorf("sqlite: interrupted: %w", ctx.Err())
			}
			hooks := &hookStore{
				createKey: func(ctx context.Context, _ spotzee.NewKey, _ func(context.Context, spotzee.NewKey) (spotzee.APIKey, error)) (spotzee.APIKey, error) {
					return spotzee.APIKey{}, block(ctx)
				},
				listKeys: func(ctx context.Context, _ spotzee.ListQuery) (spotzee.KeyPage, error) {
					return spotzee.KeyPage{}, block(ctx)
				},
			}
			logs := &syncBuffer{}
			srv := newCustomServer(t, hooks, customOptions{logger: newJSONLogger(logs)})

			ctx, cancel := context.WithCancel(t.Context())
			req := srv.request(t, tt.c).WithContext(ctx)
			done := make(chan error, 1)
			go func() {
				resp, err := httpClient.Do(req)
				if err == nil {
					_ = resp.Body.Close()
				}
				done <- err
			}()
			<-entered
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)

			var lines []map[string]any
			require.Eventually(t, func() bool {
				lines = accessLines(t, logs.String())
				return len(lines) == 1
			}, waitFor, tick)
			assert.EqualValues(t, 499, lines[0]["status"])
			assert.Equal(t, "INFO", lines[0]["level"])
			assert.Equal(t, "client closed request", lines[0]["note"])
			assert.NotContains(t, logs.String(), `"level":"ERROR"`)
			assert.NotContains(t, logs.String(), `"status":500`)
			assert.Contains(t, logs.String(), "client closed request")
		})
	}
}
