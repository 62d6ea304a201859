package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Compile-time checks that DB implements the domain's storage interfaces.
var (
	_ spotzee.Store            = (*DB)(nil)
	_ spotzee.IdempotencyStore = (*DB)(nil)
	_ spotzee.SecretStore      = (*DB)(nil)
)

// IsDSN reports whether s names a PostgreSQL database (a URL starting with
// postgres:// or postgresql://) rather than a SQLite file.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// DB is a PostgreSQL database holding projects, keys, idempotency records,
// secrets and rate-limit counters. It is safe for concurrent use, and
// several processes may use one database at once.
type DB struct {
	pool *pgxpool.Pool
}

// migrationLock is the advisory lock key under which migrations run, so that
// replicas starting at once apply each migration once.
const migrationLock = 0x5350_4f54_5a45_45 // "SPOTZEE"

// Open connects to the PostgreSQL database dsn (a postgres:// URL; pgx
// options such as pool_max_conns and runtime parameters such as search_path
// may be given in its query) and applies the migrations it lacks. It returns
// an error when the DSN is malformed, the database cannot be reached or a
// migration fails; nothing stays open then. Errors never contain the DSN's
// password.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: parse DSN: %w", redact(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := &DB{pool: pool}
	if err := db.migrate(ctx, migrations); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return db, nil
}

// redact drops the text of a DSN parse error, which may quote the DSN and
// its password.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("malformed connection string")
	}
	return err
}

// Close closes the connection pool; it never fails (it returns nil) and the
// DB is unusable afterwards.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Pool returns the connection pool, for tests and operators.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// migrate applies, in file-name order, every migrations/*.sql of fsys not yet
// recorded in schema_migrations, each with its record in one transaction
// holding the migration advisory lock.
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	names, err := fs.Glob(fsys, "migrations/*.sql") // sorted
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    text PRIMARY KEY,
	applied_at text NOT NULL
)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range names {
		version := path.Base(name)
		script, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
				return err
			}
			var applied bool
			if err := tx.QueryRow(ctx,
				`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version,
			).Scan(&applied); err != nil || applied {
				return err
			}
			// The simple protocol runs a multi-statement script.
			if _, err := tx.Exec(ctx, string(script), pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			_, err := tx.Exec(ctx,
				`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				version, spotzee.FormatSortTime(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
	}
	return nil
}

// write runs fn in a read-committed transaction and commits it when fn
// returns nil; a serialization failure or deadlock (possible when replicas
// contend) runs fn again, up to three times.
func (db *DB) write(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for range 3 {
		err = pgx.BeginFunc(ctx, db.pool, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

// read runs fn in a repeatable-read, read-only transaction, so that its
// queries see one snapshot.
func (db *DB) read(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// The SQLSTATE codes the store acts on.
const (
	codeUnique        = "23505"
	codeForeignKey    = "23503"
	codeSerialization = "40001"
	codeDeadlock      = "40P01"
)

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerialization || c == codeDeadlock
}

// storageErr returns err as it is when it is (or wraps) a *spotzee.Error, and
// wrapped in a storage error described by format and args otherwise.
func storageErr(err error, format string, args ...any) error {
	var e *spotzee.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("postgres: "+format+": %w", append(args, err)...)
}

// formatTime is the stored form of t.
func formatTime(t time.Time) string { return spotzee.FormatSortTime(t) }

// parseTime reads back a time stored by formatTime, in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02T15:04:05.000000000Z", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := parseTime(*s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// bootstrapLock is the advisory lock key under which replicas bootstrap an
// empty database one at a time.
const bootstrapLock = 0x5350_4f54_5a45_46

// Exclusive runs fn while holding a database-wide advisory lock (a session
// lock on one pooled connection), so that of several replicas starting at
// once only one runs fn at a time: the reference server bootstraps an empty
// database under it. It returns fn's error, or an error when the lock
// cannot be taken.
func (db *DB) Exclusive(ctx context.Context, fn func() error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: exclusive: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(bootstrapLock)); err != nil {
		return fmt.Errorf("postgres: exclusive: %w", err)
	}
	defer func() {
		// A failed unlock leaves the lock on a connection about to be reused:
		// close it instead, which releases the lock.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(bootstrapLock)); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn()
}
