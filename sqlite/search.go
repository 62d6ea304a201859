package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The key list's trigram index (migration 0011) is kept off the write path:
// triggers queue the ids of keys whose indexed text may have changed in
// api_keys_search_pending, and FlushSearchIndex moves the queue into the
// index, many ids per transaction. Searches read the queue as well as the
// index (see planListOf), so they are exact however stale the index is; the
// flush only keeps the queue, which every search reads in full, short.
//
// Who flushes: Open, once, after the migrations (a queue another process
// left, e.g. keys seeded with SQL); then a goroutine the DB owns, started by
// Open and stopped by Close, so every user of the store (the reference
// server, spotzeetest, embedders) gets a short queue without wiring a timer:
//
//   - every searchFlushInterval, when the store has written since it last
//     looked (a counter, no query otherwise) or every searchFlushForceTicks
//     ticks regardless (another process may have queued ids), it checks the
//     queue with one read and flushes when it is not empty;
//   - after searchFlushThreshold write transactions since it last looked,
//     the write path wakes it at once (a non-blocking send). Every write of
//     the store touches at most one key, so the queue holds at most that
//     many ids from this process: under a sustained write load the queue,
//     and with it each search's extra work, stays bounded by the threshold
//     rather than by the load times the interval, and each flush spreads
//     FTS5's per-transaction cost over up to that many keys.
//
// A flush never runs concurrently with itself (flushMu), and it holds the
// write lock for its one transaction, so writes wait for it as for any
// other write; it is short, but not free: BenchmarkFlushSearch measured
// 4.5 ms (1,000 keys) and 16 ms (100,000 keys) of wall time for 256
// renames, 13 and 44 ms for 1,024 (since migration 0012's delete by
// value, 12 and 31 ms of wall time, 6.0 and 19 ms of CPU, checkpoint
// included). The threshold was 256 until #16's second session: 1,024 spreads FTS5's per-transaction cost over four
// times as many renames (CPU per renamed key 13.2 → 7.3 µs at 1,000 keys,
// 47 → 31 µs at 100,000) and measured 4–11% more PATCH throughput under
// load, at the cost of a longer stall of the writer per flush (PATCH p99
// 9.5 → 15 ms at 100,000 keys).
//
// Since migration 0012 a flush deletes a key's old entry by value: the
// delete is an entry of the flush's new segment, which cancels the old one
// only when FTS5 merges the two. FTS5 merges small segments by itself
// (automerge), but the oldest, largest segment (the keys indexed at once by
// a migration or a first flush) rarely merges, so searches after many
// renames read more and more deleted entries: BenchmarkSearchAfterRenames
// measured searches 2.1 to 2.7 times as slow after 30 flushes at 100,000
// keys.
// So the background flush also optimizes the index — FTS5's 'optimize',
// which merges every segment into one (66 ms at 100,000 keys) — at its
// first tick without writes after a flush, and under sustained writes after
// every searchOptimizeEvery flushes (a 66 ms pause of writes every 32,768
// renames at 100,000 keys, some 2 µs per rename).
const (
	searchFlushInterval   = time.Second
	searchFlushForceTicks = 60
	searchFlushThreshold  = 1024
	searchOptimizeEvery   = 32
)

// searchFlusher is the DB's background flush of the search queue.
type searchFlusher struct {
	mu sync.Mutex // held by every flush

	// writes counts the store's write transactions since the background
	// flush last looked at the queue.
	writes atomic.Int64
	// wake, when the background flush runs, is signalled (without blocking)
	// when writes reaches searchFlushThreshold.
	wake chan struct{}
	// optimizes counts the background optimizations run (tests wait on it).
	optimizes atomic.Uint64
	stop      context.CancelFunc
	done      chan struct{}
}

