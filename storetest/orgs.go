package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

func newOrg(t *testing.T, db DB, username string) spotzee.Organization {
	t.Helper()
	o, err := db.CreateOrganization(ctx(), username, nil, t0)
	require.NoError(t, err)
	return o
}

func newOrgKey(orgID int64, name string, role spotzee.OrgRole) spotzee.NewOrgKey {
	v := newValue("ok_")
	return spotzee.NewOrgKey{OrganizationID: orgID, Name: name, Role: role, Last4: v[len(v)-4:], Hash: hashOf(v), CreatedAt: t0}
}

func mustOrgKey(t *testing.T, db DB, k spotzee.NewOrgKey) spotzee.OrgKey {
	t.Helper()
	got, err := db.CreateOrgKey(ctx(), 0, k, nil)
	require.NoError(t, err)
	return got
}

func testOrganizations(t *testing.T, db DB) {
	d := "acme.example"
	o, err := db.CreateOrganization(ctx(), "acme", &d, t0)
	require.NoError(t, err)
	assert.Positive(t, o.ID)
	got, err := db.Organization(ctx(), o.ID)
	require.NoError(t, err)
	assert.Equal(t, o, got)
	require.NotNil(t, got.Domain)
	assert.True(t, got.CreatedAt.Equal(t0) && got.UpdatedAt.Equal(t0))

	_, err = db.CreateOrganization(ctx(), "acme", nil, t0)
	requireCode(t, spotzee.CodeResourceAlreadyExists, err)
	var e *spotzee.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "username", e.Param)
	_, err = db.Organization(ctx(), o.ID+1000)
	requireCode(t, spotzee.CodeResourceMissing, err)

	// CreateProject puts projects in organisation 1, creating it if missing.
	p, err := db.CreateProject(ctx(), "Legacy", spotzee.TierStarter, t0)
	require.NoError(t, err)
	assert.EqualValues(t, 1, p.OrganizationID)
	assert.Equal(t, "en", p.Locale)
	assert.Equal(t, "UTC", p.Timezone)
	assert.True(t, p.UpdatedAt.Equal(t0))
	next, err := db.CreateOrganization(ctx(), "after", nil, t0)
	require.NoError(t, err, "ids go on after organisation 1")
	assert.NotEqual(t, int64(1), next.ID)
}

