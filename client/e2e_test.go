package client_test

// End-to-end tests of the SDK against the reference server (spotzeetest):
// the iterators over many real pages, every catalogue error the key
// endpoints return, rate limits and an idempotent retry after a lost
// response.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// e2eRequestID is the shape of every request id.
var e2eRequestID = regexp.MustCompile(`^req_[0-9A-HJKMNP-TV-Z]{26}$`)

// errLostResponse stands for a connection that broke after the server had
// answered.
var errLostResponse error = &net.OpError{Op: "read", Net: "tcp",
	Err: fmt.Errorf("e2e: connection reset after the server answered: %w", syscall.ECONNRESET)}

// e2eExchange is one HTTP round trip an e2eRecorder saw.
type e2eExchange struct {
	method, path string
	query        url.Values
	reqHeader    http.Header
	status       int
	respHeader   http.Header
	respBody     []byte
	lost         bool
}

// e2eRecorder is the SDK's transport in these tests: it validates what the
// SDK sends against the spec (unless told not to, for tests that send bad
// requests on purpose), records every exchange, and can lose a response
// after the server has handled the request.
type e2eRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []e2eExchange
	// lose reports whether to drop the response to the n-th request
	// (1-based) and fail the round trip instead.
	lose func(n int, req *http.Request) bool
}

func newE2ERecorder(t *testing.T, validateRequests bool) *e2eRecorder {
	t.Helper()
	v, err := validate.Default()
	require.NoError(t, err)
	var opts []validate.TransportOption
	if !validateRequests {
		opts = append(opts, validate.SkipRequestValidation())
	}
	return &e2eRecorder{base: v.Transport(nil, opts...)}
}

func (r *e2eRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := e2eExchange{req.Method, req.URL.Path, req.URL.Query(), req.Header.Clone(), resp.StatusCode, resp.Header.Clone(), body, false}
	ex.lost = r.lose != nil && r.lose(len(r.log)+1, req)
	r.log = append(r.log, ex)
	if ex.lost {
		return nil, errLostResponse
	}
	return resp, nil
}

// setLose sets (nil: clears) the rule for losing responses.
func (r *e2eRecorder) setLose(lose func(n int, req *http.Request) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lose = lose
}

// exchanges returns the exchanges recorded so far and forgets them.
func (r *e2eRecorder) exchanges() []e2eExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = nil
	return out
}

// last returns the last exchange recorded.
func (r *e2eRecorder) last(t *testing.T) e2eExchange {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.log)
	return r.log[len(r.log)-1]
}

// e2eAPI returns an SDK client of the reference server authenticated with
// apiKey, whose transport is rec.
func e2eAPI(t *testing.T, srv *spotzeetest.Server, apiKey string, rec *e2eRecorder, opts ...client.Option) *client.API {
	t.Helper()
	api, err := client.New(srv.URL, apiKey, append([]client.Option{client.WithTransport(rec), client.WithClientType("cli")}, opts...)...)
	require.NoError(t, err)
	return api
}

// e2eCreate creates one key per name and returns them in order.
func e2eCreate(t *testing.T, api *client.API, names ...string) []client.ProjectAPIKeyCreated {
	t.Helper()
	out := make([]client.ProjectAPIKeyCreated, 0, len(names))
	for _, n := range names {
		k, err := api.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: n})
		require.NoError(t, err)
		out = append(out, *k)
	}
	return out
}

// e2eSeed adds keys (secret, role support) straight through the reference
// server's service, faster than the API, for test data.
func e2eSeed(srv *spotzeetest.Server, names ...string) {
	for _, n := range names {
		srv.AddKey(srv.ProjectID, n, spotzee.ScopeSecret, spotzee.RoleSupport)
	}
}

// e2eAll lists every live key in one call (limit=-1), as ground truth.
func e2eAll(t *testing.T, api *client.API, params client.ListProjectAPIKeysParams) []client.ProjectAPIKey {
	t.Helper()
	params.Limit = new(-1)
	page, err := api.ListKeys(t.Context(), &params)
	require.NoError(t, err)
	require.True(t, page.NextCursor.IsNull())
	return page.Results
}

