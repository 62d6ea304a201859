package sqlite

import (
	"context"
	"database/sql"
	"fmt"
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

// pendingIDs returns the ids in the search queue, in order (never nil).
func pendingIDs(t *testing.T, db *DB) []int64 {
	t.Helper()
	rows, err := db.r.Query(`SELECT id FROM api_keys_search_pending ORDER BY id`)
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

// assertIndexExact checks that the trigram index holds exactly the folded
// name and description of every live key, term by term and offset by
// offset (read through fts5vocab), against the same computed from api_keys
// by brute force.
func assertIndexExact(t *testing.T, db *DB) {
	t.Helper()
	// The writer is one connection: its temp schema persists.
	_, err := db.w.Exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab
		USING fts5vocab(main, api_keys_search, 'instance')`)
	require.NoError(t, err)
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
	indexed := read(`SELECT doc, col, offset, term FROM temp.search_vocab`, func(rows *sql.Rows) []string {
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
	docs := read(`SELECT rowid FROM api_keys_search`, func(rows *sql.Rows) []string {
		var id int64
		require.NoError(t, rows.Scan(&id))
		return []string{fmt.Sprint(id)}
	})
	live := read(`SELECT id FROM api_keys WHERE revoked_at IS NULL`, func(rows *sql.Rows) []string {
		var id int64
		require.NoError(t, rows.Scan(&id))
		return []string{fmt.Sprint(id)}
	})
	assert.Equal(t, live, docs, "one entry per live key")
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
