-- A substring index for the list's text filter (q, issue #13): api_keys_search
-- holds the trigrams of each live key's name and description, folded by
-- spotzee_fold (Go's strings.ToLower, as the filter folds), keyed by the key's
-- id (its rowid). A search of three or more characters starts from this
-- table, so its cost follows the number of matching keys rather than the
-- project's size; the LIKE of the filter still decides (the trigram match is
-- only a prefilter). Shorter searches scan the project as before.
--
-- The table is contentless (content=''): it stores the index only, never a
-- copy of the text, and contentless_delete=1 lets the triggers delete rows.
-- case_sensitive 1: the text is already folded, so FTS5 must not fold again
-- (its folding is not Go's). Revoked keys never list, so they leave the index.
--
-- The triggers that index text call spotzee_fold, which the store registers:
-- another SQLite tool can still revoke or delete keys (those triggers only
-- delete), but inserting keys or changing their names or descriptions needs
-- the function, and fails loudly without it rather than leave the index
-- wrong. Revocation is final: no trigger puts an un-revoked key back.

CREATE VIRTUAL TABLE api_keys_search USING fts5(
	name_fold, description_fold,
	tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1
);

INSERT INTO api_keys_search (rowid, name_fold, description_fold)
	SELECT id, spotzee_fold(name), spotzee_fold(description) FROM api_keys WHERE revoked_at IS NULL;

CREATE TRIGGER api_keys_search_insert AFTER INSERT ON api_keys
WHEN NEW.revoked_at IS NULL
BEGIN
	INSERT INTO api_keys_search (rowid, name_fold, description_fold)
		VALUES (NEW.id, spotzee_fold(NEW.name), spotzee_fold(NEW.description));
END;

CREATE TRIGGER api_keys_search_update AFTER UPDATE OF name, description ON api_keys
WHEN NEW.revoked_at IS NULL
BEGIN
	DELETE FROM api_keys_search WHERE rowid = OLD.id;
	INSERT INTO api_keys_search (rowid, name_fold, description_fold)
		VALUES (NEW.id, spotzee_fold(NEW.name), spotzee_fold(NEW.description));
END;

CREATE TRIGGER api_keys_search_revoke AFTER UPDATE OF revoked_at ON api_keys
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
	DELETE FROM api_keys_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER api_keys_search_delete AFTER DELETE ON api_keys
WHEN OLD.revoked_at IS NULL
BEGIN
	DELETE FROM api_keys_search WHERE rowid = OLD.id;
END;
