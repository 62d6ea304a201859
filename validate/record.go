package validate

import (
	"bufio"
	"net"
	"net/http"
)

// Recorder is told of every response matched to an operation of the spec:
// its operationId and HTTP status. The coverage package's Recorder
// implements it. Implementations must be safe for concurrent use.
type Recorder interface {
	Record(operationID string, status int)
}

// WithRecorder makes a Transport tell r the operation and status of every
// response it receives to a request matched to an operation, whether the
// response validates or not. Requests the Transport refuses, and requests
// that match no operation, are not recorded.
func WithRecorder(r Recorder) TransportOption { return func(t *Transport) { t.rec = r } }

// RecordTo makes Middleware tell r the operation and status of every
// response it sends to a request matched to an operation, its own 400/401
// answers to bad requests included. Requests to unknown paths or methods
// are not recorded.
func RecordTo(r Recorder) MiddlewareOption { return func(m *middleware) { m.rec = r } }

// Observer returns net/http middleware that validates nothing and only
// tells r the operation and status of every response to a request matched
// to an operation (requests matching none are not recorded). It suits a
// handler that validates for itself, such as the reference server.
func (v *Validator) Observer(r Recorder) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			opID := v.operationID(req)
			if opID == "" {
				next.ServeHTTP(w, req)
				return
			}
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					sw.record(r, opID, p)
					panic(p)
				}
				sw.record(r, opID, nil)
			}()
			next.ServeHTTP(sw, req)
		})
	}
}

// operationID returns the operationId r routes to, or "" when it matches
// no operation.
func (v *Validator) operationID(r *http.Request) string {
	route, _, _, err := v.route(r.Method, r.URL.Path)
	if err != nil {
		return ""
	}
	return route.Operation.OperationID
}

// statusWriter remembers the status a handler writes, and whether it took
// the connection over (no response then). Unwrap lets
// http.ResponseController reach the Flusher and the rest beneath.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

// Hijack implements http.Hijacker over the underlying writer; it returns
// its error when that writer cannot be hijacked.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap returns the underlying ResponseWriter.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// record tells r the outcome of operation opID once its handler returned,
// or panicked with p (nil when it returned). Nothing is recorded when no
// response was sent: the handler took the connection over, or aborted the
// response with http.ErrAbortHandler before writing a status. Any other
// panic before a status was written is recorded as 500, the status the
// server's panic recovery (conventions.Middleware, the reference server)
// answers with; after a status, that status.
func (w *statusWriter) record(r Recorder, opID string, p any) {
	switch {
	case w.hijacked:
		return
	case p == nil:
		r.Record(opID, w.statusCode())
	case w.status != 0:
		r.Record(opID, w.status)
	case p == http.ErrAbortHandler: //nolint:errorlint // net/http compares the panic value the same way
		return
	default:
		r.Record(opID, http.StatusInternalServerError)
	}
}

// statusCode returns the status written, 200 when the handler wrote
// nothing.
func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
