package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

// testOrgKey is the organisation key every Admin test uses; it must never
// leak.
const testOrgKey = "ok_01HXY7Z9K8M5J2N4P6Q8R0S1T2"

// adminPrefix is the path the fake servers mount the admin surface under.
const adminPrefix = "/api/admin"

// Bodies the admin fake servers answer with.
const (
	orgMeBody = `{"organization":{"id":7,"username":"acme","domain":"acme.example",` +
		`"created_at":"2026-04-28T09:30:00Z","updated_at":null},"role":"owner"}`
	orgKeyBody = `{"id":31,"organization_id":7,"name":"terraform","description":"provisions",` +
		`"role":"admin","value":"ok_****S1T2","created_at":"2026-04-28T09:30:00Z","updated_at":null}`
	orgKeyCreatedBody = `{"id":31,"organization_id":7,"name":"terraform","role":"member",` +
		`"value":"ok_01HXY7Z9K8M5J2N4P6Q8R0NEW1","created_at":"2026-04-28T09:30:00Z","updated_at":null}`
	orgKeyListBody = `{"results":[` + orgKeyBody + `],"nextCursor":"eyJ2IjoyfQ","prevCursor":null,"limit":10}`
	orgRevokeBody  = `{"id":31,"revoked":true,"revoked_at":"2026-04-28T09:30:00Z"}`
	orgProjectBody = `{"id":123,"organization_id":7,"name":"Newsletter","description":null,"locale":"en-GB",` +
		`"timezone":"Europe/London","website_url":"https://acme.example","link_wrap_email":true,"role":"admin",` +
		`"has_provider":false,"created_at":"2026-04-28T09:30:00Z","updated_at":"2026-04-29T10:00:00Z"}`
	projectListBody = `{"results":[` + orgProjectBody + `],"nextCursor":null,"prevCursor":"eyJ2IjoxfQ","limit":25}`
	currentBody     = `{"id":123,"organization_id":7,"name":"Newsletter","locale":"en-GB","timezone":"Europe/London",` +
		`"role":"editor","has_provider":false,"track_opens_email":false,"created_at":"2026-04-28T09:30:00Z","updated_at":null}`
)

// newTestAdmin returns an Admin on srv under /api/admin with a recording
// fake sleep; opts come after the test defaults so they win.
func newTestAdmin(t *testing.T, srv *httptest.Server, opts ...client.Option) (*client.Admin, *sleeper) {
	t.Helper()
	s := &sleeper{}
	all := append([]client.Option{client.WithHTTPClient(srv.Client()), client.WithSleep(s.sleep)}, opts...)
	a, err := client.NewAdmin(srv.URL+adminPrefix, testOrgKey, all...)
	require.NoError(t, err)
	return a, s
}

// adminCall runs the Admin (or, for "current project", API) operation op
// and returns its error; the success body each needs is adminBodies[op].
func adminCall(ctx context.Context, a *client.Admin, c *client.API, op string, opts ...client.CallOption) error {
	var err error
	switch op {
	case "organization":
		_, err = a.Organization(ctx, opts...)
	case "list keys":
		_, err = a.ListKeys(ctx, nil, opts...)
	case "create key":
		_, err = a.CreateKey(ctx, client.OrganizationAPIKeyCreate{Name: "terraform"}, opts...)
	case "get key":
		_, err = a.GetKey(ctx, 31, opts...)
	case "update key":
		_, err = a.UpdateKey(ctx, 31, client.OrganizationAPIKeyUpdate{Name: nullable.NewNullableWithValue("tf")}, opts...)
	case "revoke key":
		_, err = a.RevokeKey(ctx, 31, opts...)
	case "list projects":
		_, err = a.ListProjects(ctx, nil, opts...)
	case "create project":
		_, err = a.CreateProject(ctx, client.OrgProjectCreate{Name: "Newsletter", Locale: "en-GB", Timezone: "Europe/London"}, opts...)
	case "update project":
		_, err = a.UpdateProject(ctx, 123, client.OrgProjectUpdate{Name: nullable.NewNullableWithValue("Weekly")}, opts...)
	case "current project":
		_, err = c.CurrentProject(ctx, opts...)
	default:
		panic("unknown op " + op)
	}
	return err
}

