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

// TestMigration0011 applies the migrations before 0011 to a database, adds
// keys with SQL (as bench.SeedKeysFile does), then opens it: the migration
// indexes the existing live keys' folded names and descriptions (not the
// revoked ones), so searches long enough for the trigram index find them,
// and the triggers keep the index for keys written afterwards.
func TestMigration0011(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	require.NoError(t, registerFold())
	d, err := sql.Open("sqlite", fileURI(path)+"?_foreign_keys=1")
	require.NoError(t, err)
	d.SetMaxOpenConns(1)
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	require.NoError(t, err)
	for _, n := range names {
		if filepath.Base(n) >= "0011" {
			continue
		}
		data, err := fs.ReadFile(migrations, n)
		require.NoError(t, err)
		before[n] = &fstest.MapFile{Data: data}
	}
	require.NoError(t, migrate(ctx, d, before))
	assert.False(t, tableExists(t, d, "api_keys_search"))
	_, err = d.Exec(`INSERT INTO projects (name, tier, created_at) VALUES ('Old', 'starter', '2026-01-02T03:04:05.000000000Z')`)
	require.NoError(t, err)
	for i, k := range []struct {
		name    string
		desc    any
		revoked any
	}{
		{"ÄRGER im Büro", nil, nil},
		{"billing", "Sends the MONTHLY invoices", nil},
		{"old monthly job", nil, "2026-01-03T00:00:00.000000000Z"},
		{"plain", nil, nil},
	} {
		_, err = d.Exec(`INSERT INTO api_keys (project_id, name, description, scope, role, value_prefix, last4, hash,
			created_at, updated_at, revoked_at) VALUES (1, ?, ?, 'secret', 'support', 'sk_', 'abcd', ?, ?, ?, ?)`,
			k.name, k.desc, []byte(string(rune('a'+i))+"0123456789012345678901234567890"),
			"2026-01-02T03:04:05.000000000Z", "2026-01-02T03:04:05.000000000Z", k.revoked)
		require.NoError(t, err)
	}
	require.NoError(t, d.Close())

	db, err := Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	var indexed int
	require.NoError(t, db.r.QueryRow(`SELECT count(*) FROM api_keys_search`).Scan(&indexed))
	assert.Equal(t, 3, indexed, "the live keys, not the revoked one")

	search := func(q string) []string {
		t.Helper()
		p, err := planList(spotzee.ListQuery{ProjectID: 1, Query: q})
		require.NoError(t, err)
		require.Contains(t, p.page.sql, "api_keys_search", "%q uses the index", q)
		page, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: 1, Query: q})
		require.NoError(t, err)
		var got []string
		for _, k := range page.Keys {
			got = append(got, k.Name)
		}
		assert.Equal(t, len(got), page.Total, q)
		return got
	}
	assert.Equal(t, []string{"ÄRGER im Büro"}, search("ärger"))
	assert.Equal(t, []string{"ÄRGER im Büro"}, search("IM BÜ"))
	assert.Equal(t, []string{"billing"}, search("monthly"), "by description; the revoked key is gone")
	assert.Nil(t, search("nothing"))

	// Keys written after the migration are indexed by the triggers.
	_, err = db.w.Exec(`INSERT INTO api_keys (project_id, name, scope, role, value_prefix, last4, hash, created_at, updated_at)
		VALUES (1, 'Monthly report', 'secret', 'support', 'sk_', 'abcd', ?, '2026-01-04T00:00:00.000000000Z', '2026-01-04T00:00:00.000000000Z')`,
		[]byte("z0123456789012345678901234567890"))
	require.NoError(t, err)
	assert.Equal(t, []string{"billing", "Monthly report"}, search("monthly"))

	// Renames and description changes replace a key's entry; revocation and
	// deletion remove it: the index holds exactly the live keys.
	for _, s := range []string{
		`UPDATE api_keys SET name = 'Weekly report' WHERE name = 'Monthly report'`,
		`UPDATE api_keys SET description = NULL WHERE name = 'billing'`,
		`UPDATE api_keys SET description = 'now monthly' WHERE name = 'plain'`,
		`UPDATE api_keys SET revoked_at = '2026-01-05T00:00:00.000000000Z' WHERE name = 'ÄRGER im Büro'`,
		`DELETE FROM api_keys WHERE revoked_at IS NOT NULL AND name = 'old monthly job'`,
	} {
		_, err = db.w.Exec(s)
		require.NoError(t, err, s)
	}
	require.NoError(t, db.r.QueryRow(`SELECT count(*) FROM api_keys_search`).Scan(&indexed))
	assert.Equal(t, 3, indexed, "billing, plain, Weekly report")
	var live int
	require.NoError(t, db.r.QueryRow(`SELECT count(*) FROM api_keys_search s JOIN api_keys k ON k.id = s.rowid
		WHERE k.revoked_at IS NULL`).Scan(&live))
	assert.Equal(t, 3, live)
	assert.Equal(t, []string{"plain"}, search("monthly"))
	assert.Equal(t, []string{"Weekly report"}, search("weekly"))
	assert.Nil(t, search("ärger"))
}
