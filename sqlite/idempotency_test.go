package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

func idemRecord(apiKeyID int64, key, request string, now time.Time) spotzee.IdempotencyRecord {
	return spotzee.IdempotencyRecord{
		APIKeyID:    apiKeyID,
		Key:         key,
		RequestHash: hashOf(request),
		CreatedAt:   now,
		ExpiresAt:   now.Add(24 * time.Hour),
	}
}

// running is rec as BeginIdempotent stores it.
func running(rec spotzee.IdempotencyRecord) spotzee.IdempotencyRecord {
	rec.Done, rec.Response = false, nil
	rec.CreatedAt, rec.ExpiresAt = rec.CreatedAt.UTC(), rec.ExpiresAt.UTC()
	return rec
}

func TestIdempotencyLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	rec := idemRecord(1, "req-1", "POST /keys {}", t0)
	rec.Done, rec.Response = true, []byte("ignored") // a new record always starts running

	got, created, err := db.BeginIdempotent(ctx, rec, t0)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, running(rec), got)

	// A retry while the first request runs sees it running.
	retry := idemRecord(1, "req-1", "POST /keys {other}", t0.Add(time.Second))
	got, created, err = db.BeginIdempotent(ctx, retry, t0.Add(time.Second))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, running(rec), got, "the existing record, not the retry's")

	response := []byte("\x00encrypted response\xff")
	require.NoError(t, db.FinishIdempotent(ctx, 1, "req-1", t0, response))
	got, created, err = db.BeginIdempotent(ctx, retry, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, created)
	done := running(rec)
	done.Done, done.Response = true, response
	assert.Equal(t, done, got)

	// A finished record is neither finished again nor abandoned.
	requireCode(t, spotzee.CodeResourceMissing, db.FinishIdempotent(ctx, 1, "req-1", t0, []byte("again")))
	require.NoError(t, db.AbandonIdempotent(ctx, 1, "req-1", t0))
	got, _, err = db.BeginIdempotent(ctx, retry, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, done, got)

	requireCode(t, spotzee.CodeResourceMissing, db.FinishIdempotent(ctx, 1, "never begun", t0, response))
}

func TestIdempotencyScopedToAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	for _, apiKeyID := range []int64{1, 2} {
		_, created, err := db.BeginIdempotent(ctx, idemRecord(apiKeyID, "same", "r", t0), t0)
		require.NoError(t, err)
		assert.True(t, created, "api key %d", apiKeyID)
	}
	require.NoError(t, db.FinishIdempotent(ctx, 1, "same", t0, []byte("one")))
	got, _, err := db.BeginIdempotent(ctx, idemRecord(2, "same", "r", t0), t0)
	require.NoError(t, err)
	assert.False(t, got.Done, "finishing key 1's record leaves key 2's running")
}

func TestIdempotencyAbandon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	rec := idemRecord(1, "req", "first", t0)
	_, created, err := db.BeginIdempotent(ctx, rec, t0)
	require.NoError(t, err)
	require.True(t, created)

	require.NoError(t, db.AbandonIdempotent(ctx, 1, "req", t0))
	require.NoError(t, db.AbandonIdempotent(ctx, 1, "req", t0), "abandoning twice is harmless")
	requireCode(t, spotzee.CodeResourceMissing, db.FinishIdempotent(ctx, 1, "req", t0, []byte("late")))

	again := idemRecord(1, "req", "second", t0.Add(time.Second))
	got, created, err := db.BeginIdempotent(ctx, again, t0.Add(time.Second))
	require.NoError(t, err)
	assert.True(t, created, "an abandoned key can be used again")
	assert.Equal(t, running(again), got)
}

func TestIdempotencyExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		finished bool
		now      time.Time // of the second Begin; the first expires at t0+24h
		replaced bool
	}{
		{"running record within its lease stays", false, t0.Add(spotzee.IdempotencyLease - time.Nanosecond), false},
		{"live finished record stays", true, t0.Add(24*time.Hour - time.Nanosecond), false},
		{"running record expiring now is replaced", false, t0.Add(24 * time.Hour), true},
		{"expired finished record is replaced", true, t0.Add(48 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openMem(t)
			first := idemRecord(1, "req", "first", t0)
			_, created, err := db.BeginIdempotent(ctx, first, t0)
			require.NoError(t, err)
			require.True(t, created)
			if tt.finished {
				require.NoError(t, db.FinishIdempotent(ctx, 1, "req", t0, []byte("old response")))
			}

			second := idemRecord(1, "req", "second", tt.now)
			got, created, err := db.BeginIdempotent(ctx, second, tt.now)
			require.NoError(t, err)
			assert.Equal(t, tt.replaced, created)
			if tt.replaced {
				assert.Equal(t, running(second), got, "nothing of the expired record remains")
			} else {
				assert.Equal(t, running(first).RequestHash, got.RequestHash)
				assert.Equal(t, tt.finished, got.Done)
			}
		})
	}
}