// adminOps are the operations adminCall runs, with their success body and
// whether they carry an Idempotency-Key (POST and PATCH).
var adminOps = []struct {
	op    string
	body  string
	keyed bool
}{
	{"organization", orgMeBody, false},
	{"list keys", orgKeyListBody, false},
	{"create key", orgKeyCreatedBody, true},
	{"get key", orgKeyBody, false},
	{"update key", orgKeyBody, true},
	{"revoke key", orgRevokeBody, false},
	{"list projects", projectListBody, false},
	{"create project", orgProjectBody, true},
	{"update project", orgProjectBody, true},
	{"current project", currentBody, false},
}

func TestAdminTypedMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string // the 200 body the server answers with
		run        func(t *testing.T, a *client.Admin, c *client.API)
		wantMethod string
		wantPath   string
		wantQuery  url.Values
		wantBody   string // JSON, "" for none
		wantIdem   bool   // an Idempotency-Key is sent
	}{
		{
			name: "Organization", body: orgMeBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				me, err := a.Organization(t.Context())
				require.NoError(t, err)
				assert.Equal(t, int64(7), me.Organization.ID)
				assert.Equal(t, "acme", me.Organization.Username)
				assert.Equal(t, "acme.example", me.Organization.Domain.MustGet())
				assert.True(t, me.Organization.UpdatedAt.IsNull())
				assert.Equal(t, client.OrganizationCallerRoleOwner, me.Role)
			},
			wantMethod: "GET", wantPath: adminPrefix + "/organizations/me",
		},
		{
			name: "ListKeys", body: orgKeyListBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				page, err := a.ListKeys(t.Context(), &client.ListOrganizationAPIKeysParams{
					Cursor: new("eyJ2IjoxfQ"), Page: new(client.PageDirectionPrev), Limit: new(10),
					Sort: new("-name"), Direction: new(client.SortDirectionDesc), Q: new("terra form"),
				})
				require.NoError(t, err)
				require.Len(t, page.Results, 1)
				assert.Equal(t, "terraform", page.Results[0].Name)
				assert.Equal(t, "ok_****S1T2", page.Results[0].Value)
				assert.Equal(t, "eyJ2IjoyfQ", page.NextCursor.MustGet())
				assert.True(t, page.PrevCursor.IsNull())
				assert.Equal(t, 10, page.Limit)
			},
			wantMethod: "GET", wantPath: adminPrefix + "/organizations/api-keys",
			wantQuery: url.Values{"cursor": {"eyJ2IjoxfQ"}, "page": {"prev"}, "limit": {"10"}, "sort": {"-name"}, "direction": {"desc"}, "q": {"terra form"}},
		},
		{
			name: "ListKeys nil params", body: orgKeyListBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				_, err := a.ListKeys(t.Context(), nil)
				require.NoError(t, err)
			},
			wantMethod: "GET", wantPath: adminPrefix + "/organizations/api-keys",
		},
		{
			name: "CreateKey", body: orgKeyCreatedBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				k, err := a.CreateKey(t.Context(), client.OrganizationAPIKeyCreate{
					Name: "terraform", Role: new(client.OrganizationRoleMember), Description: nullable.NewNullableWithValue("ci"),
				})
				require.NoError(t, err)
				assert.Equal(t, int64(31), k.ID)
				assert.Equal(t, int64(7), k.OrganizationID)
				assert.Equal(t, "ok_01HXY7Z9K8M5J2N4P6Q8R0NEW1", k.Value, "the full value, once")
				assert.Equal(t, client.OrganizationRoleMember, k.Role)
			},
			wantMethod: "POST", wantPath: adminPrefix + "/organizations/api-keys",
			wantBody: `{"name":"terraform","role":"member","description":"ci"}`, wantIdem: true,
		},
		{
			name: "GetKey", body: orgKeyBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				k, err := a.GetKey(t.Context(), 31)
				require.NoError(t, err)
				assert.Equal(t, "ok_****S1T2", k.Value)
				assert.Equal(t, client.OrganizationRoleAdmin, k.Role)
				assert.Equal(t, "provisions", k.Description.MustGet())
			},
			wantMethod: "GET", wantPath: adminPrefix + "/organizations/api-keys/31",
		},
		{
			name: "UpdateKey", body: orgKeyBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				k, err := a.UpdateKey(t.Context(), 31, client.OrganizationAPIKeyUpdate{
					Description: nullable.NewNullNullable[string](), Role: new(client.OrganizationRoleOwner),
				})
				require.NoError(t, err)
				assert.Equal(t, int64(31), k.ID)
			},
			wantMethod: "PATCH", wantPath: adminPrefix + "/organizations/api-keys/31",
			wantBody: `{"description":null,"role":"owner"}`, wantIdem: true,
		},
		{
			name: "RevokeKey", body: orgRevokeBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				r, err := a.RevokeKey(t.Context(), 31)
				require.NoError(t, err)
				assert.Equal(t, int64(31), *r.ID)
				assert.True(t, *r.Revoked)
				assert.Equal(t, "2026-04-28T09:30:00Z", *r.RevokedAt)
			},
			wantMethod: "DELETE", wantPath: adminPrefix + "/organizations/api-keys/31",
		},
		{
			name: "ListProjects", body: projectListBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				page, err := a.ListProjects(t.Context(), &client.ListProjectsParams{Limit: new(5), Sort: new("name"), Q: new("news")})
				require.NoError(t, err)
				require.Len(t, page.Results, 1)
				p := page.Results[0]
				assert.Equal(t, int64(123), p.ID)
				assert.Equal(t, "Europe/London", p.Timezone)
				assert.True(t, p.Description.IsNull())
				assert.True(t, p.LinkWrapEmail.MustGet())
				assert.False(t, p.LinkWrapPush.IsSpecified())
				assert.True(t, page.NextCursor.IsNull())
			},
			wantMethod: "GET", wantPath: adminPrefix + "/projects",
			wantQuery: url.Values{"limit": {"5"}, "sort": {"name"}, "q": {"news"}},
		},
		{
			name: "CreateProject", body: orgProjectBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				p, err := a.CreateProject(t.Context(), client.OrgProjectCreate{
					Name: "Newsletter", Locale: "en-GB", Timezone: "Europe/London",
					WebsiteURL: nullable.NewNullableWithValue("https://acme.example"), LinkWrapEmail: nullable.NewNullableWithValue(true),
				})
				require.NoError(t, err)
				assert.Equal(t, int64(123), p.ID)
				require.NotNil(t, p.Role)
				assert.Equal(t, client.OrgProjectRoleAdmin, *p.Role)
				require.NotNil(t, p.HasProvider)
				assert.False(t, *p.HasProvider)
			},
			wantMethod: "POST", wantPath: adminPrefix + "/projects",
			wantBody: `{"name":"Newsletter","locale":"en-GB","timezone":"Europe/London","website_url":"https://acme.example","link_wrap_email":true}`,
			wantIdem: true,
		},
		{
			name: "UpdateProject", body: orgProjectBody,
			run: func(t *testing.T, a *client.Admin, _ *client.API) {
				p, err := a.UpdateProject(t.Context(), 123, client.OrgProjectUpdate{
					Timezone: nullable.NewNullableWithValue("UTC"), WebsiteURL: nullable.NewNullNullable[string](),
					TrackOpensEmail: nullable.NewNullableWithValue(false),
				})
				require.NoError(t, err)
				assert.Equal(t, "2026-04-29T10:00:00Z", p.UpdatedAt.MustGet())
			},
			wantMethod: "PATCH", wantPath: adminPrefix + "/projects/123",
			wantBody: `{"timezone":"UTC","website_url":null,"track_opens_email":false}`, wantIdem: true,
		},
		{
			name: "CurrentProject", body: currentBody,
			run: func(t *testing.T, _ *client.Admin, c *client.API) {
				p, err := c.CurrentProject(t.Context())
				require.NoError(t, err)
				assert.Equal(t, int64(123), p.ID)
				assert.Equal(t, int64(7), p.OrganizationID)
				assert.Equal(t, client.ProjectRoleEditor, p.Role)
				assert.False(t, p.TrackOpensEmail.MustGet())
			},
			wantMethod: "GET", wantPath: "/api/client/me",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, reply{body: tt.body})
			a, _ := newTestAdmin(t, srv.Server)
			c, _ := newTestAPI(t, srv.Server, client.WithBaseURL(srv.URL+"/api/client"))

			tt.run(t, a, c)

			reqs := srv.requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, tt.wantMethod, r.method)
			assert.Equal(t, tt.wantPath, r.path)
			q, err := url.ParseQuery(r.query)
			require.NoError(t, err)
			if tt.wantQuery == nil {
				tt.wantQuery = url.Values{}
			}
			assert.Equal(t, tt.wantQuery, q)
			if tt.wantBody == "" {
				assert.Empty(t, r.body)
			} else {
				assert.JSONEq(t, tt.wantBody, string(r.body))
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			}
			wantAuth := "Bearer " + testOrgKey
			if tt.name == "CurrentProject" {
				wantAuth = "Bearer " + testKey
			}
			assert.Equal(t, wantAuth, r.header.Get("Authorization"))
			assert.Equal(t, client.DefaultAPIVersion, r.header.Get("Spotzee-Version"))
			if tt.wantIdem {
				assert.Regexp(t, uuidV4Pattern, r.header.Get("Idempotency-Key"))
			} else {
				assert.Empty(t, r.header.Values("Idempotency-Key"))
			}
		})
	}
}