func testOrgKeys(t *testing.T, db DB) {
	o := newOrg(t, db, "keys")
	other := newOrg(t, db, "other")
	owner := mustOrgKey(t, db, newOrgKey(o.ID, "owner", spotzee.OrgRoleOwner))
	nk := newOrgKey(o.ID, "member", spotzee.OrgRoleMember)
	d := "a member"
	nk.Description = &d
	member := mustOrgKey(t, db, nk)
	assert.Equal(t, "ok_****"+nk.Last4, member.MaskedValue())
	require.NotNil(t, member.Description)

	byHash, err := db.OrgKeyByHash(ctx(), nk.Hash)
	require.NoError(t, err)
	assert.Equal(t, member, byHash)
	got, err := db.OrgKey(ctx(), o.ID, member.ID)
	require.NoError(t, err)
	assert.Equal(t, member, got)
	_, err = db.OrgKey(ctx(), other.ID, member.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)

	dup := newOrgKey(o.ID, "dup", spotzee.OrgRoleMember)
	dup.Hash = nk.Hash
	_, err = db.CreateOrgKey(ctx(), 0, dup, nil)
	requireCode(t, spotzee.CodeResourceAlreadyExists, err)
	_, err = db.CreateOrgKey(ctx(), 0, newOrgKey(o.ID+1000, "orphan", spotzee.OrgRoleMember), nil)
	requireCode(t, spotzee.CodeResourceMissing, err)

	// The guard sees the caller and the target as they are in the write.
	var seen [2]spotzee.OrgKey
	guard := func(caller, target spotzee.OrgKey) error { seen = [2]spotzee.OrgKey{caller, target}; return nil }
	later := t0.Add(time.Minute)
	up, err := db.UpdateOrgKey(ctx(), owner.ID, o.ID, member.ID,
		spotzee.OrgKeyUpdate{Name: ptr("renamed"), SetDescription: true, Role: ptr(spotzee.OrgRoleAdmin)}, guard, later)
	require.NoError(t, err)
	assert.Equal(t, owner.ID, seen[0].ID)
	assert.Equal(t, member.ID, seen[1].ID)
	assert.Equal(t, "renamed", up.Name)
	assert.Nil(t, up.Description)
	assert.Equal(t, spotzee.OrgRoleAdmin, up.Role)
	assert.True(t, up.UpdatedAt.Equal(later))
	refused := errors.New("refused by guard")
	_, err = db.UpdateOrgKey(ctx(), owner.ID, o.ID, member.ID, spotzee.OrgKeyUpdate{Name: ptr("x")},
		func(spotzee.OrgKey, spotzee.OrgKey) error { return refused }, later)
	require.ErrorIs(t, err, refused)
	same, err := db.UpdateOrgKey(ctx(), 0, o.ID, member.ID, spotzee.OrgKeyUpdate{}, nil, later.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, up, same, "an empty update changes nothing")

	// The last owner key can be neither demoted nor revoked.
	_, err = db.UpdateOrgKey(ctx(), 0, o.ID, owner.ID, spotzee.OrgKeyUpdate{Role: ptr(spotzee.OrgRoleAdmin)}, nil, later)
	requireCode(t, spotzee.CodeStateConflict, err)
	var e *spotzee.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "role", e.Param)
	_, err = db.RevokeOrgKey(ctx(), 0, o.ID, owner.ID, nil, later)
	requireCode(t, spotzee.CodeStateConflict, err)

	// Revoking deletes the key's idempotency records (stored under -id).
	_, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: -member.ID, Key: "k", ExpiresAt: later.Add(time.Hour)}, later)
	require.NoError(t, err)
	require.True(t, ok)
	r, err := db.RevokeOrgKey(ctx(), owner.ID, o.ID, member.ID, nil, later)
	require.NoError(t, err)
	require.NotNil(t, r.RevokedAt)
	n, err := db.IdempotencyRecords(ctx())
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = db.OrgKey(ctx(), o.ID, member.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	byHash, err = db.OrgKeyByHash(ctx(), nk.Hash)
	require.NoError(t, err)
	assert.NotNil(t, byHash.RevokedAt)

	// A revoked caller is refused inside the write.
	_, err = db.CreateOrgKey(ctx(), member.ID, newOrgKey(o.ID, "by revoked", spotzee.OrgRoleMember), nil)
	requireCode(t, spotzee.CodeAuthenticationRequired, err)
	_, err = db.UpdateOrgKey(ctx(), member.ID, o.ID, owner.ID, spotzee.OrgKeyUpdate{Name: ptr("x")}, nil, later)
	requireCode(t, spotzee.CodeAuthenticationRequired, err)
}

func testOrgKeyList(t *testing.T, db DB) {
	o := newOrg(t, db, "list")
	var want []int64
	for i, name := range []string{"beta", "Alpha", "gamma", "Delta", "epsilon"} {
		k := newOrgKey(o.ID, name, spotzee.OrgRoleMember)
		k.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		want = append(want, mustOrgKey(t, db, k).ID)
	}
	gone := mustOrgKey(t, db, newOrgKey(o.ID, "revoked", spotzee.OrgRoleMember))
	_, err := db.RevokeOrgKey(ctx(), 0, o.ID, gone.ID, nil, t0)
	require.NoError(t, err)
	// By name, case-insensitively: Alpha beta Delta epsilon gamma.
	byName := []int64{want[1], want[0], want[3], want[4], want[2]}
	var got []int64
	q := spotzee.OrgListQuery{OrganizationID: o.ID, Sort: spotzee.SortName, Limit: 2}
	for range 10 {
		page, err := db.ListOrgKeys(ctx(), q)
		require.NoError(t, err)
		assert.Equal(t, 5, page.Total)
		for _, k := range page.Keys {
			got = append(got, k.ID)
		}
		if !page.HasNext {
			break
		}
		pos := page.Keys[len(page.Keys)-1].PositionOf(spotzee.SortName)
		q.After = &pos
	}
	assert.Equal(t, byName, got)
	page, err := db.ListOrgKeys(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID, Query: "ALPH"})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Total)
	desc, err := db.ListOrgKeys(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID, Sort: spotzee.SortCreatedAt, Desc: true, Limit: 1})
	require.NoError(t, err)
	require.Len(t, desc.Keys, 1)
	assert.Equal(t, want[4], desc.Keys[0].ID)
	assert.True(t, desc.HasNext)
}