// e2eKeyID finds a key's id by its exact name.
func e2eKeyID(t *testing.T, api *client.API, name string) int64 {
	t.Helper()
	for _, k := range e2eAll(t, api, client.ListProjectAPIKeysParams{}) {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no key named %q", name)
	return 0
}

func e2eIDs(keys []client.ProjectAPIKey) []int64 {
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}

func e2eNames(keys []client.ProjectAPIKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

// collect ranges over seq and fails the test on an error.
func collect(t *testing.T, seq func(func(client.ProjectAPIKey, error) bool)) []client.ProjectAPIKey {
	t.Helper()
	var out []client.ProjectAPIKey
	for k, err := range seq {
		require.NoError(t, err)
		out = append(out, k)
	}
	return out
}

// numbered returns prefix-01 … prefix-n.
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i+1)
	}
	return out
}

// assertListRequests checks that every recorded request is a list request
// in direction page carrying the caller's filters, and that only the first
// of a forward walk comes without a cursor.
func assertListRequests(t *testing.T, exs []e2eExchange, page string, want url.Values) {
	t.Helper()
	for i, ex := range exs {
		require.Equal(t, http.MethodGet, ex.method)
		require.Equal(t, "/api/client/keys", ex.path)
		for name := range want {
			assert.Equal(t, want.Get(name), ex.query.Get(name), "request %d: %s", i+1, name)
		}
		assert.Equal(t, page, ex.query.Get("page"), "request %d", i+1)
		if page == "next" {
			assert.Equal(t, i > 0, ex.query.Has("cursor"), "request %d", i+1)
		} else {
			assert.True(t, ex.query.Has("cursor"), "request %d", i+1)
		}
		assert.Equal(t, http.StatusOK, ex.status, "request %d", i+1)
	}
}

func TestE2EAllKeysWalksEveryPageBothWays(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	rec := newE2ERecorder(t, true)
	api := e2eAPI(t, srv, srv.AdminKey, rec)
	e2eSeed(srv, numbered("key", 23)...)
	all := e2eAll(t, api, client.ListProjectAPIKeysParams{}) // 23 + the admin and system keys
	require.Len(t, all, 25)
	rec.exchanges()

	// Forwards: five pages of five, newest first, each key once.
	params := &client.ListProjectAPIKeysParams{Limit: new(5)}
	forward := collect(t, api.AllKeys(t.Context(), params))
	assert.Equal(t, e2eIDs(all), e2eIDs(forward), "every key once, in the server's order")
	assert.True(t, slices.IsSortedFunc(forward, func(a, b client.ProjectAPIKey) int { return int(b.ID - a.ID) }), "newest first")
	exs := rec.exchanges()
	assert.Len(t, exs, 5)
	assertListRequests(t, exs, "next", url.Values{"limit": {"5"}})
	assert.Equal(t, 5, *params.Limit, "the caller's params are not modified")
	assert.Nil(t, params.Cursor)

	// Backwards from the last page: the pages before it, nearest first.
	var last *client.ProjectAPIKeyList
	p := client.ListProjectAPIKeysParams{Limit: new(5)}
	for {
		page, err := api.ListKeys(t.Context(), &p)
		require.NoError(t, err)
		last = page
		next, err := page.NextCursor.Get()
		if err != nil {
			break
		}
		p.Cursor = &next
	}
	require.Len(t, last.Results, 5)
	rec.exchanges()
	backward := collect(t, api.AllKeysBackward(t.Context(), last.PrevCursor.MustGet(), &client.ListProjectAPIKeysParams{Limit: new(5)}))
	reversed := slices.Clone(forward)
	slices.Reverse(reversed)
	assert.Equal(t, e2eIDs(reversed[5:]), e2eIDs(backward), "the 20 keys before the last page, nearest first, each once")
	exs = rec.exchanges()
	assert.Len(t, exs, 4)
	assertListRequests(t, exs, "prev", url.Values{"limit": {"5"}})

	// The sequence can be ranged over again and gives the same keys.
	assert.Equal(t, e2eIDs(forward), e2eIDs(collect(t, api.AllKeys(t.Context(), params))))
}

