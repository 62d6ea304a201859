package robustness

import (
	"path/filepath"
	"testing"

	"github.com/spotzeekit/spotzee-keys/postgres/pgtest"
)

// TestCrashSafetyPostgres is TestCrashSafety on a shared PostgreSQL database
// with two replicas: replica A is killed with SIGKILL in the middle of a
// stream of creates and updates, and replica B, running all along, must
// show every acknowledged write (and an unacknowledged one whole or not at
// all), authenticate every acknowledged key and accept a cursor A issued.
// It skips without SPOTZEE_TEST_POSTGRES_DSN.
func TestCrashSafetyPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	secret := filepath.Join(t.TempDir(), "secret")
	crashSafety(t, crashBackend{
		db:       func(*testing.T, string) string { return dsn },
		extra:    []string{"--secret-file", secret},
		survivor: true,
	})
}
