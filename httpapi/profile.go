package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/problem"
)

// Profile names which of Spotzee's documented conventions the server
// enforces: the ones live today, or all of them as after the documented
// rollout. Both enforce the per-IP edge limits when they are configured.
type Profile string

const (
	// ProfileRollout enforces everything Spotzee documents: Idempotency-Key
	// replays, Spotzee-Version validation (an unknown date is
	// 400 version_unsupported) and per-key rate limits with X-RateLimit-*
	// headers and the mcp doubling. It is the default.
	ProfileRollout Profile = "rollout"
	// ProfileCurrent is Spotzee's production as documented today:
	// Idempotency-Key is accepted and ignored (even when empty or
	// over-long, so a retried create creates twice), any well-formed
	// Spotzee-Version date is accepted and echoed (a value that is not
	// YYYY-MM-DD is still 400 parameter_invalid_format: the header's
	// pattern is in the contract), and there are no per-key rate limits and
	// no X-RateLimit-* headers.
	ProfileCurrent Profile = "current"
)

// ParseProfile returns the profile named s ("" means ProfileRollout), or an
// error naming the valid values.
func ParseProfile(s string) (Profile, error) {
	switch Profile(s) {
	case "", ProfileRollout:
		return ProfileRollout, nil
	case ProfileCurrent:
		return ProfileCurrent, nil
	}
	return "", fmt.Errorf("httpapi: unknown profile %q: want %q or %q", s, ProfileRollout, ProfileCurrent)
}

// rollout reports whether p enforces the rolling-out conventions.
func (p Profile) rollout() bool { return p != ProfileCurrent }

// middleware is one layer of the request pipeline.
type middleware func(http.Handler) http.Handler

// chain wraps h in layers, the first outermost.
func chain(h http.Handler, layers ...middleware) http.Handler {
	for i := len(layers) - 1; i >= 0; i-- {
		h = layers[i](h)
	}
	return h
}

// edgeLimits refuses a request over its client IP's edge budget with
// Spotzee's edge 429: rate_limited, Retry-After, and no request_id in the
// body. Every request counts, whatever comes after. A nil limiter passes
// everything.
func edgeLimits(l *edgelimit.Limiter) middleware {
	return func(next http.Handler) http.Handler {
		if l == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := l.Allow(l.ClientIP(r), r.URL.Path)
			if !d.Allowed {
				stateFrom(r.Context()).edgeLimited = true
				secs := d.RetryAfterSeconds()
				e := spotzee.Errorf(spotzee.CodeRateLimited,
					"Too many requests from this IP address (%s allows %s per %s); retry after %d s.",
					d.Rule.Prefix+"*", strconv.Itoa(d.Rule.Limit), d.Rule.Window, secs)
				e.RetryAfter = secs
				problem.WriteEdge(w, e)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// profileConventions applies the version rules of p, and under
// ProfileCurrent drops the Idempotency-Key header so that nothing below
// (validation included) sees it.
func profileConventions(p Profile) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := stateFrom(r.Context())
			version, err := checkVersion(r.Header, p)
			st.version = version
			setOnce(w.Header(), "Spotzee-Version", version)
			if err != nil {
				problem.Write(w, err)
				return
			}
			if !p.rollout() && len(r.Header.Values("Idempotency-Key")) > 0 {
				r = r.WithContext(r.Context())
				r.Header = r.Header.Clone()
				r.Header.Del("Idempotency-Key")
			}
			next.ServeHTTP(w, r)
		})
	}
}
