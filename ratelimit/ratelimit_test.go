package ratelimit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a manually driven, concurrency-safe clock.
type fakeClock struct {
	mu    sync.Mutex
	start time.Time
	now   time.Time
}

func newFakeClock() *fakeClock {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &fakeClock{start: t0, now: t0}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// at sets the clock to start+d.
func (c *fakeClock) at(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.start.Add(d)
}

// newLimiter returns a limiter on a fake clock; New reads the clock once, so
// slots are aligned to clock offset 0.
func newLimiter(cfg Config) (*Limiter, *fakeClock) {
	clk := newFakeClock()
	cfg.Now = clk.Now
	return New(cfg), clk
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// allowN calls Allow n times and returns how many were admitted and the last
// decision.
func allowN(l *Limiter, n int, key int64, tier Tier, b Bucket, doubled bool) (int, Decision) {
	var got int
	var d Decision
	for range n {
		d = l.Allow(key, tier, b, doubled)
		if d.Allowed {
			got++
		}
	}
	return got, d
}

func TestBucketFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method string
		want   Bucket
	}{
		{"GET", Read},
		{"HEAD", Read},
		{"OPTIONS", Read},
		{"POST", Write},
		{"PATCH", Write},
		{"PUT", Write},
		{"DELETE", Write},
		{"TRACE", Write},
		{"CONNECT", Write},
		{"get", Write}, // methods are case-sensitive; unknown → restrictive
		{"", Write},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, BucketFor(tt.method))
		})
	}
}

func TestBucketString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b    Bucket
		want string
	}{
		{Read, "read"},
		{Write, "write"},
		{Bucket(7), "unknown"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.b.String())
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tier      Tier
		valid     bool
		read, wrt int
	}{
		{TierStarter, true, 2000, 1000},
		{TierProfessional, true, 10000, 5000},
		{TierEnterprise, true, 50000, 25000},
		{"", false, 2000, 1000},
		{"platinum", false, 2000, 1000},
		{"Enterprise", false, 2000, 1000},
	}
	for _, tt := range tests {
		t.Run(string(tt.tier), func(t *testing.T) {
			t.Parallel()
			lim := DefaultLimits(tt.tier)
			assert.Equal(t, Limits{ReadPerWindow: tt.read, WritePerWindow: tt.wrt}, lim)
			assert.Equal(t, tt.read, lim.For(Read))
			assert.Equal(t, tt.wrt, lim.For(Write))
			assert.Equal(t, tt.valid, tt.tier.Valid())
		})
	}
}

func TestDecisionSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		d          Decision
		reset      int
		retryAfter int
	}{
		{"zero allowed", Decision{Allowed: true}, 0, 0},
		{"exact", Decision{Reset: 3 * time.Second, RetryAfter: 3 * time.Second}, 3, 3},
		{"round up", Decision{Reset: ms(2001), RetryAfter: ms(1)}, 3, 1},
		{"denied zero retry is 1", Decision{}, 0, 1},
		{"negative clamps", Decision{Reset: -time.Second, RetryAfter: -time.Second}, 0, 1},
		{"allowed has no retry", Decision{Allowed: true, Reset: ms(9500), RetryAfter: 5 * time.Second}, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.reset, tt.d.ResetSeconds())
			assert.Equal(t, tt.retryAfter, tt.d.RetryAfterSeconds())
		})
	}
}

func TestAllowExhaustsWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		bucket  Bucket
		limit   int
		doubled bool
	}{
		{"read", Read, 5, false},
		{"write", Write, 3, false},
		{"read doubled", Read, 10, true},
		{"write doubled", Write, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, clk := newLimiter(Config{Override: &Limits{ReadPerWindow: 5, WritePerWindow: 3}})
			clk.at(ms(500))
			for i := range tt.limit {
				d := l.Allow(42, TierProfessional, tt.bucket, tt.doubled)
				require.True(t, d.Allowed, "request %d", i)
				assert.True(t, d.Enforced)
				assert.Equal(t, tt.limit, d.Limit)
				assert.Equal(t, tt.limit-i-1, d.Remaining, "request %d", i)
				assert.Equal(t, ms(9500), d.Reset)
				assert.Equal(t, 10, d.ResetSeconds())
				assert.Zero(t, d.RetryAfter)
				assert.Equal(t, TierProfessional, d.Tier)
			}
			clk.at(ms(3200))
			d := l.Allow(42, TierProfessional, tt.bucket, tt.doubled)
			assert.False(t, d.Allowed)
			assert.True(t, d.Enforced)
			assert.Equal(t, tt.limit, d.Limit)
			assert.Equal(t, 0, d.Remaining)
			assert.Equal(t, ms(6800), d.RetryAfter)
			assert.Equal(t, 7, d.RetryAfterSeconds())
			assert.Equal(t, ms(6800), d.Reset)
			assert.Equal(t, TierProfessional, d.Tier)

			// Just before the window passes: still denied, Retry-After ≥ 1 s.
			clk.at(10*time.Second - time.Nanosecond)
			d = l.Allow(42, TierProfessional, tt.bucket, tt.doubled)
			assert.False(t, d.Allowed)
			assert.Equal(t, time.Second, d.RetryAfter)
			assert.Equal(t, 1, d.RetryAfterSeconds())

			// Recovery once the window has passed: the full budget again.
			clk.at(10 * time.Second)
			got, last := allowN(l, tt.limit+1, 42, TierProfessional, tt.bucket, tt.doubled)
			assert.Equal(t, tt.limit, got)
			assert.False(t, last.Allowed)
		})
	}
}

func TestDeniedRequestsDoNotConsumeBudget(t *testing.T) {
	t.Parallel()
	l, clk := newLimiter(Config{Override: &Limits{ReadPerWindow: 5, WritePerWindow: 5}})
	got, _ := allowN(l, 5, 1, TierStarter, Read, false)
	require.Equal(t, 5, got)

	clk.at(5 * time.Second)
	got, _ = allowN(l, 20, 1, TierStarter, Read, false)
	require.Equal(t, 0, got)
	// Keep the key's state alive past 10 s so eviction cannot mask a bug.
	require.True(t, l.Allow(1, TierStarter, Write, false).Allowed)

	// Had the 20 denials been counted (in slot 5), they would still be in
	// the window at 10 s.
	clk.at(10 * time.Second)
	got, d := allowN(l, 5, 1, TierStarter, Read, false)
	assert.Equal(t, 5, got)
	assert.Equal(t, 0, d.Remaining)
}

func TestPartialRecovery(t *testing.T) {
	t.Parallel()
	l, clk := newLimiter(Config{Override: &Limits{ReadPerWindow: 6, WritePerWindow: 6}})
	const key = 9

	steps := []struct {
		at         time.Duration
		n          int
		allowed    int
		remaining  int
		reset      time.Duration
		retryAfter time.Duration
	}{
		{at: 0, n: 2, allowed: 2, remaining: 4, reset: 10 * time.Second},
		{at: 3 * time.Second, n: 2, allowed: 2, remaining: 2, reset: 7 * time.Second},
		{at: ms(6500), n: 3, allowed: 2, remaining: 0, reset: ms(3500), retryAfter: ms(3500)},
		{at: ms(9999), n: 1, allowed: 0, remaining: 0, reset: time.Millisecond, retryAfter: time.Second},
		// Slot 0 (2 requests) has left the window: exactly 2 free again.
		{at: 10 * time.Second, n: 3, allowed: 2, remaining: 0, reset: 3 * time.Second, retryAfter: 3 * time.Second},
		// Slot 3 leaves at 13 s; the oldest left is slot 6 (until 16 s).
		{at: ms(13250), n: 1, allowed: 1, remaining: 1, reset: ms(2750)},
		// Slot 6 leaves at 16 s, slot 10 at 20 s.
		{at: 16 * time.Second, n: 4, allowed: 3, remaining: 0, reset: 4 * time.Second, retryAfter: 4 * time.Second},
	}
	for _, s := range steps {
		clk.at(s.at)
		got, d := allowN(l, s.n, key, TierStarter, Write, false)
		assert.Equal(t, s.allowed, got, "at %v", s.at)
		assert.Equal(t, s.remaining, d.Remaining, "at %v", s.at)
		assert.Equal(t, s.reset, d.Reset, "at %v", s.at)
		assert.Equal(t, s.retryAfter, d.RetryAfter, "at %v", s.at)
	}
}

