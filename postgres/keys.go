package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// keyColumns is the column list scanKey reads, in order.
const keyColumns = `id, project_id, name, description, scope, role, value_prefix, last4,
	is_system, created_at, updated_at, revoked_at`

func scanKey(row pgx.Row) (spotzee.APIKey, error) {
	var (
		k                spotzee.APIKey
		revoked          *string
		created, updated string
		scope, role      string
	)
	if err := row.Scan(&k.ID, &k.ProjectID, &k.Name, &k.Description, &scope, &role, &k.ValuePrefix, &k.Last4,
		&k.IsSystem, &created, &updated, &revoked); err != nil {
		return spotzee.APIKey{}, err
	}
	k.Scope, k.Role = spotzee.Scope(scope), spotzee.Role(role)
	var err error
	if k.CreatedAt, err = parseTime(created); err != nil {
		return spotzee.APIKey{}, err
	}
	if k.UpdatedAt, err = parseTime(updated); err != nil {
		return spotzee.APIKey{}, err
	}
	if k.RevokedAt, err = parseNullTime(revoked); err != nil {
		return spotzee.APIKey{}, err
	}
	return k, nil
}

// fold lower-cases s for the text filter, as sqlite's spotzee_fold does.
func fold(s string) string { return strings.ToLower(s) }

func foldPtr(s *string) *string {
	if s == nil {
		return nil
	}
	f := fold(*s)
	return &f
}

func keyMissing(id int64) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with id %d in this project.", id)
}

func projectMissing(id int64) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No project with id %d.", id)
}

// projectColumns is the column list scanProject reads, in order.
const projectColumns = `id, organization_id, name, tier, locale, timezone, description, website_url,
	text_opt_out_message, text_help_message, link_wrap_email, link_wrap_push, track_opens_email,
	deeplink_mirror_url, created_at, updated_at`

func scanProject(row pgx.Row) (spotzee.Project, error) {
	var (
		p             spotzee.Project
		org           *int64
		tier, created string
		updated       *string
	)
	if err := row.Scan(&p.ID, &org, &p.Name, &tier, &p.Locale, &p.Timezone, &p.Description, &p.WebsiteURL,
		&p.TextOptOutMessage, &p.TextHelpMessage, &p.LinkWrapEmail, &p.LinkWrapPush, &p.TrackOpensEmail,
		&p.DeeplinkMirrorURL, &created, &updated); err != nil {
		return spotzee.Project{}, err
	}
	if org != nil {
		p.OrganizationID = *org
	}
	p.Tier = spotzee.Tier(tier)
	var err error
	if p.CreatedAt, err = parseTime(created); err != nil {
		return spotzee.Project{}, err
	}
	p.UpdatedAt = p.CreatedAt
	if updated != nil {
		if p.UpdatedAt, err = parseTime(*updated); err != nil {
			return spotzee.Project{}, err
		}
	}
	return p, nil
}

// insertProject inserts a project of organisation orgID through q.
func insertProject(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, orgID int64, name string, tier spotzee.Tier, s spotzee.ProjectSettings, now time.Time) (spotzee.Project, error) {
	return scanProject(q.QueryRow(ctx,
		`INSERT INTO projects (organization_id, name, name_fold, tier, locale, timezone, description, description_fold,
			website_url, text_opt_out_message, text_help_message, link_wrap_email, link_wrap_push, track_opens_email,
			deeplink_mirror_url, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
		RETURNING `+projectColumns,
		orgID, name, fold(name), string(tier), s.Locale, s.Timezone, s.Description, foldPtr(s.Description),
		s.WebsiteURL, s.TextOptOutMessage, s.TextHelpMessage, s.LinkWrapEmail, s.LinkWrapPush, s.TrackOpensEmail,
		s.DeeplinkMirrorURL, formatTime(now)))
}

