package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/conventions"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/problem"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/server"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// APIPrefix is where the API is mounted, as on the real service.
const APIPrefix = "/api/client"

// Config is what NewHandler assembles.
type Config struct {
	// Service is the keys domain logic (required).
	Service *keys.Service
	// Orgs is the organisation domain logic behind the admin surface
	// (AdminPrefix); nil answers every admin request 401.
	Orgs OrgService
	// Profile is the behaviour profile ("" means ProfileRollout). Under
	// ProfileCurrent, Limiter and Idempotency are not used.
	Profile Profile
	// Edge enforces the per-IP edge limits, in every profile; nil turns
	// them off.
	Edge *edgelimit.Limiter
	// Tiers looks up a project's rate-limit tier (required with Limiter).
	// When it is also a keys.KeyTierReader (the SQLite and PostgreSQL
	// stores), a rate-limited request reads its bearer key and the tier in
	// one statement through it, so it must be the Service's own store.
	Tiers TierSource
	// Limiter enforces per-key rate limits; nil turns them off.
	Limiter *ratelimit.Limiter
	// Idempotency keeps idempotency records; nil ignores Idempotency-Key.
	Idempotency spotzee.IdempotencyStore
	// IdempotencySecret is the 32-byte AES-256 key cached responses are
	// encrypted with (required with Idempotency).
	IdempotencySecret []byte
	// ValidateResponses validates every response against the spec too.
	ValidateResponses bool
	// OnResponseViolation is called with each response violation.
	OnResponseViolation func(*http.Request, *validate.ResponseViolation)
	// MaxBodyBytes caps request bodies (default: the reference profile's 64 KiB).
	MaxBodyBytes int64
	// Logger receives access and error logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for idempotency expiry and the authentication
	// throttle (default time.Now).
	Now func() time.Time
	// AuthFailures is how many failed authentications (unknown, revoked or
	// non-secret keys) one client address may make per AuthFailureWindow
	// before its requests are refused with 429 until the window ends; 0 or
	// less turns the throttle off (the default, so that tests sending bad
	// keys on purpose are not throttled; `serve` turns it on).
	AuthFailures int
	// AuthFailureWindow is the throttle's window (default
	// DefaultAuthFailureWindow).
	AuthFailureWindow time.Duration
}

