package client_test

// End-to-end tests of client.Admin and API.CurrentProject against the
// reference server (spotzeetest), validated with the reference profile:
// every method, typed errors, and paging over many pages, both ways, with
// inserts and revokes between pages.

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

func TestAdminE2E(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	a := srv.Admin(srv.OwnerKey)

	me, err := a.Organization(ctx)
	require.NoError(t, err)
	assert.Equal(t, srv.OrgID, me.Organization.ID)
	assert.Equal(t, client.OrganizationCallerRole("owner"), me.Role)

	created, err := a.CreateKey(ctx, client.OrganizationAPIKeyCreate{Name: "CI", Role: ptrTo(client.OrganizationRole("member"))})
	require.NoError(t, err)
	assert.Regexp(t, `^ok_[0-9A-HJKMNP-TV-Z]{26}$`, created.Value)
	got, err := a.GetKey(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, "ok_****"+created.Value[len(created.Value)-4:], got.Value)
	upd, err := a.UpdateKey(ctx, created.ID, client.OrganizationAPIKeyUpdate{Name: nullable.NewNullableWithValue("CI 2")})
	require.NoError(t, err)
	assert.Equal(t, "CI 2", upd.Name)

	// The member key: reads its organisation, lists projects, nothing else.
	member := srv.Admin(created.Value)
	_, err = member.Organization(ctx)
	require.NoError(t, err)
	_, err = member.ListProjects(ctx, nil)
	require.NoError(t, err)
	_, err = member.ListKeys(ctx, nil)
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)

	rev, err := a.RevokeKey(ctx, created.ID)
	require.NoError(t, err)
	require.NotNil(t, rev.Revoked)
	_, err = member.Organization(ctx)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode, "revocation takes effect on the next request")
	_, err = a.GetKey(ctx, created.ID)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	p, err := a.CreateProject(ctx, client.OrgProjectCreate{Name: "Shop", Locale: "de-DE", Timezone: "Europe/Berlin"})
	require.NoError(t, err)
	assert.Equal(t, srv.OrgID, p.OrganizationID)
	p2, err := a.UpdateProject(ctx, p.ID, client.OrgProjectUpdate{Description: nullable.NewNullableWithValue("the shop")})
	require.NoError(t, err)
	assert.Equal(t, "the shop", p2.Description.MustGet())
	_, err = a.CreateProject(ctx, client.OrgProjectCreate{Name: "Bad", Locale: "xx_YY", Timezone: "UTC"})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnprocessableEntity, apiErr.StatusCode)

	// The new project's first key (reference server only), then /me.
	api, err := client.New(srv.URL, srv.FirstProjectKey(p.ID))
	require.NoError(t, err)
	cur, err := api.CurrentProject(ctx)
	require.NoError(t, err)
	assert.Equal(t, p.ID, cur.ID)
	assert.Equal(t, "de-DE", cur.Locale)
	assert.Equal(t, "the shop", cur.Description.MustGet())
	assert.False(t, cur.HasProvider)

	// Project keys on the admin surface are refused.
	_, err = srv.Admin(srv.AdminKey).Organization(ctx)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
}

func ptrTo[T any](v T) *T { return &v }

