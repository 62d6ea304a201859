package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

const idemColumns = `api_key_id, key, request_hash, done, response, created_at, expires_at`

func scanIdem(row pgx.Row) (spotzee.IdempotencyRecord, error) {
	var (
		r                spotzee.IdempotencyRecord
		created, expires string
	)
	if err := row.Scan(&r.APIKeyID, &r.Key, &r.RequestHash, &r.Done, &r.Response, &created, &expires); err != nil {
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
// spotzee.IdempotencyLease or more before now, the existing record and false
// otherwise. The primary key decides: of concurrent calls for one key, from
// any number of processes, exactly one gets true. It returns a storage
// error when the write fails.
func (db *DB) BeginIdempotent(ctx context.Context, rec spotzee.IdempotencyRecord, now time.Time) (spotzee.IdempotencyRecord, bool, error) {
	created := rec.CreatedAt
	if created.IsZero() {
		created = now
	}
	for range 5 {
		out, err := scanIdem(db.pool.QueryRow(ctx,
			`INSERT INTO idempotency (`+idemColumns+`) VALUES ($1, $2, $3, false, NULL, $4, $5)
			ON CONFLICT (api_key_id, key) DO UPDATE SET
				request_hash = excluded.request_hash,
				done         = false,
				response     = NULL,
				created_at   = excluded.created_at,
				expires_at   = excluded.expires_at
			WHERE idempotency.expires_at <= $6
			   OR (NOT idempotency.done AND idempotency.created_at <= $7)
			RETURNING `+idemColumns,
			rec.APIKeyID, rec.Key, rec.RequestHash, formatTime(created), formatTime(rec.ExpiresAt),
			formatTime(now), formatTime(now.Add(-spotzee.IdempotencyLease))))
		if err == nil {
			return out, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return spotzee.IdempotencyRecord{}, false, fmt.Errorf("postgres: begin idempotent request: %w", err)
		}
		// A live record exists: the upsert changed nothing. Read it; it may
		// have been abandoned or discarded in between, then try again.
		out, err = scanIdem(db.pool.QueryRow(ctx,
			`SELECT `+idemColumns+` FROM idempotency WHERE api_key_id = $1 AND key = $2`, rec.APIKeyID, rec.Key))
		if err == nil {
			return out, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return spotzee.IdempotencyRecord{}, false, fmt.Errorf("postgres: begin idempotent request: %w", err)
		}
	}
	return spotzee.IdempotencyRecord{}, false, errors.New("postgres: begin idempotent request: the record kept changing")
}

// sqlFinishIdem finishes the running record begun at a given time: a record
// another request took over (after the lease) has a later created_at and is
// left alone.
const sqlFinishIdem = `UPDATE idempotency SET done = true, response = $1
	WHERE api_key_id = $2 AND key = $3 AND NOT done AND created_at = $4`

// FinishIdempotent marks the running record (apiKeyID, key) begun at begun
// done with response. It returns a CodeResourceMissing *spotzee.Error when no
// such running record exists (abandoned, finished, purged, or taken over by
// another request after the lease), a storage error when the write fails.
func (db *DB) FinishIdempotent(ctx context.Context, apiKeyID int64, key string, begun time.Time, response []byte) error {
	tag, err := db.pool.Exec(ctx, sqlFinishIdem, response, apiKeyID, key, formatTime(begun))
	if err != nil {
		return fmt.Errorf("postgres: finish idempotent request: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return spotzee.Errorf(spotzee.CodeResourceMissing, "No running request with this idempotency key.")
	}
	return nil
}

// AbandonIdempotent deletes the running record (apiKeyID, key) begun at
// begun, if any; a finished record stays, and so does a running one another
// request began (took over) since. It returns a storage error when the write
// fails.
func (db *DB) AbandonIdempotent(ctx context.Context, apiKeyID int64, key string, begun time.Time) error {
	if _, err := db.pool.Exec(ctx,
		`DELETE FROM idempotency WHERE api_key_id = $1 AND key = $2 AND NOT done AND created_at = $3`,
		apiKeyID, key, formatTime(begun)); err != nil {
		return fmt.Errorf("postgres: abandon idempotent request: %w", err)
	}
	return nil
}

// DiscardIdempotent deletes the finished record (apiKeyID, key), if any; a
// running record stays. It returns a storage error when the write fails.
func (db *DB) DiscardIdempotent(ctx context.Context, apiKeyID int64, key string) error {
	if _, err := db.pool.Exec(ctx,
		`DELETE FROM idempotency WHERE api_key_id = $1 AND key = $2 AND done`, apiKeyID, key); err != nil {
		return fmt.Errorf("postgres: discard idempotent request: %w", err)
	}
	return nil
}

// PurgeIdempotent deletes every record expired at now (ExpiresAt not after
// now), and every rate-limit counter expired at now, and returns how many
// idempotency records it deleted; it returns a storage error when a delete
// fails.
func (db *DB) PurgeIdempotent(ctx context.Context, now time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM idempotency WHERE expires_at <= $1`, formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: purge idempotency records: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM rate_counters WHERE expires_at <= $1`, now.UnixNano()); err != nil {
		return 0, fmt.Errorf("postgres: purge rate counters: %w", err)
	}
	return tag.RowsAffected(), nil
}

// IdempotencyRecords returns how many idempotency records the database
// holds, expired or not; it returns a storage error when the read fails.
func (db *DB) IdempotencyRecords(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM idempotency`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count idempotency records: %w", err)
	}
	return n, nil
}

// Secret returns the secret named name, creating it with gen when absent.
// Concurrent first calls (in this process or another replica) may each call
// gen, but only the first value is stored and all of them return it. It
// returns gen's error, an error for an empty generated secret, or a storage
// error.
func (db *DB) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %q: generate: %w", name, err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("postgres: secret %q: generator returned no bytes", name)
	}
	if _, err := db.pool.Exec(ctx,
		`INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, err)
	}
	return v, nil
}

// finishInTx runs f (when not nil) inside the write tx that produced k: it
// stores f's response for k as the finished record (see
// spotzee.IdempotencyFinish), or fails so that tx rolls back: with f's error
// wrapped, f.NotRunning() when the record f.Begun is no longer running, or a
// storage error.
func finishInTx[Row any](ctx context.Context, tx pgx.Tx, f *spotzee.IdempotencyFinish[Row], k Row) error {
	if f == nil {
		return nil
	}
	resp, err := f.Response(k)
	if err != nil {
		return fmt.Errorf("idempotent response: %w", err)
	}
	tag, err := tx.Exec(ctx, sqlFinishIdem, resp, f.APIKeyID, f.Key, formatTime(f.Begun))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return f.NotRunning()
	}
	return nil
}