func TestLimitChangeAppliesToCountedRequests(t *testing.T) {
	t.Parallel()
	// A key counted under a doubled budget of 10 then checked against the
	// plain budget of 5 must wait until 6 requests have left the window.
	l, clk := newLimiter(Config{Override: &Limits{ReadPerWindow: 5, WritePerWindow: 5}})
	for i := range 5 {
		clk.at(time.Duration(i) * time.Second)
		got, _ := allowN(l, 2, 3, TierStarter, Read, true)
		require.Equal(t, 2, got)
	}
	d := l.Allow(3, TierStarter, Read, false)
	assert.False(t, d.Allowed)
	assert.Equal(t, 5, d.Limit)
	assert.Equal(t, 0, d.Remaining)
	assert.Equal(t, 6*time.Second, d.Reset)      // slot 0 leaves at 10 s
	assert.Equal(t, 8*time.Second, d.RetryAfter) // slots 0–2 leave by 12 s

	clk.at(12 * time.Second)
	d = l.Allow(3, TierStarter, Read, false)
	assert.True(t, d.Allowed)
	assert.Equal(t, 0, d.Remaining)
}

func TestBucketsAndKeysAreIndependent(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(Config{Override: &Limits{ReadPerWindow: 4, WritePerWindow: 2}})
	got, _ := allowN(l, 10, 1, TierStarter, Read, false)
	require.Equal(t, 4, got)

	tests := []struct {
		name   string
		key    int64
		bucket Bucket
		want   int
	}{
		{"same key other bucket", 1, Write, 2},
		{"other key same bucket", 2, Read, 4},
		{"other key other bucket", 2, Write, 2},
		{"negative key", -1, Read, 4},
		{"exhausted stays exhausted", 1, Read, 0},
	}
	for _, tt := range tests {
		got, _ := allowN(l, 10, tt.key, TierStarter, tt.bucket, false)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestDefaultTierLimitsAndDoubling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tier     Tier
		bucket   Bucket
		doubled  bool
		limit    int
		reported Tier
	}{
		{TierStarter, Read, false, 2000, TierStarter},
		{TierStarter, Write, false, 1000, TierStarter},
		{TierStarter, Read, true, 4000, TierStarter},
		{TierProfessional, Read, false, 10000, TierProfessional},
		{TierProfessional, Write, true, 10000, TierProfessional},
		{TierEnterprise, Read, false, 50000, TierEnterprise},
		{TierEnterprise, Write, true, 50000, TierEnterprise},
		{"bogus", Read, false, 2000, TierStarter},
	}
	for _, tt := range tests {
		t.Run(string(tt.tier)+"/"+tt.bucket.String(), func(t *testing.T) {
			t.Parallel()
			l, clk := newLimiter(Config{})
			// Spend the whole window, one slot at a time (the burst cap is
			// 15 % of the budget per slot).
			total := 0
			for s := range 10 {
				clk.at(time.Duration(s) * time.Second)
				got, _ := allowN(l, tt.limit*15/100+1, 7, tt.tier, tt.bucket, tt.doubled)
				total += got
			}
			assert.Equal(t, tt.limit, total)
			d := l.Allow(7, tt.tier, tt.bucket, tt.doubled)
			assert.False(t, d.Allowed)
			assert.Equal(t, tt.limit, d.Limit)
			assert.Equal(t, tt.reported, d.Tier)
		})
	}
}

func TestBurstCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tier    Tier
		bucket  Bucket
		doubled bool
		limit   int
		burst   int
	}{
		{TierStarter, Read, false, 2000, 300},
		{TierStarter, Write, false, 1000, 150},
		{TierStarter, Read, true, 4000, 600},
		{TierProfessional, Read, false, 10000, 1500},
		{TierEnterprise, Write, false, 25000, 3750},
		{TierEnterprise, Write, true, 50000, 7500},
	}
	for _, tt := range tests {
		t.Run(string(tt.tier)+"/"+tt.bucket.String(), func(t *testing.T) {
			t.Parallel()
			l, clk := newLimiter(Config{})
			clk.at(ms(250))
			got, d := allowN(l, tt.burst+1, 5, tt.tier, tt.bucket, tt.doubled)
			assert.Equal(t, tt.burst, got)
			assert.False(t, d.Allowed)
			// Burst denial: window budget is left, retry at the next second.
			assert.Equal(t, tt.limit-tt.burst, d.Remaining)
			assert.Equal(t, time.Second, d.RetryAfter) // 750 ms, clamped to 1 s
			assert.Equal(t, 1, d.RetryAfterSeconds())
			assert.Equal(t, ms(9750), d.Reset)

			// The cap is per one-second slot, and the window budget still
			// binds: full slots until the budget runs out.
			total := got
			sec := 1
			for ; total+tt.burst <= tt.limit; sec++ {
				clk.at(time.Duration(sec) * time.Second)
				got, _ := allowN(l, tt.burst+1, 5, tt.tier, tt.bucket, tt.doubled)
				require.Equal(t, tt.burst, got, "second %d", sec)
				total += got
			}
			clk.at(time.Duration(sec) * time.Second)
			got, d = allowN(l, tt.burst, 5, tt.tier, tt.bucket, tt.doubled)
			assert.Equal(t, tt.limit-total, got)
			assert.False(t, d.Allowed)
			assert.Equal(t, 0, d.Remaining)
			assert.Equal(t, time.Duration(10-sec)*time.Second, d.RetryAfter)
		})
	}
}

