package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// keyColumns is the column list scanKey reads, in order.
const keyColumns = `id, project_id, name, description, scope, role, value_prefix, last4,
	is_system, created_at, updated_at, revoked_at`

type scanner interface{ Scan(dest ...any) error }

func scanKey(s scanner) (spotzee.APIKey, error) {
	var (
		k                spotzee.APIKey
		desc, revoked    sql.NullString
		created, updated string
		scope, role      string
	)
	if err := s.Scan(&k.ID, &k.ProjectID, &k.Name, &desc, &scope, &role, &k.ValuePrefix, &k.Last4,
		&k.IsSystem, &created, &updated, &revoked); err != nil {
		return spotzee.APIKey{}, err
	}
	k.Scope, k.Role = spotzee.Scope(scope), spotzee.Role(role)
	if desc.Valid {
		k.Description = &desc.String
	}
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

func keyMissing(id int64) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with id %d in this project.", id)
}

func projectMissing(id int64) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No project with id %d.", id)
}

// CreateProject creates a project in the default organisation (id 1,
// "default", created when missing), with locale "en" and timezone "UTC", and
// returns it with its id; it returns a storage error when the insert fails.
func (db *DB) CreateProject(ctx context.Context, name string, tier spotzee.Tier, now time.Time) (spotzee.Project, error) {
	var p spotzee.Project
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		at := formatTime(now)
		if _, err := tx.ExecContext(ctx,
			`INSERT OR IGNORE INTO organizations (id, username, created_at, updated_at) VALUES (1, 'default', ?, ?)`,
			at, at); err != nil {
			return err
		}
		var err error
		p, err = insertProject(ctx, tx, 1, name, tier, spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, now)
		return err
	})
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("sqlite: create project: %w", err)
	}
	return p, nil
}

// projectColumns is the column list scanProject reads, in order.
const projectColumns = `id, organization_id, name, tier, locale, timezone, description, website_url,
	text_opt_out_message, text_help_message, link_wrap_email, link_wrap_push, track_opens_email,
	deeplink_mirror_url, created_at, updated_at`

func insertProject(ctx context.Context, tx *sql.Tx, orgID int64, name string, tier spotzee.Tier, s spotzee.ProjectSettings, now time.Time) (spotzee.Project, error) {
	at := formatTime(now)
	return scanProjectRow(tx.QueryRowContext(ctx,
		`INSERT INTO projects (organization_id, name, tier, locale, timezone, description, website_url,
			text_opt_out_message, text_help_message, link_wrap_email, link_wrap_push, track_opens_email,
			deeplink_mirror_url, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING `+projectColumns,
		orgID, name, string(tier), s.Locale, s.Timezone, optText(s.Description), optText(s.WebsiteURL),
		optText(s.TextOptOutMessage), optText(s.TextHelpMessage), optBool(s.LinkWrapEmail), optBool(s.LinkWrapPush),
		optBool(s.TrackOpensEmail), optText(s.DeeplinkMirrorURL), at, at))
}

