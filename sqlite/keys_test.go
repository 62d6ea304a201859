package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

func TestProjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)

	p, err := db.CreateProject(ctx, "Acme", spotzee.TierProfessional, t0)
	require.NoError(t, err)
	assert.Positive(t, p.ID)
	assert.Equal(t, spotzee.Project{ID: p.ID, Name: "Acme", Tier: spotzee.TierProfessional, CreatedAt: t0.UTC()}, p)

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

			got, err := db.UpdateKey(ctx, p.ID, orig.ID, tt.update, later)
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
		_, err := db.UpdateKey(ctx, p.ID, 999, u, t0)
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

	revoked, err := db.RevokeKey(ctx, p.ID, k.ID, at)
	require.NoError(t, err)
	want := k
	want.RevokedAt, want.UpdatedAt = ptr(at.UTC()), at.UTC()
	assert.Equal(t, want, revoked)

	// Gone for every read but bearer lookup.
	_, err = db.Key(ctx, p.ID, k.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.RevokeKey(ctx, p.ID, k.ID, at.Add(time.Minute))
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateKey(ctx, p.ID, k.ID, spotzee.KeyUpdate{Name: ptr("zombie")}, at)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateKey(ctx, p.ID, k.ID, spotzee.KeyUpdate{}, at)
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

	_, err := db.RevokeKey(ctx, p.ID, sys.ID, t0.Add(time.Hour))
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

			got, err := db.UpdateKey(ctx, p.ID, sys.ID, tt.update, t0.Add(time.Hour))
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
				_, err := db.UpdateKey(ctx, mine.ID, k.ID, spotzee.KeyUpdate{Name: ptr("hijacked")}, t0.Add(time.Hour))
				return err
			},
			"empty UpdateKey": func() error {
				_, err := db.UpdateKey(ctx, mine.ID, k.ID, spotzee.KeyUpdate{}, t0.Add(time.Hour))
				return err
			},
			"RevokeKey": func() error { _, err := db.RevokeKey(ctx, mine.ID, k.ID, t0.Add(time.Hour)); return err },
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

	_, err = db.RevokeKey(ctx, p.ID, k.ID, t0.Add(time.Second))
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
	_, err := db.RevokeKey(ctx, p.ID, ks[0].ID, t0)
	require.NoError(t, err)

	n, err := db.CountKeys(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = db.CountKeys(ctx, other.ID+1)
	require.NoError(t, err)
	assert.Zero(t, n)
}
