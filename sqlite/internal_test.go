package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

func pragma(t *testing.T, d *sql.DB, name string) string {
	t.Helper()
	var v string
	require.NoError(t, d.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v))
	return v
}

func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, path := range []string{":memory:", filepath.Join(t.TempDir(), "keys.db")} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			db, err := Open(ctx, path)
			require.NoError(t, err)
			defer db.Close()

			for _, d := range []*sql.DB{db.w, db.r} {
				assert.Equal(t, "5000", pragma(t, d, "busy_timeout"))
				assert.Equal(t, "1", pragma(t, d, "foreign_keys"))
			}
			assert.Equal(t, "0", pragma(t, db.w, "query_only"))
			assert.Equal(t, "1", pragma(t, db.r, "query_only"), "readers cannot write")
			assert.Equal(t, 1, db.w.Stats().MaxOpenConnections, "one writer connection")
			assert.Greater(t, db.r.Stats().MaxOpenConnections, 1, "concurrent readers")
			if path != ":memory:" {
				assert.Equal(t, "wal", pragma(t, db.w, "journal_mode"))
				assert.Equal(t, "1", pragma(t, db.w, "synchronous"), "NORMAL")
			}
		})
	}
}

func TestWritesUseImmediateTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	db, err := Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()

	// An IMMEDIATE transaction holds the write lock from BEGIN: another
	// connection cannot start writing, even before the first one wrote.
	require.NoError(t, db.write(ctx, func(context.Context, *sql.Tx) error {
		other, err := sql.Open("sqlite", path+"?_busy_timeout=0")
		require.NoError(t, err)
		defer other.Close()
		_, err = other.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES ('x', x'00')`)
		assert.ErrorContains(t, err, "locked")
		return nil
	}))
}

var migration1 = &fstest.MapFile{Data: []byte(`CREATE TABLE one (a INTEGER); INSERT INTO one VALUES (1);`)}

func tableExists(t *testing.T, d *sql.DB, name string) bool {
	t.Helper()
	var n int
	require.NoError(t, d.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, name).Scan(&n))
	return n == 1
}

func versions(t *testing.T, d *sql.DB) []string {
	t.Helper()
	rows, err := d.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	defer d.Close()
	d.SetMaxOpenConns(1)

	v1 := fstest.MapFS{"migrations/0001_one.sql": migration1}
	require.NoError(t, migrate(ctx, d, v1))
	require.NoError(t, migrate(ctx, d, v1), "a second run applies nothing (CREATE TABLE would fail)")
	assert.Equal(t, []string{"0001_one.sql"}, versions(t, d))

	// Files apply in name order, only the new ones.
	v3 := fstest.MapFS{
		"migrations/0001_one.sql":   migration1,
		"migrations/0003_three.sql": {Data: []byte(`INSERT INTO two VALUES (3);`)},
		"migrations/0002_two.sql":   {Data: []byte(`CREATE TABLE two (b INTEGER);`)},
		"migrations/README.md":      {Data: []byte(`not a migration`)},
	}
	require.NoError(t, migrate(ctx, d, v3))
	assert.Equal(t, []string{"0001_one.sql", "0002_two.sql", "0003_three.sql"}, versions(t, d))
	var ones int
	require.NoError(t, d.QueryRow(`SELECT count(*) FROM one`).Scan(&ones))
	assert.Equal(t, 1, ones, "0001 ran once")

	// A failing migration leaves nothing behind: neither its first
	// statements nor its record.
	v4 := fstest.MapFS{
		"migrations/0001_one.sql":  migration1,
		"migrations/0004_bad.sql":  {Data: []byte(`CREATE TABLE four (c INTEGER); INSERT INTO nowhere VALUES (1);`)},
		"migrations/0005_next.sql": {Data: []byte(`CREATE TABLE five (d INTEGER);`)},
	}
	err = migrate(ctx, d, v4)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "0004_bad.sql")
	assert.False(t, tableExists(t, d, "four"))
	assert.False(t, tableExists(t, d, "five"), "later migrations wait for the failed one")
	assert.Equal(t, []string{"0001_one.sql", "0002_two.sql", "0003_three.sql"}, versions(t, d))
}

// queryPlan returns the EXPLAIN QUERY PLAN lines of s.
func queryPlan(t *testing.T, db *DB, s stmt) string {
	t.Helper()
	rows, err := db.r.Query("EXPLAIN QUERY PLAN "+s.sql, s.args...)
	require.NoError(t, err)
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		lines = append(lines, detail)
	}
	require.NoError(t, rows.Err())
	return strings.Join(lines, "\n")
}

func TestQueryPlansUseIndexes(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), ":memory:")
	require.NoError(t, err)
	defer db.Close()

	// The search flush reads the queue by id and touches only the queued
	// keys' entries and rows, whatever the project's size.
	flush := map[string]string{
		sqlSearchUnindex: `^SEARCH api_keys_search_pending USING INTEGER PRIMARY KEY \(rowid<\?\)$`,
		sqlSearchIndex:   `(?s)SEARCH p USING INTEGER PRIMARY KEY.*SEARCH k USING INTEGER PRIMARY KEY \(rowid=\?\)`,
		sqlSearchDequeue: `SEARCH api_keys_search_pending USING INTEGER PRIMARY KEY`,
	}
	for s, want := range flush {
		plan := queryPlan(t, db, stmt{s, []any{1}})
		assert.Regexp(t, want, plan, "%s\n%s", s, plan)
	}

	assert.Contains(t, queryPlan(t, db, stmt{`SELECT ` + keyColumns + ` FROM api_keys WHERE hash = ?`, []any{[]byte{1}}}),
		"USING INDEX api_keys_hash (hash=?)", "bearer lookup is one index probe")

	index := map[spotzee.SortField]string{
		spotzee.SortID: "api_keys_live_id", spotzee.SortName: "api_keys_live_name",
		spotzee.SortCreatedAt: "api_keys_live_created", spotzee.SortUpdatedAt: "api_keys_live_updated",
	}
	pos := &spotzee.Position{Value: "v", ID: 3}
	for f, idx := range index {
		for _, desc := range []bool{false, true} {
			for _, cursor := range []string{"none", "after", "before"} {
				// "ne" is too short for the trigram index: a scan of the
				// project's live keys, as without a filter.
				for _, query := range []string{"", "ne", "needle"} {
					q := spotzee.ListQuery{ProjectID: 1, Sort: f, Desc: desc, Limit: 5, Query: query}
					switch cursor {
					case "after":
						q.After = pos
					case "before":
						q.Before = pos
					}
					name := fmt.Sprintf("%s desc=%v cursor=%s query=%q", f, desc, cursor, query)
					p, err := planList(q)
					require.NoError(t, err, name)
					assert.NotContains(t, p.page.sql, "OFFSET", name)
					plans := map[string]string{"page": queryPlan(t, db, p.page), "count": queryPlan(t, db, p.count)}
					if cursor != "none" {
						plans["exists"] = queryPlan(t, db, *p.other)
					}
					if query == "needle" {
						// The candidates drive every statement: the trigram
						// index's matches and the queued ids, merged (both
						// come in id order), each joined to its key by id;
						// no per-project index (that would read every key).
						for stmt, plan := range plans {
							assert.Regexp(t, `(?m)^SCAN api_keys_search VIRTUAL TABLE INDEX \d+:M`, plan, "%s: %s\n%s", name, stmt, plan)
							assert.Regexp(t, `(?m)^SCAN api_keys_search_pending$`, plan, "%s: %s\n%s", name, stmt, plan)
							assert.Contains(t, plan, "SEARCH api_keys USING INTEGER PRIMARY KEY (rowid=?)", "%s: %s\n%s", name, stmt, plan)
							assert.NotContains(t, plan, "api_keys_live_", "%s: %s\n%s", name, stmt, plan)
							assert.Less(t, strings.Index(plan, "SCAN api_keys_search_pending"), strings.Index(plan, "SEARCH api_keys USING"),
								"%s: %s starts from the candidates\n%s", name, stmt, plan)
							assert.Less(t, strings.Index(plan, "SCAN hits"), strings.Index(plan, "SEARCH api_keys USING"),
								"%s: %s joins the candidates to their keys\n%s", name, stmt, plan)
						}
						continue
					}
					plan := plans["page"]
					assert.Contains(t, plan, "USING INDEX "+idx+" (project_id=?", "%s: page\n%s", name, plan)
					assert.NotContains(t, plan, "TEMP B-TREE", "%s: page sorts in memory\n%s", name, plan)
					if cursor != "none" {
						other := plans["exists"]
						assert.Contains(t, other, "USING INDEX "+idx+" (project_id=?", "%s: exists\n%s", name, other)
					}
					count := plans["count"]
					if query == "" {
						// The trigger-kept count: one primary-key probe.
						assert.Contains(t, count, "SEARCH projects USING INTEGER PRIMARY KEY (rowid=?)", "%s: count\n%s", name, count)
					} else {
						assert.Regexp(t, `USING (COVERING )?INDEX api_keys_live_\w+ \(project_id=\?\)`, count, "%s: count\n%s", name, count)
					}
				}
			}
		}
	}
}
