package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/orgs"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
)

// TierSource returns a project's rate-limit tier.
type TierSource interface {
	Project(ctx context.Context, id int64) (spotzee.Project, error)
}

// OrgTier is the rate-limit tier of every organisation key: organisations
// have no tier of their own in Spotzee's docs, so the reference server
// gives their keys the narrowest, Starter.
const OrgTier = spotzee.TierStarter

// authenticator checks a bearer token for the validator: the client address
// must not be throttled for failed authentications (429); on the client
// surface the key must be a live secret key, on the admin surface a live
// organisation key (401 otherwise); the key must be within its rate limit
// (429) and have the role the operation needs (403). It records the caller
// and the rate decision in the request state.
type authenticator struct {
	svc      *keys.Service
	orgs     OrgService
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
	var (
		err      error
		tier     = ratelimit.Tier(OrgTier)
		tierRead bool
	)
	if strings.HasPrefix(st.path, AdminPrefix+"/") {
		st.admin = true
		if a.orgs == nil {
			err = spotzee.Errorf(spotzee.CodeAuthenticationRequired, "This server has no admin surface.")
		} else {
			st.org, err = a.orgs.Authenticate(ctx, token)
		}
	} else if id, ck, ok := a.getKeyRead(st); ok {
		// GET /keys/{id}: the bearer key, its tier and the key in one read.
		var got spotzee.CallerAndKey
		if got, err = a.svc.AuthenticateAndGet(ctx, token, ck, id); err == nil {
			st.caller, st.got, st.gotID = got.Caller, &got, id
			tier, tierRead = ratelimit.Tier(got.Tier), true
		}
	} else if kt, ok := a.tiers.(keys.KeyTierReader); ok && a.limiter != nil {
		// One read for the bearer key and its project's tier.
		var t spotzee.Tier
		st.caller, t, err = a.svc.AuthenticateTier(ctx, token, kt)
		tier, tierRead = ratelimit.Tier(t), true
	} else {
		st.caller, err = a.svc.Authenticate(ctx, token)
	}
	if err != nil {
		if spotzee.ErrorCode(err) == spotzee.CodeAuthenticationRequired {
			a.throttle.fail(st.clientAddr)
		}
		return a.internal(ctx, err)
	}
	st.authenticated = true
	if a.limiter != nil {
		if !st.admin && !tierRead {
			p, err := a.tiers.Project(ctx, st.caller.ProjectID)
			if err != nil {
				return a.internal(ctx, err)
			}
			tier = ratelimit.Tier(p.Tier)
		}
		st.rate = a.limiter.Allow(st.principal(), tier, ratelimit.BucketFor(st.method), st.clientType == "mcp")
		st.rated = true
		if !st.rate.Allowed {
			e := spotzee.Errorf(spotzee.CodeRateLimited,
				"This API key sent more requests than its %s tier allows; retry after %d s.", st.rate.Tier, st.rate.RetryAfterSeconds())
			e.RetryAfter = st.rate.RetryAfterSeconds()
			return e
		}
	}
	if st.admin {
		return orgs.Authorize(st.org, adminRoleFor(st.method, strings.TrimPrefix(st.path, AdminPrefix)))
	}
	if strings.TrimPrefix(st.path, APIPrefix) == "/me" {
		return nil // GET /me: any secret key, whatever its role
	}
	return keys.Authorize(st.caller)
}

// getKeyRead returns the key id of a GET /keys/{id} request and the store
// to read it with the bearer key through, when Tiers is one
// (keys.CallerAndKeyReader); ok is false for any other request.
func (a *authenticator) getKeyRead(st *state) (id int64, r keys.CallerAndKeyReader, ok bool) {
	if st.method != http.MethodGet {
		return 0, nil, false
	}
	rest, found := strings.CutPrefix(st.path, APIPrefix+"/keys/")
	if !found || rest == "" || len(rest) > 18 {
		return 0, nil, false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0, nil, false
		}
	}
	if r, ok = a.tiers.(keys.CallerAndKeyReader); !ok {
		return 0, nil, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, false
	}
	return id, r, true
}

// adminRoleFor returns the organisation role an admin-surface operation
// needs: any role reads the organisation and lists its projects; managing
// organisation keys and writing projects needs admin.
func adminRoleFor(method, path string) spotzee.OrgRole {
	switch {
	case path == "/organizations/me":
		return spotzee.OrgRoleMember
	case strings.HasPrefix(path, "/projects") && method == http.MethodGet:
		return spotzee.OrgRoleMember
	}
	return spotzee.OrgRoleAdmin
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