// NewHandler returns the whole reference server: the client surface under
// APIPrefix and the admin surface under AdminPrefix, the spec at /api/openapi.yaml and /api/openapi.json, and /healthz. Every
// error it answers is problem+json. It returns an error when the
// configuration is incomplete, the profile is unknown or the spec does not
// load.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("httpapi: Config.Service is required")
	}
	profile, err := ParseProfile(string(cfg.Profile))
	if err != nil {
		return nil, err
	}
	if !profile.rollout() {
		cfg.Limiter, cfg.Idempotency = nil, nil
	}
	if cfg.Limiter != nil && cfg.Tiers == nil {
		return nil, errors.New("httpapi: Config.Tiers is required with a Limiter")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	auth := &authenticator{svc: cfg.Service, orgs: cfg.Orgs, limiter: cfg.Limiter, tiers: cfg.Tiers, log: log,
		throttle: newAuthThrottle(cfg.AuthFailures, cfg.AuthFailureWindow, now)}
	vopts := []validate.Option{validate.WithReferenceProfile(), validate.WithAuthenticator(auth.check)}
	if cfg.MaxBodyBytes > 0 {
		vopts = append(vopts, validate.WithMaxBodyBytes(cfg.MaxBodyBytes))
	}
	v, err := validate.New(vopts...)
	if err != nil {
		return nil, err
	}

	onError := func(w http.ResponseWriter, r *http.Request, err error) {
		if spotzee.ErrorCode(err) == spotzee.CodeInternalError {
			logFault(r.Context(), log, "request failed", err)
		}
		problem.Write(w, err)
	}
	// Binding errors are mapped as for any embedder (package conventions).
	onBadRequest := func(w http.ResponseWriter, _ *http.Request, err error) {
		problem.Write(w, conventions.BindingError(err))
	}
	strict := server.NewStrictHandlerWithOptions(NewServer(cfg.Service, cfg.Orgs), nil, server.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  onBadRequest,
		ResponseErrorHandlerFunc: onError,
	})
	// The generated router registers every path under one BaseURL: it is
	// mounted once per surface, and the validator in front lets each path
	// reach only its own surface (the spec's per-path servers).
	surfaces := http.NewServeMux()
	for _, prefix := range []string{APIPrefix, AdminPrefix} {
		surfaces.Handle(prefix+"/", server.HandlerWithOptions(strict, server.StdHTTPServerOptions{
			BaseURL:          prefix,
			ErrorHandlerFunc: onBadRequest,
		}))
	}
	var api http.Handler = surfaces
	if cfg.Idempotency != nil {
		s, err := newSealer(cfg.IdempotencySecret)
		if err != nil {
			return nil, err
		}
		api = &idempotency{store: cfg.Idempotency, sealer: s, now: now, log: log, next: api}
	}
	mopts := []validate.MiddlewareOption{validate.WithLogger(log)}
	if cfg.ValidateResponses {
		mopts = append(mopts, validate.ValidateResponses())
	}
	if cfg.OnResponseViolation != nil {
		mopts = append(mopts, validate.OnResponseViolation(cfg.OnResponseViolation))
	}
	api = v.Middleware(mopts...)(api)

	mux := http.NewServeMux()
	mux.Handle(APIPrefix+"/", api)
	mux.Handle(AdminPrefix+"/", api)
	mux.HandleFunc("/api/openapi.yaml", getOnly(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(spotzee.OpenAPISpec)
	}))
	mux.HandleFunc("/api/openapi.json", getOnly(func(w http.ResponseWriter, r *http.Request) {
		data, err := specJSON()
		if err != nil {
			onError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	}))
	mux.HandleFunc("/healthz", getOnly(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}))
	mux.HandleFunc("/", notFound)

	// The request pipeline, outermost first; the one place its order is
	// written (the README's "check order" follows it):
	//  1. outerConventions: request id, access log, panic recovery;
	//  2. the per-IP edge limits (429 without request_id), before anything
	//     else looks at the request, as Spotzee's edge does;
	//  3. the profile's conventions: Spotzee-Version (400), and under
	//     ProfileCurrent the Idempotency-Key dropped;
	//  4. canonical paths and routes (404/405);
	//  5. under APIPrefix and AdminPrefix, v.Middleware: body size and encoding (400),
	//     authentication (401), per-key rate limit (429), role (403),
	//     parameters and body (400/422); then idempotency and the handlers.
	return chain(mux,
		outerConventions(log),
		edgeLimits(cfg.Edge),
		profileConventions(profile),
		canonicalPaths,
	), nil
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	problem.Write(w, spotzee.Errorf(spotzee.CodeResourceMissing, "No such path; the API is under %s and %s.", APIPrefix, AdminPrefix))
}

// canonicalPaths answers a path that is not in canonical form (a trailing
// slash, an empty, "." or ".." segment, an encoded slash, or the bare API
// prefix) with a 404 problem. The API has no such paths, and without this
// http.ServeMux would answer them with a text/html redirect, and the
// generated router (which is stricter than the validator's about trailing
// slashes, and routes on the escaped path where the validator routes on the
// decoded one: /keys%2F1 is /keys/1 to one and no route to the other) with
// a text/plain 404.
func canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != path.Clean(p) || p == APIPrefix || p == AdminPrefix ||
			strings.Contains(strings.ToUpper(r.URL.EscapedPath()), "%2F") {
			notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// getOnly answers methods other than GET and HEAD with a 405 problem.
func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			e := spotzee.Errorf(spotzee.CodeResourceMissing, "Only GET is allowed on this path.")
			e.Status = http.StatusMethodNotAllowed
			problem.Write(w, e)
			return
		}
		h(w, r)
	}
}

// specJSON renders the embedded spec as JSON, once.
var specJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spotzee.OpenAPISpec)
	if err != nil {
		return nil, fmt.Errorf("httpapi: load spec: %w", err)
	}
	return json.Marshal(doc)
})