func TestE2EAllKeysKeepsTheFilters(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	rec := newE2ERecorder(t, true)
	api := e2eAPI(t, srv, srv.AdminKey, rec)
	// Created out of name order, so that name order differs from id order.
	billing := numbered("billing", 17)
	shuffled := slices.Clone(billing)
	slices.Reverse(shuffled[5:12])
	e2eSeed(srv, shuffled[:9]...)
	e2eSeed(srv, numbered("other", 6)...)
	e2eSeed(srv, shuffled[9:]...)
	rec.exchanges()

	tests := []struct {
		name   string
		params client.ListProjectAPIKeysParams
		want   []string
	}{
		{
			name:   "by name ascending",
			params: client.ListProjectAPIKeysParams{Q: new("billing"), Sort: new("name"), Limit: new(4)},
			want:   billing,
		},
		{
			name:   "by name descending",
			params: client.ListProjectAPIKeysParams{Q: new("BILLING"), Sort: new("-name"), Limit: new(3)},
			want:   func() []string { s := slices.Clone(billing); slices.Reverse(s); return s }(),
		},
		{
			name:   "explicit direction",
			params: client.ListProjectAPIKeysParams{Q: new("other"), Sort: new("name"), Direction: new(client.SortDirectionDesc), Limit: new(1)},
			want:   []string{"other-06", "other-05", "other-04", "other-03", "other-02", "other-01"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantQuery := url.Values{"q": {*tt.params.Q}, "sort": {*tt.params.Sort}, "limit": {fmt.Sprint(*tt.params.Limit)}}
			if tt.params.Direction != nil {
				wantQuery.Set("direction", string(*tt.params.Direction))
			}
			limit := *tt.params.Limit
			pages := (len(tt.want) + limit - 1) / limit
			require.Greater(t, pages, 3, "the walk must cross more than three pages")

			forward := collect(t, api.AllKeys(t.Context(), &tt.params))
			assert.Equal(t, tt.want, e2eNames(forward))
			exs := rec.exchanges()
			assert.Len(t, exs, pages)
			assertListRequests(t, exs, "next", wantQuery)

			// Backwards from the first page's last key to the first page: one
			// page (a short walk), then from the end of the list.
			first, err := api.ListKeys(t.Context(), &tt.params)
			require.NoError(t, err)
			assert.True(t, first.PrevCursor.IsNull(), "no page before the first")
			p := tt.params
			var last *client.ProjectAPIKeyList
			for page := first; ; {
				last = page
				next, err := page.NextCursor.Get()
				if err != nil {
					break
				}
				p.Cursor = &next
				page, err = api.ListKeys(t.Context(), &p)
				require.NoError(t, err)
			}
			rec.exchanges()
			backward := collect(t, api.AllKeysBackward(t.Context(), last.PrevCursor.MustGet(), &tt.params))
			want := slices.Clone(tt.want[:len(tt.want)-len(last.Results)])
			slices.Reverse(want)
			assert.Equal(t, want, e2eNames(backward))
			exs = rec.exchanges()
			assert.Len(t, exs, pages-1)
			assertListRequests(t, exs, "prev", wantQuery)
		})
	}
}

func TestE2EAllKeysStableWhileKeysComeAndGo(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	api := e2eAPI(t, srv, srv.AdminKey, newE2ERecorder(t, true))
	e2eSeed(srv, numbered("key", 23)...)
	before := e2eAll(t, api, client.ListProjectAPIKeysParams{Sort: new("id")})
	require.Len(t, before, 25)
	gone := before[17] // on the fourth page: revoked before the walk gets there
	var added []int64

	var got []int64
	for k, err := range api.AllKeys(t.Context(), &client.ListProjectAPIKeysParams{Sort: new("id"), Limit: new(5)}) {
		require.NoError(t, err)
		got = append(got, k.ID)
		if len(got) == 6 { // mid-walk, on the second page
			_, err := api.RevokeKey(t.Context(), gone.ID)
			require.NoError(t, err)
			for _, k := range e2eCreate(t, api, "late-1", "late-2") {
				added = append(added, k.ID)
			}
			_, err = api.RevokeKey(t.Context(), before[3].ID) // already passed: no effect on the walk
			require.NoError(t, err)
		}
	}
	want := slices.DeleteFunc(e2eIDs(before), func(id int64) bool { return id == gone.ID })
	want = append(want, added...)
	assert.Equal(t, want, got, "no key skipped or repeated; the revoked one is gone, the new ones come last")
}

