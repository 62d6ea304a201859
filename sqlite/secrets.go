package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Secret returns the secret named name, creating it with gen when absent.
// Concurrent first calls (in this process or another) may each call gen, but
// only the first value is stored and all of them return it. Secret returns
// gen's error, an error for an empty generated secret, or a storage error.
func (db *DB) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := db.r.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: generate: %w", name, err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("sqlite: secret %q: generator returned no bytes", name)
	}
	err = db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
	}
	return v, nil
}
