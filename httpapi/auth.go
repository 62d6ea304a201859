package httpapi

import (
	"context"
	"log/slog"
	"math"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
)

// TierSource returns a project's rate-limit tier.
type TierSource interface {
	Project(ctx context.Context, id int64) (spotzee.Project, error)
}

// authenticator checks a bearer token for the validator: the client address
// must not be throttled for failed authentications (429), the key must be a
// live secret key (401 otherwise) with the admin role (403), and within its
// rate limit (429). It records the caller and the rate decision in the
// request state.
type authenticator struct {
	svc      *keys.Service
	limiter  *ratelimit.Limiter
	tiers    TierSource
	log      *slog.Logger
	throttle *authThrottle
}

func (a *authenticator) check(ctx context.Context, token string) error {
	st := stateFrom(ctx)
	if wait := a.throttle.blocked(st.clientAddr); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		e := spotzee.Errorf(spotzee.CodeRateLimited,
			"Too many failed authentications from this address; retry after %d s.", secs)
		e.RetryAfter = secs
		return e
	}
	key, err := a.svc.Authenticate(ctx, token)
	if err != nil {
		if spotzee.ErrorCode(err) == spotzee.CodeAuthenticationRequired {
			a.throttle.fail(st.clientAddr)
		}
		return a.internal(ctx, err)
	}
	st.caller, st.authenticated = key, true
	if a.limiter != nil {
		tier := ratelimit.Tier(spotzee.TierStarter)
		if p, err := a.tiers.Project(ctx, key.ProjectID); err == nil {
			tier = ratelimit.Tier(p.Tier)
		} else {
			return a.internal(ctx, err)
		}
		st.rate = a.limiter.Allow(key.ID, tier, ratelimit.BucketFor(st.method), st.clientType == "mcp")
		st.rated = true
		if !st.rate.Allowed {
			e := spotzee.Errorf(spotzee.CodeRateLimited,
				"This API key sent more requests than its %s tier allows; retry after %d s.", st.rate.Tier, st.rate.RetryAfterSeconds())
			e.RetryAfter = st.rate.RetryAfterSeconds()
			return e
		}
	}
	return keys.Authorize(key)
}

// internal keeps catalogue errors and turns storage faults into a logged
// internal_error, so a fault is never reported as a bad key.
func (a *authenticator) internal(ctx context.Context, err error) error {
	if code := spotzee.ErrorCode(err); code != spotzee.CodeInternalError {
		return err
	}
	logFault(ctx, a.log, "authentication failed", err)
	return spotzee.Errorf(spotzee.CodeInternalError, "An unexpected error occurred.")
}
