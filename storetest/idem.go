package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// idemRecords begins and reads the idempotency records of one principal.
type idemRecords struct {
	t         *testing.T
	db        DB
	principal int64
	now       time.Time
}

// begin begins the record key at r.now, which must be new, and returns it.
func (r idemRecords) begin(key string) spotzee.IdempotencyRecord {
	r.t.Helper()
	rec, ok, err := r.db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: r.principal, Key: key,
		RequestHash: []byte("h"), ExpiresAt: r.now.Add(time.Hour)}, r.now)
	require.NoError(r.t, err)
	require.True(r.t, ok, "record %s is new", key)
	return rec
}

// get returns the live record key, which must exist.
func (r idemRecords) get(key string) spotzee.IdempotencyRecord {
	r.t.Helper()
	rec, ok, err := r.db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: r.principal, Key: key,
		RequestHash: []byte("h"), ExpiresAt: r.now.Add(time.Hour)}, r.now)
	require.NoError(r.t, err)
	require.False(r.t, ok, "record %s exists", key)
	return rec
}

// finishOf returns the in-transaction finish of record key begun at begun,
// whose response is resp(row), or err when err is not nil.
func finishOf[Row any](principal int64, key string, begun time.Time, resp func(Row) string, err error) *spotzee.IdempotencyFinish[Row] {
	return &spotzee.IdempotencyFinish[Row]{APIKeyID: principal, Key: key, Begun: begun, Response: func(r Row) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		return []byte(resp(r)), nil
	}}
}

var errSeal = errors.New("seal failed")

// testUpdateOrgKeyFinishesIdempotency checks OrgKeyUpdate.Finish: the
// update (or, for an empty update, the key as it is) and the finished record
// commit together, and a failure of either leaves neither.
func testUpdateOrgKeyFinishesIdempotency(t *testing.T, db DB) {
	o := newOrg(t, db, "acme")
	owner := mustOrgKey(t, db, newOrgKey(o.ID, "owner", spotzee.OrgRoleOwner))
	target := mustOrgKey(t, db, newOrgKey(o.ID, "target", spotzee.OrgRoleMember))
	recs := idemRecords{t: t, db: db, principal: -owner.ID, now: t0.Add(time.Minute)}
	name := func(k spotzee.OrgKey) string { return k.Name }
	finish := func(key string, begun time.Time, err error) *spotzee.IdempotencyFinish[spotzee.OrgKey] {
		return finishOf(recs.principal, key, begun, name, err)
	}
	later := recs.now.Add(time.Second)

	tests := []struct {
		name     string
		u        spotzee.OrgKeyUpdate
		key      string
		begin    bool // begin the record before the update
		stale    bool // finish with another begin time than the record's
		sealErr  error
		wantCode spotzee.Code // "" for success; the update then commits
		wantName string       // the key's name afterwards
	}{
		{name: "rename", u: spotzee.OrgKeyUpdate{Name: ptr("renamed")}, key: "rename", begin: true, wantName: "renamed"},
		{name: "empty update", u: spotzee.OrgKeyUpdate{}, key: "empty", begin: true, wantName: "renamed"},
		{name: "response fails", u: spotzee.OrgKeyUpdate{Name: ptr("unsealed")}, key: "fails", begin: true, sealErr: errSeal,
			wantCode: spotzee.CodeInternalError, wantName: "renamed"},
		{name: "never begun", u: spotzee.OrgKeyUpdate{Name: ptr("lost")}, key: "never-begun",
			wantCode: spotzee.CodeIdempotencyInProgress, wantName: "renamed"},
		{name: "already finished", u: spotzee.OrgKeyUpdate{Name: ptr("lost")}, key: "rename",
			wantCode: spotzee.CodeIdempotencyInProgress, wantName: "renamed"},
		{name: "another begin", u: spotzee.OrgKeyUpdate{Name: ptr("lost")}, key: "other", begin: true, stale: true,
			wantCode: spotzee.CodeIdempotencyInProgress, wantName: "renamed"},
	}
	for _, tt := range tests {
		begun := recs.now
		if tt.begin {
			begun = recs.begin(tt.key).CreatedAt
		}
		if tt.stale {
			begun = begun.Add(-time.Second)
		}
		u := tt.u
		u.Finish = finish(tt.key, begun, tt.sealErr)
		k, err := db.UpdateOrgKey(ctx(), owner.ID, o.ID, target.ID, u, nil, later)
		got, gerr := db.OrgKey(ctx(), o.ID, target.ID)
		require.NoError(t, gerr)
		assert.Equal(t, tt.wantName, got.Name, tt.name)
		switch {
		case tt.wantCode == "":
			require.NoError(t, err, tt.name)
			assert.Equal(t, got, k, tt.name)
			rec := recs.get(tt.key)
			assert.True(t, rec.Done, tt.name)
			assert.Equal(t, []byte(tt.wantName), rec.Response, "%s: the response is built from the row as written", tt.name)
		case tt.wantCode == spotzee.CodeInternalError:
			require.ErrorIs(t, err, errSeal, tt.name)
			assert.False(t, recs.get(tt.key).Done, "%s: the record stays running, for the HTTP layer to abandon", tt.name)
		default:
			requireCode(t, tt.wantCode, err)
			if tt.begin {
				assert.False(t, recs.get(tt.key).Done, "%s: the record is not finished", tt.name)
			}
		}
	}
	// A missing key: the record stays running.
	begun := recs.begin("missing").CreatedAt
	_, err := db.UpdateOrgKey(ctx(), owner.ID, o.ID, target.ID+1000, spotzee.OrgKeyUpdate{Name: ptr("x"),
		Finish: finish("missing", begun, nil)}, nil, later)
	requireCode(t, spotzee.CodeResourceMissing, err)
	assert.False(t, recs.get("missing").Done)
}