func optText(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func optBool(b *bool) any {
	if b == nil {
		return nil
	}
	return boolInt(*b)
}

func scanProject(s scanner, p *spotzee.Project) error {
	var err error
	*p, err = scanProjectRow(s)
	return err
}

func scanProjectRow(s scanner) (spotzee.Project, error) {
	var (
		p                               spotzee.Project
		org                             sql.NullInt64
		tier, created                   string
		updated                         sql.NullString
		desc, web, optOut, help, mirror sql.NullString
		wrapEmail, wrapPush, trackOpens sql.NullInt64
	)
	if err := s.Scan(&p.ID, &org, &p.Name, &tier, &p.Locale, &p.Timezone, &desc, &web, &optOut, &help,
		&wrapEmail, &wrapPush, &trackOpens, &mirror, &created, &updated); err != nil {
		return spotzee.Project{}, err
	}
	p.OrganizationID, p.Tier = org.Int64, spotzee.Tier(tier)
	str := func(n sql.NullString) *string {
		if !n.Valid {
			return nil
		}
		v := n.String
		return &v
	}
	bl := func(n sql.NullInt64) *bool {
		if !n.Valid {
			return nil
		}
		v := n.Int64 == 1
		return &v
	}
	p.Description, p.WebsiteURL, p.TextOptOutMessage, p.TextHelpMessage, p.DeeplinkMirrorURL =
		str(desc), str(web), str(optOut), str(help), str(mirror)
	p.LinkWrapEmail, p.LinkWrapPush, p.TrackOpensEmail = bl(wrapEmail), bl(wrapPush), bl(trackOpens)
	var err error
	if p.CreatedAt, err = parseTime(created); err != nil {
		return spotzee.Project{}, err
	}
	p.UpdatedAt = p.CreatedAt
	if updated.Valid {
		if p.UpdatedAt, err = parseTime(updated.String); err != nil {
			return spotzee.Project{}, err
		}
	}
	return p, nil
}

// Project returns the project with id; it returns a CodeResourceMissing
// *spotzee.Error when there is none, a storage error when the read fails.
func (db *DB) Project(ctx context.Context, id int64) (spotzee.Project, error) {
	p, err := scanProjectRow(db.reader().QueryRowContext(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.Project{}, projectMissing(id)
	}
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("sqlite: project %d: %w", id, err)
	}
	return p, nil
}

// SetProjectTier changes the tier of project id; it returns a
// CodeResourceMissing *spotzee.Error when there is no such project, a storage
// error when the write fails.
func (db *DB) SetProjectTier(ctx context.Context, id int64, tier spotzee.Tier) error {
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE projects SET tier = ? WHERE id = ?`, string(tier), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return projectMissing(id)
		}
		return nil
	})
	return storageErr(err, "set tier of project %d", id)
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
		return spotzee.APIKey{}, fmt.Errorf("sqlite: create key: hash is %d bytes, want a SHA-256 (%d)", len(k.Hash), sha256.Size)
	}
	var desc any
	if k.Description != nil {
		desc = *k.Description
	}
	now := formatTime(k.CreatedAt)
	var key spotzee.APIKey
	db.warm(ctx, db.w, sqlInsertKey, sqlCaller, sqlLiveKeyCount)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := checkCaller(ctx, db.inWrite(tx), k.CallerID, k.ProjectID); err != nil {
			return err
		}
		if err := checkQuota(ctx, db.inWrite(tx), k.ProjectID, k.MaxLiveKeys); err != nil {
			return err
		}
		var err error
		key, err = scanKey(db.inWrite(tx).QueryRowContext(ctx,
			sqlInsertKey,
			k.ProjectID, k.Name, desc, string(k.Scope), string(k.Role), k.ValuePrefix, k.Last4,
			k.Hash, boolInt(k.IsSystem), now, now))
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
	case sqliteCode(err) == codeForeignKey:
		return spotzee.APIKey{}, projectMissing(k.ProjectID)
	case sqliteCode(err) == codeUnique:
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeResourceAlreadyExists, "An API key with this value already exists.")
	}
	return spotzee.APIKey{}, fmt.Errorf("sqlite: create key: %w", err)
}

// The statements of the key writes, prepared once (see stmt.go).
var (
	sqlInsertKey = `INSERT INTO api_keys (project_id, name, description, scope, role, value_prefix, last4,
		hash, is_system, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING ` + keyColumns
	sqlRevokeKey = `UPDATE api_keys SET revoked_at = ?, updated_at = ? WHERE id = ?
		RETURNING ` + keyColumns
	sqlDeleteKeyIdempotency = `DELETE FROM idempotency WHERE api_key_id = ?`
	sqlLiveKey              = `SELECT ` + keyColumns + ` FROM api_keys
		WHERE id = ? AND project_id = ? AND revoked_at IS NULL`
)

// KeyByHash returns the key, revoked or not, whose value's SHA-256 is hash,
// through the unique index on api_keys.hash. It returns a CodeResourceMissing
// *spotzee.Error when there is none, a storage error when the read fails.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (spotzee.APIKey, error) {
	k, err := scanKey(db.reader().QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	if err != nil {
		return spotzee.APIKey{}, fmt.Errorf("sqlite: key by hash: %w", err)
	}
	return k, nil
}

// keyColumnsK is keyColumns qualified by the alias k, for joins.
const keyColumnsK = `k.id, k.project_id, k.name, k.description, k.scope, k.role, k.value_prefix, k.last4,
	k.is_system, k.created_at, k.updated_at, k.revoked_at`

// withExtra is a scanner that scans the destinations it is given, then
// extra: scanKey's columns followed by a joined one.
type withExtra struct {
	s     scanner
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.s.Scan(append(dest, w.extra...)...) }

// KeyAndTierByHash is KeyByHash returning, in the same statement (one probe
// of the unique index on api_keys.hash and one of the projects primary key),
// the rate-limit tier of the key's project: the bearer lookup and the tier
// read of a rate-limited request in one read (keys.KeyTierReader).
func (db *DB) KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error) {
	var tier string
	k, err := scanKey(withExtra{db.reader().QueryRowContext(ctx,
		`SELECT `+keyColumnsK+`, p.tier FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.hash = ?`, hash),
		[]any{&tier}})
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.APIKey{}, "", spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	if err != nil {
		return spotzee.APIKey{}, "", fmt.Errorf("sqlite: key and tier by hash: %w", err)
	}
	return k, spotzee.Tier(tier), nil
}

// sqlCallerAndKey reads the bearer key with its project's tier (marker 0)
// and the live key asked for in the bearer key's project (marker 1): two
// index probes and a primary-key probe in one statement.
const sqlCallerAndKey = `SELECT ` + keyColumnsK + `, p.tier, 0 FROM api_keys k
		JOIN projects p ON p.id = k.project_id WHERE k.hash = ?
	UNION ALL
	SELECT ` + keyColumnsK + `, '', 1 FROM api_keys k
		WHERE k.id = ? AND k.revoked_at IS NULL
		AND k.project_id = (SELECT project_id FROM api_keys WHERE hash = ?)`

// CallerAndKeyByHash reads, in one statement, the key whose value's SHA-256
// is hash (revoked or not), its project's tier, and the live key id of the
// same project (keys.CallerAndKeyReader): GET /keys/{id}'s bearer lookup
// and key read in one. It returns a CodeResourceMissing *spotzee.Error when
// no key has hash, with KeyErr keyMissing when the project has no live key
// id.
func (db *DB) CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error) {
	rows, err := db.reader().QueryContext(ctx, sqlCallerAndKey, hash, id, hash)
	if err != nil {
		return spotzee.CallerAndKey{}, fmt.Errorf("sqlite: caller and key: %w", err)
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
			return spotzee.CallerAndKey{}, fmt.Errorf("sqlite: caller and key: %w", err)
		}
		if marker == 0 {
			out.Caller, out.Tier, caller = k, spotzee.Tier(tier), true
		} else {
			out.Key, keyFound = k, true
		}
	}
	if err := rows.Err(); err != nil {
		return spotzee.CallerAndKey{}, fmt.Errorf("sqlite: caller and key: %w", err)
	}
	if !caller {
		return spotzee.CallerAndKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	if !keyFound {
		out.KeyErr = keyMissing(id)
	}
	return out, nil
}

// Key returns the live key id of project projectID. It returns a
// CodeResourceMissing *spotzee.Error when the key does not exist, is revoked
// or belongs to another project, a storage error when the read fails.
func (db *DB) Key(ctx context.Context, projectID, id int64) (spotzee.APIKey, error) {
	k, err := getKey(ctx, db.reader(), projectID, id)
	if err != nil {
		return spotzee.APIKey{}, storageErr(err, "key %d", id)
	}
	return k, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// getKey reads the live key id of project projectID; it returns keyMissing
// when there is none.
func getKey(ctx context.Context, q queryRower, projectID, id int64) (spotzee.APIKey, error) {
	k, err := scanKey(q.QueryRowContext(ctx,
		sqlLiveKey, id, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.APIKey{}, keyMissing(id)
	}
	return k, err
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
// most) is one statement inside the transaction: the UPDATE re-checks the
// caller in its WHERE clause (see sqlUpdate). When it changes no row it
// changed nothing, and the guards then run one by one, in the same
// transaction, to tell which error applies.
func (db *DB) UpdateKey(ctx context.Context, callerID, projectID, id int64, u spotzee.KeyUpdate, now time.Time) (spotzee.APIKey, error) {
	if u.Empty() && u.Finish == nil {
		return db.Key(ctx, projectID, id)
	}
	if u.Empty() { // nothing to change, a record to finish
		var k spotzee.APIKey
		err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var err error
			if k, err = getKey(ctx, db.inWrite(tx), projectID, id); err != nil {
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
	var fast string
	if labelsOnly {
		fast = sqlUpdate(u, callerID != 0)
		db.warm(ctx, db.w, fast)
	} else {
		db.warm(ctx, db.w, sqlLiveKey, sqlUpdate(u, false), sqlCaller, sqlOtherAdmins)
	}
	var k spotzee.APIKey
	write := db.write
	if labelsOnly {
		// Of what the authenticated-key cache keeps, only key id's labels
		// change (whichever path below runs): see OnLabelCommit.
		write = func(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
			return db.writeLabels(ctx, []int64{id}, fn)
		}
	}
	err := write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		q := db.inWrite(tx)
		var err error
		if labelsOnly {
			k, err = scanKey(q.QueryRowContext(ctx, fast, updateArgs(callerID, projectID, id, u, now)...))
			if errors.Is(err, sql.ErrNoRows) {
				// Nothing changed: the checked path reports why.
				k, err = updateChecked(ctx, q, callerID, projectID, id, u, now)
			}
		} else {
			k, err = updateChecked(ctx, q, callerID, projectID, id, u, now)
		}
		if err != nil {
			return err
		}
		return finishInTx(ctx, tx, u.Finish, k)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.APIKey{}, keyMissing(id)
	}
	if err != nil {
		return spotzee.APIKey{}, storageErr(err, "update key %d", id)
	}
	return k, nil
}

// updateChecked applies the non-empty u inside a write's transaction, each
// guard a statement of its own, in their order of precedence: the caller
// (checkCaller), the key (keyMissing), the system-key rule
// (KeyUpdate.SystemUpdateError), the last-admin rule (checkNotLastAdmin); then the
// UPDATE. It returns the updated key or the first guard's error, having
// changed nothing; sql.ErrNoRows when the UPDATE finds no row.
func updateChecked(ctx context.Context, q querier, callerID, projectID, id int64, u spotzee.KeyUpdate, now time.Time) (spotzee.APIKey, error) {
	if err := checkCaller(ctx, q, callerID, projectID); err != nil {
		return spotzee.APIKey{}, err
	}
	cur, err := getKey(ctx, q, projectID, id)
	if err != nil {
		return spotzee.APIKey{}, err
	}
	if err := u.SystemUpdateError(cur); err != nil {
		return spotzee.APIKey{}, err
	}
	if u.DemotesAdmin(cur) {
		if err := checkNotLastAdmin(ctx, q, cur); err != nil {
			return spotzee.APIKey{}, err
		}
	}
	return scanKey(q.QueryRowContext(ctx, sqlUpdate(u, false), updateArgs(0, projectID, id, u, now)...))
}

// sqlCallerIsAdmin is checkCaller as a condition: the key ? is a live
// secret admin key of project ?.
const sqlCallerIsAdmin = `EXISTS (SELECT 1 FROM api_keys c
		WHERE c.id = ? AND c.project_id = ? AND c.revoked_at IS NULL
		AND c.scope = 'secret' AND c.value_prefix = 'sk_' AND c.role = 'admin')`

// updates holds the texts of sqlUpdate, indexed by the bits it computes.
var updates = func() (out [32]string) {
	for i := range out {
		name, desc, scope, role, caller := i&16 != 0, i&8 != 0, i&4 != 0, i&2 != 0, i&1 != 0
		s := `UPDATE api_keys SET `
		if name {
			s += `name = ?, `
		}
		if desc {
			s += `description = ?, `
		}
		if scope {
			s += `scope = ?, `
		}
		if role {
			s += `role = ?, `
		}
		s += `updated_at = ?
		WHERE id = ? AND project_id = ? AND revoked_at IS NULL`
		if caller {
			s += `
		AND ` + sqlCallerIsAdmin
		}
		out[i] = s + `
		RETURNING ` + keyColumns
	}
	return out
}()

// sqlUpdate returns the UPDATE setting the fields u gives (name,
// description, scope, role) and updated_at of a live key of a project and,
// when caller, only while the caller is a live secret admin key of the
// project (checkCaller's condition, sqlCallerIsAdmin). An update of the
// name or description only needs no other guard: a system key's labels may
// change, and an admin key stays one. Setting only the columns that change
// leaves alone the indexes over the others (the name's, for a description
// or role change) and the search index's trigger (migration 0011, on
// name and description), which an UPDATE naming a column runs even when
// its value stays. Its arguments are updateArgs.
func sqlUpdate(u spotzee.KeyUpdate, caller bool) string {
	i := boolInt(u.Name != nil)<<4 | boolInt(u.SetDescription)<<3 | boolInt(u.Scope != nil)<<2 |
		boolInt(u.Role != nil)<<1 | boolInt(caller)
	return updates[i]
}

// updateArgs returns the arguments of sqlUpdate(u, callerID != 0).
func updateArgs(callerID, projectID, id int64, u spotzee.KeyUpdate, now time.Time) []any {
	args := make([]any, 0, 9)
	if u.Name != nil {
		args = append(args, *u.Name)
	}
	if u.SetDescription {
		var desc any
		if u.Description != nil {
			desc = *u.Description
		}
		args = append(args, desc)
	}
	if u.Scope != nil {
		args = append(args, string(*u.Scope))
	}
	if u.Role != nil {
		args = append(args, string(*u.Role))
	}
	args = append(args, formatTime(now), id, projectID)
	if callerID != 0 {
		args = append(args, callerID, projectID)
	}
	return args
}

// The statements of the write guards.
var (
	sqlCaller = `SELECT scope, role, value_prefix FROM api_keys
		WHERE id = ? AND project_id = ? AND revoked_at IS NULL`
	sqlOtherAdmins = `SELECT EXISTS (SELECT 1 FROM api_keys
		WHERE project_id = ? AND id <> ? AND revoked_at IS NULL
		AND scope = 'secret' AND value_prefix = 'sk_' AND role = 'admin')`
)

// checkCaller re-checks, inside a write's transaction, the API key callerID
// whose request the write is: the request was authenticated before the
// transaction began, and another request may have revoked or demoted the key
// since (two admins revoking each other at once). It returns nil for
// callerID 0 (an operator) or a live secret admin key of project, an
// authentication_required *spotzee.Error for a key revoked, made public or
// of another project meanwhile, a permission_denied one for a key no longer
// admin, and a storage error when the read fails.
func checkCaller(ctx context.Context, q queryRower, callerID, projectID int64) error {
	if callerID == 0 {
		return nil
	}
	var scope, role, prefix string
	err := q.QueryRowContext(ctx, sqlCaller, callerID, projectID).Scan(&scope, &role, &prefix)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && (scope != string(spotzee.ScopeSecret) || prefix != "sk_")):
		return spotzee.Errorf(spotzee.CodeAuthenticationRequired, "The API key was revoked while this request ran.")
	case err != nil:
		return err
	case !spotzee.Role(role).AtLeast(spotzee.RoleAdmin):
		return spotzee.Errorf(spotzee.CodePermissionDenied,
			"Managing API keys needs the project admin role; this key became %s while this request ran.", role)
	}
	return nil
}

// sqlLiveKeyCount reads the trigger-kept live key count (migration 0002).
const sqlLiveKeyCount = `SELECT live_keys FROM projects WHERE id = ?`

// checkQuota returns a CodeQuotaExceeded *spotzee.Error when max is
// positive and project projectID already has max live keys; nil for an
// unknown project (the insert then fails on its foreign key), a storage
// error when the read fails.
func checkQuota(ctx context.Context, q queryRower, projectID int64, max int) error {
	if max <= 0 {
		return nil
	}
	var live int
	err := q.QueryRowContext(ctx, sqlLiveKeyCount, projectID).Scan(&live)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if live >= max {
		return spotzee.Errorf(spotzee.CodeQuotaExceeded,
			"The project has %d live API keys, its quota; revoke keys it no longer uses before creating more.", live)
	}
	return nil
}

// checkNotLastAdmin returns a CodeStateConflict *spotzee.Error when cur is
// its project's only live secret admin key, which a revoke, demotion or
// scope change would leave with no key able to manage keys; a storage error
// when the read fails.
func checkNotLastAdmin(ctx context.Context, q queryRower, cur spotzee.APIKey) error {
	var others bool
	if err := q.QueryRowContext(ctx, sqlOtherAdmins, cur.ProjectID, cur.ID).Scan(&others); err != nil {
		return err
	}
	if !others {
		return spotzee.LastAdminError(cur.ID)
	}
	return nil
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
	db.warm(ctx, db.w, sqlLiveKey, sqlRevokeKey, sqlCaller, sqlOtherAdmins, sqlDeleteKeyIdempotency)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		q := db.inWrite(tx)
		if err := checkCaller(ctx, q, callerID, projectID); err != nil {
			return err
		}
		cur, err := getKey(ctx, q, projectID, id)
		if err != nil {
			return err
		}
		if cur.IsSystem {
			return spotzee.Errorf(spotzee.CodeStateConflict, "API key %d is a system key and cannot be revoked.", id)
		}
		if cur.IsAdmin() {
			if err := checkNotLastAdmin(ctx, q, cur); err != nil {
				return err
			}
		}
		at := formatTime(now)
		k, err = scanKey(db.inWrite(tx).QueryRowContext(ctx,
			sqlRevokeKey, at, at, id))
		if err != nil {
			return err
		}
		// A revoked key never authenticates again: its cached responses
		// (one may hold a full key value, encrypted) can never be replayed.
		_, err = db.inWrite(tx).ExecContext(ctx, sqlDeleteKeyIdempotency, id)
		return err
	})
	if err != nil {
		return spotzee.APIKey{}, storageErr(err, "revoke key %d", id)
	}
	return k, nil
}

// HasProjects reports whether the database holds any project (and so data
// that an earlier server secret may have sealed or signed); it returns a
// storage error when the read fails.
func (db *DB) HasProjects(ctx context.Context) (bool, error) {
	var ok bool
	if err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM projects)`).Scan(&ok); err != nil {
		return false, fmt.Errorf("sqlite: has projects: %w", err)
	}
	return ok, nil
}

// CountKeys returns how many live keys project projectID has; it returns a
// storage error when the read fails.
func (db *DB) CountKeys(ctx context.Context, projectID int64) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx,
		`SELECT count(*) FROM api_keys WHERE project_id = ? AND revoked_at IS NULL`, projectID,
	).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count keys of project %d: %w", projectID, err)
	}
	return n, nil
}
