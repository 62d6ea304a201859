package sqlite_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

// t0 has nanoseconds and is not UTC, so time round trips are really tested.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+2", 2*3600))

// openMem opens a private in-memory database closed at the end of the test.
func openMem(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// openFile opens a database file in a fresh temporary directory, closed at
// the end of the test, and returns it with the file's path.
func openFile(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.db")
	db, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

// openBoth returns one database of each kind, for tests that must hold for
// both.
func openBoth(t *testing.T) map[string]func(*testing.T) *sqlite.DB {
	return map[string]func(*testing.T) *sqlite.DB{
		"memory": openMem,
		"file":   func(t *testing.T) *sqlite.DB { db, _ := openFile(t); return db },
	}
}

func newProject(t *testing.T, db *sqlite.DB) spotzee.Project {
	t.Helper()
	p, err := db.CreateProject(context.Background(), "Acme", spotzee.TierStarter, t0)
	require.NoError(t, err)
	return p
}

// newValue returns a fresh full key value, as the HTTP layer would mint it.
func newValue(prefix string) string { return prefix + "live_" + rand.Text() + rand.Text() }

func hashOf(value string) []byte {
	h := sha256.Sum256([]byte(value))
	return h[:]
}

// newKeyInput returns the NewKey (a secret editor key) for a fresh value,
// and the value.
func newKeyInput(projectID int64, name string, at time.Time) (spotzee.NewKey, string) {
	v := newValue("sk_")
	return spotzee.NewKey{
		ProjectID: projectID,
		Name:      name,
		Scope:     spotzee.ScopeSecret,
		// Not admin: revoking or demoting a project's last admin key is
		// refused, and most tests revoke and update keys freely.
		Role:        spotzee.RoleEditor,
		ValuePrefix: "sk_",
		Last4:       v[len(v)-4:],
		Hash:        hashOf(v),
		CreatedAt:   at,
	}, v
}

// newKey creates a key named name in project projectID at at; edit, when not
// nil, changes the input first.
func newKey(t *testing.T, db *sqlite.DB, projectID int64, name string, at time.Time, edit func(*spotzee.NewKey)) spotzee.APIKey {
	t.Helper()
	in, _ := newKeyInput(projectID, name, at)
	if edit != nil {
		edit(&in)
	}
	k, err := db.CreateKey(context.Background(), in)
	require.NoError(t, err)
	return k
}

// requireCode fails unless err carries the catalogue code want.
func requireCode(t *testing.T, want spotzee.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, spotzee.ErrorCode(err), "error: %v", err)
}

func ptr[T any](v T) *T { return &v }
