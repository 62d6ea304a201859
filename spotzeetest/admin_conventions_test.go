package spotzeetest_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/coverage"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

func setHeader(name, value string) client.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set(name, value)
		return nil
	}
}

// TestAdminStatuses makes every new operation produce every documented
// status it can (200, 400, 401, 403, 404, 409, 422, 429), seen by a
// coverage recorder in front of the server.
func TestAdminStatuses(t *testing.T) {
	t.Parallel()
	rec, err := coverage.Default()
	require.NoError(t, err)
	srv := spotzeetest.NewServer(t, spotzeetest.WithCoverage(rec))
	ctx := t.Context()
	unsafe := srv.NewAdminClient(srv.OwnerKey, validate.SkipRequestValidation())
	member := srv.NewAdminClient(srv.AddOrgKey(srv.OrgID, "member", spotzee.OrgRoleMember))
	victim := srv.AddOrgKey(srv.OrgID, "victim", spotzee.OrgRoleMember)
	_ = victim
	victimID := orgKeyID(t, srv, "victim")
	ownerID := orgKeyID(t, srv, "Bootstrap owner key")

	for _, op := range adminOps {
		id := victimID
		if isProjectOp(op.name) {
			id = srv.ProjectID
		}
		// 400: a Spotzee-Version that is not a date.
		resp, body, err := op.call(ctx, unsafe, id, setHeader("Spotzee-Version", "latest"))
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusBadRequest, client.ErrorCodeParameterInvalidFormat)
		// 401: no key.
		resp, body, err = op.call(ctx, unsafe, id, setAuth(""))
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
		// 403: a member, where a member may not.
		if !memberMay(op.name) {
			resp, body, err = op.call(ctx, member, id)
			require.NoError(t, err)
			problemOf(t, resp, body, http.StatusForbidden, client.ErrorCodePermissionDenied)
		}
	}
	// 404: ids that are not there.
	for _, op := range adminOps {
		switch op.name {
		case "getOrganizationApiKey", "updateOrganizationApiKey", "revokeOrganizationApiKey", "updateProject":
			resp, body, err := op.call(ctx, srv.AdminClient, 987654)
			require.NoError(t, err)
			problemOf(t, resp, body, http.StatusNotFound, client.ErrorCodeResourceMissing)
		}
	}
	// 409: the last owner key; idempotency mismatches on every POST and PATCH.
	r409, err := srv.AdminClient.RevokeOrganizationAPIKeyWithResponse(ctx, ownerID, nil)
	require.NoError(t, err)
	problemOf(t, r409.HTTPResponse, r409.Body, http.StatusConflict, client.ErrorCodeStateConflict)
	u409, err := srv.AdminClient.UpdateOrganizationAPIKeyWithResponse(ctx, ownerID, nil, client.OrganizationAPIKeyUpdate{Role: ptr(client.OrganizationRole("member"))})
	require.NoError(t, err)
	problemOf(t, u409.HTTPResponse, u409.Body, http.StatusConflict, client.ErrorCodeStateConflict)
	idem := setHeader("Idempotency-Key", "same-key")
	ck1, err := srv.AdminClient.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: "a"}, idem)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ck1.StatusCode())
	ck2, err := srv.AdminClient.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: "b"}, idem)
	require.NoError(t, err)
	problemOf(t, ck2.HTTPResponse, ck2.Body, http.StatusConflict, client.ErrorCodeIdempotencyKeyMismatch)
	cp1, err := srv.AdminClient.CreateProjectWithResponse(ctx, nil, client.OrgProjectCreate{Name: "a", Locale: "en", Timezone: "UTC"}, setHeader("Idempotency-Key", "p"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cp1.StatusCode())
	cp2, err := srv.AdminClient.CreateProjectWithResponse(ctx, nil, client.OrgProjectCreate{Name: "b", Locale: "en", Timezone: "UTC"}, setHeader("Idempotency-Key", "p"))
	require.NoError(t, err)
	problemOf(t, cp2.HTTPResponse, cp2.Body, http.StatusConflict, client.ErrorCodeIdempotencyKeyMismatch)
	up1, err := srv.AdminClient.UpdateProjectWithResponse(ctx, cp1.JSON200.ID, nil, client.OrgProjectUpdate{Name: nullable.NewNullableWithValue("x")}, setHeader("Idempotency-Key", "u"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up1.StatusCode())
	up2, err := srv.AdminClient.UpdateProjectWithResponse(ctx, cp1.JSON200.ID, nil, client.OrgProjectUpdate{Name: nullable.NewNullableWithValue("y")}, setHeader("Idempotency-Key", "u"))
	require.NoError(t, err)
	problemOf(t, up2.HTTPResponse, up2.Body, http.StatusConflict, client.ErrorCodeIdempotencyKeyMismatch)

	// 422: one errors[] entry per bad field.
	c422, err := unsafe.CreateProjectWithResponse(ctx, nil, client.OrgProjectCreate{Name: "P", Locale: "not a tag!", Timezone: "Mars/Base",
		WebsiteURL: nullable.NewNullableWithValue("ftp://x.example"), DeeplinkMirrorURL: nullable.NewNullableWithValue("http://x.example")})
	require.NoError(t, err)
	e := problemOf(t, c422.HTTPResponse, c422.Body, http.StatusUnprocessableEntity, client.ErrorCodeValidationFailed)
	require.NotNil(t, e.Errors)
	var params []string
	for _, fe := range *e.Errors {
		assert.Equal(t, client.ErrorCodeValidationFailed, fe.Code)
		params = append(params, fe.Param)
	}
	assert.ElementsMatch(t, []string{"locale", "timezone", "website_url", "deeplink_mirror_url"}, params)
	u422, err := unsafe.UpdateProjectWithResponse(ctx, srv.ProjectID, nil, client.OrgProjectUpdate{Timezone: nullable.NewNullableWithValue("Nowhere/Else")})
	require.NoError(t, err)
	e = problemOf(t, u422.HTTPResponse, u422.Body, http.StatusUnprocessableEntity, client.ErrorCodeValidationFailed)
	require.NotNil(t, e.Errors)
	assert.Equal(t, "timezone", (*e.Errors)[0].Param)
	k422, err := unsafe.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: strings.Repeat("n", 256)})
	require.NoError(t, err)
	problemOf(t, k422.HTTPResponse, k422.Body, http.StatusUnprocessableEntity, client.ErrorCodeValidationFailed)
	ku422, err := unsafe.UpdateOrganizationAPIKeyWithResponse(ctx, victimID, nil, client.OrganizationAPIKeyUpdate{Name: nullable.NewNullNullable[string]()})
	require.NoError(t, err)
	problemOf(t, ku422.HTTPResponse, ku422.Body, http.StatusUnprocessableEntity, client.ErrorCodeValidationFailed)
	// The accepted forms: website without a scheme, HTTPS mirror.
	ok, err := srv.AdminClient.UpdateProjectWithResponse(ctx, srv.ProjectID, nil, client.OrgProjectUpdate{
		WebsiteURL: nullable.NewNullableWithValue("acme.example"), DeeplinkMirrorURL: nullable.NewNullableWithValue("https://l.acme.example"),
		Locale: nullable.NewNullableWithValue("pt-BR")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ok.StatusCode(), "%s", ok.Body)

	// 429 with a rate-limited server sharing the recorder.
	limited := spotzeetest.NewServer(t, spotzeetest.WithCoverage(rec), spotzeetest.WithRateLimits(ratelimit.Config{
		Override: &ratelimit.Limits{ReadPerWindow: 0, WritePerWindow: 0}}))
	for _, op := range adminOps {
		id := int64(1)
		resp, body, err := op.call(ctx, limited.AdminClient, id)
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusTooManyRequests, client.ErrorCodeRateLimited)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	}
	me, err := limited.Client.GetCurrentProjectWithResponse(ctx, nil)
	require.NoError(t, err)
	problemOf(t, me.HTTPResponse, me.Body, http.StatusTooManyRequests, client.ErrorCodeRateLimited)
	me400, err := srv.NewClient(srv.AdminKey, validate.SkipRequestValidation()).GetCurrentProjectWithResponse(ctx, nil, setHeader("Spotzee-Version", "x"))
	require.NoError(t, err)
	problemOf(t, me400.HTTPResponse, me400.Body, http.StatusBadRequest, client.ErrorCodeParameterInvalidFormat)
	me401, err := srv.NewClient(srv.AdminKey, validate.SkipRequestValidation()).GetCurrentProjectWithResponse(ctx, nil, setAuth(""))
	require.NoError(t, err)
	problemOf(t, me401.HTTPResponse, me401.Body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
	me200, err := srv.Client.GetCurrentProjectWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me200.StatusCode())

	want := map[string][]int{
		"getCurrentOrganization":   {200, 400, 401, 429},
		"listOrganizationApiKeys":  {200, 400, 401, 403, 429},
		"createOrganizationApiKey": {200, 400, 401, 403, 409, 422, 429},
		"getOrganizationApiKey":    {200, 400, 401, 403, 404, 429},
		"updateOrganizationApiKey": {200, 400, 401, 403, 404, 409, 422, 429},
		"revokeOrganizationApiKey": {200, 400, 401, 403, 404, 409, 429},
		"listProjects":             {200, 400, 401, 429},
		"createProject":            {200, 400, 401, 403, 409, 422, 429},
		"updateProject":            {200, 400, 401, 403, 404, 409, 422, 429},
		"getCurrentProject":        {200, 400, 401, 429},
	}
	// Fill in the 200s the walk above did not make yet.
	c := srv.Admin(srv.OwnerKey)
	_, err = c.Organization(ctx)
	require.NoError(t, err)
	_, err = c.ListKeys(ctx, nil)
	require.NoError(t, err)
	_, err = c.GetKey(ctx, victimID)
	require.NoError(t, err)
	_, err = c.UpdateKey(ctx, victimID, client.OrganizationAPIKeyUpdate{Name: nullable.NewNullableWithValue("v")})
	require.NoError(t, err)
	_, err = c.RevokeKey(ctx, victimID)
	require.NoError(t, err)
	_, err = c.ListProjects(ctx, nil)
	require.NoError(t, err)

	seen := map[string]bool{}
	rep := rec.Report()
	for _, e := range rep.Seen {
		seen[e.String()] = true
	}
	for op, statuses := range want {
		for _, st := range statuses {
			assert.True(t, seen[coverage.Entry{OperationID: op, Status: st}.String()], "%s %d not seen", op, st)
		}
	}
	assert.Empty(t, rep.Undocumented, "no undocumented status")
}

