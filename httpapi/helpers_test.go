package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/sqlite"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// requestIDPattern is the documented form of X-Request-ID: req_ + ULID.
var requestIDPattern = regexp.MustCompile(`^req_[0-9A-HJKMNP-TV-Z]{26}$`)

// fullValuePattern matches a full (unmasked) key value.
var fullValuePattern = regexp.MustCompile(`^(sk|pk)_[0-9A-HJKMNP-TV-Z]{26}$`)

const currentVersion = "2026-04-28"

// call is one raw HTTP request. Unless NoAuth is set, it carries the
// server's admin key (or Auth, a whole Authorization value); a body gets
// Content-Type: application/json. Header is applied last: a nil value
// removes a header, an empty one sends it empty.
type call struct {
	Method string
	Path   string // relative to the API base, or absolute when Root is set
	Root   bool   // Path is relative to the server root, not /api/client
	Body   string
	Header http.Header
	NoAuth bool
	Auth   string
}

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) requestID() string { return r.Header.Get("X-Request-Id") }

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// target is what a call needs to know about the server it goes to.
type target struct {
	URL      string // API base (…/api/client)
	RootURL  string
	AdminKey string
}

func targetOf(s *spotzeetest.Server) target {
	return target{URL: s.URL, RootURL: s.RootURL, AdminKey: s.AdminKey}
}

var httpClient = &http.Client{
	Timeout: 30 * time.Second,
	// The API never redirects; a redirect is a response to check.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[http.CanonicalHeaderKey(kv[i])] = append(h[http.CanonicalHeaderKey(kv[i])], kv[i+1])
	}
	return h
}

