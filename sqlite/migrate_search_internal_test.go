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
)

// TestMigration0011 applies the migrations before 0011 to a database, adds
// keys with SQL (as bench.SeedKeysFile does), then opens it: the migration
// indexes the existing live keys' folded names and descriptions (not the
// revoked ones) and leaves the queue empty, so searches long enough for the
// trigram index find them. Keys written afterwards with SQL are queued by
// the triggers, found (or no longer found) by searches at once, and indexed
// by the next flush, or by the next Open when no flush ran.
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

	db := openNoFlush(t, path)
	assert.True(t, tableExists(t, db.w, "api_keys_search_pending"))
	var indexed int
	require.NoError(t, db.r.QueryRow(`SELECT count(*) FROM api_keys_search`).Scan(&indexed))
	assert.Equal(t, 3, indexed, "the live keys, not the revoked one")
	assert.Empty(t, pendingIDs(t, db), "the migration indexes; it queues nothing")
	assertIndexExact(t, db)

	search := func(q string) []string { t.Helper(); return searchNames(t, db, 1, q) }
	assert.Equal(t, []string{"ÄRGER im Büro"}, search("ärger"))
	assert.Equal(t, []string{"ÄRGER im Büro"}, search("IM BÜ"))
	assert.Equal(t, []string{"billing"}, search("monthly"), "by description; the revoked key is not indexed")
	assert.Empty(t, search("nothing"))

	// Keys written after the migration, by SQL outside the store, are
	// queued by the triggers and found at once.
	_, err = db.w.Exec(`INSERT INTO api_keys (project_id, name, scope, role, value_prefix, last4, hash, created_at, updated_at)
		VALUES (1, 'Monthly report', 'secret', 'support', 'sk_', 'abcd', ?, '2026-01-04T00:00:00.000000000Z', '2026-01-04T00:00:00.000000000Z')`,
		[]byte("z0123456789012345678901234567890"))
	require.NoError(t, err)
	assert.Equal(t, []int64{5}, pendingIDs(t, db))
	assert.Equal(t, []string{"billing", "Monthly report"}, search("monthly"))

	// Renames and description changes, revocation and deletion queue the
	// key; searches see the change before any flush.
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
	assert.Equal(t, []int64{1, 2, 4, 5}, pendingIDs(t, db), "the revoked key deleted was not indexed: not queued")
	check := func() {
		t.Helper()
		assert.Equal(t, []string{"plain"}, search("monthly"))
		assert.Equal(t, []string{"Weekly report"}, search("weekly"))
		assert.Empty(t, search("ärger"))
	}
	check()

	// Closed with the queue full, the database is flushed by the next Open.
	require.NoError(t, db.Close())
	db = openNoFlush(t, path)
	assert.Empty(t, pendingIDs(t, db), "Open flushes")
	require.NoError(t, db.r.QueryRow(`SELECT count(*) FROM api_keys_search`).Scan(&indexed))
	assert.Equal(t, 3, indexed, "billing, plain, Weekly report")
	assertIndexExact(t, db)
	check()
}
