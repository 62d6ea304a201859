// Package spotzeetest starts the reference server in-process for tests, the
// way net/http/httptest starts a handler: on in-memory SQLite, with every
// request and response validated against the spec, and cleaned up with
// t.Cleanup.
//
//	srv := spotzeetest.NewServer(t)
//	resp, err := srv.Client.CreateProjectAPIKeyWithResponse(ctx, nil, client.ProjectAPIKeyCreate{Name: "CI"})
package spotzeetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/faults"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/orgs"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// Server is a reference server running in-process.
type Server struct {
	// URL is the API base URL, ending in /api/client: give it to a client.
	URL string
	// RootURL is the server root (for /healthz and /api/openapi.json).
	RootURL string
	// ProjectID is the first project's id.
	ProjectID int64
	// AdminKey is an admin secret key of the first project.
	AdminKey string
	// Client is a generated client authenticated with AdminKey, whose
	// transport validates every request and response against the spec.
	Client *client.ClientWithResponses

	// AdminURL is the admin surface's base URL, ending in /api/admin: give
	// it to client.NewAdmin.
	AdminURL string
	// OrgID is the first organisation's id; the first project belongs to it.
	OrgID int64
	// OwnerKey is an owner organisation key (ok_) of the first organisation.
	OwnerKey string
	// AdminClient is a generated client of the admin surface authenticated
	// with OwnerKey, validated like Client.
	AdminClient *client.ClientWithResponses

	tb     testing.TB
	ref    *refserver.Server
	hs     *httptest.Server
	faults *faults.Injector
}

type options struct {
	cfg      refserver.Config
	coverage validate.Recorder
	faults   *faults.Injector
}

// Option configures NewServer.
type Option func(*options)

// WithRateLimits sets the rate limits (off by default, so tests are not
// throttled).
func WithRateLimits(c ratelimit.Config) Option { return func(o *options) { o.cfg.RateLimits = c } }

// WithProfile sets the behaviour profile (default refserver.ProfileRollout,
// everything Spotzee documents; refserver.ProfileCurrent is production as
// documented today, what to test retry safety against).
func WithProfile(p refserver.Profile) Option { return func(o *options) { o.cfg.Profile = p } }

// WithEdgeLimits turns on the per-IP edge limits (off by default, so tests
// are not throttled); the zero edgelimit.Config is Spotzee's documented
// limits. Its clock defaults to WithClock's. An edge 429 has no request_id
// in its body, which the reference profile allows.
func WithEdgeLimits(c edgelimit.Config) Option {
	return func(o *options) { o.cfg.EdgeLimits = &c }
}

// WithClock sets the server clock, for idempotency expiry, timestamps and
// rate-limit windows.
func WithClock(now func() time.Time) Option { return func(o *options) { o.cfg.Now = now } }

// WithLogger sets the server logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.cfg.Logger = l } }

// WithDB uses a database file instead of in-memory SQLite, with the given
// 32-byte secret (nil: random), for restart tests.
func WithDB(path string, secret []byte) Option {
	return func(o *options) { o.cfg.DBPath, o.cfg.Secret = path, secret }
}

// WithCoverage tells rec (typically a *coverage.Recorder) the operation and
// status of every response the server sends to a request matching an
// operation of the spec, whoever the client is.
func WithCoverage(rec validate.Recorder) Option { return func(o *options) { o.coverage = rec } }

// WithFaults injects the faults scripted on in (default: a fresh Injector,
// reachable with Server.Faults).
func WithFaults(in *faults.Injector) Option { return func(o *options) { o.faults = in } }