// TestAdminPagingWithChanges walks organisation keys and projects forwards
// and backwards over more than three pages, inserting and revoking between
// pages: every item present for the whole walk is seen exactly once, items
// revoked before they were reached are not seen, and the order holds.
func TestAdminPagingWithChanges(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	ctx := t.Context()
	a := srv.Admin(srv.OwnerKey)
	for i := range 14 {
		srv.AddOrgKey(srv.OrgID, fmt.Sprintf("k%02d", i), spotzee.OrgRoleMember)
	}
	all, err := a.ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Sort: ptrTo("id"), Limit: ptrTo(100)})
	require.NoError(t, err)
	require.Len(t, all.Results, 15)
	var ids []int64
	for _, k := range all.Results {
		ids = append(ids, k.ID)
	}

	for _, backward := range []bool{false, true} {
		t.Run(fmt.Sprintf("keys backward=%v", backward), func(t *testing.T) {
			// Not parallel: the subtests change the same organisation.
			page, err := a.ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Sort: ptrTo("id"), Limit: ptrTo(4)})
			require.NoError(t, err)
			if backward {
				// Go to the end first, then walk back.
				for page.NextCursor.IsSpecified() && !page.NextCursor.IsNull() {
					page, err = a.ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Sort: ptrTo("id"), Limit: ptrTo(4), Cursor: ptrTo(page.NextCursor.MustGet())})
					require.NoError(t, err)
				}
			}
			live, err := a.ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Sort: ptrTo("id"), Limit: ptrTo(100)})
			require.NoError(t, err)
			var liveIDs []int64
			for _, k := range live.Results {
				liveIDs = append(liveIDs, k.ID)
			}
			seen := map[int64]int{}
			var order []int64
			var revokedAhead []int64
			pages := 0
			for {
				pages++
				results := slices.Clone(page.Results)
				if backward {
					slices.Reverse(results)
				}
				for _, k := range results {
					seen[k.ID]++
					order = append(order, k.ID)
				}
				// Between pages: revoke one key not reached yet (never the
				// owner) and insert one (behind a forward walk's end? no:
				// ids grow, so ahead of it; a backward walk never sees it).
				if pages == 2 {
					var ahead int64
					for _, id := range liveIDs {
						if seen[id] == 0 && id != liveIDs[0] {
							ahead = id
							if !backward {
								break
							}
						}
					}
					if backward {
						for _, id := range liveIDs {
							if seen[id] == 0 && id != liveIDs[0] {
								ahead = id // the first unseen: reached last
								break
							}
						}
					}
					require.NotZero(t, ahead)
					_, err := a.RevokeKey(ctx, ahead)
					require.NoError(t, err)
					revokedAhead = append(revokedAhead, ahead)
					srv.AddOrgKey(srv.OrgID, "inserted", spotzee.OrgRoleMember)
				}
				cursor := page.NextCursor
				dir := client.PageDirectionNext
				if backward {
					cursor, dir = page.PrevCursor, client.PageDirectionPrev
				}
				if !cursor.IsSpecified() || cursor.IsNull() {
					break
				}
				page, err = a.ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Sort: ptrTo("id"), Limit: ptrTo(4),
					Cursor: ptrTo(cursor.MustGet()), Page: &dir})
				require.NoError(t, err)
			}
			assert.Greater(t, pages, 3)
			for _, id := range liveIDs {
				if slices.Contains(revokedAhead, id) {
					assert.Zero(t, seen[id], "revoked before reached: %d", id)
					continue
				}
				assert.Equal(t, 1, seen[id], "key %d seen once", id)
			}
			for id, n := range seen {
				assert.Equal(t, 1, n, "key %d", id)
			}
			sorted := slices.Clone(order)
			if backward {
				slices.Reverse(sorted)
			}
			assert.True(t, slices.IsSorted(sorted), "in id order: %v", order)
		})
	}

	// Projects: more than three pages forwards with inserts, then the
	// whole list backwards.
	for i := range 11 {
		_, err := a.CreateProject(ctx, client.OrgProjectCreate{Name: fmt.Sprintf("p%02d", i), Locale: "en", Timezone: "UTC"})
		require.NoError(t, err)
	}
	params := &client.ListProjectsParams{Sort: ptrTo("name"), Limit: ptrTo(3)}
	var names []string
	for p, err := range a.AllProjects(ctx, params) {
		require.NoError(t, err)
		names = append(names, p.Name)
		if len(names) == 4 {
			_, err := a.CreateProject(ctx, client.OrgProjectCreate{Name: "zz late", Locale: "en", Timezone: "UTC"})
			require.NoError(t, err)
		}
	}
	assert.Len(t, names, 13, "Default project, p00..p10 and the late one")
	assert.True(t, slices.IsSortedFunc(names, func(x, y string) int { return compareFold(x, y) }), "%v", names)
	assert.Equal(t, "zz late", names[len(names)-1], "inserted ahead of the walk: seen")

	// Backwards from a cursor at the end.
	page, err := a.ListProjects(ctx, &client.ListProjectsParams{Sort: ptrTo("name"), Limit: ptrTo(3)})
	require.NoError(t, err)
	for page.NextCursor.IsSpecified() && !page.NextCursor.IsNull() {
		page, err = a.ListProjects(ctx, &client.ListProjectsParams{Sort: ptrTo("name"), Limit: ptrTo(3), Cursor: ptrTo(page.NextCursor.MustGet())})
		require.NoError(t, err)
	}
	back := []string{}
	for i := len(page.Results) - 1; i >= 0; i-- {
		back = append(back, page.Results[i].Name)
	}
	pages := 1
	for page.PrevCursor.IsSpecified() && !page.PrevCursor.IsNull() {
		prev := client.PageDirectionPrev
		page, err = a.ListProjects(ctx, &client.ListProjectsParams{Sort: ptrTo("name"), Limit: ptrTo(3),
			Cursor: ptrTo(page.PrevCursor.MustGet()), Page: &prev})
		require.NoError(t, err)
		pages++
		for i := len(page.Results) - 1; i >= 0; i-- {
			back = append(back, page.Results[i].Name)
		}
	}
	assert.Greater(t, pages, 3)
	slices.Reverse(back)
	assert.Equal(t, names, back)

	// The key iterators agree with a single page.
	var iterIDs []int64
	for k, err := range a.AllKeys(ctx, &client.ListOrganizationAPIKeysParams{Sort: ptrTo("id"), Limit: ptrTo(2)}) {
		require.NoError(t, err)
		iterIDs = append(iterIDs, k.ID)
	}
	one, err := a.ListKeys(ctx, &client.ListOrganizationAPIKeysParams{Sort: ptrTo("id"), Limit: ptrTo(100)})
	require.NoError(t, err)
	require.Len(t, iterIDs, len(one.Results))
	var errs []error
	for k, err := range a.AllKeysBackward(ctx, "", nil) {
		_ = k
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.Error(t, errs[0], "a backward walk needs a cursor")
}

// compareFold orders names as the server does (ASCII case folded).
func compareFold(x, y string) int {
	lower := func(s string) []byte {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return b
	}
	return slices.Compare(lower(x), lower(y))
}
