//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/sqlite"
)

// TestFileModes is not parallel: it sets the process umask to 0, under which
// SQLite on its own would create every file 0644, and restores it before any
// parallel test runs.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })

	tests := []struct {
		name string
		// prepare runs before Open, on the database's path.
		prepare func(t *testing.T, path string)
		want    map[string]os.FileMode
	}{
		{
			name:    "new database",
			prepare: func(*testing.T, string) {},
			want:    map[string]os.FileMode{"": 0o600, "-wal": 0o600, "-shm": 0o600},
		},
		{
			name: "sidecars left readable by an older version",
			prepare: func(t *testing.T, path string) {
				db, err := sqlite.Open(context.Background(), path)
				require.NoError(t, err)
				newProject(t, db)
				// Keep the -wal and -shm files, as after a crash.
				for _, suffix := range []string{"-wal", "-shm"} {
					require.NoError(t, os.Chmod(path+suffix, 0o644))
				}
				require.NoError(t, db.Close())
				for _, suffix := range []string{"-wal", "-shm"} {
					require.NoError(t, os.WriteFile(path+suffix, nil, 0o644))
					require.NoError(t, os.Chmod(path+suffix, 0o644))
				}
			},
			want: map[string]os.FileMode{"": 0o600, "-wal": 0o600, "-shm": 0o600},
		},
		{
			name: "an existing database keeps its owner's mode",
			prepare: func(t *testing.T, path string) {
				require.NoError(t, os.WriteFile(path, nil, 0o640))
				require.NoError(t, os.Chmod(path, 0o640))
			},
			want: map[string]os.FileMode{"": 0o640, "-wal": 0o600, "-shm": 0o600},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.db")
			tt.prepare(t, path)
			db, err := sqlite.Open(context.Background(), path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			p := newProject(t, db) // a write, so the WAL holds data
			newKey(t, db, p.ID, "k", t0, nil)

			for suffix, want := range tt.want {
				info, err := os.Stat(path + suffix)
				require.NoError(t, err, "%s exists while the database is open", path+suffix)
				assert.Equal(t, want, info.Mode().Perm(), "mode of %s", filepath.Base(path+suffix))
			}
		})
	}
}
