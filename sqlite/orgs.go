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

var _ spotzee.OrgStore = (*DB)(nil)

// orgKeyColumns is the column list scanOrgKey reads, in order.
const orgKeyColumns = `id, organization_id, name, description, role, last4, created_at, updated_at, revoked_at`

func scanOrgKey(s scanner) (spotzee.OrgKey, error) {
	var (
		k                spotzee.OrgKey
		desc, revoked    sql.NullString
		created, updated string
		role             string
	)
	if err := s.Scan(&k.ID, &k.OrganizationID, &k.Name, &desc, &role, &k.Last4, &created, &updated, &revoked); err != nil {
		return spotzee.OrgKey{}, err
	}
	k.Role = spotzee.OrgRole(role)
	if desc.Valid {
		k.Description = &desc.String
	}
	var err error
	if k.CreatedAt, err = parseTime(created); err != nil {
		return spotzee.OrgKey{}, err
	}
	if k.UpdatedAt, err = parseTime(updated); err != nil {
		return spotzee.OrgKey{}, err
	}
	if k.RevokedAt, err = parseNullTime(revoked); err != nil {
		return spotzee.OrgKey{}, err
	}
	return k, nil
}

func scanOrg(s scanner) (spotzee.Organization, error) {
	var (
		o                spotzee.Organization
		domain           sql.NullString
		created, updated string
	)
	if err := s.Scan(&o.ID, &o.Username, &domain, &created, &updated); err != nil {
		return spotzee.Organization{}, err
	}
	if domain.Valid {
		o.Domain = &domain.String
	}
	var err error
	if o.CreatedAt, err = parseTime(created); err != nil {
		return spotzee.Organization{}, err
	}
	if o.UpdatedAt, err = parseTime(updated); err != nil {
		return spotzee.Organization{}, err
	}
	return o, nil
}

func orgKeyMissing(id int64) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No organisation API key with id %d in this organisation.", id)
}

func orgMissing(id int64) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No organisation with id %d.", id)
}

func orgProjectMissing(id int64) error {
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No project with id %d in this organisation.", id)
}

// The statements of the organisation-key reads and writes.
const (
	sqlOrgKeyLive = `SELECT ` + orgKeyColumns + ` FROM org_api_keys
		WHERE id = ? AND organization_id = ? AND revoked_at IS NULL`
	sqlOrgKeyByHash = `SELECT ` + orgKeyColumns + ` FROM org_api_keys WHERE hash = ?`
	sqlOtherOwners  = `SELECT EXISTS (SELECT 1 FROM org_api_keys
		WHERE organization_id = ? AND id <> ? AND revoked_at IS NULL AND role = 'owner')`
)

// CreateOrganization creates an organisation with the unique slug username
// and returns it with its id. It returns a CodeResourceAlreadyExists
// *spotzee.Error when the username is taken, a storage error otherwise.
func (db *DB) CreateOrganization(ctx context.Context, username string, domain *string, now time.Time) (spotzee.Organization, error) {
	var o spotzee.Organization
	at := formatTime(now)
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		o, err = scanOrg(tx.QueryRowContext(ctx,
			`INSERT INTO organizations (username, domain, created_at, updated_at) VALUES (?, ?, ?, ?)
			RETURNING id, username, domain, created_at, updated_at`, username, optText(domain), at, at))
		return err
	})
	if sqliteCode(err) == codeUnique {
		return spotzee.Organization{}, spotzee.ParamErrorf(spotzee.CodeResourceAlreadyExists, "username",
			"An organisation with username %q exists.", username)
	}
	if err != nil {
		return spotzee.Organization{}, fmt.Errorf("sqlite: create organization: %w", err)
	}
	return o, nil
}

