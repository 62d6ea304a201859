package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RetryPolicy decides how often and how long the SDK retries a call.
//
// Which calls are retried does not depend on the policy:
//
//   - GET and DELETE are retried on network errors (including an attempt
//     timing out), 429 and 5xx. DELETE counts as idempotent: revoking twice
//     cannot revoke two keys. Its one wrinkle: if an attempt revoked the key
//     but its answer was lost, the retry gets 404 resource_missing;
//     [APIError.Attempts] > 1 tells that case apart.
//   - POST and PATCH are retried on the same failures, and on 409
//     idempotency_in_progress, only when the request carries an
//     Idempotency-Key: generated once per call (see [WithAutoIdempotencyKeys])
//     or given with [WithIdempotencyKey], and the same on every attempt.
//   - Any other 4xx, and a cancelled or expired context, are never retried.
//
// The wait before a retry is the response's Retry-After when it has one,
// otherwise exponential backoff with full jitter: a random delay between 0
// and min(MaxDelay, BaseDelay·2ⁿ⁻¹) before retry n.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts per call, the first included;
	// 1 disables retries.
	MaxAttempts int
	// BaseDelay is the backoff ceiling before the first retry; it doubles
	// for each further retry.
	BaseDelay time.Duration
	// MaxDelay caps the backoff ceiling. It does not cap Retry-After.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the SDK waits for; a longer
	// one ends the call with the response's *APIError (whose RetryAfter says
	// how long to wait). Zero means no limit.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns the policy a new [API] uses: 4 attempts, backoff
// from 200ms capped at 5s, Retry-After honoured up to one minute.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:   4,
		BaseDelay:     200 * time.Millisecond,
		MaxDelay:      5 * time.Second,
		MaxRetryAfter: time.Minute,
	}
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 1:
		return fmt.Errorf("MaxAttempts %d < 1", p.MaxAttempts)
	case p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0:
		return errors.New("negative delay")
	}
	return nil
}

// backoffCeiling is the upper bound of the jittered delay before retry n
// (n ≥ 1): min(MaxDelay, BaseDelay·2ⁿ⁻¹), without overflowing.
func (p RetryPolicy) backoffCeiling(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// callInfo is filled in by retryDoer for the typed methods, which put it in
// the request context.
type callInfo struct {
	attempts int
}

type callInfoKey struct{}

const (
	headerIdempotencyKey = "Idempotency-Key"
	headerRetryAfter     = "Retry-After"
	headerRequestID      = "X-Request-Id"
)

// retryDoer is the HttpRequestDoer under the generated client: it buffers the
// request body, adds a generated Idempotency-Key to POST and PATCH, and
// retries as RetryPolicy describes. Every response it returns has its body
// read into memory, so a per-attempt timeout can be released.
type retryDoer struct {
	next       HttpRequestDoer
	policy     RetryPolicy
	timeout    time.Duration
	autoIdem   bool
	sleep      func(context.Context, time.Duration) error
	jitter     func(time.Duration) time.Duration
	newIdemKey func() string
	redact     func(string) string
}

// Do sends req until it succeeds, fails for good or runs out of attempts. It
// returns the last response (any status) or, when no response was usable,
// the last network error; when ctx ends between attempts it returns an
// error wrapping ctx.Err() and the previous failure.
func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	info, _ := ctx.Value(callInfoKey{}).(*callInfo)

	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	if d.autoIdem && (req.Method == http.MethodPost || req.Method == http.MethodPatch) && req.Header.Get(headerIdempotencyKey) == "" {
		req.Header.Set(headerIdempotencyKey, d.newIdemKey())
	}
	safe := retrySafe(req)

	for attempt := 1; ; attempt++ {
		if info != nil {
			info.attempts = attempt
		}
		resp, respBody, err := d.attempt(ctx, req, body)
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("attempt %d: %w", attempt, ctx.Err())
		}
		if !safe || (err == nil && !retryableResponse(req, resp, respBody)) || (err != nil && !transientError(err)) {
			return resp, err
		}
		if attempt >= d.policy.MaxAttempts {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("gave up after %d attempts: %w", attempt, err)
			}
			return resp, err
		}

		delay := d.jitter(d.policy.backoffCeiling(attempt))
		if resp != nil {
			if ra, ok := parseRetryAfter(resp.Header.Get(headerRetryAfter), time.Now()); ok {
				if d.policy.MaxRetryAfter > 0 && ra > d.policy.MaxRetryAfter {
					return resp, nil
				}
				delay = ra
			}
		}
		if serr := d.sleep(ctx, delay); serr != nil {
			last := err
			if last == nil {
				last = newAPIError(resp, respBody, attempt, d.redact)
			}
			if cerr := ctx.Err(); cerr != nil {
				serr = cerr
			}
			return nil, fmt.Errorf("waiting to retry after attempt %d: %w (last failure: %w)", attempt, serr, last)
		}
	}
}

// attempt sends one copy of req and reads the whole response body.
func (d *retryDoer) attempt(ctx context.Context, req *http.Request, body []byte) (*http.Response, []byte, error) {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if d.timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, d.timeout)
	}
	defer cancel()

	r := req.Clone(actx)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	resp, err := d.next.Do(r)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if resp.Request == nil {
		resp.Request = r
	}
	return resp, b, nil
}

// transientError reports whether a transport error may pass on a retry: a
// dropped or refused connection, a reset, a timeout. Errors a retry cannot
// change (a bad URL, a TLS failure, a request refused by a validating
// transport) are not transient.
func transientError(err error) bool {
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &opErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &netErr):
		return netErr.Timeout()
	}
	return false
}

// retrySafe reports whether a failed req may be sent again: GET, HEAD,
// OPTIONS, PUT and DELETE always; POST and PATCH only with an
// Idempotency-Key.
func retrySafe(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost, http.MethodPatch:
		return req.Header.Get(headerIdempotencyKey) != ""
	}
	return false
}

// retryableResponse reports whether resp is a transient failure: 429, 5xx, or
// 409 idempotency_in_progress to a request that sent an Idempotency-Key.
func retryableResponse(req *http.Request, resp *http.Response, body []byte) bool {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return true
	case resp.StatusCode == http.StatusConflict && req.Header.Get(headerIdempotencyKey) != "":
		return decodeProblem(body).Code == ErrorCodeIdempotencyInProgress
	}
	return false
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date.
// It reports false when v is absent or malformed.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(365 * 24 * time.Hour / time.Second) // keeps the Duration from overflowing
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// newUUIDv4 returns a random RFC 9562 version-4 UUID.
func newUUIDv4() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