func TestOverride(t *testing.T) {
	t.Parallel()
	over := &Limits{ReadPerWindow: 1000, WritePerWindow: 2}
	tests := []struct {
		tier     Tier
		reported Tier
	}{
		{TierStarter, TierStarter},
		{TierProfessional, TierProfessional},
		{TierEnterprise, TierEnterprise},
		{"", TierStarter},
	}
	for _, tt := range tests {
		t.Run(string(tt.tier), func(t *testing.T) {
			t.Parallel()
			l, _ := newLimiter(Config{Override: over})
			// No burst cap under Override: the whole budget at once.
			got, d := allowN(l, 1001, 1, tt.tier, Read, false)
			assert.Equal(t, 1000, got)
			assert.Equal(t, 1000, d.Limit)
			assert.Equal(t, tt.reported, d.Tier)
			got, d = allowN(l, 3, 1, tt.tier, Write, false)
			assert.Equal(t, 2, got)
			assert.Equal(t, 2, d.Limit)
		})
	}

	t.Run("copied at New", func(t *testing.T) {
		t.Parallel()
		o := Limits{ReadPerWindow: 1, WritePerWindow: 1}
		l, _ := newLimiter(Config{Override: &o})
		o.ReadPerWindow = 100
		got, _ := allowN(l, 5, 1, TierStarter, Read, false)
		assert.Equal(t, 1, got)
	})

	t.Run("zero budget denies", func(t *testing.T) {
		t.Parallel()
		l, _ := newLimiter(Config{Override: &Limits{ReadPerWindow: 0, WritePerWindow: -3}})
		for _, b := range []Bucket{Read, Write} {
			d := l.Allow(1, TierStarter, b, true)
			assert.False(t, d.Allowed)
			assert.True(t, d.Enforced)
			assert.Equal(t, 0, d.Limit)
			assert.Equal(t, 10, d.RetryAfterSeconds())
		}
		assert.Equal(t, 0, l.Len())
	})
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(Config{Disabled: true, Override: &Limits{ReadPerWindow: 1, WritePerWindow: 1}})
	for _, b := range []Bucket{Read, Write} {
		for range 100 {
			d := l.Allow(1, TierStarter, b, false)
			require.Equal(t, Decision{Allowed: true}, d)
			require.False(t, d.Enforced)
		}
	}
	assert.Equal(t, 0, l.Len())
}

func TestCustomWindow(t *testing.T) {
	t.Parallel()
	l, clk := newLimiter(Config{Window: time.Second, Override: &Limits{ReadPerWindow: 3, WritePerWindow: 3}})
	got, d := allowN(l, 4, 1, TierStarter, Read, false)
	assert.Equal(t, 3, got)
	assert.Equal(t, time.Second, d.RetryAfter) // 1 s window, clamped to ≥ 1 s anyway
	clk.at(ms(999))
	got, _ = allowN(l, 1, 1, TierStarter, Read, false)
	assert.Equal(t, 0, got)
	clk.at(time.Second)
	got, _ = allowN(l, 4, 1, TierStarter, Read, false)
	assert.Equal(t, 3, got)
}

