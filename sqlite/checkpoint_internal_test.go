package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBackgroundCheckpoint: with the background goroutine running, the
// writer never checkpoints (wal_autocheckpoint is 0 on its connection), and
// the checkpointing connection keeps the WAL from growing with the writes:
// eight batches of writes leave a WAL file about one batch long, where
// without any checkpoint it would hold all eight.
func TestBackgroundCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	db, err := open(ctx, path, options{searchFlushEvery: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NotNil(t, db.ckpt, "a file database checkpoints in the background")

	var auto int
	require.NoError(t, db.w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto))
	assert.Zero(t, auto, "the writer does not checkpoint")

	_, err = db.w.ExecContext(ctx, `CREATE TABLE zz_blobs (id INTEGER PRIMARY KEY, v BLOB NOT NULL)`)
	require.NoError(t, err)
	blob := bytes.Repeat([]byte{7}, 2048)
	walSize := func() int64 {
		info, err := os.Stat(path + "-wal")
		require.NoError(t, err)
		return info.Size()
	}
	const batches, batch = 8, 256
	var first int64
	for b := range batches {
		for range batch {
			require.NoError(t, db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO zz_blobs (v) VALUES (?)`, blob)
				return err
			}))
		}
		if b == 0 {
			first = walSize()
		}
		// The goroutine's turn: wait for a checkpoint that starts after
		// the batch (a fixed sleep was too short on a loaded CI machine).
		done := db.checkpoints.Load()
		require.Eventually(t, func() bool { return db.checkpoints.Load() >= done+2 }, 10*time.Second, time.Millisecond)
	}
	// Without a checkpoint the WAL would hold every batch's frames: about
	// batches times the first batch's size.
	assert.Less(t, walSize(), 3*first, "the WAL was checkpointed and restarted between batches (first batch: %d bytes)", first)
}

// TestNoBackgroundCheckpointWithoutTheGoroutine: a DB opened without the
// background goroutine (as some tests open it) keeps SQLite's automatic
// checkpoint on the writer, so its WAL is never left to grow.
func TestNoBackgroundCheckpointWithoutTheGoroutine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openNoFlush(t, filepath.Join(t.TempDir(), "keys.db"))
	assert.Nil(t, db.ckpt)
	var auto int
	require.NoError(t, db.w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto))
	assert.Equal(t, 1000, auto, "SQLite's default")
}