func TestE2EAllKeysStopsOnTheFirstError(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	admin := e2eAPI(t, srv, srv.AdminKey, newE2ERecorder(t, true))
	e2eSeed(srv, numbered("key", 12)...)
	walkerKey := srv.AddKey(srv.ProjectID, "walker", spotzee.ScopeSecret, spotzee.RoleAdmin)
	walkerID := e2eKeyID(t, admin, "walker")
	rec := newE2ERecorder(t, true)
	walker := e2eAPI(t, srv, walkerKey, rec)

	var keys []client.ProjectAPIKey
	var errs []error
	for k, err := range walker.AllKeys(t.Context(), &client.ListProjectAPIKeysParams{Limit: new(5)}) {
		if err != nil {
			errs = append(errs, err)
			continue // keep ranging: the iterator must stop by itself
		}
		keys = append(keys, k)
		if len(keys) == 5 {
			_, err := admin.RevokeKey(t.Context(), walkerID) // the walker's own key, mid-walk
			require.NoError(t, err)
		}
	}
	assert.Len(t, keys, 5, "the first page only")
	require.Len(t, errs, 1, "the error is yielded once and the walk stops")
	var apiErr *client.APIError
	require.ErrorAs(t, errs[0], &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, client.ErrorCodeAuthenticationRequired, apiErr.Code)
	assert.Regexp(t, e2eRequestID, apiErr.RequestID)
	assert.Equal(t, 1, apiErr.Attempts, "401 is not retried")
	assert.ErrorIs(t, errs[0], client.ErrUnauthorized)
	assert.NotContains(t, errs[0].Error(), walkerKey)

	exs := rec.exchanges()
	require.Len(t, exs, 2, "one page fetched, one refused, nothing after")
	assert.Equal(t, http.StatusOK, exs[0].status)
	assert.Equal(t, http.StatusUnauthorized, exs[1].status)
	assert.True(t, exs[1].query.Has("cursor"))
	assert.Equal(t, apiErr.RequestID, exs[1].respHeader.Get("X-Request-Id"))
}

