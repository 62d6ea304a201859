package spotzee

import (
	"context"
	"time"
)

// OrgRole is an organisation role.
type OrgRole string

// Organisation roles, narrowest to broadest.
const (
	OrgRoleMember OrgRole = "member"
	OrgRoleAdmin  OrgRole = "admin"
	OrgRoleOwner  OrgRole = "owner"
)

var orgRoleRank = map[OrgRole]int{OrgRoleMember: 1, OrgRoleAdmin: 2, OrgRoleOwner: 3}

// Valid reports whether r is a known organisation role.
func (r OrgRole) Valid() bool { return orgRoleRank[r] > 0 }

// AtLeast reports whether r is as broad as min or broader; false for an
// unknown role.
func (r OrgRole) AtLeast(min OrgRole) bool {
	return orgRoleRank[r] > 0 && orgRoleRank[r] >= orgRoleRank[min]
}

// OrgKeyPrefix is the value prefix of every organisation key.
const OrgKeyPrefix = "ok_"

// Organization is a tenant above projects: organisation keys and projects
// belong to exactly one.
type Organization struct {
	ID int64
	// Username is the organisation's URL-safe slug.
	Username  string
	Domain    *string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrgKey is an organisation API key as stored: never its value, only a hash
// of it and its last four characters (its prefix is always OrgKeyPrefix).
type OrgKey struct {
	ID             int64
	OrganizationID int64
	Name           string
	Description    *string
	Role           OrgRole
	Last4          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// RevokedAt is set once the key is revoked: gone for every read, never
	// authenticating again.
	RevokedAt *time.Time
}

// MaskedValue returns the masked form every read shows: ok_, four asterisks,
// last four characters.
func (k OrgKey) MaskedValue() string { return OrgKeyPrefix + "****" + k.Last4 }

// PositionOf returns k's position when sorting by f.
func (k OrgKey) PositionOf(f SortField) Position {
	return positionOf(f, k.ID, k.Name, k.CreatedAt, k.UpdatedAt)
}

func positionOf(f SortField, id int64, name string, created, updated time.Time) Position {
	switch f {
	case SortName:
		return Position{Value: name, ID: id}
	case SortCreatedAt:
		return Position{Value: FormatSortTime(created), ID: id}
	case SortUpdatedAt:
		return Position{Value: FormatSortTime(updated), ID: id}
	}
	return Position{ID: id}
}

// NewOrgKey is what a store needs to insert an organisation key. Hash is the
// SHA-256 of the full value, which the store never sees.
type NewOrgKey struct {
	OrganizationID int64
	Name           string
	Description    *string
	Role           OrgRole
	Last4          string
	Hash           []byte
	CreatedAt      time.Time
	// Finish, when not nil, finishes a running idempotency record in the
	// insert's own transaction (see IdempotencyFinish).
	Finish *IdempotencyFinish[OrgKey]
}

// OrgKeyUpdate lists the fields a PATCH changes; nil means unchanged. For the
// description, SetDescription with a nil Description clears it.
type OrgKeyUpdate struct {
	Name           *string
	SetDescription bool
	Description    *string
	Role           *OrgRole
	// Finish, when not nil, finishes a running idempotency record in the
	// update's own transaction (see IdempotencyFinish), with the key as it
	// is after the update (as it is, for an empty update).
	Finish *IdempotencyFinish[OrgKey]
}

// Empty reports whether u changes nothing.
func (u OrgKeyUpdate) Empty() bool { return u.Name == nil && !u.SetDescription && u.Role == nil }

// OrgGuard is a rule checked inside a write's transaction on the calling
// key, as it is when the write runs, and the target key (zero for a
// create); a non-nil error aborts the write.
type OrgGuard func(caller, target OrgKey) error

// ProjectSettings are a project's settings besides its name. Pointers are
// optional fields, nil when unset.
type ProjectSettings struct {
	Locale            string
	Timezone          string
	Description       *string
	WebsiteURL        *string
	TextOptOutMessage *string
	TextHelpMessage   *string
	LinkWrapEmail     *bool
	LinkWrapPush      *bool
	TrackOpensEmail   *bool
	DeeplinkMirrorURL *string
}

// ProjectUpdate lists the project fields a PATCH changes: a field is changed
// when its Set flag is true, to nil (cleared) or the value.
type ProjectUpdate struct {
	Name                 *string
	Locale               *string
	Timezone             *string
	SetDescription       bool
	Description          *string
	SetWebsiteURL        bool
	WebsiteURL           *string
	SetTextOptOutMessage bool
	TextOptOutMessage    *string
	SetTextHelpMessage   bool
	TextHelpMessage      *string
	SetLinkWrapEmail     bool
	LinkWrapEmail        *bool
	SetLinkWrapPush      bool
	LinkWrapPush         *bool
	SetTrackOpensEmail   bool
	TrackOpensEmail      *bool
	SetDeeplinkMirrorURL bool
	DeeplinkMirrorURL    *string
	// Finish, when not nil, finishes a running idempotency record in the
	// update's own transaction (see IdempotencyFinish), with the project as
	// it is after the update (as it is, for an empty update).
	Finish *IdempotencyFinish[Project]
}

// NewOrgProject is what a store needs to create a project of an
// organisation.
type NewOrgProject struct {
	OrganizationID int64
	Name           string
	Tier           Tier
	ProjectSettings
	// CreatedAt is the project's creation (and update) time.
	CreatedAt time.Time
	// Finish, when not nil, finishes a running idempotency record in the
	// insert's own transaction (see IdempotencyFinish): the project and its
	// record commit together or not at all.
	Finish *IdempotencyFinish[Project]
}

// Empty reports whether u changes nothing.
func (u ProjectUpdate) Empty() bool {
	return u.Name == nil && u.Locale == nil && u.Timezone == nil && !u.SetDescription && !u.SetWebsiteURL &&
		!u.SetTextOptOutMessage && !u.SetTextHelpMessage && !u.SetLinkWrapEmail && !u.SetLinkWrapPush &&
		!u.SetTrackOpensEmail && !u.SetDeeplinkMirrorURL
}

// PositionOf returns p's position when sorting by f.
func (p Project) PositionOf(f SortField) Position {
	return positionOf(f, p.ID, p.Name, p.CreatedAt, p.UpdatedAt)
}

// OrgListQuery asks a store for one page of an organisation's live keys or
// projects; the fields mean what they mean in ListQuery.
type OrgListQuery struct {
	OrganizationID int64
	Sort           SortField
	Desc           bool
	After          *Position
	Before         *Position
	Limit          int
	Query          string
}

// OrgKeyPage is one page of organisation keys (see KeyPage).
type OrgKeyPage struct {
	Keys             []OrgKey
	HasPrev, HasNext bool
	Total            int
}

// ProjectPage is one page of projects (see KeyPage).
type ProjectPage struct {
	Projects         []Project
	HasPrev, HasNext bool
	Total            int
}

// OrgStore keeps organisations, their keys and their projects.
// Implementations return an *Error with CodeResourceMissing for anything
// absent, revoked or in another organisation, CodeStateConflict for a write
// leaving an organisation without a live owner key,
// CodeAuthenticationRequired when a write's calling key was revoked
// meanwhile (the guard's error when it was demoted), and
// CodeIdempotencyInProgress when a write's Finish record is no longer
// running; other errors are storage faults.
type OrgStore interface {
	// CreateOrganization creates an organisation.
	CreateOrganization(ctx context.Context, username string, domain *string, now time.Time) (Organization, error)
	// Organization returns the organisation with id.
	Organization(ctx context.Context, id int64) (Organization, error)
	// CreateOrgKey inserts a key for callerID (0: an operator), after guard
	// (nil: none) accepted it.
	CreateOrgKey(ctx context.Context, callerID int64, k NewOrgKey, guard OrgGuard) (OrgKey, error)
	// OrgKeyByHash returns the key whose value hashes to hash, revoked or not.
	OrgKeyByHash(ctx context.Context, hash []byte) (OrgKey, error)
	// OrgKey returns the live key id of organisation orgID.
	OrgKey(ctx context.Context, orgID, id int64) (OrgKey, error)
	// UpdateOrgKey applies u to the live key id of orgID for callerID after
	// guard accepted it; demoting the last live owner key is a conflict.
	UpdateOrgKey(ctx context.Context, callerID, orgID, id int64, u OrgKeyUpdate, guard OrgGuard, now time.Time) (OrgKey, error)
	// RevokeOrgKey revokes the live key id of orgID for callerID after guard
	// accepted it; revoking the last live owner key is a conflict.
	RevokeOrgKey(ctx context.Context, callerID, orgID, id int64, guard OrgGuard, now time.Time) (OrgKey, error)
	// ListOrgKeys returns one page of an organisation's live keys.
	ListOrgKeys(ctx context.Context, q OrgListQuery) (OrgKeyPage, error)
	// CreateOrgProject creates project p for callerID (0: an operator),
	// after guard (nil: none), run inside the write on the caller as it is
	// then and a zero target, accepted it.
	CreateOrgProject(ctx context.Context, callerID int64, p NewOrgProject, guard OrgGuard) (Project, error)
	// OrgProject returns project id of organisation orgID.
	OrgProject(ctx context.Context, orgID, id int64) (Project, error)
	// UpdateOrgProject applies u to project id of organisation orgID for
	// callerID (0: an operator) after guard (as in CreateOrgProject)
	// accepted it.
	UpdateOrgProject(ctx context.Context, callerID, orgID, id int64, u ProjectUpdate, guard OrgGuard, now time.Time) (Project, error)
	// ListProjects returns one page of an organisation's projects.
	ListProjects(ctx context.Context, q OrgListQuery) (ProjectPage, error)
}
