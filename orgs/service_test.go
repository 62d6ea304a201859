package orgs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keymaterial"
	"github.com/spotzeekit/spotzee-keys/orgs"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

var cursorKey = []byte("0123456789abcdef0123456789abcdef")

// fixture is an organisation with one key of each role (and a second owner
// key, so that owner keys can be changed without hitting the last-owner
// rule), over in-memory SQLite.
type fixture struct {
	svc    *orgs.Service
	db     *sqlite.DB
	org    spotzee.Organization
	keys   map[spotzee.OrgRole]orgs.Created
	owner2 orgs.Created
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	svc := orgs.New(db, cursorKey)
	org, err := svc.CreateOrganization(t.Context(), "acme", nil)
	require.NoError(t, err)
	f := &fixture{svc: svc, db: db, org: org, keys: map[spotzee.OrgRole]orgs.Created{}}
	for _, r := range roles {
		f.keys[r] = f.add(t, org.ID, r)
	}
	f.owner2 = f.add(t, org.ID, spotzee.OrgRoleOwner)
	return f
}

func (f *fixture) add(t *testing.T, orgID int64, role spotzee.OrgRole) orgs.Created {
	t.Helper()
	c, err := f.svc.AddKey(t.Context(), orgID, orgs.KeyInput{Name: string(role) + " key", Role: role})
	require.NoError(t, err)
	return c
}

var roles = []spotzee.OrgRole{spotzee.OrgRoleMember, spotzee.OrgRoleAdmin, spotzee.OrgRoleOwner}

func code(err error) spotzee.Code { return spotzee.ErrorCode(err) }

func param(err error) string {
	var e *spotzee.Error
	if errors.As(err, &e) {
		return e.Param
	}
	return ""
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	got, err := f.svc.Authenticate(ctx, f.keys[spotzee.OrgRoleAdmin].Value)
	require.NoError(t, err)
	assert.Equal(t, f.keys[spotzee.OrgRoleAdmin].Key.ID, got.ID)

	for _, token := range []string{"sk_" + f.keys[spotzee.OrgRoleAdmin].Value[3:], "pk_01HXY7Z9K8M5J2N4P6Q8R0S1T2",
		"ok_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "Bearer", ""} {
		_, err := f.svc.Authenticate(ctx, token)
		assert.Equal(t, spotzee.CodeAuthenticationRequired, code(err), "%q", token)
		if len(token) > 10 {
			assert.NotContains(t, fmt.Sprint(err), token[3:], "the token is never in the error")
		}
	}
	_, err = f.svc.RevokeKey(ctx, f.keys[spotzee.OrgRoleOwner].Key, f.keys[spotzee.OrgRoleAdmin].Key.ID)
	require.NoError(t, err)
	_, err = f.svc.Authenticate(ctx, f.keys[spotzee.OrgRoleAdmin].Value)
	assert.Equal(t, spotzee.CodeAuthenticationRequired, code(err), "revocation takes effect at once")
}

