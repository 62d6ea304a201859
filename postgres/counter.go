package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// sqlTakeSlot counts one request in (bucket, slot) when the budget allows
// it, in one statement: the earlier slots of the span are summed from the
// statement's snapshot (they are closed: no replica writes them any more,
// clocks permitting), the current slot's row is locked by the upsert, so
// concurrent takes from every replica are serialised on it and never admit
// more than the limit.
const sqlTakeSlot = `WITH arg AS (
	SELECT $1::text AS bucket, $2::bigint AS slot, $3::bigint AS span, $4::bigint AS lim,
		$5::bigint AS burst, $6::bigint AS expires),
prior AS (
	SELECT coalesce(sum(c.n), 0)::bigint AS s FROM rate_counters c, arg
	WHERE c.bucket = arg.bucket AND c.slot > arg.slot - arg.span AND c.slot < arg.slot)
INSERT INTO rate_counters AS c (bucket, slot, n, expires_at)
SELECT arg.bucket, arg.slot, 1, arg.expires FROM arg, prior
	WHERE arg.lim = 0 OR (prior.s < arg.lim AND (arg.burst = 0 OR arg.burst >= 1))
ON CONFLICT (bucket, slot) DO UPDATE SET n = c.n + 1
	WHERE (SELECT lim FROM arg) = 0 OR (c.n + (SELECT s FROM prior) < (SELECT lim FROM arg)
		AND ((SELECT burst FROM arg) = 0 OR c.n < (SELECT burst FROM arg)))
RETURNING n + (SELECT s FROM prior)`

// TakeSlot adds one request to the shared count of bucket in time slot slot
// (slots are numbered by every replica alike, from the Unix epoch), unless
// limit is positive and the sum of bucket's counts over the span slots
// (slot-span, slot] has reached limit, or burst is positive and slot's own
// count has reached burst. With limit 0 it always adds (the edge limits
// count refused requests too). It returns whether it added and the sum over
// the span afterwards; expires is when slot's row may be deleted
// (PurgeIdempotent deletes expired counters). It implements
// ratelimit.SharedCounter and edgelimit.SharedCounter, and returns a storage
// error when a statement fails.
func (db *DB) TakeSlot(ctx context.Context, bucket string, slot, span, limit, burst int64, expires time.Time) (bool, int64, error) {
	var total int64
	err := db.pool.QueryRow(ctx, sqlTakeSlot, bucket, slot, span, limit, burst, expires.UnixNano()).Scan(&total)
	if err == nil {
		return true, total, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, fmt.Errorf("postgres: take rate slot: %w", err)
	}
	err = db.pool.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::bigint FROM rate_counters
		WHERE bucket = $1::text AND slot > $2::bigint - $3::bigint AND slot <= $2::bigint`, bucket, slot, span).Scan(&total)
	if err != nil {
		return false, 0, fmt.Errorf("postgres: read rate slots: %w", err)
	}
	return false, total, nil
}