// Organization returns the organisation with id; it returns a
// CodeResourceMissing *spotzee.Error when there is none, a storage error
// when the read fails.
func (db *DB) Organization(ctx context.Context, id int64) (spotzee.Organization, error) {
	o, err := scanOrg(db.reader().QueryRowContext(ctx,
		`SELECT id, username, domain, created_at, updated_at FROM organizations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.Organization{}, orgMissing(id)
	}
	if err != nil {
		return spotzee.Organization{}, fmt.Errorf("sqlite: organization %d: %w", id, err)
	}
	return o, nil
}

// orgCaller re-reads, inside a write's transaction, the organisation key
// callerID whose request the write is. It returns a zero key for callerID 0
// (an operator), an authentication_required *spotzee.Error for a key revoked
// or of another organisation meanwhile, and a storage error when the read
// fails.
func orgCaller(ctx context.Context, q queryRower, callerID, orgID int64) (spotzee.OrgKey, error) {
	if callerID == 0 {
		return spotzee.OrgKey{}, nil
	}
	k, err := scanOrgKey(q.QueryRowContext(ctx, sqlOrgKeyLive, callerID, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.OrgKey{}, spotzee.Errorf(spotzee.CodeAuthenticationRequired, "The API key was revoked while this request ran.")
	}
	return k, err
}

// guarded runs guard (when not nil and callerID is not 0) on the caller and
// target.
func guarded(guard spotzee.OrgGuard, callerID int64, caller, target spotzee.OrgKey) error {
	if guard == nil || callerID == 0 {
		return nil
	}
	return guard(caller, target)
}

// CreateOrgKey inserts k (created and updated at k.CreatedAt) for the
// organisation key callerID (0 for an operator) once guard, run inside the
// transaction on the caller as it is then, accepted it. It returns a
// CodeResourceMissing *spotzee.Error for an unknown organisation, a
// CodeResourceAlreadyExists one for a duplicate hash, authentication_required
// for a caller revoked meanwhile, guard's error, and a storage error
// otherwise (including for a hash that is not a SHA-256).
func (db *DB) CreateOrgKey(ctx context.Context, callerID int64, k spotzee.NewOrgKey, guard spotzee.OrgGuard) (spotzee.OrgKey, error) {
	if len(k.Hash) != sha256.Size {
		return spotzee.OrgKey{}, fmt.Errorf("sqlite: create organization key: hash is %d bytes, want a SHA-256 (%d)", len(k.Hash), sha256.Size)
	}
	at := formatTime(k.CreatedAt)
	var key spotzee.OrgKey
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		caller, err := orgCaller(ctx, tx, callerID, k.OrganizationID)
		if err != nil {
			return err
		}
		if err := guarded(guard, callerID, caller, spotzee.OrgKey{}); err != nil {
			return err
		}
		key, err = scanOrgKey(tx.QueryRowContext(ctx,
			`INSERT INTO org_api_keys (organization_id, name, description, role, last4, hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+orgKeyColumns,
			k.OrganizationID, k.Name, optText(k.Description), string(k.Role), k.Last4, k.Hash, at, at))
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
		return spotzee.OrgKey{}, err
	case sqliteCode(err) == codeForeignKey:
		return spotzee.OrgKey{}, orgMissing(k.OrganizationID)
	case sqliteCode(err) == codeUnique:
		return spotzee.OrgKey{}, spotzee.Errorf(spotzee.CodeResourceAlreadyExists, "An API key with this value already exists.")
	}
	return spotzee.OrgKey{}, fmt.Errorf("sqlite: create organization key: %w", err)
}