// TestRoleMatrix runs every key operation for each caller role against a
// target key of each role, and each role a create or update asks for.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	type result struct {
		code  spotzee.Code // "" for success
		param string
	}
	ok := result{}
	denied := result{code: spotzee.CodePermissionDenied}
	deniedRole := result{code: spotzee.CodePermissionDenied, param: "role"}

	// manage: list, get (caller role only).
	for _, caller := range roles {
		t.Run("list and get by "+string(caller), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			want := ok
			if caller == spotzee.OrgRoleMember {
				want = denied
			}
			_, err := f.svc.ListKeys(t.Context(), f.keys[caller].Key, keymaterial.ListInput{})
			assert.Equal(t, want.code, code(err))
			for _, target := range roles {
				_, err := f.svc.GetKey(t.Context(), f.keys[caller].Key, f.keys[target].Key.ID)
				assert.Equal(t, want.code, code(err), "get %s", target)
			}
			_, err = f.svc.Me(t.Context(), f.keys[caller].Key)
			assert.NoError(t, err, "GET /organizations/me for every role")
			_, err = f.svc.ListProjects(t.Context(), f.keys[caller].Key, keymaterial.ListInput{})
			assert.NoError(t, err, "listProjects for every role")
		})
	}

	// create: caller × requested role (absent: the default admin).
	for _, caller := range roles {
		for _, asked := range append([]spotzee.OrgRole{""}, roles...) {
			var want result
			switch {
			case caller == spotzee.OrgRoleMember:
				want = denied
			case asked == "":
				want = ok
			case !caller.AtLeast(asked):
				want = deniedRole
			default:
				want = ok
			}
			t.Run(fmt.Sprintf("create %q by %s", asked, caller), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				c, err := f.svc.CreateKey(t.Context(), f.keys[caller].Key, orgs.KeyInput{Name: "new", Role: asked})
				assert.Equal(t, want, result{code(err), param(err)})
				if want == ok {
					wantRole := asked
					if wantRole == "" {
						wantRole = spotzee.OrgRoleAdmin
					}
					assert.Equal(t, wantRole, c.Key.Role)
					assert.Regexp(t, `^ok_[0-9A-HJKMNP-TV-Z]{26}$`, c.Value)
				}
			})
		}
	}

	// update role and revoke: caller × target × new role.
	for _, caller := range roles {
		for _, target := range roles {
			for _, to := range roles {
				var want result
				switch {
				case caller == spotzee.OrgRoleMember:
					want = denied
				case target == spotzee.OrgRoleOwner && caller != spotzee.OrgRoleOwner:
					want = deniedRole
				case !caller.AtLeast(to):
					want = deniedRole
				default:
					want = ok
				}
				t.Run(fmt.Sprintf("update %s to %s by %s", target, to, caller), func(t *testing.T) {
					t.Parallel()
					f := newFixture(t)
					targetKey := f.keys[target].Key
					if target == caller {
						targetKey = f.add(t, f.org.ID, target).Key // not the caller itself
					}
					k, err := f.svc.UpdateKey(t.Context(), f.keys[caller].Key, targetKey.ID, spotzee.OrgKeyUpdate{Role: &to})
					assert.Equal(t, want, result{code(err), param(err)})
					if want == ok {
						assert.Equal(t, to, k.Role)
					}
				})
			}
			var want result
			switch {
			case caller == spotzee.OrgRoleMember:
				want = denied
			case target == spotzee.OrgRoleOwner && caller != spotzee.OrgRoleOwner:
				want = deniedRole
			default:
				want = ok
			}
			t.Run(fmt.Sprintf("revoke %s by %s", target, caller), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				_, err := f.svc.RevokeKey(t.Context(), f.keys[caller].Key, f.keys[target].Key.ID)
				assert.Equal(t, want, result{code(err), param(err)})
				_, err = f.svc.Authenticate(t.Context(), f.keys[target].Value)
				if want == ok {
					assert.Equal(t, spotzee.CodeAuthenticationRequired, code(err), "the revoked key stops at once")
				} else {
					assert.NoError(t, err, "a refused revoke changes nothing")
				}
			})
		}
	}

	// projects: create and update need admin or owner.
	for _, caller := range roles {
		t.Run("projects by "+string(caller), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			want := spotzee.Code("")
			if caller == spotzee.OrgRoleMember {
				want = spotzee.CodePermissionDenied
			}
			p, err := f.svc.CreateProject(t.Context(), f.keys[caller].Key,
				orgs.ProjectInput{Name: "P", ProjectSettings: spotzee.ProjectSettings{Locale: "en-GB", Timezone: "Europe/London"}})
			assert.Equal(t, want, code(err))
			existing, err := f.svc.AddProject(t.Context(), f.org.ID, orgs.ProjectInput{Name: "Existing"})
			require.NoError(t, err)
			name := "Renamed"
			_, err = f.svc.UpdateProject(t.Context(), f.keys[caller].Key, existing.ID, spotzee.ProjectUpdate{Name: &name})
			assert.Equal(t, want, code(err))
			if want == "" {
				assert.Equal(t, f.org.ID, p.OrganizationID)
			}
		})
	}
}

func TestLastOwner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	owner, owner2 := f.keys[spotzee.OrgRoleOwner], f.owner2
	// Two owners: one may demote or revoke the other.
	admin := spotzee.OrgRoleAdmin
	_, err := f.svc.UpdateKey(ctx, owner.Key, owner2.Key.ID, spotzee.OrgKeyUpdate{Role: &admin})
	require.NoError(t, err)
	// Now owner is the last owner key: neither demoted nor revoked, even by itself.
	_, err = f.svc.UpdateKey(ctx, owner.Key, owner.Key.ID, spotzee.OrgKeyUpdate{Role: &admin})
	assert.Equal(t, spotzee.CodeStateConflict, code(err))
	assert.Equal(t, "role", param(err))
	_, err = f.svc.RevokeKey(ctx, owner.Key, owner.Key.ID)
	assert.Equal(t, spotzee.CodeStateConflict, code(err))
	// Renaming the last owner key is fine.
	name := "still the owner"
	k, err := f.svc.UpdateKey(ctx, owner.Key, owner.Key.ID, spotzee.OrgKeyUpdate{Name: &name})
	require.NoError(t, err)
	assert.Equal(t, spotzee.OrgRoleOwner, k.Role)
	// Another organisation's owners do not count.
	other, err := f.svc.CreateOrganization(ctx, "other", nil)
	require.NoError(t, err)
	f.add(t, other.ID, spotzee.OrgRoleOwner)
	_, err = f.svc.RevokeKey(ctx, owner.Key, owner.Key.ID)
	assert.Equal(t, spotzee.CodeStateConflict, code(err))
}

