package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// The guards of UpdateKey, one test each. A store may apply an update of
// the name or description only in one statement that re-checks the caller
// in its WHERE clause, and run the guards one by one only when that
// statement changes no row (issue #16); these tests fail when such a path
// skips a guard: each checks the exact error, its precedence, and that
// nothing was written, for each shape of label update (name, description,
// cleared description, both) and for role and scope changes.

// labelUpdates are the shapes of an update of a key's labels only.
func labelUpdates() map[string]spotzee.KeyUpdate {
	return map[string]spotzee.KeyUpdate{
		"name":                {Name: ptr("renamed")},
		"description":         {SetDescription: true, Description: ptr("new description")},
		"description cleared": {SetDescription: true},
		"name and description": {Name: ptr("renamed"), SetDescription: true,
			Description: ptr("new description")},
	}
}

// allUpdates are labelUpdates with role and scope changes (and a role
// change with a name change).
func allUpdates() map[string]spotzee.KeyUpdate {
	us := labelUpdates()
	us["role"] = spotzee.KeyUpdate{Role: ptr(spotzee.RolePublisher)}
	us["scope"] = spotzee.KeyUpdate{Scope: ptr(spotzee.ScopePublic)}
	us["name and role"] = spotzee.KeyUpdate{Name: ptr("renamed"), Role: ptr(spotzee.RoleSupport)}
	return us
}

// requireError requires err to be the *spotzee.Error want: code, message
// and param.
func requireError(t *testing.T, want *spotzee.Error, err error) {
	t.Helper()
	var e *spotzee.Error
	require.ErrorAs(t, err, &e, "error: %v", err)
	assert.Equal(t, want.Code, e.Code, "code")
	assert.Equal(t, want.Message, e.Message, "message")
	assert.Equal(t, want.Param, e.Param, "param")
}

// requireUnchanged requires the key whose value hashes to hash to be as
// before, revoked or not (KeyByHash reads both).
func requireUnchanged(t *testing.T, db DB, hash []byte, before spotzee.APIKey) {
	t.Helper()
	got, err := db.KeyByHash(ctx(), hash)
	require.NoError(t, err)
	assert.Equal(t, before, got, "nothing written")
}

// updateFixture is a project with a live admin caller and a target key, a
// second project, and a time after their creation.
type updateFixture struct {
	p, p2        spotzee.Project
	caller       spotzee.APIKey
	target       spotzee.APIKey
	targetHash   []byte
	now          time.Time
	revokedError *spotzee.Error
}

func newUpdateFixture(t *testing.T, db DB) updateFixture {
	t.Helper()
	f := updateFixture{p: newProject(t, db), p2: newProject(t, db), now: t0.Add(time.Hour)}
	f.caller = mustKey(t, db, newKey(f.p.ID, "caller"))
	nt := newKey(f.p.ID, "target", desc("old description"), role(spotzee.RoleEditor))
	f.target, f.targetHash = mustKey(t, db, nt), nt.Hash
	f.revokedError = spotzee.Errorf(spotzee.CodeAuthenticationRequired, "The API key was revoked while this request ran.")
	return f
}

// testUpdateKeyCallerGuard checks the re-check of the caller inside the
// write (issue #13 item 9) for every update shape: a caller revoked,
// demoted, made public, with a pk_ value, or of another project between
// its authentication and the write gets checkCaller's error, before any
// error about the target, and nothing is written.
func testUpdateKeyCallerGuard(t *testing.T, db DB) {
	f := newUpdateFixture(t, db)
	// A second admin, so that the callers can be demoted and revoked.
	mustKey(t, db, newKey(f.p.ID, "spare admin"))
	nf := newKey(f.p2.ID, "foreign target", role(spotzee.RoleEditor))
	foreign := mustKey(t, db, nf)
	callers := []struct {
		name string
		make func(t *testing.T) int64
		want *spotzee.Error
	}{
		{"revoked", func(t *testing.T) int64 {
			k := mustKey(t, db, newKey(f.p.ID, "to revoke"))
			_, err := db.RevokeKey(ctx(), 0, f.p.ID, k.ID, f.now)
			require.NoError(t, err)
			return k.ID
		}, f.revokedError},
		{"demoted", func(t *testing.T) int64 {
			k := mustKey(t, db, newKey(f.p.ID, "to demote"))
			_, err := db.UpdateKey(ctx(), 0, f.p.ID, k.ID, spotzee.KeyUpdate{Role: ptr(spotzee.RoleEditor)}, f.now)
			require.NoError(t, err)
			return k.ID
		}, spotzee.Errorf(spotzee.CodePermissionDenied,
			"Managing API keys needs the project admin role; this key became editor while this request ran.")},
		{"made public", func(t *testing.T) int64 {
			k := mustKey(t, db, newKey(f.p.ID, "to publish"))
			_, err := db.UpdateKey(ctx(), 0, f.p.ID, k.ID, spotzee.KeyUpdate{Scope: ptr(spotzee.ScopePublic)}, f.now)
			require.NoError(t, err)
			return k.ID
		}, f.revokedError},
		{"secret scope, pk_ value", func(t *testing.T) int64 {
			nk := newKey(f.p.ID, "pk secret")
			nk.ValuePrefix = "pk_"
			return mustKey(t, db, nk).ID
		}, f.revokedError},
		{"other project", func(t *testing.T) int64 {
			return mustKey(t, db, newKey(f.p2.ID, "foreign")).ID
		}, f.revokedError},
		{"never existed", func(*testing.T) int64 { return f.target.ID + 1000 }, f.revokedError},
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			callerID := c.make(t)
			for name, u := range allUpdates() {
				_, err := db.UpdateKey(ctx(), callerID, f.p.ID, f.target.ID, u, f.now)
				requireError(t, c.want, err)
				requireUnchanged(t, db, f.targetHash, f.target)
				// The caller's error comes before the target's.
				_, err = db.UpdateKey(ctx(), callerID, f.p.ID, f.target.ID+1000, u, f.now)
				requireError(t, c.want, err)
				_, err = db.UpdateKey(ctx(), callerID, f.p.ID, foreign.ID, u, f.now)
				requireError(t, c.want, err)
				requireUnchanged(t, db, nf.Hash, foreign)
				if t.Failed() {
					t.Fatalf("update %q", name)
				}
			}
		})
	}
}

