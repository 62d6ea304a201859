package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/problem"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// badInput is one request that must be refused with an error envelope and
// leave the store untouched.
type badInput struct {
	name   string
	call   call
	status int // 0: the code's catalogue status
	code   spotzee.Code
	param  string   // the envelope's param ("" : absent)
	errors []string // the params of errors[], in order (nil: absent)
}

// TestErrorEnvelopeEveryOperation sends every class of bad input to every
// operation it applies to and checks the whole envelope, and that nothing
// was created, changed or revoked. The rows share one server and compare
// its state before and after each row, so they run one after the other.
func TestErrorEnvelopeEveryOperation(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	tg := targetOf(srv)
	store := srv.Ref().Store()
	ctx := context.Background()

	created, _ := createKey(t, tg, `{"name":"target","description":"keep me","role":"editor"}`, nil)
	targetID := idOf(t, created)
	tpath := keyPath(targetID)

	// Keys that must not authenticate.
	publishable := srv.AddKey(srv.ProjectID, "publishable", spotzee.ScopePublic, spotzee.RoleAdmin)
	revoked, _ := createKey(t, tg, `{"name":"revoked","role":"admin"}`, nil)
	revokedValue := revoked["value"].(string)
	_, err := srv.Ref().Service().Revoke(ctx, spotzee.APIKey{ProjectID: srv.ProjectID}, idOf(t, revoked))
	require.NoError(t, err)

	big := `{"name":"` + strings.Repeat("a", 64<<10) + `"}`
	long := strings.Repeat("n", 256)

	ops := []struct {
		name, method, path, body string
	}{
		{"list", http.MethodGet, "/keys", ""},
		{"create", http.MethodPost, "/keys", `{"name":"must not exist"}`},
		{"get", http.MethodGet, tpath, ""},
		{"update", http.MethodPatch, tpath, `{"name":"must not be renamed"}`},
		{"revoke", http.MethodDelete, tpath, ""},
	}
	var rows []badInput
	// Classes that apply to every operation: query, version and bearer.
	for _, op := range ops {
		c := func(mod func(*call)) call {
			cl := call{Method: op.method, Path: op.path, Body: op.body}
			mod(&cl)
			return cl
		}
		rows = append(rows,
			badInput{name: op.name + "/unknown query param", code: spotzee.CodeParameterUnknown, param: "colour",
				call: c(func(cl *call) { cl.Path += "?colour=red" })},
			badInput{name: op.name + "/version not a date", code: spotzee.CodeParameterInvalidFormat, param: "Spotzee-Version",
				call: c(func(cl *call) { cl.Header = hdr("Spotzee-Version", "2026/04/28") })},
			badInput{name: op.name + "/version latest", code: spotzee.CodeParameterInvalidFormat, param: "Spotzee-Version",
				call: c(func(cl *call) { cl.Header = hdr("Spotzee-Version", "latest") })},
			badInput{name: op.name + "/version unpadded", code: spotzee.CodeParameterInvalidFormat, param: "Spotzee-Version",
				call: c(func(cl *call) { cl.Header = hdr("Spotzee-Version", "2026-4-28") })},
			badInput{name: op.name + "/version unknown release", code: spotzee.CodeVersionUnsupported, param: "Spotzee-Version",
				call: c(func(cl *call) { cl.Header = hdr("Spotzee-Version", "2020-01-01") })},
			badInput{name: op.name + "/no bearer", code: spotzee.CodeAuthenticationRequired,
				call: c(func(cl *call) { cl.NoAuth = true })},
			badInput{name: op.name + "/basic auth", code: spotzee.CodeAuthenticationRequired,
				call: c(func(cl *call) { cl.Auth = "Basic " + srv.AdminKey })},
			badInput{name: op.name + "/bearer without token", code: spotzee.CodeAuthenticationRequired,
				call: c(func(cl *call) { cl.Auth = "Bearer" })},
			badInput{name: op.name + "/bearer with bad characters", code: spotzee.CodeAuthenticationRequired,
				call: c(func(cl *call) { cl.Auth = "Bearer sk_<script>" })},
			badInput{name: op.name + "/unknown key", code: spotzee.CodeAuthenticationRequired,
				call: c(func(cl *call) { cl.Auth = "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2" })},
			badInput{name: op.name + "/publishable key", code: spotzee.CodeAuthenticationRequired,
				call: c(func(cl *call) { cl.Auth = "Bearer " + publishable })},
			badInput{name: op.name + "/revoked key", code: spotzee.CodeAuthenticationRequired,
				call: c(func(cl *call) { cl.Auth = "Bearer " + revokedValue })},
		)
	}
	// Bad keyId on the three item operations.
	for _, op := range ops[2:] {
		for _, id := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
			rows = append(rows, badInput{name: op.name + "/keyId " + id, code: spotzee.CodeParameterInvalidFormat, param: "keyId",
				call: call{Method: op.method, Path: "/keys/" + id, Body: op.body}})
		}
	}
	// An absent create body is read as {}: name is missing.
	rows = append(rows, badInput{name: "create/no body", code: spotzee.CodeParameterMissing, param: "name", errors: []string{"name"},
		call: call{Method: http.MethodPost, Path: "/keys"}})
	// Bodies of create and update.
	for _, op := range []struct{ name, method, path string }{{"create", http.MethodPost, "/keys"}, {"update", http.MethodPatch, tpath}} {
		b := func(body string) call { return call{Method: op.method, Path: op.path, Body: body} }
		rows = append(rows,
			badInput{name: op.name + "/malformed JSON", code: spotzee.CodeParameterInvalidFormat, call: b(`{"name":`)},
			badInput{name: op.name + "/not an object", code: spotzee.CodeValidationFailed, param: "body", errors: []string{"body"}, call: b(`["name"]`)},
			badInput{name: op.name + "/unknown field", code: spotzee.CodeParameterUnknown, param: "colour", errors: []string{"colour"},
				call: b(`{"name":"x","colour":"red"}`)},
			badInput{name: op.name + "/value field", code: spotzee.CodeParameterUnknown, param: "value", errors: []string{"value"},
				call: b(`{"name":"x","value":"sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"}`)},
			badInput{name: op.name + "/name wrong type", code: spotzee.CodeValidationFailed, param: "name", errors: []string{"name"},
				call: b(`{"name":42}`)},
			badInput{name: op.name + "/description wrong type", code: spotzee.CodeValidationFailed, param: "description", errors: []string{"description"},
				call: b(`{"name":"x","description":{"a":1}}`)},
			badInput{name: op.name + "/role not in enum", code: spotzee.CodeValidationFailed, param: "role", errors: []string{"role"},
				call: b(`{"name":"x","role":"owner"}`)},
			badInput{name: op.name + "/scope not in enum", code: spotzee.CodeValidationFailed, param: "scope", errors: []string{"scope"},
				call: b(`{"name":"x","scope":"private"}`)},
			badInput{name: op.name + "/name null", code: spotzee.CodeValidationFailed, param: "name", errors: []string{"name"},
				call: b(`{"name":null}`)},
			badInput{name: op.name + "/name empty", code: spotzee.CodeParameterInvalidEmpty, param: "name", errors: []string{"name"},
				call: b(`{"name":""}`)},
			badInput{name: op.name + "/name blank", code: spotzee.CodeParameterInvalidEmpty, param: "name",
				call: b(`{"name":"   "}`)},
			badInput{name: op.name + "/name too long", code: spotzee.CodeValidationFailed, param: "name", errors: []string{"name"},
				call: b(`{"name":"` + long + `"}`)},
			badInput{name: op.name + "/description too long", code: spotzee.CodeValidationFailed, param: "description", errors: []string{"description"},
				call: b(`{"name":"x","description":"` + strings.Repeat("d", 1001) + `"}`)},
			badInput{name: op.name + "/two bad fields", code: spotzee.CodeValidationFailed, errors: []string{"name", "role"},
				call: b(`{"name":42,"role":"owner"}`)},
			badInput{name: op.name + "/body over 64 KiB", code: spotzee.CodeParameterInvalidFormat, call: b(big)},
			badInput{name: op.name + "/not JSON content type", code: spotzee.CodeParameterInvalidFormat, param: "Content-Type",
				call: call{Method: op.method, Path: op.path, Body: `{"name":"x"}`, Header: hdr("Content-Type", "text/plain")}},
			badInput{name: op.name + "/empty Idempotency-Key", code: spotzee.CodeIdempotencyKeyInvalid, param: "Idempotency-Key",
				call: call{Method: op.method, Path: op.path, Body: `{"name":"x"}`, Header: hdr("Idempotency-Key", "")}},
			badInput{name: op.name + "/256-char Idempotency-Key", code: spotzee.CodeIdempotencyKeyInvalid, param: "Idempotency-Key",
				call: call{Method: op.method, Path: op.path, Body: `{"name":"x"}`, Header: hdr("Idempotency-Key", strings.Repeat("k", 256))}},
			badInput{name: op.name + "/two Idempotency-Keys", code: spotzee.CodeIdempotencyKeyInvalid, param: "Idempotency-Key",
				call: call{Method: op.method, Path: op.path, Body: `{"name":"x"}`, Header: hdr("Idempotency-Key", "a", "Idempotency-Key", "b")}},
		)
	}
	rows = append(rows,
		badInput{name: "create/name missing", code: spotzee.CodeParameterMissing, param: "name", errors: []string{"name"},
			call: call{Method: http.MethodPost, Path: "/keys", Body: `{}`}},
		badInput{name: "create/name missing, other fields sent", code: spotzee.CodeParameterMissing, param: "name", errors: []string{"name"},
			call: call{Method: http.MethodPost, Path: "/keys", Body: `{"role":"admin","scope":"public"}`}},
		badInput{name: "update/scope null", code: spotzee.CodeValidationFailed, param: "scope", errors: []string{"scope"},
			call: call{Method: http.MethodPatch, Path: tpath, Body: `{"scope":null}`}},
		badInput{name: "update/role null", code: spotzee.CodeValidationFailed, param: "role", errors: []string{"role"},
			call: call{Method: http.MethodPatch, Path: tpath, Body: `{"role":null}`}},
	)
	// List query parameters.
	for _, q := range []struct {
		query string
		code  spotzee.Code
		param string
	}{
		{"limit=101", spotzee.CodeParameterInvalidFormat, "limit"},
		{"limit=abc", spotzee.CodeParameterInvalidFormat, "limit"},
		{"limit=0", spotzee.CodeParameterInvalidFormat, "limit"},
		{"limit=-2", spotzee.CodeParameterInvalidFormat, "limit"},
		{"limit=1&limit=2", spotzee.CodeParameterInvalidFormat, "limit"},
		{"sort=colour", spotzee.CodeParameterInvalidFormat, "sort"},
		{"sort=value", spotzee.CodeParameterInvalidFormat, "sort"},
		{"sort=-name&direction=asc", spotzee.CodeParameterInvalidFormat, "direction"},
		{"sort=name&direction=sideways", spotzee.CodeParameterInvalidFormat, "direction"},
		{"cursor=not-a-cursor", spotzee.CodeParameterInvalidFormat, "cursor"},
		{"cursor=eyJ2IjoxfQ", spotzee.CodeParameterInvalidFormat, "cursor"},
		{"cursor=", spotzee.CodeParameterInvalidEmpty, "cursor"},
		{"page=sideways", spotzee.CodeParameterInvalidFormat, "page"},
		{"q=", spotzee.CodeParameterInvalidEmpty, "q"},
	} {
		rows = append(rows, badInput{name: "list/" + q.query, code: q.code, param: q.param,
			call: call{Method: http.MethodGet, Path: "/keys?" + q.query}})
	}

	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := liveKeys(t, store, srv.ProjectID)
			resp := do(t, srv, row.call)
			p := requireProblem(t, resp, row.status, row.code)
			assert.Equal(t, row.param, paramOf(p), "param")
			if row.errors == nil {
				assert.Nil(t, p.Errors, "errors[]")
			} else {
				var params []string
				for _, fe := range p.Errors {
					params = append(params, fe.Param)
					assert.True(t, fe.Code.Known(), "errors[].code %q", fe.Code)
					assert.NotEmpty(t, fe.Message)
				}
				assert.ElementsMatch(t, row.errors, params, "errors[].param")
			}
			assert.Equal(t, currentVersion, resp.Header.Get("Spotzee-Version"))
			assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
			assert.Equal(t, before, liveKeys(t, store, srv.ProjectID), "nothing stored or changed")
		})
	}

	// The target key is exactly as created.
	k, err := store.Key(ctx, srv.ProjectID, targetID)
	require.NoError(t, err)
	assert.Equal(t, "target", k.Name)
	require.NotNil(t, k.Description)
	assert.Equal(t, "keep me", *k.Description)
	assert.Equal(t, spotzee.RoleEditor, k.Role)
}

