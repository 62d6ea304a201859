// Package sqlite stores projects, API keys, idempotency records and
// server-wide secrets in SQLite, through the pure-Go driver modernc.org/sqlite.
// [DB] implements [spotzee.Store], [spotzee.IdempotencyStore] and
// [spotzee.SecretStore].
//
// # Schema
//
// The schema lives in migrations/*.sql, embedded in the binary and applied in
// file-name order by [Open], each in its own transaction and recorded in
// schema_migrations, so reopening a database applies only the new ones. The
// tables are projects, api_keys, idempotency and secrets. Times are TEXT in
// [spotzee.FormatSortTime]'s layout (UTC, fixed-width nanoseconds): string
// order is time order and a time read back equals the time written. api_keys
// has a unique index on hash for bearer lookup and, for each list order
// (id, name, created_at, updated_at), a partial index over live keys
// (revoked_at IS NULL) on (project_id, field, id), which ListKeys walks with
// keyset pagination, never OFFSET.
//
// No key value is ever stored: the domain hands the store only the SHA-256 of a
// value (api_keys.hash, which a CHECK constrains to 32 bytes) and its last four
// characters.
//
// # Concurrency
//
// A file database runs in WAL mode with synchronous=NORMAL, busy_timeout and
// foreign_keys on. Every write goes through one connection in an IMMEDIATE
// transaction, so concurrent writers queue in Go instead of failing with
// SQLITE_BUSY; reads use a separate pool of read-only connections and run
// concurrently with each other and with the writer. The path ":memory:" gives
// each [Open] its own private in-memory database (SQLite's memdb VFS under a
// random name), with the same writer/reader split.
//
// The key list's trigram search index (migrations 0011 and 0012) is not
// written by the transactions that change keys: their triggers queue the
// keys' ids with the text the index holds for them, and
// [DB.FlushSearchIndex] indexes the queue in one transaction (deleting the
// old entries by that text), at [Open] and from a goroutine the DB runs
// until [DB.Close], which also merges the index's segments when idle and
// every 32 flushes. Searches read the queue as well as the index, so they
// are exact before a flush too.
//
// # Change stamp
//
// [DB.ChangeStamp] tells, at the cost of a few atomic loads, whether anything
// was committed since an earlier call: for a file it reads the WAL-index
// header of the -shm file (mapped read-only), which every commit of every
// process changes before the commit becomes visible; for ":memory:" it counts
// the DB's write transactions. The reference server's authenticated-key cache
// (package authcache) is validated by it.
package sqlite