// TestCallerChangedMeanwhile: the guards run on the caller as it is inside
// the write, so a caller revoked or demoted after it authenticated writes
// nothing: no key, no project, no project change.
func TestCallerChangedMeanwhile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	owner := f.keys[spotzee.OrgRoleOwner].Key
	admin := f.keys[spotzee.OrgRoleAdmin]
	stale := admin.Key // authenticated before the change
	p, err := f.svc.AddProject(ctx, f.org.ID, orgs.ProjectInput{Name: "Shop"})
	require.NoError(t, err)
	name := "changed"
	writes := []struct {
		name string
		fn   func() error
	}{
		{"create key", func() error { _, err := f.svc.CreateKey(ctx, stale, orgs.KeyInput{Name: "x"}); return err }},
		{"create project", func() error {
			_, err := f.svc.CreateProject(ctx, stale, orgs.ProjectInput{Name: "x",
				ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}})
			return err
		}},
		{"update project", func() error {
			_, err := f.svc.UpdateProject(ctx, stale, p.ID, spotzee.ProjectUpdate{Name: &name})
			return err
		}},
		{"empty project update", func() error {
			_, err := f.svc.UpdateProject(ctx, stale, p.ID, spotzee.ProjectUpdate{})
			return err
		}},
	}
	check := func(want spotzee.Code, why string) {
		t.Helper()
		for _, w := range writes {
			assert.Equal(t, want, code(w.fn()), "%s: %s", w.name, why)
		}
		projects, err := f.svc.ListProjects(ctx, owner, keymaterial.ListInput{})
		require.NoError(t, err)
		require.Len(t, projects.Projects, 1, "%s: no project created", why)
		assert.Equal(t, p, projects.Projects[0], "%s: the project is unchanged", why)
	}
	member := spotzee.OrgRoleMember
	_, err = f.svc.UpdateKey(ctx, owner, admin.Key.ID, spotzee.OrgKeyUpdate{Role: &member})
	require.NoError(t, err)
	check(spotzee.CodePermissionDenied, "demoted meanwhile")
	_, err = f.svc.RevokeKey(ctx, owner, admin.Key.ID)
	require.NoError(t, err)
	check(spotzee.CodeAuthenticationRequired, "revoked meanwhile")
}

func TestIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	other, err := f.svc.CreateOrganization(ctx, "globex", nil)
	require.NoError(t, err)
	theirs := f.add(t, other.ID, spotzee.OrgRoleOwner)
	theirProject, err := f.svc.AddProject(ctx, other.ID, orgs.ProjectInput{Name: "Theirs"})
	require.NoError(t, err)
	owner := f.keys[spotzee.OrgRoleOwner].Key
	name := "mine now"

	_, err = f.svc.GetKey(ctx, owner, theirs.Key.ID)
	assert.Equal(t, spotzee.CodeResourceMissing, code(err))
	_, err = f.svc.UpdateKey(ctx, owner, theirs.Key.ID, spotzee.OrgKeyUpdate{Name: &name})
	assert.Equal(t, spotzee.CodeResourceMissing, code(err))
	_, err = f.svc.RevokeKey(ctx, owner, theirs.Key.ID)
	assert.Equal(t, spotzee.CodeResourceMissing, code(err))
	_, err = f.svc.UpdateProject(ctx, owner, theirProject.ID, spotzee.ProjectUpdate{Name: &name})
	assert.Equal(t, spotzee.CodeResourceMissing, code(err))
	page, err := f.svc.ListKeys(ctx, owner, keymaterial.ListInput{Limit: intp(100)})
	require.NoError(t, err)
	for _, k := range page.Keys {
		assert.Equal(t, f.org.ID, k.OrganizationID)
	}
	projects, err := f.svc.ListProjects(ctx, owner, keymaterial.ListInput{})
	require.NoError(t, err)
	assert.Empty(t, projects.Projects)
	// A cursor of one organisation's list is refused in another's.
	for range 3 {
		f.add(t, other.ID, spotzee.OrgRoleMember)
	}
	theirPage, err := f.svc.ListKeys(ctx, theirs.Key, keymaterial.ListInput{Limit: intp(1)})
	require.NoError(t, err)
	require.NotNil(t, theirPage.NextCursor)
	_, err = f.svc.ListKeys(ctx, owner, keymaterial.ListInput{Limit: intp(1), Cursor: *theirPage.NextCursor})
	assert.Equal(t, spotzee.CodeParameterInvalidFormat, code(err))
	_, err = f.svc.ListProjects(ctx, theirs.Key, keymaterial.ListInput{Limit: intp(1), Cursor: *theirPage.NextCursor})
	assert.Equal(t, spotzee.CodeParameterInvalidFormat, code(err), "a key-list cursor is no project-list cursor")
}

