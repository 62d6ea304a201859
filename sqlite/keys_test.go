package sqlite_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

func TestProjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)

	p, err := db.CreateProject(ctx, "Acme", spotzee.TierProfessional, t0)
	require.NoError(t, err)
	assert.Positive(t, p.ID)
	assert.Equal(t, spotzee.Project{ID: p.ID, OrganizationID: 1, Name: "Acme", Tier: spotzee.TierProfessional,
		ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: t0.UTC(), UpdatedAt: t0.UTC()}, p,
		"in the default organisation, created with it")

	got, err := db.Project(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got)

	require.NoError(t, db.SetProjectTier(ctx, p.ID, spotzee.TierEnterprise))
	got, err = db.Project(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, spotzee.TierEnterprise, got.Tier)

	_, err = db.Project(ctx, p.ID+1)
	requireCode(t, spotzee.CodeResourceMissing, err)
	requireCode(t, spotzee.CodeResourceMissing, db.SetProjectTier(ctx, p.ID+1, spotzee.TierStarter))
}

func TestCreateAndGetKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)

	tests := []struct {
		name string
		edit func(*spotzee.NewKey)
	}{
		{"secret admin, no description", nil},
		{"public with description", func(k *spotzee.NewKey) {
			k.Scope, k.Role, k.ValuePrefix, k.Description = spotzee.ScopePublic, spotzee.RoleSupport, "pk_", ptr("Browser key")
		}},
		{"system key", func(k *spotzee.NewKey) { k.IsSystem = true }},
		{"empty description is not NULL", func(k *spotzee.NewKey) { k.Description = ptr("") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, _ := newKeyInput(p.ID, tt.name, t0)
			if tt.edit != nil {
				tt.edit(&in)
			}
			k, err := db.CreateKey(ctx, in)
			require.NoError(t, err)
			want := spotzee.APIKey{
				ID: k.ID, ProjectID: p.ID, Name: in.Name, Description: in.Description,
				Scope: in.Scope, Role: in.Role, ValuePrefix: in.ValuePrefix, Last4: in.Last4,
				IsSystem: in.IsSystem, CreatedAt: t0.UTC(), UpdatedAt: t0.UTC(),
			}
			assert.Equal(t, want, k)

			got, err := db.Key(ctx, p.ID, k.ID)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, time.UTC, got.CreatedAt.Location())

			byHash, err := db.KeyByHash(ctx, in.Hash)
			require.NoError(t, err)
			assert.Equal(t, want, byHash)
		})
	}
}

func TestCreateKeyErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	existing, _ := newKeyInput(p.ID, "first", t0)
	_, err := db.CreateKey(ctx, existing)
	require.NoError(t, err)

	tests := []struct {
		name string
		edit func(*spotzee.NewKey)
		want spotzee.Code
	}{
		{"unknown project", func(k *spotzee.NewKey) { k.ProjectID = p.ID + 100 }, spotzee.CodeResourceMissing},
		{"duplicate hash", func(k *spotzee.NewKey) { k.Hash = existing.Hash }, spotzee.CodeResourceAlreadyExists},
		{"hash is not a SHA-256", func(k *spotzee.NewKey) { k.Hash = []byte("sk_live_full_value_here") }, spotzee.CodeInternalError},
		{"last4 longer than four", func(k *spotzee.NewKey) { k.Last4 = "12345" }, spotzee.CodeInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { // not parallel: the count below follows
			in, _ := newKeyInput(p.ID, tt.name, t0)
			tt.edit(&in)
			_, err := db.CreateKey(ctx, in)
			requireCode(t, tt.want, err)
		})
	}
	n, err := db.CountKeys(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestUpdateKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	later := t0.Add(time.Hour)
	tests := []struct {
		name   string
		update spotzee.KeyUpdate
		want   func(*spotzee.APIKey) // edits the original into the expected key
	}{
		{"name only", spotzee.KeyUpdate{Name: ptr("renamed")},
			func(k *spotzee.APIKey) { k.Name = "renamed"; k.UpdatedAt = later.UTC() }},
		{"scope and role", spotzee.KeyUpdate{Scope: ptr(spotzee.ScopePublic), Role: ptr(spotzee.RoleEditor)},
			func(k *spotzee.APIKey) {
				k.Scope, k.Role, k.UpdatedAt = spotzee.ScopePublic, spotzee.RoleEditor, later.UTC()
			}},
		{"set description", spotzee.KeyUpdate{SetDescription: true, Description: ptr("new text")},
			func(k *spotzee.APIKey) { k.Description = ptr("new text"); k.UpdatedAt = later.UTC() }},
		{"clear description to NULL", spotzee.KeyUpdate{SetDescription: true},
			func(k *spotzee.APIKey) { k.Description = nil; k.UpdatedAt = later.UTC() }},
		{"description given but not set is ignored", spotzee.KeyUpdate{Name: ptr("x"), Description: ptr("ignored")},
			func(k *spotzee.APIKey) { k.Name = "x"; k.UpdatedAt = later.UTC() }},
		{"empty update changes nothing, not even updated_at", spotzee.KeyUpdate{},
			func(*spotzee.APIKey) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openMem(t)
			p := newProject(t, db)
			orig := newKey(t, db, p.ID, "original", t0, func(k *spotzee.NewKey) { k.Description = ptr("old text") })

			got, err := db.UpdateKey(ctx, 0, p.ID, orig.ID, tt.update, later)
			require.NoError(t, err)
			want := orig
			tt.want(&want)
			assert.Equal(t, want, got)

			stored, err := db.Key(ctx, p.ID, orig.ID)
			require.NoError(t, err)
			assert.Equal(t, want, stored)
		})
	}
}

func TestUpdateKeyMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	for _, u := range []spotzee.KeyUpdate{{Name: ptr("x")}, {}} {
		_, err := db.UpdateKey(ctx, 0, p.ID, 999, u, t0)
		requireCode(t, spotzee.CodeResourceMissing, err)
	}
}

func TestRevokeKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	in, _ := newKeyInput(p.ID, "doomed", t0)
	k, err := db.CreateKey(ctx, in)
	require.NoError(t, err)
	at := t0.Add(time.Minute)

	revoked, err := db.RevokeKey(ctx, 0, p.ID, k.ID, at)
	require.NoError(t, err)
	want := k
	want.RevokedAt, want.UpdatedAt = ptr(at.UTC()), at.UTC()
	assert.Equal(t, want, revoked)

	// Gone for every read but bearer lookup.
	_, err = db.Key(ctx, p.ID, k.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.RevokeKey(ctx, 0, p.ID, k.ID, at.Add(time.Minute))
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateKey(ctx, 0, p.ID, k.ID, spotzee.KeyUpdate{Name: ptr("zombie")}, at)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateKey(ctx, 0, p.ID, k.ID, spotzee.KeyUpdate{}, at)
	requireCode(t, spotzee.CodeResourceMissing, err)
	n, err := db.CountKeys(ctx, p.ID)
	require.NoError(t, err)
	assert.Zero(t, n)

	byHash, err := db.KeyByHash(ctx, in.Hash)
	require.NoError(t, err)
	assert.Equal(t, want, byHash, "the second revoke must not have moved revoked_at")
}

func TestRevokeSystemKeyRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	sys := newKey(t, db, p.ID, "system", t0, func(k *spotzee.NewKey) { k.IsSystem = true })

	_, err := db.RevokeKey(ctx, 0, p.ID, sys.ID, t0.Add(time.Hour))
	requireCode(t, spotzee.CodeStateConflict, err)

	got, err := db.Key(ctx, p.ID, sys.ID)
	require.NoError(t, err)
	assert.Equal(t, sys, got, "a refused revoke changes nothing")
}