// NewServer starts a reference server with one project and an admin key. A
// response that breaks the spec fails the test. It calls t.Fatal on setup
// failure and stops the server with t.Cleanup.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start(t, opts)
	if err != nil {
		t.Fatalf("spotzeetest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a reference server outside a test (for runnable examples and
// tools); the caller must Close it. A response that breaks the spec is
// reported on standard error. It returns an error when the server cannot
// start.
func Start(opts ...Option) (*Server, error) { return start(nil, opts) }

func start(tb testing.TB, opts []Option) (*Server, error) {
	o := &options{cfg: refserver.Config{
		DBPath:            ":memory:",
		RateLimits:        ratelimit.Config{Disabled: true},
		ValidateResponses: true,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	for _, opt := range opts {
		opt(o)
	}
	o.cfg.OnResponseViolation = func(_ *http.Request, v *validate.ResponseViolation) {
		if tb != nil {
			tb.Errorf("spotzeetest: the reference server broke the spec: %v", v)
			return
		}
		fmt.Fprintf(os.Stderr, "spotzeetest: the reference server broke the spec: %v\n", v)
	}
	ctx := context.Background()
	ref, err := refserver.Open(ctx, o.cfg)
	if err != nil {
		return nil, err
	}
	b, _, err := ref.BootstrapIfEmpty(ctx)
	if err != nil {
		_ = ref.Close()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if o.faults == nil {
		if o.faults, err = faults.New(nil); err != nil {
			_ = ref.Close()
			return nil, err
		}
	}
	handler := o.faults.Middleware(ref.Handler())
	if o.coverage != nil {
		v, err := validate.Default()
		if err != nil {
			_ = ref.Close()
			return nil, err
		}
		handler = v.Observer(o.coverage)(handler)
	}
	hs := httptest.NewServer(handler)
	s := &Server{
		URL: hs.URL + "/api/client", RootURL: hs.URL, AdminURL: hs.URL + "/api/admin",
		ProjectID: b.Project.ID, AdminKey: b.Admin.Value,
		OrgID: b.Organization.ID, OwnerKey: b.Owner.Value,
		tb: tb, ref: ref, hs: hs, faults: o.faults,
	}
	if b.Admin.Value == "" {
		// An existing database: make a fresh admin key in project 1.
		c, err := ref.Service().AddKey(ctx, 1, keys.CreateInput{Name: "spotzeetest admin", Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("admin key: %w", err)
		}
		s.ProjectID, s.AdminKey = 1, c.Value
		p, err := ref.Store().Project(ctx, 1)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("first project: %w", err)
		}
		owner, err := ref.Orgs().AddKey(ctx, p.OrganizationID, orgs.KeyInput{Name: "spotzeetest owner", Role: spotzee.OrgRoleOwner})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("owner key: %w", err)
		}
		s.OrgID, s.OwnerKey = p.OrganizationID, owner.Value
	}
	if s.Client, err = s.newClient(s.URL, s.AdminKey); err != nil {
		s.Close()
		return nil, err
	}
	if s.AdminClient, err = s.newClient(s.AdminURL, s.OwnerKey); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// fatalf fails the test, or panics outside one.
func (s *Server) fatalf(format string, args ...any) {
	if s.tb != nil {
		s.tb.Helper()
		s.tb.Fatalf(format, args...)
	}
	panic(fmt.Sprintf(format, args...))
}

// Close stops the server and closes its database; t.Cleanup calls it.
func (s *Server) Close() {
	if s.hs == nil {
		return
	}
	s.hs.Close()
	_ = s.ref.Close()
	s.hs = nil
}

// Faults returns the fault injector in front of the reference server:
// script failures per operation with Next, Sometimes or Add.
func (s *Server) Faults() *faults.Injector { return s.faults }

// Ref returns the assembled reference server (storage, service, handler).
func (s *Server) Ref() *refserver.Server { return s.ref }

// NewClient returns a generated client authenticated with apiKey whose
// transport validates requests and responses against the spec.
func (s *Server) NewClient(apiKey string, opts ...validate.TransportOption) *client.ClientWithResponses {
	c, err := s.newClient(s.URL, apiKey, opts...)
	if err != nil {
		s.fatalf("spotzeetest: %v", err)
	}
	return c
}

// NewAdminClient returns a generated client of the admin surface (AdminURL)
// authenticated with apiKey, validated like NewClient's. It fails the test
// when the validator cannot load.
func (s *Server) NewAdminClient(apiKey string, opts ...validate.TransportOption) *client.ClientWithResponses {
	c, err := s.newClient(s.AdminURL, apiKey, opts...)
	if err != nil {
		s.fatalf("spotzeetest: %v", err)
	}
	return c
}

// Admin returns the hand-written admin client (client.NewAdmin) for
// AdminURL, authenticated with orgKey, whose transport validates requests
// and responses against the spec with the reference profile. It fails the
// test when the client cannot be made.
func (s *Server) Admin(orgKey string, opts ...client.Option) *client.Admin {
	v, err := validate.Reference()
	if err != nil {
		s.fatalf("spotzeetest: %v", err)
	}
	a, err := client.NewAdmin(s.AdminURL, orgKey, append([]client.Option{client.WithTransport(v.Transport(nil))}, opts...)...)
	if err != nil {
		s.fatalf("spotzeetest: admin client: %v", err)
	}
	return a
}

func (s *Server) newClient(baseURL, apiKey string, opts ...validate.TransportOption) (*client.ClientWithResponses, error) {
	v, err := validate.Reference()
	if err != nil {
		return nil, err
	}
	return client.NewClientWithResponses(baseURL,
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil, opts...), Timeout: 30 * time.Second}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+apiKey)
			return nil
		}))
}