func TestClockGoingBackwards(t *testing.T) {
	t.Parallel()
	l, clk := newLimiter(Config{Override: &Limits{ReadPerWindow: 2, WritePerWindow: 2}})
	clk.at(5 * time.Second)
	got, _ := allowN(l, 2, 1, TierStarter, Read, false)
	require.Equal(t, 2, got)
	clk.at(time.Second) // behaves as if still at 5 s
	d := l.Allow(1, TierStarter, Read, false)
	assert.False(t, d.Allowed)
	assert.Equal(t, 10*time.Second, d.RetryAfter)
	clk.at(15 * time.Second)
	got, _ = allowN(l, 3, 1, TierStarter, Read, false)
	assert.Equal(t, 2, got)
}

func TestConcurrentAllowNeverExceedsLimit(t *testing.T) {
	t.Parallel()
	const (
		limit      = 500
		goroutines = 32
		perG       = 100 // 800 attempts per key and phase
		keys       = 4
	)
	l, clk := newLimiter(Config{Override: &Limits{ReadPerWindow: limit, WritePerWindow: limit}})

	run := func() [keys]int64 {
		var allowed [keys]atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range perG {
					key := int64((g + i) % keys)
					if l.Allow(key, TierEnterprise, Write, false).Allowed {
						allowed[key].Add(1)
					}
				}
			})
		}
		wg.Wait()
		var out [keys]int64
		for k := range out {
			out[k] = allowed[k].Load()
		}
		return out
	}

	phases := []struct {
		at   time.Duration
		want int64
	}{
		{0, limit},
		{5 * time.Second, 0},
		{ms(9999), 0},
		{10 * time.Second, limit},
		{ms(19999), 0},
	}
	for _, p := range phases {
		clk.at(p.at)
		got := run()
		for k := range keys {
			assert.Equal(t, p.want, got[k], "key %d at %v", k, p.at)
		}
	}
}

func TestConcurrentBurstCap(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(Config{})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if l.Allow(1, TierStarter, Read, false).Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(300), allowed.Load())
}

func TestLazyEvictionOfIdleKeys(t *testing.T) {
	t.Parallel()
	l, clk := newLimiter(Config{Override: &Limits{ReadPerWindow: 5, WritePerWindow: 5}})
	for k := range int64(1000) {
		l.Allow(k, TierStarter, Read, false)
	}
	require.Equal(t, 1000, l.Len())

	clk.at(5 * time.Second)
	l.Allow(5000, TierStarter, Write, false) // still active at 10 s
	assert.Equal(t, 1001, l.Len())

	// One window later, touching every shard sweeps the idle keys away.
	clk.at(10 * time.Second)
	hit := map[*shard]bool{}
	added := 0
	for k := int64(10000); len(hit) < numShards; k++ {
		hit[l.shardFor(k)] = true
		l.Allow(k, TierStarter, Read, false)
		added++
	}
	assert.Equal(t, 1+added, l.Len())
	assert.False(t, tracked(l, 0))
	assert.True(t, tracked(l, 5000))

	// Evicted state is indistinguishable from fresh state.
	got, _ := allowN(l, 6, 0, TierStarter, Read, false)
	assert.Equal(t, 5, got)
}

func TestSweep(t *testing.T) {
	t.Parallel()
	l, clk := newLimiter(Config{})
	for k := range int64(100) {
		l.Allow(k, TierStarter, BucketFor("POST"), false)
	}
	clk.at(ms(9500))
	for k := range int64(10) {
		l.Allow(k, TierStarter, Read, false) // keys 0–9 stay active
	}
	require.Equal(t, 100, l.Len())

	tests := []struct {
		at      time.Duration
		evicted int
		left    int
	}{
		{ms(9999), 0, 100},
		{10 * time.Second, 90, 10},
		{ms(19499), 0, 10},
		{ms(19500), 10, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.evicted, l.Sweep(clk.start.Add(tt.at)), "at %v", tt.at)
		assert.Equal(t, tt.left, l.Len(), "at %v", tt.at)
	}
}

// tracked reports whether key has state in l.
func tracked(l *Limiter, key int64) bool {
	sh := l.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.entries[key]
	return ok
}

func BenchmarkAllow(b *testing.B) {
	const keys = 1 << 14
	l := New(Config{})
	tiers := []Tier{TierStarter, TierProfessional, TierEnterprise}
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := seed.Add(0x9E3779B97F4A7C15) | 1
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			key := int64(x % keys)
			l.Allow(key, tiers[key%3], Bucket(x>>32&1), x>>33&7 == 0)
		}
	})
}
