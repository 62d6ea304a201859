package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Group commit (issue #16). Every write goes through the one writer
// connection, one transaction each; under concurrent writes most of a
// write's cost is its transaction's (BEGIN, COMMIT and the WAL frames the
// commit appends). write therefore runs the calls that queue for the writer
// while a transaction is running together, in one transaction, each inside
// its own savepoint, and commits them at once:
//
//   - the first caller that finds no transaction running becomes the leader;
//     it yields the processor once (joiners) and runs its call with the
//     calls queued meanwhile as a group, or alone, as a plain transaction,
//     when none came (the path of a single write);
//   - callers that arrive meanwhile queue; when the leader is done, it hands
//     the queue (up to maxGroup calls) to the first of them, which runs it
//     as one group and hands the next queue on, and so on: no goroutine
//     leads more than once, and none waits on the writer for more than the
//     group it is in and the one before it;
//   - in a group, calls run in queue order, each seeing the ones before it;
//     a call whose ctx is done is skipped with ctx.Err(); a call whose fn
//     fails (or panics) is rolled back to its savepoint, alone; the group
//     commits the others, and every caller returns only once that COMMIT is
//     done, with its own error or the group's.

// maxGroup bounds how many calls one group transaction runs, and so how
// long the writer lock is held and how long a queued call waits.
const maxGroup = 32

// Savepoint statements of a group; prepared at Open (see stmt.go).
const (
	sqlSavepoint  = `SAVEPOINT group_call`
	sqlRelease    = `RELEASE group_call`
	sqlRollbackTo = `ROLLBACK TO group_call`
)

// errGroupLost is wrapped in the error of a group's calls whose
// transaction SQLite rolled back under them: a statement of another call of
// the group was interrupted (its ctx was cancelled while it ran) or hit an
// I/O error, which rolls back the whole transaction.
var errGroupLost = errors.New("group transaction rolled back by another call's failure")

// writeCall is one call of write, queued for the writer.
type writeCall struct {
	ctx context.Context
	fn  func(context.Context, *sql.Tx) error
	// labels, for a call of writeLabels, are the keys whose labels alone
	// fn may change (of what OnLabelCommit's observer keeps).
	labels     []int64
	labelsOnly bool

	err      error
	panicked bool
	pval     any

	// wake receives nil when the call is done (err and panic set), or the
	// group the call is to run as the leader.
	wake chan []*writeCall
}

// writeQueue is the group commit's state.
type writeQueue struct {
	mu      sync.Mutex
	running bool // a leader holds (or is about to take) the writer
	queue   []*writeCall

	// groups and grouped count the groups of more than one call run, and
	// their calls; tests read them.
	groups, grouped atomic.Uint64
}

var callPool = sync.Pool{New: func() any { return &writeCall{wake: make(chan []*writeCall, 1)} }}

// write runs fn in an IMMEDIATE transaction on the writer connection and
// commits it when fn returns nil; fn's error, or a failure to begin or
// commit, is returned and nothing fn did is committed. Concurrent calls
// may share one transaction (see group commit above), fn then running
// inside a savepoint; from the caller's view it is its own transaction, run
// after the writes that returned before write was called. A panic in fn is
// raised again in the caller's goroutine, after rolling fn back.
//
// fn gets ctx without its cancellation, and must use it for its
// statements: when ctx is done before fn's turn, fn does not run and write
// returns ctx's error; once fn has started, it runs to its end, because an
// interrupted statement would make SQLite roll back the whole transaction,
// in a group the other calls' too.
//
// When write returns, committed or not, the change stamp of ":memory:" has
// moved on (a file's moves with the commit): every write of a DB opened on
// ":memory:" must go through write, or the authenticated-key cache would
// not see it.
func (db *DB) write(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	return db.writeCall(ctx, fn, nil, false)
}

// writeLabels is write for an fn that changes, of the keys' data an
// OnLabelCommit observer keeps, nothing but the name, description and
// updated_at of the keys in ids (it may also write what no observer keeps:
// idempotency records, the search queue). A transaction of such calls
// alone is reported to the observer when it commits.
func (db *DB) writeLabels(ctx context.Context, ids []int64, fn func(context.Context, *sql.Tx) error) error {
	return db.writeCall(ctx, fn, ids, true)
}

func (db *DB) writeCall(ctx context.Context, fn func(context.Context, *sql.Tx) error, labels []int64, labelsOnly bool) error {
	c := callPool.Get().(*writeCall)
	c.ctx, c.fn, c.labels, c.labelsOnly = ctx, fn, labels, labelsOnly
	q := &db.wq
	q.mu.Lock()
	if !q.running {
		q.running = true
		q.mu.Unlock()
		db.lead(c, db.joiners(c))
	} else {
		q.queue = append(q.queue, c)
		q.mu.Unlock()
		if group := <-c.wake; group != nil {
			db.lead(c, group)
		}
	}
	err, panicked, pval := c.err, c.panicked, c.pval
	*c = writeCall{wake: c.wake}
	callPool.Put(c)
	db.search.wrote() // it may have queued a key for the search index
	if panicked {
		panic(pval)
	}
	return err
}

// testHookIdleLeader, when set (by tests), runs in joiners after the yield.
var testHookIdleLeader func()

// joiners returns the group of c, which found the writer idle, and the
// writes queued while it yields the processor once: c first, then up to
// maxGroup-1 of them; nil when none came (c runs alone). Under a write load
// the writes of other requests are often a few instructions from the
// queue when one finds the writer idle: they share its transaction instead
// of waiting for it to commit and then committing one by one. That yield
// costs a lone write about a microsecond; under the PATCH load at 1,000
// keys it measured 7–10% more PATCH throughput in three alternating rounds,
// 5% on average over four at 100,000 keys (#16).
func (db *DB) joiners(c *writeCall) []*writeCall {
	runtime.Gosched()
	if testHookIdleLeader != nil {
		testHookIdleLeader()
	}
	q := &db.wq
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return nil
	}
	return q.take([]*writeCall{c}, maxGroup-1)
}