// testUpdateKeyTargetGuard checks that only a live key of the project is
// updated, for every update shape and a live admin caller or an operator:
// a missing key, a revoked one and one of another project are
// CodeResourceMissing, and nothing is written.
func testUpdateKeyTargetGuard(t *testing.T, db DB) {
	f := newUpdateFixture(t, db)
	nr := newKey(f.p.ID, "revoked", role(spotzee.RoleEditor))
	revoked := mustKey(t, db, nr)
	revoked, err := db.RevokeKey(ctx(), 0, f.p.ID, revoked.ID, f.now)
	require.NoError(t, err)
	nf := newKey(f.p2.ID, "foreign", role(spotzee.RoleEditor))
	foreign := mustKey(t, db, nf)

	for _, callerID := range []int64{f.caller.ID, 0} {
		for name, u := range allUpdates() {
			t.Run(fmt.Sprintf("caller %d %s", callerID, name), func(t *testing.T) {
				_, err := db.UpdateKey(ctx(), callerID, f.p.ID, f.target.ID+1000, u, f.now)
				requireError(t, spotzee.Errorf(spotzee.CodeResourceMissing,
					"No API key with id %d in this project.", f.target.ID+1000), err)

				_, err = db.UpdateKey(ctx(), callerID, f.p.ID, revoked.ID, u, f.now.Add(time.Minute))
				requireError(t, spotzee.Errorf(spotzee.CodeResourceMissing,
					"No API key with id %d in this project.", revoked.ID), err)
				requireUnchanged(t, db, nr.Hash, revoked)

				_, err = db.UpdateKey(ctx(), callerID, f.p.ID, foreign.ID, u, f.now)
				requireError(t, spotzee.Errorf(spotzee.CodeResourceMissing,
					"No API key with id %d in this project.", foreign.ID), err)
				requireUnchanged(t, db, nf.Hash, foreign)
			})
		}
	}
}

// testUpdateKeySystemGuard checks the system-key rule for a caller and an
// operator: a system key's labels change (also with its role or scope
// restated), its role and scope do not, not even with a label change in
// the same update, and then nothing is written.
func testUpdateKeySystemGuard(t *testing.T, db DB) {
	f := newUpdateFixture(t, db)
	ns := newKey(f.p.ID, "system", system(), desc("system description"))
	sys := mustKey(t, db, ns)
	for _, callerID := range []int64{f.caller.ID, 0} {
		for name, u := range labelUpdates() {
			t.Run(fmt.Sprintf("caller %d %s", callerID, name), func(t *testing.T) {
				now := f.now.Add(time.Duration(callerID) * time.Minute)
				got, err := db.UpdateKey(ctx(), callerID, f.p.ID, sys.ID, u, now)
				require.NoError(t, err)
				assert.True(t, got.IsSystem)
				assert.True(t, got.UpdatedAt.Equal(now))
				sys = got

				restated := u
				restated.Role, restated.Scope = ptr(spotzee.RoleAdmin), ptr(spotzee.ScopeSecret)
				got, err = db.UpdateKey(ctx(), callerID, f.p.ID, sys.ID, restated, now)
				require.NoError(t, err)
				sys = got

				for param, change := range map[string]spotzee.KeyUpdate{
					"role":  {Role: ptr(spotzee.RoleEditor)},
					"scope": {Scope: ptr(spotzee.ScopePublic)},
				} {
					change.Name, change.SetDescription, change.Description = u.Name, u.SetDescription, u.Description
					_, err = db.UpdateKey(ctx(), callerID, f.p.ID, sys.ID, change, now.Add(time.Second))
					want := spotzee.Errorf(spotzee.CodeStateConflict,
						"API key %d is a system key: its role and scope cannot change (its name and description can).", sys.ID)
					want.Param = param
					requireError(t, want, err)
					requireUnchanged(t, db, ns.Hash, sys)
				}
			})
		}
	}
}

