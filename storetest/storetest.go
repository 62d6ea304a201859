// Package storetest is a conformance suite for the reference server's
// storage backends, in the style of testing/fstest.TestFS: a backend's test
// calls Run with a function opening a fresh, empty database, and Run checks
// every behaviour the HTTP layer relies on (spotzee.Store,
// spotzee.OrgStore, spotzee.IdempotencyStore, spotzee.SecretStore):
// projects, organisations and their keys and projects, key writes and
// their guards (caller re-check, system key, last admin, quota), the
// live-key rules, keyset pagination, idempotency records and secrets,
// including under concurrent writers. Package sqlite and package postgres
// both run it.
package storetest

import (
	"context"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// DB is what a backend offers: the three storage interfaces and the
// maintenance methods the reference server calls.
type DB interface {
	spotzee.Store
	spotzee.OrgStore
	spotzee.IdempotencyStore
	spotzee.SecretStore
	// PurgeIdempotent deletes the idempotency records expired at now and
	// returns how many.
	PurgeIdempotent(ctx context.Context, now time.Time) (int64, error)
	// IdempotencyRecords counts the idempotency records, expired or not.
	IdempotencyRecords(ctx context.Context) (int, error)
	// CountKeys counts a project's live keys.
	CountKeys(ctx context.Context, projectID int64) (int, error)
}
