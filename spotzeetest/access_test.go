package spotzeetest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// verb is one of the five key operations, sent with c against key id; it
// returns the response and its body.
type verb struct {
	name string
	do   func(ctx context.Context, c *client.ClientWithResponses, id int64, editors ...client.RequestEditorFn) (*http.Response, []byte, error)
}

var verbs = []verb{
	{"list", func(ctx context.Context, c *client.ClientWithResponses, _ int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.ListProjectAPIKeysWithResponse(ctx, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"create", func(ctx context.Context, c *client.ClientWithResponses, _ int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.CreateProjectAPIKeyWithResponse(ctx, nil, client.ProjectAPIKeyCreate{Name: "intruder", Role: ptr(client.ProjectRoleAdmin)}, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"get", func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.GetProjectAPIKeyWithResponse(ctx, id, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"update", func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.UpdateProjectAPIKeyWithResponse(ctx, id, nil, client.ProjectAPIKeyUpdate{Name: ptr("hijacked"), Role: ptr(client.ProjectRoleSupport)}, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"revoke", func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.RevokeProjectAPIKeyWithResponse(ctx, id, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
}

func setAuth(value string) client.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		if value == "" {
			r.Header.Del("Authorization")
		} else {
			r.Header.Set("Authorization", value)
		}
		return nil
	}
}

// TestRoles: an admin secret key may use all five verbs; any other role gets
// 403 permission_denied, and anything that is not a live secret key 401
// authentication_required, on every verb; a refused request changes nothing.
func TestRoles(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	target := create(t, srv.Client, client.ProjectAPIKeyCreate{Name: "target"})

	type caller struct {
		name   string
		client *client.ClientWithResponses
		editor client.RequestEditorFn
		status int
		code   client.ErrorCode
	}
	var callers []caller
	for _, role := range []spotzee.Role{spotzee.RoleSupport, spotzee.RoleSMTPProxy, spotzee.RoleEditor, spotzee.RolePublisher} {
		key := srv.AddKey(srv.ProjectID, string(role), spotzee.ScopeSecret, role)
		callers = append(callers, caller{name: "secret " + string(role), client: srv.NewClient(key),
			status: http.StatusForbidden, code: client.ErrorCodePermissionDenied})
	}
	unauthenticated := func(name, key string, editor client.RequestEditorFn, opts ...validate.TransportOption) caller {
		return caller{name: name, client: srv.NewClient(key, opts...), editor: editor,
			status: http.StatusUnauthorized, code: client.ErrorCodeAuthenticationRequired}
	}
	pkAdmin := srv.AddKey(srv.ProjectID, "public admin", spotzee.ScopePublic, spotzee.RoleAdmin)
	skip := validate.SkipRequestValidation()
	callers = append(callers,
		unauthenticated("publishable admin key", pkAdmin, nil),
		unauthenticated("organisation key", "ok_01HXY7Z9K8M5J2N4P6Q8R0S1T2", nil),
		unauthenticated("unknown secret key", "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", nil),
		unauthenticated("admin key with a typo", typo(srv.AdminKey), nil),
		unauthenticated("not a key", "hello", nil),
		unauthenticated("no header", srv.AdminKey, setAuth(""), skip),
		unauthenticated("empty bearer", srv.AdminKey, setAuth("Bearer "), skip),
		unauthenticated("basic scheme", srv.AdminKey, setAuth("Basic "+srv.AdminKey), skip),
		unauthenticated("bare key", srv.AdminKey, setAuth(srv.AdminKey), skip),
		unauthenticated("bearer with bad characters", srv.AdminKey, setAuth("Bearer "+srv.AdminKey+"!"), skip),
		unauthenticated("two tokens", srv.AdminKey, setAuth("Bearer "+srv.AdminKey+" "+srv.AdminKey), skip),
	)

	before := all(t, srv.Client)
	for _, c := range callers {
		for _, v := range verbs {
			var eds []client.RequestEditorFn
			if c.editor != nil {
				eds = append(eds, c.editor)
			}
			resp, body, err := v.do(ctx, c.client, target.ID, eds...)
			require.NoError(t, err, "%s %s", c.name, v.name)
			e := problemOf(t, resp, body, c.status, c.code)
			assert.NotContains(t, e.Message, srv.AdminKey, "%s %s", c.name, v.name)
		}
	}
	// Authentication, then the role, are checked before the request's
	// parameters and body.
	supportKey := srv.AddKey(srv.ProjectID, "support 2", spotzee.ScopeSecret, spotzee.RoleSupport)
	for _, tt := range []struct {
		key    string
		status int
		code   client.ErrorCode
	}{
		{supportKey, http.StatusForbidden, client.ErrorCodePermissionDenied},
		{"sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired},
	} {
		c := unsafeClient(t, srv, tt.key)
		r1, err := c.UpdateProjectAPIKeyWithBodyWithResponse(ctx, target.ID, nil, "application/json", strings.NewReader(`{"nmae":1}`))
		require.NoError(t, err)
		problemOf(t, r1.HTTPResponse, r1.Body, tt.status, tt.code)
		r2, err := c.ListProjectAPIKeysWithResponse(ctx, &client.ListProjectAPIKeysParams{Sort: ptr("bogus"), Limit: ptr(0)})
		require.NoError(t, err)
		problemOf(t, r2.HTTPResponse, r2.Body, tt.status, tt.code)
	}
	before = append(before, get(t, srv.Client, lastID(t, srv.Client)))
	assert.Equal(t, before, all(t, srv.Client), "no refused request changed anything")

	// An admin key may do all five.
	admin := srv.NewClient(srv.AddKey(srv.ProjectID, "second admin", spotzee.ScopeSecret, spotzee.RoleAdmin))
	want := []int{http.StatusOK, http.StatusOK, http.StatusOK, http.StatusOK, http.StatusOK}
	for i, v := range verbs {
		resp, body, err := v.do(ctx, admin, target.ID)
		require.NoError(t, err, v.name)
		assert.Equal(t, want[i], resp.StatusCode, "%s: %s", v.name, body)
	}
}

// TestTenantIsolation: project B's admin key cannot see or touch project A's
// keys through any verb.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	a := srv.Client
	aKey := create(t, a, client.ProjectAPIKeyCreate{Name: "A's key", Role: ptr(client.ProjectRoleAdmin)})
	aBefore := all(t, a)

	bProject, bAdmin := srv.NewProject("B")
	require.NotEqual(t, srv.ProjectID, bProject)
	b := srv.NewClient(bAdmin)

	for _, id := range ids(aBefore) {
		for _, v := range verbs {
			if v.name == "list" || v.name == "create" {
				continue
			}
			resp, body, err := v.do(ctx, b, id)
			require.NoError(t, err)
			e := problemOf(t, resp, body, http.StatusNotFound, client.ErrorCodeResourceMissing)
			assert.NotContains(t, e.Message, "A's key", "%s of A's key %d leaks nothing", v.name, id)
		}
	}
	// An id that exists nowhere answers the same as A's ids.
	resp, body, err := verbs[2].do(ctx, b, 1<<40)
	require.NoError(t, err)
	problemOf(t, resp, body, http.StatusNotFound, client.ErrorCodeResourceMissing)

	bNew := create(t, b, client.ProjectAPIKeyCreate{Name: "B's key"})
	assert.Equal(t, bProject, bNew.ProjectID, "create lands in the caller's project")
	for _, p := range []*client.ListProjectAPIKeysParams{
		nil,
		{Limit: ptr(-1)},
		{Q: ptr("A's")},
		{Sort: ptr("id"), Limit: ptr(1)},
	} {
		page := list(t, b, p).JSON200
		for _, k := range page.Results {
			assert.Equal(t, bProject, k.ProjectID)
			_, inA := byID(aBefore, k.ID)
			assert.False(t, inA, "B's list shows A's key %d", k.ID)
		}
	}
	bAll := all(t, b)
	assert.Len(t, bAll, 3, "system key, bootstrap admin key, B's key")

	assert.Equal(t, aBefore, all(t, a), "A's keys are unchanged")
	assert.Equal(t, aKey.Name, get(t, a, aKey.ID).Name)
	// and A's keys still work
	aClient := srv.NewClient(aKey.Value)
	list(t, aClient, nil)
	// A cannot see B's either.
	resp, body, err = verbs[2].do(ctx, a, bNew.ID)
	require.NoError(t, err)
	problemOf(t, resp, body, http.StatusNotFound, client.ErrorCodeResourceMissing)
}

// TestRevoke: revocation is immediate and final; the system key cannot be
// revoked.
func TestRevoke(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(newClock().Now))
	ctx := t.Context()

	k := create(t, srv.Client, client.ProjectAPIKeyCreate{Name: "doomed", Role: ptr(client.ProjectRoleAdmin)})
	kc := srv.NewClient(k.Value)
	list(t, kc, nil) // works before

	rev := revoke(t, srv.Client, k.ID)
	require.NotNil(t, rev.ID)
	assert.Equal(t, k.ID, *rev.ID)
	require.NotNil(t, rev.Revoked)
	assert.True(t, *rev.Revoked)
	require.NotNil(t, rev.RevokedAt)
	revokedAt, err := time.Parse(time.RFC3339Nano, *rev.RevokedAt)
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(*rev.RevokedAt, "Z"), "UTC")
	assert.True(t, revokedAt.After(mustTime(t, k.CreatedAt)))

	// The very next request with the key, whatever the verb, is 401.
	for _, v := range verbs {
		resp, body, err := v.do(ctx, kc, k.ID)
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
	}
	// Its id is gone for get, update and revoke.
	for _, v := range verbs[2:] {
		resp, body, err := v.do(ctx, srv.Client, k.ID)
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusNotFound, client.ErrorCodeResourceMissing)
	}
	for _, p := range []*client.ListProjectAPIKeysParams{nil, {Limit: ptr(-1)}, {Q: ptr("doomed")}} {
		_, found := byID(list(t, srv.Client, p).JSON200.Results, k.ID)
		assert.False(t, found, "a revoked key leaves the list")
	}
	assert.Equal(t, "0", list(t, srv.Client, &client.ListProjectAPIKeysParams{Q: ptr("doomed")}).HTTPResponse.Header.Get("X-Total-Count"))

	// A key can revoke itself; its next request is 401.
	self := create(t, srv.Client, client.ProjectAPIKeyCreate{Name: "self", Role: ptr(client.ProjectRoleAdmin)})
	sc := srv.NewClient(self.Value)
	revoke(t, sc, self.ID)
	resp, body, err := verbs[0].do(ctx, sc, 0)
	require.NoError(t, err)
	problemOf(t, resp, body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)

	// The system key: 409 state_conflict, and it stays.
	var system client.ProjectAPIKey
	var systems int
	for _, key := range all(t, srv.Client) {
		if key.IsSystemKey != nil && *key.IsSystemKey {
			system = key
			systems++
		}
	}
	require.Equal(t, 1, systems, "bootstrap creates one system key")
	assert.Equal(t, client.ProjectRoleSmtpproxy, system.Role)
	assert.Equal(t, client.APIKeyScopeSecret, system.Scope)
	for range 2 {
		resp, body, err := verbs[4].do(ctx, srv.Client, system.ID)
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusConflict, client.ErrorCodeStateConflict)
	}
	after, ok := byID(all(t, srv.Client), system.ID)
	require.True(t, ok, "the system key stays in the list")
	assert.Equal(t, system, after, "and is unchanged")
}

// typo returns key with its last character changed (always to a different
// one).
func typo(key string) string {
	last := "Z"
	if strings.HasSuffix(key, last) {
		last = "Y"
	}
	return key[:len(key)-1] + last
}