// TestAdminIdempotencyKeyReusedAcrossRetries: each POST and PATCH of the
// admin surface generates one key, sends it on every attempt and a new one
// on the next call; a caller's key is sent as is.
func TestAdminIdempotencyKeyReusedAcrossRetries(t *testing.T) {
	t.Parallel()
	for _, o := range adminOps {
		if !o.keyed {
			continue
		}
		t.Run(o.op, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t,
				reply{status: 503, code: client.ErrorCodeServiceUnavailable},
				reply{drop: true},
				reply{status: 409, code: client.ErrorCodeIdempotencyInProgress, header: map[string]string{"Retry-After": "0"}},
				reply{status: 429, code: client.ErrorCodeRateLimited},
				reply{body: o.body}, // the first call succeeds at attempt 5, the next ones at once
			)
			a, sl := newTestAdmin(t, srv.Server, client.WithMaxAttempts(5))

			require.NoError(t, adminCall(t.Context(), a, nil, o.op))
			require.NoError(t, adminCall(t.Context(), a, nil, o.op))
			require.NoError(t, adminCall(t.Context(), a, nil, o.op, client.WithIdempotencyKey("deploy-42")))

			reqs := srv.requests()
			require.Len(t, reqs, 7)
			assert.Len(t, sl.recorded(), 4, "four retries, each after a sleep")
			first := reqs[0].header.Get("Idempotency-Key")
			assert.Regexp(t, uuidV4Pattern, first)
			for i, r := range reqs[:5] {
				assert.Equal(t, first, r.header.Get("Idempotency-Key"), "attempt %d reuses the key", i+1)
				assert.Equal(t, string(reqs[0].body), string(r.body), "attempt %d sends the same body", i+1)
				assert.True(t, strings.HasPrefix(r.path, adminPrefix+"/"), r.path)
			}
			assert.Regexp(t, uuidV4Pattern, reqs[5].header.Get("Idempotency-Key"))
			assert.NotEqual(t, first, reqs[5].header.Get("Idempotency-Key"), "a new call gets a new key")
			assert.Equal(t, []string{"deploy-42"}, reqs[6].header.Values("Idempotency-Key"))
		})
	}
}