func (tg target) request(t testing.TB, c call) *http.Request {
	t.Helper()
	base := tg.URL
	if c.Root {
		base = tg.RootURL
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequest(c.Method, base+c.Path, body)
	require.NoError(t, err)
	if c.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.NoAuth:
	case c.Auth != "":
		req.Header.Set("Authorization", c.Auth)
	default:
		req.Header.Set("Authorization", "Bearer "+tg.AdminKey)
	}
	for k, v := range c.Header {
		if v == nil {
			req.Header.Del(k)
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	return req
}

func (tg target) do(t testing.TB, c call) response {
	t.Helper()
	resp, err := httpClient.Do(tg.request(t, c))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func do(t testing.TB, s *spotzeetest.Server, c call) response {
	t.Helper()
	return targetOf(s).do(t, c)
}

// fieldError is one errors[] entry of a problem body.
type fieldError struct {
	Param   string       `json:"param"`
	Code    spotzee.Code `json:"code"`
	Message string       `json:"message"`
}

// problemBody is the Error envelope, decoded strictly.
type problemBody struct {
	Status    string       `json:"status"`
	Code      spotzee.Code `json:"code"`
	Title     string       `json:"title"`
	Message   string       `json:"message"`
	Error     string       `json:"error"`
	Type      string       `json:"type"`
	RequestID string       `json:"request_id"`
	Param     *string      `json:"param"`
	Errors    []fieldError `json:"errors"`
}

// requireProblem checks that resp is a complete error envelope for code,
// answered with status (0: the code's catalogue status), and returns it.
func requireProblem(t testing.TB, resp response, status int, code spotzee.Code) problemBody {
	t.Helper()
	if status == 0 {
		status = code.Status()
	}
	require.Equal(t, status, resp.Status, "body: %s", resp.Body)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p problemBody
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p), "body: %s", resp.Body)
	assert.Equal(t, "error", p.Status)
	assert.Equal(t, code, p.Code)
	assert.Equal(t, code.Title(), p.Title, "title is fixed per code")
	assert.Equal(t, "https://docs.spotzee.com/main-api/errors#"+string(code), p.Type)
	assert.NotEmpty(t, p.Message)
	assert.Equal(t, p.Message, p.Error, "error mirrors message (Spotzee's legacy field)")
	assert.Regexp(t, requestIDPattern, p.RequestID)
	assert.Equal(t, resp.requestID(), p.RequestID, "request_id equals X-Request-Id")
	assert.NotEmpty(t, resp.Header.Get("Spotzee-Version"))
	if code == spotzee.CodeValidationFailed {
		assert.NotEmpty(t, p.Errors, "validation_failed always lists errors[]")
	}
	return p
}

func paramOf(p problemBody) string {
	if p.Param == nil {
		return ""
	}
	return *p.Param
}

// createKey creates a key over HTTP and returns the decoded 200 body.
func createKey(t testing.TB, tg target, body string, header http.Header) (map[string]any, response) {
	t.Helper()
	resp := tg.do(t, call{Method: http.MethodPost, Path: "/keys", Body: body, Header: header})
	require.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
	return resp.json(t), resp
}

func idOf(t testing.TB, m map[string]any) int64 {
	t.Helper()
	id, ok := m["id"].(float64)
	require.True(t, ok, "id in %v", m)
	return int64(id)
}

func keyPath(id int64) string { return "/keys/" + strconv.FormatInt(id, 10) }

// liveKeys returns every live key of a project straight from the store.
func liveKeys(t testing.TB, store spotzee.Store, projectID int64) []spotzee.APIKey {
	t.Helper()
	page, err := store.ListKeys(context.Background(), spotzee.ListQuery{ProjectID: projectID, Sort: spotzee.SortID})
	require.NoError(t, err)
	return page.Keys
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 4, 28, 9, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// hookStore is a spotzee.Store over SQLite whose methods a test can
// intercept (panic, fail, block). Hooks are set before the server starts and
// never changed after, so reading them is race-free.
type hookStore struct {
	*sqlite.DB
	createKey func(ctx context.Context, k spotzee.NewKey, next func(context.Context, spotzee.NewKey) (spotzee.APIKey, error)) (spotzee.APIKey, error)
	listKeys  func(ctx context.Context, q spotzee.ListQuery) (spotzee.KeyPage, error)
}

func (h *hookStore) CreateKey(ctx context.Context, k spotzee.NewKey) (spotzee.APIKey, error) {
	if h.createKey != nil {
		return h.createKey(ctx, k, h.DB.CreateKey)
	}
	return h.DB.CreateKey(ctx, k)
}

func (h *hookStore) ListKeys(ctx context.Context, q spotzee.ListQuery) (spotzee.KeyPage, error) {
	if h.listKeys != nil {
		return h.listKeys(ctx, q)
	}
	return h.DB.ListKeys(ctx, q)
}

// customServer is the HTTP handler assembled by hand over a hookStore, for
// faults the reference server cannot be made to produce.
type customServer struct {
	target
	Handler   http.Handler
	DB        *sqlite.DB
	ProjectID int64
}

type customOptions struct {
	limits *ratelimit.Config
	logger *slog.Logger
	now    func() time.Time
}

func newCustomServer(t testing.TB, hooks *hookStore, opts customOptions) *customServer {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hooks.DB = db
	secret := bytes.Repeat([]byte{7}, 32)
	// Bootstrap over the bare database, so hooks see only API traffic.
	b, err := keys.New(db, secret).Bootstrap(ctx, "custom", spotzee.TierStarter)
	require.NoError(t, err)
	var svcOpts []keys.Option
	if opts.now != nil {
		svcOpts = append(svcOpts, keys.WithClock(opts.now))
	}
	cfg := httpapi.Config{
		Service:           keys.New(hooks, secret, svcOpts...),
		Tiers:             db,
		Idempotency:       db,
		IdempotencySecret: bytes.Repeat([]byte{9}, 32),
		ValidateResponses: true,
		OnResponseViolation: func(_ *http.Request, v *validate.ResponseViolation) {
			t.Errorf("response breaks the spec: %v", v)
		},
		Logger: opts.logger,
		Now:    opts.now,
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if opts.limits != nil {
		cfg.Limiter = ratelimit.New(*opts.limits)
	}
	h, err := httpapi.NewHandler(cfg)
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &customServer{
		target:    target{URL: hs.URL + httpapi.APIPrefix, RootURL: hs.URL, AdminKey: b.Admin.Value},
		Handler:   h,
		DB:        db,
		ProjectID: b.Project.ID,
	}
}

// waitFor and tick bound polling for what a server does after answering
// (the access log line is written once the handler returns).
const (
	waitFor = 5 * time.Second
	tick    = 5 * time.Millisecond
)

func newJSONLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
