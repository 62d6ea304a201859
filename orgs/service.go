// Package orgs is the domain logic of the admin surface: organisation keys
// (ok_) and an organisation's projects. It keeps the organisation rules
// (roles member < admin < owner, the role ceilings, the owner-key protection,
// the last owner key) and validates project settings. It stores nothing
// itself (see spotzee.OrgStore) and knows nothing of HTTP.
package orgs

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // timezones resolve on machines without a zoneinfo database

	"golang.org/x/text/language"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keymaterial"
)

// Cursor kinds: an organisation's keys and its projects page separately.
const (
	kindKeys     = "orgkeys"
	kindProjects = "projects"
)

// NewProjectTier is the rate-limit tier of a project created through the
// admin surface.
const NewProjectTier = spotzee.TierStarter

// Service implements the organisation rules over a store.
type Service struct {
	store  spotzee.OrgStore
	cursor keymaterial.Cursors
	now    func() time.Time
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service over store; cursorKey signs list cursors (at least
// 32 random bytes kept across restarts). It cannot fail.
func New(store spotzee.OrgStore, cursorKey []byte, opts ...Option) *Service {
	s := &Service{store: store, cursor: keymaterial.NewCursors(cursorKey), now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Now returns the service clock's time in UTC, truncated to microseconds.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func unauthenticated(reason string) error {
	return spotzee.Errorf(spotzee.CodeAuthenticationRequired, "%s", reason)
}

// Authenticate returns the live organisation key a bearer token belongs to.
// It returns authentication_required for a project key (sk_ or pk_), an
// unknown or revoked key, or anything that is not a key (the error never
// contains the token), and storage faults wrapped.
func (s *Service) Authenticate(ctx context.Context, token string) (spotzee.OrgKey, error) {
	switch {
	case strings.HasPrefix(token, "sk_"), strings.HasPrefix(token, "pk_"):
		return spotzee.OrgKey{}, unauthenticated("Project keys (sk_, pk_) cannot call the admin API; use an organisation (ok_) key.")
	case !strings.HasPrefix(token, spotzee.OrgKeyPrefix):
		return spotzee.OrgKey{}, unauthenticated("The API key is not a Spotzee key.")
	}
	k, err := s.store.OrgKeyByHash(ctx, keymaterial.Hash(token))
	if spotzee.ErrorCode(err) == spotzee.CodeResourceMissing {
		return spotzee.OrgKey{}, unauthenticated("The API key is unknown or revoked.")
	}
	if err != nil {
		return spotzee.OrgKey{}, fmt.Errorf("orgs: authenticate: %w", err)
	}
	if k.RevokedAt != nil {
		return spotzee.OrgKey{}, unauthenticated("The API key is unknown or revoked.")
	}
	return k, nil
}

// Authorize returns permission_denied unless caller's role is min or
// broader.
func Authorize(caller spotzee.OrgKey, min spotzee.OrgRole) error {
	if !caller.Role.AtLeast(min) {
		return spotzee.Errorf(spotzee.CodePermissionDenied,
			"This needs the organisation %s role or higher; this key has role %s.", min, caller.Role)
	}
	return nil
}

// Me returns caller's organisation, or a storage error.
func (s *Service) Me(ctx context.Context, caller spotzee.OrgKey) (spotzee.Organization, error) {
	o, err := s.store.Organization(ctx, caller.OrganizationID)
	if err != nil {
		return spotzee.Organization{}, fmt.Errorf("orgs: organization: %w", err)
	}
	return o, nil
}

// KeyInput is an organisation key to create; a zero Role takes the default
// (admin, capped at the caller's role).
type KeyInput struct {
	Name        string
	Description *string
	Role        spotzee.OrgRole
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
	Begun    time.Time
	Response func(Created) ([]byte, error)
}

// Created is a new organisation key and its full value, which exists
// nowhere else.
type Created struct {
	Key   spotzee.OrgKey
	Value string
}

// manager is the guard of every key write: the caller, as it is inside the
// write, must still be admin or higher.
func manager(caller spotzee.OrgKey) error {
	if !caller.Role.AtLeast(spotzee.OrgRoleAdmin) {
		return spotzee.Errorf(spotzee.CodePermissionDenied,
			"Managing organisation API keys needs the admin or owner role; this key has role %s.", caller.Role)
	}
	return nil
}

// ceiling returns permission_denied (param role) when role is broader than
// caller's own.
func ceiling(caller spotzee.OrgKey, role spotzee.OrgRole) error {
	if !caller.Role.AtLeast(role) {
		return spotzee.ParamErrorf(spotzee.CodePermissionDenied, "role",
			"A key with role %s cannot give a key role %s.", caller.Role, role)
	}
	return nil
}

// ownerProtected returns permission_denied (param role) when target is an
// owner key and caller is not an owner.
func ownerProtected(caller, target spotzee.OrgKey) error {
	if target.Role == spotzee.OrgRoleOwner && caller.Role != spotzee.OrgRoleOwner {
		return spotzee.ParamErrorf(spotzee.CodePermissionDenied, "role",
			"Organisation API key %d has role owner; only an owner key can change or revoke it.", target.ID)
	}
	return nil
}

func checkKeyFields(name *string, role *spotzee.OrgRole) error {
	if name != nil && strings.TrimSpace(*name) == "" {
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidEmpty, "name", "The name must not be empty.")
	}
	if role != nil && !role.Valid() {
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "role", "Unknown role.")
	}
	return nil
}

// CreateKey makes an organisation key in caller's organisation. It returns
// permission_denied when caller is a member or asks for a role above its
// own (param role), parameter errors for an empty name or unknown role,
// authentication_required or permission_denied when caller was revoked or
// demoted while the request ran, and storage faults wrapped.
func (s *Service) CreateKey(ctx context.Context, caller spotzee.OrgKey, in KeyInput) (Created, error) {
	if err := manager(caller); err != nil {
		return Created{}, err
	}
	explicit := in.Role != ""
	if !explicit {
		in.Role = spotzee.OrgRoleAdmin
	}
	if err := checkKeyFields(&in.Name, &in.Role); err != nil {
		return Created{}, err
	}
	guard := func(c, _ spotzee.OrgKey) error {
		if err := manager(c); err != nil {
			return err
		}
		return ceiling(c, in.Role)
	}
	return s.create(ctx, caller.ID, caller.OrganizationID, in, guard)
}

func (s *Service) create(ctx context.Context, callerID, orgID int64, in KeyInput, guard spotzee.OrgGuard) (Created, error) {
	value := keymaterial.NewValue(spotzee.OrgKeyPrefix)
	var finish *spotzee.IdempotencyFinish[spotzee.OrgKey]
	if f := in.Idempotent; f != nil {
		finish = &spotzee.IdempotencyFinish[spotzee.OrgKey]{APIKeyID: f.APIKeyID, Key: f.Key, Begun: f.Begun, Response: func(k spotzee.OrgKey) ([]byte, error) {
			return f.Response(Created{Key: k, Value: value})
		}}
	}
	k, err := s.store.CreateOrgKey(ctx, callerID, spotzee.NewOrgKey{
		OrganizationID: orgID,
		Name:           in.Name,
		Description:    in.Description,
		Role:           in.Role,
		Last4:          keymaterial.Last4(value),
		Hash:           keymaterial.Hash(value),
		CreatedAt:      s.Now(),
		Finish:         finish,
	}, guard)
	if err != nil {
		return Created{}, fmt.Errorf("orgs: create key: %w", err)
	}
	return Created{Key: k, Value: value}, nil
}

// GetKey returns the live key id of caller's organisation. It returns
// permission_denied for a member caller and resource_missing for a key that
// is not there (revoked, or of another organisation).
func (s *Service) GetKey(ctx context.Context, caller spotzee.OrgKey, id int64) (spotzee.OrgKey, error) {
	if err := manager(caller); err != nil {
		return spotzee.OrgKey{}, err
	}
	return s.store.OrgKey(ctx, caller.OrganizationID, id)
}

// UpdateKey applies u to the live key id of caller's organisation. It
// returns permission_denied for a member caller, for an admin caller
// changing an owner key, or for a new role above the caller's (param role);
// resource_missing for a key that is not there; state_conflict for demoting
// the organisation's last live owner key; parameter errors for bad fields;
// and, like CreateKey, an authentication or permission error when caller
// changed meanwhile. u.Finish, when set, finishes the request's idempotency
// record in the update's transaction (its errors: see
// spotzee.IdempotencyFinish).
func (s *Service) UpdateKey(ctx context.Context, caller spotzee.OrgKey, id int64, u spotzee.OrgKeyUpdate) (spotzee.OrgKey, error) {
	if err := manager(caller); err != nil {
		return spotzee.OrgKey{}, err
	}
	if err := checkKeyFields(u.Name, u.Role); err != nil {
		return spotzee.OrgKey{}, err
	}
	guard := func(c, target spotzee.OrgKey) error {
		if err := manager(c); err != nil {
			return err
		}
		if err := ownerProtected(c, target); err != nil {
			return err
		}
		if u.Role != nil {
			return ceiling(c, *u.Role)
		}
		return nil
	}
	return s.store.UpdateOrgKey(ctx, caller.ID, caller.OrganizationID, id, u, guard, s.Now())
}

// RevokeKey revokes the live key id of caller's organisation at once and for
// good. It returns permission_denied for a member caller or an admin caller
// revoking an owner key (param role), resource_missing for a key that is
// not there, state_conflict for the organisation's last live owner key, and
// an authentication or permission error when caller changed meanwhile.
func (s *Service) RevokeKey(ctx context.Context, caller spotzee.OrgKey, id int64) (spotzee.OrgKey, error) {
	if err := manager(caller); err != nil {
		return spotzee.OrgKey{}, err
	}
	guard := func(c, target spotzee.OrgKey) error {
		if err := manager(c); err != nil {
			return err
		}
		return ownerProtected(c, target)
	}
	return s.store.RevokeOrgKey(ctx, caller.ID, caller.OrganizationID, id, guard, s.Now())
}

// KeyPage is one page of organisation keys with the cursors to its
// neighbours.
type KeyPage struct {
	Keys       []spotzee.OrgKey
	NextCursor *string
	PrevCursor *string
	Limit      int
	Total      int
}

// listQuery turns a list request into a store query for the list kind of
// organisation orgID, returning the cursor position it starts at.
func (s *Service) listQuery(kind string, orgID int64, in keymaterial.ListInput) (spotzee.OrgListQuery, *spotzee.Position, int, error) {
	field, desc, err := keymaterial.ParseSort(in.Sort, in.Direction)
	if err != nil {
		return spotzee.OrgListQuery{}, nil, 0, err
	}
	limit, err := keymaterial.ParseLimit(in.Limit)
	if err != nil {
		return spotzee.OrgListQuery{}, nil, 0, err
	}
	q := spotzee.OrgListQuery{OrganizationID: orgID, Sort: field, Desc: desc, Limit: limit, Query: in.Query}
	var at *spotzee.Position
	if in.Cursor != "" {
		pos, err := s.cursor.Decode(in.Cursor, kind, orgID, field, desc)
		if err != nil {
			return spotzee.OrgListQuery{}, nil, 0, err
		}
		at = &pos
		if in.Prev {
			q.Before = &pos
		} else {
			q.After = &pos
		}
	}
	if limit == -1 {
		q.Limit = keymaterial.MaxListAll + 1
	}
	return q, at, limit, nil
}

func tooMany(limit, n, total int) error {
	if limit == -1 && (n > keymaterial.MaxListAll || total > keymaterial.MaxListAll) {
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "limit",
			"limit=-1 is refused above %d items; page with a limit of 1 to 100.", keymaterial.MaxListAll)
	}
	return nil
}

