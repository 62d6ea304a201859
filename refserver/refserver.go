// Package refserver assembles the reference server: SQLite storage (or
// PostgreSQL, shared by replicas, for a postgres:// DBPath), the keys
// service, rate limits and the HTTP handler. The spotzee-keys binary and the
// spotzeetest helper both start it through Open; teams can embed it too.
package refserver

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/authcache"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/orgs"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/sqlite"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// Profile is the behaviour profile: see httpapi.Profile.
type Profile = httpapi.Profile

// The behaviour profiles.
const (
	// ProfileRollout enforces everything Spotzee documents (the default).
	ProfileRollout = httpapi.ProfileRollout
	// ProfileCurrent is Spotzee's production as documented today:
	// Idempotency-Key ignored, any well-formed Spotzee-Version accepted, no
	// per-key rate limits.
	ProfileCurrent = httpapi.ProfileCurrent
)

// ParseProfile returns the profile named s ("" means ProfileRollout), or an
// error naming the valid values.
func ParseProfile(s string) (Profile, error) { return httpapi.ParseProfile(s) }

// SecretSize is the length of the server secret.
const SecretSize = 32

// Config configures a reference server.
type Config struct {
	// DBPath is the SQLite file, ":memory:", or a PostgreSQL DSN
	// (postgres://… or postgresql://…), which several servers may share:
	// their rate and edge limits then count in the database.
	DBPath string
	// Secret is the server secret (SecretSize bytes) from which the cursor
	// signing key and the idempotency encryption key are derived. Keep it
	// outside the database and across restarts; nil makes a random one, so
	// cursors and cached responses do not survive a restart.
	Secret []byte
	// Profile is the behaviour profile ("" means ProfileRollout).
	Profile Profile
	// RateLimits configures the per-key limiter; RateLimits.Disabled turns
	// it off. ProfileCurrent never enforces per-key limits.
	RateLimits ratelimit.Config
	// EdgeLimits configures the per-IP edge limits, enforced in every
	// profile; nil means none (spotzee-keys serve turns Spotzee's
	// documented limits on by default). Its Now defaults to the clock.
	EdgeLimits *edgelimit.Config
	// ValidateResponses validates every response against the spec.
	ValidateResponses bool
	// OnResponseViolation is called with each response violation.
	OnResponseViolation func(*http.Request, *validate.ResponseViolation)
	// Logger receives access and error logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// AuthFailures and AuthFailureWindow throttle failed authentications per
	// client address (see httpapi.Config); AuthFailures 0 turns it off.
	AuthFailures      int
	AuthFailureWindow time.Duration
	// DisableAuthCache turns off the authenticated-key cache, which is on
	// by default with SQLite (see authcache and docs/performance.md): the
	// bearer key, its project's tier and the key GET /keys/{id} asks for are
	// kept between requests for as long as no write transaction has been
	// committed to the database by any process. With PostgreSQL there is no
	// cache: every request reads its caller.
	DisableAuthCache bool
	// MaxKeysPerProject caps the live keys a project may hold for the API to
	// create one (402 quota_exceeded beyond): 0 means keys.DefaultKeyQuota,
	// a negative value no cap.
	MaxKeysPerProject int
}

// Server is a running reference server's parts.
type Server struct {
	db      backend
	cache   *authcache.Store[sqlite.ChangeStamp] // nil when off
	svc     *keys.Service
	orgs    *orgs.Service
	handler http.Handler
	now     func() time.Time
	log     *slog.Logger
}

// DefaultPurgeInterval is how often RunPurger deletes expired idempotency
// records by default.
const DefaultPurgeInterval = 10 * time.Minute

// PurgeExpired deletes the idempotency records expired now and returns how
// many; it returns a storage error when the delete fails.
func (s *Server) PurgeExpired(ctx context.Context) (int64, error) {
	return s.db.PurgeIdempotent(ctx, s.now().UTC())
}

