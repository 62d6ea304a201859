package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// t0 has nanoseconds and is not UTC, so time round trips are really tested.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+2", 2*3600))

// Run runs the conformance suite against databases made by open, which must
// return a new, empty database for each call (closed by open's own
// t.Cleanup). Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) DB) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, DB)
	}{
		{"Projects", testProjects},
		{"CreateKey", testCreateKey},
		{"CreateKeyQuota", testCreateKeyQuota},
		{"KeyAndTierByHash", testKeyAndTierByHash},
		{"CallerAndKeyByHash", testCallerAndKeyByHash},
		{"CreateKeyFinishesIdempotency", testCreateKeyFinishesIdempotency},
		{"UpdateKeyFinishesIdempotency", testUpdateKeyFinishesIdempotency},
		{"CallerRecheck", testCallerRecheck},
		{"LiveKeyRules", testLiveKeyRules},
		{"UpdateKey", testUpdateKey},
		{"SystemKey", testSystemKey},
		{"LastAdmin", testLastAdmin},
		{"RevokeDeletesIdempotency", testRevokeDeletesIdempotency},
		{"ListPagination", testListPagination},
		{"ListQuery", testListQuery},
		{"ListSearch", testListSearch},
		{"ListEdges", testListEdges},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"Secrets", testSecrets},
		{"ConcurrentMutualRevoke", testConcurrentMutualRevoke},
		{"ConcurrentQuota", testConcurrentQuota},
		{"Organizations", testOrganizations},
		{"OrgKeys", testOrgKeys},
		{"CreateOrgKeyFinishesIdempotency", testCreateOrgKeyFinishesIdempotency},
		{"UpdateOrgKeyFinishesIdempotency", testUpdateOrgKeyFinishesIdempotency},
		{"OrgProjectFinishesIdempotency", testOrgProjectFinishesIdempotency},
		{"IdempotencyTakeover", testIdempotencyTakeover},
		{"OrgProjectCallerRecheck", testOrgProjectCallerRecheck},
		{"OrgKeyList", testOrgKeyList},
		{"OrgProjects", testOrgProjects},
		{"ConcurrentLastOwner", testConcurrentLastOwner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func ctx() context.Context { return context.Background() }

func newValue(prefix string) string { return prefix + rand.Text() + rand.Text() }

func hashOf(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

func newProject(t *testing.T, db DB) spotzee.Project {
	t.Helper()
	p, err := db.CreateProject(ctx(), "Acme", spotzee.TierStarter, t0)
	require.NoError(t, err)
	return p
}

// keyOpts adjusts a NewKey.
type keyOpts func(*spotzee.NewKey)

func newKey(projectID int64, name string, opts ...keyOpts) spotzee.NewKey {
	v := newValue("sk_")
	k := spotzee.NewKey{
		ProjectID: projectID, Name: name, Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin,
		ValuePrefix: "sk_", Last4: v[len(v)-4:], Hash: hashOf(v), CreatedAt: t0,
	}
	for _, o := range opts {
		o(&k)
	}
	return k
}

func role(r spotzee.Role) keyOpts { return func(k *spotzee.NewKey) { k.Role = r } }
func system() keyOpts             { return func(k *spotzee.NewKey) { k.IsSystem = true } }
func at(t time.Time) keyOpts      { return func(k *spotzee.NewKey) { k.CreatedAt = t } }
func desc(s string) keyOpts       { return func(k *spotzee.NewKey) { k.Description = &s } }
func public() keyOpts {
	return func(k *spotzee.NewKey) { k.Scope, k.ValuePrefix = spotzee.ScopePublic, "pk_" }
}

func mustKey(t *testing.T, db DB, k spotzee.NewKey) spotzee.APIKey {
	t.Helper()
	got, err := db.CreateKey(ctx(), k)
	require.NoError(t, err)
	return got
}

func requireCode(t *testing.T, want spotzee.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, spotzee.ErrorCode(err), "error: %v", err)
}

func ptr[T any](v T) *T { return &v }

func testProjects(t *testing.T, db DB) {
	p := newProject(t, db)
	assert.Positive(t, p.ID)
	assert.Equal(t, "Acme", p.Name)
	assert.True(t, p.CreatedAt.Equal(t0))
	got, err := db.Project(ctx(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ID)
	assert.Equal(t, time.UTC, got.CreatedAt.Location())
	assert.True(t, got.CreatedAt.Equal(t0))

	require.NoError(t, db.SetProjectTier(ctx(), p.ID, spotzee.TierEnterprise))
	got, err = db.Project(ctx(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, spotzee.TierEnterprise, got.Tier)

	_, err = db.Project(ctx(), p.ID+1000)
	requireCode(t, spotzee.CodeResourceMissing, err)
	requireCode(t, spotzee.CodeResourceMissing, db.SetProjectTier(ctx(), p.ID+1000, spotzee.TierStarter))
}

func testCreateKey(t *testing.T, db DB) {
	p := newProject(t, db)
	nk := newKey(p.ID, "billing", desc("Billing worker"), role(spotzee.RoleEditor))
	k := mustKey(t, db, nk)
	assert.Positive(t, k.ID)
	assert.Equal(t, nk.Last4, k.Last4)
	assert.Equal(t, "sk_****"+nk.Last4, k.MaskedValue())
	assert.Equal(t, spotzee.RoleEditor, k.Role)
	require.NotNil(t, k.Description)
	assert.Equal(t, "Billing worker", *k.Description)
	assert.True(t, k.CreatedAt.Equal(t0) && k.UpdatedAt.Equal(t0), "times keep nanoseconds")
	assert.Equal(t, time.UTC, k.CreatedAt.Location())
	assert.Nil(t, k.RevokedAt)

	byHash, err := db.KeyByHash(ctx(), nk.Hash)
	require.NoError(t, err)
	assert.Equal(t, k, byHash)
	got, err := db.Key(ctx(), p.ID, k.ID)
	require.NoError(t, err)
	assert.Equal(t, k, got)

	noDesc := mustKey(t, db, newKey(p.ID, "plain"))
	assert.Nil(t, noDesc.Description)

	tests := []struct {
		name string
		k    spotzee.NewKey
		code spotzee.Code // CodeInternalError for a storage error
	}{
		{"duplicate hash", func() spotzee.NewKey { d := newKey(p.ID, "dup"); d.Hash = nk.Hash; return d }(), spotzee.CodeResourceAlreadyExists},
		{"missing project", newKey(p.ID+1000, "orphan"), spotzee.CodeResourceMissing},
		{"short hash", func() spotzee.NewKey { d := newKey(p.ID, "short"); d.Hash = d.Hash[:8]; return d }(), spotzee.CodeInternalError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.CreateKey(ctx(), tc.k)
			require.Error(t, err)
			assert.Equal(t, tc.code, spotzee.ErrorCode(err), "error: %v", err)
		})
	}
	_, err = db.KeyByHash(ctx(), hashOf("sk_nothing"))
	requireCode(t, spotzee.CodeResourceMissing, err)
}

// keyTierReader is keys.KeyTierReader, the one-statement bearer lookup of a
// rate-limited request.
type keyTierReader interface {
	KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error)
}

// testKeyAndTierByHash checks the joined bearer lookup against KeyByHash and
// Project: the same key, revoked or not, the tier as of the last
// SetProjectTier, and resource_missing for an unknown hash.
func testKeyAndTierByHash(t *testing.T, db DB) {
	kt, ok := db.(keyTierReader)
	if !ok {
		t.Skip("the store has no KeyAndTierByHash")
	}
	p := newProject(t, db)
	mustKey(t, db, newKey(p.ID, "admin"))
	nk := newKey(p.ID, "svc", desc("worker"), role(spotzee.RoleEditor))
	k := mustKey(t, db, nk)

	got, tier, err := kt.KeyAndTierByHash(ctx(), nk.Hash)
	require.NoError(t, err)
	assert.Equal(t, k, got)
	assert.Equal(t, p.Tier, tier)

	require.NoError(t, db.SetProjectTier(ctx(), p.ID, spotzee.TierEnterprise))
	_, tier, err = kt.KeyAndTierByHash(ctx(), nk.Hash)
	require.NoError(t, err)
	assert.Equal(t, spotzee.TierEnterprise, tier, "a tier change is read on the next lookup")

	_, err = db.RevokeKey(ctx(), 0, p.ID, k.ID, t0.Add(time.Minute))
	require.NoError(t, err)
	got, _, err = kt.KeyAndTierByHash(ctx(), nk.Hash)
	require.NoError(t, err)
	assert.NotNil(t, got.RevokedAt, "a revoked key is still found, revoked, like KeyByHash")

	_, _, err = kt.KeyAndTierByHash(ctx(), hashOf("sk_nothing"))
	requireCode(t, spotzee.CodeResourceMissing, err)
}

// callerAndKeyReader is keys.CallerAndKeyReader, GET /keys/{id}'s one read.
type callerAndKeyReader interface {
	CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error)
}