// testOrgProjectFinishesIdempotency checks NewOrgProject.Finish and
// ProjectUpdate.Finish: the project (created, updated, or as it is for an
// empty update) and the finished record commit together, and a failure of
// either leaves neither.
func testOrgProjectFinishesIdempotency(t *testing.T, db DB) {
	o := newOrg(t, db, "acme")
	owner := mustOrgKey(t, db, newOrgKey(o.ID, "owner", spotzee.OrgRoleOwner))
	recs := idemRecords{t: t, db: db, principal: -owner.ID, now: t0.Add(time.Minute)}
	name := func(p spotzee.Project) string { return fmt.Sprintf("%d %s", p.ID, p.Name) }
	finish := func(key string, begun time.Time, err error) *spotzee.IdempotencyFinish[spotzee.Project] {
		return finishOf(recs.principal, key, begun, name, err)
	}
	newProject := func(n string, f *spotzee.IdempotencyFinish[spotzee.Project]) spotzee.NewOrgProject {
		return spotzee.NewOrgProject{OrganizationID: o.ID, Name: n, Tier: spotzee.TierStarter,
			ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: recs.now, Finish: f}
	}
	count := func() int {
		t.Helper()
		page, err := db.ListProjects(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID})
		require.NoError(t, err)
		return page.Total
	}

	// Create: success.
	begun := recs.begin("create").CreatedAt
	p, err := db.CreateOrgProject(ctx(), owner.ID, newProject("Shop", finish("create", begun, nil)), nil)
	require.NoError(t, err)
	rec := recs.get("create")
	assert.True(t, rec.Done)
	assert.Equal(t, []byte(name(p)), rec.Response, "the response is built from the written row")
	got, err := db.OrgProject(ctx(), o.ID, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got)

	// Create: failures leave no project.
	creates := []struct {
		name    string
		key     string
		begin   bool
		stale   bool
		sealErr error
		want    spotzee.Code
	}{
		{name: "response fails", key: "create-fails", begin: true, sealErr: errSeal},
		{name: "never begun", key: "create-never", want: spotzee.CodeIdempotencyInProgress},
		{name: "already finished", key: "create", want: spotzee.CodeIdempotencyInProgress},
		{name: "another begin", key: "create-other", begin: true, stale: true, want: spotzee.CodeIdempotencyInProgress},
	}
	for _, tt := range creates {
		begun := recs.now
		if tt.begin {
			begun = recs.begin(tt.key).CreatedAt
		}
		if tt.stale {
			begun = begun.Add(time.Nanosecond)
		}
		_, err := db.CreateOrgProject(ctx(), owner.ID, newProject("lost", finish(tt.key, begun, tt.sealErr)), nil)
		if tt.sealErr != nil {
			require.ErrorIs(t, err, tt.sealErr, tt.name)
		} else {
			requireCode(t, tt.want, err)
		}
		assert.Equal(t, 1, count(), "%s: no project", tt.name)
		if tt.begin {
			assert.False(t, recs.get(tt.key).Done, "%s: the record is not finished", tt.name)
		}
	}

	// Update: success, and an empty update finishes its record too.
	later := recs.now.Add(time.Second)
	begun = recs.begin("rename").CreatedAt
	up, err := db.UpdateOrgProject(ctx(), owner.ID, o.ID, p.ID, spotzee.ProjectUpdate{Name: ptr("Shop 2"),
		Finish: finish("rename", begun, nil)}, nil, later)
	require.NoError(t, err)
	assert.Equal(t, "Shop 2", up.Name)
	assert.True(t, up.UpdatedAt.Equal(later))
	rec = recs.get("rename")
	assert.True(t, rec.Done)
	assert.Equal(t, []byte(name(up)), rec.Response)

	begun = recs.begin("empty").CreatedAt
	same, err := db.UpdateOrgProject(ctx(), owner.ID, o.ID, p.ID, spotzee.ProjectUpdate{Finish: finish("empty", begun, nil)},
		nil, later.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, up, same, "an empty update changes nothing")
	rec = recs.get("empty")
	assert.True(t, rec.Done)
	assert.Equal(t, []byte(name(up)), rec.Response)

	// Update: failures change nothing.
	for _, tt := range creates {
		key := "update-" + tt.key
		begun := recs.now
		if tt.begin {
			begun = recs.begin(key).CreatedAt
		}
		if tt.stale {
			begun = begun.Add(time.Nanosecond)
		}
		if tt.key == "create" {
			key = "rename" // finished
		}
		for _, u := range []spotzee.ProjectUpdate{{Name: ptr("lost")}, {}} {
			u.Finish = finish(key, begun, tt.sealErr)
			_, err := db.UpdateOrgProject(ctx(), owner.ID, o.ID, p.ID, u, nil, later.Add(time.Minute))
			if tt.sealErr != nil {
				require.ErrorIs(t, err, tt.sealErr, tt.name)
			} else {
				requireCode(t, tt.want, err)
			}
			got, err := db.OrgProject(ctx(), o.ID, p.ID)
			require.NoError(t, err)
			assert.Equal(t, up, got, "%s: the project is unchanged", tt.name)
			if tt.begin {
				assert.False(t, recs.get(key).Done, "%s: the record is not finished", tt.name)
			}
		}
	}
	// A missing project: the record stays running.
	begun = recs.begin("missing").CreatedAt
	_, err = db.UpdateOrgProject(ctx(), owner.ID, o.ID, p.ID+1000, spotzee.ProjectUpdate{Name: ptr("x"),
		Finish: finish("missing", begun, nil)}, nil, later)
	requireCode(t, spotzee.CodeResourceMissing, err)
	assert.False(t, recs.get("missing").Done)
}

