package spotzee

import (
	"context"
	"time"
)

// Scope is a project key's scope; it decides the value's prefix.
type Scope string

// The two project key scopes.
const (
	ScopePublic Scope = "public" // pk_: browser-safe, allowlisted endpoints only
	ScopeSecret Scope = "secret" // sk_: full project access, server-side only
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopePublic || s == ScopeSecret }

// Prefix returns the value prefix of keys created with scope s.
func (s Scope) Prefix() string {
	if s == ScopePublic {
		return "pk_"
	}
	return "sk_"
}

// Role is a project role.
type Role string

// Project roles, narrowest to broadest.
const (
	RoleSupport   Role = "support"
	RoleSMTPProxy Role = "smtpproxy"
	RoleEditor    Role = "editor"
	RolePublisher Role = "publisher"
	RoleAdmin     Role = "admin"
)

var roleRank = map[Role]int{RoleSupport: 1, RoleSMTPProxy: 2, RoleEditor: 3, RolePublisher: 4, RoleAdmin: 5}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// AtLeast reports whether r is as broad as min or broader; false for an
// unknown role.
func (r Role) AtLeast(min Role) bool { return roleRank[r] > 0 && roleRank[r] >= roleRank[min] }

// Tier is a project's rate-limit tier.
type Tier string

// The rate-limit tiers.
const (
	TierStarter      Tier = "starter"
	TierProfessional Tier = "professional"
	TierEnterprise   Tier = "enterprise"
)

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool { return t == TierStarter || t == TierProfessional || t == TierEnterprise }