// ListKeys returns one page of caller's organisation's live keys. It returns
// permission_denied for a member caller and parameter_invalid_format for a
// bad sort, direction, limit or cursor.
func (s *Service) ListKeys(ctx context.Context, caller spotzee.OrgKey, in keymaterial.ListInput) (KeyPage, error) {
	if err := manager(caller); err != nil {
		return KeyPage{}, err
	}
	q, at, limit, err := s.listQuery(kindKeys, caller.OrganizationID, in)
	if err != nil {
		return KeyPage{}, err
	}
	page, err := s.store.ListOrgKeys(ctx, q)
	if err != nil {
		return KeyPage{}, fmt.Errorf("orgs: list keys: %w", err)
	}
	if err := tooMany(limit, len(page.Keys), page.Total); err != nil {
		return KeyPage{}, err
	}
	out := KeyPage{Keys: page.Keys, Limit: limit, Total: page.Total}
	w := keymaterial.Window{HasPrev: page.HasPrev, HasNext: page.HasNext}
	if n := len(page.Keys); n > 0 {
		first, last := page.Keys[0].PositionOf(q.Sort), page.Keys[n-1].PositionOf(q.Sort)
		w.First, w.Last = &first, &last
	}
	out.NextCursor, out.PrevCursor = s.cursor.PageCursors(kindKeys, caller.OrganizationID, q.Sort, q.Desc, at, in.Prev, w)
	return out, nil
}

