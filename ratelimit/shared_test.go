package ratelimit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memCounter is a SharedCounter in memory, as the PostgreSQL one behaves.
type memCounter struct {
	mu     sync.Mutex
	counts map[string]map[int64]int64
	fail   error
}

func (c *memCounter) TakeSlot(_ context.Context, bucket string, slot, span, limit, burst int64, _ time.Time) (bool, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return false, 0, c.fail
	}
	if c.counts == nil {
		c.counts = map[string]map[int64]int64{}
	}
	m := c.counts[bucket]
	if m == nil {
		m = map[int64]int64{}
		c.counts[bucket] = m
	}
	var total int64
	for s, n := range m {
		if s > slot-span && s <= slot {
			total += n
		}
	}
	if limit > 0 && (total >= limit || (burst > 0 && m[slot] >= burst)) {
		return false, total, nil
	}
	m[slot]++
	return true, total + 1, nil
}

func TestSharedCounterOneBudget(t *testing.T) {
	t.Parallel()
	clock := time.Unix(1_700_000_000, 0)
	now := func() time.Time { return clock }
	shared := &memCounter{}
	// Two limiters (two replicas) on one counter.
	a := New(Config{Now: now, Shared: shared, Override: &Limits{ReadPerWindow: 5, WritePerWindow: 5}})
	b := New(Config{Now: now, Shared: shared, Override: &Limits{ReadPerWindow: 5, WritePerWindow: 5}})
	tests := []struct {
		name    string
		l       *Limiter
		bucket  Bucket
		allowed bool
		remain  int
	}{
		{"a1", a, Read, true, 4},
		{"b1", b, Read, true, 3},
		{"a2", a, Read, true, 2},
		{"b2", b, Read, true, 1},
		{"a3", a, Read, true, 0},
		{"b refused", b, Read, false, 0},
		{"a refused", a, Read, false, 0},
		{"write is another budget", b, Write, true, 4},
	}
	for _, tc := range tests {
		d := tc.l.Allow(42, TierStarter, tc.bucket, false)
		assert.Equal(t, tc.allowed, d.Allowed, tc.name)
		assert.True(t, d.Enforced, tc.name)
		assert.Equal(t, tc.remain, d.Remaining, tc.name)
		if !tc.allowed {
			assert.GreaterOrEqual(t, d.RetryAfterSeconds(), 1, tc.name)
		}
	}
	// A window later the budget is back.
	clock = clock.Add(DefaultWindow)
	assert.True(t, b.Allow(42, TierStarter, Read, false).Allowed)
}

func TestSharedCounterFailsOpen(t *testing.T) {
	t.Parallel()
	var got []error
	l := New(Config{Shared: &memCounter{fail: errors.New("database down")}, OnSharedError: func(err error) { got = append(got, err) }})
	d := l.Allow(1, TierStarter, Write, false)
	assert.True(t, d.Allowed)
	assert.False(t, d.Enforced)
	require.Len(t, got, 1)
	assert.ErrorContains(t, got[0], "database down")
}
