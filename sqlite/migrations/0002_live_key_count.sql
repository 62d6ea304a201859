-- Each project's live (not revoked) key count, kept by triggers, so a list
-- without a text filter reports X-Total-Count without counting rows.

ALTER TABLE projects ADD COLUMN live_keys INTEGER NOT NULL DEFAULT 0;

UPDATE projects SET live_keys =
	(SELECT count(*) FROM api_keys WHERE project_id = projects.id AND revoked_at IS NULL);

CREATE TRIGGER api_keys_live_insert AFTER INSERT ON api_keys
WHEN NEW.revoked_at IS NULL
BEGIN
	UPDATE projects SET live_keys = live_keys + 1 WHERE id = NEW.project_id;
END;

CREATE TRIGGER api_keys_live_revoke AFTER UPDATE OF revoked_at ON api_keys
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
	UPDATE projects SET live_keys = live_keys - 1 WHERE id = NEW.project_id;
END;

CREATE TRIGGER api_keys_live_delete AFTER DELETE ON api_keys
WHEN OLD.revoked_at IS NULL
BEGIN
	UPDATE projects SET live_keys = live_keys - 1 WHERE id = OLD.project_id;
END;
