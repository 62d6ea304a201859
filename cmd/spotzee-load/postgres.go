package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotzeekit/spotzee-keys/postgres"
)

// The environment of a replica that joins a seeded PostgreSQL database.
const (
	// childJoinEnv, when set, is the seeded project as JSON-free
	// "adminKey,firstID,keys": the child serves it without bootstrapping.
	childJoinEnv = "SPOTZEE_LOAD_JOIN"
	// childSecretEnv is the server secret every replica shares, in hex.
	childSecretEnv = "SPOTZEE_LOAD_SECRET"
)

// loadSchema creates a fresh schema on the PostgreSQL database dsn for one
// run and returns the DSN selecting it and a function dropping it; it
// returns an error when the database cannot be reached.
func loadSchema(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("-db: not a URL")
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("-db: %w", err)
	}
	schema := "spotzee_load_" + strings.ToLower(rand.Text())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = conn.Close(ctx)
		return "", nil, fmt.Errorf("-db: create schema: %w", err)
	}
	drop := func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = conn.Exec(c, "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(c)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// seedPostgres inserts n support keys into project projectID in one
// statement and returns their ids, as bench.SeedKeysFile does for SQLite.
func seedPostgres(ctx context.Context, db *postgres.DB, projectID int64, n int, start time.Time) ([]int64, error) {
	nonce := rand.Text()
	rows, err := db.Pool().Query(ctx, `INSERT INTO api_keys (project_id, name, description, name_fold, scope, role,
		value_prefix, last4, hash, is_system, created_at, updated_at)
		SELECT $1, 'seed ' || g, NULL, 'seed ' || g, 'secret', 'support', 'sk_', lpad((g % 10000)::text, 4, '0'),
			sha256(convert_to($2 || g::text, 'UTF8')), false,
			to_char(($3::timestamptz + g * interval '1 microsecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '000Z',
			to_char(($3::timestamptz + g * interval '1 microsecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '000Z'
		FROM generate_series(0, $4::int - 1) AS g ORDER BY g
		RETURNING id`, projectID, nonce, start, n)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return ids, nil
}

// joinInfo reads childJoinEnv; ok is false when it is not set.
func joinInfo() (r ready, ok bool, err error) {
	s := os.Getenv(childJoinEnv)
	if s == "" {
		return ready{}, false, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return ready{}, true, fmt.Errorf("bad %s", childJoinEnv)
	}
	r.AdminKey = parts[0]
	if r.FirstID, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return ready{}, true, fmt.Errorf("bad %s: %w", childJoinEnv, err)
	}
	if r.Keys, err = strconv.Atoi(parts[2]); err != nil {
		return ready{}, true, fmt.Errorf("bad %s: %w", childJoinEnv, err)
	}
	return r, true, nil
}

// sharedSecret reads childSecretEnv: nil when unset.
func sharedSecret() ([]byte, error) {
	s := os.Getenv(childSecretEnv)
	if s == "" {
		return nil, nil
	}
	return hex.DecodeString(s)
}
