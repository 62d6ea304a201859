package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// A file database's WAL is checkpointed (its frames copied into the
// database file) in the background, not by the writer. SQLite's default is
// an automatic checkpoint by the connection whose commit takes the WAL past
// 1,000 frames: that commit then copies every page the WAL holds, with two
// fsyncs, while every other write waits for the one writer connection. With
// keys spread over a large project each checkpoint copies many distinct
// pages: under PATCH load at 100,000 keys it was 19% of the server's CPU,
// all of it on the writer's critical path (6% at 1,000 keys).
//
// So the writer's automatic checkpoint is off (wal_autocheckpoint=0, set on
// its one connection; a connection database/sql replaces starts with
// SQLite's default again, which is safe) and a connection of its own runs a
// PASSIVE checkpoint from the DB's background goroutine (see
// startSearchFlusher): after every searchFlushThreshold writes, and at its
// tick after any write. A PASSIVE checkpoint takes no write lock, so writes
// go on meanwhile; it copies what no reader still needs, and SQLite restarts
// the WAL from its beginning once everything was copied. Durability is
// unchanged: a checkpoint syncs the WAL before copying and the file after,
// whoever runs it.

// startCheckpointer opens the checkpointing connection with dsn and turns
// the writer's automatic checkpoint off. It returns an error when the
// connection cannot be opened or the pragma fails; the writer then keeps
// checkpointing itself.
func (db *DB) startCheckpointer(ctx context.Context, dsn string) error {
	ckpt, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("checkpointer: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetMaxIdleConns(1)
	ckpt.SetConnMaxLifetime(0)
	ckpt.SetConnMaxIdleTime(0)
	if err := ckpt.PingContext(ctx); err != nil {
		_ = ckpt.Close()
		return fmt.Errorf("checkpointer: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		_ = ckpt.Close()
		return fmt.Errorf("checkpointer: %w", err)
	}
	db.ckpt = ckpt
	return nil
}

// checkpoint runs a PASSIVE checkpoint on the checkpointing connection, when
// there is one. A failure is left for the next call: the WAL only grows
// meanwhile, and every read and write stays correct.
func (db *DB) checkpoint(ctx context.Context) {
	if db.ckpt == nil {
		return
	}
	_, _ = db.ckpt.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	db.checkpoints.Add(1)
}

// wdsnBase returns the DSN of a plain read-write connection to the database
// name (the writer's settings without its IMMEDIATE transactions).
func wdsnBase(name, sep, common string) string { return name + sep + common }
