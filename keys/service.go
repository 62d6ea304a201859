// Package keys is the domain logic of project API keys: it makes key values,
// authenticates bearer tokens, enforces the admin role, and pages through
// keys with signed cursors. It stores nothing itself (see spotzee.Store) and
// knows nothing of HTTP.
package keys

import (
	"context"
	"fmt"
	"strings"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keymaterial"
)

// MaxListAll is the most live keys limit=-1 returns; above it the request is
// refused with parameter_invalid_format.
const MaxListAll = keymaterial.MaxListAll

// DefaultLimit is the page size when none is asked for.
const DefaultLimit = keymaterial.DefaultLimit

// DefaultKeyQuota is the most live keys a project may hold when created
// through the API (Create), unless WithKeyQuota says otherwise.
const DefaultKeyQuota = 10000

// Service implements the API-key rules over a store.
type Service struct {
	store  spotzee.Store
	cursor keymaterial.Cursors
	now    func() time.Time
	quota  int
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithKeyQuota sets the most live keys a project may hold for Create to add
// one (default DefaultKeyQuota); 0 or less removes the cap. Operator paths
// (Bootstrap, AddKey, RecoverAdmin) are not capped.
func WithKeyQuota(n int) Option { return func(s *Service) { s.quota = n } }

// New returns a Service over store. cursorKey signs list cursors so they
// cannot be forged; it must be at least 32 random bytes kept across restarts.
func New(store spotzee.Store, cursorKey []byte, opts ...Option) *Service {
	s := &Service{store: store, cursor: keymaterial.NewCursors(cursorKey), now: time.Now, quota: DefaultKeyQuota}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Now returns the service clock's time in UTC, truncated to microseconds so
// that what is stored, returned and compared agree.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// HashValue returns the SHA-256 of a key value: the only form a value is
// stored or looked up in (keymaterial.Hash). It cannot fail.
func HashValue(value string) []byte { return keymaterial.Hash(value) }

func unauthenticated(reason string) error {
	return spotzee.Errorf(spotzee.CodeAuthenticationRequired, "%s", reason)
}

// Authenticate returns the live secret key a bearer token belongs to. It
// returns authentication_required for a publishable (pk_) or organisation
// (ok_) key, an unknown or revoked key, or anything that is not a key; the
// error never contains the token.
func (s *Service) Authenticate(ctx context.Context, token string) (spotzee.APIKey, error) {
	if err := tokenKind(token); err != nil {
		return spotzee.APIKey{}, err
	}
	key, err := s.store.KeyByHash(ctx, HashValue(token))
	return liveSecret(key, err)
}

// KeyTierReader is implemented by a store that reads the key a value's
// SHA-256 belongs to, revoked or not, together with its project's rate-limit
// tier in one statement (*sqlite.DB, *postgres.DB). Like KeyByHash it
// returns a CodeResourceMissing *spotzee.Error when there is no such key.
type KeyTierReader interface {
	KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error)
}

// AuthenticateTier is Authenticate reading the key and its project's
// rate-limit tier through r in one statement instead of two: the key is
// checked exactly as Authenticate checks it. The Service keeps nothing
// between requests; r may (authcache keeps what it read until the next
// commit to the database by any process), so a revocation, demotion or tier
// change committed by any process is seen on the next request. r must read
// the same database as the Service's store.
func (s *Service) AuthenticateTier(ctx context.Context, token string, r KeyTierReader) (spotzee.APIKey, spotzee.Tier, error) {
	if err := tokenKind(token); err != nil {
		return spotzee.APIKey{}, "", err
	}
	key, tier, err := r.KeyAndTierByHash(ctx, HashValue(token))
	key, err = liveSecret(key, err)
	if err != nil {
		return spotzee.APIKey{}, "", err
	}
	return key, tier, nil
}

// CallerAndKeyReader is implemented by a store that reads, in one
// statement, the key a value's SHA-256 belongs to, its project's tier and
// the live key id of that project (*sqlite.DB, *postgres.DB); see
// spotzee.CallerAndKey.
type CallerAndKeyReader interface {
	CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error)
}

// AuthenticateAndGet is AuthenticateTier and Get in one read through r: it
// checks the bearer key exactly as Authenticate does and returns it with its
// project's tier and the result of Get(ctx, caller, id) — the key or
// resource_missing in got.KeyErr — read from the same snapshot. As with
// AuthenticateTier, only r may keep what it read. r must read the same
// database as the Service's store.
func (s *Service) AuthenticateAndGet(ctx context.Context, token string, r CallerAndKeyReader, id int64) (spotzee.CallerAndKey, error) {
	if err := tokenKind(token); err != nil {
		return spotzee.CallerAndKey{}, err
	}
	got, err := r.CallerAndKeyByHash(ctx, HashValue(token), id)
	if got.Caller, err = liveSecret(got.Caller, err); err != nil {
		return spotzee.CallerAndKey{}, err
	}
	return got, nil
}

