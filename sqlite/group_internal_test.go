package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// openGroupTest opens a database file with a scratch table for raw writes.
func openGroupTest(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := open(ctx, filepath.Join(t.TempDir(), "keys.db"), options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.w.ExecContext(ctx, `CREATE TABLE scratch (id INTEGER PRIMARY KEY, seen INTEGER NOT NULL);
CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);
CREATE TABLE parent (id INTEGER PRIMARY KEY);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent (id))`)
	require.NoError(t, err)
	return db
}

// holdWriter starts a write whose fn blocks until release is called, so
// that the writes started meanwhile queue and then run as one group.
func holdWriter(t *testing.T, db *DB) (release func()) {
	t.Helper()
	started, gate, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.write(context.Background(), func(context.Context, *sql.Tx) error {
			close(started)
			<-gate
			return nil
		})
	}()
	<-started
	return func() {
		close(gate)
		require.NoError(t, <-done)
	}
}

// waitQueued waits until n writes are queued.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		db.wq.mu.Lock()
		defer db.wq.mu.Unlock()
		return len(db.wq.queue) >= n
	}, 5*time.Second, time.Millisecond)
}

// insertScratch returns a fn inserting row id into scratch, with the count
// of rows it saw before, and then returning err.
func insertScratch(ctx context.Context, id int, err error) func(context.Context, *sql.Tx) error {
	return func(_ context.Context, tx *sql.Tx) error {
		if _, e := tx.ExecContext(ctx, `INSERT INTO scratch (id, seen) SELECT ?, count(*) FROM scratch`, id); e != nil {
			return e
		}
		return err
	}
}

// scratchRows returns scratch's rows, id to seen.
func scratchRows(t *testing.T, db *DB) map[int]int {
	t.Helper()
	rows, err := db.r.QueryContext(context.Background(), `SELECT id, seen FROM scratch`)
	require.NoError(t, err)
	defer rows.Close()
	got := map[int]int{}
	for rows.Next() {
		var id, seen int
		require.NoError(t, rows.Scan(&id, &seen))
		got[id] = seen
	}
	require.NoError(t, rows.Err())
	return got
}

// queueWrites queues one write per fn, in order, behind a held writer, and
// returns a function that releases the writer and returns each write's
// error (or recovered panic, as a panicValue).
func queueWrites(t *testing.T, db *DB, ctxs []context.Context, fns []func(context.Context, *sql.Tx) error) func() []error {
	t.Helper()
	release := holdWriter(t, db)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					errs[i] = panicValue{v}
				}
			}()
			errs[i] = db.write(ctxs[i], fn)
		}()
		waitQueued(t, db, i+1)
	}
	return func() []error {
		groups := db.wq.groups.Load()
		release()
		wg.Wait()
		assert.GreaterOrEqual(t, db.wq.groups.Load(), groups+1, "the queued writes ran as a group")
		return errs
	}
}

type panicValue struct{ v any }

func (p panicValue) Error() string { return fmt.Sprint("panic: ", p.v) }

func background(n int) []context.Context {
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = context.Background()
	}
	return ctxs
}

func TestGroupCommitSerialOrder(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	var fns []func(context.Context, *sql.Tx) error
	for i := range 5 {
		fns = append(fns, insertScratch(ctx, i, nil))
	}
	errs := queueWrites(t, db, background(5), fns)()
	for _, err := range errs {
		require.NoError(t, err)
	}
	// Each call saw the ones queued before it.
	assert.Equal(t, map[int]int{0: 0, 1: 1, 2: 2, 3: 3, 4: 4}, scratchRows(t, db))
}

func TestGroupCommitFailingCallRollsBackAlone(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	boom := errors.New("boom")
	fns := []func(context.Context, *sql.Tx) error{
		insertScratch(ctx, 0, nil),
		insertScratch(ctx, 1, boom),
		insertScratch(ctx, 2, nil),
	}
	errs := queueWrites(t, db, background(3), fns)()
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], boom)
	assert.Equal(t, boom, errs[1], "fn's own error, unwrapped, as without group commit")
	assert.NoError(t, errs[2])
	// Call 2 did not see call 1's row.
	assert.Equal(t, map[int]int{0: 0, 2: 1}, scratchRows(t, db))
}

func TestGroupCommitPanicRaisedInCaller(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	type token struct{ n int }
	fns := []func(context.Context, *sql.Tx) error{
		insertScratch(ctx, 0, nil),
		func(_ context.Context, tx *sql.Tx) error {
			require.NoError(t, insertScratch(ctx, 1, nil)(ctx, tx))
			panic(&token{7})
		},
		insertScratch(ctx, 2, nil),
	}
	errs := queueWrites(t, db, background(3), fns)()
	assert.NoError(t, errs[0])
	var p panicValue
	require.ErrorAs(t, errs[1], &p)
	tok, ok := p.v.(*token)
	require.True(t, ok, "the same panic value: %v", p.v)
	assert.Equal(t, 7, tok.n)
	assert.NoError(t, errs[2])
	assert.Equal(t, map[int]int{0: 0, 2: 1}, scratchRows(t, db))

	// A lone write's panic too, and the writer is usable afterwards.
	assert.PanicsWithValue(t, "alone", func() {
		_ = db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			require.NoError(t, insertScratch(ctx, 3, nil)(ctx, tx))
			panic("alone")
		})
	})
	require.NoError(t, db.write(ctx, insertScratch(ctx, 4, nil)))
	assert.Equal(t, map[int]int{0: 0, 2: 1, 4: 2}, scratchRows(t, db))
}