// NewOrganization creates an organisation with slug username and an owner
// key, and returns its id and the owner key's value; it fails the test on
// error.
func (s *Server) NewOrganization(username string) (int64, string) {
	ctx := context.Background()
	o, err := s.ref.Orgs().CreateOrganization(ctx, username, nil)
	if err != nil {
		s.fatalf("spotzeetest: new organization: %v", err)
	}
	return o.ID, s.AddOrgKey(o.ID, "owner", spotzee.OrgRoleOwner)
}

// AddOrgKey creates an organisation key of any role in organisation orgID
// and returns its full value; it fails the test on error.
func (s *Server) AddOrgKey(orgID int64, name string, role spotzee.OrgRole) string {
	c, err := s.ref.Orgs().AddKey(context.Background(), orgID, orgs.KeyInput{Name: name, Role: role})
	if err != nil {
		s.fatalf("spotzeetest: add organization key: %v", err)
	}
	return c.Value
}

// NewOrgProject creates a project named name in organisation orgID (locale
// "en", timezone "UTC") with a first admin secret key, and returns the
// project's id and the key's value; it fails the test on error.
func (s *Server) NewOrgProject(orgID int64, name string) (int64, string) {
	ctx := context.Background()
	p, err := s.ref.Orgs().AddProject(ctx, orgID, orgs.ProjectInput{Name: name})
	if err != nil {
		s.fatalf("spotzeetest: new project: %v", err)
	}
	return p.ID, s.FirstProjectKey(p.ID)
}

// FirstProjectKey mints an admin secret key in the existing project
// projectID and returns its value: the reference server's own way (not a
// Spotzee operation) to get the first key of a project created through the
// admin surface, as `spotzee-keys bootstrap --project-id N` does. It fails
// the test on error.
func (s *Server) FirstProjectKey(projectID int64) string {
	c, err := s.ref.RecoverAdmin(context.Background(), projectID)
	if err != nil {
		s.fatalf("spotzeetest: first project key: %v", err)
	}
	return c.Value
}

// NewProject creates another project and returns its id and an admin key.
func (s *Server) NewProject(name string) (int64, string) {
	b, err := s.ref.Bootstrap(context.Background(), name, spotzee.TierStarter)
	if err != nil {
		s.fatalf("spotzeetest: new project: %v", err)
	}
	return b.Project.ID, b.Admin.Value
}

// AddKey creates a key with the given scope and role in a project and
// returns its full value.
func (s *Server) AddKey(projectID int64, name string, scope spotzee.Scope, role spotzee.Role) string {
	c, err := s.ref.Service().AddKey(context.Background(), projectID, keys.CreateInput{Name: name, Scope: scope, Role: role})
	if err != nil {
		s.fatalf("spotzeetest: add key: %v", err)
	}
	return c.Value
}
