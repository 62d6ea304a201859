-- Projects and their API keys. No column ever holds a key's value: a key is
-- stored as the SHA-256 of its value (hash) and the value's last four
-- characters (last4). Times are TEXT in spotzee.FormatSortTime's layout (UTC,
-- fixed-width nanoseconds), so string order is time order.

CREATE TABLE projects (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL,
	tier       TEXT    NOT NULL,
	created_at TEXT    NOT NULL
) STRICT;

CREATE TABLE api_keys (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id   INTEGER NOT NULL REFERENCES projects (id),
	name         TEXT    NOT NULL,
	description  TEXT,
	scope        TEXT    NOT NULL,
	role         TEXT    NOT NULL,
	value_prefix TEXT    NOT NULL,
	last4        TEXT    NOT NULL CHECK (length(last4) <= 4),
	hash         BLOB    NOT NULL CHECK (length(hash) = 32),
	is_system    INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)),
	created_at   TEXT    NOT NULL,
	updated_at   TEXT    NOT NULL,
	revoked_at   TEXT
) STRICT;

-- Bearer lookup: one indexed probe per authenticated request.
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);

-- One index per list order, over live keys only; id breaks ties.
CREATE INDEX api_keys_live_id      ON api_keys (project_id, id)             WHERE revoked_at IS NULL;
CREATE INDEX api_keys_live_name    ON api_keys (project_id, name, id)       WHERE revoked_at IS NULL;
CREATE INDEX api_keys_live_created ON api_keys (project_id, created_at, id) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_live_updated ON api_keys (project_id, updated_at, id) WHERE revoked_at IS NULL;

-- Idempotency records, scoped to the API key that sent the request. response
-- is opaque (encrypted by the HTTP layer).
CREATE TABLE idempotency (
	api_key_id   INTEGER NOT NULL,
	key          TEXT    NOT NULL,
	request_hash BLOB,
	done         INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
	response     BLOB,
	created_at   TEXT    NOT NULL,
	expires_at   TEXT    NOT NULL,
	PRIMARY KEY (api_key_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- Server-wide secrets (cursor signing, response encryption).
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