func TestGroupCommitCancelledCallSkipped(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	ctxs := []context.Context{ctx, cancelled, ctx}
	ran := false
	fns := []func(context.Context, *sql.Tx) error{
		insertScratch(ctx, 0, nil),
		func(_ context.Context, tx *sql.Tx) error {
			ran = true
			return insertScratch(cancelled, 1, nil)(ctx, tx)
		},
		insertScratch(ctx, 2, nil),
	}
	wait := queueWrites(t, db, ctxs, fns)
	cancel()
	errs := wait()
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], context.Canceled)
	assert.False(t, ran, "a cancelled call's fn does not run")
	assert.NoError(t, errs[2])
	assert.Equal(t, map[int]int{0: 0, 2: 1}, scratchRows(t, db))
}

func TestGroupCommitCommitFailureFailsGroup(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	fns := []func(context.Context, *sql.Tx) error{
		insertScratch(ctx, 0, nil),
		func(_ context.Context, tx *sql.Tx) error {
			// A deferred foreign key violation fails the COMMIT, not the
			// statement nor the RELEASE of the call's savepoint.
			if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO child (id, parent) VALUES (1, 99)`)
			return err
		},
		insertScratch(ctx, 2, errors.New("own error")),
		insertScratch(ctx, 3, nil),
	}
	errs := queueWrites(t, db, background(4), fns)()
	for _, i := range []int{0, 1, 3} {
		require.Error(t, errs[i])
		assert.Equal(t, codeForeignKey, sqliteCode(errs[i]), "call %d: %v", i, errs[i])
	}
	assert.EqualError(t, errs[2], "own error", "a call that failed keeps its own error")
	assert.Empty(t, scratchRows(t, db))
	var n int
	require.NoError(t, db.r.QueryRowContext(ctx, `SELECT count(*) FROM child`).Scan(&n))
	assert.Zero(t, n)

	// The writer is not left inside the failed transaction.
	require.NoError(t, db.write(ctx, insertScratch(ctx, 5, nil)))
	assert.Equal(t, map[int]int{5: 0}, scratchRows(t, db))
}

// A group that cannot start its transaction fails every call. BEGIN
// IMMEDIATE itself is hard to make fail here (the held writer owns the
// lock another connection would take), so the group is made to find the
// database closed.
func TestGroupCommitStartFailureFailsGroup(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	fns := []func(context.Context, *sql.Tx) error{insertScratch(ctx, 0, nil), insertScratch(ctx, 1, nil)}
	wait := queueWrites(t, db, background(2), fns)
	require.NoError(t, db.Close()) // the held transaction still commits
	errs := wait()
	for i, err := range errs {
		require.Error(t, err, "call %d", i)
		assert.Contains(t, err.Error(), "sqlite: group commit")
	}
}

func TestGroupCommitLoneWritesAreNotGrouped(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	for i := range 10 {
		require.NoError(t, db.write(ctx, insertScratch(ctx, i, nil)))
	}
	assert.Zero(t, db.wq.groups.Load())
	assert.Len(t, scratchRows(t, db), 10)
}

func TestGroupCommitAfterClose(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	require.NoError(t, db.Close())
	ctx := context.Background()
	assert.Error(t, db.write(ctx, insertScratch(ctx, 0, nil)))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.Error(t, db.write(ctx, insertScratch(ctx, 0, nil))) })
	}
	wg.Wait()
}

func TestGroupCommitConcurrentStoreWrites(t *testing.T) {
	t.Parallel()
	for _, path := range []string{":memory:", "file"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if path == "file" {
				path = filepath.Join(t.TempDir(), "keys.db")
			}
			db, err := Open(ctx, path)
			require.NoError(t, err)
			defer db.Close()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			p, err := db.CreateProject(ctx, "group", spotzee.TierStarter, at)
			require.NoError(t, err)

			const workers, rounds = 64, 50
			var wg sync.WaitGroup
			ids := make([]int64, workers)
			for w := range workers {
				wg.Go(func() {
					k, err := db.CreateKey(ctx, spotzee.NewKey{ProjectID: p.ID, Name: fmt.Sprintf("w%d", w),
						Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin, ValuePrefix: "sk_", Last4: "abcd",
						Hash: fmt.Appendf(nil, "hash-%027d", w), CreatedAt: at})
					if !assert.NoError(t, err) {
						return
					}
					ids[w] = k.ID
					for r := range rounds {
						stamp, _ := db.ChangeStamp()
						name := fmt.Sprintf("w%d-r%d", w, r)
						k, err := db.UpdateKey(ctx, 0, p.ID, k.ID, spotzee.KeyUpdate{Name: &name}, at.Add(time.Duration(r)*time.Second))
						if !assert.NoError(t, err) || !assert.Equal(t, name, k.Name) {
							return
						}
						after, _ := db.ChangeStamp()
						assert.NotEqual(t, stamp, after, "the change stamp moved before write returned")
					}
				})
			}
			wg.Wait()
			// A serial replay leaves each key with its worker's last name.
			for w, id := range ids {
				k, err := db.Key(ctx, p.ID, id)
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("w%d-r%d", w, rounds-1), k.Name)
			}
			t.Logf("%d groups of %d calls, of %d writes", db.wq.groups.Load(), db.wq.grouped.Load(), workers*(rounds+1))
			assert.NotZero(t, db.wq.groups.Load(), "some writes were grouped")
		})
	}
}

func TestGroupCommitCounter(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	const workers, rounds = 64, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range rounds {
				err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = n + 1`); err != nil {
						return err
					}
					if r%7 == 0 { // some calls fail: theirs is not counted
						return errors.New("no")
					}
					return nil
				})
				assert.Equal(t, r%7 == 0, err != nil)
			}
		})
	}
	wg.Wait()
	var n int
	require.NoError(t, db.r.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n))
	assert.Equal(t, workers*(rounds-(rounds+6)/7), n)
	assert.NotZero(t, db.wq.groups.Load())
}