// TestAdminIdempotency: a replay on the admin surface answers the cached
// response; an organisation key and a project key with the same numeric id
// never share an idempotency record.
func TestAdminIdempotency(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	// The project's admin key has id 2 (the system key is 1); make an
	// organisation admin key with the same id.
	adminKeys, err := srv.Client.ListProjectAPIKeysWithResponse(ctx, &client.ListProjectAPIKeysParams{Q: ptr("Bootstrap admin key")})
	require.NoError(t, err)
	require.Len(t, adminKeys.JSON200.Results, 1)
	projectKeyID := adminKeys.JSON200.Results[0].ID
	var orgKey string
	for orgKey == "" {
		v := srv.AddOrgKey(srv.OrgID, "candidate", spotzee.OrgRoleAdmin)
		id := orgKeyIDOf(t, srv, v)
		require.LessOrEqual(t, id, projectKeyID)
		if id == projectKeyID {
			orgKey = v
		}
	}
	org := srv.NewAdminClient(orgKey)
	idem := setHeader("Idempotency-Key", "shared")
	first, err := org.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: "once"}, idem)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, first.StatusCode())
	replay, err := org.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: "once"}, idem)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, replay.StatusCode())
	assert.Equal(t, "true", replay.HTTPResponse.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.JSON200.Value, replay.JSON200.Value)
	assert.Equal(t, first.HTTPResponse.Header.Get("X-Request-Id"), replay.HTTPResponse.Header.Get("X-Request-Id"))

	// The project key with the same id, same Idempotency-Key, same path
	// shape on its own surface: its own record, no mismatch, no replay.
	pk, err := srv.Client.CreateProjectAPIKeyWithResponse(ctx, nil, client.ProjectAPIKeyCreate{Name: "once"}, idem)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pk.StatusCode(), "%s", pk.Body)
	assert.Empty(t, pk.HTTPResponse.Header.Get("Idempotent-Replayed"))
	// And back: the org key still replays its own.
	again, err := org.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: "once"}, idem)
	require.NoError(t, err)
	assert.Equal(t, "true", again.HTTPResponse.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.JSON200.ID, again.JSON200.ID)
}