// TestAdminRetriesWithoutAKey: with automatic keys off, a POST or PATCH is
// sent once and not retried; GET and DELETE are retried anyway.
func TestAdminRetriesWithoutAKey(t *testing.T) {
	t.Parallel()
	for _, o := range adminOps {
		if o.op == "current project" {
			continue
		}
		t.Run(o.op, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, reply{status: 503, code: client.ErrorCodeServiceUnavailable}, reply{body: o.body})
			a, _ := newTestAdmin(t, srv.Server, client.WithAutoIdempotencyKeys(false))

			err := adminCall(t.Context(), a, nil, o.op)

			if o.keyed {
				var apiErr *client.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, 503, apiErr.StatusCode)
				assert.Equal(t, 1, srv.count(), "a POST or PATCH without a key is not retried")
			} else {
				require.NoError(t, err)
				assert.Equal(t, 2, srv.count(), "retried once, then succeeded")
			}
			for _, r := range srv.requests() {
				assert.Empty(t, r.header.Values("Idempotency-Key"))
			}
		})
	}
}

func TestAdminErrors(t *testing.T) {
	t.Parallel()
	statuses := []struct {
		status   int
		code     client.Code
		sentinel error
	}{
		{400, client.ErrorCodeParameterInvalidFormat, client.ErrValidation},
		{401, client.ErrorCodeAuthenticationRequired, client.ErrUnauthorized},
		{403, client.ErrorCodePermissionDenied, client.ErrForbidden},
		{404, client.ErrorCodeResourceMissing, client.ErrNotFound},
		{409, client.ErrorCodeStateConflict, client.ErrConflict},
		{422, client.ErrorCodeValidationFailed, client.ErrValidation},
	}
	for _, o := range adminOps {
		for _, s := range statuses {
			t.Run(fmt.Sprintf("%s %d", o.op, s.status), func(t *testing.T) {
				t.Parallel()
				srv := newFaultServer(t, reply{status: s.status, code: s.code})
				a, _ := newTestAdmin(t, srv.Server)
				c, _ := newTestAPI(t, srv.Server)

				err := adminCall(t.Context(), a, c, o.op)

				var apiErr *client.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, s.status, apiErr.StatusCode)
				assert.Equal(t, s.code, apiErr.Code)
				assert.Equal(t, "req_00000000000000000000000001", apiErr.RequestID)
				assert.Equal(t, fmt.Sprintf("HTTP %d with %s.", s.status, s.code), apiErr.Message)
				assert.ErrorIs(t, err, s.sentinel)
				for _, other := range []error{client.ErrNotFound, client.ErrUnauthorized, client.ErrForbidden, client.ErrConflict, client.ErrRateLimited} {
					if other != s.sentinel {
						assert.NotErrorIs(t, err, other)
					}
				}
				if s.code == client.ErrorCodeValidationFailed {
					require.Len(t, apiErr.Errors, 1)
					assert.Equal(t, "role", apiErr.Errors[0].Param)
				}
				assert.Equal(t, 1, srv.count(), "a 4xx is not retried")
				assertNoOrgKey(t, err.Error())
			})
		}
	}
}