// RunPurger deletes expired idempotency records at once and then every
// interval (DefaultPurgeInterval when not positive) until ctx is done, so the
// table does not grow without bound while the server runs. A failed purge
// is logged and retried at the next tick. It returns when ctx is done.
func (s *Server) RunPurger(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultPurgeInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.PurgeExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.ErrorContext(ctx, "purge expired idempotency records", slog.String("error", err.Error()))
		case n > 0:
			s.log.InfoContext(ctx, "purged expired idempotency records", slog.Int64("records", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Open opens the database (applying migrations) and assembles the server.
// It returns an error if the database cannot be opened, the secret has
// the wrong size, the profile is unknown or an edge rule is malformed.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	secret := cfg.Secret
	if secret == nil {
		secret = make([]byte, SecretSize)
		_, _ = rand.Read(secret)
	}
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("refserver: secret must be %d bytes, got %d", SecretSize, len(secret))
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	profile, err := ParseProfile(string(cfg.Profile))
	if err != nil {
		return nil, fmt.Errorf("refserver: %w", err)
	}
	db, shared, err := openBackend(ctx, cfg.DBPath)
	if err != nil {
		return nil, fmt.Errorf("refserver: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	var edge *edgelimit.Limiter
	if cfg.EdgeLimits != nil {
		ec := *cfg.EdgeLimits
		if ec.Now == nil {
			ec.Now = now
		}
		if shared != nil && ec.Shared == nil {
			ec.Shared, ec.OnSharedError = shared, sharedErrorLogger(log, "edge")
		}
		if edge, err = edgelimit.New(ec); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("refserver: %w", err)
		}
	}
	quota := cfg.MaxKeysPerProject
	if quota == 0 {
		quota = keys.DefaultKeyQuota
	}
	reads, cache := authReads(db, cfg.DisableAuthCache)
	svc := keys.New(reads, derive(secret, "cursor-hmac"), keys.WithClock(now), keys.WithKeyQuota(quota))
	orgSvc := orgs.New(db, derive(secret, "cursor-hmac"), orgs.WithClock(now))
	var limiter *ratelimit.Limiter
	if !cfg.RateLimits.Disabled && profile == ProfileRollout {
		rl := cfg.RateLimits
		if rl.Now == nil {
			rl.Now = now
		}
		if shared != nil && rl.Shared == nil {
			rl.Shared, rl.OnSharedError = shared, sharedErrorLogger(log, "rate")
		}
		limiter = ratelimit.New(rl)
	}
	handler, err := httpapi.NewHandler(httpapi.Config{
		Service:             svc,
		Orgs:                orgSvc,
		Profile:             profile,
		Edge:                edge,
		Tiers:               reads,
		Limiter:             limiter,
		Idempotency:         idempotencyStore(profile, db),
		IdempotencySecret:   derive(secret, "idempotency-aes-256-gcm"),
		ValidateResponses:   cfg.ValidateResponses,
		OnResponseViolation: cfg.OnResponseViolation,
		Logger:              cfg.Logger,
		Now:                 now,
		AuthFailures:        cfg.AuthFailures,
		AuthFailureWindow:   cfg.AuthFailureWindow,
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("refserver: %w", err)
	}
	return &Server{db: db, cache: cache, svc: svc, orgs: orgSvc, handler: handler, now: now, log: log}, nil
}

// authReads returns the store the keys service and the authenticator read
// bearer keys through: db itself, or, with SQLite unless off is set, an
// authenticated-key cache over it, which it also returns (nil otherwise),
// carried across db's label-only commits (sqlite.DB.OnLabelCommit).
func authReads(db backend, off bool) (authcache.Source, *authcache.Store[sqlite.ChangeStamp]) {
	sdb, ok := db.(*sqlite.DB)
	if !ok || off {
		return db, nil
	}
	c := authcache.New[sqlite.ChangeStamp](sdb, sdb, authcache.DefaultMaxEntries)
	// A rename or new description (a label-only PATCH) committed by this
	// server keeps the cache but for the keys it changed.
	sdb.OnLabelCommit(func(before, after sqlite.ChangeStamp, touched []int64) { c.Advance(before, after, touched) })
	return c, c
}

// AuthCacheStats returns the authenticated-key cache's counts, and on=false
// (zero counts) when the server runs without one (see
// Config.DisableAuthCache).
func (s *Server) AuthCacheStats() (stats authcache.Stats, on bool) {
	if s.cache == nil {
		return authcache.Stats{}, false
	}
	return s.cache.Stats(), true
}

// idempotencyStore returns db under ProfileRollout and nil (Idempotency-Key
// ignored) under ProfileCurrent.
func idempotencyStore(p Profile, db backend) spotzee.IdempotencyStore {
	if p != ProfileRollout {
		return nil
	}
	return db
}

// derive returns a 32-byte subkey of secret for one purpose.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Handler returns the HTTP handler of the whole server.
func (s *Server) Handler() http.Handler { return s.handler }

// Service returns the keys service, for operators and test helpers.
func (s *Server) Service() *keys.Service { return s.svc }

// Orgs returns the organisation service, for operators and test helpers.
func (s *Server) Orgs() *orgs.Service { return s.orgs }

// Store returns the SQLite database; nil when the server runs on PostgreSQL
// (see Postgres).
func (s *Server) Store() *sqlite.DB {
	db, _ := s.db.(*sqlite.DB)
	return db
}

// Close closes the database.
func (s *Server) Close() error { return s.db.Close() }

// Bootstrap creates a project in the default organisation (id 1) with its
// system key and an admin secret key, whose value it returns once. It
// returns parameter_invalid_format for an unknown tier and storage errors.
func (s *Server) Bootstrap(ctx context.Context, name string, tier spotzee.Tier) (keys.Bootstrapped, error) {
	return s.svc.Bootstrap(ctx, name, tier)
}

// Bootstrapped is a new organisation with its owner key, and its first
// project with the project's system key and first admin key.
type Bootstrapped struct {
	keys.Bootstrapped
	Organization spotzee.Organization
	Owner        orgs.Created
}

// BootstrapOrganization creates an organisation with slug username and an
// owner organisation key, and its first project named project on tier with
// its system key and an admin secret key; both key values are returned once.
// It returns parameter errors for a bad username or tier,
// resource_already_exists for a taken username, and storage errors.
func (s *Server) BootstrapOrganization(ctx context.Context, username, project string, tier spotzee.Tier) (Bootstrapped, error) {
	if !tier.Valid() {
		return Bootstrapped{}, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "tier", "Unknown tier %q.", tier)
	}
	o, err := s.orgs.CreateOrganization(ctx, username, nil)
	if err != nil {
		return Bootstrapped{}, err
	}
	owner, err := s.orgs.AddKey(ctx, o.ID, orgs.KeyInput{Name: "Bootstrap owner key", Role: spotzee.OrgRoleOwner})
	if err != nil {
		return Bootstrapped{}, err
	}
	p, err := s.db.CreateOrgProject(ctx, 0, spotzee.NewOrgProject{OrganizationID: o.ID, Name: project, Tier: tier,
		ProjectSettings: spotzee.ProjectSettings{Locale: "en", Timezone: "UTC"}, CreatedAt: s.svc.Now()}, nil)
	if err != nil {
		return Bootstrapped{}, fmt.Errorf("refserver: create project: %w", err)
	}
	b, err := s.svc.Provision(ctx, p)
	if err != nil {
		return Bootstrapped{}, err
	}
	return Bootstrapped{Bootstrapped: b, Organization: o, Owner: owner}, nil
}

// RecoverAdmin creates a new admin secret key in the existing project
// projectID and returns it with its value once: the operator's recovery when
// a project has lost its admin keys, and the way to mint the first key of a
// project created through the admin surface (Spotzee documents no operation
// that does). It returns a resource_missing error for an unknown project and
// storage errors.
func (s *Server) RecoverAdmin(ctx context.Context, projectID int64) (keys.Created, error) {
	return s.svc.RecoverAdmin(ctx, projectID)
}

// BootstrapIfEmpty, when the database has no project yet, creates
// organisation 1 ("default") with an owner key and its project 1 with an
// admin key (see BootstrapOrganization); it reports false (and a zero
// value) when a project exists, and returns storage errors.
// With PostgreSQL, replicas starting together bootstrap it once (under an
// advisory lock).
func (s *Server) BootstrapIfEmpty(ctx context.Context) (b Bootstrapped, created bool, err error) {
	if pg := s.Postgres(); pg != nil {
		err = pg.Exclusive(ctx, func() error {
			b, created, err = s.bootstrapIfEmpty(ctx)
			return err
		})
		return b, created, err
	}
	return s.bootstrapIfEmpty(ctx)
}

func (s *Server) bootstrapIfEmpty(ctx context.Context) (Bootstrapped, bool, error) {
	_, err := s.db.Project(ctx, 1)
	switch code := spotzee.ErrorCode(err); {
	case err == nil:
		return Bootstrapped{}, false, nil
	case code != spotzee.CodeResourceMissing:
		return Bootstrapped{}, false, err
	}
	b, err := s.BootstrapOrganization(ctx, "default", "Default project", spotzee.TierStarter)
	if err != nil {
		return Bootstrapped{}, false, err
	}
	if b.Project.ID != 1 || b.Organization.ID != 1 {
		return b, true, errors.New("refserver: bootstrap did not create organisation 1 and project 1")
	}
	return b, true, nil
}
