package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Option configures an [API] built by [New]. Options are applied in order; a
// later option overrides an earlier one that sets the same thing.
//
// The generated [ClientOption]s are Options too: [WithHTTPClient] (any
// [HttpRequestDoer], typically an *http.Client), [WithRequestEditorFn] (an
// extra [RequestEditorFn] run on every request after the SDK's own headers are
// set) and [WithBaseURL].
type Option interface {
	apply(*settings) error
}

// optionFunc adapts a function to [Option].
type optionFunc func(*settings) error

func (f optionFunc) apply(s *settings) error { return f(s) }

// apply makes a generated [ClientOption] usable with [New]: it is run against
// a scratch generated [Client] and what it set (doer, editors, server) is
// taken over. It returns the option's own error.
func (o ClientOption) apply(s *settings) error {
	scratch := Client{Server: s.baseURL}
	if err := o(&scratch); err != nil {
		return err
	}
	if scratch.Client != nil {
		s.doer = scratch.Client
	}
	s.baseURL = scratch.Server
	s.editors = append(s.editors, scratch.RequestEditors...)
	return nil
}

// settings is everything the options decide.
type settings struct {
	baseURL    string
	doer       HttpRequestDoer
	transport  http.RoundTripper
	timeout    time.Duration
	userAgent  string
	version    string
	clientType string
	retry      RetryPolicy
	autoIdem   bool
	sleep      func(context.Context, time.Duration) error
	jitter     func(ceiling time.Duration) time.Duration
	newIdemKey func() string
	editors    []RequestEditorFn
}

func defaultSettings(baseURL string) *settings {
	return &settings{
		baseURL:    baseURL,
		timeout:    DefaultTimeout,
		userAgent:  DefaultUserAgent,
		version:    DefaultAPIVersion,
		clientType: DefaultClientType,
		retry:      DefaultRetryPolicy(),
		autoIdem:   true,
		sleep:      sleepContext,
		jitter:     fullJitter,
		newIdemKey: newUUIDv4,
	}
}

// WithTransport sets the http.RoundTripper the SDK sends requests through,
// for example a validate.Transport that checks every exchange against
// openapi.yaml in contract tests. Combined with [WithHTTPClient], a copy of
// that *http.Client gets this transport. New returns an error if rt is nil or
// if the doer given to WithHTTPClient is not an *http.Client.
func WithTransport(rt http.RoundTripper) Option {
	return optionFunc(func(s *settings) error {
		if rt == nil {
			return errors.New("WithTransport: nil transport")
		}
		s.transport = rt
		return nil
	})
}

// WithTimeout bounds each HTTP attempt (connect, headers and body), not the
// whole call with its retries: bound that with the context. Zero disables the
// per-attempt timeout; the default is [DefaultTimeout]. An attempt that times
// out counts as a network error for retries. New returns an error if d < 0.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) error {
		if d < 0 {
			return fmt.Errorf("WithTimeout: negative timeout %s", d)
		}
		s.timeout = d
		return nil
	})
}

// WithUserAgent replaces the User-Agent header ([DefaultUserAgent] by
// default). New returns an error if ua is empty or not a valid header value.
func WithUserAgent(ua string) Option {
	return optionFunc(func(s *settings) error {
		if ua == "" || !validHeaderValue(ua) {
			return errors.New("WithUserAgent: empty or invalid header value")
		}
		s.userAgent = ua
		return nil
	})
}

// WithVersion pins the Spotzee-Version header, an API release date
// YYYY-MM-DD ([DefaultAPIVersion] by default). New returns an error if v is
// not a date.
func WithVersion(v string) Option {
	return optionFunc(func(s *settings) error {
		if _, err := time.Parse(time.DateOnly, v); err != nil || len(v) != len(time.DateOnly) {
			return fmt.Errorf("WithVersion: %q is not a YYYY-MM-DD date", v)
		}
		s.version = v
		return nil
	})
}

// WithClientType sets the x-spotzee-client-type header ([DefaultClientType]
// by default). Spotzee knows mcp, mobile, sdk-js, sdk-android, sdk-ios, cli
// and unknown, and counts anything else as unknown. New returns an error if t
// is empty, longer than 64 bytes or not a valid header value.
func WithClientType(t string) Option {
	return optionFunc(func(s *settings) error {
		if t == "" || len(t) > 64 || !validHeaderValue(t) {
			return fmt.Errorf("WithClientType: %q must be 1 to 64 printable characters", t)
		}
		s.clientType = t
		return nil
	})
}

// WithRetryPolicy replaces the whole retry policy ([DefaultRetryPolicy] by
// default). New returns an error if p.MaxAttempts < 1 or a duration is
// negative.
func WithRetryPolicy(p RetryPolicy) Option {
	return optionFunc(func(s *settings) error {
		if err := p.validate(); err != nil {
			return fmt.Errorf("WithRetryPolicy: %w", err)
		}
		s.retry = p
		return nil
	})
}

// WithMaxAttempts sets RetryPolicy.MaxAttempts, the number of attempts per
// call including the first; 1 disables retries. New returns an error if
// n < 1.
func WithMaxAttempts(n int) Option {
	return optionFunc(func(s *settings) error {
		if n < 1 {
			return fmt.Errorf("WithMaxAttempts: %d < 1", n)
		}
		s.retry.MaxAttempts = n
		return nil
	})
}

// WithAutoIdempotencyKeys turns on (the default) or off the Idempotency-Key
// the SDK generates for every POST and PATCH that has none. Off, POST and
// PATCH are retried only when the caller sends a key with
// [WithIdempotencyKey]. It never fails.
func WithAutoIdempotencyKeys(enabled bool) Option {
	return optionFunc(func(s *settings) error {
		s.autoIdem = enabled
		return nil
	})
}

// WithSleep replaces how the SDK waits between attempts; tests pass a fake
// that records the delays. sleep must return promptly with ctx.Err() once ctx
// is done; any error it returns ends the call. New returns an error if sleep
// is nil.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return optionFunc(func(s *settings) error {
		if sleep == nil {
			return errors.New("WithSleep: nil function")
		}
		s.sleep = sleep
		return nil
	})
}

// CallOption configures one call of [API.CreateKey] or [API.UpdateKey].
type CallOption func(*callOptions)

type callOptions struct {
	idempotencyKey *string
	response       *Response
}

// WithIdempotencyKey sends key as the Idempotency-Key of this call instead of
// a generated one; every retry of the call reuses it. Use it to make a
// create or update safe across process restarts. The call returns an error
// without sending anything if key is not 1 to 255 characters.
func WithIdempotencyKey(key string) CallOption {
	return func(o *callOptions) { o.idempotencyKey = &key }
}

func applyCallOptions(opts []CallOption) (callOptions, error) {
	var o callOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if k := o.idempotencyKey; k != nil && (len(*k) < 1 || len(*k) > 255 || !validHeaderValue(*k)) {
		return o, fmt.Errorf("invalid idempotency key: must be 1 to 255 printable characters, got %d bytes", len(*k))
	}
	return o, nil
}

// sleepContext waits d or until ctx is done, whichever is first.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fullJitter picks a delay uniformly in [0, ceiling].
func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// validHeaderValue reports whether v holds no control characters, so it is
// safe to send as a header value.
func validHeaderValue(v string) bool {
	return !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
}
