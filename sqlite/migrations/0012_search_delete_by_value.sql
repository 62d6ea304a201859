-- The trigram index (0011) deletes by value (issue #16): the flush removes
-- a key's old entry with FTS5's 'delete' command, given the text that was
-- indexed, instead of by rowid through contentless_delete's tombstones.
--
-- With contentless_delete=1, deleting a rowid marks it in a tombstone array
-- of every segment that may hold it. In a project of 100,000 keys renamed
-- at random, each flush of 1,024 ids rewrote hundreds of tombstone pages
-- (414 WAL frames against 27 at 1,000 keys), and FTS5 also rewrote one
-- row of its docsize table per key. A 'delete' writes its entries into the
-- flush's new segment, beside the insert, so its cost follows the renamed
-- keys rather than the index; merges drop the deleted entries later.
-- columnsize=0 drops the docsize table, which only ranking (bm25) reads.
-- BenchmarkFlushSearch at 100,000 keys: a flush's CPU 13.6 → 7.8 ms.
--
-- A 'delete' must be given exactly the text the index holds for the id, so
-- the queue now records it: with the id, whether the key was indexed
-- (live) and its name and description before the change (OLD). INSERT OR
-- IGNORE keeps the first record since the last flush, which describes what
-- that flush left indexed: every change of a live key's text, every
-- revocation, un-revocation and deletion of a live key queues the id, so a
-- key that is not queued is indexed with its current text when live and
-- not at all otherwise. The flush folds that text with spotzee_fold, as it
-- did when it indexed it (so spotzee_fold must not change meaning: it
-- already had not to, as searches compare its output with the index).
--
-- The triggers still only write the queue, with plain SQL: any SQLite tool
-- can write keys. The index and the queue are rebuilt here from api_keys,
-- since the old queue does not say what the index held for its ids. A
-- contentless table with columnsize=0 cannot be scanned: only MATCH reads
-- it (as the list does), and fts5vocab for inspection.

DROP TRIGGER api_keys_search_insert;
DROP TRIGGER api_keys_search_update;
DROP TRIGGER api_keys_search_revoke;
DROP TRIGGER api_keys_search_delete;
DROP TABLE api_keys_search;
DROP TABLE api_keys_search_pending;

CREATE VIRTUAL TABLE api_keys_search USING fts5(
	name_fold, description_fold,
	tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0
);

CREATE TABLE api_keys_search_pending (
	id          INTEGER PRIMARY KEY, -- an api_keys id, which may no longer exist
	indexed     INTEGER NOT NULL,    -- 1: the index holds name and description, folded, for id
	name        TEXT,
	description TEXT
);

INSERT INTO api_keys_search (rowid, name_fold, description_fold)
	SELECT id, spotzee_fold(name), spotzee_fold(description) FROM api_keys WHERE revoked_at IS NULL;

CREATE TRIGGER api_keys_search_insert AFTER INSERT ON api_keys
WHEN NEW.revoked_at IS NULL
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id, indexed) VALUES (NEW.id, 0);
END;

CREATE TRIGGER api_keys_search_update AFTER UPDATE OF name, description ON api_keys
WHEN NEW.revoked_at IS NULL AND (NEW.name IS NOT OLD.name OR NEW.description IS NOT OLD.description)
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id, indexed, name, description)
		VALUES (NEW.id, OLD.revoked_at IS NULL, OLD.name, OLD.description);
END;

CREATE TRIGGER api_keys_search_revoke AFTER UPDATE OF revoked_at ON api_keys
WHEN (OLD.revoked_at IS NULL) IS NOT (NEW.revoked_at IS NULL)
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id, indexed, name, description)
		VALUES (NEW.id, OLD.revoked_at IS NULL, OLD.name, OLD.description);
END;

CREATE TRIGGER api_keys_search_delete AFTER DELETE ON api_keys
WHEN OLD.revoked_at IS NULL
BEGIN
	INSERT OR IGNORE INTO api_keys_search_pending (id, indexed, name, description)
		VALUES (OLD.id, 1, OLD.name, OLD.description);
END;
