-- Names list case-insensitively ("billing" between "Alpha" and "SMTP proxy",
-- not after every capital): the list orders and compares by
-- name COLLATE NOCASE (SQLite's built-in collation, which folds ASCII
-- letters; any SQLite tool can still write the table), then id. The index
-- follows that order.

DROP INDEX api_keys_live_name;
CREATE INDEX api_keys_live_name ON api_keys (project_id, name COLLATE NOCASE, id) WHERE revoked_at IS NULL;
