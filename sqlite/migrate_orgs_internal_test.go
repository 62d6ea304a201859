package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// TestMigration0010 applies the migrations before 0010 to a database, adds
// a project, then opens it: the project lands in the default organisation
// with locale "en" and timezone "UTC", and keeps its keys.
func TestMigration0010(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	d, err := sql.Open("sqlite", fileURI(path)+"?_foreign_keys=1")
	require.NoError(t, err)
	d.SetMaxOpenConns(1)
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	require.NoError(t, err)
	for _, n := range names {
		if filepath.Base(n) >= "0010" {
			continue
		}
		data, err := fs.ReadFile(migrations, n)
		require.NoError(t, err)
		before[n] = &fstest.MapFile{Data: data}
	}
	require.NoError(t, migrate(ctx, d, before))
	_, err = d.Exec(`INSERT INTO projects (name, tier, created_at) VALUES ('Old', 'starter', '2026-01-02T03:04:05.000000000Z')`)
	require.NoError(t, err)
	require.NoError(t, d.Close())

	db, err := Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	p, err := db.Project(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.OrganizationID)
	assert.Equal(t, spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, p.ProjectSettings)
	assert.Equal(t, p.CreatedAt, p.UpdatedAt)
	o, err := db.Organization(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "default", o.Username)
	assert.Equal(t, p.CreatedAt, o.CreatedAt)

	// A fresh database has no organisation until one is made.
	fresh, err := Open(ctx, ":memory:")
	require.NoError(t, err)
	defer fresh.Close()
	_, err = fresh.Organization(ctx, 1)
	assert.Equal(t, spotzee.CodeResourceMissing, spotzee.ErrorCode(err))
}