func TestUpdateSystemKey(t *testing.T) {
	t.Parallel()
	admin, smtp := spotzee.RoleAdmin, spotzee.RoleSMTPProxy
	public, secret := spotzee.ScopePublic, spotzee.ScopeSecret
	tests := []struct {
		name      string
		update    spotzee.KeyUpdate
		wantErr   bool
		wantParam string
	}{
		{name: "role", update: spotzee.KeyUpdate{Role: &admin}, wantErr: true, wantParam: "role"},
		{name: "scope", update: spotzee.KeyUpdate{Scope: &public}, wantErr: true, wantParam: "scope"},
		{name: "name with role", update: spotzee.KeyUpdate{Name: ptr("x"), Role: &admin}, wantErr: true, wantParam: "role"},
		{name: "name", update: spotzee.KeyUpdate{Name: ptr("Relay")}},
		{name: "description", update: spotzee.KeyUpdate{SetDescription: true, Description: ptr("the relay")}},
		{name: "same role and scope", update: spotzee.KeyUpdate{Role: &smtp, Scope: &secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openMem(t)
			p := newProject(t, db)
			sys := newKey(t, db, p.ID, "system", t0, func(k *spotzee.NewKey) {
				k.IsSystem, k.Role, k.Scope = true, spotzee.RoleSMTPProxy, spotzee.ScopeSecret
			})

			got, err := db.UpdateKey(ctx, 0, p.ID, sys.ID, tt.update, t0.Add(time.Hour))
			if !tt.wantErr {
				require.NoError(t, err)
				assert.Equal(t, spotzee.RoleSMTPProxy, got.Role)
				assert.Equal(t, spotzee.ScopeSecret, got.Scope)
				return
			}
			requireCode(t, spotzee.CodeStateConflict, err)
			var e *spotzee.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.wantParam, e.Param)
			after, err := db.Key(ctx, p.ID, sys.ID)
			require.NoError(t, err)
			assert.Equal(t, sys, after, "a refused update changes nothing")
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	mine := newProject(t, db)
	theirs := newProject(t, db)
	their := newKey(t, db, theirs.ID, "theirs", t0, nil)
	theirSystem := newKey(t, db, theirs.ID, "their system", t0, func(k *spotzee.NewKey) { k.IsSystem = true })

	for _, k := range []spotzee.APIKey{their, theirSystem} {
		ops := map[string]func() error{
			"Key": func() error { _, err := db.Key(ctx, mine.ID, k.ID); return err },
			"UpdateKey": func() error {
				_, err := db.UpdateKey(ctx, 0, mine.ID, k.ID, spotzee.KeyUpdate{Name: ptr("hijacked")}, t0.Add(time.Hour))
				return err
			},
			"empty UpdateKey": func() error {
				_, err := db.UpdateKey(ctx, 0, mine.ID, k.ID, spotzee.KeyUpdate{}, t0.Add(time.Hour))
				return err
			},
			"RevokeKey": func() error { _, err := db.RevokeKey(ctx, 0, mine.ID, k.ID, t0.Add(time.Hour)); return err },
		}
		for name, op := range ops {
			err := op()
			requireCode(t, spotzee.CodeResourceMissing, err)
			assert.NotContains(t, err.Error(), "theirs", name)
		}
		got, err := db.Key(ctx, theirs.ID, k.ID)
		require.NoError(t, err)
		assert.Equal(t, k, got, "the other project's key is untouched")
	}

	page, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: mine.ID})
	require.NoError(t, err)
	assert.Empty(t, page.Keys)
	assert.Zero(t, page.Total)
}

func TestKeyByHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	in, value := newKeyInput(p.ID, "bearer", t0)
	k, err := db.CreateKey(ctx, in)
	require.NoError(t, err)

	got, err := db.KeyByHash(ctx, hashOf(value))
	require.NoError(t, err)
	assert.Equal(t, k, got)

	_, err = db.KeyByHash(ctx, hashOf(value+"x"))
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.KeyByHash(ctx, nil)
	requireCode(t, spotzee.CodeResourceMissing, err)

	_, err = db.RevokeKey(ctx, 0, p.ID, k.ID, t0.Add(time.Second))
	require.NoError(t, err)
	got, err = db.KeyByHash(ctx, hashOf(value))
	require.NoError(t, err, "a revoked key is still found, so the caller can tell it apart")
	require.NotNil(t, got.RevokedAt)
	assert.Equal(t, t0.Add(time.Second).UTC(), *got.RevokedAt)
}

func TestCountKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p, other := newProject(t, db), newProject(t, db)
	var ks []spotzee.APIKey
	for range 3 {
		ks = append(ks, newKey(t, db, p.ID, "k", t0, nil))
	}
	newKey(t, db, other.ID, "k", t0, nil)
	_, err := db.RevokeKey(ctx, 0, p.ID, ks[0].ID, t0)
	require.NoError(t, err)

	n, err := db.CountKeys(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = db.CountKeys(ctx, other.ID+1)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestLastAdminKeyIsKept(t *testing.T) {
	t.Parallel()
	editor, public := spotzee.RoleEditor, spotzee.ScopePublic
	admin := func(k *spotzee.NewKey) { k.Role = spotzee.RoleAdmin }
	revoke := func(db *sqlite.DB, p, id int64) error {
		_, err := db.RevokeKey(context.Background(), 0, p, id, t0.Add(time.Hour))
		return err
	}
	update := func(u spotzee.KeyUpdate) func(db *sqlite.DB, p, id int64) error {
		return func(db *sqlite.DB, p, id int64) error {
			_, err := db.UpdateKey(context.Background(), 0, p, id, u, t0.Add(time.Hour))
			return err
		}
	}
	tests := []struct {
		name string
		// others makes the project's other keys.
		others  func(t *testing.T, db *sqlite.DB, p int64)
		change  func(db *sqlite.DB, p, id int64) error
		wantErr bool
	}{
		{"revoke the only admin", nil, revoke, true},
		{"demote the only admin", nil, update(spotzee.KeyUpdate{Role: &editor}), true},
		{"make the only admin public", nil, update(spotzee.KeyUpdate{Scope: &public}), true},
		{"rename the only admin", nil, update(spotzee.KeyUpdate{Name: ptr("still admin")}), false},
		{"revoke with another admin", func(t *testing.T, db *sqlite.DB, p int64) { newKey(t, db, p, "other", t0, admin) }, revoke, false},
		{"demote with another admin", func(t *testing.T, db *sqlite.DB, p int64) { newKey(t, db, p, "other", t0, admin) }, update(spotzee.KeyUpdate{Role: &editor}), false},
		{"a publishable admin key does not count", func(t *testing.T, db *sqlite.DB, p int64) {
			newKey(t, db, p, "pk admin", t0, func(k *spotzee.NewKey) {
				k.Role, k.Scope, k.ValuePrefix = spotzee.RoleAdmin, spotzee.ScopePublic, "pk_"
			})
		}, revoke, true},
		{"an sk_ key made public does not count", func(t *testing.T, db *sqlite.DB, p int64) {
			newKey(t, db, p, "public sk admin", t0, func(k *spotzee.NewKey) { k.Role, k.Scope = spotzee.RoleAdmin, spotzee.ScopePublic })
		}, revoke, true},
		{"a revoked admin key does not count", func(t *testing.T, db *sqlite.DB, p int64) {
			k := newKey(t, db, p, "revoked admin", t0, admin)
			other := newKey(t, db, p, "spare", t0, admin)
			_, err := db.RevokeKey(context.Background(), 0, p, k.ID, t0)
			require.NoError(t, err)
			_, err = db.RevokeKey(context.Background(), 0, p, other.ID, t0)
			require.NoError(t, err)
		}, revoke, true},
		{"an admin key of another project does not count", func(t *testing.T, db *sqlite.DB, _ int64) {
			newKey(t, db, newProject(t, db).ID, "their admin", t0, admin)
		}, revoke, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openMem(t)
			p := newProject(t, db)
			last := newKey(t, db, p.ID, "last admin", t0, admin)
			if tt.others != nil {
				tt.others(t, db, p.ID)
			}
			err := tt.change(db, p.ID, last.ID)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireCode(t, spotzee.CodeStateConflict, err)
			assert.Contains(t, err.Error(), "last admin")
			got, err := db.Key(ctx, p.ID, last.ID)
			require.NoError(t, err)
			assert.Equal(t, last, got, "a refused change changes nothing")
		})
	}
}