// OrgKeyByHash returns the organisation key, revoked or not, whose value's
// SHA-256 is hash. It returns a CodeResourceMissing *spotzee.Error when
// there is none, a storage error when the read fails.
func (db *DB) OrgKeyByHash(ctx context.Context, hash []byte) (spotzee.OrgKey, error) {
	k, err := scanOrgKey(db.reader().QueryRowContext(ctx, sqlOrgKeyByHash, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.OrgKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	if err != nil {
		return spotzee.OrgKey{}, fmt.Errorf("sqlite: organization key by hash: %w", err)
	}
	return k, nil
}

// OrgKey returns the live key id of organisation orgID. It returns a
// CodeResourceMissing *spotzee.Error when the key does not exist, is revoked
// or belongs to another organisation, a storage error when the read fails.
func (db *DB) OrgKey(ctx context.Context, orgID, id int64) (spotzee.OrgKey, error) {
	k, err := scanOrgKey(db.reader().QueryRowContext(ctx, sqlOrgKeyLive, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.OrgKey{}, orgKeyMissing(id)
	}
	if err != nil {
		return spotzee.OrgKey{}, fmt.Errorf("sqlite: organization key %d: %w", id, err)
	}
	return k, nil
}

// checkNotLastOwner returns a CodeStateConflict *spotzee.Error when cur is
// its organisation's only live owner key; a storage error when the read
// fails.
func checkNotLastOwner(ctx context.Context, q queryRower, cur spotzee.OrgKey) error {
	if cur.Role != spotzee.OrgRoleOwner {
		return nil
	}
	var others bool
	if err := q.QueryRowContext(ctx, sqlOtherOwners, cur.OrganizationID, cur.ID).Scan(&others); err != nil {
		return err
	}
	if !others {
		return spotzee.Errorf(spotzee.CodeStateConflict,
			"Organisation API key %d is the organisation's last owner key; create another owner key first.", cur.ID)
	}
	return nil
}

// UpdateOrgKey, for the organisation key callerID (0 for an operator),
// applies the non-nil fields of u to the live key id of organisation orgID,
// sets its updated_at to now and returns it, once guard accepted the caller
// and the key as they are inside the transaction; an empty u changes
// nothing. u.Finish, when set, finishes its idempotency record in the same
// transaction. It returns a CodeResourceMissing *spotzee.Error when the key
// is not there, authentication_required for a caller revoked meanwhile,
// guard's error, a CodeStateConflict one for demoting the last live owner
// key, the errors of u.Finish (see spotzee.IdempotencyFinish), and a storage
// error when the write fails.
func (db *DB) UpdateOrgKey(ctx context.Context, callerID, orgID, id int64, u spotzee.OrgKeyUpdate, guard spotzee.OrgGuard, now time.Time) (spotzee.OrgKey, error) {
	var k spotzee.OrgKey
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		caller, err := orgCaller(ctx, tx, callerID, orgID)
		if err != nil {
			return err
		}
		cur, err := scanOrgKey(tx.QueryRowContext(ctx, sqlOrgKeyLive, id, orgID))
		if errors.Is(err, sql.ErrNoRows) {
			return orgKeyMissing(id)
		}
		if err != nil {
			return err
		}
		if err := guarded(guard, callerID, caller, cur); err != nil {
			return err
		}
		if u.Empty() { // nothing to change; a record to finish, maybe
			k = cur
			return finishInTx(ctx, tx, u.Finish, k)
		}
		if u.Role != nil && *u.Role != spotzee.OrgRoleOwner {
			if err := checkNotLastOwner(ctx, tx, cur); err != nil {
				if e := (*spotzee.Error)(nil); errors.As(err, &e) {
					e.Param = "role"
				}
				return err
			}
		}
		var name, desc, role any
		if u.Name != nil {
			name = *u.Name
		}
		if u.SetDescription && u.Description != nil {
			desc = *u.Description
		}
		if u.Role != nil {
			role = string(*u.Role)
		}
		k, err = scanOrgKey(tx.QueryRowContext(ctx, `UPDATE org_api_keys SET
			name        = coalesce(?, name),
			description = CASE WHEN ? THEN ? ELSE description END,
			role        = coalesce(?, role),
			updated_at  = ?
			WHERE id = ? RETURNING `+orgKeyColumns,
			name, boolInt(u.SetDescription), desc, role, formatTime(now), id))
		if err != nil {
			return err
		}
		return finishInTx(ctx, tx, u.Finish, k)
	})
	if err != nil {
		return spotzee.OrgKey{}, storageErr(err, "update organization key %d", id)
	}
	return k, nil
}

// RevokeOrgKey, for the organisation key callerID (0 for an operator),
// revokes the live key id of organisation orgID at now and returns it, once
// guard accepted the caller and the key; the key's idempotency records are
// deleted with it. It returns a CodeResourceMissing *spotzee.Error when the
// key is not there, authentication_required for a caller revoked meanwhile,
// guard's error, a CodeStateConflict one for the last live owner key, and a
// storage error when the write fails.
func (db *DB) RevokeOrgKey(ctx context.Context, callerID, orgID, id int64, guard spotzee.OrgGuard, now time.Time) (spotzee.OrgKey, error) {
	var k spotzee.OrgKey
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		caller, err := orgCaller(ctx, tx, callerID, orgID)
		if err != nil {
			return err
		}
		cur, err := scanOrgKey(tx.QueryRowContext(ctx, sqlOrgKeyLive, id, orgID))
		if errors.Is(err, sql.ErrNoRows) {
			return orgKeyMissing(id)
		}
		if err != nil {
			return err
		}
		if err := guarded(guard, callerID, caller, cur); err != nil {
			return err
		}
		if err := checkNotLastOwner(ctx, tx, cur); err != nil {
			return err
		}
		at := formatTime(now)
		k, err = scanOrgKey(tx.QueryRowContext(ctx,
			`UPDATE org_api_keys SET revoked_at = ?, updated_at = ? WHERE id = ? RETURNING `+orgKeyColumns, at, at, id))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, sqlDeleteKeyIdempotency, OrgIdempotencyID(id))
		return err
	})
	if err != nil {
		return spotzee.OrgKey{}, storageErr(err, "revoke organization key %d", id)
	}
	return k, nil
}

