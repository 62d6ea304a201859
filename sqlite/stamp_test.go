package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

// childWriteEnv names the database file TestChangeStampChildWrite commits
// a write to when the test binary runs as a child process.
const childWriteEnv = "SPOTZEE_SQLITE_CHILD_WRITE"

// rawWrite commits one write transaction to the database file at path
// through a *sql.DB of its own, as another program would.
func rawWrite(t testing.TB, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer func() { require.NoError(t, raw.Close()) }()
	_, err = raw.Exec(`CREATE TABLE IF NOT EXISTS scratch (x INTEGER)`)
	require.NoError(t, err)
	_, err = raw.Exec(`INSERT INTO scratch VALUES (1)`)
	require.NoError(t, err)
}

// TestChangeStampChildWrite is the child process of TestChangeStamp's
// "another process" case; run directly, it does nothing.
func TestChangeStampChildWrite(t *testing.T) {
	path := os.Getenv(childWriteEnv)
	if path == "" {
		t.Skip("only run as a child process")
	}
	rawWrite(t, path)
}

// TestChangeStamp checks that a database's change stamp moves with every
// commit — through the DB, another handle on the file, another process —
// and stays put across reads.
func TestChangeStamp(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, db *sqlite.DB) {
		_, err := db.CreateProject(ctx, "p", spotzee.TierStarter, t0)
		require.NoError(t, err)
	}
	read := func(t *testing.T, db *sqlite.DB) {
		_, err := db.Project(ctx, 1)
		require.NoError(t, err)
		_, err = db.KeyByHash(ctx, make([]byte, 32))
		require.Error(t, err)
	}
	tests := []struct {
		name   string
		memory bool
		// act runs between the two stamps; changes says whether it commits.
		act     func(t *testing.T, db *sqlite.DB, path string)
		changes bool
	}{
		{"memory: a write through the DB", true, func(t *testing.T, db *sqlite.DB, _ string) { write(t, db) }, true},
		{"memory: reads", true, func(t *testing.T, db *sqlite.DB, _ string) { read(t, db) }, false},
		{"file: a write through the DB", false, func(t *testing.T, db *sqlite.DB, _ string) { write(t, db) }, true},
		{"file: reads", false, func(t *testing.T, db *sqlite.DB, _ string) { read(t, db) }, false},
		{"file: a write through another sqlite.DB", false, func(t *testing.T, _ *sqlite.DB, path string) {
			other, err := sqlite.Open(ctx, path)
			require.NoError(t, err)
			write(t, other)
			require.NoError(t, other.Close())
		}, true},
		{"file: a write through another *sql.DB", false, func(t *testing.T, _ *sqlite.DB, path string) {
			rawWrite(t, path)
		}, true},
		{"file: a write by another process", false, func(t *testing.T, _ *sqlite.DB, path string) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChangeStampChildWrite$", "-test.count=1")
			cmd.Env = append(os.Environ(), childWriteEnv+"="+path)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "child: %s", out)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ":memory:"
			if !tt.memory {
				path = filepath.Join(t.TempDir(), "keys.db")
			}
			db, err := sqlite.Open(ctx, path)
			require.NoError(t, err)
			defer func() { require.NoError(t, db.Close()) }()
			write(t, db) // a project to read

			before, ok := db.ChangeStamp()
			require.True(t, ok, "a stamp to trust")
			again, ok := db.ChangeStamp()
			require.True(t, ok)
			require.Equal(t, before, again, "no commit, same stamp")

			tt.act(t, db, path)
			after, ok := db.ChangeStamp()
			require.True(t, ok)
			if tt.changes {
				assert.NotEqual(t, before, after, "a commit changes the stamp")
			} else {
				assert.Equal(t, before, after, "reads leave the stamp as it was")
			}
		})
	}
}

// TestChangeStampAfterClose checks that a closed database has no stamp.
func TestChangeStampAfterClose(t *testing.T) {
	for _, path := range []string{":memory:", filepath.Join(t.TempDir(), "keys.db")} {
		db, err := sqlite.Open(context.Background(), path)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		_, ok := db.ChangeStamp()
		assert.False(t, ok, path)
	}
}

// TestChangeStampSharedMapping checks that two DBs of one process on one
// file share the -shm mapping: closing one leaves the other's stamp
// working (and SQLite's locks on the file in place).
func TestChangeStampSharedMapping(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	a, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer func() { require.NoError(t, a.Close()) }()
	b, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, b.Close())

	before, ok := a.ChangeStamp()
	require.True(t, ok)
	rawWrite(t, path)
	after, ok := a.ChangeStamp()
	require.True(t, ok)
	assert.NotEqual(t, before, after)
	_, err = a.CreateProject(ctx, "p", spotzee.TierStarter, t0)
	require.NoError(t, err, "a still writes")
}