func TestE2EErrorCatalogue(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	admin := e2eAPI(t, srv, srv.AdminKey, newE2ERecorder(t, true))
	var systemID int64
	for _, k := range e2eAll(t, admin, client.ListProjectAPIKeysParams{}) {
		if k.IsSystemKey != nil && *k.IsSystemKey {
			systemID = k.ID
		}
	}
	require.NotZero(t, systemID)
	editorKey := srv.AddKey(srv.ProjectID, "editor", spotzee.ScopeSecret, spotzee.RoleEditor)
	publicKey := srv.AddKey(srv.ProjectID, "browser", spotzee.ScopePublic, spotzee.RoleAdmin)
	revokedKey := srv.AddKey(srv.ProjectID, "revoked", spotzee.ScopeSecret, spotzee.RoleAdmin)
	_, err := admin.RevokeKey(t.Context(), e2eKeyID(t, admin, "revoked"))
	require.NoError(t, err)
	otherProject, otherAdmin := srv.NewProject("other")
	other := e2eAPI(t, srv, otherAdmin, newE2ERecorder(t, true))
	otherKeyID := e2eAll(t, other, client.ListProjectAPIKeysParams{})[0].ID
	require.Equal(t, otherProject, e2eAll(t, other, client.ListProjectAPIKeysParams{})[0].ProjectID)
	target := e2eCreate(t, admin, "target")[0]

	// addQuery and setBody make requests the typed methods cannot.
	addQuery := func(name, value string) client.Option {
		return client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			q := r.URL.Query()
			q.Set(name, value)
			r.URL.RawQuery = q.Encode()
			return nil
		})
	}
	setBody := func(body string) client.Option {
		return client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
			return nil
		})
	}
	setHeader := func(name, value string) client.Option {
		return client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set(name, value)
			return nil
		})
	}
	create := func(name string) func(context.Context, *client.API) error {
		return func(ctx context.Context, api *client.API) error {
			_, err := api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: name})
			return err
		}
	}
	list := func(p client.ListProjectAPIKeysParams) func(context.Context, *client.API) error {
		return func(ctx context.Context, api *client.API) error {
			_, err := api.ListKeys(ctx, &p)
			return err
		}
	}
	get := func(id int64) func(context.Context, *client.API) error {
		return func(ctx context.Context, api *client.API) error {
			_, err := api.GetKey(ctx, id)
			return err
		}
	}

	tests := []struct {
		name       string
		apiKey     string // "" for the admin key
		opts       []client.Option
		call       func(context.Context, *client.API) error
		wantStatus int
		wantCode   client.Code
		wantParam  string
		wantFields []string // params of errors[]
		sentinel   error    // nil: matches none
	}{
		{
			name: "limit above 100", call: list(client.ListProjectAPIKeysParams{Limit: new(101)}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidFormat, wantParam: "limit", sentinel: client.ErrValidation,
		},
		{
			name: "limit 0", call: list(client.ListProjectAPIKeysParams{Limit: new(0)}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidFormat, wantParam: "limit", sentinel: client.ErrValidation,
		},
		{
			name: "unknown sort field", call: list(client.ListProjectAPIKeysParams{Sort: new("value")}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidFormat, wantParam: "sort", sentinel: client.ErrValidation,
		},
		{
			name: "direction contradicting the sort prefix", call: list(client.ListProjectAPIKeysParams{Sort: new("-name"), Direction: new(client.SortDirectionAsc)}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidFormat, wantParam: "direction", sentinel: client.ErrValidation,
		},
		{
			name: "forged cursor", call: list(client.ListProjectAPIKeysParams{Cursor: new("eyJwIjoxfQ")}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidFormat, wantParam: "cursor", sentinel: client.ErrValidation,
		},
		{
			name: "key id not an integer", opts: []client.Option{client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
				r.URL.Path = strings.TrimSuffix(r.URL.Path, "/1") + "/abc"
				return nil
			})},
			call:       get(1),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidFormat, wantParam: "keyId", sentinel: client.ErrValidation,
		},
		{
			name: "unknown query parameter", opts: []client.Option{addQuery("expand", "all")}, call: list(client.ListProjectAPIKeysParams{}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterUnknown, wantParam: "expand", sentinel: client.ErrValidation,
		},
		{
			name: "unknown body field", opts: []client.Option{setBody(`{"name":"x","colour":"red"}`)}, call: create("x"),
			wantStatus: 400, wantCode: client.ErrorCodeParameterUnknown, wantParam: "colour", wantFields: []string{"colour"}, sentinel: client.ErrValidation,
		},
		{
			name: "empty name", call: func(ctx context.Context, api *client.API) error {
				_, err := api.UpdateKey(ctx, target.ID, client.ProjectAPIKeyUpdate{Name: new("")})
				return err
			},
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidEmpty, wantParam: "name", wantFields: []string{"name"}, sentinel: client.ErrValidation,
		},
		{
			name: "empty search", call: list(client.ListProjectAPIKeysParams{Q: new("")}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidEmpty, wantParam: "q", sentinel: client.ErrValidation,
		},
		{
			name: "missing name", opts: []client.Option{setBody(`{"scope":"secret"}`)}, call: create("x"),
			wantStatus: 400, wantCode: client.ErrorCodeParameterMissing, wantParam: "name", wantFields: []string{"name"}, sentinel: client.ErrValidation,
		},
		{
			name: "idempotency key too long", opts: []client.Option{setHeader("Idempotency-Key", strings.Repeat("k", 256))}, call: create("x"),
			wantStatus: 400, wantCode: client.ErrorCodeIdempotencyKeyInvalid, wantParam: "Idempotency-Key",
		},
		{
			name: "unknown API version", opts: []client.Option{client.WithVersion("2020-01-01")}, call: list(client.ListProjectAPIKeysParams{}),
			wantStatus: 400, wantCode: client.ErrorCodeVersionUnsupported, wantParam: "Spotzee-Version",
		},
		{
			name: "API version not a date", opts: []client.Option{setHeader("Spotzee-Version", "latest")}, call: list(client.ListProjectAPIKeysParams{}),
			wantStatus: 400, wantCode: client.ErrorCodeParameterInvalidFormat, wantParam: "Spotzee-Version", sentinel: client.ErrValidation,
		},
		{
			name: "unknown key", apiKey: "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", call: list(client.ListProjectAPIKeysParams{}),
			wantStatus: 401, wantCode: client.ErrorCodeAuthenticationRequired, sentinel: client.ErrUnauthorized,
		},
		{
			name: "revoked key", apiKey: revokedKey, call: get(target.ID),
			wantStatus: 401, wantCode: client.ErrorCodeAuthenticationRequired, sentinel: client.ErrUnauthorized,
		},
		{
			name: "publishable key", apiKey: publicKey, call: list(client.ListProjectAPIKeysParams{}),
			wantStatus: 401, wantCode: client.ErrorCodeAuthenticationRequired, sentinel: client.ErrUnauthorized,
		},
		{
			name: "organisation key", apiKey: "ok_01HXY7Z9K8M5J2N4P6Q8R0S1T2", call: list(client.ListProjectAPIKeysParams{}),
			wantStatus: 401, wantCode: client.ErrorCodeAuthenticationRequired, sentinel: client.ErrUnauthorized,
		},
		{
			name: "not an admin", apiKey: editorKey, call: create("x"),
			wantStatus: 403, wantCode: client.ErrorCodePermissionDenied, sentinel: client.ErrForbidden,
		},
		{
			name: "unknown id", call: get(999999),
			wantStatus: 404, wantCode: client.ErrorCodeResourceMissing, sentinel: client.ErrNotFound,
		},
		{
			name: "another project's key", call: get(otherKeyID),
			wantStatus: 404, wantCode: client.ErrorCodeResourceMissing, sentinel: client.ErrNotFound,
		},
		{
			name: "update an unknown id", call: func(ctx context.Context, api *client.API) error {
				_, err := api.UpdateKey(ctx, 999999, client.ProjectAPIKeyUpdate{Name: new("x")})
				return err
			},
			wantStatus: 404, wantCode: client.ErrorCodeResourceMissing, sentinel: client.ErrNotFound,
		},
		{
			name: "revoke the system key", call: func(ctx context.Context, api *client.API) error {
				_, err := api.RevokeKey(ctx, systemID)
				return err
			},
			wantStatus: 409, wantCode: client.ErrorCodeStateConflict, sentinel: client.ErrConflict,
		},
		{
			name: "idempotency key reused with another body", call: func(ctx context.Context, api *client.API) error {
				if _, err := api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "first"}, client.WithIdempotencyKey("reused")); err != nil {
					return fmt.Errorf("first create: %w", err)
				}
				_, err := api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "second"}, client.WithIdempotencyKey("reused"))
				return err
			},
			wantStatus: 409, wantCode: client.ErrorCodeIdempotencyKeyMismatch, wantParam: "Idempotency-Key", sentinel: client.ErrConflict,
		},
		{
			name: "role outside the enum", call: func(ctx context.Context, api *client.API) error {
				_, err := api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "x", Role: new(client.ProjectRole("owner"))})
				return err
			},
			wantStatus: 422, wantCode: client.ErrorCodeValidationFailed, wantParam: "role", wantFields: []string{"role"}, sentinel: client.ErrValidation,
		},
		{
			name: "two fields invalid", call: func(ctx context.Context, api *client.API) error {
				_, err := api.UpdateKey(ctx, target.ID, client.ProjectAPIKeyUpdate{
					Role: new(client.ProjectRole("owner")), Scope: new(client.APIKeyScope("private")),
				})
				return err
			},
			wantStatus: 422, wantCode: client.ErrorCodeValidationFailed, wantFields: []string{"role", "scope"}, sentinel: client.ErrValidation,
		},
		{
			name: "null name", opts: []client.Option{setBody(`{"name":null}`)}, call: func(ctx context.Context, api *client.API) error {
				_, err := api.UpdateKey(ctx, target.ID, client.ProjectAPIKeyUpdate{Name: new("x")})
				return err
			},
			wantStatus: 422, wantCode: client.ErrorCodeValidationFailed, wantParam: "name", wantFields: []string{"name"}, sentinel: client.ErrValidation,
		},
	}
	sentinels := []error{client.ErrNotFound, client.ErrUnauthorized, client.ErrForbidden, client.ErrRateLimited, client.ErrConflict, client.ErrValidation}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := tt.apiKey
			if key == "" {
				key = srv.AdminKey
			}
			rec := newE2ERecorder(t, false)
			api := e2eAPI(t, srv, key, rec, tt.opts...)

			err := tt.call(t.Context(), api)
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.wantStatus, apiErr.StatusCode)
			assert.Equal(t, tt.wantCode, apiErr.Code)
			assert.Equal(t, tt.wantParam, apiErr.Param)
			assert.Regexp(t, e2eRequestID, apiErr.RequestID)
			assert.NotEmpty(t, apiErr.Title)
			assert.NotEmpty(t, apiErr.Message)
			assert.Equal(t, "https://docs.spotzee.com/main-api/errors#"+string(tt.wantCode), apiErr.Type)
			var fields []string
			for _, f := range apiErr.Errors {
				fields = append(fields, f.Param)
				assert.NotEmpty(t, f.Message)
			}
			assert.Equal(t, tt.wantFields, fields)
			assert.Equal(t, 1, apiErr.Attempts, "a 4xx other than 429 is never retried")
			for _, s := range sentinels {
				assert.Equal(t, s == tt.sentinel, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
			assert.NotContains(t, err.Error(), key)
			assert.Contains(t, err.Error(), apiErr.RequestID)

			last := rec.last(t)
			assert.Equal(t, apiErr.RequestID, last.respHeader.Get("X-Request-Id"), "the body's request_id is the header's")
			assert.Equal(t, tt.wantStatus, last.status)
			assert.Equal(t, last.method, apiErr.Method)
			assert.Equal(t, last.path, apiErr.Path)
			assert.Equal(t, "application/problem+json", last.respHeader.Get("Content-Type"))
		})
	}
}