// take moves up to n calls from the head of the queue to the end of dst
// and returns it; q.mu must be held.
func (q *writeQueue) take(dst []*writeCall, n int) []*writeCall {
	n = min(len(q.queue), n)
	dst = append(dst, q.queue[:n]...)
	rest := copy(q.queue, q.queue[n:])
	clear(q.queue[rest:])
	q.queue = q.queue[:rest]
	return dst
}

// lead runs group, whose first call c is the caller's own (a nil group is
// c alone), then hands the queue on to its first call, or marks the writer
// idle, and wakes the group's other calls.
func (db *DB) lead(c *writeCall, group []*writeCall) {
	n := 1
	if len(group) <= 1 {
		db.runOne(c)
	} else {
		db.wq.groups.Add(1)
		db.wq.grouped.Add(uint64(len(group)))
		n = db.runGroup(group)
	}
	if db.memory {
		db.commits.Add(1) // before any caller of the group returns
	}
	q := &db.wq
	q.mu.Lock()
	if len(q.queue) == 0 {
		q.running = false
		q.mu.Unlock()
	} else {
		next := q.take(nil, maxGroup)
		q.mu.Unlock()
		next[0].wake <- next
	}
	if n > 1 {
		for _, o := range group[1:n] {
			o.wake <- nil
		}
	}
}

// call runs c's fn in tx, recording a panic rather than raising it.
func (c *writeCall) call(tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.panicked, c.pval = true, v
			err = fmt.Errorf("sqlite: write panicked: %v", v)
		}
	}()
	// Once fn has started it runs to its end: a statement interrupted by a
	// cancelled context makes SQLite roll back the whole transaction, which
	// in a group is every call's. A call whose context is done before its
	// turn is skipped instead (see runGroup).
	return c.fn(context.WithoutCancel(c.ctx), tx)
}

// runOne runs c alone, in a transaction of its own, as write did before
// group commit.
func (db *DB) runOne(c *writeCall) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return
	}
	// As in a group: once begun, the write runs to its end.
	tx, err := db.w.BeginTx(context.WithoutCancel(c.ctx), nil)
	if err != nil {
		c.err = err
		return
	}
	before, observed := db.labelCommitStart(c.labelsOnly)
	if err := c.call(tx); err != nil {
		_ = tx.Rollback()
		c.err = err
		return
	}
	if c.err = tx.Commit(); c.err == nil && observed {
		db.labelCommitDone(before, c.labels)
	}
}

// labelCommitStart returns the change stamp at the start of a write
// transaction — read with the write lock held (the writer's BEGIN is
// IMMEDIATE), so it is the last commit's and no other can follow until this
// one's — when an OnLabelCommit observer is set and the transaction's calls
// are all writeLabels calls; observed is false otherwise.
func (db *DB) labelCommitStart(labelsOnly bool) (before ChangeStamp, observed bool) {
	if !labelsOnly || db.labelObserver.Load() == nil {
		return before, false
	}
	return db.ChangeStamp()
}

