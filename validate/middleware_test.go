package validate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/problem"
	"github.com/spotzeekit/spotzee-keys/validate"
)

const bearer = "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"

// captured is what the handler behind the middleware saw.
type captured struct {
	called bool
	body   []byte
	query  string
}

func newGuarded(t *testing.T, opts ...validate.Option) (http.Handler, *captured) {
	t.Helper()
	v, err := validate.New(opts...)
	require.NoError(t, err)
	c := &captured{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.called = true
		c.body, _ = io.ReadAll(r.Body)
		c.query = r.URL.RawQuery
		w.WriteHeader(http.StatusNoContent)
	})
	return v.Middleware()(next), c
}

// TestProfileOnlyRulesPassTheFaithfulContract shows which request rules
// are the reference profile's own: the faithful contract lets them through.
func TestProfileOnlyRulesPassTheFaithfulContract(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, method, path, body string }{
		{"name over 255", "POST", "/keys", `{"name":"` + strings.Repeat("n", 256) + `"}`},
		{"body over 64 KiB", "POST", "/keys", `{"name":"` + strings.Repeat("n", 70<<10) + `"}`},
		{"keyId zero", "DELETE", "/keys/0", ``},
		{"empty q", "GET", "/keys?q=", ``},
		{"sort field of another API", "GET", "/keys?sort=value", ``},
		{"cursor over 4096", "GET", "/keys?cursor=" + strings.Repeat("c", 4097), ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := func() *http.Request {
				r := httptest.NewRequest(tt.method, "/api/client"+tt.path, strings.NewReader(tt.body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", bearer)
				return r
			}
			faithful, seen := newGuarded(t)
			rec := httptest.NewRecorder()
			faithful.ServeHTTP(rec, req())
			assert.True(t, seen.called, "faithful contract: %s", rec.Body.String())

			reference, seen := newGuarded(t, validate.WithReferenceProfile())
			rec = httptest.NewRecorder()
			reference.ServeHTTP(rec, req())
			assert.False(t, seen.called, "the reference profile refuses it")
			assert.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"))
		})
	}
}