func intp(i int) *int { return &i }

func strp(s string) *string { return &s }

func TestProjectValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.keys[spotzee.OrgRoleAdmin].Key
	tests := []struct {
		name   string
		in     spotzee.ProjectSettings
		params []string
	}{
		{"valid", spotzee.ProjectSettings{Locale: "en-GB", Timezone: "Europe/London",
			WebsiteURL: strp("acme.example"), DeeplinkMirrorURL: strp("https://links.acme.example")}, nil},
		{"valid http website", spotzee.ProjectSettings{Locale: "zh-Hant-TW", Timezone: "America/Argentina/Buenos_Aires",
			WebsiteURL: strp("http://acme.example/path")}, nil},
		{"valid UTC", spotzee.ProjectSettings{Locale: "fr", Timezone: "UTC"}, nil},
		{"bad locale", spotzee.ProjectSettings{Locale: "english!", Timezone: "UTC"}, []string{"locale"}},
		{"underscore locale", spotzee.ProjectSettings{Locale: "en_GB", Timezone: "UTC"}, []string{"locale"}},
		{"empty locale", spotzee.ProjectSettings{Locale: "", Timezone: "UTC"}, []string{"locale"}},
		{"bad timezone", spotzee.ProjectSettings{Locale: "en", Timezone: "Mars/Olympus"}, []string{"timezone"}},
		{"Local timezone", spotzee.ProjectSettings{Locale: "en", Timezone: "Local"}, []string{"timezone"}},
		{"ftp website", spotzee.ProjectSettings{Locale: "en", Timezone: "UTC", WebsiteURL: strp("ftp://acme.example")}, []string{"website_url"}},
		{"http mirror", spotzee.ProjectSettings{Locale: "en", Timezone: "UTC", DeeplinkMirrorURL: strp("http://links.acme.example")}, []string{"deeplink_mirror_url"}},
		{"schemeless mirror", spotzee.ProjectSettings{Locale: "en", Timezone: "UTC", DeeplinkMirrorURL: strp("links.acme.example")}, []string{"deeplink_mirror_url"}},
		{"all bad", spotzee.ProjectSettings{Locale: "??", Timezone: "Nowhere", WebsiteURL: strp("not a url"),
			DeeplinkMirrorURL: strp("ftp://x")}, []string{"locale", "timezone", "website_url", "deeplink_mirror_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := f.svc.CreateProject(t.Context(), admin, orgs.ProjectInput{Name: "P", ProjectSettings: tt.in})
			if tt.params == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.in, p.ProjectSettings)
				return
			}
			var e *spotzee.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, spotzee.CodeValidationFailed, e.Code)
			var got []string
			for _, fe := range e.Fields {
				assert.Equal(t, spotzee.CodeValidationFailed, fe.Code)
				got = append(got, fe.Param)
			}
			assert.Equal(t, tt.params, got)

			// The same on update.
			existing, err := f.svc.AddProject(t.Context(), f.org.ID, orgs.ProjectInput{Name: "E"})
			require.NoError(t, err)
			u := spotzee.ProjectUpdate{Locale: &tt.in.Locale, Timezone: &tt.in.Timezone,
				SetWebsiteURL: true, WebsiteURL: tt.in.WebsiteURL, SetDeeplinkMirrorURL: true, DeeplinkMirrorURL: tt.in.DeeplinkMirrorURL}
			_, err = f.svc.UpdateProject(t.Context(), admin, existing.ID, u)
			assert.Equal(t, spotzee.CodeValidationFailed, code(err))
		})
	}
	_, err := f.svc.CreateProject(t.Context(), admin, orgs.ProjectInput{Name: " ", ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}})
	assert.Equal(t, spotzee.CodeParameterInvalidEmpty, code(err))
}

func TestProjectUpdateClearsAndKeeps(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	admin := f.keys[spotzee.OrgRoleAdmin].Key
	yes := true
	p, err := f.svc.CreateProject(ctx, admin, orgs.ProjectInput{Name: "P", ProjectSettings: spotzee.ProjectSettings{
		Locale: "en", Timezone: "UTC", Description: strp("d"), LinkWrapEmail: &yes, TextHelpMessage: strp("help")}})
	require.NoError(t, err)
	got, err := f.svc.UpdateProject(ctx, admin, p.ID, spotzee.ProjectUpdate{SetDescription: true, SetLinkWrapEmail: true})
	require.NoError(t, err)
	assert.Nil(t, got.Description)
	assert.Nil(t, got.LinkWrapEmail)
	assert.Equal(t, strp("help"), got.TextHelpMessage, "absent fields keep their value")
	same, err := f.svc.UpdateProject(ctx, admin, p.ID, spotzee.ProjectUpdate{})
	require.NoError(t, err)
	assert.Equal(t, got, same, "an empty update changes nothing")
}