func TestIdempotencyCreatedAtDefaultsToNow(t *testing.T) {
	t.Parallel()
	db := openMem(t)
	rec := idemRecord(1, "req", "r", time.Time{})
	rec.ExpiresAt = t0.Add(time.Hour)
	got, created, err := db.BeginIdempotent(context.Background(), rec, t0)
	require.NoError(t, err)
	require.True(t, created)
	assert.Equal(t, t0.UTC(), got.CreatedAt)
}

func TestPurgeIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	for i := range 5 {
		rec := idemRecord(1, fmt.Sprintf("req-%d", i), "r", t0)
		rec.ExpiresAt = t0.Add(time.Duration(i) * time.Hour)
		_, created, err := db.BeginIdempotent(ctx, rec, t0.Add(-time.Hour))
		require.NoError(t, err)
		require.True(t, created)
	}
	n, err := db.PurgeIdempotent(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.EqualValues(t, 3, n, "expired at or before now: req-0, req-1, req-2")

	// req-3 is still there (not replaced), req-0 is gone (created afresh).
	_, created, err := db.BeginIdempotent(ctx, idemRecord(1, "req-3", "r", t0), t0)
	require.NoError(t, err)
	assert.False(t, created)
	_, created, err = db.BeginIdempotent(ctx, idemRecord(1, "req-0", "r", t0), t0.Add(-time.Hour))
	require.NoError(t, err)
	assert.True(t, created)

	n, err = db.PurgeIdempotent(ctx, t0.Add(-2*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestIdempotencyConcurrentBegin(t *testing.T) {
	t.Parallel()
	for name, open := range openBoth(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			// Round 1 races on a fresh key, round 2 on an expired record.
			for round, now := range []time.Time{t0, t0.Add(48 * time.Hour)} {
				const n = 20
				var (
					wg      sync.WaitGroup
					winners atomic.Int32
					results = make([]spotzee.IdempotencyRecord, n)
				)
				for i := range n {
					wg.Go(func() {
						rec := idemRecord(7, "race", fmt.Sprintf("round %d request %d", round, i), now)
						got, created, err := db.BeginIdempotent(ctx, rec, now)
						if !assert.NoError(t, err) {
							return
						}
						if created {
							winners.Add(1)
						}
						results[i] = got
					})
				}
				wg.Wait()
				assert.EqualValues(t, 1, winners.Load(), "round %d: exactly one Begin creates", round)
				for i := range results {
					assert.Equal(t, results[0], results[i], "round %d: every caller sees the winner's record", round)
				}
			}
		})
	}
}

func TestRevokeDeletesIdempotencyRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	gone := newKey(t, db, p.ID, "revoked", t0, nil)
	kept := newKey(t, db, p.ID, "kept", t0, nil)
	for _, id := range []int64{gone.ID, kept.ID} {
		for _, key := range []string{"done", "running"} {
			_, created, err := db.BeginIdempotent(ctx, idemRecord(id, key, "r", t0), t0)
			require.NoError(t, err)
			require.True(t, created)
		}
		require.NoError(t, db.FinishIdempotent(ctx, id, "done", t0, []byte("sealed")))
	}
	n, err := db.IdempotencyRecords(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)

	_, err = db.RevokeKey(ctx, 0, p.ID, gone.ID, t0.Add(time.Minute))
	require.NoError(t, err)

	n, err = db.IdempotencyRecords(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the revoked key's records are gone, the other key's stay")
	_, created, err := db.BeginIdempotent(ctx, idemRecord(kept.ID, "done", "r", t0), t0)
	require.NoError(t, err)
	assert.False(t, created, "the other key's record is still live")
}

// TestIdempotencyRunningRecordLease: a running record left by a process
// that died (crash or SIGKILL between the write and the cached response)
// stops answering "in progress" after spotzee.IdempotencyLease.
func TestIdempotencyRunningRecordLease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		done        bool
		after       time.Duration
		wantCreated bool
	}{
		{"running, within the lease", false, spotzee.IdempotencyLease - time.Second, false},
		{"running, at the lease", false, spotzee.IdempotencyLease, true},
		{"running, long after", false, time.Hour, true},
		{"finished, after the lease", true, time.Hour, false},
		{"finished, after expiry", true, 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openMem(t)
			_, created, err := db.BeginIdempotent(ctx, idemRecord(1, "k", "first", t0), t0)
			require.NoError(t, err)
			require.True(t, created)
			if tt.done {
				require.NoError(t, db.FinishIdempotent(ctx, 1, "k", t0, []byte("sealed")))
			}

			at := t0.Add(tt.after)
			got, created, err := db.BeginIdempotent(ctx, idemRecord(1, "k", "retry", at), at)
			require.NoError(t, err)
			assert.Equal(t, tt.wantCreated, created)
			if tt.wantCreated {
				assert.Equal(t, running(idemRecord(1, "k", "retry", at)), got)
			} else {
				assert.Equal(t, hashOf("first"), got.RequestHash, "the first record stays")
			}
		})
	}
}