// ProjectPage is one page of projects with the cursors to its neighbours.
type ProjectPage struct {
	Projects   []spotzee.Project
	NextCursor *string
	PrevCursor *string
	Limit      int
	Total      int
}

// ListProjects returns one page of caller's organisation's projects, for a
// key of any role. It returns parameter_invalid_format for a bad sort,
// direction, limit or cursor.
func (s *Service) ListProjects(ctx context.Context, caller spotzee.OrgKey, in keymaterial.ListInput) (ProjectPage, error) {
	q, at, limit, err := s.listQuery(kindProjects, caller.OrganizationID, in)
	if err != nil {
		return ProjectPage{}, err
	}
	page, err := s.store.ListProjects(ctx, q)
	if err != nil {
		return ProjectPage{}, fmt.Errorf("orgs: list projects: %w", err)
	}
	if err := tooMany(limit, len(page.Projects), page.Total); err != nil {
		return ProjectPage{}, err
	}
	out := ProjectPage{Projects: page.Projects, Limit: limit, Total: page.Total}
	w := keymaterial.Window{HasPrev: page.HasPrev, HasNext: page.HasNext}
	if n := len(page.Projects); n > 0 {
		first, last := page.Projects[0].PositionOf(q.Sort), page.Projects[n-1].PositionOf(q.Sort)
		w.First, w.Last = &first, &last
	}
	out.NextCursor, out.PrevCursor = s.cursor.PageCursors(kindProjects, caller.OrganizationID, q.Sort, q.Desc, at, in.Prev, w)
	return out, nil
}

