package edgelimit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memCounter counts like the PostgreSQL SharedCounter with limit 0.
type memCounter struct {
	mu     sync.Mutex
	counts map[string]int64
	fail   error
}

func (c *memCounter) TakeSlot(_ context.Context, bucket string, slot, _, _, _ int64, _ time.Time) (bool, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return false, 0, c.fail
	}
	if c.counts == nil {
		c.counts = map[string]int64{}
	}
	k := bucket + "@" + time.Duration(slot).String()
	c.counts[k]++
	return true, c.counts[k], nil
}

func TestSharedEdgeOneBudget(t *testing.T) {
	t.Parallel()
	clock := time.Unix(1_700_000_000, 0) // aligned to a 10 s window
	now := func() time.Time { return clock }
	shared := &memCounter{}
	rules := []Rule{{Prefix: "/api/", Limit: 3, Window: 10 * time.Second}}
	a, err := New(Config{Rules: rules, Now: now, Shared: shared})
	require.NoError(t, err)
	b, err := New(Config{Rules: rules, Now: now, Shared: shared})
	require.NoError(t, err)
	tests := []struct {
		name    string
		l       *Limiter
		ip      string
		path    string
		allowed bool
	}{
		{"a1", a, "10.0.0.1", "/api/client/keys", true},
		{"b1", b, "10.0.0.1", "/api/client/keys", true},
		{"a2", a, "10.0.0.1", "/api/client/keys", true},
		{"b over", b, "10.0.0.1", "/api/client/keys", false},
		{"other IP", b, "10.0.0.2", "/api/client/keys", true},
		{"other path", a, "10.0.0.1", "/healthz", true},
	}
	for _, tc := range tests {
		d := tc.l.Allow(tc.ip, tc.path)
		assert.Equal(t, tc.allowed, d.Allowed, tc.name)
		if !tc.allowed {
			assert.Equal(t, 10*time.Second, d.RetryAfter, tc.name)
		}
	}
	clock = clock.Add(10 * time.Second)
	assert.True(t, a.Allow("10.0.0.1", "/api/x").Allowed, "a new window")
}

func TestSharedEdgeFailsOpen(t *testing.T) {
	t.Parallel()
	var got []error
	l, err := New(Config{Rules: []Rule{{Prefix: "/", Limit: 1, Window: time.Second}},
		Shared: &memCounter{fail: errors.New("down")}, OnSharedError: func(err error) { got = append(got, err) }})
	require.NoError(t, err)
	assert.True(t, l.Allow("1.2.3.4", "/x").Allowed)
	assert.True(t, l.Allow("1.2.3.4", "/x").Allowed)
	assert.Len(t, got, 2)
}