// testIdempotencyTakeover: request A begins a record and stalls past the
// lease; retry B takes the record over. A can then neither finish it (in its
// write's transaction: the write rolls back; or after it) nor abandon it,
// and B finishes it normally.
func testIdempotencyTakeover(t *testing.T, db DB) {
	p := newProject(t, db)
	caller := mustKey(t, db, newKey(p.ID, "admin", role(spotzee.RoleAdmin)))
	target := mustKey(t, db, newKey(p.ID, "target"))
	o := newOrg(t, db, "acme")
	owner := mustOrgKey(t, db, newOrgKey(o.ID, "owner", spotzee.OrgRoleOwner))
	other := mustOrgKey(t, db, newOrgKey(o.ID, "other", spotzee.OrgRoleMember))
	proj, err := db.CreateOrgProject(ctx(), 0, spotzee.NewOrgProject{OrganizationID: o.ID, Name: "Shop",
		Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0}, nil)
	require.NoError(t, err)
	const hashA, hashB = "request A", "request B"

	// write makes one idempotent write for the record (principal, key)
	// begun at begun, named name, and reports whether it is visible.
	type write func(principal int64, key, name string, begun time.Time) (visible func() bool, err error)
	keyResp := func(k spotzee.APIKey) string { return k.Name }
	orgResp := func(k spotzee.OrgKey) string { return k.Name }
	projResp := func(p spotzee.Project) string { return p.Name }
	tests := []struct {
		name      string
		principal int64
		write     write
	}{
		{"project key create", caller.ID, func(pr int64, key, name string, begun time.Time) (func() bool, error) {
			nk := newKey(p.ID, name)
			nk.Finish = finishOf(pr, key, begun, keyResp, nil)
			_, err := db.CreateKey(ctx(), nk)
			return func() bool { _, err := db.KeyByHash(ctx(), nk.Hash); return err == nil }, err
		}},
		{"project key update", caller.ID, func(pr int64, key, name string, begun time.Time) (func() bool, error) {
			_, err := db.UpdateKey(ctx(), caller.ID, p.ID, target.ID, spotzee.KeyUpdate{Name: &name,
				Finish: finishOf(pr, key, begun, keyResp, nil)}, t0)
			return func() bool { k, err := db.Key(ctx(), p.ID, target.ID); return err == nil && k.Name == name }, err
		}},
		{"org key create", -owner.ID, func(pr int64, key, name string, begun time.Time) (func() bool, error) {
			nk := newOrgKey(o.ID, name, spotzee.OrgRoleMember)
			nk.Finish = finishOf(pr, key, begun, orgResp, nil)
			_, err := db.CreateOrgKey(ctx(), owner.ID, nk, nil)
			return func() bool { _, err := db.OrgKeyByHash(ctx(), nk.Hash); return err == nil }, err
		}},
		{"org key update", -owner.ID, func(pr int64, key, name string, begun time.Time) (func() bool, error) {
			_, err := db.UpdateOrgKey(ctx(), owner.ID, o.ID, other.ID, spotzee.OrgKeyUpdate{Name: &name,
				Finish: finishOf(pr, key, begun, orgResp, nil)}, nil, t0)
			return func() bool { k, err := db.OrgKey(ctx(), o.ID, other.ID); return err == nil && k.Name == name }, err
		}},
		{"project create", -owner.ID, func(pr int64, key, name string, begun time.Time) (func() bool, error) {
			_, err := db.CreateOrgProject(ctx(), owner.ID, spotzee.NewOrgProject{OrganizationID: o.ID, Name: name,
				Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"},
				CreatedAt: t0, Finish: finishOf(pr, key, begun, projResp, nil)}, nil)
			return func() bool {
				page, err := db.ListProjects(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID, Query: name})
				return err == nil && page.Total > 0
			}, err
		}},
		{"project update", -owner.ID, func(pr int64, key, name string, begun time.Time) (func() bool, error) {
			_, err := db.UpdateOrgProject(ctx(), owner.ID, o.ID, proj.ID, spotzee.ProjectUpdate{Name: &name,
				Finish: finishOf(pr, key, begun, projResp, nil)}, nil, t0)
			return func() bool { p, err := db.OrgProject(ctx(), o.ID, proj.ID); return err == nil && p.Name == name }, err
		}},
	}
	for i, tt := range tests {
		key := fmt.Sprintf("takeover-%d", i)
		begin := func(hash string, now time.Time) (spotzee.IdempotencyRecord, bool) {
			t.Helper()
			rec, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: tt.principal, Key: key,
				RequestHash: []byte(hash), ExpiresAt: now.Add(time.Hour)}, now)
			require.NoError(t, err)
			return rec, ok
		}
		nowA := t0.Add(time.Duration(i) * time.Hour)
		a, ok := begin(hashA, nowA)
		require.True(t, ok, tt.name)
		nowB := nowA.Add(spotzee.IdempotencyLease)
		b, ok := begin(hashB, nowB)
		require.True(t, ok, "%s: B takes over A's record after the lease", tt.name)
		require.False(t, a.CreatedAt.Equal(b.CreatedAt), tt.name)

		// A's write, finishing in its transaction: refused, rolled back.
		nameA := fmt.Sprintf("by-a-%d", i)
		visible, err := tt.write(tt.principal, key, nameA, a.CreatedAt)
		requireCode(t, spotzee.CodeIdempotencyInProgress, err)
		assert.False(t, visible(), "%s: A's write is rolled back", tt.name)
		// A finishing or abandoning after its write: B's record stays.
		requireCode(t, spotzee.CodeResourceMissing, db.FinishIdempotent(ctx(), tt.principal, key, a.CreatedAt, []byte("A")))
		require.NoError(t, db.AbandonIdempotent(ctx(), tt.principal, key, a.CreatedAt))
		held, ok := begin("request C", nowB)
		require.False(t, ok, "%s: B's record is still there", tt.name)
		assert.False(t, held.Done, tt.name)
		assert.Equal(t, []byte(hashB), held.RequestHash, tt.name)

		// B finishes normally.
		nameB := fmt.Sprintf("by-b-%d", i)
		visible, err = tt.write(tt.principal, key, nameB, b.CreatedAt)
		require.NoError(t, err, tt.name)
		assert.True(t, visible(), "%s: B's write committed", tt.name)
		done, _ := begin(hashB, nowB)
		assert.True(t, done.Done, tt.name)
		assert.Equal(t, []byte(nameB), done.Response, tt.name)
	}

	// The same without an in-transaction finish: A's FinishIdempotent is
	// refused, and A's abandon leaves B's record, which B finishes.
	a, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: caller.ID, Key: "plain", ExpiresAt: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)
	require.True(t, ok)
	b, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: caller.ID, Key: "plain", ExpiresAt: t0.Add(2 * time.Hour)},
		t0.Add(spotzee.IdempotencyLease+time.Second))
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, db.AbandonIdempotent(ctx(), caller.ID, "plain", a.CreatedAt))
	requireCode(t, spotzee.CodeResourceMissing, db.FinishIdempotent(ctx(), caller.ID, "plain", a.CreatedAt, []byte("A")))
	require.NoError(t, db.FinishIdempotent(ctx(), caller.ID, "plain", b.CreatedAt, []byte("B")))
	got, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: caller.ID, Key: "plain", ExpiresAt: t0.Add(2 * time.Hour)},
		t0.Add(spotzee.IdempotencyLease+time.Second))
	require.NoError(t, err)
	require.False(t, ok)
	assert.True(t, got.Done)
	assert.Equal(t, []byte("B"), got.Response)
}

