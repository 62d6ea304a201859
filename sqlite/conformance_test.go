package sqlite_test

import (
	"testing"

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
