package httpapi

import (
	"net"
	"sync"
	"time"
)

// Defaults of the failed-authentication throttle: what `spotzee-keys serve`
// uses (Config.AuthFailures and Config.AuthFailureWindow).
const (
	DefaultAuthFailures      = 20
	DefaultAuthFailureWindow = time.Minute
	// maxThrottled bounds the addresses the throttle remembers; past it,
	// expired entries are swept.
	maxThrottled = 10000
)

// authThrottle counts failed authentications (an unknown, revoked or
// non-secret key) per client address in fixed windows. Once an address has
// failed limit times in a window, every request from it is refused with 429
// until the window ends, before its key is even looked up, so keys cannot
// be guessed at speed. It is safe for concurrent use.
type authThrottle struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

func newAuthThrottle(limit int, window time.Duration, now func() time.Time) *authThrottle {
	if limit <= 0 {
		return nil
	}
	if window <= 0 {
		window = DefaultAuthFailureWindow
	}
	return &authThrottle{limit: limit, window: window, now: now, addrs: map[string]*failures{}}
}

// clientAddr returns the host part of a request's RemoteAddr: the throttle
// counts per address, not per connection. X-Forwarded-For is not trusted.
func clientAddr(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// blocked returns how long addr must wait before its next authentication is
// tried: 0 when it may go ahead. A nil throttle blocks nothing.
func (a *authThrottle) blocked(addr string) time.Duration {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.addrs[addr]
	if f == nil {
		return 0
	}
	left := f.start.Add(a.window).Sub(a.now())
	if left <= 0 || f.n < a.limit {
		return 0
	}
	return left
}

// fail records a failed authentication from addr.
func (a *authThrottle) fail(addr string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	f := a.addrs[addr]
	if f == nil || !now.Before(f.start.Add(a.window)) {
		if len(a.addrs) >= maxThrottled {
			for k, v := range a.addrs {
				if !now.Before(v.start.Add(a.window)) {
					delete(a.addrs, k)
				}
			}
		}
		a.addrs[addr] = &failures{start: now, n: 1}
		return
	}
	f.n++
}