// orgKeyIDOf returns the id of the organisation key whose value is value.
func orgKeyIDOf(t *testing.T, srv *spotzeetest.Server, value string) int64 {
	t.Helper()
	k, err := srv.Ref().Orgs().Authenticate(t.Context(), value)
	require.NoError(t, err)
	return k.ID
}

// TestAdminRateLimitHeaders: admin responses carry X-RateLimit-* for the
// calling organisation key on the starter tier, in a bucket of its own
// apart from a project key with the same id.
func TestAdminRateLimitHeaders(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithRateLimits(ratelimit.Config{
		Override: &ratelimit.Limits{ReadPerWindow: 5, WritePerWindow: 5}}))
	ctx := t.Context()
	// An organisation key with the id of the project's admin key (2).
	sameID := srv.AddOrgKey(srv.OrgID, "same id", spotzee.OrgRoleMember)
	require.Equal(t, int64(2), orgKeyIDOf(t, srv, sameID))
	org := srv.NewAdminClient(sameID)
	for i := range 5 {
		r, err := org.GetCurrentOrganizationWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode())
		h := r.HTTPResponse.Header
		assert.Equal(t, "5", h.Get("X-RateLimit-Limit"))
		assert.Equal(t, []string{"4", "3", "2", "1", "0"}[i], h.Get("X-RateLimit-Remaining"))
		assert.Equal(t, "starter", h.Get("X-RateLimit-Tier"))
		assert.NotEmpty(t, h.Get("X-RateLimit-Reset"))
	}
	r, err := org.ListProjectsWithResponse(ctx, nil)
	require.NoError(t, err)
	problemOf(t, r.HTTPResponse, r.Body, http.StatusTooManyRequests, client.ErrorCodeRateLimited)
	// The project key with the same id has a bucket of its own.
	me, err := srv.Client.GetCurrentProjectWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode())
	assert.Equal(t, "4", me.HTTPResponse.Header.Get("X-RateLimit-Remaining"))
}