// ProjectInput is a project to create.
type ProjectInput struct {
	Name string
	spotzee.ProjectSettings
	// Finish, when not nil, finishes the request's running idempotency
	// record in the insert's transaction (see spotzee.IdempotencyFinish).
	Finish *spotzee.IdempotencyFinish[spotzee.Project]
}

// projectManager is the guard of every project write: the caller, as it is
// inside the write, must still be admin or higher.
func projectManager(caller, _ spotzee.OrgKey) error { return Authorize(caller, spotzee.OrgRoleAdmin) }

// EffectiveProjectRole is the project role an organisation admin or owner
// has in every project of its organisation.
const EffectiveProjectRole = spotzee.RoleAdmin

// CreateProject creates a project in caller's organisation. It returns
// permission_denied for a member caller, parameter_invalid_empty for an
// empty name, validation_failed with one entry per bad setting,
// authentication_required or permission_denied when caller was revoked or
// demoted while the request ran (the store re-checks it inside the write),
// the errors of in.Finish (see spotzee.IdempotencyFinish), and storage
// faults wrapped.
func (s *Service) CreateProject(ctx context.Context, caller spotzee.OrgKey, in ProjectInput) (spotzee.Project, error) {
	if err := Authorize(caller, spotzee.OrgRoleAdmin); err != nil {
		return spotzee.Project{}, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return spotzee.Project{}, spotzee.ParamErrorf(spotzee.CodeParameterInvalidEmpty, "name", "The name must not be empty.")
	}
	if err := validateSettings(&in.Locale, &in.Timezone, in.WebsiteURL, in.DeeplinkMirrorURL); err != nil {
		return spotzee.Project{}, err
	}
	p, err := s.store.CreateOrgProject(ctx, caller.ID, spotzee.NewOrgProject{OrganizationID: caller.OrganizationID,
		Name: in.Name, Tier: NewProjectTier, ProjectSettings: in.ProjectSettings, CreatedAt: s.Now(), Finish: in.Finish},
		projectManager)
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("orgs: create project: %w", err)
	}
	return p, nil
}

// UpdateProject applies u to project id of caller's organisation. It
// returns permission_denied for a member caller, resource_missing for a
// project that is not there (or of another organisation),
// parameter_invalid_empty for an empty name, validation_failed with one
// entry per bad setting, like CreateProject an authentication or permission
// error when caller changed meanwhile, the errors of u.Finish (see
// spotzee.IdempotencyFinish), and storage faults.
func (s *Service) UpdateProject(ctx context.Context, caller spotzee.OrgKey, id int64, u spotzee.ProjectUpdate) (spotzee.Project, error) {
	if err := Authorize(caller, spotzee.OrgRoleAdmin); err != nil {
		return spotzee.Project{}, err
	}
	if u.Name != nil && strings.TrimSpace(*u.Name) == "" {
		return spotzee.Project{}, spotzee.ParamErrorf(spotzee.CodeParameterInvalidEmpty, "name", "The name must not be empty.")
	}
	var web, mirror *string
	if u.SetWebsiteURL {
		web = u.WebsiteURL
	}
	if u.SetDeeplinkMirrorURL {
		mirror = u.DeeplinkMirrorURL
	}
	if err := validateSettings(u.Locale, u.Timezone, web, mirror); err != nil {
		return spotzee.Project{}, err
	}
	return s.store.UpdateOrgProject(ctx, caller.ID, caller.OrganizationID, id, u, projectManager, s.Now())
}

