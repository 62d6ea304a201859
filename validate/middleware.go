package validate

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/internal/ulid"
	"github.com/spotzeekit/spotzee-keys/problem"
)

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middleware)

// ValidateResponses buffers and validates every response too. A response
// that breaks the spec is reported (OnResponseViolation, and an error log)
// and replaced by a 500 internal_error problem: it is never passed on.
func ValidateResponses() MiddlewareOption { return func(m *middleware) { m.responses = true } }

// OnResponseViolation sets a function called with every response violation,
// for example t.Errorf in a test.
func OnResponseViolation(f func(*http.Request, *ResponseViolation)) MiddlewareOption {
	return func(m *middleware) { m.onViolation = f }
}

// WithLogger sets the logger for response violations (default slog.Default()).
func WithLogger(l *slog.Logger) MiddlewareOption { return func(m *middleware) { m.log = l } }

type middleware struct {
	v           *Validator
	next        http.Handler
	responses   bool
	onViolation func(*http.Request, *ResponseViolation)
	log         *slog.Logger
	rec         Recorder
}

// Middleware returns net/http middleware that validates every request and
// answers a bad one with problem+json and its catalogue code; with
// ValidateResponses it validates every response too. It sets X-Request-Id
// (req_ + ULID) on the response when an outer handler has not.
func (v *Validator) Middleware(opts ...MiddlewareOption) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		m := &middleware{v: v, next: next, log: slog.Default()}
		for _, opt := range opts {
			opt(m)
		}
		return m
	}
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.rec != nil {
		if opID := m.v.operationID(r); opID != "" {
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					sw.record(m.rec, opID, p)
					panic(p)
				}
				sw.record(m.rec, opID, nil)
			}()
			w = sw
		}
	}
	if w.Header().Get(problem.RequestIDHeader) == "" {
		w.Header().Set(problem.RequestIDHeader, "req_"+ulid.Make(time.Now()))
	}
	if w.Header().Get("Spotzee-Version") == "" {
		// Without the conventions layer around it, the middleware's own
		// errors still carry the version the contract's reference profile
		// requires: the current release.
		w.Header().Set("Spotzee-Version", spotzee.CurrentVersion)
	}
	ex, err := m.v.CheckRequest(r.Context(), r)
	if err != nil {
		var mna *MethodNotAllowed
		if errors.As(err, &mna) {
			w.Header().Set("Allow", strings.Join(mna.Allow, ", "))
		}
		problem.Write(w, err)
		return
	}
	if !m.responses {
		m.next.ServeHTTP(w, r)
		return
	}
	rec := &recorder{header: w.Header(), status: http.StatusOK}
	m.next.ServeHTTP(rec, r)
	verr := m.v.CheckResponse(r.Context(), ex, rec.status, rec.header, rec.body.Bytes())
	if verr == nil {
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	var violation *ResponseViolation
	errors.As(verr, &violation)
	m.log.ErrorContext(r.Context(), "response breaks the OpenAPI spec",
		slog.String("request_id", w.Header().Get(problem.RequestIDHeader)),
		slog.String("operation", violation.OperationID),
		slog.Int("status", violation.StatusCode),
		slog.String("error", violation.Err.Error()))
	if m.onViolation != nil {
		m.onViolation(r, violation)
	}
	keep := map[string]string{}
	for _, h := range []string{problem.RequestIDHeader, "Spotzee-Version"} {
		keep[h] = w.Header().Get(h)
	}
	clear(w.Header())
	for h, val := range keep {
		if val != "" {
			w.Header().Set(h, val)
		}
	}
	problem.Write(w, spotzee.Errorf(spotzee.CodeInternalError, "The server produced an invalid response."))
}

// recorder buffers a response for validation. It shares its header map with
// the real writer.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.body.Write(p)
}
