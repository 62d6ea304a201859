package client

import "time"

// Test-only hooks, visible to package client_test.

// WithJitter replaces full jitter, so backoff delays are deterministic.
func WithJitter(f func(ceiling time.Duration) time.Duration) Option {
	return optionFunc(func(s *settings) error {
		s.jitter = f
		return nil
	})
}

var (
	FullJitter      = fullJitter
	NewUUIDv4       = newUUIDv4
	ParseRetryAfter = parseRetryAfter
	MaskKey         = maskKey
	SleepContext    = sleepContext
)

// BackoffCeiling exposes RetryPolicy.backoffCeiling.
func BackoffCeiling(p RetryPolicy, n int) time.Duration { return p.backoffCeiling(n) }
