// Package postgres is the reference server's storage on PostgreSQL (pgx/v5),
// the twin of package sqlite for a shared sandbox: several reference-server
// replicas behind one database. It implements spotzee.Store,
// spotzee.OrgStore, spotzee.IdempotencyStore and spotzee.SecretStore with
// sqlite's semantics (the storetest suite holds both to them), and TakeSlot,
// the shared rate-limit counters.
//
// Nothing is cached in the process: every call reads the database, so a key
// revoked through one replica is refused by every replica on its next
// request. Every key write runs in one transaction that first locks its
// project's (or organisation's) row (SELECT … FOR UPDATE), so the re-check
// of the caller, the system-key, last-admin and last-owner rules and the key
// quota hold when replicas write at once. Idempotency records are decided by the primary key (api_key_id,
// key) with INSERT … ON CONFLICT, so an idempotent request retried on
// another replica replays instead of creating twice.
//
// Migrations are embedded (migrations/*.sql) and applied by Open with the
// same name-recorded schema_migrations runner as package sqlite, under an
// advisory lock so that replicas starting together apply each file once.
// 0001 is sqlite's 0001-0003 plus the shared counters; 0002 is sqlite's 0010
// (organisations, ok_ keys, project settings), with the Go-folded name and
// description columns the text filter reads; 0003 is sqlite's 0011 (the
// text filter's trigram indexes, here pg_trgm's, created only when the
// extension can be).
package postgres