// testCallerAndKeyByHash checks the joined read of GET /keys/{id} against
// KeyByHash, Project and Key: only a live key of the caller's own project
// is returned, a revoked caller is returned revoked, an unknown hash is
// resource_missing.
func testCallerAndKeyByHash(t *testing.T, db DB) {
	ck, ok := db.(callerAndKeyReader)
	if !ok {
		t.Skip("the store has no CallerAndKeyByHash")
	}
	p := newProject(t, db)
	nc := newKey(p.ID, "caller")
	caller := mustKey(t, db, nc)
	target := mustKey(t, db, newKey(p.ID, "target", desc("t"), role(spotzee.RoleEditor)))
	p2 := newProject(t, db)
	foreign := mustKey(t, db, newKey(p2.ID, "foreign"))
	require.NoError(t, db.SetProjectTier(ctx(), p.ID, spotzee.TierEnterprise))

	got, err := ck.CallerAndKeyByHash(ctx(), nc.Hash, target.ID)
	require.NoError(t, err)
	assert.Equal(t, caller, got.Caller)
	assert.Equal(t, spotzee.TierEnterprise, got.Tier)
	require.NoError(t, got.KeyErr)
	assert.Equal(t, target, got.Key)

	got, err = ck.CallerAndKeyByHash(ctx(), nc.Hash, caller.ID)
	require.NoError(t, err)
	assert.Equal(t, caller, got.Key, "the caller's own key")

	for _, id := range []int64{foreign.ID, target.ID + 1000} {
		got, err = ck.CallerAndKeyByHash(ctx(), nc.Hash, id)
		require.NoError(t, err)
		assert.Equal(t, caller, got.Caller)
		requireCode(t, spotzee.CodeResourceMissing, got.KeyErr)
		_, want := db.Key(ctx(), p.ID, id)
		assert.Equal(t, want.Error(), got.KeyErr.Error(), "the same error as Key")
	}

	_, err = db.RevokeKey(ctx(), caller.ID, p.ID, target.ID, t0.Add(time.Minute))
	require.NoError(t, err)
	got, err = ck.CallerAndKeyByHash(ctx(), nc.Hash, target.ID)
	require.NoError(t, err)
	requireCode(t, spotzee.CodeResourceMissing, got.KeyErr) // a revoked key is not returned

	mustKey(t, db, newKey(p.ID, "admin2"))
	_, err = db.RevokeKey(ctx(), 0, p.ID, caller.ID, t0.Add(time.Minute))
	require.NoError(t, err)
	got, err = ck.CallerAndKeyByHash(ctx(), nc.Hash, caller.ID)
	require.NoError(t, err)
	assert.NotNil(t, got.Caller.RevokedAt, "a revoked caller is returned revoked, like KeyByHash")

	_, err = ck.CallerAndKeyByHash(ctx(), hashOf("sk_nothing"), target.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
}

func testCreateKeyQuota(t *testing.T, db DB) {
	p := newProject(t, db)
	a := mustKey(t, db, newKey(p.ID, "a"))
	b := mustKey(t, db, newKey(p.ID, "b"))
	_, err := db.CreateKey(ctx(), func() spotzee.NewKey { k := newKey(p.ID, "c"); k.MaxLiveKeys = 2; return k }())
	requireCode(t, spotzee.CodeQuotaExceeded, err)
	_, err = db.RevokeKey(ctx(), 0, p.ID, b.ID, t0)
	require.NoError(t, err)
	// A revoked key does not count.
	c := mustKey(t, db, func() spotzee.NewKey { k := newKey(p.ID, "c"); k.MaxLiveKeys = 2; return k }())
	n, err := db.CountKeys(ctx(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	page, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Sort: spotzee.SortID})
	require.NoError(t, err)
	assert.Equal(t, 2, page.Total)
	assert.Equal(t, []int64{a.ID, c.ID}, ids(page.Keys))
	// No cap.
	mustKey(t, db, newKey(p.ID, "d"))
}

func testCallerRecheck(t *testing.T, db DB) {
	p := newProject(t, db)
	admin := mustKey(t, db, newKey(p.ID, "admin"))
	other := mustKey(t, db, newKey(p.ID, "other"))
	editor := mustKey(t, db, newKey(p.ID, "editor", role(spotzee.RoleEditor)))
	pub := mustKey(t, db, newKey(p.ID, "pub", public()))
	revoked := mustKey(t, db, newKey(p.ID, "revoked"))
	_, err := db.RevokeKey(ctx(), admin.ID, p.ID, revoked.ID, t0)
	require.NoError(t, err)
	p2 := newProject(t, db)
	foreign := mustKey(t, db, newKey(p2.ID, "foreign"))

	tests := []struct {
		name   string
		caller int64
		code   spotzee.Code
	}{
		{"operator", 0, ""},
		{"live admin", admin.ID, ""},
		{"revoked", revoked.ID, spotzee.CodeAuthenticationRequired},
		{"public", pub.ID, spotzee.CodeAuthenticationRequired},
		{"other project", foreign.ID, spotzee.CodeAuthenticationRequired},
		{"editor", editor.ID, spotzee.CodePermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := db.CountKeys(ctx(), p.ID)
			require.NoError(t, err)
			k := newKey(p.ID, "new")
			k.CallerID = tc.caller
			_, cerr := db.CreateKey(ctx(), k)
			_, uerr := db.UpdateKey(ctx(), tc.caller, p.ID, other.ID, spotzee.KeyUpdate{Name: ptr("renamed " + tc.name)}, t0)
			if tc.code == "" {
				require.NoError(t, cerr)
				require.NoError(t, uerr)
				return
			}
			requireCode(t, tc.code, cerr)
			requireCode(t, tc.code, uerr)
			_, rerr := db.RevokeKey(ctx(), tc.caller, p.ID, other.ID, t0)
			requireCode(t, tc.code, rerr)
			after, err := db.CountKeys(ctx(), p.ID)
			require.NoError(t, err)
			assert.Equal(t, before, after, "nothing written")
		})
	}
}

