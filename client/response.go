package client

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// Response is the metadata of one call's final HTTP response, beside the
// decoded body: pass [WithResponse] to any typed method to receive it, on
// success and on an [*APIError] alike.
type Response struct {
	// StatusCode is the HTTP status of the final attempt.
	StatusCode int
	// Header is the final response's header.
	Header http.Header
	// RequestID is the X-Request-Id header, "" when absent.
	RequestID string
	// RateLimit holds the X-RateLimit-* headers, nil when the response had
	// none (Spotzee's per-key limits are still rolling out).
	RateLimit *RateLimit
	// TotalCount is X-Total-Count on a list, nil when absent.
	TotalCount *int
	// Limit is X-Limit on a list, nil when absent.
	Limit *int
	// Replayed reports Idempotent-Replayed: true, an idempotent replay of an
	// earlier request with the same Idempotency-Key.
	Replayed bool
	// Attempts is how many HTTP attempts the call made, retries included.
	Attempts int
}

// RateLimit is the per-key rate-limit state a response reports.
type RateLimit struct {
	// Limit is the requests allowed per window in this bucket.
	Limit int
	// Remaining is what is left of it.
	Remaining int
	// Reset is how long until capacity frees up.
	Reset time.Duration
	// Tier is the project's rate-limit tier.
	Tier string
}

// WithResponse makes a typed method fill *dst with the final response's
// metadata (request id, rate limits, total count, replayed flag, attempts),
// whether the call succeeded or returned an [*APIError]. dst is left
// untouched when no response arrived (a network or context error).
func WithResponse(dst *Response) CallOption {
	return func(o *callOptions) { o.response = dst }
}

// newResponse reads the metadata of resp.
func newResponse(resp *http.Response, attempts int) Response {
	h := resp.Header
	r := Response{
		StatusCode: resp.StatusCode,
		Header:     h,
		RequestID:  h.Get(headerRequestID),
		TotalCount: headerInt(h, "X-Total-Count"),
		Limit:      headerInt(h, "X-Limit"),
		Replayed:   h.Get("Idempotent-Replayed") == "true",
		Attempts:   attempts,
	}
	if limit := headerInt(h, "X-RateLimit-Limit"); limit != nil {
		rl := &RateLimit{Limit: *limit, Tier: h.Get("X-RateLimit-Tier")}
		if n := headerInt(h, "X-RateLimit-Remaining"); n != nil {
			rl.Remaining = *n
		}
		if n := headerInt(h, "X-RateLimit-Reset"); n != nil {
			rl.Reset = time.Duration(*n) * time.Second
		}
		r.RateLimit = rl
	}
	return r
}

// headerInt parses an integer header, nil when absent or not an integer.
func headerInt(h http.Header, name string) *int {
	n, err := strconv.Atoi(h.Get(name))
	if err != nil {
		return nil
	}
	return &n
}

// keyLike matches anything shaped like a Spotzee key value, so that
// CheckResponse, which knows no API key, still keeps values out of errors.
var keyLike = regexp.MustCompile(`\b(sk|pk|ok)_[0-9A-Za-z]{8,}`)

// CheckResponse returns nil for a 2xx resp and an [*APIError] for any other
// status, built from the problem+json body as the typed methods build it
// (errors.Is matches the sentinels). It is for responses of the generated
// client (API.Raw) and of your own requests. It reads resp.Body and puts an
// equivalent reader back, so the caller can still read it; it returns a
// wrapped read error if the body cannot be read. Anything shaped like a key
// value in the error's texts is redacted.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	var body []byte
	if resp.Body != nil {
		var err error
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			return &readError{status: resp.StatusCode, err: err}
		}
	}
	return newAPIError(resp, body, 0, func(s string) string { return keyLike.ReplaceAllString(s, "[REDACTED]") })
}

// readError is CheckResponse's error for a body that could not be read.
type readError struct {
	status int
	err    error
}

func (e *readError) Error() string {
	return "spotzee: read " + strconv.Itoa(e.status) + " response body: " + e.err.Error()
}

func (e *readError) Unwrap() error { return e.err }
