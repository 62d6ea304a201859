package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
