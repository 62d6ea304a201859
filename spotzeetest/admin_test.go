package spotzeetest_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

var (
	orgValue       = regexp.MustCompile(`^ok_[0-9A-HJKMNP-TV-Z]{26}$`)
	maskedOrgValue = regexp.MustCompile(`^ok_\*{4}[0-9A-HJKMNP-TV-Z]{4}$`)
	orgRoles       = []spotzee.OrgRole{spotzee.OrgRoleMember, spotzee.OrgRoleAdmin, spotzee.OrgRoleOwner}
)

// faithful returns a generated client of baseURL authenticated with key,
// validated against the faithful contract (no reference profile).
func faithful(t *testing.T, baseURL, key string) *client.ClientWithResponses {
	t.Helper()
	v, err := validate.Default()
	require.NoError(t, err)
	c, err := client.NewClientWithResponses(baseURL,
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil)}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	require.NoError(t, err)
	return c
}

// adminOp is one admin-surface operation called with a target key id (for
// the key operations) or project id (updateProject).
type adminOp struct {
	name string
	call func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error)
}

var adminOps = []adminOp{
	{"getCurrentOrganization", func(ctx context.Context, c *client.ClientWithResponses, _ int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.GetCurrentOrganizationWithResponse(ctx, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"listOrganizationApiKeys", func(ctx context.Context, c *client.ClientWithResponses, _ int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.ListOrganizationAPIKeysWithResponse(ctx, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"createOrganizationApiKey", func(ctx context.Context, c *client.ClientWithResponses, _ int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: "made"}, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"getOrganizationApiKey", func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.GetOrganizationAPIKeyWithResponse(ctx, id, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"updateOrganizationApiKey", func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.UpdateOrganizationAPIKeyWithResponse(ctx, id, nil,
			client.OrganizationAPIKeyUpdate{Name: nullable.NewNullableWithValue("renamed")}, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"revokeOrganizationApiKey", func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.RevokeOrganizationAPIKeyWithResponse(ctx, id, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"listProjects", func(ctx context.Context, c *client.ClientWithResponses, _ int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.ListProjectsWithResponse(ctx, nil, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"createProject", func(ctx context.Context, c *client.ClientWithResponses, _ int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.CreateProjectWithResponse(ctx, nil, client.OrgProjectCreate{Name: "New", Locale: "en-GB", Timezone: "Europe/London"}, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
	{"updateProject", func(ctx context.Context, c *client.ClientWithResponses, id int64, ed ...client.RequestEditorFn) (*http.Response, []byte, error) {
		r, err := c.UpdateProjectWithResponse(ctx, id, nil, client.OrgProjectUpdate{Name: nullable.NewNullableWithValue("Renamed")}, ed...)
		if err != nil {
			return nil, nil, err
		}
		return r.HTTPResponse, r.Body, nil
	}},
}

// isProjectOp reports whether op's id is a project id.
func isProjectOp(name string) bool { return name == "updateProject" }

// memberMay reports whether a member key may call op.
func memberMay(name string) bool {
	return name == "getCurrentOrganization" || name == "listProjects"
}

// TestAdminSurfaceEndToEnd walks every admin operation and GET /me through
// the generated client, validated by both the faithful contract and the
// reference profile (and the server validates its responses).
func TestAdminSurfaceEndToEnd(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	for _, c := range []*client.ClientWithResponses{srv.AdminClient, faithful(t, srv.AdminURL, srv.OwnerKey)} {
		me, err := c.GetCurrentOrganizationWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, me.StatusCode(), "%s", me.Body)
		assert.Equal(t, srv.OrgID, me.JSON200.Organization.ID)
		assert.Equal(t, "default", me.JSON200.Organization.Username)
		assert.Equal(t, client.OrganizationCallerRole("owner"), me.JSON200.Role)
		assert.Regexp(t, requestID, me.HTTPResponse.Header.Get("X-Request-Id"))
		assert.Equal(t, "2026-04-28", me.HTTPResponse.Header.Get("Spotzee-Version"))

		created, err := c.CreateOrganizationAPIKeyWithResponse(ctx, nil, client.OrganizationAPIKeyCreate{Name: "Terraform",
			Description: nullable.NewNullableWithValue("provisions")})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, created.StatusCode(), "%s", created.Body)
		k := created.JSON200
		assert.Regexp(t, orgValue, k.Value, "the full value, once")
		assert.Equal(t, client.OrganizationRole("admin"), k.Role, "admin by default")
		assert.Equal(t, "no-store", created.HTTPResponse.Header.Get("Cache-Control"))

		got, err := c.GetOrganizationAPIKeyWithResponse(ctx, k.ID, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode())
		assert.Equal(t, masked(k.Value), got.JSON200.Value)
		assert.NotContains(t, string(got.Body), k.Value[3:])

		list, err := c.ListOrganizationAPIKeysWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, list.StatusCode())
		for _, r := range list.JSON200.Results {
			assert.Regexp(t, maskedOrgValue, r.Value)
		}
		assert.NotContains(t, string(list.Body), k.Value[3:])
		assert.NotEmpty(t, list.HTTPResponse.Header.Get("X-Total-Count"))

		upd, err := c.UpdateOrganizationAPIKeyWithResponse(ctx, k.ID, nil, client.OrganizationAPIKeyUpdate{
			Description: nullable.NewNullNullable[string](), Role: ptr(client.OrganizationRole("member"))})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, upd.StatusCode(), "%s", upd.Body)
		assert.Equal(t, client.OrganizationRole("member"), upd.JSON200.Role)
		assert.False(t, upd.JSON200.Description.IsSpecified() && !upd.JSON200.Description.IsNull())

		rev, err := c.RevokeOrganizationAPIKeyWithResponse(ctx, k.ID, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rev.StatusCode(), "%s", rev.Body)
		again, err := c.GetOrganizationAPIKeyWithResponse(ctx, k.ID, nil)
		require.NoError(t, err)
		problemOf(t, again.HTTPResponse, again.Body, http.StatusNotFound, client.ErrorCodeResourceMissing)

		p, err := c.CreateProjectWithResponse(ctx, nil, client.OrgProjectCreate{Name: "Newsletter", Locale: "en-GB",
			Timezone: "Europe/London", WebsiteURL: nullable.NewNullableWithValue("acme.example"),
			DeeplinkMirrorURL: nullable.NewNullableWithValue("https://links.acme.example"),
			TrackOpensEmail:   nullable.NewNullableWithValue(true)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, p.StatusCode(), "%s", p.Body)
		assert.Equal(t, srv.OrgID, p.JSON200.OrganizationID)
		require.NotNil(t, p.JSON200.Role)
		assert.Equal(t, client.OrgProjectRole("admin"), *p.JSON200.Role)
		require.NotNil(t, p.JSON200.HasProvider)
		assert.False(t, *p.JSON200.HasProvider)

		pu, err := c.UpdateProjectWithResponse(ctx, p.JSON200.ID, nil, client.OrgProjectUpdate{
			Timezone: nullable.NewNullableWithValue("UTC"), WebsiteURL: nullable.NewNullNullable[string]()})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, pu.StatusCode(), "%s", pu.Body)
		assert.Equal(t, "UTC", pu.JSON200.Timezone)
		assert.Equal(t, "en-GB", pu.JSON200.Locale)

		pl, err := c.ListProjectsWithResponse(ctx, &client.ListProjectsParams{Sort: ptr("id")})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, pl.StatusCode())
		require.GreaterOrEqual(t, len(pl.JSON200.Results), 2)
		assert.Equal(t, srv.ProjectID, pl.JSON200.Results[0].ID)

		// The new project's first key: the reference server's own helper.
		first := srv.FirstProjectKey(p.JSON200.ID)
		cur, err := srv.NewClient(first).GetCurrentProjectWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cur.StatusCode(), "%s", cur.Body)
		assert.Equal(t, p.JSON200.ID, cur.JSON200.ID)
		assert.Equal(t, client.ProjectRole("admin"), cur.JSON200.Role)
	}
}

// TestGetCurrentProject: GET /me answers any secret key, whatever its role,
// with its project; publishable and organisation keys get 401.
func TestGetCurrentProject(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	for _, role := range []spotzee.Role{spotzee.RoleSupport, spotzee.RoleSMTPProxy, spotzee.RoleEditor, spotzee.RolePublisher, spotzee.RoleAdmin} {
		key := srv.AddKey(srv.ProjectID, string(role), spotzee.ScopeSecret, role)
		for _, c := range []*client.ClientWithResponses{srv.NewClient(key), faithful(t, srv.URL, key)} {
			r, err := c.GetCurrentProjectWithResponse(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode(), "%s: %s", role, r.Body)
			assert.Equal(t, srv.ProjectID, r.JSON200.ID)
			assert.Equal(t, srv.OrgID, r.JSON200.OrganizationID)
			assert.Equal(t, client.ProjectRole(role), r.JSON200.Role)
			assert.False(t, r.JSON200.HasProvider)
			assert.Equal(t, "en", r.JSON200.Locale)
			assert.Equal(t, "UTC", r.JSON200.Timezone)
		}
	}
	for _, key := range []string{srv.AddKey(srv.ProjectID, "pub", spotzee.ScopePublic, spotzee.RoleAdmin), srv.OwnerKey} {
		r, err := srv.NewClient(key).GetCurrentProjectWithResponse(ctx, nil)
		require.NoError(t, err)
		problemOf(t, r.HTTPResponse, r.Body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
	}
	// The same API with the hand-written client.
	api, err := client.New(srv.URL, srv.AdminKey)
	require.NoError(t, err)
	p, err := api.CurrentProject(ctx)
	require.NoError(t, err)
	assert.Equal(t, srv.ProjectID, p.ID)
}

// TestWrongSurfaceKeys: project keys (sk_, pk_) on every admin operation and
// organisation keys on every client operation are 401.
func TestWrongSurfaceKeys(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	pub := srv.AddKey(srv.ProjectID, "pub", spotzee.ScopePublic, spotzee.RoleAdmin)
	for _, key := range []string{srv.AdminKey, pub} {
		c := srv.NewAdminClient(key)
		for _, op := range adminOps {
			resp, body, err := op.call(ctx, c, 1)
			require.NoError(t, err)
			problemOf(t, resp, body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
		}
	}
	c := srv.NewClient(srv.OwnerKey)
	for _, v := range verbs {
		resp, body, err := v.do(ctx, c, 1)
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
	}
	r, err := c.GetCurrentProjectWithResponse(ctx, nil)
	require.NoError(t, err)
	problemOf(t, r.HTTPResponse, r.Body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
	// Missing, malformed, unknown and revoked organisation keys.
	revoked := srv.AddOrgKey(srv.OrgID, "gone", spotzee.OrgRoleAdmin)
	rc := srv.Admin(srv.OwnerKey)
	keys, err := rc.ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Q: ptr("gone")})
	require.NoError(t, err)
	require.Len(t, keys.Results, 1)
	_, err = rc.RevokeKey(ctx, keys.Results[0].ID)
	require.NoError(t, err)
	unvalidated := srv.NewAdminClient(srv.OwnerKey, validate.SkipRequestValidation())
	for _, auth := range []string{"", "Bearer ok_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "Bearer " + revoked, "Basic x"} {
		for _, op := range adminOps {
			resp, body, err := op.call(ctx, unvalidated, 1, setAuth(auth))
			require.NoError(t, err)
			problemOf(t, resp, body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
		}
	}
	// Admin paths are not on the client surface and the other way round.
	resp, err := http.Get(srv.RootURL + "/api/client/organizations/me")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, err = http.Get(srv.RootURL + "/api/admin/keys")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestAdminRoleMatrix runs every admin operation as a member, admin and
// owner key against target keys of each role, with the role ceilings on
// create and update, the owner-key protection, and revocation taking effect
// on the next request.
func TestAdminRoleMatrix(t *testing.T) {
	t.Parallel()
	for _, caller := range orgRoles {
		for _, target := range orgRoles {
			for _, op := range adminOps {
				t.Run(fmt.Sprintf("%s by %s on %s key", op.name, caller, target), func(t *testing.T) {
					t.Parallel()
					srv := spotzeetest.NewServer(t)
					ctx := t.Context()
					callerKey := srv.AddOrgKey(srv.OrgID, "caller", caller)
					targetKey := srv.AddOrgKey(srv.OrgID, "target", target)
					_ = targetKey
					targetID := orgKeyID(t, srv, "target")
					id := targetID
					if isProjectOp(op.name) {
						id = srv.ProjectID
					}
					resp, body, err := op.call(ctx, srv.NewAdminClient(callerKey), id)
					require.NoError(t, err)
					targeted := strings.Contains(op.name, "OrganizationApiKey") && op.name != "createOrganizationApiKey"
					switch {
					case caller == spotzee.OrgRoleMember && !memberMay(op.name):
						problemOf(t, resp, body, http.StatusForbidden, client.ErrorCodePermissionDenied)
					case targeted && (op.name == "updateOrganizationApiKey" || op.name == "revokeOrganizationApiKey") &&
						target == spotzee.OrgRoleOwner && caller != spotzee.OrgRoleOwner:
						e := problemOf(t, resp, body, http.StatusForbidden, client.ErrorCodePermissionDenied)
						assert.Equal(t, "role", paramOf(e))
					default:
						require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
						if op.name == "revokeOrganizationApiKey" {
							// The revoked key stops on the next request.
							r, err := srv.NewAdminClient(targetKey).GetCurrentOrganizationWithResponse(ctx, nil)
							require.NoError(t, err)
							problemOf(t, r.HTTPResponse, r.Body, http.StatusUnauthorized, client.ErrorCodeAuthenticationRequired)
						}
					}
				})
			}
			// Role changes: caller × target × new role.
			for _, to := range orgRoles {
				t.Run(fmt.Sprintf("set %s key to %s by %s", target, to, caller), func(t *testing.T) {
					t.Parallel()
					srv := spotzeetest.NewServer(t)
					c := srv.NewAdminClient(srv.AddOrgKey(srv.OrgID, "caller", caller))
					srv.AddOrgKey(srv.OrgID, "target", target)
					r, err := c.UpdateOrganizationAPIKeyWithResponse(t.Context(), orgKeyID(t, srv, "target"), nil,
						client.OrganizationAPIKeyUpdate{Role: ptr(client.OrganizationRole(to))})
					require.NoError(t, err)
					switch {
					case caller == spotzee.OrgRoleMember:
						problemOf(t, r.HTTPResponse, r.Body, http.StatusForbidden, client.ErrorCodePermissionDenied)
					case (target == spotzee.OrgRoleOwner && caller != spotzee.OrgRoleOwner) || !caller.AtLeast(to):
						e := problemOf(t, r.HTTPResponse, r.Body, http.StatusForbidden, client.ErrorCodePermissionDenied)
						assert.Equal(t, "role", paramOf(e))
					default:
						require.Equal(t, http.StatusOK, r.StatusCode(), "%s", r.Body)
						assert.Equal(t, client.OrganizationRole(to), r.JSON200.Role)
					}
				})
			}
		}
		// Create with each role: never above the caller's own.
		for _, asked := range orgRoles {
			t.Run(fmt.Sprintf("create %s key by %s", asked, caller), func(t *testing.T) {
				t.Parallel()
				srv := spotzeetest.NewServer(t)
				c := srv.NewAdminClient(srv.AddOrgKey(srv.OrgID, "caller", caller))
				r, err := c.CreateOrganizationAPIKeyWithResponse(t.Context(), nil,
					client.OrganizationAPIKeyCreate{Name: "new", Role: ptr(client.OrganizationRole(asked))})
				require.NoError(t, err)
				switch {
				case caller == spotzee.OrgRoleMember:
					problemOf(t, r.HTTPResponse, r.Body, http.StatusForbidden, client.ErrorCodePermissionDenied)
				case !caller.AtLeast(asked):
					e := problemOf(t, r.HTTPResponse, r.Body, http.StatusForbidden, client.ErrorCodePermissionDenied)
					assert.Equal(t, "role", paramOf(e))
				default:
					require.Equal(t, http.StatusOK, r.StatusCode(), "%s", r.Body)
					assert.Equal(t, client.OrganizationRole(asked), r.JSON200.Role)
				}
			})
		}
		t.Run("me as "+string(caller), func(t *testing.T) {
			t.Parallel()
			srv := spotzeetest.NewServer(t)
			r, err := srv.NewAdminClient(srv.AddOrgKey(srv.OrgID, "caller", caller)).GetCurrentOrganizationWithResponse(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode())
			assert.Equal(t, client.OrganizationCallerRole(caller), r.JSON200.Role, "role is the calling key's")
		})
	}
}

// orgKeyID returns the id of the organisation key named name in srv's
// first organisation.
func orgKeyID(t *testing.T, srv *spotzeetest.Server, name string) int64 {
	t.Helper()
	list, err := srv.Admin(srv.OwnerKey).ListKeys(t.Context(), &client.ListOrganizationAPIKeysParams{Q: ptr(name), Limit: ptr(100)})
	require.NoError(t, err)
	for _, k := range list.Results {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no organisation key named %q", name)
	return 0
}

// TestLastOwnerKey: the organisation's last live owner key cannot be
// revoked or demoted (409 state_conflict); with a second owner it can.
func TestLastOwnerKey(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	ownerID := orgKeyID(t, srv, "Bootstrap owner key")
	r, err := srv.AdminClient.RevokeOrganizationAPIKeyWithResponse(ctx, ownerID, nil)
	require.NoError(t, err)
	problemOf(t, r.HTTPResponse, r.Body, http.StatusConflict, client.ErrorCodeStateConflict)
	u, err := srv.AdminClient.UpdateOrganizationAPIKeyWithResponse(ctx, ownerID, nil,
		client.OrganizationAPIKeyUpdate{Role: ptr(client.OrganizationRole("admin"))})
	require.NoError(t, err)
	e := problemOf(t, u.HTTPResponse, u.Body, http.StatusConflict, client.ErrorCodeStateConflict)
	assert.Equal(t, "role", paramOf(e))

	second := srv.AddOrgKey(srv.OrgID, "second owner", spotzee.OrgRoleOwner)
	secondID := orgKeyID(t, srv, "second owner")
	r, err = srv.NewAdminClient(second).RevokeOrganizationAPIKeyWithResponse(ctx, ownerID, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), "%s", r.Body)
	r, err = srv.NewAdminClient(second).RevokeOrganizationAPIKeyWithResponse(ctx, secondID, nil)
	require.NoError(t, err)
	problemOf(t, r.HTTPResponse, r.Body, http.StatusConflict, client.ErrorCodeStateConflict)
}

// TestOrganizationIsolation: every admin verb, with an id of another
// organisation's key or project, is 404 resource_missing, and lists show
// only the caller's organisation.
func TestOrganizationIsolation(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	otherOrg, otherOwner := srv.NewOrganization("globex")
	theirProject, _ := srv.NewOrgProject(otherOrg, "Theirs")
	theirKey := srv.AddOrgKey(otherOrg, "theirs", spotzee.OrgRoleMember)
	_ = theirKey
	theirKeys, err := srv.Admin(otherOwner).ListKeys(ctx, nil)
	require.NoError(t, err)
	for _, op := range adminOps {
		if op.name == "getCurrentOrganization" || op.name == "listOrganizationApiKeys" || op.name == "listProjects" ||
			op.name == "createOrganizationApiKey" || op.name == "createProject" {
			continue
		}
		id := theirKeys.Results[0].ID
		if isProjectOp(op.name) {
			id = theirProject
		}
		resp, body, err := op.call(ctx, srv.AdminClient, id)
		require.NoError(t, err)
		problemOf(t, resp, body, http.StatusNotFound, client.ErrorCodeResourceMissing)
	}
	// Lists, me and creates stay in the caller's organisation.
	mine, err := srv.Admin(srv.OwnerKey).ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Limit: ptr(100)})
	require.NoError(t, err)
	for _, k := range mine.Results {
		assert.Equal(t, srv.OrgID, k.OrganizationID)
	}
	projects, err := srv.Admin(srv.OwnerKey).ListProjects(ctx, &client.ListProjectsParams{Limit: ptr(100)})
	require.NoError(t, err)
	for _, p := range projects.Results {
		assert.Equal(t, srv.OrgID, p.OrganizationID)
	}
	theirs, err := srv.Admin(otherOwner).ListProjects(ctx, nil)
	require.NoError(t, err)
	require.Len(t, theirs.Results, 1)
	assert.Equal(t, theirProject, theirs.Results[0].ID)
	me, err := srv.Admin(otherOwner).Organization(ctx)
	require.NoError(t, err)
	assert.Equal(t, otherOrg, me.Organization.ID)
	created, err := srv.Admin(otherOwner).CreateProject(ctx, client.OrgProjectCreate{Name: "x", Locale: "en", Timezone: "UTC"})
	require.NoError(t, err)
	assert.Equal(t, otherOrg, created.OrganizationID)
	// A cursor of one organisation does not page another's.
	for range 3 {
		srv.AddOrgKey(otherOrg, "more", spotzee.OrgRoleMember)
	}
	page, err := srv.Admin(otherOwner).ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Limit: ptr(1)})
	require.NoError(t, err)
	require.True(t, page.NextCursor.IsSpecified() && !page.NextCursor.IsNull())
	bad, err := srv.AdminClient.ListOrganizationAPIKeysWithResponse(ctx, &client.ListOrganizationAPIKeysParams{Limit: ptr(1), Cursor: ptr(page.NextCursor.MustGet())})
	require.NoError(t, err)
	problemOf(t, bad.HTTPResponse, bad.Body, http.StatusBadRequest, client.ErrorCodeParameterInvalidFormat)
}