// labelCommitDone tells the observer of the commit that moved the stamp
// from before, with the keys it touched, when the stamp read now follows
// before by that commit alone (another commit after it, by any process,
// and the observer is not told: its entries then lapse as usual).
func (db *DB) labelCommitDone(before ChangeStamp, touched []int64) {
	after, ok := db.ChangeStamp()
	if !ok || !before.followedBy(after) {
		return
	}
	if f := db.labelObserver.Load(); f != nil {
		(*f)(before, after, touched)
	}
}

// OnLabelCommit sets f to be called, before the writers are answered, after
// each commit of this DB whose changes to api_keys were only to the name,
// description and updated_at of the keys in touched (label-only PATCHes,
// alone or in a group), with the change stamp before and after it, when
// after follows before by that one commit. authcache.Store.Advance is such
// an f: it keeps its entries across the commit but those of touched. A DB
// on ":memory:" never calls f. Set it before the DB is used.
func (db *DB) OnLabelCommit(f func(before, after ChangeStamp, touched []int64)) {
	db.labelObserver.Store(&f)
}

// runGroup runs the calls of group in one transaction, each in a
// savepoint, and sets each call's outcome. It returns how many calls of
// group it settled: the others, not run because SQLite rolled the
// transaction back under the group, are queued again.
func (db *DB) runGroup(group []*writeCall) int {
	// The transaction is no one caller's: it must not end when one of them
	// gives up.
	ctx := context.Background()
	conn, err := db.w.Conn(ctx)
	if err != nil {
		failAll(group, fmt.Errorf("sqlite: group commit: %w", err))
		return len(group)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		failAll(group, fmt.Errorf("sqlite: group commit: begin: %w", err))
		return len(group)
	}
	w := db.inWrite(tx)
	labelsOnly := true
	for _, c := range group {
		labelsOnly = labelsOnly && c.labelsOnly
	}
	before, observed := db.labelCommitStart(labelsOnly)
	ok := make([]bool, len(group)) // fn succeeded, its savepoint released
	for i, c := range group {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		if _, err := w.ExecContext(ctx, sqlSavepoint); err != nil {
			c.err = fmt.Errorf("sqlite: group commit: savepoint: %w", err)
			db.abortGroup(tx, group[:i], ok, c.err)
			db.requeue(group[i+1:])
			return i + 1
		}
		if err := c.call(tx); err != nil {
			c.err = err
			_, err := w.ExecContext(ctx, sqlRollbackTo)
			if err == nil {
				_, err = w.ExecContext(ctx, sqlRelease)
			}
			if err != nil {
				// No savepoint left: SQLite rolled the whole transaction back.
				db.abortGroup(tx, group[:i], ok, fmt.Errorf("sqlite: group commit: %w: %w", errGroupLost, err))
				db.requeue(group[i+1:])
				return i + 1
			}
			continue
		}
		ok[i] = true
		if _, err := w.ExecContext(ctx, sqlRelease); err != nil {
			db.abortGroup(tx, group[:i+1], ok, fmt.Errorf("sqlite: group commit: %w: %w", errGroupLost, err))
			db.requeue(group[i+1:])
			return i + 1
		}
	}
	if err := tx.Commit(); err != nil {
		// A COMMIT that fails on a deferred constraint leaves the
		// transaction open: end it before the connection is reused.
		_, _ = conn.ExecContext(ctx, `ROLLBACK`)
		err = fmt.Errorf("sqlite: group commit: commit: %w", err)
		for i, c := range group {
			if ok[i] {
				c.err = err
			}
		}
	} else if observed {
		var touched []int64
		for i, c := range group {
			if ok[i] {
				touched = append(touched, c.labels...)
			}
		}
		db.labelCommitDone(before, touched)
	}
	return len(group)
}

// abortGroup rolls tx back and gives err to the calls of done that had
// succeeded (ok), whose changes are now lost.
func (db *DB) abortGroup(tx *sql.Tx, done []*writeCall, ok []bool, err error) {
	_ = tx.Rollback()
	for i, c := range done {
		if ok[i] {
			c.err = err
		}
	}
}

// requeue puts calls a lost group did not run back at the head of the
// queue, to run in the next group.
func (db *DB) requeue(calls []*writeCall) {
	if len(calls) == 0 {
		return
	}
	q := &db.wq
	q.mu.Lock()
	q.queue = append(append(make([]*writeCall, 0, len(calls)+len(q.queue)), calls...), q.queue...)
	q.mu.Unlock()
}

// failAll gives err to every call of group.
func failAll(group []*writeCall, err error) {
	for _, c := range group {
		c.err = err
	}
}