// TestErrorEnvelopeNullDefaultedField sends null for create fields that are
// not nullable but have a default.
func TestErrorEnvelopeNullDefaultedField(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for _, field := range []string{"role", "scope"} {
		before := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
		resp := do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x","` + field + `":null}`})
		p := requireProblem(t, resp, 0, spotzee.CodeValidationFailed)
		assert.Equal(t, field, paramOf(p))
		assert.Equal(t, before, liveKeys(t, srv.Ref().Store(), srv.ProjectID))
	}
}

// TestAuthenticationBeforeParameters checks the precedence classify
// documents (401 before 400) for every kind of parameter error.
func TestAuthenticationBeforeParameters(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	// Parameter errors kin-openapi finds come after authentication.
	resp := do(t, srv, call{Method: http.MethodGet, Path: "/keys?limit=abc", NoAuth: true})
	requireProblem(t, resp, 0, spotzee.CodeAuthenticationRequired)

	resp = do(t, srv, call{Method: http.MethodGet, Path: "/keys?colour=red", NoAuth: true})
	requireProblem(t, resp, 0, spotzee.CodeAuthenticationRequired)
}

func TestRouterNotFound(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for _, c := range []call{
		{Method: http.MethodGet, Path: "/nope", Root: true},
		{Method: http.MethodPost, Path: "/nope", Root: true, Body: `{}`},
		{Method: http.MethodGet, Path: "/", Root: true},
		{Method: http.MethodGet, Path: "/api", Root: true},
		{Method: http.MethodGet, Path: "/api/client", Root: true},
		{Method: http.MethodGet, Path: "/api/client/", Root: true},
		{Method: http.MethodGet, Path: "/nope"},
		{Method: http.MethodDelete, Path: "/nope"},
		{Method: http.MethodGet, Path: "/keys/1/extra"},
		{Method: http.MethodGet, Path: "/keys/"},
		{Method: http.MethodPost, Path: "/keys/", Body: `{"name":"x"}`},
		{Method: http.MethodGet, Path: "/keys/1/"},
		{Method: http.MethodPatch, Path: "/keys/1/", Body: `{}`},
		{Method: http.MethodGet, Path: "//keys"},
		{Method: http.MethodGet, Path: "/./keys"},
		{Method: http.MethodGet, Path: "/../healthz"},
		{Method: http.MethodGet, Path: "/healthz/", Root: true},
		{Method: http.MethodGet, Path: "/organizations/api-keys"},
		// An encoded slash: /keys/1 to the validator, no route to the router.
		{Method: http.MethodGet, Path: "/keys%2F1"},
		{Method: http.MethodGet, Path: "/keys%2f1"},
		{Method: http.MethodPatch, Path: "/keys%2F1", Body: `{"name":"x"}`},
		{Method: http.MethodDelete, Path: "/keys%2F1"},
		{Method: http.MethodGet, Path: "/keys/1%2F"},
		{Method: http.MethodGet, Path: "%2Fkeys"},
		{Method: http.MethodGet, Path: "/healthz%2F", Root: true},
	} {
		t.Run(c.Method+" "+c.Path, func(t *testing.T) {
			t.Parallel()
			before := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
			resp := do(t, srv, c)
			requireProblem(t, resp, http.StatusNotFound, spotzee.CodeResourceMissing)
			assert.Empty(t, resp.Header.Get("Location"), "the API never redirects")
			assert.Equal(t, currentVersion, resp.Header.Get("Spotzee-Version"))
			assert.Equal(t, before, liveKeys(t, srv.Ref().Store(), srv.ProjectID))
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for _, tc := range []struct {
		call  call
		allow string
	}{
		{call{Method: http.MethodPut, Path: "/keys/1", Body: `{"name":"x"}`}, "GET, PATCH, DELETE"},
		{call{Method: http.MethodPost, Path: "/keys/1", Body: `{"name":"x"}`}, "GET, PATCH, DELETE"},
		{call{Method: http.MethodPut, Path: "/keys/1", NoAuth: true}, "GET, PATCH, DELETE"},
		{call{Method: http.MethodPost, Path: "/healthz", Root: true}, "GET, HEAD"},
		{call{Method: http.MethodDelete, Path: "/healthz", Root: true}, "GET, HEAD"},
		{call{Method: http.MethodPost, Path: "/api/openapi.json", Root: true}, "GET, HEAD"},
		{call{Method: http.MethodPut, Path: "/api/openapi.yaml", Root: true}, "GET, HEAD"},
	} {
		t.Run(tc.call.Method+" "+tc.call.Path, func(t *testing.T) {
			t.Parallel()
			before := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
			resp := do(t, srv, tc.call)
			requireProblem(t, resp, http.StatusMethodNotAllowed, spotzee.CodeResourceMissing)
			assert.Equal(t, tc.allow, resp.Header.Get("Allow"))
			assert.Equal(t, before, liveKeys(t, srv.Ref().Store(), srv.ProjectID))
		})
	}
}

func TestMethodNotAllowedOnCollection(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		resp := do(t, srv, call{Method: m, Path: "/keys", Body: `{}`})
		requireProblem(t, resp, http.StatusMethodNotAllowed, spotzee.CodeResourceMissing)
		assert.Equal(t, "GET, POST", resp.Header.Get("Allow"))
	}
}

// TestBindingErrorNamesParameter covers what the generated binder refuses
// after validation passed (a repeated parameter): the envelope still names
// the parameter.
func TestBindingErrorNamesParameter(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for _, tc := range []struct {
		call  call
		param string
	}{
		{call{Method: http.MethodGet, Path: "/keys?limit=1&limit=2"}, "limit"},
		{call{Method: http.MethodGet, Path: "/keys", Header: hdr("x-spotzee-client-type", "cli", "x-spotzee-client-type", "mcp")}, "x-spotzee-client-type"},
		{call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`, Header: hdr("x-spotzee-client-type", "cli", "x-spotzee-client-type", "mcp")}, "x-spotzee-client-type"},
	} {
		t.Run(tc.call.Method+" "+tc.param, func(t *testing.T) {
			t.Parallel()
			before := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
			p := requireProblem(t, do(t, srv, tc.call), 0, spotzee.CodeParameterInvalidFormat)
			assert.Equal(t, tc.param, paramOf(p))
			assert.Equal(t, before, liveKeys(t, srv.Ref().Store(), srv.ProjectID))
		})
	}
}

// secretDetail is what a fault carries and a response must never show.
const secretDetail = "disk /var/lib/spotzee/keys.db: sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2 corrupted"

func TestPanicIsRecoveredAsInternalError(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	hooks := &hookStore{
		listKeys: func(context.Context, spotzee.ListQuery) (spotzee.KeyPage, error) {
			panic(secretDetail)
		},
	}
	srv := newCustomServer(t, hooks, customOptions{logger: newJSONLogger(logs)})

	resp := srv.do(t, call{Method: http.MethodGet, Path: "/keys"})
	p := requireProblem(t, resp, 0, spotzee.CodeInternalError)
	assert.Equal(t, currentVersion, resp.Header.Get("Spotzee-Version"))
	assert.Empty(t, resp.Header.Get("X-Total-Count"), "no header of the aborted response survives")
	body := string(resp.Body)
	for _, leak := range []string{"sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "/var/lib", "corrupted", "goroutine", "panic", ".go:", "runtime"} {
		assert.NotContains(t, body, leak)
	}
	assert.Empty(t, paramOf(p))

	// The server keeps serving, and the fault is logged with the request id.
	requireProblem(t, srv.do(t, call{Method: http.MethodGet, Path: "/keys"}), 0, spotzee.CodeInternalError)
	assert.Equal(t, http.StatusOK, srv.do(t, call{Method: http.MethodGet, Path: "/healthz", Root: true}).Status)
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), `"msg":"panic serving request"`) &&
			strings.Contains(logs.String(), p.RequestID)
	}, waitFor, tick)
}

func TestStoreFaultIsInternalErrorWithoutDetail(t *testing.T) {
	t.Parallel()
	hooks := &hookStore{
		listKeys: func(context.Context, spotzee.ListQuery) (spotzee.KeyPage, error) {
			return spotzee.KeyPage{}, errors.New(secretDetail)
		},
		createKey: func(context.Context, spotzee.NewKey, func(context.Context, spotzee.NewKey) (spotzee.APIKey, error)) (spotzee.APIKey, error) {
			return spotzee.APIKey{}, fmt.Errorf("insert: %w", errors.New(secretDetail))
		},
	}
	srv := newCustomServer(t, hooks, customOptions{})
	for _, c := range []call{
		{Method: http.MethodGet, Path: "/keys"},
		{Method: http.MethodPost, Path: "/keys", Body: `{"name":"x"}`},
	} {
		resp := srv.do(t, c)
		p := requireProblem(t, resp, 0, spotzee.CodeInternalError)
		assert.NotContains(t, string(resp.Body), "corrupted")
		assert.NotContains(t, string(resp.Body), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
		assert.Equal(t, "An unexpected error occurred.", p.Message)
	}
}

// TestAbsentBodyIsEmpty checks the decision for optional request bodies: an
// absent update body changes nothing and answers the key, and an absent
// create body stores nothing (it is 400 parameter_missing for name, see
// TestErrorEnvelopeEveryOperation).
func TestAbsentBodyIsEmpty(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	k, _ := createKey(t, targetOf(srv), `{"name":"keep","description":"as is"}`, nil)
	path := fmt.Sprintf("/keys/%v", k["id"])
	before := do(t, srv, call{Method: http.MethodGet, Path: path}).json(t)

	resp := do(t, srv, call{Method: http.MethodPatch, Path: path})
	require.Equal(t, http.StatusOK, resp.Status, "body: %s", resp.Body)
	assert.Equal(t, before, resp.json(t), "nothing changed")

	keysBefore := liveKeys(t, srv.Ref().Store(), srv.ProjectID)
	resp = do(t, srv, call{Method: http.MethodPost, Path: "/keys"})
	p := requireProblem(t, resp, 0, spotzee.CodeParameterMissing)
	assert.Equal(t, "name", paramOf(p))
	assert.Equal(t, keysBefore, liveKeys(t, srv.Ref().Store(), srv.ProjectID))
}

// TestLastAdminKeyStays: the API refuses to leave a project without an admin
// secret key (409 state_conflict) until another admin key exists.
func TestLastAdminKeyStays(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	var adminID int64
	for _, k := range liveKeys(t, srv.Ref().Store(), srv.ProjectID) {
		if k.Role == spotzee.RoleAdmin {
			adminID = k.ID
		}
	}
	require.NotZero(t, adminID)

	for _, c := range []call{
		{Method: http.MethodDelete, Path: keyPath(adminID)},
		{Method: http.MethodPatch, Path: keyPath(adminID), Body: `{"role":"editor"}`},
		{Method: http.MethodPatch, Path: keyPath(adminID), Body: `{"scope":"public"}`},
	} {
		p := requireProblem(t, do(t, srv, c), http.StatusConflict, spotzee.CodeStateConflict)
		assert.Contains(t, p.Message, "last admin", "%s %s", c.Method, c.Body)
	}
	_, _ = createKey(t, targetOf(srv), `{"name":"second admin","role":"admin"}`, nil)
	resp := do(t, srv, call{Method: http.MethodDelete, Path: keyPath(adminID)})
	require.Equal(t, http.StatusOK, resp.Status, "with another admin key, the first may go: %s", resp.Body)
}

// TestManyBadFieldsMakeASmallError: a body with thousands of unknown fields
// gets at most problem.MaxFieldErrors errors[] entries, not an error many
// times its own size.
func TestManyBadFieldsMakeASmallError(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	var b strings.Builder
	b.WriteString(`{"name":"x"`)
	for i := range 4000 {
		fmt.Fprintf(&b, `,"u%d":0`, i)
	}
	b.WriteString(`}`)
	require.Less(t, b.Len(), 64<<10, "under the body cap")

	resp := do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: b.String()})
	p := requireProblem(t, resp, http.StatusBadRequest, spotzee.CodeParameterUnknown)
	assert.Len(t, p.Errors, problem.MaxFieldErrors)
	assert.Less(t, len(resp.Body), 8<<10, "error body of %d bytes", len(resp.Body))
}