func testLiveKeyRules(t *testing.T, db DB) {
	p := newProject(t, db)
	mustKey(t, db, newKey(p.ID, "admin"))
	doomed := newKey(p.ID, "doomed", role(spotzee.RoleSupport))
	k := mustKey(t, db, doomed)
	p2 := newProject(t, db)

	_, err := db.Key(ctx(), p2.ID, k.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateKey(ctx(), 0, p2.ID, k.ID, spotzee.KeyUpdate{Name: ptr("x")}, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.RevokeKey(ctx(), 0, p2.ID, k.ID, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)

	later := t0.Add(time.Hour)
	r, err := db.RevokeKey(ctx(), 0, p.ID, k.ID, later)
	require.NoError(t, err)
	require.NotNil(t, r.RevokedAt)
	assert.True(t, r.RevokedAt.Equal(later) && r.UpdatedAt.Equal(later))

	_, err = db.Key(ctx(), p.ID, k.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateKey(ctx(), 0, p.ID, k.ID, spotzee.KeyUpdate{Name: ptr("x")}, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.UpdateKey(ctx(), 0, p.ID, k.ID, spotzee.KeyUpdate{}, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = db.RevokeKey(ctx(), 0, p.ID, k.ID, t0)
	requireCode(t, spotzee.CodeResourceMissing, err)
	// KeyByHash still finds it, revoked, so authentication can tell.
	byHash, err := db.KeyByHash(ctx(), doomed.Hash)
	require.NoError(t, err)
	require.NotNil(t, byHash.RevokedAt)
	page, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Total)
	assert.NotContains(t, ids(page.Keys), k.ID)
}

func testUpdateKey(t *testing.T, db DB) {
	p := newProject(t, db)
	mustKey(t, db, newKey(p.ID, "admin"))
	k := mustKey(t, db, newKey(p.ID, "svc", desc("old"), role(spotzee.RoleEditor)))
	later := t0.Add(time.Minute)

	tests := []struct {
		name  string
		u     spotzee.KeyUpdate
		check func(t *testing.T, got spotzee.APIKey)
	}{
		{"empty changes nothing", spotzee.KeyUpdate{}, func(t *testing.T, got spotzee.APIKey) {
			assert.True(t, got.UpdatedAt.Equal(t0))
		}},
		{"name", spotzee.KeyUpdate{Name: ptr("Renamed")}, func(t *testing.T, got spotzee.APIKey) {
			assert.Equal(t, "Renamed", got.Name)
			require.NotNil(t, got.Description)
			assert.Equal(t, "old", *got.Description)
			assert.True(t, got.UpdatedAt.Equal(later))
		}},
		{"description set", spotzee.KeyUpdate{SetDescription: true, Description: ptr("new")}, func(t *testing.T, got spotzee.APIKey) {
			require.NotNil(t, got.Description)
			assert.Equal(t, "new", *got.Description)
		}},
		{"description cleared", spotzee.KeyUpdate{SetDescription: true}, func(t *testing.T, got spotzee.APIKey) {
			assert.Nil(t, got.Description)
		}},
		{"role and scope", spotzee.KeyUpdate{Role: ptr(spotzee.RolePublisher), Scope: ptr(spotzee.ScopePublic)}, func(t *testing.T, got spotzee.APIKey) {
			assert.Equal(t, spotzee.RolePublisher, got.Role)
			assert.Equal(t, spotzee.ScopePublic, got.Scope)
			assert.Equal(t, "sk_", got.ValuePrefix, "the prefix is fixed at creation")
		}},
	}
	for _, tc := range tests { // sequential: each builds on the last
		got, err := db.UpdateKey(ctx(), 0, p.ID, k.ID, tc.u, later)
		require.NoError(t, err, tc.name)
		tc.check(t, got)
		read, err := db.Key(ctx(), p.ID, k.ID)
		require.NoError(t, err)
		assert.Equal(t, got, read, tc.name)
	}
	_, err := db.UpdateKey(ctx(), 0, p.ID, k.ID+1000, spotzee.KeyUpdate{Name: ptr("x")}, later)
	requireCode(t, spotzee.CodeResourceMissing, err)
}

func testSystemKey(t *testing.T, db DB) {
	p := newProject(t, db)
	sys := mustKey(t, db, newKey(p.ID, "system", system()))
	mustKey(t, db, newKey(p.ID, "admin"))
	tests := []struct {
		name  string
		u     spotzee.KeyUpdate
		param string // "" when allowed
	}{
		{"role", spotzee.KeyUpdate{Role: ptr(spotzee.RoleEditor)}, "role"},
		{"scope", spotzee.KeyUpdate{Scope: ptr(spotzee.ScopePublic)}, "scope"},
		{"name", spotzee.KeyUpdate{Name: ptr("System (renamed)")}, ""},
		{"description", spotzee.KeyUpdate{SetDescription: true, Description: ptr("label")}, ""},
		{"restated role and scope", spotzee.KeyUpdate{Role: ptr(spotzee.RoleAdmin), Scope: ptr(spotzee.ScopeSecret)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.UpdateKey(ctx(), 0, p.ID, sys.ID, tc.u, t0)
			if tc.param == "" {
				require.NoError(t, err)
				assert.True(t, got.IsSystem)
				return
			}
			requireCode(t, spotzee.CodeStateConflict, err)
			var e *spotzee.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.param, e.Param)
		})
	}
	_, err := db.RevokeKey(ctx(), 0, p.ID, sys.ID, t0)
	requireCode(t, spotzee.CodeStateConflict, err)
	got, err := db.Key(ctx(), p.ID, sys.ID)
	require.NoError(t, err)
	assert.Equal(t, spotzee.RoleAdmin, got.Role)
}

func testLastAdmin(t *testing.T, db DB) {
	p := newProject(t, db)
	a := mustKey(t, db, newKey(p.ID, "a"))
	mustKey(t, db, newKey(p.ID, "pk admin", public())) // not an admin key: public
	tests := []struct {
		name string
		do   func() error
	}{
		{"revoke", func() error { _, err := db.RevokeKey(ctx(), 0, p.ID, a.ID, t0); return err }},
		{"demote", func() error {
			_, err := db.UpdateKey(ctx(), 0, p.ID, a.ID, spotzee.KeyUpdate{Role: ptr(spotzee.RoleEditor)}, t0)
			return err
		}},
		{"make public", func() error {
			_, err := db.UpdateKey(ctx(), 0, p.ID, a.ID, spotzee.KeyUpdate{Scope: ptr(spotzee.ScopePublic)}, t0)
			return err
		}},
	}
	for _, tc := range tests {
		requireCode(t, spotzee.CodeStateConflict, tc.do())
	}
	_, err := db.UpdateKey(ctx(), 0, p.ID, a.ID, spotzee.KeyUpdate{Name: ptr("still admin")}, t0)
	require.NoError(t, err)
	b := mustKey(t, db, newKey(p.ID, "b"))
	_, err = db.RevokeKey(ctx(), 0, p.ID, a.ID, t0)
	require.NoError(t, err)
	_, err = db.RevokeKey(ctx(), 0, p.ID, b.ID, t0)
	requireCode(t, spotzee.CodeStateConflict, err)
}

func testRevokeDeletesIdempotency(t *testing.T, db DB) {
	p := newProject(t, db)
	mustKey(t, db, newKey(p.ID, "admin"))
	k := mustKey(t, db, newKey(p.ID, "caller"))
	now := t0
	began, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: k.ID, Key: "one", ExpiresAt: now.Add(time.Hour)}, now)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, db.FinishIdempotent(ctx(), k.ID, "one", began.CreatedAt, []byte("sealed")))
	n, err := db.IdempotencyRecords(ctx())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = db.RevokeKey(ctx(), 0, p.ID, k.ID, now)
	require.NoError(t, err)
	n, err = db.IdempotencyRecords(ctx())
	require.NoError(t, err)
	assert.Zero(t, n)
}

