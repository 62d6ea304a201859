package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// seedSQL returns the statements that create a project and n keys in it
// named prefix followed by 1..n (SQL, as bench.SeedKeysFile seeds: the
// search triggers queue them), for the benchmarks and tests of this
// package that need a large project fast.
func seedSQL(prefix string, n int) []string {
	return []string{`INSERT INTO projects (name, tier, created_at) VALUES ('Acme', 'starter', '2026-01-02T03:04:05.000000000Z')`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO api_keys (project_id, name, scope, role, value_prefix, last4, hash, created_at, updated_at)
			SELECT (SELECT max(id) FROM projects), '%s' || i, 'secret', 'support', 'sk_', 'abcd', randomblob(32),
				'2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z' FROM n`, n, prefix)}
}

// seedRenamed creates n keys ("seed 1".."seed n") in a new project of db
// with SQL, flushes them into the index, then renames random keys ("load
// …") in rounds of searchFlushThreshold, flushing after each round. It
// returns the project's id.
func seedRenamed(ctx context.Context, tb testing.TB, db *DB, n, rounds int) int64 {
	tb.Helper()
	for _, s := range seedSQL("seed ", n) {
		if _, err := db.w.ExecContext(ctx, s); err != nil {
			tb.Fatal(err)
		}
	}
	var project int64
	if err := db.w.QueryRowContext(ctx, `SELECT max(id) FROM projects`).Scan(&project); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.FlushSearchIndex(ctx); err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range rounds {
		for range searchFlushThreshold {
			if _, err := db.w.ExecContext(ctx, `UPDATE api_keys SET name = ? WHERE id = ?`,
				fmt.Sprintf("load %d", rng.IntN(1_000_000)), rng.IntN(n)+1); err != nil {
				tb.Fatal(err)
			}
		}
		if _, err := db.FlushSearchIndex(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return project
}

// indexBlocks returns how many blocks (segment pages and structure
// records) the trigram index's storage holds.
func indexBlocks(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.w.QueryRow(`SELECT count(*) FROM api_keys_search_data`).Scan(&n))
	return n
}

// TestOptimizeSearchIndex checks that optimizing the index after many
// flushes of renames drops the deleted entries (the index's storage
// shrinks) and changes nothing a search finds.
func TestOptimizeSearchIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openNoFlush(t, ":memory:")
	project := seedRenamed(ctx, t, db, 2000, 6)
	queries := []string{"seed 1", "load 12", "oad 9", "seed 2000"}
	before := map[string][]string{}
	for _, q := range queries {
		before[q] = searchNames(t, db, project, q)
	}
	require.NotEmpty(t, before["seed 1"])
	blocks := indexBlocks(t, db)
	require.NoError(t, db.optimizeSearchIndex(ctx))
	assert.Less(t, indexBlocks(t, db), blocks*3/4, "the renames' deleted entries are gone")
	assertIndexExact(t, db)
	for _, q := range queries {
		assert.Equal(t, before[q], searchNames(t, db, project, q), q)
	}
}

// TestSearchOptimizer checks when the background flush optimizes the
// index: at a tick without writes after a flush (and not again until the
// next flush), and after searchOptimizeEvery flushes while writes go on.
func TestSearchOptimizer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newKey := func(t *testing.T, db *DB, project int64, i int) {
		t.Helper()
		_, err := db.CreateKey(ctx, spotzee.NewKey{
			ProjectID: project, Name: fmt.Sprintf("key %d", i), Scope: spotzee.ScopeSecret, Role: spotzee.RoleEditor,
			ValuePrefix: "sk_", Last4: "abcd", Hash: []byte(fmt.Sprintf("%032d", i)), CreatedAt: searchT0,
		})
		require.NoError(t, err)
	}

	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		db, err := open(ctx, ":memory:", options{searchFlushEvery: 10 * time.Millisecond, searchOptimizeEvery: 1 << 20})
		require.NoError(t, err)
		defer db.Close()
		time.Sleep(100 * time.Millisecond)
		assert.Zero(t, db.search.optimizes.Load(), "nothing flushed: nothing to optimize")
		p, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
		require.NoError(t, err)
		for i := range 20 {
			newKey(t, db, p.ID, i)
		}
		require.Eventually(t, func() bool { return db.search.optimizes.Load() >= 1 && len(pendingIDs(t, db)) == 0 },
			10*time.Second, time.Millisecond)
		// A slow machine may have paused between the writes, and flushed
		// and optimized twice: once the last flush's optimization is done
		// (a few idle ticks), idle ticks add nothing.
		time.Sleep(50 * time.Millisecond)
		done := db.search.optimizes.Load()
		time.Sleep(100 * time.Millisecond)
		assert.Equal(t, done, db.search.optimizes.Load(), "once per flush, not per idle tick")
		assertIndexExact(t, db)
		assert.Len(t, searchNames(t, db, p.ID, "key 1"), 11, "key 1 and key 10 to key 19")
	})

	t.Run("every n flushes", func(t *testing.T) {
		t.Parallel()
		// The tick never comes: only the write threshold wakes the flush,
		// and only the count of flushes makes it optimize.
		db, err := open(ctx, ":memory:", options{searchFlushEvery: time.Hour, searchOptimizeEvery: 2})
		require.NoError(t, err)
		defer db.Close()
		p, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, searchT0)
		require.NoError(t, err)
		for i := range 2*searchFlushThreshold + 10 {
			newKey(t, db, p.ID, i)
			if i == searchFlushThreshold {
				require.Eventually(t, func() bool { return len(pendingIDs(t, db)) < searchFlushThreshold }, 10*time.Second, time.Millisecond)
				assert.Zero(t, db.search.optimizes.Load(), "one flush is not enough")
			}
		}
		require.Eventually(t, func() bool { return db.search.optimizes.Load() == 1 }, 10*time.Second, time.Millisecond)
		_, err = db.FlushSearchIndex(ctx)
		require.NoError(t, err)
		assertIndexExact(t, db)
	})
}

// BenchmarkSearchAfterRenames measures a search of 100,000 keys (the
// list's first page of 25 for q, through ListKeys) after 30 flushes of
// searchFlushThreshold random renames each, as the PATCH load leaves the
// index, and after optimizing it (as the background flush does when idle).
// "seed 0" matches one key, "seed 5000" eleven, "load 12345" the renamed
// keys whose new name contains it.
//
//	go test ./sqlite -run '^$' -bench SearchAfterRenames
func BenchmarkSearchAfterRenames(b *testing.B) {
	ctx := context.Background()
	db, err := open(ctx, filepath.Join(b.TempDir(), "keys.db"), options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	project := seedRenamed(ctx, b, db, 100_000, 30)
	for _, state := range []string{"renamed", "optimized"} {
		if state == "optimized" {
			if err := db.optimizeSearchIndex(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for _, q := range []string{"seed 0", "seed 5000", "load 12345"} {
			b.Run(state+"/"+q, func(b *testing.B) {
				for b.Loop() {
					if _, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: project, Query: q, Limit: 25}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