func TestWritesRecheckTheCaller(t *testing.T) {
	t.Parallel()
	editor, public := spotzee.RoleEditor, spotzee.ScopePublic
	admin := func(k *spotzee.NewKey) { k.Role = spotzee.RoleAdmin }
	tests := []struct {
		name string
		// meanwhile changes the caller after it authenticated.
		meanwhile func(db *sqlite.DB, p, caller int64) error
		want      spotzee.Code // "" for a write that goes through
	}{
		{"caller unchanged", func(*sqlite.DB, int64, int64) error { return nil }, ""},
		{"caller revoked", func(db *sqlite.DB, p, caller int64) error {
			_, err := db.RevokeKey(context.Background(), 0, p, caller, t0)
			return err
		}, spotzee.CodeAuthenticationRequired},
		{"caller demoted", func(db *sqlite.DB, p, caller int64) error {
			_, err := db.UpdateKey(context.Background(), 0, p, caller, spotzee.KeyUpdate{Role: &editor}, t0)
			return err
		}, spotzee.CodePermissionDenied},
		{"caller made public", func(db *sqlite.DB, p, caller int64) error {
			_, err := db.UpdateKey(context.Background(), 0, p, caller, spotzee.KeyUpdate{Scope: &public}, t0)
			return err
		}, spotzee.CodeAuthenticationRequired},
	}
	writes := map[string]func(db *sqlite.DB, caller, p, target int64) error{
		"create": func(db *sqlite.DB, caller, p, _ int64) error {
			in, _ := newKeyInput(p, "made by the caller", t0)
			in.CallerID = caller
			_, err := db.CreateKey(context.Background(), in)
			return err
		},
		"update": func(db *sqlite.DB, caller, p, target int64) error {
			_, err := db.UpdateKey(context.Background(), caller, p, target, spotzee.KeyUpdate{Name: ptr("renamed")}, t0)
			return err
		},
		"revoke": func(db *sqlite.DB, caller, p, target int64) error {
			_, err := db.RevokeKey(context.Background(), caller, p, target, t0)
			return err
		},
	}
	for _, tt := range tests {
		for wname, write := range writes {
			t.Run(tt.name+"/"+wname, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				db := openMem(t)
				p := newProject(t, db)
				newKey(t, db, p.ID, "keeper", t0, admin)
				caller := newKey(t, db, p.ID, "caller", t0, admin)
				target := newKey(t, db, p.ID, "target", t0, nil)
				require.NoError(t, tt.meanwhile(db, p.ID, caller.ID))
				before, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p.ID})
				require.NoError(t, err)

				err = write(db, caller.ID, p.ID, target.ID)
				if tt.want == "" {
					require.NoError(t, err)
					return
				}
				requireCode(t, tt.want, err)
				after, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p.ID})
				require.NoError(t, err)
				assert.Equal(t, before, after, "a refused write changes nothing")
			})
		}
	}

	t.Run("two admins revoking each other at once", func(t *testing.T) {
		t.Parallel()
		for i := range 20 {
			db, _ := openFile(t)
			p := newProject(t, db)
			newKey(t, db, p.ID, "keeper", t0, admin)
			a := newKey(t, db, p.ID, "a", t0, admin)
			b := newKey(t, db, p.ID, "b", t0, admin)
			var errA, errB error
			var wg sync.WaitGroup
			wg.Go(func() { _, errA = db.RevokeKey(context.Background(), a.ID, p.ID, b.ID, t0) })
			wg.Go(func() { _, errB = db.RevokeKey(context.Background(), b.ID, p.ID, a.ID, t0) })
			wg.Wait()
			require.True(t, (errA == nil) != (errB == nil), "round %d: exactly one revoke wins: %v, %v", i, errA, errB)
			if errA != nil {
				requireCode(t, spotzee.CodeAuthenticationRequired, errA)
			} else {
				requireCode(t, spotzee.CodeAuthenticationRequired, errB)
			}
			require.NoError(t, db.Close())
		}
	})
}

func TestCreateKeyQuota(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		live    int // live keys before the create
		revoked int // revoked keys besides, which do not count
		max     int
		wantErr bool
	}{
		{name: "no quota", live: 5, max: 0},
		{name: "below the quota", live: 2, max: 3},
		{name: "at the quota", live: 3, max: 3, wantErr: true},
		{name: "revoked keys do not count", live: 2, revoked: 4, max: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openMem(t)
			p, other := newProject(t, db), newProject(t, db)
			for range tt.live {
				newKey(t, db, p.ID, "live", t0, nil)
			}
			for range tt.revoked {
				k := newKey(t, db, p.ID, "revoked", t0, nil)
				_, err := db.RevokeKey(ctx, 0, p.ID, k.ID, t0)
				require.NoError(t, err)
			}
			newKey(t, db, other.ID, "another project's", t0, nil)

			in, _ := newKeyInput(p.ID, "new", t0)
			in.MaxLiveKeys = tt.max
			_, err := db.CreateKey(ctx, in)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireCode(t, spotzee.CodeQuotaExceeded, err)
			assert.Equal(t, http.StatusPaymentRequired, spotzee.CodeQuotaExceeded.Status())
			n, err := db.CountKeys(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, tt.live, n, "nothing inserted")
		})
	}
}
