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

	cresp, err := srv.Client.CreateApiKeyWithResponse(ctx, nil, client.CreateApiKeyRequest{
		Name:        "Production server",
		Description: nullable.NewNullableWithValue("Used by billing"),
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, cresp.StatusCode(), "body: %s", cresp.Body)
	created := *cresp.JSON201
	value := created.Value
	assert.Regexp(t, secretValue, value, "full value on create")
	assert.Equal(t, client.ApiKeyScopeSecret, created.Scope, "scope defaults to secret")
	assert.Equal(t, client.ProjectRoleSupport, created.Role, "role defaults to support")
	assert.Equal(t, srv.ProjectID, created.ProjectId)
	assert.Equal(t, "Used by billing", created.Description.MustGet())
	assert.Nil(t, created.IsSystemKey)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(cresp.Body, &raw))
	rc, ru := rawTimes(t, raw)
	createdAt := assertRFC3339UTC(t, rc)
	assertRFC3339UTC(t, ru)
	assert.Equal(t, rc, ru, "a new key was last changed when it was created")
	assert.Equal(t, createdAt, created.CreatedAt.MustGet())

	want := masked(value)
	assert.True(t, strings.HasPrefix(want, "sk_****"))

	// get
	gresp, err := srv.Client.GetApiKeyWithResponse(ctx, created.Id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, gresp.StatusCode())
	got := *gresp.JSON200
	assert.Equal(t, want, got.Value)
	assert.NotContains(t, string(gresp.Body), value)
	assert.NotContains(t, string(gresp.Body), value[3:])
	assert.Equal(t, client.ApiKey{
		Id: created.Id, ProjectId: created.ProjectId, Name: created.Name, Scope: created.Scope,
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
	inList, ok := byID(lresp.JSON200.Results, created.Id)
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
	uresp, err := srv.Client.UpdateApiKeyWithResponse(ctx, created.Id, nil, client.UpdateApiKeyRequest{Name: ptr("Renamed")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, uresp.StatusCode())
	updated := *uresp.JSON200
	assert.Equal(t, want, updated.Value)
	assert.NotContains(t, string(uresp.Body), value[3:])
	assert.Equal(t, "Renamed", updated.Name)
	assert.Equal(t, created.CreatedAt, updated.CreatedAt)
	assert.True(t, updated.UpdatedAt.MustGet().After(created.UpdatedAt.MustGet()), "updated_at moves on a change")
	require.NoError(t, json.Unmarshal(uresp.Body, &raw))
	_, ru3 := rawTimes(t, raw)
	assertRFC3339UTC(t, ru3)

	// every kind of change moves updated_at
	prev := updated
	for _, req := range []client.UpdateApiKeyRequest{
		{Description: nullable.NewNullableWithValue("new")},
		{Description: nullable.NewNullNullable[string]()},
		{Role: ptr(client.ProjectRoleEditor)},
		{Scope: ptr(client.ApiKeyScopePublic)},
	} {
		next := update(t, srv.Client, created.Id, req)
		assert.True(t, next.UpdatedAt.MustGet().After(prev.UpdatedAt.MustGet()), "updated_at moves on %+v", req)
		assert.Equal(t, created.CreatedAt, next.CreatedAt)
		assert.Equal(t, want, next.Value, "the value never changes, not even its prefix")
		prev = next
	}

	// an empty PATCH changes nothing, updated_at included
	eresp, err := srv.Client.UpdateApiKeyWithResponse(ctx, created.Id, nil, client.UpdateApiKeyRequest{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, eresp.StatusCode())
	assert.Equal(t, prev, *eresp.JSON200)
	assert.Equal(t, prev, get(t, srv.Client, created.Id))

	// a public key: pk_ value, masked pk_****
	pub := create(t, srv.Client, client.CreateApiKeyRequest{Name: "Browser", Scope: ptr(client.ApiKeyScopeDefaultSecretPublic), Role: ptr(client.ProjectRoleDefaultSupportEditor)})
	assert.Regexp(t, publicValue, pub.Value)
	assert.Equal(t, client.ApiKeyScopePublic, pub.Scope)
	assert.Equal(t, client.ProjectRoleEditor, pub.Role)
	pg := get(t, srv.Client, pub.Id)
	assert.Equal(t, "pk_****"+pub.Value[len(pub.Value)-4:], pg.Value)
	assert.False(t, pub.Description.IsSpecified() && !pub.Description.IsNull(), "no description")
}

// TestPatch: only the fields sent change, description null clears it, and
// rejected requests change nothing.
func TestPatch(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(newClock().Now))
	ctx := t.Context()
	k := create(t, srv.Client, client.CreateApiKeyRequest{
		Name: "Original", Description: nullable.NewNullableWithValue("Original description"),
		Role: ptr(client.ProjectRoleDefaultSupportEditor),
	})
	// expect applies the change the request should make to the key.
	steps := []struct {
		name   string
		req    client.UpdateApiKeyRequest
		expect func(k *client.ApiKey)
	}{
		{"name only", client.UpdateApiKeyRequest{Name: ptr("Renamed")},
			func(k *client.ApiKey) { k.Name = "Renamed" }},
		{"description only", client.UpdateApiKeyRequest{Description: nullable.NewNullableWithValue("New description")},
			func(k *client.ApiKey) { k.Description = nullable.NewNullableWithValue("New description") }},
		{"role only", client.UpdateApiKeyRequest{Role: ptr(client.ProjectRolePublisher)},
			func(k *client.ApiKey) { k.Role = client.ProjectRolePublisher }},
		{"empty description is a value", client.UpdateApiKeyRequest{Description: nullable.NewNullableWithValue("")},
			func(k *client.ApiKey) { k.Description = nullable.NewNullableWithValue("") }},
		{"description null clears", client.UpdateApiKeyRequest{Description: nullable.NewNullNullable[string]()},
			func(k *client.ApiKey) { k.Description = nullable.NewNullNullable[string]() }},
		{"name and role", client.UpdateApiKeyRequest{Name: ptr("Both"), Role: ptr(client.ProjectRoleAdmin)},
			func(k *client.ApiKey) { k.Name, k.Role = "Both", client.ProjectRoleAdmin }},
		{"scope only (value keeps its prefix)", client.UpdateApiKeyRequest{Scope: ptr(client.ApiKeyScopePublic)},
			func(k *client.ApiKey) { k.Scope = client.ApiKeyScopePublic }},
	}
	before := get(t, srv.Client, k.Id)
	for _, step := range steps {
		resp, err := srv.Client.UpdateApiKeyWithResponse(ctx, k.Id, nil, step.req)
		require.NoError(t, err, step.name)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s: %s", step.name, resp.Body)
		got := *resp.JSON200
		want := before
		step.expect(&want)
		want.UpdatedAt = got.UpdatedAt
		assert.Equal(t, want, got, step.name)
		assert.True(t, got.UpdatedAt.MustGet().After(before.UpdatedAt.MustGet()), step.name)
		assert.Equal(t, got, get(t, srv.Client, k.Id), "%s: stored as returned", step.name)
		before = got
	}
	// A cleared description is absent or null on the wire, never "".
	gresp, err := srv.Client.GetApiKeyWithResponse(ctx, k.Id, nil)
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
			r, err := bad.UpdateApiKeyWithResponse(ctx, k.Id, nil, client.UpdateApiKeyRequest{Name: ptr("")})
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		}, client.ParameterInvalidEmpty, "name"},
		{"blank name", func() (*http.Response, []byte, error) {
			r, err := bad.UpdateApiKeyWithResponse(ctx, k.Id, nil, client.UpdateApiKeyRequest{Name: ptr("   ")})
			if err != nil {
				return nil, nil, err
			}
			return r.HTTPResponse, r.Body, nil
		}, client.ParameterInvalidEmpty, "name"},
		{"unknown field", rawPatch(t, bad, k.Id, `{"nmae":"x"}`), client.ParameterUnknown, "nmae"},
		{"unknown field beside a known one", rawPatch(t, bad, k.Id, `{"name":"Sneaky","nmae":"x"}`), client.ParameterUnknown, "nmae"},
		{"the value cannot be changed", rawPatch(t, bad, k.Id, `{"value":"sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"}`), client.ParameterUnknown, "value"},
		{"unknown role", rawPatch(t, bad, k.Id, `{"role":"owner"}`), client.ValidationFailed, "role"},
		{"null name", rawPatch(t, bad, k.Id, `{"name":null}`), client.ValidationFailed, "name"},
		{"not JSON", rawPatch(t, bad, k.Id, `{"name":`), client.ParameterInvalidFormat, ""},
	}
	for _, r := range rejected {
		resp, body, err := r.send()
		require.NoError(t, err, r.name)
		status := http.StatusBadRequest
		if r.code == client.ValidationFailed {
			status = http.StatusUnprocessableEntity
		}
		e := problemOf(t, resp, body, status, r.code)
		if r.param != "" {
			assert.Equal(t, r.param, paramOf(e), r.name)
		}
		assert.Equal(t, before, get(t, srv.Client, k.Id), "%s: the key is unchanged", r.name)
	}
}

func rawPatch(t *testing.T, c *client.ClientWithResponses, id int64, body string) func() (*http.Response, []byte, error) {
	return func() (*http.Response, []byte, error) {
		r, err := c.UpdateApiKeyWithBodyWithResponse(t.Context(), id, nil, "application/json", strings.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}
}