// e2eClock is a server clock the SDK's sleep moves forward.
type e2eClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *e2eClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *e2eClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func TestE2ERateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(context.Context, *client.API) error
	}{
		{"read bucket", func(ctx context.Context, api *client.API) error {
			_, err := api.ListKeys(ctx, nil)
			return err
		}},
		{"write bucket", func(ctx context.Context, api *client.API) error {
			_, err := api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "burst"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &e2eClock{now: time.Now()}
			srv := spotzeetest.NewServer(t,
				spotzeetest.WithRateLimits(ratelimit.Config{Override: &ratelimit.Limits{ReadPerWindow: 2, WritePerWindow: 2}}),
				spotzeetest.WithClock(clock.Now))

			// Without retries: the third call in the window is refused.
			rec := newE2ERecorder(t, true)
			api := e2eAPI(t, srv, srv.AdminKey, rec, client.WithMaxAttempts(1))
			require.NoError(t, tt.call(t.Context(), api))
			require.NoError(t, tt.call(t.Context(), api))
			err := tt.call(t.Context(), api)
			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
			assert.Equal(t, client.ErrorCodeRateLimited, apiErr.Code)
			assert.Empty(t, apiErr.Param)
			assert.Regexp(t, e2eRequestID, apiErr.RequestID)
			assert.Equal(t, "https://docs.spotzee.com/main-api/errors#rate_limited", apiErr.Type)
			assert.GreaterOrEqual(t, apiErr.RetryAfter, time.Second)
			assert.LessOrEqual(t, apiErr.RetryAfter, ratelimit.DefaultWindow)
			assert.Equal(t, 1, apiErr.Attempts)
			assert.ErrorIs(t, err, client.ErrRateLimited)
			assert.NotErrorIs(t, err, client.ErrValidation)
			last := rec.last(t)
			assert.Equal(t, apiErr.RequestID, last.respHeader.Get("X-Request-Id"))
			assert.Equal(t, "2", last.respHeader.Get("X-RateLimit-Limit"))
			assert.Equal(t, "0", last.respHeader.Get("X-RateLimit-Remaining"))
			assert.Equal(t, fmt.Sprint(int(apiErr.RetryAfter/time.Second)), last.respHeader.Get("Retry-After"))

			// With retries: the SDK waits Retry-After (here: moves the
			// server clock on) and the retry goes through.
			rec.exchanges()
			retrying := e2eAPI(t, srv, srv.AdminKey, rec, client.WithSleep(clock.sleep))
			require.NoError(t, tt.call(t.Context(), retrying))
			exs := rec.exchanges()
			require.Len(t, exs, 2)
			assert.Equal(t, http.StatusTooManyRequests, exs[0].status)
			assert.Equal(t, http.StatusOK/100, exs[1].status/100)
			assert.Equal(t, exs[0].reqHeader.Get("Idempotency-Key"), exs[1].reqHeader.Get("Idempotency-Key"),
				"a retried write keeps its Idempotency-Key")
		})
	}
}