func testOrgProjects(t *testing.T, db DB) {
	o := newOrg(t, db, "projects")
	other := newOrg(t, db, "elsewhere")
	web, yes := "https://example.com", true
	p, err := db.CreateOrgProject(ctx(), 0, spotzee.NewOrgProject{OrganizationID: o.ID, Name: "Shop", Tier: spotzee.TierProfessional, ProjectSettings: spotzee.ProjectSettings{Locale: "fr", Timezone: "Europe/Paris", WebsiteURL: &web, LinkWrapEmail: &yes}, CreatedAt: t0}, nil)
	require.NoError(t, err)
	assert.Equal(t, o.ID, p.OrganizationID)
	assert.Equal(t, spotzee.TierProfessional, p.Tier)
	got, err := db.OrgProject(ctx(), o.ID, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got)
	require.NotNil(t, got.LinkWrapEmail)
	assert.True(t, *got.LinkWrapEmail)
	assert.Nil(t, got.LinkWrapPush)
	viaStore, err := db.Project(ctx(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, viaStore)
	_, err = db.OrgProject(ctx(), other.ID, p.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.CreateOrgProject(ctx(), 0, spotzee.NewOrgProject{OrganizationID: o.ID + 1000, Name: "x", Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0}, nil)
	requireCode(t, spotzee.CodeResourceMissing, err)

	later := t0.Add(time.Minute)
	no, d := false, "Cafés"
	up, err := db.UpdateOrgProject(ctx(), 0, o.ID, p.ID, spotzee.ProjectUpdate{
		Name: ptr("Shop 2"), SetWebsiteURL: true, SetLinkWrapEmail: true, SetLinkWrapPush: true, LinkWrapPush: &no,
		SetDescription: true, Description: &d,
	}, nil, later)
	require.NoError(t, err)
	assert.Equal(t, "Shop 2", up.Name)
	assert.Nil(t, up.WebsiteURL)
	assert.Nil(t, up.LinkWrapEmail)
	require.NotNil(t, up.LinkWrapPush)
	assert.False(t, *up.LinkWrapPush)
	assert.Equal(t, "fr", up.Locale)
	assert.True(t, up.UpdatedAt.Equal(later))
	_, err = db.UpdateOrgProject(ctx(), 0, other.ID, p.ID, spotzee.ProjectUpdate{Name: ptr("x")}, nil, later)
	requireCode(t, spotzee.CodeResourceMissing, err)

	for i := range 3 {
		_, err := db.CreateOrgProject(ctx(), 0, spotzee.NewOrgProject{OrganizationID: o.ID, Name: fmt.Sprintf("extra %d", i), Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0}, nil)
		require.NoError(t, err)
	}
	page, err := db.ListProjects(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID, Sort: spotzee.SortID, Limit: 3})
	require.NoError(t, err)
	assert.Equal(t, 4, page.Total)
	assert.Len(t, page.Projects, 3)
	assert.True(t, page.HasNext)
	found, err := db.ListProjects(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID, Query: "CAFÉ"})
	require.NoError(t, err)
	require.Len(t, found.Projects, 1, "the text filter covers the description, case-insensitively")
	assert.Equal(t, p.ID, found.Projects[0].ID)
}

func testConcurrentLastOwner(t *testing.T, db DB) { concurrentLastOwner(t, []DB{db}) }

