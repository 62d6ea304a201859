// Package pgtest gives tests a private PostgreSQL schema on the server named
// by SPOTZEE_TEST_POSTGRES_DSN, so that parallel tests never share tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the test server's DSN.
const EnvDSN = "SPOTZEE_TEST_POSTGRES_DSN"

// SkipWithout skips t, with a message naming EnvDSN, when the variable is
// not set; it never fails.
func SkipWithout(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvDSN) == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:55432/spotzee_test?sslmode=disable; .ci/run starts one through scripts/ci-postgres.sh)", EnvDSN)
	}
}

// DSN returns a DSN for a new, empty schema on the test server (its
// search_path set to that schema), dropped when t ends. It skips t, with a
// message naming EnvDSN, when the variable is not set, and fails t when the
// schema cannot be created.
func DSN(t testing.TB) string {
	t.Helper()
	SkipWithout(t)
	base := os.Getenv(EnvDSN)
	schema := "t_" + strings.ToLower(rand.Text())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvDSN, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