// OrgIdempotencyID is the id an organisation key's idempotency records are
// stored under: its id negated, so that it never meets a project key's
// records (which are stored under the project key's positive id).
func OrgIdempotencyID(id int64) int64 { return -id }

var orgKeysList = listSpec{table: "org_api_keys", owner: "organization_id", live: "revoked_at IS NULL", columns: orgKeyColumns}

var projectsList = listSpec{table: "projects", owner: "organization_id", columns: projectColumns}

func toListQuery(q spotzee.OrgListQuery) spotzee.ListQuery {
	return spotzee.ListQuery{ProjectID: q.OrganizationID, Sort: q.Sort, Desc: q.Desc, After: q.After, Before: q.Before,
		Limit: q.Limit, Query: q.Query}
}

// ListOrgKeys returns one page of organisation q.OrganizationID's live keys,
// with the semantics of ListKeys; it returns a storage error when a read
// fails or the query is malformed.
func (db *DB) ListOrgKeys(ctx context.Context, q spotzee.OrgListQuery) (spotzee.OrgKeyPage, error) {
	p, err := planListOf(orgKeysList, toListQuery(q))
	if err != nil {
		return spotzee.OrgKeyPage{}, fmt.Errorf("sqlite: list organization keys: %w", err)
	}
	keys, w, err := runList(ctx, db, p, scanOrgKey)
	if err != nil {
		return spotzee.OrgKeyPage{}, fmt.Errorf("sqlite: list keys of organization %d: %w", q.OrganizationID, err)
	}
	return spotzee.OrgKeyPage{Keys: keys, HasPrev: w.hasPrev, HasNext: w.hasNext, Total: w.total}, nil
}

// ListProjects returns one page of organisation q.OrganizationID's projects,
// with the semantics of ListKeys; it returns a storage error when a read
// fails or the query is malformed.
func (db *DB) ListProjects(ctx context.Context, q spotzee.OrgListQuery) (spotzee.ProjectPage, error) {
	p, err := planListOf(projectsList, toListQuery(q))
	if err != nil {
		return spotzee.ProjectPage{}, fmt.Errorf("sqlite: list projects: %w", err)
	}
	ps, w, err := runList(ctx, db, p, scanProjectRow)
	if err != nil {
		return spotzee.ProjectPage{}, fmt.Errorf("sqlite: list projects of organization %d: %w", q.OrganizationID, err)
	}
	return spotzee.ProjectPage{Projects: ps, HasPrev: w.hasPrev, HasNext: w.hasNext, Total: w.total}, nil
}

// CreateOrgProject creates project p (created and updated at p.CreatedAt)
// for the organisation key callerID (0 for an operator) once guard, run
// inside the transaction on the caller as it is then (and a zero target),
// accepted it, and returns it; p.Finish, when set, finishes its idempotency
// record in the same transaction. It returns a CodeResourceMissing
// *spotzee.Error for an unknown organisation, authentication_required for a
// caller revoked meanwhile, guard's error, the errors of p.Finish (see
// spotzee.IdempotencyFinish), and a storage error otherwise.
func (db *DB) CreateOrgProject(ctx context.Context, callerID int64, p spotzee.NewOrgProject, guard spotzee.OrgGuard) (spotzee.Project, error) {
	var out spotzee.Project
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		caller, err := orgCaller(ctx, tx, callerID, p.OrganizationID)
		if err != nil {
			return err
		}
		if err := guarded(guard, callerID, caller, spotzee.OrgKey{}); err != nil {
			return err
		}
		if out, err = insertProject(ctx, tx, p.OrganizationID, p.Name, p.Tier, p.ProjectSettings, p.CreatedAt); err != nil {
			return err
		}
		return finishInTx(ctx, tx, p.Finish, out)
	})
	var e *spotzee.Error
	switch {
	case err == nil:
		return out, nil
	case errors.As(err, &e):
		return spotzee.Project{}, err
	case sqliteCode(err) == codeForeignKey:
		return spotzee.Project{}, orgMissing(p.OrganizationID)
	}
	return spotzee.Project{}, fmt.Errorf("sqlite: create project: %w", err)
}

