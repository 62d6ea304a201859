package edgelimit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a manual clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestLimiter(t *testing.T, rules ...Rule) (*Limiter, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	l, err := New(Config{Rules: rules, Now: clk.Now})
	require.NoError(t, err)
	require.NotNil(t, l)
	return l, clk
}

func TestAllowBudgetsAndRecovery(t *testing.T) {
	t.Parallel()
	client := Rule{Prefix: "/api/client/", Limit: 3, Window: time.Minute}
	looseClient := Rule{Prefix: "/api/client/", Limit: 10, Window: time.Minute}
	api := Rule{Prefix: "/api/", Limit: 2, Window: 10 * time.Second}
	tests := []struct {
		name      string
		rules     []Rule
		path      string
		allowed   int // requests allowed before the first refusal
		refusedBy Rule
		retry     time.Duration
		recover   time.Duration // after this, the budget is back
	}{
		{"client path, api rule tighter", []Rule{looseClient, api}, "/api/client/keys", 2, api, 10 * time.Second, 10 * time.Second},
		{"client path, client rule tighter", []Rule{{Prefix: "/api/client/", Limit: 1, Window: time.Minute}, api}, "/api/client/keys", 1, Rule{Prefix: "/api/client/", Limit: 1, Window: time.Minute}, time.Minute, time.Minute},
		{"bare prefix counts", []Rule{client}, "/api/client", 3, client, time.Minute, time.Minute},
		{"other api surface: only the api rule", []Rule{{Prefix: "/api/client/", Limit: 1, Window: time.Minute}, api}, "/api/admin/projects", 2, api, 10 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, clk := newTestLimiter(t, tt.rules...)
			for i := range tt.allowed {
				assert.True(t, l.Allow("192.0.2.1", tt.path).Allowed, "request %d", i+1)
			}
			d := l.Allow("192.0.2.1", tt.path)
			require.False(t, d.Allowed)
			assert.Equal(t, tt.refusedBy, d.Rule)
			assert.Equal(t, tt.retry, d.RetryAfter)
			assert.Equal(t, int(tt.retry/time.Second), d.RetryAfterSeconds())
			assert.True(t, l.Allow("192.0.2.2", tt.path).Allowed, "another IP has its own budget")
			clk.advance(tt.recover - time.Second)
			assert.False(t, l.Allow("192.0.2.1", tt.path).Allowed, "still inside the window")
			clk.advance(time.Second)
			assert.True(t, l.Allow("192.0.2.1", tt.path).Allowed, "the window ended")
		})
	}
}

func TestAllowUnmatchedPathsAreFree(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(t, Rule{Prefix: "/api/", Limit: 1, Window: time.Second})
	for range 5 {
		assert.True(t, l.Allow("192.0.2.1", "/healthz").Allowed)
		assert.True(t, l.Allow("192.0.2.1", "/apix").Allowed)
	}
	assert.Equal(t, 0, l.tracked(), "unmatched paths track nothing")
}

func TestDefaultsAreSpotzees(t *testing.T) {
	t.Parallel()
	l, err := New(Config{})
	require.NoError(t, err)
	assert.Equal(t, []Rule{
		{Prefix: "/api/client/", Limit: 8000, Window: time.Minute},
		{Prefix: "/api/", Limit: 1000, Window: 10 * time.Second},
	}, l.Rules())
	off, err := New(Config{Disabled: true})
	require.NoError(t, err)
	assert.Nil(t, off)
}

func TestNewRejectsBadRules(t *testing.T) {
	t.Parallel()
	for _, r := range []Rule{
		{Prefix: "", Limit: 1, Window: time.Second},
		{Prefix: "/api/", Limit: 0, Window: time.Second},
		{Prefix: "/api/", Limit: 1, Window: 0},
	} {
		_, err := New(Config{Rules: []Rule{r}})
		assert.ErrorIs(t, err, ErrInvalidConfig, "%+v", r)
	}
}

func TestIdleIPsAreEvicted(t *testing.T) {
	t.Parallel()
	l, clk := newTestLimiter(t, Rule{Prefix: "/api/", Limit: 10, Window: 10 * time.Second})
	for i := range 100 {
		l.Allow("10.0.0."+string(rune('0'+i%10))+string(rune('0'+i/10)), "/api/x")
	}
	require.Equal(t, 100, l.tracked())
	clk.advance(10 * time.Second)
	l.Allow("192.0.2.9", "/api/x")
	assert.Equal(t, 1, l.tracked(), "IPs idle for a whole window are forgotten")
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string // trusted proxy header configured
		remote string
		values []string // X-Forwarded-For lines sent
		want   string
	}{
		{"connection address", "", "127.0.0.2:5555", nil, "127.0.0.2"},
		{"untrusted header ignored", "", "127.0.0.2:5555", []string{"203.0.113.7"}, "127.0.0.2"},
		{"trusted header, one address", "X-Forwarded-For", "127.0.0.1:5555", []string{"203.0.113.7"}, "203.0.113.7"},
		{"trusted header, right-most wins", "x-forwarded-for", "127.0.0.1:5555", []string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{"trusted header, last line wins", "X-Forwarded-For", "127.0.0.1:5555", []string{"198.51.100.1", "203.0.113.8"}, "203.0.113.8"},
		{"trusted header, with port and IPv6", "X-Forwarded-For", "127.0.0.1:5555", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"trusted header, garbage falls back", "X-Forwarded-For", "127.0.0.1:5555", []string{"nope"}, "127.0.0.1"},
		{"trusted header, absent falls back", "X-Forwarded-For", "[::1]:5555", nil, "::1"},
		{"remote without port", "", "pipe", nil, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := New(Config{TrustedProxyHeader: tt.header})
			require.NoError(t, err)
			r := httptest.NewRequest(http.MethodGet, "/api/client/keys", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.values {
				r.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, tt.want, l.ClientIP(r))
		})
	}
}

func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(t, Rule{Prefix: "/api/", Limit: 50, Window: time.Minute})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if l.Allow("192.0.2.1", "/api/x").Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 50, allowed)
}