// testOrgProjectCallerRecheck: project create and update re-read the
// calling organisation key inside the write, so a caller revoked after the
// service authenticated it is refused with authentication_required, and a
// demoted one with the guard's error; nothing is written either way.
func testOrgProjectCallerRecheck(t *testing.T, db DB) {
	o := newOrg(t, db, "acme")
	owner := mustOrgKey(t, db, newOrgKey(o.ID, "owner", spotzee.OrgRoleOwner))
	proj, err := db.CreateOrgProject(ctx(), 0, spotzee.NewOrgProject{OrganizationID: o.ID, Name: "Shop",
		Tier: spotzee.TierStarter, ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0}, nil)
	require.NoError(t, err)
	demoted := errors.New("not an admin")
	var seen []spotzee.OrgKey
	guard := func(caller, target spotzee.OrgKey) error {
		seen = append(seen, caller)
		assert.Zero(t, target, "a project write has no target key")
		if !caller.Role.AtLeast(spotzee.OrgRoleAdmin) {
			return demoted
		}
		return nil
	}
	count := func() int {
		t.Helper()
		page, err := db.ListProjects(ctx(), spotzee.OrgListQuery{OrganizationID: o.ID})
		require.NoError(t, err)
		return page.Total
	}
	newProject := func(name string) spotzee.NewOrgProject {
		return spotzee.NewOrgProject{OrganizationID: o.ID, Name: name, Tier: spotzee.TierStarter,
			ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0}
	}

	// A live admin: accepted, the guard seeing it as it is in the write.
	admin := mustOrgKey(t, db, newOrgKey(o.ID, "admin", spotzee.OrgRoleAdmin))
	_, err = db.CreateOrgProject(ctx(), admin.ID, newProject("by admin"), guard)
	require.NoError(t, err)
	_, err = db.UpdateOrgProject(ctx(), admin.ID, o.ID, proj.ID, spotzee.ProjectUpdate{Name: ptr("Shop 2")}, guard, t0)
	require.NoError(t, err)
	require.Len(t, seen, 2)
	assert.Equal(t, admin, seen[0])
	before := count()

	// The service authenticated these callers; then, before the write:
	revoked := mustOrgKey(t, db, newOrgKey(o.ID, "revoked", spotzee.OrgRoleAdmin))
	_, err = db.RevokeOrgKey(ctx(), owner.ID, o.ID, revoked.ID, nil, t0)
	require.NoError(t, err)
	demotedKey := mustOrgKey(t, db, newOrgKey(o.ID, "demoted", spotzee.OrgRoleAdmin))
	_, err = db.UpdateOrgKey(ctx(), owner.ID, o.ID, demotedKey.ID, spotzee.OrgKeyUpdate{Role: ptr(spotzee.OrgRoleMember)}, nil, t0)
	require.NoError(t, err)
	elsewhere := newOrg(t, db, "elsewhere")
	foreign := mustOrgKey(t, db, newOrgKey(elsewhere.ID, "foreign", spotzee.OrgRoleOwner))

	tests := []struct {
		name   string
		caller int64
		code   spotzee.Code
		err    error
	}{
		{"revoked", revoked.ID, spotzee.CodeAuthenticationRequired, nil},
		{"of another organisation", foreign.ID, spotzee.CodeAuthenticationRequired, nil},
		{"demoted", demotedKey.ID, "", demoted},
	}
	for _, tt := range tests {
		check := func(err error) {
			t.Helper()
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err, tt.name)
			} else {
				requireCode(t, tt.code, err)
			}
		}
		_, err := db.CreateOrgProject(ctx(), tt.caller, newProject("by "+tt.name), guard)
		check(err)
		assert.Equal(t, before, count(), "%s: no project created", tt.name)
		for _, u := range []spotzee.ProjectUpdate{{Name: ptr("lost")}, {}} {
			_, err = db.UpdateOrgProject(ctx(), tt.caller, o.ID, proj.ID, u, guard, t0.Add(time.Hour))
			check(err)
		}
		got, err := db.OrgProject(ctx(), o.ID, proj.ID)
		require.NoError(t, err)
		assert.Equal(t, "Shop 2", got.Name, "%s: the project is unchanged", tt.name)
		assert.True(t, got.UpdatedAt.Equal(t0), tt.name)
	}
}