// TestAdminErrorNeverShowsTheKey: a server echoing the bearer token in an
// error body does not get the organisation key into the error.
func TestAdminErrorNeverShowsTheKey(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-Id", "req_01HXY7Z9K8M5J2N4P6Q8R0ECHO")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"status":"error","code":"authentication_required","title":"t","message":"bad key %s","error":"bad key %s","request_id":"req_01HXY7Z9K8M5J2N4P6Q8R0ECHO"}`, token, token)
	}))
	t.Cleanup(srv.Close)
	a, _ := newTestAdmin(t, srv)

	_, err := a.Organization(t.Context())

	require.ErrorIs(t, err, client.ErrUnauthorized)
	assertNoOrgKey(t, err.Error())
	assertNoOrgKey(t, fmt.Sprintf("%+v %#v", err, err))
	assert.Contains(t, err.Error(), "[REDACTED]")
}

func TestAdminKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	a, err := client.NewAdmin("https://apix.example/api/admin", testOrgKey, client.WithClientType("cli"))
	require.NoError(t, err)

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("configured", "admin", a)
	j, err := json.Marshal(a)
	require.NoError(t, err)

	outputs := map[string]string{
		"fmt verbs":     fmt.Sprintf("%v %+v %#v %s", a, a, a, a),
		"quoted, hex":   fmt.Sprintf("%q %x %T", a, a, a),
		"value, not *":  fmt.Sprintf("%v %+v %#v", *a, *a, *a),
		"in a struct":   fmt.Sprintf("%+v %#v", struct{ A *client.Admin }{a}, struct{ A *client.Admin }{a}),
		"slog":          logs.String(),
		"json":          string(j),
		"Raw() printed": fmt.Sprintf("%+v", a.Raw()),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assertNoOrgKey(t, out)
		})
	}
	for _, s := range []string{a.String(), fmt.Sprintf("%v", a), fmt.Sprintf("%#v", a), a.GoString()} {
		assert.Contains(t, s, "ok_****S1T2")
		assert.Contains(t, s, "https://apix.example/api/admin")
	}
	assert.Contains(t, logs.String(), `"key":"ok_****S1T2"`)
	assert.Contains(t, logs.String(), `"base_url":"https://apix.example/api/admin"`)
}

