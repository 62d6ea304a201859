// Package robustness holds the robustness proofs of the reference server:
// fuzz targets, spec-driven negative and positive tests, crash safety and
// concurrency. It has test files only.
package robustness

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/validate"
)

const (
	apiPrefix      = "/api/client"
	currentVersion = "2026-04-28"
)

// fixedSecret makes list cursors deterministic across runs (project 1,
// derived signing key), so valid cursors can live in the seed corpora.
var fixedSecret = bytes.Repeat([]byte{0x5a}, refserver.SecretSize)

var (
	requestIDPattern = regexp.MustCompile(`^req_[0-9A-HJKMNP-TV-Z]{26}$`)
	datePattern      = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// harness is the whole reference server handler in-process (in-memory
// SQLite, rate limits off, responses not validated by the server itself:
// check validates them), called without a network.
type harness struct {
	ref     *refserver.Server
	handler http.Handler
	v       *validate.Validator
	project int64
	admin   string
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	ctx := context.Background()
	ref, err := refserver.Open(ctx, refserver.Config{
		DBPath:     ":memory:",
		Secret:     fixedSecret,
		RateLimits: ratelimit.Config{Disabled: true},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = ref.Close() })
	b, created, err := ref.BootstrapIfEmpty(ctx)
	require.NoError(tb, err)
	require.True(tb, created)
	v, err := validate.Default()
	require.NoError(tb, err)
	return &harness{ref: ref, handler: ref.Handler(), v: v, project: b.Project.ID, admin: b.Admin.Value}
}

// addKey creates a key directly through the service and returns it with its
// full value.
func (h *harness) addKey(tb testing.TB, in keys.CreateInput) keys.Created {
	tb.Helper()
	c, err := h.ref.Service().AddKey(context.Background(), h.project, in)
	require.NoError(tb, err)
	return c
}

// call is one request to the handler.
type call struct {
	method string
	target string // path under apiPrefix, with its query
	header http.Header
	body   []byte // nil: no body
}

// result is the response to a call.
type result struct {
	status int
	header http.Header
	body   []byte
}

// jsonHeader returns the headers of a JSON request authenticated with key.
func jsonHeader(key string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+key)
	h.Set("Content-Type", "application/json")
	return h
}

func (c call) request(tb testing.TB) *http.Request {
	tb.Helper()
	var body io.Reader = http.NoBody
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	r, err := http.NewRequestWithContext(context.Background(), c.method, "http://spotzee.test"+apiPrefix+c.target, body)
	require.NoError(tb, err)
	r.RequestURI = apiPrefix + c.target
	for k, vs := range c.header {
		r.Header[k] = append([]string(nil), vs...)
	}
	return r
}

// do serves c in-process and returns the response.
func (h *harness) do(tb testing.TB, c call) result {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, c.request(tb))
	return result{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
}