func ids(ks []spotzee.APIKey) []int64 {
	out := make([]int64, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

// nocase folds ASCII letters, as SQLite's NOCASE does.
func nocase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// listFixture creates keys with names and times that exercise ties, case
// and non-ASCII letters, and revokes some; it returns the live ones.
func listFixture(t *testing.T, db DB, p spotzee.Project) []spotzee.APIKey {
	names := []string{"billing", "SMTP proxy", "Alpha", "alpha", "Émile", "émile", "zeta", "Zeta", "b_c", "b%c", "mid", "MID"}
	var live []spotzee.APIKey
	for i, n := range names {
		k := mustKey(t, db, newKey(p.ID, n, at(t0.Add(time.Duration(i/3)*time.Second)), desc(fmt.Sprintf("Desc %d ÉTÉ", i))))
		if i%3 == 1 {
			k2, err := db.UpdateKey(ctx(), 0, p.ID, k.ID, spotzee.KeyUpdate{Name: ptr(n)}, t0.Add(time.Duration(20-i)*time.Millisecond))
			require.NoError(t, err)
			k = k2
		}
		if i == 5 || i == 9 {
			_, err := db.RevokeKey(ctx(), 0, p.ID, k.ID, t0)
			require.NoError(t, err)
			continue
		}
		live = append(live, k)
	}
	return live
}

// expectedOrder sorts keys as the list must.
func expectedOrder(keys []spotzee.APIKey, f spotzee.SortField, desc bool) []spotzee.APIKey {
	out := slices.Clone(keys)
	val := func(k spotzee.APIKey) string {
		switch f {
		case spotzee.SortName:
			return nocase(k.Name)
		case spotzee.SortCreatedAt:
			return spotzee.FormatSortTime(k.CreatedAt)
		case spotzee.SortUpdatedAt:
			return spotzee.FormatSortTime(k.UpdatedAt)
		}
		return ""
	}
	slices.SortFunc(out, func(a, b spotzee.APIKey) int {
		c := strings.Compare(val(a), val(b))
		if c == 0 {
			c = int(a.ID - b.ID)
			if c > 0 {
				c = 1
			} else if c < 0 {
				c = -1
			}
		}
		if desc {
			return -c
		}
		return c
	})
	return out
}

func testListPagination(t *testing.T, db DB) {
	p := newProject(t, db)
	live := listFixture(t, db, p)
	for _, f := range []spotzee.SortField{spotzee.SortID, spotzee.SortName, spotzee.SortCreatedAt, spotzee.SortUpdatedAt} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s desc=%v", f, desc), func(t *testing.T) {
				want := ids(expectedOrder(live, f, desc))
				all, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc})
				require.NoError(t, err)
				require.Equal(t, want, ids(all.Keys))
				assert.False(t, all.HasPrev || all.HasNext)
				assert.Equal(t, len(live), all.Total)

				// Forward with After, then back with Before.
				var got []int64
				var pages []spotzee.KeyPage
				q := spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc, Limit: 3}
				for {
					page, err := db.ListKeys(ctx(), q)
					require.NoError(t, err)
					assert.Equal(t, len(live), page.Total)
					assert.Equal(t, len(pages) > 0, page.HasPrev)
					got = append(got, ids(page.Keys)...)
					pages = append(pages, page)
					if !page.HasNext {
						break
					}
					pos := spotzee.PositionOf(page.Keys[len(page.Keys)-1], f)
					q.After, q.Before = &pos, nil
					require.Less(t, len(pages), 20)
				}
				require.Equal(t, want, got)
				for i := len(pages) - 1; i > 0; i-- {
					pos := spotzee.PositionOf(pages[i].Keys[0], f)
					prev, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc, Limit: 3, Before: &pos})
					require.NoError(t, err)
					assert.Equal(t, ids(pages[i-1].Keys), ids(prev.Keys))
					assert.True(t, prev.HasNext)
					assert.Equal(t, i > 1, prev.HasPrev)
				}
			})
		}
	}
}

