package spotzeetest_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/validate"
)

var (
	secretValue = regexp.MustCompile(`^sk_[0-9A-HJKMNP-TV-Z]{26}$`)
	publicValue = regexp.MustCompile(`^pk_[0-9A-HJKMNP-TV-Z]{26}$`)
	maskedValue = regexp.MustCompile(`^(sk|pk)_\*{4}[0-9A-HJKMNP-TV-Z]{4}$`)
	requestID   = regexp.MustCompile(`^req_[0-9A-HJKMNP-TV-Z]{26}$`)
)

// clock is a controllable server clock: every reading advances it by step
// (zero freezes it), so timestamps are distinct and ordered unless a test
// asks for ties. It starts off UTC and with nanoseconds, so that the server's
// normalisation (UTC, microseconds) is observable.
type clock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func newClock() *clock {
	return &clock{
		now:  time.Date(2026, 4, 28, 11, 30, 0, 123456789, time.FixedZone("CEST", 2*3600)),
		step: 1500 * time.Microsecond,
	}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

// freeze stops the clock (step 0) until the returned function restarts it.
func (c *clock) freeze() (resume func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	step := c.step
	c.step = 0
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.step = step
		c.now = c.now.Add(time.Second)
	}
}

func ptr[T any](v T) *T { return &v }

func masked(value string) string { return value[:3] + "****" + value[len(value)-4:] }

// problemOf decodes and checks an error response: problem+json, the
// catalogue status and code, and a request id equal to the header's.
func problemOf(t *testing.T, resp *http.Response, body []byte, status int, code client.ErrorCode) client.ErrorResponse {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var e client.ErrorResponse
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, code, e.Code, "message: %s", e.Message)
	assert.Equal(t, client.ErrorResponseStatus("error"), e.Status)
	require.NotNil(t, e.RequestID, "the reference server always sends request_id")
	assert.Regexp(t, requestID, *e.RequestID)
	assert.Equal(t, resp.Header.Get("X-Request-Id"), *e.RequestID)
	assert.Equal(t, e.Message, e.Error, "error mirrors message")
	return e
}

func paramOf(e client.ErrorResponse) string {
	if e.Param == nil {
		return ""
	}
	return *e.Param
}

func create(t *testing.T, c *client.ClientWithResponses, req client.ProjectAPIKeyCreate) client.ProjectAPIKeyCreated {
	t.Helper()
	resp, err := c.CreateProjectAPIKeyWithResponse(t.Context(), nil, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "body: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

func get(t *testing.T, c *client.ClientWithResponses, id int64) client.ProjectAPIKey {
	t.Helper()
	resp, err := c.GetProjectAPIKeyWithResponse(t.Context(), id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "body: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

func update(t *testing.T, c *client.ClientWithResponses, id int64, req client.ProjectAPIKeyUpdate) client.ProjectAPIKey {
	t.Helper()
	resp, err := c.UpdateProjectAPIKeyWithResponse(t.Context(), id, nil, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "body: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

func revoke(t *testing.T, c *client.ClientWithResponses, id int64) client.APIKeyRevokeResponse {
	t.Helper()
	resp, err := c.RevokeProjectAPIKeyWithResponse(t.Context(), id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "body: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

func list(t *testing.T, c *client.ClientWithResponses, p *client.ListProjectAPIKeysParams) *client.ListProjectAPIKeysResponse {
	t.Helper()
	resp, err := c.ListProjectAPIKeysWithResponse(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "body: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return resp
}

// all returns every live key of the caller's project, in id order.
func all(t *testing.T, c *client.ClientWithResponses) []client.ProjectAPIKey {
	t.Helper()
	return list(t, c, &client.ListProjectAPIKeysParams{Limit: ptr(-1), Sort: ptr("id")}).JSON200.Results
}

func ids(ks []client.ProjectAPIKey) []int64 {
	out := make([]int64, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

func byID(ks []client.ProjectAPIKey, id int64) (client.ProjectAPIKey, bool) {
	i := slices.IndexFunc(ks, func(k client.ProjectAPIKey) bool { return k.ID == id })
	if i < 0 {
		return client.ProjectAPIKey{}, false
	}
	return ks[i], true
}

// unsafeClient returns a client that sends requests unvalidated (responses
// are still validated), for requests that break the spec on purpose.
func unsafeClient(t *testing.T, s interface {
	NewClient(string, ...validate.TransportOption) *client.ClientWithResponses
}, key string) *client.ClientWithResponses {
	t.Helper()
	return s.NewClient(key, validate.SkipRequestValidation())
}

// rawTimes returns the created_at and updated_at strings of a JSON key.
func rawTimes(t *testing.T, obj map[string]any) (string, string) {
	t.Helper()
	c, ok := obj["created_at"].(string)
	require.True(t, ok, "created_at is a string")
	u, ok := obj["updated_at"].(string)
	require.True(t, ok, "updated_at is a string")
	return c, u
}

// assertRFC3339UTC checks a wire timestamp is RFC 3339 in UTC ("Z").
func assertRFC3339UTC(t *testing.T, s string) time.Time {
	t.Helper()
	assert.True(t, strings.HasSuffix(s, "Z"), "%q is UTC", s)
	ts, err := time.Parse(time.RFC3339Nano, s)
	assert.NoError(t, err, "%q is RFC 3339", s)
	return ts
}

// lastID returns the highest live key id of the caller's project.
func lastID(t *testing.T, c *client.ClientWithResponses) int64 {
	t.Helper()
	ks := all(t, c)
	require.NotEmpty(t, ks)
	return ks[len(ks)-1].ID
}

// mustTime parses a key timestamp, failing the test when it is not RFC 3339.
func mustTime(t *testing.T, n nullable.Nullable[string]) time.Time {
	t.Helper()
	ts, err := client.ParseTimestamp(n)
	require.NoError(t, err)
	return ts
}
