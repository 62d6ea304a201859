package sqlite

import (
	"context"
	"database/sql"
)

// modernc.org/sqlite parses the SQL of every ad-hoc query again; profiles of
// GET /keys/{id} showed a fifth of the server's CPU in statement
// preparation. The queries this package runs come from a small fixed set of
// texts, so each is prepared once per pool and kept.

type stmtKey struct {
	pool  *sql.DB
	query string
}

// prepared returns the cached statement for query on pool, preparing it on
// first use; nil when preparing fails (the caller then runs the query
// directly, which reports the error).
func (db *DB) prepared(ctx context.Context, pool *sql.DB, query string) *sql.Stmt {
	key := stmtKey{pool, query}
	if s, ok := db.stmts.Load(key); ok {
		return s.(*sql.Stmt)
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if actual, loaded := db.stmts.LoadOrStore(key, s); loaded {
		_ = s.Close()
		return actual.(*sql.Stmt)
	}
	return s
}

// closeStmts closes every cached statement.
func (db *DB) closeStmts() {
	db.stmts.Range(func(k, s any) bool {
		_ = s.(*sql.Stmt).Close()
		db.stmts.Delete(k)
		return true
	})
}

// querier runs queries through cached statements, on a pool or inside one of
// its transactions.
type querier struct {
	db   *DB
	pool *sql.DB
	tx   *sql.Tx // nil outside a transaction
}

// reader returns a querier over the read-only pool.
func (db *DB) reader() querier { return querier{db: db, pool: db.r} }

// inRead returns a querier for tx, a transaction of the read-only pool.
func (db *DB) inRead(tx *sql.Tx) querier { return querier{db: db, pool: db.r, tx: tx} }

// inWrite returns a querier for tx, a transaction of the writer.
func (db *DB) inWrite(tx *sql.Tx) querier { return querier{db: db, pool: db.w, tx: tx} }

// stmt returns the statement to run query with, nil to run it unprepared.
// Inside a transaction it only uses a statement already cached: preparing
// on the pool there would wait for a connection the transaction may hold
// (the writer pool has one), so callers warm the cache before BEGIN.
func (q querier) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.tx == nil {
		return q.db.prepared(ctx, q.pool, query)
	}
	s, ok := q.db.stmts.Load(stmtKey{q.pool, query})
	if !ok {
		return nil
	}
	return q.tx.StmtContext(ctx, s.(*sql.Stmt))
}

// warm prepares queries on pool, outside any transaction, so that a
// transaction about to run them finds them cached.
func (db *DB) warm(ctx context.Context, pool *sql.DB, queries ...string) {
	for _, q := range queries {
		db.prepared(ctx, pool, q)
	}
}

// QueryRowContext runs a query that returns at most one row.
func (q querier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := q.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	return q.pool.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows.
func (q querier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := q.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryContext(ctx, query, args...)
	}
	return q.pool.QueryContext(ctx, query, args...)
}

// ExecContext runs a statement that returns no rows.
func (q querier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := q.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.ExecContext(ctx, query, args...)
	}
	return q.pool.ExecContext(ctx, query, args...)
}