// concurrentLastOwner: of an organisation's two owner keys revoking each
// other at once, exactly one succeeds, and an owner key stays.
func concurrentLastOwner(t *testing.T, dbs []DB) {
	db := dbs[0]
	for round := range 5 {
		o := newOrg(t, db, fmt.Sprintf("owners-%d", round))
		a := mustOrgKey(t, db, newOrgKey(o.ID, "a", spotzee.OrgRoleOwner))
		b := mustOrgKey(t, db, newOrgKey(o.ID, "b", spotzee.OrgRoleOwner))
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i, pair := range [][2]int64{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Go(func() {
				_, err := dbs[i%len(dbs)].RevokeOrgKey(ctx(), pair[0], o.ID, pair[1], nil, t0)
				if err == nil {
					ok.Add(1)
					return
				}
				assert.Contains(t, []spotzee.Code{spotzee.CodeAuthenticationRequired, spotzee.CodeStateConflict},
					spotzee.ErrorCode(err), "round %d: %v", round, err)
			})
		}
		wg.Wait()
		assert.EqualValues(t, 1, ok.Load(), "round %d", round)
		page, err := db.ListOrgKeys(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID})
		require.NoError(t, err)
		assert.Equal(t, 1, page.Total)
	}
}

// testCreateOrgKeyFinishesIdempotency checks NewOrgKey.Finish as
// testCreateKeyFinishesIdempotency checks NewKey.Finish. Organisation keys
// keep their records under their negated id, as the HTTP layer does.
func testCreateOrgKeyFinishesIdempotency(t *testing.T, db DB) {
	o := newOrg(t, db, "acme")
	owner := mustOrgKey(t, db, newOrgKey(o.ID, "owner", spotzee.OrgRoleOwner))
	principal := -owner.ID
	now := t0.Add(time.Minute)
	_, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: principal, Key: "ok",
		RequestHash: []byte("h"), ExpiresAt: now.Add(time.Hour)}, now)
	require.NoError(t, err)
	require.True(t, ok)

	nk := newOrgKey(o.ID, "finished", spotzee.OrgRoleMember)
	var seen spotzee.OrgKey
	nk.Finish = &spotzee.IdempotencyFinish[spotzee.OrgKey]{APIKeyID: principal, Key: "ok", Begun: now, Response: func(k spotzee.OrgKey) ([]byte, error) {
		seen = k
		return []byte(fmt.Sprintf("sealed %d", k.ID)), nil
	}}
	k, err := db.CreateOrgKey(ctx(), owner.ID, nk, nil)
	require.NoError(t, err)
	assert.Equal(t, k, seen, "the response is built from the written row")
	rec, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: principal, Key: "ok", ExpiresAt: now.Add(time.Hour)}, now)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.True(t, rec.Done)
	assert.Equal(t, []byte(fmt.Sprintf("sealed %d", k.ID)), rec.Response)

	// No running record (never begun, or already finished): no key.
	for _, key := range []string{"never-begun", "ok"} {
		orphan := newOrgKey(o.ID, "orphan", spotzee.OrgRoleMember)
		orphan.Finish = &spotzee.IdempotencyFinish[spotzee.OrgKey]{APIKeyID: principal, Key: key, Begun: now, Response: func(spotzee.OrgKey) ([]byte, error) {
			return []byte("sealed"), nil
		}}
		_, err = db.CreateOrgKey(ctx(), owner.ID, orphan, nil)
		requireCode(t, spotzee.CodeIdempotencyInProgress, err)
		_, err = db.OrgKeyByHash(ctx(), orphan.Hash)
		requireCode(t, spotzee.CodeResourceMissing, err)
	}
	// The response cannot be built: no key.
	bad := newOrgKey(o.ID, "unsealed", spotzee.OrgRoleMember)
	bad.Finish = &spotzee.IdempotencyFinish[spotzee.OrgKey]{APIKeyID: principal, Key: "ok", Begun: now, Response: func(spotzee.OrgKey) ([]byte, error) {
		return nil, fmt.Errorf("seal failed")
	}}
	_, err = db.CreateOrgKey(ctx(), owner.ID, bad, nil)
	require.Error(t, err)
	_, err = db.OrgKeyByHash(ctx(), bad.Hash)
	requireCode(t, spotzee.CodeResourceMissing, err)
}