// tokenKind returns authentication_required unless token looks like a
// secret (sk_) key.
func tokenKind(token string) error {
	switch {
	case strings.HasPrefix(token, "pk_"):
		return unauthenticated("Publishable (pk_) keys cannot call the API-key endpoints; use a secret key.")
	case strings.HasPrefix(token, "ok_"):
		return unauthenticated("Organisation (ok_) keys cannot call project endpoints; use a project secret key.")
	case !strings.HasPrefix(token, "sk_"):
		return unauthenticated("The API key is not a Spotzee key.")
	}
	return nil
}

// liveSecret turns the result of a by-hash read into Authenticate's: the key
// when it is a live secret key, authentication_required when it is missing,
// revoked or not secret, a wrapped storage error otherwise.
func liveSecret(key spotzee.APIKey, err error) (spotzee.APIKey, error) {
	if spotzee.ErrorCode(err) == spotzee.CodeResourceMissing {
		return spotzee.APIKey{}, unauthenticated("The API key is unknown or revoked.")
	}
	if err != nil {
		return spotzee.APIKey{}, fmt.Errorf("keys: authenticate: %w", err)
	}
	if key.RevokedAt != nil || key.Scope != spotzee.ScopeSecret || key.ValuePrefix != "sk_" {
		return spotzee.APIKey{}, unauthenticated("The API key is unknown or revoked.")
	}
	return key, nil
}

// Authorize returns permission_denied unless caller may manage API keys
// (project role admin).
func Authorize(caller spotzee.APIKey) error {
	if !caller.Role.AtLeast(spotzee.RoleAdmin) {
		return spotzee.Errorf(spotzee.CodePermissionDenied,
			"Managing API keys needs the project admin role; this key has role %s.", caller.Role)
	}
	return nil
}

// CreateInput is a key to create; zero Scope and Role take the defaults
// (secret, support).
type CreateInput struct {
	Name        string
	Description *string
	Scope       spotzee.Scope
	Role        spotzee.Role
	// Idempotent, when not nil, finishes the request's running idempotency
	// record in the insert's transaction (see spotzee.IdempotencyFinish).
	Idempotent *Idempotent
}

// Idempotent finishes the running idempotency record (APIKeyID, Key) begun
// at Begun with the sealed response Response builds from the new key and its
// full value, inside the transaction that inserts the key.
type Idempotent struct {
	APIKeyID int64
	Key      string
	// Begun identifies the record: its CreatedAt as BeginIdempotent
	// returned it (see spotzee.IdempotencyFinish).
	Begun    time.Time
	Response func(Created) ([]byte, error)
}

// Created is a new key and its full value, which exists nowhere else.
type Created struct {
	Key   spotzee.APIKey
	Value string
}

// Create makes a key in caller's project. It returns parameter errors for an
// empty name or an unknown scope or role, quota_exceeded when the project
// already holds its quota of live keys (see WithKeyQuota), authentication_required or
// permission_denied when caller was revoked or demoted while the request ran
// (the store re-checks it inside the write), and storage faults wrapped.
func (s *Service) Create(ctx context.Context, caller spotzee.APIKey, in CreateInput) (Created, error) {
	return s.create(ctx, caller.ID, caller.ProjectID, in, false, s.quota)
}

// create makes a key in project projectID for the API key callerID (0 for
// an operator), refused when the project already has quota live keys
// (quota 0: no cap).
func (s *Service) create(ctx context.Context, callerID, projectID int64, in CreateInput, system bool, quota int) (Created, error) {
	if in.Scope == "" {
		in.Scope = spotzee.ScopeSecret
	}
	if in.Role == "" {
		in.Role = spotzee.RoleSupport
	}
	if err := checkFields(&in.Name, &in.Scope, &in.Role); err != nil {
		return Created{}, err
	}
	value := keymaterial.NewValue(in.Scope.Prefix())
	var finish *spotzee.IdempotencyFinish[spotzee.APIKey]
	if f := in.Idempotent; f != nil {
		finish = &spotzee.IdempotencyFinish[spotzee.APIKey]{APIKeyID: f.APIKeyID, Key: f.Key, Begun: f.Begun, Response: func(k spotzee.APIKey) ([]byte, error) {
			return f.Response(Created{Key: k, Value: value})
		}}
	}
	key, err := s.store.CreateKey(ctx, spotzee.NewKey{
		ProjectID:   projectID,
		Name:        in.Name,
		Description: in.Description,
		Scope:       in.Scope,
		Role:        in.Role,
		ValuePrefix: in.Scope.Prefix(),
		Last4:       keymaterial.Last4(value),
		Hash:        HashValue(value),
		IsSystem:    system,
		CreatedAt:   s.Now(),
		CallerID:    callerID,
		MaxLiveKeys: quota,
		Finish:      finish,
	})
	if err != nil {
		return Created{}, fmt.Errorf("keys: create: %w", err)
	}
	return Created{Key: key, Value: value}, nil
}

