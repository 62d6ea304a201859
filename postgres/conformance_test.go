package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/postgres"
	"github.com/spotzeekit/spotzee-keys/postgres/pgtest"
	"github.com/spotzeekit/spotzee-keys/storetest"
)

func open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.DSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

func TestConformance(t *testing.T) {
	pgtest.SkipWithout(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.DB { return open(t) })
}

// TestConformanceShared runs the concurrency cases with writes split over
// two pools on one schema: two replicas.
func TestConformanceShared(t *testing.T) {
	pgtest.SkipWithout(t)
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T) [2]storetest.DB {
		dsn := pgtest.DSN(t)
		var dbs [2]storetest.DB
		for i := range dbs {
			db, err := postgres.Open(context.Background(), dsn)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			dbs[i] = db
		}
		return dbs
	})
}