func testListQuery(t *testing.T, db DB) {
	p := newProject(t, db)
	live := listFixture(t, db, p)
	count := func(pred func(spotzee.APIKey) bool) int {
		n := 0
		for _, k := range live {
			if pred(k) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		q    string
		want int
	}{
		{"ALPHA", count(func(k spotzee.APIKey) bool { return strings.EqualFold(k.Name, "alpha") })},
		{"émile", count(func(k spotzee.APIKey) bool { return strings.ToLower(k.Name) == "émile" })},
		{"b_c", 1}, // "_" is not a wildcard
		{"b%", 0},  // nor "%" ("b%c" is revoked)
		{"été", len(live)},
		{"desc 11", 1},
		{"nothing like it", 0},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			page, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Query: tc.q, Limit: 2})
			require.NoError(t, err)
			assert.Equal(t, tc.want, page.Total)
			assert.Len(t, page.Keys, min(2, tc.want))
			assert.Equal(t, tc.want > 2, page.HasNext)
		})
	}
}

func testListEdges(t *testing.T, db DB) {
	p := newProject(t, db)
	empty, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Limit: 5})
	require.NoError(t, err)
	assert.Empty(t, empty.Keys)
	assert.NotNil(t, empty.Keys)
	assert.Zero(t, empty.Total)
	live := listFixture(t, db, p)
	last := expectedOrder(live, spotzee.SortID, false)[len(live)-1]
	pos := spotzee.PositionOf(last, spotzee.SortID)
	after, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Sort: spotzee.SortID, Limit: 5, After: &pos})
	require.NoError(t, err)
	assert.Empty(t, after.Keys)
	assert.True(t, after.HasPrev, "an empty page after the end can step back")
	assert.False(t, after.HasNext)
	_, err = db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, After: &pos, Before: &pos})
	require.Error(t, err)
	_, err = db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Sort: "role"})
	require.Error(t, err)
}

