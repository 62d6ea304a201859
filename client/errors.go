package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Code is a stable error code from Spotzee's catalogue. Its 20 values are the
// generated [ErrorCode] constants: [ErrorCodeResourceMissing], [ErrorCodeResourceAlreadyExists],
// [ErrorCodeStateConflict], [ErrorCodeParameterMissing], [ErrorCodeParameterInvalidEmpty],
// [ErrorCodeParameterInvalidFormat], [ErrorCodeParameterUnknown], [ErrorCodeValidationFailed],
// [ErrorCodeAuthenticationRequired], [ErrorCodePermissionDenied], [ErrorCodeIdempotencyKeyMismatch],
// [ErrorCodeIdempotencyKeyInvalid], [ErrorCodeIdempotencyInProgress], [ErrorCodeRateLimited],
// [ErrorCodeVersionUnsupported], [ErrorCodeVersionRequired], [ErrorCodeWebhookSignatureInvalid],
// [ErrorCodeQuotaExceeded], [ErrorCodeServiceUnavailable] and [ErrorCodeInternalError].
type Code = ErrorCode

// Sentinels matched by [APIError.Is], so errors.Is(err, ErrNotFound) works on
// any error a call returns. Each matches its codes, or, when the response had
// no code (a non-JSON body from a proxy, say), its HTTP status.
var (
	// ErrNotFound matches resource_missing (404).
	ErrNotFound = errors.New("spotzee: not found")
	// ErrUnauthorized matches authentication_required (401).
	ErrUnauthorized = errors.New("spotzee: authentication required")
	// ErrForbidden matches permission_denied (403).
	ErrForbidden = errors.New("spotzee: permission denied")
	// ErrRateLimited matches rate_limited (429).
	ErrRateLimited = errors.New("spotzee: rate limited")
	// ErrConflict matches every 409: state_conflict, resource_already_exists,
	// idempotency_key_mismatch and idempotency_in_progress.
	ErrConflict = errors.New("spotzee: conflict")
	// ErrValidation matches validation_failed (422) and the 400 parameter_*
	// codes: parameter_missing, parameter_invalid_empty,
	// parameter_invalid_format and parameter_unknown.
	ErrValidation = errors.New("spotzee: invalid request")
)

// APIError is the error of every non-2xx response. Get it with errors.As;
// match families of codes with errors.Is and the sentinels above.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the catalogue code, or "" when the body did not carry one.
	Code Code
	// Title is the short summary fixed per code.
	Title string
	// Message explains this occurrence. For a body that is not a problem
	// document it describes the body and quotes its start.
	Message string
	// Type is the documentation link for Code.
	Type string
	// RequestID identifies the request for Spotzee support: the body's
	// request_id, else the X-Request-Id header.
	RequestID string
	// Param names the offending parameter, header or field, if any.
	Param string
	// Errors lists per-field failures (validation_failed).
	Errors []FieldError
	// RetryAfter is the response's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Method and Path are the request's HTTP method and URL path.
	Method, Path string
	// Attempts is how many HTTP attempts the call made, retries included
	// (0 when unknown).
	Attempts int
}

// Error returns one line: method, path, status, code, param, message and
// request id.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("spotzee: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" " + string(e.Code))
	}
	if e.Param != "" {
		b.WriteString(" (param " + e.Param + ")")
	}
	if msg := oneLine(e.Message); msg != "" {
		b.WriteString(": " + msg)
	}
	if e.RequestID != "" {
		b.WriteString(" [request_id " + e.RequestID + "]")
	}
	return b.String()
}

