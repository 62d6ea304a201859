package refserver

import (
	"context"
	"log/slog"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/postgres"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

// backend is what the server needs of its storage: *sqlite.DB or
// *postgres.DB.
type backend interface {
	spotzee.Store
	spotzee.OrgStore
	spotzee.IdempotencyStore
	// The joined bearer reads (keys.KeyTierReader, keys.CallerAndKeyReader).
	KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error)
	CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error)
	PurgeIdempotent(ctx context.Context, now time.Time) (int64, error)
	Close() error
}

// openBackend opens the PostgreSQL database when path is a postgres:// or
// postgresql:// DSN (postgres.IsDSN), the SQLite file (or ":memory:")
// otherwise. With PostgreSQL it also returns the shared rate-limit counters,
// nil with SQLite (each process then counts in memory).
func openBackend(ctx context.Context, path string) (backend, *postgres.DB, error) {
	if postgres.IsDSN(path) {
		db, err := postgres.Open(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return db, db, nil
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return db, nil, nil
}

// Postgres returns the PostgreSQL database when the server runs on one, nil
// on SQLite.
func (s *Server) Postgres() *postgres.DB {
	db, _ := s.db.(*postgres.DB)
	return db
}

// sharedErrorLogger returns an OnSharedError logging a shared-counter
// failure of the limiter named which (the request was admitted).
func sharedErrorLogger(log *slog.Logger, which string) func(error) {
	return func(err error) {
		log.Error("shared limit counter failed; request admitted",
			slog.String("limiter", which), slog.String("error", err.Error()))
	}
}
