package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/conventions"
	"github.com/spotzeekit/spotzee-keys/problem"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
)

// CurrentVersion is the API release served when a request names none.
const CurrentVersion = conventions.CurrentVersion

// KnownVersions lists the API releases this server accepts.
var KnownVersions = map[string]bool{CurrentVersion: true}

// ClientTypes lists the recognised x-spotzee-client-type values; anything
// else counts as "unknown".
var ClientTypes = map[string]bool{
	"mcp": true, "mobile": true, "sdk-js": true, "sdk-android": true, "sdk-ios": true, "cli": true, "unknown": true,
}

// state is what the middleware learns about a request, shared through its
// context with the layers below.
type state struct {
	requestID  string
	version    string
	clientType string
	clientAddr string
	method     string
	path       string
	caller     spotzee.APIKey
	// org is the calling organisation key on the admin surface (admin set).
	org   spotzee.OrgKey
	admin bool
	// authenticated is set once caller (or, on the admin surface, org)
	// holds a live key.
	authenticated bool
	rate          ratelimit.Decision
	rated         bool
	// got, when set, is GET /keys/{id}'s key read by the authenticator in
	// the bearer lookup's statement (keys.Service.AuthenticateAndGet), for
	// the key id gotID.
	got   *spotzee.CallerAndKey
	gotID int64
	// replayOf, when set, is the request id of the response being replayed.
	replayOf string
	// edgeLimited is set when the edge limits refused the request.
	edgeLimited bool
	// idem is the running idempotency record of the request, if any.
	idem *idemRun
}

// principal returns the id idempotency records and rate-limit buckets of
// the caller are kept under: a project key's id, or an organisation key's id
// negated (sqlite.OrgIdempotencyID), so that a project key and an
// organisation key with the same id never share either.
func (st *state) principal() int64 {
	if st.admin {
		return -st.org.ID
	}
	return st.caller.ID
}

type stateKey struct{}

// stateFrom returns the request state; a zero state when the request did not
// pass through the conventions middleware.
func stateFrom(ctx context.Context) *state {
	if st, ok := ctx.Value(stateKey{}).(*state); ok {
		return st
	}
	return &state{version: CurrentVersion}
}

// RequestID returns the request id of ctx, "" outside a request.
func RequestID(ctx context.Context) string { return stateFrom(ctx).requestID }