// Is reports whether target is a sentinel that matches e's code (or, without
// a code, its status).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == ErrorCodeResourceMissing || e.Code == "" && e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.Code == ErrorCodeAuthenticationRequired || e.Code == "" && e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.Code == ErrorCodePermissionDenied || e.Code == "" && e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.Code == ErrorCodeRateLimited || e.Code == "" && e.StatusCode == http.StatusTooManyRequests
	case ErrConflict:
		switch e.Code {
		case ErrorCodeStateConflict, ErrorCodeResourceAlreadyExists, ErrorCodeIdempotencyKeyMismatch, ErrorCodeIdempotencyInProgress:
			return true
		}
		return e.StatusCode == http.StatusConflict
	case ErrValidation:
		switch e.Code {
		case ErrorCodeValidationFailed, ErrorCodeParameterMissing, ErrorCodeParameterInvalidEmpty, ErrorCodeParameterInvalidFormat, ErrorCodeParameterUnknown:
			return true
		}
		return e.Code == "" && e.StatusCode == http.StatusUnprocessableEntity
	}
	return false
}

// problem is the error envelope, decoded leniently.
type problem struct {
	Code      Code         `json:"code"`
	Title     string       `json:"title"`
	Message   string       `json:"message"`
	Type      string       `json:"type"`
	RequestID string       `json:"request_id"`
	Param     string       `json:"param"`
	Errors    []FieldError `json:"errors"`
}

// decodeProblem decodes an error body as far as it goes: fields of the wrong
// type are skipped; a body that is not JSON gives the zero problem.
func decodeProblem(body []byte) problem {
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return problem{}
		}
	}
	return p
}

var (
	salvageCode      = regexp.MustCompile(`"code"\s*:\s*"([a-z_]{1,64})"`)
	salvageRequestID = regexp.MustCompile(`"request_id"\s*:\s*"(req_[0-9A-Za-z]{1,64})"`)
)

// newAPIError builds the error for a non-2xx resp whose body is body. It never
// fails: a body that is empty, not JSON or cut short still gives the status,
// the request id from the header, a code salvaged when one can be, and a
// message quoting the body's start. redact scrubs secrets from the texts.
func newAPIError(resp *http.Response, body []byte, attempts int, redact func(string) string) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, Attempts: attempts}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		if resp.Request.URL != nil {
			e.Path = resp.Request.URL.Path
		}
	}
	if ra, ok := parseRetryAfter(resp.Header.Get(headerRetryAfter), time.Now()); ok {
		e.RetryAfter = ra
	}

	if p := decodeProblem(body); p.Code != "" || p.Message != "" || p.Title != "" {
		e.Code, e.Title, e.Message, e.Type = p.Code, p.Title, p.Message, p.Type
		e.RequestID, e.Param, e.Errors = p.RequestID, p.Param, p.Errors
		if e.Message == "" {
			e.Message = e.Title
		}
	} else {
		if m := salvageCode.FindSubmatch(body); m != nil {
			e.Code = Code(m[1])
		}
		if m := salvageRequestID.FindSubmatch(body); m != nil {
			e.RequestID = string(m[1])
		}
		e.Message = describeBody(resp, body)
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get(headerRequestID)
	}

	e.Title, e.Message, e.Param = redact(e.Title), redact(e.Message), redact(e.Param)
	for i := range e.Errors {
		e.Errors[i].Message = redact(e.Errors[i].Message)
	}
	return e
}

// describeBody says what an unusable error body was and quotes its start.
func describeBody(resp *http.Response, body []byte) string {
	status := http.StatusText(resp.StatusCode)
	if status == "" {
		status = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return status + " (empty body)"
	}
	kind := "non-JSON error body"
	if json.Valid(body) {
		kind = "unrecognised JSON error body"
	} else if t := strings.TrimSpace(string(body)); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		kind = "malformed JSON error body"
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		kind += " (" + ct + ")"
	}
	return status + ", " + kind + ": " + snippet(body, 200)
}

// snippet returns at most n bytes of b as valid UTF-8 on one line, with "…"
// when cut.
func snippet(b []byte, n int) string {
	cut := len(b) > n
	if cut {
		b = b[:n]
		for i := 1; i <= utf8.UTFMax && i <= len(b); i++ { // do not split the last rune
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	s := oneLine(strings.ToValidUTF8(string(b), "\uFFFD"))
	if cut {
		s += "…"
	}
	return s
}

// oneLine collapses runs of white space (newlines included) to one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