// testUpdateKeyLastAdminGuard checks the last-admin rule: the project's
// only live secret admin key, updating itself or updated by an operator,
// may change its labels but not lose its role or scope, not even with a
// label change in the same update; then nothing is written.
func testUpdateKeyLastAdminGuard(t *testing.T, db DB) {
	p := newProject(t, db)
	na := newKey(p.ID, "only admin", desc("the admin"))
	admin := mustKey(t, db, na)
	mustKey(t, db, newKey(p.ID, "public admin", public()))
	mustKey(t, db, newKey(p.ID, "editor", role(spotzee.RoleEditor)))
	now := t0.Add(time.Hour)
	for _, callerID := range []int64{admin.ID, 0} {
		for name, u := range labelUpdates() {
			t.Run(fmt.Sprintf("caller %d %s", callerID, name), func(t *testing.T) {
				now = now.Add(time.Minute)
				got, err := db.UpdateKey(ctx(), callerID, p.ID, admin.ID, u, now)
				require.NoError(t, err)
				assert.True(t, got.UpdatedAt.Equal(now))
				admin = got
				for _, change := range []spotzee.KeyUpdate{
					{Role: ptr(spotzee.RoleEditor)},
					{Scope: ptr(spotzee.ScopePublic)},
				} {
					change.Name, change.SetDescription, change.Description = u.Name, u.SetDescription, u.Description
					_, err = db.UpdateKey(ctx(), callerID, p.ID, admin.ID, change, now.Add(time.Second))
					requireError(t, spotzee.Errorf(spotzee.CodeStateConflict,
						"API key %d is the project's last admin secret key; create another admin key first.", admin.ID), err)
					requireUnchanged(t, db, na.Hash, admin)
				}
			})
		}
	}
}

// testUpdateKeyLabels checks each shape of label update, by a caller
// (also updating itself) and by an operator: the fields given change,
// updated_at becomes now, every other field stays, and the key returned is
// the key stored.
func testUpdateKeyLabels(t *testing.T, db DB) {
	f := newUpdateFixture(t, db)
	now := f.now
	check := func(t *testing.T, callerID, id int64, u spotzee.KeyUpdate) {
		t.Helper()
		before, err := db.Key(ctx(), f.p.ID, id)
		require.NoError(t, err)
		now = now.Add(time.Minute)
		got, err := db.UpdateKey(ctx(), callerID, f.p.ID, id, u, now)
		require.NoError(t, err)
		want := before
		if u.Name != nil {
			want.Name = *u.Name
		}
		if u.SetDescription {
			want.Description = u.Description
		}
		want.UpdatedAt = now
		assert.True(t, got.UpdatedAt.Equal(now))
		got.UpdatedAt = now
		assert.Equal(t, want, got)
		read, err := db.Key(ctx(), f.p.ID, id)
		require.NoError(t, err)
		read.UpdatedAt = now
		assert.Equal(t, got, read, "returned as stored")
	}
	shapes := []struct {
		name string
		u    spotzee.KeyUpdate
	}{ // in order: each starts from the last one's result
		{"name", spotzee.KeyUpdate{Name: ptr("first name")}},
		{"description", spotzee.KeyUpdate{SetDescription: true, Description: ptr("first description")}},
		{"name again", spotzee.KeyUpdate{Name: ptr("second name")}},
		{"description cleared", spotzee.KeyUpdate{SetDescription: true}},
		{"name and description", spotzee.KeyUpdate{Name: ptr("third name"), SetDescription: true, Description: ptr("second description")}},
		{"same name", spotzee.KeyUpdate{Name: ptr("third name")}},
	}
	for _, callerID := range []int64{f.caller.ID, 0} {
		for _, s := range shapes {
			t.Run(fmt.Sprintf("caller %d %s", callerID, s.name), func(t *testing.T) {
				check(t, callerID, f.target.ID, s.u)
				check(t, callerID, f.caller.ID, s.u) // itself, for the caller
			})
		}
	}
}

