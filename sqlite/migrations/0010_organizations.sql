-- Organisations, their API keys (ok_), and projects belonging to an
-- organisation with their settings. As for project keys, no column holds an
-- organisation key's value: only its SHA-256 (hash) and last four characters.
-- Existing projects go into a default organisation (id 1, "default"), created
-- only when there are projects, with locale "en" and timezone "UTC".

CREATE TABLE organizations (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	username   TEXT    NOT NULL UNIQUE,
	domain     TEXT,
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
) STRICT;

CREATE TABLE org_api_keys (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	organization_id INTEGER NOT NULL REFERENCES organizations (id),
	name            TEXT    NOT NULL,
	description     TEXT,
	role            TEXT    NOT NULL CHECK (role IN ('member', 'admin', 'owner')),
	last4           TEXT    NOT NULL CHECK (length(last4) <= 4),
	hash            BLOB    NOT NULL CHECK (length(hash) = 32),
	created_at      TEXT    NOT NULL,
	updated_at      TEXT    NOT NULL,
	revoked_at      TEXT
) STRICT;

CREATE UNIQUE INDEX org_api_keys_hash ON org_api_keys (hash);
CREATE INDEX org_api_keys_live_id      ON org_api_keys (organization_id, id)                      WHERE revoked_at IS NULL;
CREATE INDEX org_api_keys_live_name    ON org_api_keys (organization_id, name COLLATE NOCASE, id) WHERE revoked_at IS NULL;
CREATE INDEX org_api_keys_live_created ON org_api_keys (organization_id, created_at, id)          WHERE revoked_at IS NULL;
CREATE INDEX org_api_keys_live_updated ON org_api_keys (organization_id, updated_at, id)          WHERE revoked_at IS NULL;

INSERT INTO organizations (id, username, created_at, updated_at)
	SELECT 1, 'default', min(created_at), min(created_at) FROM projects HAVING count(*) > 0;

ALTER TABLE projects ADD COLUMN organization_id      INTEGER REFERENCES organizations (id);
ALTER TABLE projects ADD COLUMN locale               TEXT NOT NULL DEFAULT 'en';
ALTER TABLE projects ADD COLUMN timezone             TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE projects ADD COLUMN description          TEXT;
ALTER TABLE projects ADD COLUMN website_url          TEXT;
ALTER TABLE projects ADD COLUMN text_opt_out_message TEXT;
ALTER TABLE projects ADD COLUMN text_help_message    TEXT;
ALTER TABLE projects ADD COLUMN link_wrap_email      INTEGER CHECK (link_wrap_email IN (0, 1));
ALTER TABLE projects ADD COLUMN link_wrap_push       INTEGER CHECK (link_wrap_push IN (0, 1));
ALTER TABLE projects ADD COLUMN track_opens_email    INTEGER CHECK (track_opens_email IN (0, 1));
ALTER TABLE projects ADD COLUMN deeplink_mirror_url  TEXT;
ALTER TABLE projects ADD COLUMN updated_at           TEXT;

UPDATE projects SET organization_id = 1, updated_at = created_at;

CREATE INDEX projects_org_id      ON projects (organization_id, id);
CREATE INDEX projects_org_name    ON projects (organization_id, name COLLATE NOCASE, id);
CREATE INDEX projects_org_created ON projects (organization_id, created_at, id);
CREATE INDEX projects_org_updated ON projects (organization_id, updated_at, id);
