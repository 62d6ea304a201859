// Package problem renders catalogue errors as RFC 7807
// application/problem+json bodies, the shape of every non-2xx response.
package problem

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// RequestIDHeader is the response header that carries the request id.
const RequestIDHeader = "X-Request-Id"

// MaxFieldErrors caps a problem's errors[]: a request with thousands of bad
// fields gets the first MaxFieldErrors of them, and a message that says so,
// rather than an error body many times the size of the request.
const MaxFieldErrors = 20

// FieldError is one entry of a problem's errors[].
type FieldError struct {
	Param   string       `json:"param"`
	Code    spotzee.Code `json:"code"`
	Message string       `json:"message"`
}

// Body is the error envelope of the spec's ErrorResponse schema, as the
// reference server always sends it: Error mirrors Message (Spotzee's legacy
// field), and Title and Type are always set; RequestID is set on every error
// but the edge's 429 (WriteEdge), as Spotzee's docs show it.
type Body struct {
	Status    string       `json:"status"`
	Code      spotzee.Code `json:"code"`
	Title     string       `json:"title"`
	Message   string       `json:"message"`
	Error     string       `json:"error"`
	Type      string       `json:"type"`
	RequestID string       `json:"request_id,omitempty"`
	Param     string       `json:"param,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// From builds the envelope of err for the request id, with at most
// MaxFieldErrors errors[] entries. An err that is not an *spotzee.Error
// becomes internal_error with a generic message, so nothing internal leaks
// to the client.
func From(err error, requestID string) Body {
	var e *spotzee.Error
	if !errors.As(err, &e) || !e.Code.Known() {
		e = spotzee.Errorf(spotzee.CodeInternalError, "An unexpected error occurred.")
	}
	body := Body{
		Status:    "error",
		Code:      e.Code,
		Title:     e.Code.Title(),
		Message:   e.Message,
		Type:      e.Code.TypeURL(),
		RequestID: requestID,
		Param:     e.Param,
	}
	if body.Message == "" {
		body.Message = body.Title + "."
	}
	fields := e.Fields
	if len(fields) > MaxFieldErrors {
		body.Message += " errors lists the first " + strconv.Itoa(MaxFieldErrors) + " of " + strconv.Itoa(len(fields)) + "."
		fields = fields[:MaxFieldErrors]
	}
	body.Error = body.Message
	for _, f := range fields {
		body.Errors = append(body.Errors, FieldError(f))
	}
	if e.Code == spotzee.CodeValidationFailed && body.Errors == nil {
		body.Errors = []FieldError{}
	}
	return body
}

// Write renders err on w with its catalogue status. The request id is read
// from the X-Request-Id header already set on w (empty when none is).
// Retry-After is set when err carries one.
func Write(w http.ResponseWriter, err error) {
	write(w, err, w.Header().Get(RequestIDHeader))
}

// WriteEdge renders err as Spotzee's edge answers its per-IP limits: the
// same envelope as Write without request_id in the body (the edge refuses
// the request before the API assigns one), whatever headers w carries.
func WriteEdge(w http.ResponseWriter, err error) {
	write(w, err, "")
}

func write(w http.ResponseWriter, err error, requestID string) {
	body := From(err, requestID)
	h := w.Header()
	status := body.Code.Status()
	var e *spotzee.Error
	if errors.As(err, &e) && e.Code == body.Code {
		status = e.HTTPStatus()
		if e.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
	}
	data, _ := json.Marshal(body) // Body has only strings: Marshal cannot fail
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(data)+1))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