func testIdempotency(t *testing.T, db DB) {
	now := t0
	rec := spotzee.IdempotencyRecord{APIKeyID: 7, Key: "k1", RequestHash: []byte("h1"), ExpiresAt: now.Add(time.Hour)}
	got, ok, err := db.BeginIdempotent(ctx(), rec, now)
	require.NoError(t, err)
	require.True(t, ok)
	assert.False(t, got.Done)
	assert.True(t, got.CreatedAt.Equal(now))

	again, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: 7, Key: "k1", RequestHash: []byte("h2"), ExpiresAt: now.Add(time.Hour)}, now.Add(time.Second))
	require.NoError(t, err)
	assert.False(t, ok, "a running record holds its key")
	assert.Equal(t, []byte("h1"), again.RequestHash)

	require.NoError(t, db.FinishIdempotent(ctx(), 7, "k1", got.CreatedAt, []byte("resp")))
	requireCode(t, spotzee.CodeResourceMissing, db.FinishIdempotent(ctx(), 7, "k1", got.CreatedAt, []byte("again")))
	done, ok, err := db.BeginIdempotent(ctx(), rec, now.Add(time.Hour-time.Nanosecond))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.True(t, done.Done)
	assert.Equal(t, []byte("resp"), done.Response)
	require.NoError(t, db.AbandonIdempotent(ctx(), 7, "k1", got.CreatedAt)) // a finished record stays
	_, ok, err = db.BeginIdempotent(ctx(), rec, now)
	require.NoError(t, err)
	assert.False(t, ok)

	// Expired: replaced.
	fresh, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: 7, Key: "k1", RequestHash: []byte("h3"), ExpiresAt: now.Add(3 * time.Hour)}, now.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, fresh.Done)
	assert.Nil(t, fresh.Response)
	assert.Equal(t, []byte("h3"), fresh.RequestHash)

	// Running past the lease: replaced; within: held.
	lease := now.Add(time.Hour)
	_, ok, err = db.BeginIdempotent(ctx(), rec, lease.Add(spotzee.IdempotencyLease-time.Second))
	require.NoError(t, err)
	assert.False(t, ok)
	taken, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: 7, Key: "k1", ExpiresAt: now.Add(4 * time.Hour)}, lease.Add(spotzee.IdempotencyLease))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, taken.CreatedAt.Equal(lease.Add(spotzee.IdempotencyLease)), "a zero CreatedAt is now")

	// Abandon deletes a running record; discard a finished one.
	require.NoError(t, db.DiscardIdempotent(ctx(), 7, "k1")) // running: stays
	_, ok, err = db.BeginIdempotent(ctx(), rec, lease.Add(spotzee.IdempotencyLease))
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, db.AbandonIdempotent(ctx(), 7, "k1", taken.CreatedAt))
	last, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: 7, Key: "k1", ExpiresAt: now.Add(5 * time.Hour)}, lease)
	require.NoError(t, err)
	assert.True(t, ok)
	require.NoError(t, db.FinishIdempotent(ctx(), 7, "k1", last.CreatedAt, []byte("r")))
	require.NoError(t, db.DiscardIdempotent(ctx(), 7, "k1"))
	n, err := db.IdempotencyRecords(ctx())
	require.NoError(t, err)
	assert.Zero(t, n)

	// Same key, other API key: independent.
	for _, id := range []int64{1, 2} {
		_, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: id, Key: "shared", ExpiresAt: now.Add(time.Minute)}, now)
		require.NoError(t, err)
		assert.True(t, ok)
	}
	purged, err := db.PurgeIdempotent(ctx(), now.Add(time.Minute))
	require.NoError(t, err)
	assert.EqualValues(t, 2, purged)
	n, err = db.IdempotencyRecords(ctx())
	require.NoError(t, err)
	assert.Zero(t, n)
}