// validateSettings returns validation_failed with one entry per bad field
// among those given (nil: not checked).
func validateSettings(locale, timezone, website, mirror *string) error {
	var fields []spotzee.FieldError
	bad := func(param, msg string) {
		fields = append(fields, spotzee.FieldError{Param: param, Code: spotzee.CodeValidationFailed, Message: msg})
	}
	if locale != nil && !ValidLocale(*locale) {
		bad("locale", "locale must be a BCP 47 language tag, such as en or en-GB.")
	}
	if timezone != nil && !ValidTimezone(*timezone) {
		bad("timezone", "timezone must be an IANA time zone name, such as Europe/London.")
	}
	if website != nil && !ValidWebsite(*website) {
		bad("website_url", "website_url must be an HTTP or HTTPS URL (the scheme may be omitted).")
	}
	if mirror != nil && !ValidHTTPS(*mirror) {
		bad("deeplink_mirror_url", "deeplink_mirror_url must be an HTTPS URL.")
	}
	if len(fields) == 0 {
		return nil
	}
	e := spotzee.Errorf(spotzee.CodeValidationFailed, "The project's settings are invalid; see errors.")
	e.Fields = fields
	return e
}

var bcp47 = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// ValidLocale reports whether s is a well-formed BCP 47 language tag that
// golang.org/x/text/language accepts.
func ValidLocale(s string) bool {
	if !bcp47.MatchString(s) {
		return false
	}
	_, err := language.Parse(s)
	return err == nil
}

// ValidTimezone reports whether s names an IANA time zone (not "" or
// "Local", which mean the machine's zone).
func ValidTimezone(s string) bool {
	if s == "" || s == "Local" || strings.TrimSpace(s) != s {
		return false
	}
	_, err := time.LoadLocation(s)
	return err == nil
}

// ValidWebsite reports whether s is an HTTP or HTTPS URL with a host; a URL
// without a scheme ("acme.example") counts as HTTP.
func ValidWebsite(s string) bool {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	return validURL(s, "http", "https")
}

// ValidHTTPS reports whether s is an HTTPS URL with a host.
func ValidHTTPS(s string) bool { return validURL(s, "https") }

func validURL(s string, schemes ...string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.User != nil {
		return false
	}
	for _, sc := range schemes {
		if strings.EqualFold(u.Scheme, sc) {
			return true
		}
	}
	return false
}

// CreateOrganization creates an organisation with slug username (lower-case
// letters, digits and hyphens), for operators and test helpers. It returns
// parameter_invalid_format for a bad slug, resource_already_exists for a
// taken one, and storage faults wrapped.
func (s *Service) CreateOrganization(ctx context.Context, username string, domain *string) (spotzee.Organization, error) {
	if !slug.MatchString(username) {
		return spotzee.Organization{}, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "username",
			"An organisation username is 1 to 64 lower-case letters, digits and hyphens.")
	}
	o, err := s.store.CreateOrganization(ctx, username, domain, s.Now())
	if err != nil {
		return spotzee.Organization{}, fmt.Errorf("orgs: create organization: %w", err)
	}
	return o, nil
}

var slug = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// AddKey creates a key of any role in organisation orgID, bypassing the
// caller checks: for operators and test helpers. It returns parameter
// errors for an empty name or unknown role, resource_missing for an unknown
// organisation, and storage faults wrapped.
func (s *Service) AddKey(ctx context.Context, orgID int64, in KeyInput) (Created, error) {
	if err := checkKeyFields(&in.Name, &in.Role); err != nil {
		return Created{}, err
	}
	return s.create(ctx, 0, orgID, in, nil)
}

// AddProject creates a project in organisation orgID, bypassing the caller
// checks (operators and test helpers); empty locale and timezone mean "en"
// and "UTC". It returns validation_failed for bad settings,
// resource_missing for an unknown organisation and storage faults wrapped.
func (s *Service) AddProject(ctx context.Context, orgID int64, in ProjectInput) (spotzee.Project, error) {
	if in.Locale == "" {
		in.Locale = "en"
	}
	if in.Timezone == "" {
		in.Timezone = "UTC"
	}
	if err := validateSettings(&in.Locale, &in.Timezone, in.WebsiteURL, in.DeeplinkMirrorURL); err != nil {
		return spotzee.Project{}, err
	}
	p, err := s.store.CreateOrgProject(ctx, 0, spotzee.NewOrgProject{OrganizationID: orgID, Name: in.Name,
		Tier: NewProjectTier, ProjectSettings: in.ProjectSettings, CreatedAt: s.Now(), Finish: in.Finish}, nil)
	if err != nil {
		return spotzee.Project{}, fmt.Errorf("orgs: add project: %w", err)
	}
	return p, nil
}
