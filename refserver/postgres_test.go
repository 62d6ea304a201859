package refserver_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/postgres/pgtest"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
)

// TestPostgresReplicasBootstrapOnce: replicas starting together on one empty
// PostgreSQL database bootstrap project 1 once; each gets the shared
// counters and no SQLite store.
func TestPostgresReplicasBootstrapOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	const n = 4
	srvs := make([]*refserver.Server, n)
	for i := range srvs {
		srv, err := refserver.Open(context.Background(), refserver.Config{DBPath: dsn, RateLimits: ratelimit.Config{Disabled: true}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		require.NotNil(t, srv.Postgres())
		require.Nil(t, srv.Store())
		srvs[i] = srv
	}
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i, srv := range srvs {
		wg.Go(func() {
			_, ok, err := srv.BootstrapIfEmpty(context.Background())
			assert.NoError(t, err)
			created[i] = ok
		})
	}
	wg.Wait()
	count := 0
	for _, ok := range created {
		if ok {
			count++
		}
	}
	assert.Equal(t, 1, count)
	has, err := srvs[0].Postgres().HasProjects(context.Background())
	require.NoError(t, err)
	assert.True(t, has)
	_, err = srvs[1].Postgres().Project(context.Background(), 2)
	assert.Error(t, err, "no second project")
}