// A call that ends the group's transaction under it (as an interrupted
// statement or an I/O error makes SQLite do) loses the calls before it,
// which get errGroupLost; the calls after it run in the next group.
func TestGroupCommitLostTransaction(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	fns := []func(context.Context, *sql.Tx) error{
		insertScratch(ctx, 0, nil),
		func(_ context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `ROLLBACK`)
			return err
		},
		insertScratch(ctx, 2, nil),
		insertScratch(ctx, 3, nil),
	}
	errs := queueWrites(t, db, background(4), fns)()
	assert.ErrorIs(t, errs[0], errGroupLost)
	assert.ErrorIs(t, errs[1], errGroupLost)
	assert.NoError(t, errs[2])
	assert.NoError(t, errs[3])
	assert.Equal(t, map[int]int{2: 0, 3: 1}, scratchRows(t, db))
}

// TestGroupCommitCancelledWhileRunning: a call whose context is cancelled
// while its fn runs still runs to its end with the context write passes it
// (an interrupted statement would make SQLite roll back the whole shared
// transaction): every call of the group commits, none gets an error.
func TestGroupCommitCancelledWhileRunning(t *testing.T) {
	t.Parallel()
	db := openGroupTest(t)
	ctx := context.Background()
	mine, cancel := context.WithCancel(ctx)
	ctxs := []context.Context{ctx, mine, ctx}
	fns := []func(context.Context, *sql.Tx) error{
		insertScratch(ctx, 0, nil),
		func(wctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(wctx, `INSERT INTO scratch (id, seen) SELECT 10, count(*) FROM scratch`); err != nil {
				return err
			}
			cancel() // the client went away meanwhile
			_, err := tx.ExecContext(wctx, `INSERT INTO scratch (id, seen) SELECT 1, count(*) FROM scratch`)
			return err
		},
		insertScratch(ctx, 2, nil),
	}
	errs := queueWrites(t, db, ctxs, fns)()
	assert.Equal(t, []error{nil, nil, nil}, errs)
	assert.Equal(t, map[int]int{0: 0, 10: 1, 1: 2, 2: 3}, scratchRows(t, db))
}

// TestGroupCommitIdleLeaderTakesJoiners checks that a write finding the
// writer idle takes the writes queued while it yields into its own
// transaction, in order, ahead of the rest of the queue it leaves for the
// next group.
func TestGroupCommitIdleLeaderTakesJoiners(t *testing.T) {
	db := openGroupTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, maxGroup+2)
	testHookIdleLeader = func() {
		testHookIdleLeader = nil // the next leaders do not wait
		for i := 1; i < len(errs); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.write(ctx, insertScratch(ctx, i, nil))
			}()
			waitQueued(t, db, i)
		}
	}
	t.Cleanup(func() { testHookIdleLeader = nil })
	groups, grouped := db.wq.groups.Load(), db.wq.grouped.Load()
	errs[0] = db.write(ctx, insertScratch(ctx, 0, nil))
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "write %d", i)
	}
	assert.Equal(t, groups+2, db.wq.groups.Load(), "the leader's group, then the rest of the queue")
	assert.Equal(t, grouped+uint64(len(errs)), db.wq.grouped.Load(), "every write in a group")
	rows := scratchRows(t, db)
	for i := range errs {
		assert.Equal(t, i, rows[i], "write %d saw the writes before it", i)
	}
}