// wrote records a write transaction of the store; the write path calls it.
func (f *searchFlusher) wrote() {
	if f.writes.Add(1) == searchFlushThreshold && f.wake != nil {
		select {
		case f.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// The flush's statements. Each handles only the queued ids up to the
// largest one it read at the start of the transaction: holding the write
// lock, the flush sees no id queued meanwhile, but an id queued after that
// read would stay queued rather than be dropped unindexed. The unindex is
// FTS5's 'delete' command with the text the queue recorded as indexed
// (migration 0012), folded as the flush that indexed it folded it.
const (
	sqlSearchPendingMax    = `SELECT max(id) FROM api_keys_search_pending`
	sqlSearchPendingExists = `SELECT EXISTS (SELECT 1 FROM api_keys_search_pending)`
	sqlSearchUnindex       = `INSERT INTO api_keys_search (api_keys_search, rowid, name_fold, description_fold)
	SELECT 'delete', id, ` + foldFunc + `(name), ` + foldFunc + `(description)
	FROM api_keys_search_pending WHERE id <= ? AND indexed`
	sqlSearchIndex = `INSERT INTO api_keys_search (rowid, name_fold, description_fold)
	SELECT k.id, ` + foldFunc + `(k.name), ` + foldFunc + `(k.description)
	FROM api_keys_search_pending p CROSS JOIN api_keys k ON k.id = p.id
	WHERE p.id <= ? AND k.revoked_at IS NULL`
	sqlSearchDequeue = `DELETE FROM api_keys_search_pending WHERE id <= ?`
)

// FlushSearchIndex brings the key list's trigram index up to date: in one
// write transaction, for every key id queued since the last flush (keys
// inserted, renamed, described differently, revoked or deleted), it
// deletes the id's entry from the index (given the text the queue recorded
// as indexed, when the key was), indexes the key's folded name and
// description again when the key exists and is live, and removes the id
// from the queue. It returns how many ids it processed (0 when the queue
// was empty).
//
// Searches are exact without it — they read the queue too — but their cost
// grows with the queue, so the DB flushes by itself: at Open and in the
// background while open (see searchFlushInterval). Calling it is only
// useful after writing many keys through another connection, to index them
// at once. Flushes never overlap: a call waits for one in progress.
//
// On failure it returns 0 and a storage error, with nothing changed (the
// transaction is rolled back): the queued ids stay queued for the next
// flush. After Close it returns an error.
func (db *DB) FlushSearchIndex(ctx context.Context) (int, error) {
	db.search.mu.Lock()
	defer db.search.mu.Unlock()
	var n int64
	// Not db.write: the flush is not a write the background flush should
	// look at the queue for.
	err := inTx(ctx, db.w, nil, func(tx *sql.Tx) error {
		var hi sql.NullInt64
		if err := tx.QueryRowContext(ctx, sqlSearchPendingMax).Scan(&hi); err != nil || !hi.Valid {
			return err
		}
		for _, s := range []string{sqlSearchUnindex, sqlSearchIndex} {
			if _, err := tx.ExecContext(ctx, s, hi.Int64); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, sqlSearchDequeue, hi.Int64)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: flush search index: %w", err)
	}
	return int(n), nil
}

// searchPending reports whether the search queue holds any id, reading it
// without the write lock.
func (db *DB) searchPending(ctx context.Context) (bool, error) {
	var pending bool
	err := db.reader().QueryRowContext(ctx, sqlSearchPendingExists).Scan(&pending)
	return pending, err
}

// optimizeSearchIndex merges the trigram index's segments into one (FTS5's
// 'optimize'), dropping the entries earlier flushes deleted, in one write
// transaction. It changes what searches read, not what they find. On
// failure it returns a storage error with nothing changed.
func (db *DB) optimizeSearchIndex(ctx context.Context) error {
	db.search.mu.Lock()
	defer db.search.mu.Unlock()
	err := inTx(ctx, db.w, nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, sqlSearchOptimize)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: optimize search index: %w", err)
	}
	return nil
}

const sqlSearchOptimize = `INSERT INTO api_keys_search (api_keys_search) VALUES ('optimize')`

// startSearchFlusher starts the background flush, which runs until
// stopSearchFlusher; interval is its tick (searchFlushInterval outside
// tests) and optimizeEvery the flushes after which it optimizes the index
// even without an idle tick (see searchOptimizeEvery).
func (db *DB) startSearchFlusher(interval time.Duration, optimizeEvery int) {
	f := &db.search
	ctx, stop := context.WithCancel(context.Background())
	f.wake = make(chan struct{}, 1)
	f.stop, f.done = stop, make(chan struct{})
	go func() {
		defer close(f.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		// flushed counts the flushes since the index was last optimized.
		flushed := 0
		optimize := func() {
			// A failure is left for the next chance, as a flush's is.
			if db.optimizeSearchIndex(ctx) == nil {
				flushed = 0
				f.optimizes.Add(1)
			}
		}
		for tick := 1; ; tick++ {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			case <-t.C:
				if f.writes.Load() == 0 && tick%searchFlushForceTicks != 0 {
					// A tick without writes: the moment to merge.
					if flushed > 0 {
						optimize()
						db.checkpoint(ctx)
					}
					continue
				}
			}
			f.writes.Swap(0)
			// A failure (the context cancelled by Close, a full disk)
			// leaves the queue as it was; searches stay exact and the
			// next tick retries.
			if pending, err := db.searchPending(ctx); err == nil && pending {
				if n, err := db.FlushSearchIndex(ctx); err != nil {
					f.writes.Add(1)
				} else if n > 0 {
					flushed++
				}
			}
			if flushed >= optimizeEvery {
				optimize()
			}
			// After the flush (and the optimization), so that its frames
			// are copied too.
			db.checkpoint(ctx)
		}
	}()
}

// stopSearchFlusher stops the background flush, if it runs, and waits for
// it to return (interrupting a flush in progress, which rolls back).
func (db *DB) stopSearchFlusher() {
	f := &db.search
	if f.stop == nil {
		return
	}
	f.stop()
	<-f.done
}