// OrgProject returns project id of organisation orgID; it returns a
// CodeResourceMissing *spotzee.Error when there is none (or it belongs to
// another organisation), a storage error when the read fails.
func (db *DB) OrgProject(ctx context.Context, orgID, id int64) (spotzee.Project, error) {
	p, err := scanProjectRow(db.reader().QueryRowContext(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE id = ? AND organization_id = ?`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.Project{}, orgProjectMissing(id)
	}
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("sqlite: project %d: %w", id, err)
	}
	return p, nil
}

// UpdateOrgProject, for the organisation key callerID (0 for an operator),
// applies u to project id of organisation orgID, sets its updated_at to now
// and returns it, once guard accepted the caller as it is inside the
// transaction; an empty u changes nothing. u.Finish, when set, finishes its
// idempotency record in the same transaction (an empty update too). It
// returns a CodeResourceMissing *spotzee.Error when the project is not there,
// authentication_required for a caller revoked meanwhile, guard's error, the
// errors of u.Finish (see spotzee.IdempotencyFinish), and a storage error
// when the write fails.
func (db *DB) UpdateOrgProject(ctx context.Context, callerID, orgID, id int64, u spotzee.ProjectUpdate, guard spotzee.OrgGuard, now time.Time) (spotzee.Project, error) {
	if u.Empty() && u.Finish == nil && callerID == 0 {
		return db.OrgProject(ctx, orgID, id)
	}
	set := "updated_at = ?"
	args := []any{formatTime(now)}
	add := func(col string, v any) {
		set += ", " + col + " = ?"
		args = append(args, v)
	}
	if u.Name != nil {
		add("name", *u.Name)
	}
	if u.Locale != nil {
		add("locale", *u.Locale)
	}
	if u.Timezone != nil {
		add("timezone", *u.Timezone)
	}
	if u.SetDescription {
		add("description", optText(u.Description))
	}
	if u.SetWebsiteURL {
		add("website_url", optText(u.WebsiteURL))
	}
	if u.SetTextOptOutMessage {
		add("text_opt_out_message", optText(u.TextOptOutMessage))
	}
	if u.SetTextHelpMessage {
		add("text_help_message", optText(u.TextHelpMessage))
	}
	if u.SetLinkWrapEmail {
		add("link_wrap_email", optBool(u.LinkWrapEmail))
	}
	if u.SetLinkWrapPush {
		add("link_wrap_push", optBool(u.LinkWrapPush))
	}
	if u.SetTrackOpensEmail {
		add("track_opens_email", optBool(u.TrackOpensEmail))
	}
	if u.SetDeeplinkMirrorURL {
		add("deeplink_mirror_url", optText(u.DeeplinkMirrorURL))
	}
	args = append(args, id, orgID)
	var p spotzee.Project
	err := db.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		caller, err := orgCaller(ctx, tx, callerID, orgID)
		if err != nil {
			return err
		}
		if err := guarded(guard, callerID, caller, spotzee.OrgKey{}); err != nil {
			return err
		}
		if u.Empty() { // nothing to change; a record to finish, maybe
			p, err = scanProjectRow(tx.QueryRowContext(ctx,
				`SELECT `+projectColumns+` FROM projects WHERE id = ? AND organization_id = ?`, id, orgID))
		} else {
			p, err = scanProjectRow(tx.QueryRowContext(ctx,
				`UPDATE projects SET `+set+` WHERE id = ? AND organization_id = ? RETURNING `+projectColumns, args...))
		}
		if err != nil {
			return err
		}
		return finishInTx(ctx, tx, u.Finish, p)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.Project{}, orgProjectMissing(id)
	}
	if err != nil {
		return spotzee.Project{}, storageErr(err, "update project %d", id)
	}
	return p, nil
}
