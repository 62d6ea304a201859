package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

var searchT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// openNoFlush opens a database at path whose search queue only a
// FlushSearchIndex call (or a later Open) flushes, closed at the end of the
// test.
func openNoFlush(t *testing.T, path string) *DB {
	t.Helper()
	db, err := open(context.Background(), path, options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// queryIDs returns the integers query selects on d, in its order (never
// nil).
func queryIDs(t *testing.T, d *sql.DB, query string) []int64 {
	t.Helper()
	rows, err := d.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

// pendingIDs returns the ids in the search queue, in order (never nil).
func pendingIDs(t *testing.T, db *DB) []int64 {
	t.Helper()
	return queryIDs(t, db.r, `SELECT id FROM api_keys_search_pending ORDER BY id`)
}

// trigrams returns the trigram instances of s, as the FTS5 trigram
// tokenizer emits them: every three consecutive characters, at their
// character offset.
func trigrams(s string) []string {
	r := []rune(s)
	var out []string
	for i := 0; i+3 <= len(r); i++ {
		out = append(out, fmt.Sprintf("%d:%s", i, string(r[i:i+3])))
	}
	return out
}

// searchVocab creates, on the writer's one connection (whose temp schema
// persists), an fts5vocab table listing every term instance of the trigram
// index (the index itself, contentless with columnsize=0, cannot be
// scanned) and returns its name.
func searchVocab(t *testing.T, db *DB) string {
	t.Helper()
	_, err := db.w.Exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab
		USING fts5vocab(main, api_keys_search, 'instance')`)
	require.NoError(t, err)
	return "temp.search_vocab"
}

// indexedKeys returns the ids the trigram index holds terms for, in order
// (never nil).
func indexedKeys(t *testing.T, db *DB) []int64 {
	t.Helper()
	return queryIDs(t, db.w, `SELECT DISTINCT doc FROM `+searchVocab(t, db)+` ORDER BY doc`)
}

// assertIndexExact checks that the trigram index holds exactly the folded
// name and description of every live key, term by term and offset by
// offset (read through fts5vocab), against the same computed from api_keys
// by brute force: a stale entry (a key's old text, a revoked or deleted
// key's) and a missing one both fail it.
func assertIndexExact(t *testing.T, db *DB) {
	t.Helper()
	read := func(query string, scan func(*sql.Rows) []string) []string {
		rows, err := db.w.Query(query)
		require.NoError(t, err)
		defer rows.Close()
		out := []string{}
		for rows.Next() {
			out = append(out, scan(rows)...)
		}
		require.NoError(t, rows.Err())
		slices.Sort(out)
		return out
	}
	indexed := read(`SELECT doc, col, offset, term FROM `+searchVocab(t, db), func(rows *sql.Rows) []string {
		var (
			doc, off  int64
			col, term string
		)
		require.NoError(t, rows.Scan(&doc, &col, &off, &term))
		return []string{fmt.Sprintf("%d %s %d:%s", doc, col, off, term)}
	})
	want := read(`SELECT id, name, description FROM api_keys WHERE revoked_at IS NULL`, func(rows *sql.Rows) []string {
		var (
			id   int64
			name string
			desc sql.NullString
		)
		require.NoError(t, rows.Scan(&id, &name, &desc))
		var out []string
		for _, tg := range trigrams(fold(name)) {
			out = append(out, fmt.Sprintf("%d name_fold %s", id, tg))
		}
		for _, tg := range trigrams(fold(desc.String)) {
			out = append(out, fmt.Sprintf("%d description_fold %s", id, tg))
		}
		return out
	})
	assert.Equal(t, want, indexed, "the index is the live keys' folded text")
}

// searchNames returns the names of project's keys ListKeys finds for q (in
// id order), checking that the query starts from the trigram index and that
// Total agrees.
func searchNames(t *testing.T, db *DB, project int64, q string) []string {
	t.Helper()
	p, err := planList(spotzee.ListQuery{ProjectID: project, Query: q})
	require.NoError(t, err)
	require.Contains(t, p.page.sql, "api_keys_search_pending", "%q uses the index and the queue", q)
	page, err := db.ListKeys(context.Background(), spotzee.ListQuery{ProjectID: project, Query: q})
	require.NoError(t, err)
	got := []string{}
	for _, k := range page.Keys {
		got = append(got, k.Name)
	}
	assert.Equal(t, len(got), page.Total, q)
	return got
}

// TestSearchQueue changes keys through the store and checks, after each
// change, which ids the triggers queued, that searches find exactly the
// keys whose current text matches before any flush (through the queue)
// and after one (through the index), and that the flush empties the queue
// and leaves the index equal to the live keys' folded text.
func TestSearchQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openNoFlush(t, ":memory:")
	p, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
	require.NoError(t, err)
	ids := map[string]int64{}
	create := func(t *testing.T, name string, desc *string) {
		t.Helper()
		k, err := db.CreateKey(ctx, spotzee.NewKey{
			ProjectID: p.ID, Name: name, Description: desc, Scope: spotzee.ScopeSecret, Role: spotzee.RoleEditor,
			ValuePrefix: "sk_", Last4: "abcd", Hash: []byte(fmt.Sprintf("%-32s", name)), CreatedAt: searchT0,
		})
		require.NoError(t, err)
		ids[name] = k.ID
	}
	update := func(name string, u spotzee.KeyUpdate) func(*testing.T) {
		return func(t *testing.T) {
			_, err := db.UpdateKey(ctx, 0, p.ID, ids[name], u, searchT0.Add(time.Hour))
			require.NoError(t, err)
		}
	}
	str := func(s string) *string { return &s }
	create(t, "Alpha report", str("Sends the MONTHLY invoices"))
	create(t, "Beta job", nil)
	create(t, "Gamma", nil)
	_, err = db.FlushSearchIndex(ctx)
	require.NoError(t, err)
	assertIndexExact(t, db)

	role := spotzee.RoleSupport
	for _, step := range []struct {
		name   string
		do     func(*testing.T)
		queued []string            // keys (by their first name) the step queues
		finds  map[string][]string // q → the names found, in id order
	}{
		{
			name: "insert", do: func(t *testing.T) { create(t, "Delta monthly", nil) },
			queued: []string{"Delta monthly"},
			finds:  map[string][]string{"monthly": {"Alpha report", "Delta monthly"}, "delta": {"Delta monthly"}},
		},
		{
			name: "rename", do: update("Alpha report", spotzee.KeyUpdate{Name: str("Alpha weekly")}),
			queued: []string{"Alpha report"},
			finds: map[string][]string{
				"report": {}, "weekly": {"Alpha weekly"}, "monthly": {"Alpha weekly", "Delta monthly"},
			},
		},
		{
			name: "rename with Unicode folding", do: update("Gamma", spotzee.KeyUpdate{Name: str("ÄRGER im Büro")}),
			queued: []string{"Gamma"},
			finds:  map[string][]string{"gamma": {}, "ärger": {"ÄRGER im Büro"}, "IM BÜ": {"ÄRGER im Büro"}},
		},
		{
			name: "description set", do: update("Beta job", spotzee.KeyUpdate{SetDescription: true, Description: str("Monthly payroll")}),
			queued: []string{"Beta job"},
			finds: map[string][]string{
				"payroll": {"Beta job"}, "monthly": {"Alpha weekly", "Beta job", "Delta monthly"},
			},
		},
		{
			name: "description cleared", do: update("Alpha report", spotzee.KeyUpdate{SetDescription: true}),
			queued: []string{"Alpha report"},
			finds:  map[string][]string{"invoices": {}, "monthly": {"Beta job", "Delta monthly"}},
		},
		{
			name: "revoke", do: func(t *testing.T) {
				_, err := db.RevokeKey(ctx, 0, p.ID, ids["Delta monthly"], searchT0.Add(time.Hour))
				require.NoError(t, err)
			},
			queued: []string{"Delta monthly"},
			finds:  map[string][]string{"monthly": {"Beta job"}, "delta": {}},
		},
		{
			name: "same name and description, other fields", do: func(t *testing.T) {
				update("Beta job", spotzee.KeyUpdate{Name: str("Beta job")})(t)
				update("Beta job", spotzee.KeyUpdate{SetDescription: true, Description: str("Monthly payroll")})(t)
				update("Beta job", spotzee.KeyUpdate{Name: str("Beta job"), SetDescription: true, Description: str("Monthly payroll"), Role: &role})(t)
			},
			queued: []string{},
			finds:  map[string][]string{"payroll": {"Beta job"}, "beta": {"Beta job"}},
		},
		{
			name: "many changes, one entry", do: func(t *testing.T) {
				update("Beta job", spotzee.KeyUpdate{Name: str("Beta one")})(t)
				update("Beta job", spotzee.KeyUpdate{Name: str("Beta two")})(t)
				update("Beta job", spotzee.KeyUpdate{SetDescription: true, Description: str("weekly payroll")})(t)
			},
			queued: []string{"Beta job"},
			finds:  map[string][]string{"beta one": {}, "beta two": {"Beta two"}, "weekly": {"Alpha weekly", "Beta two"}},
		},
		{
			name: "delete", do: func(t *testing.T) {
				_, err := db.w.Exec(`DELETE FROM api_keys WHERE id = ?`, ids["Gamma"])
				require.NoError(t, err)
			},
			queued: []string{"Gamma"},
			finds:  map[string][]string{"ärger": {}},
		},
		{
			name: "revoked key renamed", do: func(t *testing.T) {
				_, err := db.w.Exec(`UPDATE api_keys SET name = 'Delta renamed' WHERE id = ?`, ids["Delta monthly"])
				require.NoError(t, err)
			},
			queued: []string{},
			finds:  map[string][]string{"delta": {}, "renamed": {}},
		},
		{
			name: "revocation undone with SQL", do: func(t *testing.T) {
				_, err := db.w.Exec(`UPDATE api_keys SET revoked_at = NULL WHERE id = ?`, ids["Delta monthly"])
				require.NoError(t, err)
			},
			queued: []string{"Delta monthly"},
			finds:  map[string][]string{"delta": {"Delta renamed"}, "monthly": {}},
		},
		{
			// The id of the last key, deleted, is reused by the next
			// insert: one queue entry, the deleted key's text unindexed
			// and the new key's indexed.
			name: "id reused", do: func(t *testing.T) {
				_, err := db.w.Exec(`DELETE FROM api_keys WHERE id = ?`, ids["Delta monthly"])
				require.NoError(t, err)
				_, err = db.w.Exec(`INSERT INTO api_keys (id, project_id, name, scope, role, value_prefix, last4, hash, created_at, updated_at)
					VALUES (?, ?, 'Epsilon', 'secret', 'support', 'sk_', 'abcd', randomblob(32), '2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z')`,
					ids["Delta monthly"], p.ID)
				require.NoError(t, err)
			},
			queued: []string{"Delta monthly"},
			finds:  map[string][]string{"delta": {}, "epsilon": {"Epsilon"}},
		},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.do(t)
			queued := []int64{}
			for _, name := range step.queued {
				queued = append(queued, ids[name])
			}
			slices.Sort(queued)
			assert.Equal(t, queued, pendingIDs(t, db), "queued ids")
			check := func(when string) {
				for q, want := range step.finds {
					assert.Equal(t, want, searchNames(t, db, p.ID, q), "%s: q=%q", when, q)
				}
			}
			check("before the flush")
			n, err := db.FlushSearchIndex(ctx)
			require.NoError(t, err)
			assert.Equal(t, len(queued), n, "ids flushed")
			assert.Empty(t, pendingIDs(t, db))
			assertIndexExact(t, db)
			check("after the flush")
			n, err = db.FlushSearchIndex(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "an empty queue")
		})
	}
}

// TestSearchQueueRecordsIndexedText checks what the triggers (migration
// 0012) record with each queued id — whether the index holds the key and,
// if so, the text it holds — which the flush's FTS5 'delete' must be given
// exactly: the text before the first change since the last flush, not the
// current one, for every kind of change.
func TestSearchQueueRecordsIndexedText(t *testing.T) {
	t.Parallel()
	type rec struct {
		Indexed           bool
		Name, Description sql.NullString
	}
	some := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	const insert = `INSERT INTO api_keys (id, project_id, name, description, scope, role, value_prefix, last4, hash, created_at, updated_at, revoked_at)
		VALUES (?, 1, ?, ?, 'secret', 'support', 'sk_', 'abcd', randomblob(32), '2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z', ?)`
	const revokedAt = "2026-01-03T00:00:00.000000000Z"
	for _, tc := range []struct {
		name    string
		revoked bool     // the key, "old name" / "old text", is revoked before the flush
		do      []string // statements on key 7 after the flush
		want    *rec     // key 7's queue entry (nil: not queued)
	}{
		{"deleted, id reused", false, []string{`DELETE FROM api_keys WHERE id = 7`, `INSERT INTO api_keys (id, project_id, name, scope, role, value_prefix, last4, hash, created_at, updated_at)
			VALUES (7, 1, 'new', 'secret', 'support', 'sk_', 'abcd', randomblob(32), '2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z')`},
			&rec{Indexed: true, Name: some("old name"), Description: some("old text")}},
		{"rename", false, []string{`UPDATE api_keys SET name = 'new' WHERE id = 7`},
			&rec{Indexed: true, Name: some("old name"), Description: some("old text")}},
		{"renamed twice", false, []string{`UPDATE api_keys SET name = 'new' WHERE id = 7`, `UPDATE api_keys SET name = 'newer', description = NULL WHERE id = 7`},
			&rec{Indexed: true, Name: some("old name"), Description: some("old text")}},
		{"description cleared", false, []string{`UPDATE api_keys SET description = NULL WHERE id = 7`},
			&rec{Indexed: true, Name: some("old name"), Description: some("old text")}},
		{"same text", false, []string{`UPDATE api_keys SET name = 'old name', role = 'editor' WHERE id = 7`}, nil},
		{"revoke", false, []string{`UPDATE api_keys SET revoked_at = '` + revokedAt + `' WHERE id = 7`},
			&rec{Indexed: true, Name: some("old name"), Description: some("old text")}},
		{"delete", false, []string{`DELETE FROM api_keys WHERE id = 7`},
			&rec{Indexed: true, Name: some("old name"), Description: some("old text")}},
		{"revoked key renamed", true, []string{`UPDATE api_keys SET name = 'new' WHERE id = 7`}, nil},
		{"revoked key deleted", true, []string{`DELETE FROM api_keys WHERE id = 7`}, nil},
		{"un-revoke", true, []string{`UPDATE api_keys SET revoked_at = NULL WHERE id = 7`},
			&rec{Indexed: false, Name: some("old name"), Description: some("old text")}},
		{"un-revoke and rename at once", true, []string{`UPDATE api_keys SET revoked_at = NULL, name = 'new' WHERE id = 7`},
			&rec{Indexed: false, Name: some("old name"), Description: some("old text")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openNoFlush(t, ":memory:")
			_, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
			require.NoError(t, err)
			var revoked any
			if tc.revoked {
				revoked = revokedAt
			}
			_, err = db.w.Exec(insert, 1, "first", nil, nil)
			require.NoError(t, err)
			_, err = db.w.Exec(insert, 7, "old name", "old text", revoked)
			require.NoError(t, err)
			var fresh rec
			require.NoError(t, db.w.QueryRow(`SELECT indexed, name, description FROM api_keys_search_pending WHERE id = 1`).
				Scan(&fresh.Indexed, &fresh.Name, &fresh.Description))
			assert.Equal(t, rec{}, fresh, "a new key: nothing indexed to delete")
			_, err = db.FlushSearchIndex(ctx)
			require.NoError(t, err)
			for _, s := range tc.do {
				_, err := db.w.Exec(s)
				require.NoError(t, err, s)
			}
			var got rec
			err = db.w.QueryRow(`SELECT indexed, name, description FROM api_keys_search_pending WHERE id = 7`).
				Scan(&got.Indexed, &got.Name, &got.Description)
			if tc.want == nil {
				require.ErrorIs(t, err, sql.ErrNoRows, "not queued")
			} else {
				require.NoError(t, err)
				assert.Equal(t, *tc.want, got)
			}
			_, err = db.FlushSearchIndex(ctx)
			require.NoError(t, err)
			assertIndexExact(t, db)
		})
	}
}

// TestSearchFlushRandomChanges applies random changes with SQL — inserts
// (reusing deleted ids), renames, description changes, revocations and
// their undoing, deletions — to a few keys, flushing at random moments
// (often several changes of one key between two flushes), and checks after
// every flush that the index is exactly the live keys' text: a delete given
// other text than the index holds would leave stale entries behind.
func TestSearchFlushRandomChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openNoFlush(t, ":memory:")
	_, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(16, 12))
	words := []string{"alpha", "Beta", "GAMMA", "delta job", "Ärger", "invoices", "weekly report", "x"}
	text := func() any {
		if rng.IntN(5) == 0 {
			return nil
		}
		return words[rng.IntN(len(words))] + " " + words[rng.IntN(len(words))]
	}
	const keys = 12
	flushes := 0
	for step := range 600 {
		id := rng.IntN(keys) + 1
		var s string
		var args []any
		switch rng.IntN(6) {
		case 0:
			s, args = `INSERT OR IGNORE INTO api_keys (id, project_id, name, description, scope, role, value_prefix, last4, hash, created_at, updated_at)
				VALUES (?, 1, ?, ?, 'secret', 'support', 'sk_', 'abcd', randomblob(32), '2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z')`,
				[]any{id, words[rng.IntN(len(words))], text()}
		case 1:
			s, args = `UPDATE api_keys SET name = ? WHERE id = ?`, []any{words[rng.IntN(len(words))], id}
		case 2:
			s, args = `UPDATE api_keys SET description = ? WHERE id = ?`, []any{text(), id}
		case 3:
			s, args = `UPDATE api_keys SET revoked_at = CASE WHEN revoked_at IS NULL THEN '2026-01-03T00:00:00.000000000Z' END WHERE id = ?`, []any{id}
		case 4:
			s, args = `DELETE FROM api_keys WHERE id = ?`, []any{id}
		case 5:
			s, args = `UPDATE api_keys SET name = ?, description = ?, revoked_at = NULL WHERE id = ?`, []any{words[rng.IntN(len(words))], text(), id}
		}
		_, err := db.w.Exec(s, args...)
		require.NoError(t, err, "step %d: %s", step, s)
		if rng.IntN(8) == 0 {
			_, err := db.FlushSearchIndex(ctx)
			require.NoError(t, err)
			flushes++
			assertIndexExact(t, db)
			if t.Failed() {
				t.Fatalf("step %d: the index is not the live keys' text", step)
			}
		}
	}
	assert.Greater(t, flushes, 40)
}

// TestSearchFlusher checks the background flush: the timer flushes a short
// queue, the write path wakes it after searchFlushThreshold writes without
// waiting for the timer, concurrent explicit flushes and writes leave an
// exact index, and Close stops it.
func TestSearchFlusher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newKey := func(db *DB, project int64, i int) {
		_, err := db.CreateKey(ctx, spotzee.NewKey{
			ProjectID: project, Name: fmt.Sprintf("key %d", i), Scope: spotzee.ScopeSecret, Role: spotzee.RoleEditor,
			ValuePrefix: "sk_", Last4: "abcd", Hash: []byte(fmt.Sprintf("%032d", i)), CreatedAt: searchT0,
		})
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		name  string
		every time.Duration
		// before is how many keys the test creates before the last one,
		// after creating the project (one write too).
		before int
	}{
		{"timer", 20 * time.Millisecond, 2},
		// The timer would not fire in the test's time: the threshold, which
		// the last key's write reaches, does.
		{"threshold", time.Hour, searchFlushThreshold - 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := open(ctx, ":memory:", options{searchFlushEvery: tc.every})
			require.NoError(t, err)
			defer db.Close()
			p, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
			require.NoError(t, err)
			for i := range tc.before {
				newKey(db, p.ID, i)
			}
			if tc.every == time.Hour {
				assert.Len(t, pendingIDs(t, db), tc.before, "below the threshold, nothing flushed")
			}
			newKey(db, p.ID, tc.before)
			require.Eventually(t, func() bool { return len(pendingIDs(t, db)) == 0 }, 10*time.Second, 5*time.Millisecond)
			assertIndexExact(t, db)
		})
	}

	t.Run("concurrent flushes and writes", func(t *testing.T) {
		t.Parallel()
		db, err := open(ctx, ":memory:", options{searchFlushEvery: time.Millisecond})
		require.NoError(t, err)
		defer db.Close()
		p, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for i := range 30 {
					newKey(db, p.ID, w*1000+i)
					_, err := db.FlushSearchIndex(ctx)
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		_, err = db.FlushSearchIndex(ctx)
		require.NoError(t, err)
		assert.Empty(t, pendingIDs(t, db))
		assertIndexExact(t, db)
		assert.Len(t, searchNames(t, db, p.ID, "key 10"), 1+30, "key 10 and key 1000 to key 1029")
	})

	t.Run("close stops it", func(t *testing.T) {
		t.Parallel()
		db, err := open(ctx, filepath.Join(t.TempDir(), "keys.db"), options{searchFlushEvery: time.Millisecond})
		require.NoError(t, err)
		p, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
		require.NoError(t, err)
		newKey(db, p.ID, 1)
		done := make(chan error)
		go func() { done <- db.Close() }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Close does not return")
		}
		select {
		case <-db.search.done:
		default:
			t.Fatal("the background flush still runs after Close")
		}
		_, err = db.FlushSearchIndex(ctx)
		require.Error(t, err, "a flush after Close")
		assert.Contains(t, err.Error(), "sqlite: flush search index")
		require.NoError(t, db.Close(), "Close twice")
	})
}
