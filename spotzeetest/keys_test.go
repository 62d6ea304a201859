package spotzeetest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// TestCreateThenRead: the create response has the full value, every later
// read (get, list, update) the masked form; scope and role default to
// secret and support; timestamps are RFC 3339 UTC, and updated_at moves on
// every change but not on an empty PATCH.
func TestCreateThenRead(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clk.Now))
	ctx := t.Context()

	cresp, err := srv.Client.CreateProjectAPIKeyWithResponse(ctx, nil, client.ProjectAPIKeyCreate{
		Name:        "Production server",
		Description: nullable.NewNullableWithValue("Used by billing"),
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cresp.StatusCode(), "body: %s", cresp.Body)
	created := *cresp.JSON200
	value := created.Value
	assert.Regexp(t, secretValue, value, "full value on create")
	assert.Equal(t, client.APIKeyScopeSecret, created.Scope, "scope defaults to secret")
	assert.Equal(t, client.ProjectRoleSupport, created.Role, "role defaults to support")
	assert.Equal(t, srv.ProjectID, created.ProjectID)
	assert.Equal(t, "Used by billing", created.Description.MustGet())
	assert.Nil(t, created.IsSystemKey)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(cresp.Body, &raw))
	rc, ru := rawTimes(t, raw)
	createdAt := assertRFC3339UTC(t, rc)
	assertRFC3339UTC(t, ru)
	assert.Equal(t, rc, ru, "a new key was last changed when it was created")
	assert.Equal(t, createdAt, mustTime(t, created.CreatedAt))

	want := masked(value)
	assert.True(t, strings.HasPrefix(want, "sk_****"))

	// get
	gresp, err := srv.Client.GetProjectAPIKeyWithResponse(ctx, created.ID, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, gresp.StatusCode())
	got := *gresp.JSON200
	assert.Equal(t, want, got.Value)
	assert.NotContains(t, string(gresp.Body), value)
	assert.NotContains(t, string(gresp.Body), value[3:])
	assert.Equal(t, client.ProjectAPIKey{
		ID: created.ID, ProjectID: created.ProjectID, Name: created.Name, Scope: created.Scope,
		Role: created.Role, Value: want, CreatedAt: created.CreatedAt, UpdatedAt: created.UpdatedAt,
		Description: created.Description,
	}, got)
	require.NoError(t, json.Unmarshal(gresp.Body, &raw))
	rc2, _ := rawTimes(t, raw)
	assert.Equal(t, rc, rc2, "the same timestamp on every read")

	// list
	lresp := list(t, srv.Client, nil)
	assert.NotContains(t, string(lresp.Body), value)
	assert.NotContains(t, string(lresp.Body), value[3:])
	inList, ok := byID(lresp.JSON200.Results, created.ID)
	require.True(t, ok)
	assert.Equal(t, got, inList)
	var rawPage struct {
		Results []map[string]any `json:"results"`
	}
	require.NoError(t, json.Unmarshal(lresp.Body, &rawPage))
	for _, k := range rawPage.Results {
		c, u := rawTimes(t, k)
		assertRFC3339UTC(t, c)
		assertRFC3339UTC(t, u)
	}
	for _, k := range lresp.JSON200.Results {
		assert.Regexp(t, maskedValue, k.Value)
	}
	assert.NotContains(t, string(lresp.Body), srv.AdminKey, "the caller's own key is masked too")

	// update: masked, updated_at moves, created_at stays
	uresp, err := srv.Client.UpdateProjectAPIKeyWithResponse(ctx, created.ID, nil, client.ProjectAPIKeyUpdate{Name: ptr("Renamed")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, uresp.StatusCode())
	updated := *uresp.JSON200
	assert.Equal(t, want, updated.Value)
	assert.NotContains(t, string(uresp.Body), value[3:])
	assert.Equal(t, "Renamed", updated.Name)
	assert.Equal(t, created.CreatedAt, updated.CreatedAt)
	assert.True(t, mustTime(t, updated.UpdatedAt).After(mustTime(t, created.UpdatedAt)), "updated_at moves on a change")
	require.NoError(t, json.Unmarshal(uresp.Body, &raw))
	_, ru3 := rawTimes(t, raw)
	assertRFC3339UTC(t, ru3)

	// every kind of change moves updated_at
	prev := updated
	for _, req := range []client.ProjectAPIKeyUpdate{
		{Description: nullable.NewNullableWithValue("new")},
		{Description: nullable.NewNullNullable[string]()},
		{Role: ptr(client.ProjectRoleEditor)},
		{Scope: ptr(client.APIKeyScopePublic)},
	} {
		next := update(t, srv.Client, created.ID, req)
		assert.True(t, mustTime(t, next.UpdatedAt).After(mustTime(t, prev.UpdatedAt)), "updated_at moves on %+v", req)
		assert.Equal(t, created.CreatedAt, next.CreatedAt)
		assert.Equal(t, want, next.Value, "the value never changes, not even its prefix")
		prev = next
	}

	// an empty PATCH changes nothing, updated_at included
	eresp, err := srv.Client.UpdateProjectAPIKeyWithResponse(ctx, created.ID, nil, client.ProjectAPIKeyUpdate{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, eresp.StatusCode())
	assert.Equal(t, prev, *eresp.JSON200)
	assert.Equal(t, prev, get(t, srv.Client, created.ID))

	// a public key: pk_ value, masked pk_****
	pub := create(t, srv.Client, client.ProjectAPIKeyCreate{Name: "Browser", Scope: ptr(client.APIKeyScopePublic), Role: ptr(client.ProjectRoleEditor)})
	assert.Regexp(t, publicValue, pub.Value)
	assert.Equal(t, client.APIKeyScopePublic, pub.Scope)
	assert.Equal(t, client.ProjectRoleEditor, pub.Role)
	pg := get(t, srv.Client, pub.ID)
	assert.Equal(t, "pk_****"+pub.Value[len(pub.Value)-4:], pg.Value)
	assert.False(t, pub.Description.IsSpecified() && !pub.Description.IsNull(), "no description")
}

// TestPatch: only the fields sent change, description null clears it, and
// rejected requests change nothing.
func TestPatch(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(newClock().Now))
	ctx := t.Context()
	k := create(t, srv.Client, client.ProjectAPIKeyCreate{
		Name: "Original", Description: nullable.NewNullableWithValue("Original description"),
		Role: ptr(client.ProjectRoleEditor),
	})
	// expect applies the change the request should make to the key.
	steps := []struct {
		name   string
		req    client.ProjectAPIKeyUpdate
		expect func(k *client.ProjectAPIKey)
	}{
		{"name only", client.ProjectAPIKeyUpdate{Name: ptr("Renamed")},
			func(k *client.ProjectAPIKey) { k.Name = "Renamed" }},
		{"description only", client.ProjectAPIKeyUpdate{Description: nullable.NewNullableWithValue("New description")},
			func(k *client.ProjectAPIKey) { k.Description = nullable.NewNullableWithValue("New description") }},
		{"role only", client.ProjectAPIKeyUpdate{Role: ptr(client.ProjectRolePublisher)},
			func(k *client.ProjectAPIKey) { k.Role = client.ProjectRolePublisher }},
		{"empty description is a value", client.ProjectAPIKeyUpdate{Description: nullable.NewNullableWithValue("")},
			func(k *client.ProjectAPIKey) { k.Description = nullable.NewNullableWithValue("") }},
		{"description null clears", client.ProjectAPIKeyUpdate{Description: nullable.NewNullNullable[string]()},
			func(k *client.ProjectAPIKey) { k.Description = nullable.NewNullNullable[string]() }},
		{"name and role", client.ProjectAPIKeyUpdate{Name: ptr("Both"), Role: ptr(client.ProjectRoleAdmin)},
			func(k *client.ProjectAPIKey) { k.Name, k.Role = "Both", client.ProjectRoleAdmin }},
		{"scope only (value keeps its prefix)", client.ProjectAPIKeyUpdate{Scope: ptr(client.APIKeyScopePublic)},
			func(k *client.ProjectAPIKey) { k.Scope = client.APIKeyScopePublic }},
	}
	before := get(t, srv.Client, k.ID)
	for _, step := range steps {
		resp, err := srv.Client.UpdateProjectAPIKeyWithResponse(ctx, k.ID, nil, step.req)
		require.NoError(t, err, step.name)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s: %s", step.name, resp.Body)
		got := *resp.JSON200
		want := before
		step.expect(&want)
		want.UpdatedAt = got.UpdatedAt
		assert.Equal(t, want, got, step.name)
		assert.True(t, mustTime(t, got.UpdatedAt).After(mustTime(t, before.UpdatedAt)), step.name)
		assert.Equal(t, got, get(t, srv.Client, k.ID), "%s: stored as returned", step.name)
		before = got
	}
	// A cleared description is absent or null on the wire, never "".
	gresp, err := srv.Client.GetProjectAPIKeyWithResponse(ctx, k.ID, nil)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(gresp.Body, &raw))
	assert.Nil(t, raw["description"])

	bad := unsafeClient(t, srv, srv.AdminKey)
	rejected := []struct {
		name  string
		send  func() (*http.Response, []byte, error)
		code  client.ErrorCode
		param string
	}{
		{"empty name", func() (*http.Response, []byte, error) {
			r, err := bad.UpdateProjectAPIKeyWithResponse(ctx, k.ID, nil, client.ProjectAPIKeyUpdate{Name: ptr("")})
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		}, client.ErrorCodeParameterInvalidEmpty, "name"},
		{"blank name", func() (*http.Response, []byte, error) {
			r, err := bad.UpdateProjectAPIKeyWithResponse(ctx, k.ID, nil, client.ProjectAPIKeyUpdate{Name: ptr("   ")})
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		}, client.ErrorCodeParameterInvalidEmpty, "name"},
		{"unknown field", rawPatch(t, bad, k.ID, `{"nmae":"x"}`), client.ErrorCodeParameterUnknown, "nmae"},
		{"unknown field beside a known one", rawPatch(t, bad, k.ID, `{"name":"Sneaky","nmae":"x"}`), client.ErrorCodeParameterUnknown, "nmae"},
		{"the value cannot be changed", rawPatch(t, bad, k.ID, `{"value":"sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"}`), client.ErrorCodeParameterUnknown, "value"},
		{"unknown role", rawPatch(t, bad, k.ID, `{"role":"owner"}`), client.ErrorCodeValidationFailed, "role"},
		{"null name", rawPatch(t, bad, k.ID, `{"name":null}`), client.ErrorCodeValidationFailed, "name"},
		{"not JSON", rawPatch(t, bad, k.ID, `{"name":`), client.ErrorCodeParameterInvalidFormat, ""},
	}
	for _, r := range rejected {
		resp, body, err := r.send()
		require.NoError(t, err, r.name)
		status := http.StatusBadRequest
		if r.code == client.ErrorCodeValidationFailed {
			status = http.StatusUnprocessableEntity
		}
		e := problemOf(t, resp, body, status, r.code)
		if r.param != "" {
			assert.Equal(t, r.param, paramOf(e), r.name)
		}
		assert.Equal(t, before, get(t, srv.Client, k.ID), "%s: the key is unchanged", r.name)
	}
}

func rawPatch(t *testing.T, c *client.ClientWithResponses, id int64, body string) func() (*http.Response, []byte, error) {
	return func() (*http.Response, []byte, error) {
		r, err := c.UpdateProjectAPIKeyWithBodyWithResponse(t.Context(), id, nil, "application/json", strings.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}
}
