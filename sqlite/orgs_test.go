package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

func newOrg(t *testing.T, db *sqlite.DB, username string) spotzee.Organization {
	t.Helper()
	o, err := db.CreateOrganization(context.Background(), username, nil, t0)
	require.NoError(t, err)
	return o
}

func newOrgKey(t *testing.T, db *sqlite.DB, orgID int64, name string, role spotzee.OrgRole, at time.Time) (spotzee.OrgKey, string) {
	t.Helper()
	value := newValue("ok_")
	k, err := db.CreateOrgKey(context.Background(), 0, spotzee.NewOrgKey{OrganizationID: orgID, Name: name, Role: role,
		Last4: value[len(value)-4:], Hash: hashOf(value), CreatedAt: at}, nil)
	require.NoError(t, err)
	return k, value
}

func TestOrganizations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	domain := "acme.example"
	o, err := db.CreateOrganization(ctx, "acme", &domain, t0)
	require.NoError(t, err)
	assert.Equal(t, spotzee.Organization{ID: o.ID, Username: "acme", Domain: &domain, CreatedAt: t0.UTC(), UpdatedAt: t0.UTC()}, o)
	got, err := db.Organization(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, o, got)
	_, err = db.CreateOrganization(ctx, "acme", nil, t0)
	requireCode(t, spotzee.CodeResourceAlreadyExists, err)
	_, err = db.Organization(ctx, o.ID+1)
	requireCode(t, spotzee.CodeResourceMissing, err)
}

func TestOrgKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	a, b := newOrg(t, db, "a"), newOrg(t, db, "b")
	owner, value := newOrgKey(t, db, a.ID, "owner", spotzee.OrgRoleOwner, t0)
	assert.Equal(t, "ok_****"+value[len(value)-4:], owner.MaskedValue())

	byHash, err := db.OrgKeyByHash(ctx, hashOf(value))
	require.NoError(t, err)
	assert.Equal(t, owner, byHash)
	_, err = db.OrgKeyByHash(ctx, hashOf("ok_nothing"))
	requireCode(t, spotzee.CodeResourceMissing, err)

	// Isolation: a key of a is not there in b.
	_, err = db.OrgKey(ctx, b.ID, owner.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateOrgKey(ctx, 0, b.ID, owner.ID, spotzee.OrgKeyUpdate{Name: ptr("x")}, nil, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.RevokeOrgKey(ctx, 0, b.ID, owner.ID, nil, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)

	// The last owner: neither demoted nor revoked.
	_, err = db.UpdateOrgKey(ctx, 0, a.ID, owner.ID, spotzee.OrgKeyUpdate{Role: ptr(spotzee.OrgRoleAdmin)}, nil, t0)
	requireCode(t, spotzee.CodeStateConflict, err)
	_, err = db.RevokeOrgKey(ctx, 0, a.ID, owner.ID, nil, t0)
	requireCode(t, spotzee.CodeStateConflict, err)

	// A guard sees the caller and the target inside the write, and its
	// error aborts it.
	admin, _ := newOrgKey(t, db, a.ID, "admin", spotzee.OrgRoleAdmin, t0)
	refused := spotzee.Errorf(spotzee.CodePermissionDenied, "no")
	var seen [2]spotzee.OrgKey
	_, err = db.UpdateOrgKey(ctx, admin.ID, a.ID, owner.ID, spotzee.OrgKeyUpdate{Name: ptr("renamed")},
		func(c, target spotzee.OrgKey) error { seen = [2]spotzee.OrgKey{c, target}; return refused }, t0.Add(time.Second))
	requireCode(t, spotzee.CodePermissionDenied, err)
	assert.Equal(t, [2]spotzee.OrgKey{admin, owner}, seen)
	unchanged, err := db.OrgKey(ctx, a.ID, owner.ID)
	require.NoError(t, err)
	assert.Equal(t, "owner", unchanged.Name)

	// Update, then revoke; a revoked caller is authentication_required.
	later := t0.Add(time.Minute)
	upd, err := db.UpdateOrgKey(ctx, owner.ID, a.ID, admin.ID, spotzee.OrgKeyUpdate{Name: ptr("ops"), SetDescription: true,
		Description: ptr("d"), Role: ptr(spotzee.OrgRoleMember)}, nil, later)
	require.NoError(t, err)
	assert.Equal(t, "ops", upd.Name)
	assert.Equal(t, ptr("d"), upd.Description)
	assert.Equal(t, spotzee.OrgRoleMember, upd.Role)
	assert.Equal(t, later.UTC(), upd.UpdatedAt)
	rev, err := db.RevokeOrgKey(ctx, owner.ID, a.ID, admin.ID, nil, later)
	require.NoError(t, err)
	require.NotNil(t, rev.RevokedAt)
	_, err = db.OrgKey(ctx, a.ID, admin.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateOrgKey(ctx, admin.ID, a.ID, owner.ID, spotzee.OrgKeyUpdate{Name: ptr("x")}, nil, later)
	requireCode(t, spotzee.CodeAuthenticationRequired, err)
	_, err = db.CreateOrgKey(ctx, admin.ID, spotzee.NewOrgKey{OrganizationID: a.ID, Name: "x", Role: spotzee.OrgRoleMember,
		Last4: "abcd", Hash: hashOf("ok_x"), CreatedAt: later}, nil)
	requireCode(t, spotzee.CodeAuthenticationRequired, err)
	_, err = db.CreateOrgKey(ctx, 0, spotzee.NewOrgKey{OrganizationID: 999, Name: "x", Role: spotzee.OrgRoleMember,
		Last4: "abcd", Hash: hashOf("ok_y"), CreatedAt: later}, nil)
	requireCode(t, spotzee.CodeResourceMissing, err)
}

// TestOrgListsPageWithChanges pages forwards and backwards over more than
// three pages of organisation keys and of projects, inserting and removing
// between pages: every item present throughout is seen exactly once, in
// order.
func TestOrgListsPageWithChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	o, other := newOrg(t, db, "o"), newOrg(t, db, "other")
	newOrgKey(t, db, other.ID, "not ours", spotzee.OrgRoleOwner, t0)
	var ids []int64
	for i := range 14 {
		k, _ := newOrgKey(t, db, o.ID, fmt.Sprintf("key %02d", i), spotzee.OrgRoleMember, t0.Add(time.Duration(i)*time.Second))
		ids = append(ids, k.ID)
	}
	// Forwards by id: 4 per page; revoke one ahead and insert one between pages.
	var seen []int64
	q := spotzee.OrgListQuery{OrganizationID: o.ID, Sort: spotzee.SortID, Limit: 4}
	pages := 0
	for {
		page, err := db.ListOrgKeys(ctx, q)
		require.NoError(t, err)
		pages++
		for _, k := range page.Keys {
			seen = append(seen, k.ID)
			assert.Equal(t, o.ID, k.OrganizationID)
		}
		if pages == 2 {
			_, err := db.RevokeOrgKey(ctx, 0, o.ID, ids[12], nil, t0) // ahead: never seen
			require.NoError(t, err)
			newOrgKey(t, db, o.ID, "late", spotzee.OrgRoleMember, t0) // ahead too (ids grow)
		}
		if !page.HasNext {
			break
		}
		last := page.Keys[len(page.Keys)-1]
		q.After = &spotzee.Position{ID: last.ID}
	}
	assert.GreaterOrEqual(t, pages, 4)
	want := append(append([]int64{}, ids[:12]...), ids[13])
	assert.Equal(t, want, seen[:13])
	assert.Len(t, seen, 14, "the late key is seen once")

	// Backwards from the end by name descending... via Before.
	q = spotzee.OrgListQuery{OrganizationID: o.ID, Sort: spotzee.SortName, Limit: 4, Before: &spotzee.Position{Value: "zzz", ID: 1 << 62}}
	var back []string
	for {
		page, err := db.ListOrgKeys(ctx, q)
		require.NoError(t, err)
		for i := len(page.Keys) - 1; i >= 0; i-- {
			back = append(back, page.Keys[i].Name)
		}
		if !page.HasPrev {
			break
		}
		first := page.Keys[0]
		q.Before = &spotzee.Position{Value: first.Name, ID: first.ID}
	}
	assert.Len(t, back, 14)
	assert.Equal(t, "late", back[0])
	assert.Equal(t, "key 00", back[13])

	// Projects: the same mechanics, no revocation; other organisations' never listed.
	for i := range 13 {
		_, err := db.CreateOrgProject(ctx, 0, spotzee.NewOrgProject{OrganizationID: o.ID, Name: fmt.Sprintf("p%02d", i), Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0.Add(time.Duration(i) * time.Second)}, nil)
		require.NoError(t, err)
	}
	_, err := db.CreateOrgProject(ctx, 0, spotzee.NewOrgProject{OrganizationID: other.ID, Name: "theirs", Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0}, nil)
	require.NoError(t, err)
	pq := spotzee.OrgListQuery{OrganizationID: o.ID, Sort: spotzee.SortCreatedAt, Desc: true, Limit: 3}
	var names []string
	pages = 0
	for {
		page, err := db.ListProjects(ctx, pq)
		require.NoError(t, err)
		assert.Equal(t, 13, page.Total)
		pages++
		for _, p := range page.Projects {
			names = append(names, p.Name)
		}
		if !page.HasNext {
			break
		}
		pos := page.Projects[len(page.Projects)-1].PositionOf(spotzee.SortCreatedAt)
		pq.After = &pos
	}
	assert.Equal(t, 5, pages)
	assert.Len(t, names, 13)
	assert.Equal(t, "p12", names[0])
	assert.NotContains(t, names, "theirs")
}

func TestOrgProjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	a, b := newOrg(t, db, "a"), newOrg(t, db, "b")
	yes := true
	p, err := db.CreateOrgProject(ctx, 0, spotzee.NewOrgProject{OrganizationID: a.ID, Name: "P", Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en-GB", Timezone: "Europe/London",
		Description: ptr("d"), LinkWrapEmail: &yes, DeeplinkMirrorURL: ptr("https://l.example")}, CreatedAt: t0}, nil)
	require.NoError(t, err)
	assert.Equal(t, a.ID, p.OrganizationID)
	got, err := db.Project(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got)
	_, err = db.OrgProject(ctx, b.ID, p.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateOrgProject(ctx, 0, b.ID, p.ID, spotzee.ProjectUpdate{Name: ptr("x")}, nil, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)
	later := t0.Add(time.Hour)
	no := false
	upd, err := db.UpdateOrgProject(ctx, 0, a.ID, p.ID, spotzee.ProjectUpdate{Name: ptr("Q"), SetDescription: true,
		SetLinkWrapPush: true, LinkWrapPush: &no, Timezone: ptr("UTC")}, nil, later)
	require.NoError(t, err)
	assert.Equal(t, "Q", upd.Name)
	assert.Nil(t, upd.Description)
	assert.Equal(t, &no, upd.LinkWrapPush)
	assert.Equal(t, &yes, upd.LinkWrapEmail)
	assert.Equal(t, "UTC", upd.Timezone)
	assert.Equal(t, "en-GB", upd.Locale)
	assert.Equal(t, later.UTC(), upd.UpdatedAt)
	assert.Equal(t, t0.UTC(), upd.CreatedAt)
	_, err = db.CreateOrgProject(ctx, 0, spotzee.NewOrgProject{OrganizationID: 999, Name: "x", Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0}, nil)
	requireCode(t, spotzee.CodeResourceMissing, err)
}

// TestNoOrgKeyValueOnDisk: an organisation key's value is never in the
// database file or its WAL, only its hash.
func TestNoOrgKeyValueOnDisk(t *testing.T) {
	t.Parallel()
	db, path := openFile(t)
	o := newOrg(t, db, "acme")
	var values []string
	for i := range 5 {
		_, v := newOrgKey(t, db, o.ID, fmt.Sprintf("k%d", i), spotzee.OrgRoleOwner, t0)
		values = append(values, v)
	}
	check := func(when string) {
		var disk []byte
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(path + suffix)
			if err == nil {
				disk = append(disk, b...)
			}
		}
		for i, v := range values {
			assert.False(t, bytes.Contains(disk, []byte(strings.TrimPrefix(v, "ok_"))), "%s: value %d on disk", when, i)
			assert.True(t, bytes.Contains(disk, hashOf(v)), "%s: hash %d not on disk", when, i)
		}
	}
	check("open")
	require.NoError(t, db.Close())
	check("closed")
}
