package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/postgres"
	"github.com/spotzeekit/spotzee-keys/postgres/pgtest"
)

func TestTakeSlot(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name                     string
		slot, span, limit, burst int64
		wantAdded                bool
		wantTotal                int64
	}{
		{"first", 10, 10, 3, 0, true, 1},
		{"second", 10, 10, 3, 0, true, 2},
		{"next slot counts the window", 11, 10, 3, 0, true, 3},
		{"limit reached", 11, 10, 3, 0, false, 3},
		{"old slot left the window", 20, 10, 3, 0, true, 2},
		{"burst cap", 20, 10, 100, 1, false, 2},
		{"no limit always adds", 20, 10, 0, 0, true, 3},
	}
	for _, tc := range tests { // sequential: one bucket
		added, total, err := db.TakeSlot(ctx, "b", tc.slot, tc.span, tc.limit, tc.burst, exp)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.wantAdded, added, tc.name)
		assert.Equal(t, tc.wantTotal, total, tc.name)
	}
}

// TestTakeSlotReplicas: two handles on one database (two replicas) racing
// on one budget admit exactly the limit.
func TestTakeSlotReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	var dbs []*postgres.DB
	for range 2 {
		db, err := postgres.Open(context.Background(), dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		dbs = append(dbs, db)
	}
	const limit = 25
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := range 4 * limit {
		wg.Go(func() {
			added, _, err := dbs[i%2].TakeSlot(context.Background(), "shared", 7, 10, limit, 0, time.Now().Add(time.Hour))
			assert.NoError(t, err)
			if added {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, limit, admitted.Load())
}