// Project is a tenant: keys belong to exactly one project, and a project to
// exactly one organisation.
type Project struct {
	ID             int64
	OrganizationID int64
	Name           string
	Tier           Tier
	ProjectSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// APIKey is a project API key as stored: never its value, only a hash of it
// and its last four characters.
type APIKey struct {
	ID          int64
	ProjectID   int64
	Name        string
	Description *string
	Scope       Scope
	Role        Role
	// ValuePrefix is "sk_" or "pk_": fixed at creation, like the value.
	ValuePrefix string
	// Last4 is the value's last four characters.
	Last4     string
	IsSystem  bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// RevokedAt is set once the key is revoked; a revoked key is gone for
	// every read and never authenticates again.
	RevokedAt *time.Time
}

// MaskedValue returns the masked form every read shows: prefix, four
// asterisks, last four characters.
func (k APIKey) MaskedValue() string { return k.ValuePrefix + "****" + k.Last4 }

// NewKey is what a store needs to insert a key. Hash is the SHA-256 of the
// full value, which the store never sees.
type NewKey struct {
	ProjectID   int64
	Name        string
	Description *string
	Scope       Scope
	Role        Role
	ValuePrefix string
	Last4       string
	Hash        []byte
	IsSystem    bool
	CreatedAt   time.Time
	// CallerID, when not 0, is the API key whose request creates this key:
	// the store inserts it only if the caller is still a live secret admin
	// key of the project when the write runs.
	CallerID int64
	// MaxLiveKeys, when positive, is the project's key quota: the store
	// refuses the insert with CodeQuotaExceeded when the project already has
	// that many live keys.
	MaxLiveKeys int
	// Finish, when not nil, finishes a running idempotency record in the
	// insert's own transaction (see IdempotencyFinish): the key and its
	// record commit together or not at all.
	Finish *IdempotencyFinish[APIKey]
}

// KeyUpdate lists the fields a PATCH changes; nil means unchanged. For the
// description, SetDescription with a nil Description clears it.
type KeyUpdate struct {
	Name           *string
	SetDescription bool
	Description    *string
	Scope          *Scope
	Role           *Role
	// Finish, when not nil, finishes a running idempotency record in the
	// update's own transaction (see IdempotencyFinish), with the key as it
	// is after the update (as it is, for an empty update).
	Finish *IdempotencyFinish[APIKey]
}

// Empty reports whether u changes nothing.
func (u KeyUpdate) Empty() bool {
	return u.Name == nil && !u.SetDescription && u.Scope == nil && u.Role == nil
}

// SortField is a field keys can be listed by; each is indexed.
type SortField string

// The sortable fields.
const (
	SortID        SortField = "id"
	SortName      SortField = "name"
	SortCreatedAt SortField = "created_at"
	SortUpdatedAt SortField = "updated_at"
)

// Valid reports whether f is a sortable field.
func (f SortField) Valid() bool {
	return f == SortID || f == SortName || f == SortCreatedAt || f == SortUpdatedAt
}

// Position is a place in a sorted list of keys: the sort field's value of a
// key (as a string: names verbatim, times as RFC 3339 with nanoseconds in
// UTC, ids in decimal) and its id, which breaks ties.
type Position struct {
	Value string
	ID    int64
}

// ListQuery asks a store for one page of a project's live keys.
type ListQuery struct {
	ProjectID int64
	Sort      SortField
	Desc      bool
	// After, when set, starts the page strictly after this position in the
	// list order; Before, when set, ends it strictly before (page=prev). At
	// most one is set.
	After  *Position
	Before *Position
	// Limit is the page size; 0 or less means every key.
	Limit int
	// Query, when not empty, keeps keys whose name or description contains
	// it, case-insensitively.
	Query string
}

// KeyPage is one page of keys in list order, with whether any key matching
// the query lies before its first or after its last.
type KeyPage struct {
	Keys    []APIKey
	HasPrev bool
	HasNext bool
	// Total counts the live keys matching Query, across all pages.
	Total int
}

// PositionOf returns k's position when sorting by f.
func PositionOf(k APIKey, f SortField) Position {
	switch f {
	case SortName:
		return Position{Value: k.Name, ID: k.ID}
	case SortCreatedAt:
		return Position{Value: FormatSortTime(k.CreatedAt), ID: k.ID}
	case SortUpdatedAt:
		return Position{Value: FormatSortTime(k.UpdatedAt), ID: k.ID}
	}
	return Position{ID: k.ID}
}

// FormatSortTime formats t so that string order is time order.
func FormatSortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// Store keeps projects and keys. Implementations return an *Error with
// CodeResourceMissing for a key that is absent, revoked or in another
// project, CodeStateConflict for revoking a system key or a project's last
// admin key, and CodeAuthenticationRequired or CodePermissionDenied when a
// write's caller is no longer a live admin key; other errors are storage
// faults.
type Store interface {
	// CreateProject creates a project named name on tier in the default
	// organisation (id 1, created when missing), with locale "en" and
	// timezone "UTC".
	CreateProject(ctx context.Context, name string, tier Tier, now time.Time) (Project, error)
	// Project returns the project with id.
	Project(ctx context.Context, id int64) (Project, error)
	// SetProjectTier changes a project's rate-limit tier.
	SetProjectTier(ctx context.Context, id int64, tier Tier) error
	// CreateKey inserts a key and returns it with its id.
	CreateKey(ctx context.Context, k NewKey) (APIKey, error)
	// KeyByHash returns the key whose value hashes to hash, revoked or not.
	KeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// Key returns the live key id of project.
	Key(ctx context.Context, projectID, id int64) (APIKey, error)
	// UpdateKey applies u to the live key id of project; updated_at becomes
	// now unless u is empty. callerID, when not 0, is the API key whose
	// request this is, re-checked inside the write (see CallerID of NewKey).
	// A change of a system key's role or scope, or one leaving the project
	// without a live secret admin key, is CodeStateConflict.
	UpdateKey(ctx context.Context, callerID, projectID, id int64, u KeyUpdate, now time.Time) (APIKey, error)
	// RevokeKey revokes the live key id of project at now, for callerID as
	// in UpdateKey. Revoking a system key or the project's last live secret
	// admin key is CodeStateConflict.
	RevokeKey(ctx context.Context, callerID, projectID, id int64, now time.Time) (APIKey, error)
	// ListKeys returns one page of a project's live keys.
	ListKeys(ctx context.Context, q ListQuery) (KeyPage, error)
}

// IdempotencyRecord is a cached response to a POST or PATCH, scoped to the
// API key that sent it. Response is opaque to the store (the HTTP layer
// encrypts it before storing).
type IdempotencyRecord struct {
	APIKeyID    int64
	Key         string
	RequestHash []byte
	// Done is false while the first request is running.
	Done      bool
	Response  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// IdempotencyLease is how long a running idempotency record holds its key:
// longer than any request runs (the reference server's write timeout is 30
// s), so a running record older than this was left by a process that died.
const IdempotencyLease = 2 * time.Minute

// IdempotencyFinish finishes the running idempotency record (APIKeyID, Key)
// inside the transaction of the one write its request makes. After the row is
// written, the store calls Response with it and stores the bytes it returns
// (already sealed: the store never sees a plaintext response) as the record's
// response, marking it done, before the transaction commits. So a crash
// leaves either the row and its finished record, or neither. When Response
// fails, or no running record (APIKeyID, Key) exists any more (abandoned, or
// finished by another request after its lease), the write is rolled back: the
// latter is a CodeIdempotencyInProgress *Error.
//
// Begun is the CreatedAt of the record as BeginIdempotent returned it: it
// identifies that begin, so a request whose record was taken over by a retry
// after IdempotencyLease (the retry's begin stores a later CreatedAt) can no
// longer finish it, and gets NotRunning.
//
// Row is the type of the written row: APIKey for a project key (NewKey,
// KeyUpdate), OrgKey for an organisation key (NewOrgKey, OrgKeyUpdate),
// Project for a project (NewOrgProject, ProjectUpdate).
type IdempotencyFinish[Row any] struct {
	APIKeyID int64
	Key      string
	Begun    time.Time
	Response func(Row) ([]byte, error)
}

// NotRunning is the error a store returns when the record f finishes is no
// longer running: another request with the same key holds it now.
func (f *IdempotencyFinish[Row]) NotRunning() *Error {
	e := ParamErrorf(CodeIdempotencyInProgress, "Idempotency-Key",
		"The first request with this Idempotency-Key is still running; retry shortly.")
	e.RetryAfter = 1
	return e
}

// IdempotencyStore keeps idempotency records.
type IdempotencyStore interface {
	// BeginIdempotent inserts a running record unless a live one (ExpiresAt
	// after now) exists for (APIKeyID, Key); it reports the existing record
	// and false in that case. An expired record is replaced, and so is a
	// running one begun IdempotencyLease or more before now: the process
	// that ran it died (a crash or SIGKILL between the write and the cached
	// response), and a retry must not be told "in progress" until expiry.
	// The returned record's CreatedAt identifies this begin: pass it as
	// begun to FinishIdempotent and AbandonIdempotent (and as
	// IdempotencyFinish.Begun). Callers set rec.CreatedAt to now (or leave
	// it zero), so a begin that replaces a record never reuses its identity.
	BeginIdempotent(ctx context.Context, rec IdempotencyRecord, now time.Time) (existing IdempotencyRecord, created bool, err error)
	// FinishIdempotent stores the response of the running record (apiKeyID,
	// key) begun at begun; it fails with CodeResourceMissing when that
	// record is no longer running (finished, abandoned, or taken over by
	// another request after the lease).
	FinishIdempotent(ctx context.Context, apiKeyID int64, key string, begun time.Time, response []byte) error
	// AbandonIdempotent deletes the running record (apiKeyID, key) begun at
	// begun (its response is not cached); a record another request took
	// over stays.
	AbandonIdempotent(ctx context.Context, apiKeyID int64, key string, begun time.Time) error
	// DiscardIdempotent deletes a finished record, for one whose response
	// can no longer be opened (another server secret): it counts as expired.
	DiscardIdempotent(ctx context.Context, apiKeyID int64, key string) error
}

// SecretStore keeps server-wide secrets (the cursor-signing and
// response-encryption keys), created once and kept across restarts.
type SecretStore interface {
	// Secret returns the secret named name, creating it with gen when absent.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}