// testUpdateKeyGuardsKeepIdempotency checks KeyUpdate.Finish when a guard
// refuses the update, for a label update and a role change: the record
// stays running (for the HTTP layer to abandon) and the key unchanged; and
// that a role change, like a label update, finishes its record with the
// updated row.
func testUpdateKeyGuardsKeepIdempotency(t *testing.T, db DB) {
	f := newUpdateFixture(t, db)
	ns := newKey(f.p.ID, "system", system())
	sys := mustKey(t, db, ns)
	demoted := mustKey(t, db, newKey(f.p.ID, "demoted"))
	_, err := db.UpdateKey(ctx(), 0, f.p.ID, demoted.ID, spotzee.KeyUpdate{Role: ptr(spotzee.RoleEditor)}, f.now)
	require.NoError(t, err)
	begin := func(callerID int64, key string) *spotzee.IdempotencyFinish[spotzee.APIKey] {
		t.Helper()
		_, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: callerID, Key: key,
			RequestHash: []byte("h"), ExpiresAt: f.now.Add(time.Hour)}, f.now)
		require.NoError(t, err)
		require.True(t, ok)
		return &spotzee.IdempotencyFinish[spotzee.APIKey]{APIKeyID: callerID, Key: key, Begun: f.now, Response: func(k spotzee.APIKey) ([]byte, error) {
			return []byte(fmt.Sprintf("%s %s", k.Name, k.Role)), nil
		}}
	}
	running := func(callerID int64, key string) bool {
		t.Helper()
		rec, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: callerID, Key: key,
			ExpiresAt: f.now.Add(time.Hour)}, f.now)
		require.NoError(t, err)
		require.False(t, ok)
		return !rec.Done
	}

	refused := []struct {
		name     string
		callerID int64
		id       int64
		u        spotzee.KeyUpdate
		code     spotzee.Code
		hash     []byte
		before   spotzee.APIKey
	}{
		{"demoted caller, name", demoted.ID, f.target.ID, spotzee.KeyUpdate{Name: ptr("x")}, spotzee.CodePermissionDenied, f.targetHash, f.target},
		{"demoted caller, role", demoted.ID, f.target.ID, spotzee.KeyUpdate{Role: ptr(spotzee.RoleSupport)}, spotzee.CodePermissionDenied, f.targetHash, f.target},
		{"system key, name and role", f.caller.ID, sys.ID, spotzee.KeyUpdate{Name: ptr("x"), Role: ptr(spotzee.RoleSupport)}, spotzee.CodeStateConflict, ns.Hash, sys},
		{"missing key, description", f.caller.ID, f.target.ID + 1000, spotzee.KeyUpdate{SetDescription: true}, spotzee.CodeResourceMissing, f.targetHash, f.target},
	}
	for i, r := range refused {
		key := fmt.Sprintf("refused %d", i)
		_, err := db.UpdateKey(ctx(), r.callerID, f.p.ID, r.id, spotzee.KeyUpdate{
			Name: r.u.Name, SetDescription: r.u.SetDescription, Description: r.u.Description,
			Role: r.u.Role, Scope: r.u.Scope, Finish: begin(r.callerID, key)}, f.now)
		requireCode(t, r.code, err)
		assert.True(t, running(r.callerID, key), r.name)
		requireUnchanged(t, db, r.hash, r.before)
	}

	k, err := db.UpdateKey(ctx(), f.caller.ID, f.p.ID, f.target.ID, spotzee.KeyUpdate{
		Name: ptr("promoted"), Role: ptr(spotzee.RolePublisher), Finish: begin(f.caller.ID, "role")}, f.now)
	require.NoError(t, err)
	assert.Equal(t, spotzee.RolePublisher, k.Role)
	rec, ok, err := db.BeginIdempotent(ctx(), spotzee.IdempotencyRecord{APIKeyID: f.caller.ID, Key: "role",
		ExpiresAt: f.now.Add(time.Hour)}, f.now)
	require.NoError(t, err)
	require.False(t, ok)
	assert.True(t, rec.Done)
	assert.Equal(t, []byte("promoted publisher"), rec.Response, "the response is built from the updated row")

	// A role change whose record is no longer running is rolled back.
	_, err = db.UpdateKey(ctx(), f.caller.ID, f.p.ID, f.target.ID, spotzee.KeyUpdate{
		Role: ptr(spotzee.RoleSupport), Finish: &spotzee.IdempotencyFinish[spotzee.APIKey]{APIKeyID: f.caller.ID, Key: "never begun", Begun: f.now,
			Response: func(spotzee.APIKey) ([]byte, error) { return []byte("x"), nil }}}, f.now.Add(time.Minute))
	requireCode(t, spotzee.CodeIdempotencyInProgress, err)
	got, err := db.Key(ctx(), f.p.ID, f.target.ID)
	require.NoError(t, err)
	assert.Equal(t, k, got)
}