// ClientType returns the recognised x-spotzee-client-type of a header value.
func ClientType(header string) string {
	if ClientTypes[header] {
		return header
	}
	return "unknown"
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// checkVersion returns the version a request asks for, or the catalogue
// error for a value that is not one date (both profiles) or, under
// ProfileRollout, not a release. Under ProfileCurrent an unknown date is
// accepted and served (and echoed) as asked.
func checkVersion(h http.Header, p Profile) (string, error) {
	// The check embedders get from package conventions, so the two cannot
	// drift: the releases are KnownVersions, the current one first.
	versions := []string{CurrentVersion}
	for v := range KnownVersions {
		if v != CurrentVersion {
			versions = append(versions, v)
		}
	}
	return conventions.CheckVersion(h, versions, !p.rollout())
}

// stampWriter sets the convention headers at the moment the status is
// written, so they hold whatever layer below writes the response, and
// records the status for the access log.
type stampWriter struct {
	http.ResponseWriter
	st *state
	// ctx is the request's context: once its client has gone, a 500 is not
	// answered but logged as 499 (see StatusClientClosedRequest).
	ctx         context.Context
	status      int
	wroteHeader bool
	// dropped is set when the response is not sent: the client closed the
	// request.
	dropped bool
	bytes   int
}

// StatusClientClosedRequest is the status the access log records for a
// request whose client went away (its context cancelled) before the answer:
// nginx's 499. It is never sent; a failure it caused is not a 500.
const StatusClientClosedRequest = 499

// clientGone reports whether the client of the request of ctx has closed it.
func clientGone(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

// logFault logs a fault serving the request of ctx at error level, or, when
// the client has closed the request (which is then most likely the cause),
// at info level as "client closed request".
func logFault(ctx context.Context, log *slog.Logger, msg string, err error) {
	if clientGone(ctx) {
		log.InfoContext(ctx, msg+": client closed request", slog.String("request_id", RequestID(ctx)),
			slog.Int("status", StatusClientClosedRequest), slog.String("error", err.Error()))
		return
	}
	log.ErrorContext(ctx, msg, slog.String("request_id", RequestID(ctx)), slog.String("error", err.Error()))
}

func (w *stampWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	if status == http.StatusInternalServerError && w.ctx != nil && clientGone(w.ctx) {
		// Nobody is there to read it, and it is no server fault.
		w.wroteHeader, w.dropped, w.status = true, true, StatusClientClosedRequest
		return
	}
	w.wroteHeader, w.status = true, status
	h := w.Header()
	id := w.st.requestID
	if w.st.replayOf != "" {
		id = w.st.replayOf
	}
	setOnce(h, problem.RequestIDHeader, id)
	setOnce(h, "Spotzee-Version", w.st.version)
	if w.st.method == http.MethodPost && status/100 == 2 {
		// The API's only successful POST is a create, whose body (first
		// answer and idempotent replay alike) holds the full key value: no
		// cache, shared or private, may keep it.
		h.Set("Cache-Control", "no-store")
	}
	if w.st.rated && w.st.rate.Enforced {
		// The header keys in their canonical form (Set would canonicalise
		// "X-RateLimit-…" into a new string on every response), the four
		// values in one slice and the three numbers in one string.
		var buf [3 * 20]byte
		b := strconv.AppendInt(buf[:0], int64(w.st.rate.Limit), 10)
		n1 := len(b)
		b = strconv.AppendInt(b, int64(w.st.rate.Remaining), 10)
		n2 := len(b)
		b = strconv.AppendInt(b, int64(w.st.rate.ResetSeconds()), 10)
		nums := string(b)
		v := make([]string, 4)
		v[0], v[1], v[2], v[3] = nums[:n1], nums[n1:n2], nums[n2:], string(w.st.rate.Tier)
		h[rateLimitLimit], h[rateLimitRemaining] = v[0:1:1], v[1:2:2]
		h[rateLimitReset], h[rateLimitTier] = v[2:3:3], v[3:4:4]
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *stampWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.dropped {
		return len(p), nil
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += n
	return n, err
}

// The rate-limit headers' keys, canonical (textproto.CanonicalMIMEHeaderKey
// of X-RateLimit-Limit and the others).
var (
	rateLimitLimit     = http.CanonicalHeaderKey("X-RateLimit-Limit")
	rateLimitRemaining = http.CanonicalHeaderKey("X-RateLimit-Remaining")
	rateLimitReset     = http.CanonicalHeaderKey("X-RateLimit-Reset")
	rateLimitTier      = http.CanonicalHeaderKey("X-RateLimit-Tier")
)

// setOnce sets the canonical header key to value unless it holds exactly
// that already (set when the request came in, for writers that bypass
// WriteHeader), sparing a slice per response.
func setOnce(h http.Header, key, value string) {
	if v := h[key]; len(v) == 1 && v[0] == value {
		return
	}
	h[key] = []string{value}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *stampWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outerConventions is the outermost layer: request id, panic recovery and the
// access log. Every response carries X-Request-Id and Spotzee-Version (the
// current release until profileConventions reads the request's).
func outerConventions(log *slog.Logger) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			start := time.Now()
			st := &state{
				requestID:  conventions.NewRequestID(),
				version:    CurrentVersion,
				clientType: ClientType(r.Header.Get("x-spotzee-client-type")),
				clientAddr: clientAddr(r.RemoteAddr),
				method:     r.Method,
				path:       r.URL.Path,
			}
			w := &stampWriter{ResponseWriter: rw, st: st, ctx: r.Context()}
			w.Header().Set(problem.RequestIDHeader, st.requestID)
			w.Header().Set("Spotzee-Version", st.version)
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic serving request",
						slog.String("request_id", st.requestID), slog.String("panic", fmt.Sprint(p)),
						slog.String("stack", string(debug.Stack())))
					if !w.wroteHeader {
						clear(w.Header())
						w.Header().Set(problem.RequestIDHeader, st.requestID)
						problem.Write(w, spotzee.Errorf(spotzee.CodeInternalError, "An unexpected error occurred."))
					}
				}
				ctx := r.Context()
				if !log.Enabled(ctx, slog.LevelInfo) {
					return // no access log: build no attributes
				}
				// Room for every attribute below, on the stack: the access
				// log allocates no slice of its own.
				var buf [12]slog.Attr
				attrs := append(buf[:0],
					slog.String("request_id", st.requestID),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", w.status),
					slog.Int("bytes", w.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("client_type", st.clientType),
				)
				switch {
				case st.authenticated && st.admin:
					attrs = append(attrs, slog.Int64("org_key_id", st.org.ID), slog.Int64("organization_id", st.org.OrganizationID))
				case st.authenticated:
					attrs = append(attrs, slog.Int64("api_key_id", st.caller.ID), slog.Int64("project_id", st.caller.ProjectID))
				}
				if st.replayOf != "" {
					attrs = append(attrs, slog.String("replay_of", st.replayOf))
				}
				if st.edgeLimited {
					attrs = append(attrs, slog.Bool("edge_limited", true))
				}
				if w.dropped {
					attrs = append(attrs, slog.String("note", "client closed request"))
				}
				log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
			}()
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
		})
	}
}
