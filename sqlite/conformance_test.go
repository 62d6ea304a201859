package sqlite_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/sqlite"
	"github.com/spotzeekit/spotzee-keys/storetest"
)

// TestConformance runs the storage conformance suite shared with package
// postgres, on a file database (the server's) and an in-memory one.
func TestConformance(t *testing.T) {
	t.Parallel()
	for name, open := range openBoth(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) storetest.DB { return open(t) })
		})
	}
}

// TestConformanceShared runs the concurrency cases with writes split over
// two handles on one database file, as two processes would share it.
func TestConformanceShared(t *testing.T) {
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T) [2]storetest.DB {
		first, path := openFile(t)
		second, err := sqlite.Open(context.Background(), path)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, second.Close()) })
		return [2]storetest.DB{first, second}
	})
}
