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

// migratedBefore returns a connection to a new database file at path to
// which the migrations whose file names sort before first were applied.
func migratedBefore(t *testing.T, path, first string) *sql.DB {
	t.Helper()
	require.NoError(t, registerFold())
	d, err := sql.Open("sqlite", fileURI(path)+"?_foreign_keys=1")
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	d.SetMaxOpenConns(1)
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	require.NoError(t, err)
	for _, n := range names {
		if filepath.Base(n) >= first {
			continue
		}
		data, err := fs.ReadFile(migrations, n)
		require.NoError(t, err)
		before[n] = &fstest.MapFile{Data: data}
	}
	require.NoError(t, migrate(context.Background(), d, before))
	return d
}

// TestMigration0011 applies the migrations before 0011 to a database, adds
// keys with SQL (as bench.SeedKeysFile does), then opens it: the migration
// indexes the existing live keys' folded names and descriptions (not the
// revoked ones) and leaves the queue empty, so searches long enough for the
// trigram index find them. Keys written afterwards with SQL are queued by
// the triggers, found (or no longer found) by searches at once, and indexed
// by the next flush, or by the next Open when no flush ran.
func TestMigration0011(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "old.db")
	d := migratedBefore(t, path, "0011")
	assert.False(t, tableExists(t, d, "api_keys_search"))
	_, err := d.Exec(`INSERT INTO projects (name, tier, created_at) VALUES ('Old', 'starter', '2026-01-02T03:04:05.000000000Z')`)
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
	assert.Equal(t, []int64{1, 2, 4}, indexedKeys(t, db), "the live keys, not the revoked one")
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
	assert.Equal(t, []int64{2, 4, 5}, indexedKeys(t, db), "billing, plain, Weekly report")
	assertIndexExact(t, db)
	check()
}

// TestMigration0012 opens a database whose search index and queue are
// 0011's — keys indexed, then renamed, revoked and added with SQL, so the
// queue holds ids without the text their index entries hold — and checks
// that the migration rebuilds both: the index is exactly the live keys'
// text, and changes made afterwards are recorded with the text to delete.
func TestMigration0012(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	d := migratedBefore(t, path, "0012")
	const insert = `INSERT INTO api_keys (project_id, name, description, scope, role, value_prefix, last4, hash, created_at, updated_at)
		VALUES (1, ?, ?, 'secret', 'support', 'sk_', 'abcd', randomblob(32), '2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z')`
	for _, s := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO projects (name, tier, created_at) VALUES ('Old', 'starter', '2026-01-02T03:04:05.000000000Z')`, nil},
		{insert, []any{"Monthly report", "Sends the invoices"}},
		{insert, []any{"Gamma job", nil}},
		{insert, []any{"Delta", nil}},
		// 0011's flush, as its store ran it: the index holds the three.
		{`INSERT INTO api_keys_search (rowid, name_fold, description_fold)
			SELECT id, spotzee_fold(name), spotzee_fold(description) FROM api_keys`, nil},
		{`DELETE FROM api_keys_search_pending`, nil},
		{`UPDATE api_keys SET name = 'Weekly report' WHERE id = 1`, nil},
		{`UPDATE api_keys SET revoked_at = '2026-01-03T00:00:00.000000000Z' WHERE id = 2`, nil},
		{insert, []any{"Epsilon", "new"}},
	} {
		_, err := d.Exec(s.q, s.args...)
		require.NoError(t, err, s.q)
	}
	var queued int
	require.NoError(t, d.QueryRow(`SELECT count(*) FROM api_keys_search_pending`).Scan(&queued))
	require.Equal(t, 3, queued, "0011's queue: the renamed, the revoked and the new key")
	require.NoError(t, d.Close())

	db := openNoFlush(t, path)
	assert.Empty(t, pendingIDs(t, db))
	assertIndexExact(t, db)
	assert.Equal(t, []int64{1, 3, 4}, indexedKeys(t, db))
	assert.Equal(t, []string{"Weekly report"}, searchNames(t, db, 1, "report"))
	assert.Empty(t, searchNames(t, db, 1, "monthly"), "the old name is no longer indexed")

	_, err := db.w.Exec(`UPDATE api_keys SET name = 'Daily report', description = NULL WHERE id = 1`)
	require.NoError(t, err)
	var (
		indexed    bool
		name, desc sql.NullString
	)
	require.NoError(t, db.w.QueryRow(`SELECT indexed, name, description FROM api_keys_search_pending WHERE id = 1`).Scan(&indexed, &name, &desc))
	assert.True(t, indexed)
	assert.Equal(t, "Weekly report", name.String)
	assert.Equal(t, "Sends the invoices", desc.String)
	_, err = db.FlushSearchIndex(ctx)
	require.NoError(t, err)
	assertIndexExact(t, db)
	assert.Equal(t, []string{"Daily report"}, searchNames(t, db, 1, "report"))
}
