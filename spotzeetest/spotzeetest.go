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
		URL: hs.URL + "/api/client", RootURL: hs.URL,
		ProjectID: b.Project.ID, AdminKey: b.Admin.Value,
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
	}
	if s.Client, err = s.newClient(s.AdminKey); err != nil {
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
	c, err := s.newClient(apiKey, opts...)
	if err != nil {
		s.fatalf("spotzeetest: %v", err)
	}
	return c
}

func (s *Server) newClient(apiKey string, opts ...validate.TransportOption) (*client.ClientWithResponses, error) {
	v, err := validate.Reference()
	if err != nil {
		return nil, err
	}
	return client.NewClientWithResponses(s.URL,
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil, opts...), Timeout: 30 * time.Second}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+apiKey)
			return nil
		}))
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
