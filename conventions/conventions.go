package conventions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/internal/ulid"
	"github.com/spotzeekit/spotzee-keys/problem"
)

// CurrentVersion is the API release served when a request names none.
const CurrentVersion = spotzee.CurrentVersion

// VersionHeader is the request and response header of the API version.
const VersionHeader = "Spotzee-Version"

// Config configures Middleware. The zero value serves CurrentVersion only
// and logs to slog.Default.
type Config struct {
	// Versions lists the releases accepted; nil means just CurrentVersion.
	// The first is the default for requests that name none.
	Versions []string
	// AcceptAnyVersion accepts and echoes any well-formed date, as Spotzee's
	// production does while version validation rolls out.
	AcceptAnyVersion bool
	// Logger receives errors and recovered panics; nil is slog.Default().
	Logger *slog.Logger
	// AccessLog logs one line per request at Info when set.
	AccessLog bool
}

// NewRequestID returns a new request id, `req_` followed by a ULID.
func NewRequestID() string { return "req_" + ulid.Make(time.Now()) }

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// CheckVersion returns the version the request header h asks for: the
// default (versions[0], or CurrentVersion when versions is empty) when it
// names none. It returns that default and a 400 parameter_invalid_format
// error when the header is repeated or not a YYYY-MM-DD date, and a 400
// version_unsupported error for a date not in versions (unless anyDate).
func CheckVersion(h http.Header, versions []string, anyDate bool) (string, error) {
	def := CurrentVersion
	if len(versions) > 0 {
		def = versions[0]
	}
	values := h.Values(VersionHeader)
	if len(values) == 0 {
		return def, nil
	}
	v := values[0]
	if _, err := time.Parse(time.DateOnly, v); err != nil || !datePattern.MatchString(v) || len(values) > 1 {
		return def, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, VersionHeader,
			"Spotzee-Version must be one date, YYYY-MM-DD.")
	}
	if anyDate {
		return v, nil
	}
	for _, known := range append([]string{def}, versions...) {
		if v == known {
			return v, nil
		}
	}
	return def, spotzee.ParamErrorf(spotzee.CodeVersionUnsupported, VersionHeader,
		"Spotzee-Version %s is not a release of this API; the current release is %s.", v, def)
}

// Middleware returns the conventions layer of cfg (see the package doc).
func Middleware(cfg Config) func(http.Handler) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := NewRequestID()
			version, verr := CheckVersion(r.Header, cfg.Versions, cfg.AcceptAnyVersion)
			w := &stampWriter{ResponseWriter: rw, requestID: id, version: version}
			w.Header().Set(problem.RequestIDHeader, id)
			w.Header().Set(VersionHeader, version)
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic serving request", slog.String("request_id", id),
						slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
					if !w.wroteHeader {
						clear(w.Header())
						w.Header().Set(problem.RequestIDHeader, id)
						w.Header().Set(VersionHeader, version)
						problem.Write(w, spotzee.Errorf(spotzee.CodeInternalError, "An unexpected error occurred."))
					}
				}
				if cfg.AccessLog {
					log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", id),
						slog.String("method", r.Method), slog.String("path", r.URL.Path),
						slog.Int("status", w.status), slog.Duration("duration", time.Since(start)))
				}
			}()
			if verr != nil {
				problem.Write(w, verr)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// stampWriter stamps the convention headers when the status is written and
// turns a router's plain-text 404 or 405 into problem+json.
type stampWriter struct {
	http.ResponseWriter
	requestID, version string
	status             int
	wroteHeader        bool
	// swallow drops the body of a rewritten router error.
	swallow bool
}

func (w *stampWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	h := w.Header()
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		w.wroteHeader, w.swallow = true, true
		e := spotzee.Errorf(spotzee.CodeResourceMissing, "No such path.")
		if status == http.StatusMethodNotAllowed {
			e = spotzee.Errorf(spotzee.CodeResourceMissing, "The method is not allowed on this path.")
			e.Status = http.StatusMethodNotAllowed
		}
		h.Del("Content-Length")
		h.Set(problem.RequestIDHeader, w.requestID)
		h.Set(VersionHeader, w.version)
		w.status = e.HTTPStatus()
		problem.Write(w.ResponseWriter, e)
		return
	}
	w.wroteHeader, w.status = true, status
	if h.Get(problem.RequestIDHeader) == "" {
		h.Set(problem.RequestIDHeader, w.requestID)
	}
	if h.Get(VersionHeader) == "" {
		h.Set(VersionHeader, w.version)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *stampWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *stampWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// httpStatuser is an error that names its own HTTP status, such as
// server.NotImplementedError (501).
type httpStatuser interface{ HTTPStatus() int }

// WriteError writes err as problem+json: a *spotzee.Error with its code and
// status, an error with an HTTPStatus method (server.NotImplementedError)
// with that status, anything else as 500 internal_error with a generic
// message (err is logged, never sent). It never fails.
func WriteError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	var e *spotzee.Error
	if errors.As(err, &e) {
		problem.Write(w, err)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away: nobody reads the answer.
		problem.Write(w, spotzee.Errorf(spotzee.CodeInternalError, "The request was cancelled."))
		return
	}
	var hs httpStatuser
	if errors.As(err, &hs) && hs.HTTPStatus() == http.StatusNotImplemented {
		ne := spotzee.Errorf(spotzee.CodeInternalError, "This operation is not implemented by this server.")
		ne.Status = http.StatusNotImplemented
		problem.Write(w, ne)
		return
	}
	if log == nil {
		log = slog.Default()
	}
	log.ErrorContext(r.Context(), "request failed", slog.String("request_id", w.Header().Get(problem.RequestIDHeader)),
		slog.String("error", err.Error()))
	problem.Write(w, spotzee.Errorf(spotzee.CodeInternalError, "An unexpected error occurred."))
}