// TestOrgKeyValuesNeverStored: an ok_ key's full value is in the create
// response (and its encrypted idempotent replay) only: never in a read,
// never in the database file or its WAL.
func TestOrgKeyValuesNeverStored(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.db")
	srv := spotzeetest.NewServer(t, spotzeetest.WithDB(path, nil))
	ctx := t.Context()
	values := []string{srv.OwnerKey}
	for i := range 5 {
		r, err := srv.AdminClient.CreateOrganizationAPIKeyWithResponse(ctx, nil,
			client.OrganizationAPIKeyCreate{Name: "k", Role: ptr(client.OrganizationRole("member"))},
			setHeader("Idempotency-Key", "idem-"+string(rune('a'+i))))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode())
		values = append(values, r.JSON200.Value)
		got, err := srv.AdminClient.GetOrganizationAPIKeyWithResponse(ctx, r.JSON200.ID, nil)
		require.NoError(t, err)
		assert.Equal(t, masked(r.JSON200.Value), got.JSON200.Value)
	}
	_, ownerValue := srv.NewOrganization("second")
	values = append(values, ownerValue)
	disk := func() []byte {
		var all []byte
		for _, suffix := range []string{"", "-wal"} {
			if b, err := os.ReadFile(path + suffix); err == nil {
				all = append(all, b...)
			}
		}
		return all
	}()
	for i, v := range values {
		assert.False(t, bytes.Contains(disk, []byte(strings.TrimPrefix(v, "ok_"))), "value %d is on disk", i)
	}
}