func TestNewAdmin(t *testing.T) {
	t.Parallel()
	t.Run("default base URL", func(t *testing.T) {
		t.Parallel()
		a, err := client.NewAdmin("", testOrgKey)
		require.NoError(t, err)
		assert.Contains(t, a.String(), client.DefaultAdminBaseURL)
		assert.NotContains(t, a.String(), client.DefaultBaseURL)
	})

	bad := []struct {
		name    string
		baseURL string
		key     string
		opts    []client.Option
		wantErr string
	}{
		{"empty key", "", "", nil, "empty API key"},
		{"key with newline", "", testOrgKey + "\nX-Evil: 1", nil, "white space or control"},
		{"relative URL", "/api/admin", testOrgKey, nil, "absolute http or https"},
		{"bad option", "", testOrgKey, []client.Option{client.WithMaxAttempts(0)}, "WithMaxAttempts"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := client.NewAdmin(tt.baseURL, tt.key, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, a)
			assert.ErrorContains(t, err, tt.wantErr)
			assertNoOrgKey(t, err.Error())
		})
	}

	paths := []struct {
		name, suffix, wantPath string
	}{
		{"host only", "", "/organizations/me"},
		{"admin prefix", "/api/admin", "/api/admin/organizations/me"},
		{"admin prefix with slash", "/api/admin/", "/api/admin/organizations/me"},
	}
	for _, tt := range paths {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, reply{body: orgMeBody})
			a, err := client.NewAdmin(srv.URL+tt.suffix, testOrgKey, client.WithHTTPClient(srv.Client()))
			require.NoError(t, err)
			_, err = a.Organization(t.Context())
			require.NoError(t, err)
			assert.Equal(t, tt.wantPath, srv.requests()[0].path)
		})
	}
}

// adminPager serves a pagingServer's pages under the admin prefix and
// records every path it was asked for.
type adminPager struct {
	*pagingServer
	srv   *httptest.Server
	mu    sync.Mutex
	paths []string
}

func newAdminPager(t *testing.T, total int, configure ...func(*pagingServer)) *adminPager {
	t.Helper()
	p := &adminPager{pagingServer: newPagingServer(t, total, configure...)}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths = append(p.paths, r.URL.Path)
		p.mu.Unlock()
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *adminPager) seenPaths() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// ids drains an iterator of items into their ids and errors.
func ids[T any](seq iter.Seq2[T, error], id func(T) int64) ([]int64, []error) {
	var out []int64
	var errs []error
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue // the iterator must stop by itself
		}
		out = append(out, id(v))
	}
	return out, errs
}

// adminIterators are the Admin iterators under test: each walks the pager's
// items forward (or backward from cursor, when backward) and returns their
// ids and errors.
var adminIterators = []struct {
	name     string
	path     string
	backward bool
	walk     func(ctx context.Context, a *client.Admin, cursor string, params *client.ListProjectAPIKeysParams) ([]int64, []error)
}{
	{
		name: "AllKeys", path: adminPrefix + "/organizations/api-keys",
		walk: func(ctx context.Context, a *client.Admin, _ string, p *client.ListProjectAPIKeysParams) ([]int64, []error) {
			return ids(a.AllKeys(ctx, (*client.ListOrganizationAPIKeysParams)(p)), func(k client.OrganizationAPIKey) int64 { return k.ID })
		},
	},
	{
		name: "AllKeysBackward", path: adminPrefix + "/organizations/api-keys", backward: true,
		walk: func(ctx context.Context, a *client.Admin, cursor string, p *client.ListProjectAPIKeysParams) ([]int64, []error) {
			return ids(a.AllKeysBackward(ctx, cursor, (*client.ListOrganizationAPIKeysParams)(p)), func(k client.OrganizationAPIKey) int64 { return k.ID })
		},
	},
	{
		name: "AllProjects", path: adminPrefix + "/projects",
		walk: func(ctx context.Context, a *client.Admin, _ string, p *client.ListProjectAPIKeysParams) ([]int64, []error) {
			return ids(a.AllProjects(ctx, (*client.ListProjectsParams)(p)), func(p client.OrgProject) int64 { return p.ID })
		},
	},
}

