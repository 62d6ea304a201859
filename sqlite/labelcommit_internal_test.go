package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// labelCommits records what OnLabelCommit reports.
type labelCommits struct {
	mu    sync.Mutex
	calls []labelCommit
}

type labelCommit struct {
	before, after ChangeStamp
	touched       []int64
}

func observe(db *DB) *labelCommits {
	l := &labelCommits{}
	db.OnLabelCommit(func(before, after ChangeStamp, touched []int64) {
		l.mu.Lock()
		l.calls = append(l.calls, labelCommit{before, after, append([]int64(nil), touched...)})
		l.mu.Unlock()
	})
	return l
}

func (l *labelCommits) take() []labelCommit {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

// TestFollowedBy checks the rule that a stamp is the one commit after
// another.
func TestFollowedBy(t *testing.T) {
	t.Parallel()
	s := ChangeStamp{change: 7, frames: 10, pages: 3, salt0: 1, salt1: 2, cksum0: 5, cksum1: 6}
	next := s
	next.change, next.frames, next.cksum0 = 8, 12, 9
	tests := []struct {
		name string
		edit func(*ChangeStamp)
		want bool
	}{
		{"the next commit", func(*ChangeStamp) {}, true},
		{"two commits", func(c *ChangeStamp) { c.change++ }, false},
		{"no commit", func(c *ChangeStamp) { c.change-- }, false},
		{"the WAL restarted", func(c *ChangeStamp) { c.salt0++ }, false},
		{"no new frame", func(c *ChangeStamp) { c.frames = s.frames }, false},
		{":memory:", func(c *ChangeStamp) { *c = ChangeStamp{commits: 1} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			after := next
			tt.edit(&after)
			assert.Equal(t, tt.want, s.followedBy(after))
		})
	}
	assert.False(t, ChangeStamp{commits: 1}.followedBy(ChangeStamp{commits: 2}), ":memory: never")
}

// labelWrite is a writeLabels fn that updates a scratch row, standing for
// a label-only PATCH.
func labelWrite(id int) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO scratch (id, seen) VALUES (?, 1)`, id)
		return err
	}
}

// TestOnLabelCommit checks when the observer is told of a commit: after a
// lone writeLabels call and after a group of them (with every call's keys
// that committed), with the stamp before and the stamp after, which
// follows it; never for a transaction with any other write, nor for a
// writeLabels call that failed alone.
func TestOnLabelCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a lone call", func(t *testing.T) {
		t.Parallel()
		db := openGroupTest(t)
		l := observe(db)
		before, ok := db.ChangeStamp()
		require.True(t, ok)
		require.NoError(t, db.writeLabels(ctx, []int64{4}, labelWrite(1)))
		after, ok := db.ChangeStamp()
		require.True(t, ok)
		got := l.take()
		require.Len(t, got, 1)
		assert.Equal(t, labelCommit{before, after, []int64{4}}, got[0])
		assert.True(t, before.followedBy(after))
	})

	t.Run("other writes are not reported", func(t *testing.T) {
		t.Parallel()
		db := openGroupTest(t)
		l := observe(db)
		require.NoError(t, db.write(ctx, labelWrite(1)))
		assert.Error(t, db.writeLabels(ctx, []int64{4}, insertScratch(ctx, 2, assert.AnError)))
		assert.Empty(t, l.take())
	})

	t.Run("a group of label calls", func(t *testing.T) {
		t.Parallel()
		db := openGroupTest(t)
		release := holdWriter(t, db)
		l := observe(db) // after the held write began: it is not a label call
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i, ids := range [][]int64{{10}, {11}, {12}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn := labelWrite(i + 1)
				if i == 1 {
					fn = insertScratch(ctx, 100, assert.AnError) // fails: rolled back alone
				}
				errs[i] = db.writeLabels(ctx, ids, fn)
			}()
			waitQueued(t, db, i+1)
		}
		groups := db.wq.groups.Load()
		release()
		wg.Wait()
		require.Equal(t, groups+1, db.wq.groups.Load(), "one group")
		assert.NoError(t, errs[0])
		assert.Error(t, errs[1])
		assert.NoError(t, errs[2])
		got := l.take()
		require.Len(t, got, 1)
		assert.Equal(t, []int64{10, 12}, got[0].touched, "the keys of the calls that committed")
		assert.True(t, got[0].before.followedBy(got[0].after))
	})

	t.Run("a group with another write", func(t *testing.T) {
		t.Parallel()
		db := openGroupTest(t)
		release := holdWriter(t, db)
		l := observe(db)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 0 {
					assert.NoError(t, db.writeLabels(ctx, []int64{10}, labelWrite(1)))
				} else {
					assert.NoError(t, db.write(ctx, labelWrite(2)))
				}
			}()
			waitQueued(t, db, i+1)
		}
		release()
		wg.Wait()
		assert.Empty(t, l.take())
	})
}
