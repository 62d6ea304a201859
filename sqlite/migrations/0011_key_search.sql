-- A substring index for the list's text filter (q, issue #13): api_keys_search
-- holds the trigrams of each live key's name and description, folded by
-- spotzee_fold (Go's strings.ToLower, as the filter folds), keyed by the key's
-- id (its rowid). A search of three or more characters starts from this
-- table, so its cost follows the number of matching keys rather than the
-- project's size; the LIKE of the filter still decides (the trigram match is
-- only a prefilter). Shorter searches scan the project as before.
--
-- The table is contentless (content=''): it stores the index only, never a
-- copy of the text, and contentless_delete=1 lets the store delete rows.
-- case_sensitive 1: the text is already folded, so FTS5 must not fold again
-- (its folding is not Go's). Revoked keys never list, so they leave the index.
--
-- The index is not written by the transactions that change keys: FTS5
-- flushes a new segment at the end of every transaction that writes to it,
-- which cost a rename ~130 µs more than the rename itself. Instead, triggers
-- queue the id of every key whose indexed text may have changed (inserted,
-- renamed, described differently, revoked or un-revoked, deleted) in
-- api_keys_search_pending, one row per id however often it changes, and the
-- store moves the queue into the index later, many ids per transaction
-- (sqlite.DB.FlushSearchIndex: at Open and in the background). A search
-- takes as candidates the index's matches and every queued id, so it is
-- exact whether or not the queue was flushed: a queued key whose new text
-- matches is a candidate, and one whose stale indexed text matches is
-- rejected by the LIKE.
--
-- The triggers only queue ids, so any SQLite tool can write keys; only the
-- store, which registers spotzee_fold, folds text into the index (here, in
-- the backfill, and in the flush).

CREATE VIRTUAL TABLE api_keys_search USING fts5(
	name_fold, description_fold,
	tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1
);

CREATE TABLE api_keys_search_pending (
	id INTEGER PRIMARY KEY -- an api_keys id, which may no longer exist
);

INSERT INTO api_keys_search (rowid, name_fold, description_fold)
	SELECT id, spotzee_fold(name), spotzee_fold(description) FROM api_keys WHERE revoked_at IS NULL;

CREATE TRIGGER api_keys_search_insert AFTER INSERT ON api_keys
WHEN NEW.revoked_at IS NULL
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id) VALUES (NEW.id);
END;

-- Only a real change: an UPDATE that sets name or description to the value
-- it has (as PATCH does for the fields it is sent) queues nothing.
CREATE TRIGGER api_keys_search_update AFTER UPDATE OF name, description ON api_keys
WHEN NEW.revoked_at IS NULL AND (NEW.name IS NOT OLD.name OR NEW.description IS NOT OLD.description)
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id) VALUES (NEW.id);
END;

-- Revocation (final for the API, but another tool could clear revoked_at:
-- the flush then indexes the key again).
CREATE TRIGGER api_keys_search_revoke AFTER UPDATE OF revoked_at ON api_keys
WHEN (OLD.revoked_at IS NULL) IS NOT (NEW.revoked_at IS NULL)
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id) VALUES (NEW.id);
END;

CREATE TRIGGER api_keys_search_delete AFTER DELETE ON api_keys
WHEN OLD.revoked_at IS NULL
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id) VALUES (OLD.id);
END;
