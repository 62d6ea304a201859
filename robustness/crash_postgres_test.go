package robustness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
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

// TestCrashSafetyIdempotentPostgres is TestCrashSafetyIdempotent on a shared
// PostgreSQL database with two replicas: replica A is killed mid-stream, and
// the retries go to replica B, running all along. It skips without
// SPOTZEE_TEST_POSTGRES_DSN.
func TestCrashSafetyIdempotentPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	secret := filepath.Join(t.TempDir(), "secret")
	idemCrashSafety(t, idemBackend{
		crashBackend: crashBackend{
			db:       func(*testing.T, string) string { return dsn },
			extra:    []string{"--secret-file", secret},
			survivor: true,
		},
		open: openPostgresIdem,
	})
}

type postgresIdem struct{ conn *pgx.Conn }

func openPostgresIdem(t *testing.T, dsn string) idemDB {
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	return postgresIdem{conn: conn}
}

func (p postgresIdem) counts(t *testing.T) (keys, done, running int) {
	t.Helper()
	require.NoError(t, p.conn.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM api_keys WHERE name LIKE 'idem-%' AND revoked_at IS NULL)
		+ (SELECT count(*) FROM org_api_keys WHERE name LIKE 'idem-%' AND revoked_at IS NULL)
		+ (SELECT count(*) FROM projects WHERE name LIKE 'idem-%'),
		(SELECT count(*) FROM idempotency WHERE done),
		(SELECT count(*) FROM idempotency WHERE NOT done)`).Scan(&keys, &done, &running))
	return keys, done, running
}

func (p postgresIdem) age(t *testing.T, at time.Time) {
	t.Helper()
	_, err := p.conn.Exec(context.Background(), `UPDATE idempotency SET created_at = $1 WHERE NOT done`, spotzee.FormatSortTime(at))
	require.NoError(t, err)
}

func (p postgresIdem) close() { _ = p.conn.Close(context.Background()) }