func testIdempotencyConcurrent(t *testing.T, db DB) { idempotencyConcurrent(t, []DB{db}) }

func idempotencyConcurrent(t *testing.T, dbs []DB) {
	const n = 8
	var created atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, ok, err := dbs[i%len(dbs)].BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: 9, Key: "race", ExpiresAt: t0.Add(time.Hour)}, t0)
			assert.NoError(t, err)
			if ok {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, created.Load())
}

func testSecrets(t *testing.T, db DB) { secrets(t, []DB{db}) }

func secrets(t *testing.T, dbs []DB) {
	db := dbs[0]
	var calls atomic.Int32
	gen := func() ([]byte, error) {
		calls.Add(1)
		return []byte(rand.Text()), nil
	}
	var wg sync.WaitGroup
	vals := make([][]byte, 6)
	for i := range vals {
		wg.Go(func() {
			v, err := dbs[i%len(dbs)].Secret(ctx(), "cursor", gen)
			assert.NoError(t, err)
			vals[i] = v
		})
	}
	wg.Wait()
	for _, v := range vals {
		assert.True(t, bytes.Equal(vals[0], v), "every caller gets the stored value")
	}
	v, err := db.Secret(ctx(), "cursor", func() ([]byte, error) { return nil, fmt.Errorf("not called") })
	require.NoError(t, err)
	assert.Equal(t, vals[0], v)
	_, err = db.Secret(ctx(), "other", func() ([]byte, error) { return nil, nil })
	require.Error(t, err)
	_, err = db.Secret(ctx(), "other", func() ([]byte, error) { return nil, fmt.Errorf("boom") })
	require.ErrorContains(t, err, "boom")
}

// testConcurrentMutualRevoke: of two admins revoking each other at once (the
// project's only two), exactly one succeeds, and the project keeps an admin.
func testConcurrentMutualRevoke(t *testing.T, db DB) { concurrentMutualRevoke(t, []DB{db}) }

func concurrentMutualRevoke(t *testing.T, dbs []DB) {
	db := dbs[0]
	for round := range 5 {
		p := newProject(t, db)
		a := mustKey(t, db, newKey(p.ID, "a"))
		b := mustKey(t, db, newKey(p.ID, "b"))
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i, pair := range [][2]int64{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Go(func() {
				_, err := dbs[i%len(dbs)].RevokeKey(ctx(), pair[0], p.ID, pair[1], t0)
				if err == nil {
					ok.Add(1)
					return
				}
				code := spotzee.ErrorCode(err)
				assert.Contains(t, []spotzee.Code{spotzee.CodeAuthenticationRequired, spotzee.CodeStateConflict}, code, "round %d: %v", round, err)
			})
		}
		wg.Wait()
		assert.EqualValues(t, 1, ok.Load(), "round %d", round)
		n, err := db.CountKeys(ctx(), p.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	}
}

// testConcurrentQuota: concurrent creates never exceed the quota.
func testConcurrentQuota(t *testing.T, db DB) { concurrentQuota(t, []DB{db}) }

func concurrentQuota(t *testing.T, dbs []DB) {
	db := dbs[0]
	p := newProject(t, db)
	const quota, tries = 5, 12
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range tries {
		wg.Go(func() {
			k := newKey(p.ID, "k")
			k.MaxLiveKeys = quota
			_, err := dbs[i%len(dbs)].CreateKey(ctx(), k)
			if err == nil {
				ok.Add(1)
				return
			}
			assert.Equal(t, spotzee.CodeQuotaExceeded, spotzee.ErrorCode(err), "%v", err)
		})
	}
	wg.Wait()
	assert.EqualValues(t, quota, ok.Load())
	n, err := db.CountKeys(ctx(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, quota, n)
}

// RunShared runs the concurrency cases of the suite with their writes split
// over two handles on one database, as two server processes (replicas) would
// use it: open returns both, on a new, empty database. The idempotency
// primary key, the secrets table, the mutual-revoke and quota rules must
// hold across handles as they do within one.
func RunShared(t *testing.T, open func(t *testing.T) [2]DB) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, []DB)
	}{
		{"IdempotencyConcurrent", idempotencyConcurrent},
		{"Secrets", secrets},
		{"ConcurrentMutualRevoke", concurrentMutualRevoke},
		{"ConcurrentQuota", concurrentQuota},
		{"ConcurrentLastOwner", concurrentLastOwner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbs := open(t)
			tc.fn(t, dbs[:])
		})
	}
}