// problemBody is the Error envelope, decoded strictly enough to check it.
type problemBody struct {
	Status    string `json:"status"`
	Code      string `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Param     string `json:"param"`
	Errors    []struct {
		Param   string `json:"param"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// check asserts the invariant every response must hold, whatever the input:
// never a 5xx; conventions headers set; a 2xx is JSON that validates against
// the spec; a 4xx is a valid problem+json envelope whose catalogue code has
// that HTTP status (405 only for an unsupported method) and which validates
// against the spec. It returns the decoded problem of a 4xx, nil for a 2xx.
func (h *harness) check(t testing.TB, c call, res result) *problemBody {
	t.Helper()
	require.Truef(t, res.status >= 200 && res.status < 500 && (res.status < 300 || res.status >= 400),
		"%s %s answered %d: %s", c.method, c.target, res.status, res.body)
	require.Regexp(t, requestIDPattern, res.header.Get("X-Request-Id"))
	require.Regexp(t, datePattern, res.header.Get("Spotzee-Version"))

	var p *problemBody
	if res.status >= 400 {
		require.Equal(t, "application/problem+json", res.header.Get("Content-Type"), "body: %s", res.body)
		p = &problemBody{}
		require.NoError(t, json.Unmarshal(res.body, p), "problem body: %s", res.body)
		code := spotzee.Code(p.Code)
		require.Truef(t, code.Known(), "code %q is not in the catalogue", p.Code)
		if res.status == http.StatusMethodNotAllowed {
			require.Equal(t, spotzee.CodeResourceMissing, code)
			require.NotEmpty(t, res.header.Get("Allow"))
		} else {
			require.Equalf(t, code.Status(), res.status, "code %s answered with %d", code, res.status)
		}
		require.Equal(t, "error", p.Status)
		require.Equal(t, code.Title(), p.Title)
		require.Equal(t, code.TypeURL(), p.Type)
		require.NotEmpty(t, p.Message)
		require.Equal(t, res.header.Get("X-Request-Id"), p.RequestID)
		if code == spotzee.CodeValidationFailed {
			require.NotEmpty(t, p.Errors, "validation_failed without errors[]")
		}
		for _, fe := range p.Errors {
			// An unknown member can be named "" in JSON; every other entry
			// names its field.
			if fe.Code != string(spotzee.CodeParameterUnknown) {
				require.NotEmpty(t, fe.Param, "errors[] entry without param")
			}
			require.True(t, spotzee.Code(fe.Code).Known(), "errors[] code %q", fe.Code)
			require.NotEmpty(t, fe.Message)
		}
		if code == spotzee.CodeIdempotencyInProgress || code == spotzee.CodeRateLimited {
			require.NotEmpty(t, res.header.Get("Retry-After"))
		}
	} else {
		require.True(t, strings.HasPrefix(res.header.Get("Content-Type"), "application/json"),
			"2xx content type %q", res.header.Get("Content-Type"))
	}
	if res.status == http.StatusMethodNotAllowed {
		return p
	}
	ex, err := h.v.Match(call{method: c.method, target: c.target}.request(t))
	require.NoError(t, err)
	require.NoError(t, h.v.CheckResponse(context.Background(), ex, res.status, res.header, res.body),
		"%s %s -> %d %s", c.method, c.target, res.status, res.body)
	return p
}

// state is what a request that fails must leave as it was: every live key
// of the project, by id.
type state struct {
	keys []spotzee.APIKey
}

// snapshot reads every live key of the project from the store. The fuzz
// targets retire the keys they create (retire), so it stays small.
func (h *harness) snapshot(tb testing.TB) state {
	tb.Helper()
	page, err := h.ref.Store().ListKeys(context.Background(),
		spotzee.ListQuery{ProjectID: h.project, Sort: spotzee.SortID})
	require.NoError(tb, err)
	require.Len(tb, page.Keys, page.Total)
	return state{keys: page.Keys}
}

func (s state) live() int { return len(s.keys) }

func (s state) lastID() int64 {
	if len(s.keys) == 0 {
		return 0
	}
	return s.keys[len(s.keys)-1].ID
}

// key returns the live key id; it fails when there is none.
func (s state) key(tb testing.TB, id int64) spotzee.APIKey {
	tb.Helper()
	for _, k := range s.keys {
		if k.ID == id {
			return k
		}
	}
	tb.Fatalf("key %d is not live", id)
	return spotzee.APIKey{}
}

// retire revokes a key a fuzz input created, keeping the live set (and so
// each snapshot) small however long the fuzzing runs.
func (h *harness) retire(tb testing.TB, id int64) {
	tb.Helper()
	_, err := h.ref.Service().Revoke(context.Background(), spotzee.APIKey{ProjectID: h.project}, id)
	require.NoError(tb, err)
}

// apiKeyJSON is an ApiKey or ProjectAPIKeyCreated response body.
type apiKeyJSON struct {
	ID          int64   `json:"id"`
	ProjectID   int64   `json:"project_id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Scope       string  `json:"scope"`
	Role        string  `json:"role"`
	Value       string  `json:"value"`
	CreatedAt   *string `json:"created_at"`
	UpdatedAt   *string `json:"updated_at"`
}

// pageJSON is an ProjectAPIKeyList response body.
type pageJSON struct {
	Results    []apiKeyJSON `json:"results"`
	NextCursor *string      `json:"nextCursor"`
	PrevCursor *string      `json:"prevCursor"`
	Limit      int          `json:"limit"`
}

func decode[T any](tb testing.TB, data []byte) T {
	tb.Helper()
	var v T
	require.NoError(tb, json.Unmarshal(data, &v), "body: %s", data)
	return v
}
