package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

const idemColumns = `api_key_id, key, request_hash, done, response, created_at, expires_at`

func scanIdem(s scanner) (spotzee.IdempotencyRecord, error) {
	var (
		r                spotzee.IdempotencyRecord
		created, expires string
	)
	if err := s.Scan(&r.APIKeyID, &r.Key, &r.RequestHash, &r.Done, &r.Response, &created, &expires); err != nil {
		return spotzee.IdempotencyRecord{}, err
	}
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return spotzee.IdempotencyRecord{}, err
	}
	if r.ExpiresAt, err = parseTime(expires); err != nil {
		return spotzee.IdempotencyRecord{}, err
	}
	return r, nil
}

// BeginIdempotent inserts rec as a running record (Done false, no response;
// CreatedAt now when zero) unless a live one (ExpiresAt after now) exists for
// (rec.APIKeyID, rec.Key). It returns the record now stored and true when it
// inserted rec or replaced an expired record or a running one begun
// spotzee.IdempotencyLease or more before now (left by a process that died),
// the existing record and false otherwise. One statement decides, so of concurrent calls for the same key
// exactly one gets true. It returns a storage error when the write fails.
func (db *DB) BeginIdempotent(ctx context.Context, rec spotzee.IdempotencyRecord, now time.Time) (spotzee.IdempotencyRecord, bool, error) {
	created := rec.CreatedAt
	if created.IsZero() {
		created = now
	}
	var (
		out spotzee.IdempotencyRecord
		ok  bool
	)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = scanIdem(tx.QueryRowContext(ctx,
			`INSERT INTO idempotency (`+idemColumns+`) VALUES (?, ?, ?, 0, NULL, ?, ?)
			ON CONFLICT (api_key_id, key) DO UPDATE SET
				request_hash = excluded.request_hash,
				done         = 0,
				response     = NULL,
				created_at   = excluded.created_at,
				expires_at   = excluded.expires_at
			WHERE idempotency.expires_at <= ?
			   OR (idempotency.done = 0 AND idempotency.created_at <= ?)
			RETURNING `+idemColumns,
			rec.APIKeyID, rec.Key, rec.RequestHash, formatTime(created), formatTime(rec.ExpiresAt),
			formatTime(now), formatTime(now.Add(-spotzee.IdempotencyLease))))
		if err == nil {
			ok = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// A live record exists: the upsert changed nothing.
		out, err = scanIdem(tx.QueryRowContext(ctx,
			`SELECT `+idemColumns+` FROM idempotency WHERE api_key_id = ? AND key = ?`,
			rec.APIKeyID, rec.Key))
		return err
	})
	if err != nil {
		return spotzee.IdempotencyRecord{}, false, fmt.Errorf("sqlite: begin idempotent request: %w", err)
	}
	return out, ok, nil
}

// sqlFinishIdem finishes the running record begun at a given time: a record
// another request took over (after the lease) has a later created_at and is
// left alone.
const sqlFinishIdem = `UPDATE idempotency SET done = 1, response = ?
	WHERE api_key_id = ? AND key = ? AND done = 0 AND created_at = ?`

// FinishIdempotent marks the running record (apiKeyID, key) begun at begun
// done with response. It returns a CodeResourceMissing *spotzee.Error when no
// such running record exists (abandoned, finished, purged, or taken over by
// another request after the lease), a storage error when the write fails.
func (db *DB) FinishIdempotent(ctx context.Context, apiKeyID int64, key string, begun time.Time, response []byte) error {
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqlFinishIdem, response, apiKeyID, key, formatTime(begun))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return spotzee.Errorf(spotzee.CodeResourceMissing, "No running request with this idempotency key.")
		}
		return nil
	})
	return storageErr(err, "finish idempotent request")
}

// AbandonIdempotent deletes the running record (apiKeyID, key) begun at
// begun, if any; a finished record stays, and so does a running one another
// request began (took over) since. It returns a storage error when the write
// fails.
func (db *DB) AbandonIdempotent(ctx context.Context, apiKeyID int64, key string, begun time.Time) error {
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`DELETE FROM idempotency WHERE api_key_id = ? AND key = ? AND done = 0 AND created_at = ?`,
			apiKeyID, key, formatTime(begun))
		return err
	})
	return storageErr(err, "abandon idempotent request")
}

// DiscardIdempotent deletes the finished record (apiKeyID, key), if any; a
// running record stays. It returns a storage error when the write fails.
func (db *DB) DiscardIdempotent(ctx context.Context, apiKeyID int64, key string) error {
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`DELETE FROM idempotency WHERE api_key_id = ? AND key = ? AND done = 1`, apiKeyID, key)
		return err
	})
	return storageErr(err, "discard idempotent request")
}

// PurgeIdempotent deletes every record expired at now (ExpiresAt not after
// now) and returns how many it deleted; it returns a storage error when the
// write fails.
func (db *DB) PurgeIdempotent(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE expires_at <= ?`, formatTime(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge idempotency records: %w", err)
	}
	return n, nil
}

// IdempotencyRecords returns how many idempotency records the database
// holds, expired or not; it returns a storage error when the read fails.
func (db *DB) IdempotencyRecords(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM idempotency`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count idempotency records: %w", err)
	}
	return n, nil
}

// finishInTx runs f (when not nil) inside the write tx that produced k: it
// stores f's response for k as the finished record (see
// spotzee.IdempotencyFinish), or fails so that tx rolls back: with f's error
// wrapped, f.NotRunning() when the record f.Begun is no longer running, or a
// storage error.
func finishInTx[Row any](ctx context.Context, tx *sql.Tx, f *spotzee.IdempotencyFinish[Row], k Row) error {
	if f == nil {
		return nil
	}
	resp, err := f.Response(k)
	if err != nil {
		return fmt.Errorf("idempotent response: %w", err)
	}
	res, err := tx.ExecContext(ctx, sqlFinishIdem, resp, f.APIKeyID, f.Key, formatTime(f.Begun))
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return f.NotRunning()
	}
	return nil
}