// CreateProject creates a project in the default organisation (id 1,
// "default", created when missing), with locale "en" and timezone "UTC", and
// returns it with its id; it returns a storage error when the insert fails.
func (db *DB) CreateProject(ctx context.Context, name string, tier spotzee.Tier, now time.Time) (spotzee.Project, error) {
	var p spotzee.Project
	err := db.write(ctx, func(tx pgx.Tx) error {
		at := formatTime(now)
		tag, err := tx.Exec(ctx,
			`INSERT INTO organizations (id, username, created_at, updated_at) VALUES (1, 'default', $1, $1)
			ON CONFLICT DO NOTHING`, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			// An explicit id does not advance the identity: move it past 1.
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('organizations', 'id'),
				(SELECT max(id) FROM organizations))`); err != nil {
				return err
			}
		}
		p, err = insertProject(ctx, tx, 1, name, tier, spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, now)
		return err
	})
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("postgres: create project: %w", err)
	}
	return p, nil
}

// Project returns the project with id; it returns a CodeResourceMissing
// *spotzee.Error when there is none, a storage error when the read fails.
func (db *DB) Project(ctx context.Context, id int64) (spotzee.Project, error) {
	p, err := scanProject(db.pool.QueryRow(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return spotzee.Project{}, projectMissing(id)
	}
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("postgres: project %d: %w", id, err)
	}
	return p, nil
}

// SetProjectTier changes the tier of project id; it returns a
// CodeResourceMissing *spotzee.Error when there is no such project, a storage
// error when the write fails.
func (db *DB) SetProjectTier(ctx context.Context, id int64, tier spotzee.Tier) error {
	tag, err := db.pool.Exec(ctx, `UPDATE projects SET tier = $1 WHERE id = $2`, string(tier), id)
	if err != nil {
		return fmt.Errorf("postgres: set tier of project %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return projectMissing(id)
	}
	return nil
}

// lockProject locks project projectID's row for the rest of tx and returns
// its live key count: every key write of a project holds this lock, so the
// writes of all replicas to one project run one at a time and each sees the
// ones before it. It returns projectMissing when there is no such project,
// a storage error when the read fails.
func lockProject(ctx context.Context, tx pgx.Tx, projectID int64) (int64, error) {
	var live int64
	err := tx.QueryRow(ctx, `SELECT live_keys FROM projects WHERE id = $1 FOR UPDATE`, projectID).Scan(&live)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, projectMissing(projectID)
	}
	return live, err
}

// CreateKey inserts k (created and updated at k.CreatedAt) and returns it with
// its id. It returns a CodeResourceMissing *spotzee.Error when k's project
// does not exist, a CodeResourceAlreadyExists one when a key with the same
// hash exists, a CodeQuotaExceeded one when k.MaxLiveKeys is positive and
// the project already has that many live keys, the errors of checkCaller
// when k.CallerID is not 0 and no longer a live admin key, and a storage
// error otherwise, including for a hash that is not a SHA-256.
func (db *DB) CreateKey(ctx context.Context, k spotzee.NewKey) (spotzee.APIKey, error) {
	if len(k.Hash) != sha256.Size {
		return spotzee.APIKey{}, fmt.Errorf("postgres: create key: hash is %d bytes, want a SHA-256 (%d)", len(k.Hash), sha256.Size)
	}
	now := formatTime(k.CreatedAt)
	var key spotzee.APIKey
	err := db.write(ctx, func(tx pgx.Tx) error {
		live, err := lockProject(ctx, tx, k.ProjectID)
		if err != nil && spotzee.ErrorCode(err) != spotzee.CodeResourceMissing {
			return err // a missing project fails the insert's foreign key, after the caller check
		}
		if err := checkCaller(ctx, tx, k.CallerID, k.ProjectID); err != nil {
			return err
		}
		if k.MaxLiveKeys > 0 && live >= int64(k.MaxLiveKeys) {
			return spotzee.Errorf(spotzee.CodeQuotaExceeded,
				"The project has %d live API keys, its quota; revoke keys it no longer uses before creating more.", live)
		}
		key, err = scanKey(tx.QueryRow(ctx,
			`INSERT INTO api_keys (project_id, name, description, name_fold, description_fold, scope, role,
				value_prefix, last4, hash, is_system, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
			RETURNING `+keyColumns,
			k.ProjectID, k.Name, k.Description, fold(k.Name), foldPtr(k.Description), string(k.Scope), string(k.Role),
			k.ValuePrefix, k.Last4, k.Hash, k.IsSystem, now))
		if err != nil {
			return err
		}
		return finishInTx(ctx, tx, k.Finish, key)
	})
	var e *spotzee.Error
	switch {
	case err == nil:
		return key, nil
	case errors.As(err, &e):
		return spotzee.APIKey{}, err
	case pgCode(err) == codeForeignKey:
		return spotzee.APIKey{}, projectMissing(k.ProjectID)
	case pgCode(err) == codeUnique:
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeResourceAlreadyExists, "An API key with this value already exists.")
	}
	return spotzee.APIKey{}, fmt.Errorf("postgres: create key: %w", err)
}

// KeyByHash returns the key, revoked or not, whose value's SHA-256 is hash,
// through the unique index on api_keys.hash. It returns a CodeResourceMissing
// *spotzee.Error when there is none, a storage error when the read fails.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (spotzee.APIKey, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	if err != nil {
		return spotzee.APIKey{}, fmt.Errorf("postgres: key by hash: %w", err)
	}
	return k, nil
}

// keyColumnsK is keyColumns qualified by the alias k, for joins.
const keyColumnsK = `k.id, k.project_id, k.name, k.description, k.scope, k.role, k.value_prefix, k.last4,
	k.is_system, k.created_at, k.updated_at, k.revoked_at`

// withExtra is a pgx.Row that scans the destinations it is given, then
// extra: scanKey's columns followed by a joined one.
type withExtra struct {
	row   pgx.Row
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }

// KeyAndTierByHash is KeyByHash returning, in the same statement (one round
// trip), the rate-limit tier of the key's project: the bearer lookup and the
// tier read of a rate-limited request in one read (keys.KeyTierReader).
func (db *DB) KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error) {
	var tier string
	k, err := scanKey(withExtra{db.pool.QueryRow(ctx,
		`SELECT `+keyColumnsK+`, p.tier FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.hash = $1`, hash),
		[]any{&tier}})
	if errors.Is(err, pgx.ErrNoRows) {
		return spotzee.APIKey{}, "", spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	if err != nil {
		return spotzee.APIKey{}, "", fmt.Errorf("postgres: key and tier by hash: %w", err)
	}
	return k, spotzee.Tier(tier), nil
}

// sqlCallerAndKey reads the bearer key with its project's tier (marker 0)
// and the live key asked for in the bearer key's project (marker 1), in one
// round trip.
const sqlCallerAndKey = `SELECT ` + keyColumnsK + `, p.tier, 0 FROM api_keys k
		JOIN projects p ON p.id = k.project_id WHERE k.hash = $1
	UNION ALL
	SELECT ` + keyColumnsK + `, '', 1 FROM api_keys k
		WHERE k.id = $2 AND k.revoked_at IS NULL
		AND k.project_id = (SELECT project_id FROM api_keys WHERE hash = $1)`

// CallerAndKeyByHash reads, in one statement, the key whose value's SHA-256
// is hash (revoked or not), its project's tier, and the live key id of the
// same project (keys.CallerAndKeyReader): GET /keys/{id}'s bearer lookup
// and key read in one round trip. It returns a CodeResourceMissing
// *spotzee.Error when no key has hash, with KeyErr keyMissing when the
// project has no live key id.
func (db *DB) CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error) {
	rows, err := db.pool.Query(ctx, sqlCallerAndKey, hash, id)
	if err != nil {
		return spotzee.CallerAndKey{}, fmt.Errorf("postgres: caller and key: %w", err)
	}
	defer rows.Close()
	var (
		out              spotzee.CallerAndKey
		caller, keyFound bool
	)
	for rows.Next() {
		var (
			tier   string
			marker int
		)
		k, err := scanKey(withExtra{rows, []any{&tier, &marker}})
		if err != nil {
			return spotzee.CallerAndKey{}, fmt.Errorf("postgres: caller and key: %w", err)
		}
		if marker == 0 {
			out.Caller, out.Tier, caller = k, spotzee.Tier(tier), true
		} else {
			out.Key, keyFound = k, true
		}
	}
	if err := rows.Err(); err != nil {
		return spotzee.CallerAndKey{}, fmt.Errorf("postgres: caller and key: %w", err)
	}
	if !caller {
		return spotzee.CallerAndKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	if !keyFound {
		out.KeyErr = keyMissing(id)
	}
	return out, nil
}

const sqlLiveKey = `SELECT ` + keyColumns + ` FROM api_keys
	WHERE id = $1 AND project_id = $2 AND revoked_at IS NULL`

// getKey reads the live key id of project projectID; it returns keyMissing
// when there is none.
func getKey(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, projectID, id int64) (spotzee.APIKey, error) {
	k, err := scanKey(q.QueryRow(ctx, sqlLiveKey, id, projectID))
	if errors.Is(err, pgx.ErrNoRows) {
		return spotzee.APIKey{}, keyMissing(id)
	}
	return k, err
}

// Key returns the live key id of project projectID. It returns a
// CodeResourceMissing *spotzee.Error when the key does not exist, is revoked
// or belongs to another project, a storage error when the read fails.
func (db *DB) Key(ctx context.Context, projectID, id int64) (spotzee.APIKey, error) {
	k, err := getKey(ctx, db.pool, projectID, id)
	if err != nil {
		return spotzee.APIKey{}, storageErr(err, "key %d", id)
	}
	return k, nil
}

// checkCaller re-checks, inside a write's transaction (after lockProject, so
// it sees every write committed before), the API key callerID whose request
// the write is. It returns nil for callerID 0 (an operator) or a live secret
// admin key of project, an authentication_required *spotzee.Error for a key
// revoked, made public or of another project meanwhile, a permission_denied
// one for a key no longer admin, and a storage error when the read fails.
func checkCaller(ctx context.Context, tx pgx.Tx, callerID, projectID int64) error {
	if callerID == 0 {
		return nil
	}
	var scope, role, prefix string
	err := tx.QueryRow(ctx, `SELECT scope, role, value_prefix FROM api_keys
		WHERE id = $1 AND project_id = $2 AND revoked_at IS NULL`, callerID, projectID).Scan(&scope, &role, &prefix)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || (err == nil && (scope != string(spotzee.ScopeSecret) || prefix != "sk_")):
		return spotzee.Errorf(spotzee.CodeAuthenticationRequired, "The API key was revoked while this request ran.")
	case err != nil:
		return err
	case !spotzee.Role(role).AtLeast(spotzee.RoleAdmin):
		return spotzee.Errorf(spotzee.CodePermissionDenied,
			"Managing API keys needs the project admin role; this key became %s while this request ran.", role)
	}
	return nil
}

// checkNotLastAdmin returns a CodeStateConflict *spotzee.Error when cur is
// its project's only live secret admin key; a storage error when the read
// fails.
func checkNotLastAdmin(ctx context.Context, tx pgx.Tx, cur spotzee.APIKey) error {
	var others bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys
		WHERE project_id = $1 AND id <> $2 AND revoked_at IS NULL
		AND scope = 'secret' AND value_prefix = 'sk_' AND role = 'admin')`, cur.ProjectID, cur.ID).Scan(&others); err != nil {
		return err
	}
	if !others {
		return spotzee.LastAdminError(cur.ID)
	}
	return nil
}

// UpdateKey, for the API key callerID (0 for an operator), applies the
// non-nil fields of u to the live key id of project projectID, sets its
// updated_at to now, and returns the updated key; an empty u changes nothing
// and returns the key as it is. It returns a CodeResourceMissing
// *spotzee.Error when the key does not exist, is revoked or belongs to
// another project, a CodeStateConflict one, changing nothing, when u changes
// a system key's role or scope or would leave the project without a live
// secret admin key, the errors of checkCaller when callerID is not 0 and no
// longer a live admin key, and a storage error when the write fails.
//
// An update of the name or the description only (the PATCH clients send
// most) is, after lockProject, one statement: the UPDATE re-checks the
// caller in its WHERE clause (sqlCallerIsAdmin). When it changes no row it
// changed nothing, and the guards then run one by one, in the same
// transaction, to tell which error applies.
func (db *DB) UpdateKey(ctx context.Context, callerID, projectID, id int64, u spotzee.KeyUpdate, now time.Time) (spotzee.APIKey, error) {
	if u.Empty() && u.Finish == nil {
		return db.Key(ctx, projectID, id)
	}
	if u.Empty() { // nothing to change, a record to finish
		var k spotzee.APIKey
		err := db.write(ctx, func(tx pgx.Tx) error {
			var err error
			if k, err = getKey(ctx, tx, projectID, id); err != nil {
				return err
			}
			return finishInTx(ctx, tx, u.Finish, k)
		})
		if err != nil {
			return spotzee.APIKey{}, storageErr(err, "update key %d", id)
		}
		return k, nil
	}
	labelsOnly := u.Role == nil && u.Scope == nil
	var k spotzee.APIKey
	err := db.write(ctx, func(tx pgx.Tx) error {
		if _, err := lockProject(ctx, tx, projectID); err != nil && spotzee.ErrorCode(err) != spotzee.CodeResourceMissing {
			return err // a missing project holds no key: the checks below answer
		}
		var err error
		if labelsOnly {
			args := updateArgs(projectID, id, u, now)
			query := sqlUpdateKeyReturning
			if callerID != 0 {
				query, args = sqlUpdateKeyByAdmin, append(args, callerID)
			}
			k, err = scanKey(tx.QueryRow(ctx, query, args...))
			if errors.Is(err, pgx.ErrNoRows) {
				// Nothing changed: the checked path reports why.
				k, err = updateChecked(ctx, tx, callerID, projectID, id, u, now)
			}
		} else {
			k, err = updateChecked(ctx, tx, callerID, projectID, id, u, now)
		}
		if err != nil {
			return err
		}
		return finishInTx(ctx, tx, u.Finish, k)
	})
	if err != nil {
		return spotzee.APIKey{}, storageErr(err, "update key %d", id)
	}
	return k, nil
}

// sqlUpdateKey applies a KeyUpdate (the arguments of updateArgs) to a live
// key of a project, without RETURNING.
const sqlUpdateKey = `UPDATE api_keys SET
			name             = coalesce($1, name),
			name_fold        = coalesce($2, name_fold),
			description      = CASE WHEN $3 THEN $4 ELSE description END,
			description_fold = CASE WHEN $3 THEN $5 ELSE description_fold END,
			scope            = coalesce($6, scope),
			role             = coalesce($7, role),
			updated_at       = $8
			WHERE id = $9 AND project_id = $10 AND revoked_at IS NULL`

// sqlUpdateKeyReturning is sqlUpdateKey returning the updated key.
const sqlUpdateKeyReturning = sqlUpdateKey + `
			RETURNING ` + keyColumns

// sqlUpdateKeyByAdmin is sqlUpdateKey changing the row only while the key
// $11 is a live secret admin key of the project (checkCaller's condition).
const sqlUpdateKeyByAdmin = sqlUpdateKey + `
			AND EXISTS (SELECT 1 FROM api_keys c
				WHERE c.id = $11 AND c.project_id = $10 AND c.revoked_at IS NULL
				AND c.scope = 'secret' AND c.value_prefix = 'sk_' AND c.role = 'admin')
			RETURNING ` + keyColumns

// updateArgs returns the arguments of sqlUpdateKey for u.
func updateArgs(projectID, id int64, u spotzee.KeyUpdate, now time.Time) []any {
	var name, nameFold, scope, role *string
	if u.Name != nil {
		name, nameFold = u.Name, foldPtr(u.Name)
	}
	if u.Scope != nil {
		s := string(*u.Scope)
		scope = &s
	}
	if u.Role != nil {
		r := string(*u.Role)
		role = &r
	}
	var desc *string
	if u.SetDescription {
		desc = u.Description
	}
	return []any{name, nameFold, u.SetDescription, desc, foldPtr(desc), scope, role, formatTime(now), id, projectID}
}

// updateChecked applies the non-empty u inside a write's transaction, after
// lockProject, each guard a statement of its own, in their order of
// precedence: the caller (checkCaller), the key (keyMissing), the
// system-key rule (KeyUpdate.SystemUpdateError), the last-admin rule
// (checkNotLastAdmin); then the UPDATE. It returns the updated key or the
// first guard's error, having changed nothing.
func updateChecked(ctx context.Context, tx pgx.Tx, callerID, projectID, id int64, u spotzee.KeyUpdate, now time.Time) (spotzee.APIKey, error) {
	if err := checkCaller(ctx, tx, callerID, projectID); err != nil {
		return spotzee.APIKey{}, err
	}
	cur, err := getKey(ctx, tx, projectID, id)
	if err != nil {
		return spotzee.APIKey{}, err
	}
	if err := u.SystemUpdateError(cur); err != nil {
		return spotzee.APIKey{}, err
	}
	if u.DemotesAdmin(cur) {
		if err := checkNotLastAdmin(ctx, tx, cur); err != nil {
			return spotzee.APIKey{}, err
		}
	}
	k, err := scanKey(tx.QueryRow(ctx, sqlUpdateKeyReturning, updateArgs(projectID, id, u, now)...))
	if errors.Is(err, pgx.ErrNoRows) {
		return spotzee.APIKey{}, keyMissing(id)
	}
	return k, err
}

// RevokeKey, for the API key callerID (0 for an operator), revokes the live
// key id of project projectID at now (its revoked_at and updated_at become
// now) and returns it. It returns a CodeResourceMissing *spotzee.Error when
// the key does not exist, is already revoked or belongs to another project,
// a CodeStateConflict one, changing nothing, when it is a system key or the
// project's last live secret admin key, the errors of checkCaller when
// callerID is not 0 and no longer a live admin key, and a storage error when
// the write fails. The revoked key's idempotency records are deleted with it.
func (db *DB) RevokeKey(ctx context.Context, callerID, projectID, id int64, now time.Time) (spotzee.APIKey, error) {
	var k spotzee.APIKey
	err := db.write(ctx, func(tx pgx.Tx) error {
		if _, err := lockProject(ctx, tx, projectID); err != nil && spotzee.ErrorCode(err) != spotzee.CodeResourceMissing {
			return err // a missing project holds no key: the checks below answer
		}
		if err := checkCaller(ctx, tx, callerID, projectID); err != nil {
			return err
		}
		cur, err := getKey(ctx, tx, projectID, id)
		if err != nil {
			return err
		}
		if cur.IsSystem {
			return spotzee.Errorf(spotzee.CodeStateConflict, "API key %d is a system key and cannot be revoked.", id)
		}
		if cur.IsAdmin() {
			if err := checkNotLastAdmin(ctx, tx, cur); err != nil {
				return err
			}
		}
		at := formatTime(now)
		k, err = scanKey(tx.QueryRow(ctx,
			`UPDATE api_keys SET revoked_at = $1, updated_at = $1 WHERE id = $2 RETURNING `+keyColumns, at, id))
		if err != nil {
			return err
		}
		// A revoked key never authenticates again: its cached responses
		// (one may hold a full key value, encrypted) can never be replayed.
		_, err = tx.Exec(ctx, `DELETE FROM idempotency WHERE api_key_id = $1`, id)
		return err
	})
	if err != nil {
		return spotzee.APIKey{}, storageErr(err, "revoke key %d", id)
	}
	return k, nil
}

// HasProjects reports whether the database holds any project; it returns a
// storage error when the read fails.
func (db *DB) HasProjects(ctx context.Context) (bool, error) {
	var ok bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects)`).Scan(&ok); err != nil {
		return false, fmt.Errorf("postgres: has projects: %w", err)
	}
	return ok, nil
}

// CountKeys returns how many live keys project projectID has; it returns a
// storage error when the read fails.
func (db *DB) CountKeys(ctx context.Context, projectID int64) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx,
		`SELECT count(*) FROM api_keys WHERE project_id = $1 AND revoked_at IS NULL`, projectID,
	).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count keys of project %d: %w", projectID, err)
	}
	return n, nil
}