// testCreateKeyFinishesIdempotency checks NewKey.Finish: the key and its
// finished idempotency record commit in one transaction, and a failure of
// either leaves neither.
func testCreateKeyFinishesIdempotency(t *testing.T, db DB) {
	p := newProject(t, db)
	caller := mustKey(t, db, newKey(p.ID, "admin", role(spotzee.RoleAdmin)))
	now := t0.Add(time.Minute)
	begin := func(key string) {
		t.Helper()
		_, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: caller.ID, Key: key,
			RequestHash: []byte("h"), ExpiresAt: now.Add(time.Hour)}, now)
		require.NoError(t, err)
		require.True(t, ok)
	}
	count := func() int {
		t.Helper()
		n, err := db.CountKeys(ctx(), p.ID)
		require.NoError(t, err)
		return n
	}
	before := count()

	// Success: the record is done with the response built from the row.
	begin("ok")
	var seen spotzee.APIKey
	nk := newKey(p.ID, "finished")
	nk.Finish = &spotzee.IdempotencyFinish[spotzee.APIKey]{APIKeyID: caller.ID, Key: "ok", Begun: now, Response: func(k spotzee.APIKey) ([]byte, error) {
		seen = k
		return []byte(fmt.Sprintf("sealed %d", k.ID)), nil
	}}
	k, err := db.CreateKey(ctx(), nk)
	require.NoError(t, err)
	assert.Equal(t, k, seen, "the response is built from the written row")
	rec, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: caller.ID, Key: "ok", ExpiresAt: now.Add(time.Hour)}, now)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.True(t, rec.Done)
	assert.Equal(t, []byte(fmt.Sprintf("sealed %d", k.ID)), rec.Response)
	requireCode(t, spotzee.CodeResourceMissing, db.FinishIdempotent(ctx(), caller.ID, "ok", now, []byte("again")))
	assert.Equal(t, before+1, count())

	// The response cannot be built: no key, the record still running.
	begin("fails")
	bad := newKey(p.ID, "unsealed")
	bad.Finish = &spotzee.IdempotencyFinish[spotzee.APIKey]{APIKeyID: caller.ID, Key: "fails", Begun: now, Response: func(spotzee.APIKey) ([]byte, error) {
		return nil, fmt.Errorf("seal failed")
	}}
	_, err = db.CreateKey(ctx(), bad)
	require.Error(t, err)
	_, err = db.KeyByHash(ctx(), bad.Hash)
	requireCode(t, spotzee.CodeResourceMissing, err)
	rec, ok, err = db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: caller.ID, Key: "fails", ExpiresAt: now.Add(time.Hour)}, now)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.False(t, rec.Done, "the record is left running, for the HTTP layer to abandon")

	// No running record (abandoned, or already finished): no key.
	for _, key := range []string{"never-begun", "ok"} {
		orphan := newKey(p.ID, "orphan")
		orphan.Finish = &spotzee.IdempotencyFinish[spotzee.APIKey]{APIKeyID: caller.ID, Key: key, Begun: now, Response: func(spotzee.APIKey) ([]byte, error) {
			return []byte("sealed"), nil
		}}
		_, err = db.CreateKey(ctx(), orphan)
		requireCode(t, spotzee.CodeIdempotencyInProgress, err)
		_, err = db.KeyByHash(ctx(), orphan.Hash)
		requireCode(t, spotzee.CodeResourceMissing, err)
	}
	assert.Equal(t, before+1, count())
}

// testUpdateKeyFinishesIdempotency checks KeyUpdate.Finish: the update (or,
// for an empty update, the key as it is) and the finished record commit
// together, and a failure of either leaves neither.
func testUpdateKeyFinishesIdempotency(t *testing.T, db DB) {
	p := newProject(t, db)
	caller := mustKey(t, db, newKey(p.ID, "admin", role(spotzee.RoleAdmin)))
	target := mustKey(t, db, newKey(p.ID, "target"))
	now := t0.Add(time.Minute)
	record := func(key string) spotzee.IdempotencyRecord {
		t.Helper()
		rec, _, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: caller.ID, Key: key,
			RequestHash: []byte("h"), ExpiresAt: now.Add(time.Hour)}, now)
		require.NoError(t, err)
		return rec
	}
	finish := func(key string) *spotzee.IdempotencyFinish[spotzee.APIKey] {
		return &spotzee.IdempotencyFinish[spotzee.APIKey]{APIKeyID: caller.ID, Key: key, Begun: now, Response: func(k spotzee.APIKey) ([]byte, error) {
			return []byte(k.Name), nil
		}}
	}
	name := func(s string) *string { return &s }

	require.False(t, record("rename").Done)
	k, err := db.UpdateKey(ctx(), caller.ID, p.ID, target.ID, spotzee.KeyUpdate{Name: name("renamed"), Finish: finish("rename")}, now)
	require.NoError(t, err)
	assert.Equal(t, "renamed", k.Name)
	rec := record("rename")
	assert.True(t, rec.Done)
	assert.Equal(t, []byte("renamed"), rec.Response, "the response is built from the updated row")

	require.False(t, record("empty").Done)
	k, err = db.UpdateKey(ctx(), caller.ID, p.ID, target.ID, spotzee.KeyUpdate{Finish: finish("empty")}, now.Add(time.Second))
	require.NoError(t, err)
	assert.True(t, k.UpdatedAt.Equal(now), "an empty update changes nothing")
	rec = record("empty")
	assert.True(t, rec.Done)
	assert.Equal(t, []byte("renamed"), rec.Response)

	// No running record: the update is rolled back.
	_, err = db.UpdateKey(ctx(), caller.ID, p.ID, target.ID, spotzee.KeyUpdate{Name: name("lost"), Finish: finish("never-begun")}, now)
	requireCode(t, spotzee.CodeIdempotencyInProgress, err)
	got, err := db.Key(ctx(), p.ID, target.ID)
	require.NoError(t, err)
	assert.Equal(t, "renamed", got.Name)

	// A missing key: the record stays running, for the HTTP layer.
	require.False(t, record("missing").Done)
	_, err = db.UpdateKey(ctx(), caller.ID, p.ID, target.ID+1000, spotzee.KeyUpdate{Name: name("x"), Finish: finish("missing")}, now)
	requireCode(t, spotzee.CodeResourceMissing, err)
	assert.False(t, record("missing").Done)
}