func TestMiddlewareRejectsBadRequests(t *testing.T) {
	t.Parallel()
	big := `{"name":"` + strings.Repeat("a", validate.DefaultMaxBodyBytes) + `"}`
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		header     map[string]string
		noAuth     bool
		wantStatus int
		wantCode   string
		wantParam  string
		wantFields []string
	}{
		{"unknown field", "POST", "/keys", `{"name":"a","colour":"red"}`, nil, false, 400, "parameter_unknown", "colour", []string{"colour"}},
		{"same field other case", "POST", "/keys", `{"name":"a","NAME":"b"}`, nil, false, 400, "parameter_unknown", "NAME", []string{"NAME"}},
		{"wrong enum", "POST", "/keys", `{"name":"a","role":"root"}`, nil, false, 422, "validation_failed", "role", []string{"role"}},
		{"two bad fields", "PATCH", "/keys/12", `{"role":"root","scope":"private"}`, nil, false, 422, "validation_failed", "", []string{"role", "scope"}},
		{"wrong type", "POST", "/keys", `{"name":5}`, nil, false, 422, "validation_failed", "name", []string{"name"}},
		{"null where not nullable", "PATCH", "/keys/12", `{"name":null}`, nil, false, 422, "validation_failed", "name", []string{"name"}},
		{"over-long name", "POST", "/keys", `{"name":"` + strings.Repeat("n", 256) + `"}`, nil, false, 422, "validation_failed", "name", []string{"name"}},
		{"empty name on create", "POST", "/keys", `{"name":""}`, nil, false, 400, "parameter_invalid_empty", "name", []string{"name"}},
		{"empty name on update", "PATCH", "/keys/12", `{"name":""}`, nil, false, 400, "parameter_invalid_empty", "name", []string{"name"}},
		{"missing name", "POST", "/keys", `{"role":"admin"}`, nil, false, 400, "parameter_missing", "name", []string{"name"}},
		{"malformed JSON", "POST", "/keys", `{"name":`, nil, false, 400, "parameter_invalid_format", "", nil},
		{"not UTF-8", "POST", "/keys", "{\"name\":\"\xff\xfe\"}", nil, false, 400, "parameter_invalid_format", "", nil},
		{"data after the JSON value", "POST", "/keys", `{"name":"a"}{"role":"admin"}`, nil, false, 400, "parameter_invalid_format", "", nil},
		{"query value not UTF-8", "GET", "/keys?q=%FF", ``, nil, false, 400, "parameter_invalid_format", "q", nil},
		{"query value with NUL", "GET", "/keys?q=a%00", ``, nil, false, 400, "parameter_invalid_format", "q", nil},
		{"no body", "POST", "/keys", ``, nil, false, 400, "parameter_missing", "name", []string{"name"}},
		{"wrong content type", "POST", "/keys", `name=a`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, false, 400, "parameter_invalid_format", "Content-Type", nil},
		{"oversized body", "POST", "/keys", big, nil, false, 400, "parameter_invalid_format", "", nil},
		{"limit above 100", "GET", "/keys?limit=101", ``, nil, false, 400, "parameter_invalid_format", "limit", nil},
		{"limit below -1", "GET", "/keys?limit=-2", ``, nil, false, 400, "parameter_invalid_format", "limit", nil},
		{"limit not a number", "GET", "/keys?limit=abc", ``, nil, false, 400, "parameter_invalid_format", "limit", nil},
		{"unknown sort field", "GET", "/keys?sort=value", ``, nil, false, 400, "parameter_invalid_format", "sort", nil},
		{"bad page", "GET", "/keys?page=last", ``, nil, false, 400, "parameter_invalid_format", "page", nil},
		{"unknown query parameter", "GET", "/keys?offset=5", ``, nil, false, 400, "parameter_unknown", "offset", nil},
		{"empty q", "GET", "/keys?q=", ``, nil, false, 400, "parameter_invalid_empty", "q", nil},
		{"keyId not a number", "GET", "/keys/abc", ``, nil, false, 400, "parameter_invalid_format", "keyId", nil},
		{"keyId zero", "DELETE", "/keys/0", ``, nil, false, 400, "parameter_invalid_format", "keyId", nil},
		{"version not a date", "GET", "/keys", ``, map[string]string{"Spotzee-Version": "latest"}, false, 400, "parameter_invalid_format", "Spotzee-Version", nil},
		{"empty idempotency key", "POST", "/keys", `{"name":"a"}`, map[string]string{"Idempotency-Key": ""}, false, 400, "idempotency_key_invalid", "Idempotency-Key", nil},
		{"long idempotency key", "PATCH", "/keys/1", `{"name":"a"}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, false, 400, "idempotency_key_invalid", "Idempotency-Key", nil},
		{"missing bearer", "GET", "/keys", ``, nil, true, 401, "authentication_required", "", nil},
		{"basic auth", "GET", "/keys/1", ``, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, true, 401, "authentication_required", "", nil},
		{"empty bearer", "DELETE", "/keys/1", ``, map[string]string{"Authorization": "Bearer "}, true, 401, "authentication_required", "", nil},
		{"missing bearer wins over bad body", "POST", "/keys", `{"nope":1}`, nil, true, 401, "authentication_required", "", nil},
		{"missing bearer wins over unknown query", "GET", "/keys?colour=red", ``, nil, true, 401, "authentication_required", "", nil},
		{"null for a defaulted field", "POST", "/keys", `{"name":"a","role":null}`, nil, false, 422, "validation_failed", "role", []string{"role"}},
		{"null for two fields", "POST", "/keys", `{"name":"a","role":null,"scope":null}`, nil, false, 422, "validation_failed", "", []string{"role", "scope"}},
		{"unknown path", "GET", "/organizations/api-keys", ``, nil, false, 404, "resource_missing", "", nil},
		{"unsupported method", "PUT", "/keys/1", `{}`, nil, false, 405, "resource_missing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, seen := newGuarded(t, validate.WithReferenceProfile())
			req := httptest.NewRequest(tt.method, "/api/client"+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if !tt.noAuth {
				req.Header.Set("Authorization", bearer)
			}
			for k, v := range tt.header {
				req.Header[http.CanonicalHeaderKey(k)] = []string{v}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			assert.False(t, seen.called, "the handler must not see an invalid request")
			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"))
			var body problem.Body
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			assert.Equal(t, tt.wantCode, string(body.Code), body.Message)
			assert.Equal(t, tt.wantParam, body.Param)
			assert.Equal(t, "error", body.Status)
			assert.Equal(t, "https://docs.spotzee.com/main-api/errors#"+tt.wantCode, body.Type)
			assert.Regexp(t, `^req_[0-9A-HJKMNP-TV-Z]{26}$`, body.RequestID)
			assert.Equal(t, rec.Header().Get("X-Request-Id"), body.RequestID)
			var fields []string
			for _, f := range body.Errors {
				fields = append(fields, f.Param)
			}
			assert.ElementsMatch(t, tt.wantFields, fields)
			assert.NotContains(t, rec.Body.String(), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "the bearer never reaches an error")
			if tt.wantStatus == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET, PATCH, DELETE", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestMiddlewarePassesValidRequestsWithValidatedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		wantBody  map[string]any
		wantQuery string
	}{
		{"create gets defaults", "POST", "/api/client/keys", `{"name":"CI"}`,
			map[string]any{"name": "CI", "scope": "secret", "role": "support"}, ""},
		{"create keeps given values", "POST", "/keys", `{"name":"CI","scope":"public","role":"admin","description":null}`,
			map[string]any{"name": "CI", "scope": "public", "role": "admin", "description": nil}, ""},
		{"update with null description", "PATCH", "/keys/12", `{"description":null}`,
			map[string]any{"description": nil}, ""},
		{"list gets default query", "GET", "/keys?limit=-1", ``, nil, "limit=-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, seen := newGuarded(t)
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", bearer)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
			require.True(t, seen.called)
			assert.Regexp(t, `^req_`, rec.Header().Get("X-Request-Id"))
			if tt.wantBody != nil {
				var got map[string]any
				require.NoError(t, json.Unmarshal(seen.body, &got))
				assert.Equal(t, tt.wantBody, got)
			}
			assert.Contains(t, seen.query, tt.wantQuery)
		})
	}
}

func TestMiddlewareKeepsOuterRequestID(t *testing.T) {
	t.Parallel()
	h, _ := newGuarded(t)
	req := httptest.NewRequest("GET", "/keys?limit=500", nil)
	req.Header.Set("Authorization", bearer)
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	h.ServeHTTP(rec, req)
	assert.Contains(t, rec.Body.String(), `"request_id":"req_01HXY7Z9K8M5J2N4P6Q8R0S1T2"`)
}

func TestMiddlewareRefusesRepeatedAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
	}{
		{"same key twice", []string{bearer, bearer}},
		{"valid key first", []string{bearer, "Bearer sk_other"}},
		{"valid key second", []string{"Basic dXNlcjpwYXNz", bearer}},
		{"one empty", []string{bearer, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			h, seen := newGuarded(t, validate.WithAuthenticator(func(context.Context, string) error {
				called = true
				return nil
			}))
			req := httptest.NewRequest("GET", "/api/client/keys", nil)
			req.Header["Authorization"] = tt.values
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			assert.False(t, seen.called, "the handler must not see the request")
			assert.False(t, called, "no token is checked when there are several")
			assert.Equal(t, http.StatusUnauthorized, rec.Code)
			var body problem.Body
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			assert.Equal(t, "authentication_required", string(body.Code))
			assert.Contains(t, body.Message, "one Authorization header")
			assert.NotContains(t, rec.Body.String(), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
		})
	}
}

func TestAuthenticatorHookRefusesTokens(t *testing.T) {
	t.Parallel()
	h, seen := newGuarded(t, validate.WithAuthenticator(func(_ context.Context, token string) error {
		if token != "sk_good" {
			return errors.New("unknown key")
		}
		return nil
	}))
	for token, want := range map[string]int{"sk_good": http.StatusNoContent, "sk_bad": http.StatusUnauthorized} {
		req := httptest.NewRequest("GET", "/keys", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, want, rec.Code, token)
		assert.NotContains(t, rec.Body.String(), token)
	}
	assert.True(t, seen.called)
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer sk_abc", "sk_abc", true},
		{"bearer sk_abc", "sk_abc", true},
		{"Bearer  sk_abc", "sk_abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic sk_abc", "", false},
		{"Bearer sk abc", "", false},
		{"Bearer sk_\x00", "", false},
		{"", "", false},
		{"Bearer " + strings.Repeat("a", 513), "", false},
	}
	for _, tt := range tests {
		got, ok := validate.BearerToken(tt.header)
		assert.Equal(t, tt.ok, ok, "%q", tt.header)
		assert.Equal(t, tt.want, got, "%q", tt.header)
	}
}

func TestMiddlewareMethodNotAllowedOnCollection(t *testing.T) {
	t.Parallel()
	h, seen := newGuarded(t)
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req := httptest.NewRequest(m, "/api/client/keys", strings.NewReader(`{}`))
		req.Header.Set("Authorization", bearer)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, m)
		assert.Equal(t, "GET, POST", rec.Header().Get("Allow"), m)
	}
	assert.False(t, seen.called)
}

// TestSurfaces: a path with servers of its own (the admin surface) is
// routed only under its server's path, the others only under the client's.
func TestSurfaces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		wantRouted   bool
	}{
		{"GET", "/api/admin/organizations/me", true},
		{"GET", "/api/admin/projects", true},
		{"PATCH", "/api/admin/projects/3", true},
		{"GET", "/api/client/me", true},
		{"GET", "/api/client/keys", true},
		{"GET", "/api/client/organizations/me", false},
		{"GET", "/api/client/projects", false},
		{"GET", "/api/admin/keys", false},
		{"GET", "/api/admin/me", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			h, seen := newGuarded(t)
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Authorization", bearer)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.wantRouted, seen.called, "%d %s", rec.Code, rec.Body.String())
			if !tt.wantRouted {
				assert.Equal(t, http.StatusNotFound, rec.Code)
				assert.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"))
			}
		})
	}
}