func TestAdminIteratorsWalkEveryPage(t *testing.T) {
	t.Parallel()
	for _, it := range adminIterators {
		t.Run(it.name, func(t *testing.T) {
			t.Parallel()
			p := newAdminPager(t, 23)
			a, _ := newTestAdmin(t, p.srv)
			params := filters(5)

			got, errs := it.walk(t.Context(), a, encodeCursor(21), params)

			require.Empty(t, errs)
			wantPages, page := 5, "next"
			want := seq(1, 23, 1)
			if it.backward {
				wantPages, page = 4, "prev"
				want = seq(20, 1, -1)
			}
			assert.Equal(t, want, got, "every item once, in order, no gaps")
			reqs := p.requests()
			require.Len(t, reqs, wantPages)
			for i, q := range reqs {
				assertFilters(t, q, 5, page)
				if !it.backward && i == 0 {
					assert.False(t, q.Has("cursor"), "the first page has no cursor")
					continue
				}
				_, ok := decodeCursor(q.Get("cursor"))
				assert.True(t, ok, "page %d follows the cursor", i+1)
			}
			for _, path := range p.seenPaths() {
				assert.Equal(t, it.path, path)
			}
			assert.Nil(t, params.Cursor, "the caller's params are not modified")
		})
	}
}

func TestAdminIteratorsStopOnFirstError(t *testing.T) {
	t.Parallel()
	for _, it := range adminIterators {
		t.Run(it.name, func(t *testing.T) {
			t.Parallel()
			p := newAdminPager(t, 23, func(ps *pagingServer) { ps.failFrom, ps.failWith = 3, 400 })
			a, _ := newTestAdmin(t, p.srv)

			got, errs := it.walk(t.Context(), a, encodeCursor(21), filters(5))

			want := seq(1, 10, 1)
			if it.backward {
				want = seq(20, 11, -1)
			}
			assert.Equal(t, want, got, "the items of the pages before the failure")
			require.Len(t, errs, 1, "the error is yielded once, then the walk stops")
			var apiErr *client.APIError
			require.ErrorAs(t, errs[0], &apiErr)
			assert.Equal(t, 400, apiErr.StatusCode)
			assert.ErrorIs(t, errs[0], client.ErrValidation)
			assert.Len(t, p.requests(), 3, "no page after the failure")
		})
	}
}

func TestAdminIteratorsEarlyBreak(t *testing.T) {
	t.Parallel()
	p := newAdminPager(t, 23)
	a, _ := newTestAdmin(t, p.srv)
	var got []int64
	for proj, err := range a.AllProjects(t.Context(), (*client.ListProjectsParams)(filters(5))) {
		require.NoError(t, err)
		if got = append(got, proj.ID); len(got) == 7 {
			break
		}
	}
	assert.Equal(t, seq(1, 7, 1), got)
	assert.Len(t, p.requests(), 2, "no page fetched after the break")

	var errs []error
	for _, err := range a.AllKeysBackward(t.Context(), "", nil) {
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], "empty cursor")
	assert.Len(t, p.requests(), 2, "an empty cursor sends nothing")
}

// assertNoOrgKey fails if s contains the test organisation key.
func assertNoOrgKey(t *testing.T, s string) {
	t.Helper()
	assert.NotContains(t, s, testOrgKey)
	assert.NotContains(t, s, strings.TrimPrefix(testOrgKey, "ok_"))
}