func TestE2EIdempotentRetryAfterALostResponse(t *testing.T) {
	t.Parallel()
	noSleep := client.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() })
	loseFirstWrite := func(_ int, r *http.Request) bool { return r.Method != http.MethodGet }

	t.Run("create", func(t *testing.T) {
		t.Parallel()
		srv := spotzeetest.NewServer(t)
		rec := newE2ERecorder(t, true)
		lost := false // guarded by rec.mu
		rec.setLose(func(n int, r *http.Request) bool {
			if !lost && loseFirstWrite(n, r) {
				lost = true
				return true
			}
			return false
		})
		api := e2eAPI(t, srv, srv.AdminKey, rec, noSleep)

		created, err := api.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "exactly once", Role: new(client.ProjectRoleEditor)})
		require.NoError(t, err)

		exs := rec.exchanges()
		require.Len(t, exs, 2, "the lost attempt and its retry")
		assert.True(t, exs[0].lost)
		assert.Equal(t, http.StatusOK, exs[0].status, "the server had created the key")
		idem := exs[0].reqHeader.Get("Idempotency-Key")
		assert.NotEmpty(t, idem)
		assert.Equal(t, idem, exs[1].reqHeader.Get("Idempotency-Key"), "the retry carries the same Idempotency-Key")
		assert.Equal(t, http.StatusOK, exs[1].status)
		assert.Equal(t, "true", exs[1].respHeader.Get("Idempotent-Replayed"))
		assert.Empty(t, exs[0].respHeader.Get("Idempotent-Replayed"))
		assert.Equal(t, exs[0].respHeader.Get("X-Request-Id"), exs[1].respHeader.Get("X-Request-Id"), "a replay keeps the original request id")
		assert.JSONEq(t, string(exs[0].respBody), string(exs[1].respBody), "the original response, full value included")

		assert.Regexp(t, `^sk_[0-9A-HJKMNP-TV-Z]{26}$`, created.Value)
		assert.Contains(t, string(exs[0].respBody), created.Value, "the key the server made the first time")
		matching := e2eAll(t, api, client.ListProjectAPIKeysParams{Q: new("exactly once")})
		require.Len(t, matching, 1, "one key, not two")
		assert.Equal(t, created.ID, matching[0].ID)
		assert.Equal(t, client.ProjectRoleEditor, matching[0].Role)
	})

	t.Run("update", func(t *testing.T) {
		t.Parallel()
		srv := spotzeetest.NewServer(t)
		rec := newE2ERecorder(t, true)
		api := e2eAPI(t, srv, srv.AdminKey, rec, noSleep)
		k := e2eCreate(t, api, "before")[0]
		lost := false // guarded by rec.mu
		rec.setLose(func(n int, r *http.Request) bool {
			if !lost && loseFirstWrite(n, r) {
				lost = true
				return true
			}
			return false
		})
		rec.exchanges()

		updated, err := api.UpdateKey(t.Context(), k.ID, client.ProjectAPIKeyUpdate{Name: new("after"), Description: nullable.NewNullNullable[string]()})
		require.NoError(t, err)
		assert.Equal(t, "after", updated.Name)
		exs := rec.exchanges()
		require.Len(t, exs, 2)
		assert.True(t, exs[0].lost)
		assert.Equal(t, exs[0].reqHeader.Get("Idempotency-Key"), exs[1].reqHeader.Get("Idempotency-Key"))
		assert.Equal(t, "true", exs[1].respHeader.Get("Idempotent-Replayed"))
		assert.JSONEq(t, string(exs[0].respBody), string(exs[1].respBody))
	})

	t.Run("without an idempotency key the SDK does not retry", func(t *testing.T) {
		t.Parallel()
		srv := spotzeetest.NewServer(t)
		rec := newE2ERecorder(t, true)
		rec.setLose(loseFirstWrite)
		api := e2eAPI(t, srv, srv.AdminKey, rec, noSleep, client.WithAutoIdempotencyKeys(false))

		_, err := api.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "maybe created"})
		require.ErrorIs(t, err, errLostResponse)
		var apiErr *client.APIError
		assert.False(t, errors.As(err, &apiErr))
		exs := rec.exchanges()
		require.Len(t, exs, 1, "a POST without Idempotency-Key is never resent")
		assert.Empty(t, exs[0].reqHeader.Get("Idempotency-Key"))
		rec.setLose(nil)
		assert.Len(t, e2eAll(t, api, client.ListProjectAPIKeysParams{Q: new("maybe created")}), 1,
			"the key exists although the caller saw an error: why creates carry an Idempotency-Key")
	})
}