func checkFields(name *string, scope *spotzee.Scope, role *spotzee.Role) error {
	if name != nil && strings.TrimSpace(*name) == "" {
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidEmpty, "name", "The name must not be empty.")
	}
	if scope != nil && !scope.Valid() {
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "scope", "The scope must be public or secret.")
	}
	if role != nil && !role.Valid() {
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "role", "Unknown role.")
	}
	return nil
}

// Get returns the live key id of caller's project, or resource_missing.
func (s *Service) Get(ctx context.Context, caller spotzee.APIKey, id int64) (spotzee.APIKey, error) {
	return s.store.Key(ctx, caller.ProjectID, id)
}

// Update applies u to the live key id of caller's project. It returns
// resource_missing for a key that is not there, parameter errors for bad
// fields, state_conflict for a change of a system key's role or scope (its
// name and description are labels and may change) or for demoting or making
// public the project's last admin secret key, and, like Create, an
// authentication or permission error when caller changed meanwhile.
func (s *Service) Update(ctx context.Context, caller spotzee.APIKey, id int64, u spotzee.KeyUpdate) (spotzee.APIKey, error) {
	if err := checkFields(u.Name, u.Scope, u.Role); err != nil {
		return spotzee.APIKey{}, err
	}
	return s.store.UpdateKey(ctx, caller.ID, caller.ProjectID, id, u, s.Now())
}

// Revoke revokes the live key id of caller's project at once and for good.
// It returns resource_missing for a key that is not there, state_conflict
// for a system key or the project's last admin secret key, and, like Create,
// an authentication or permission error when caller changed meanwhile.
func (s *Service) Revoke(ctx context.Context, caller spotzee.APIKey, id int64) (spotzee.APIKey, error) {
	return s.store.RevokeKey(ctx, caller.ID, caller.ProjectID, id, s.Now())
}

// Bootstrapped is a new project with its system key and first admin key.
type Bootstrapped struct {
	Project   spotzee.Project
	SystemKey spotzee.APIKey
	Admin     Created
}

// Bootstrap creates a project on tier (in the default organisation: see
// spotzee.Store) with its system SMTP-proxy key and an admin secret key,
// whose value it returns once. It returns parameter_invalid_format for an
// unknown tier and storage faults wrapped.
func (s *Service) Bootstrap(ctx context.Context, name string, tier spotzee.Tier) (Bootstrapped, error) {
	if !tier.Valid() {
		return Bootstrapped{}, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "tier", "Unknown tier %q.", tier)
	}
	p, err := s.store.CreateProject(ctx, name, tier, s.Now())
	if err != nil {
		return Bootstrapped{}, fmt.Errorf("keys: create project: %w", err)
	}
	return s.Provision(ctx, p)
}

// Provision gives the existing project p (created by Bootstrap or through
// the admin surface) its system SMTP-proxy key and a first admin secret key,
// whose value it returns once: no Spotzee operation mints a new project's
// first key. It returns storage faults wrapped.
func (s *Service) Provision(ctx context.Context, p spotzee.Project) (Bootstrapped, error) {
	system, err := s.create(ctx, 0, p.ID, CreateInput{Name: "SMTP proxy", Scope: spotzee.ScopeSecret, Role: spotzee.RoleSMTPProxy}, true, 0)
	if err != nil {
		return Bootstrapped{}, err
	}
	admin, err := s.create(ctx, 0, p.ID, CreateInput{Name: "Bootstrap admin key", Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin}, false, 0)
	if err != nil {
		return Bootstrapped{}, err
	}
	return Bootstrapped{Project: p, SystemKey: system.Key, Admin: admin}, nil
}

// RecoverAdmin creates an admin secret key, named "Recovery admin key", in
// the existing project projectID and returns it with its value, bypassing the
// caller checks: the operator's way back into a project whose admin keys are
// all lost. It returns resource_missing for an unknown project and storage
// faults wrapped.
func (s *Service) RecoverAdmin(ctx context.Context, projectID int64) (Created, error) {
	if _, err := s.store.Project(ctx, projectID); err != nil {
		return Created{}, fmt.Errorf("keys: recover admin: %w", err)
	}
	return s.create(ctx, 0, projectID, CreateInput{Name: "Recovery admin key", Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin}, false, 0)
}

// AddKey creates a key in any project, bypassing the caller checks: for
// operators and test helpers.
func (s *Service) AddKey(ctx context.Context, projectID int64, in CreateInput) (Created, error) {
	return s.create(ctx, 0, projectID, in, false, 0)
}

// CurrentProject returns the project caller belongs to (GET /me), for a
// secret key of any role; it returns storage faults wrapped.
func (s *Service) CurrentProject(ctx context.Context, caller spotzee.APIKey) (spotzee.Project, error) {
	p, err := s.store.Project(ctx, caller.ProjectID)
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("keys: current project: %w", err)
	}
	return p, nil
}
