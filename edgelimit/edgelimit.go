// Package edgelimit is the reference server's model of Spotzee's per-IP edge
// limits, which production enforces today in front of the API: every request
// under a path prefix counts against its client IP's budget, authenticated or
// not, whatever its answer. Each rule is a fixed window per IP; an IP with no
// request in the last window is forgotten, so memory is bounded by the IPs
// active within the longest window.
package edgelimit

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Rule is one budget: at most Limit requests per Window per client IP, for
// paths equal to Prefix without its trailing slash or starting with Prefix.
type Rule struct {
	// Prefix selects the paths the rule counts, e.g. "/api/client/".
	Prefix string
	// Limit is the number of requests allowed per window (≥ 1).
	Limit int
	// Window is the fixed window length (> 0).
	Window time.Duration
}

// matches reports whether path is under the rule's prefix.
func (r Rule) matches(path string) bool {
	return strings.HasPrefix(path, r.Prefix) || path == strings.TrimSuffix(r.Prefix, "/")
}

// Spotzee's documented edge limits.
var (
	// ClientRule: /api/client/*, 8,000 requests per minute per IP.
	ClientRule = Rule{Prefix: "/api/client/", Limit: 8000, Window: time.Minute}
	// APIRule: /api/* (client, admin and ext surfaces), 1,000 requests per
	// 10 seconds per IP.
	APIRule = Rule{Prefix: "/api/", Limit: 1000, Window: 10 * time.Second}
)

// DefaultRules returns Spotzee's documented edge limits.
func DefaultRules() []Rule { return []Rule{ClientRule, APIRule} }

// Config configures a Limiter. The zero value is Spotzee's documented limits
// keyed by the connection's address.
type Config struct {
	// Disabled turns the edge limits off (New returns nil).
	Disabled bool
	// Rules are the budgets; nil means DefaultRules. A request counts
	// against every rule whose prefix it is under.
	Rules []Rule
	// TrustedProxyHeader names a header set by a proxy in front of the
	// server (e.g. X-Forwarded-For) whose right-most address is the client
	// IP; empty means the connection's address (RemoteAddr) is.
	TrustedProxyHeader string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Shared, when set, keeps the counts instead of this process's memory,
	// so that replicas share every IP's budget (see allowShared for the
	// tolerance).
	Shared SharedCounter
	// OnSharedError is called with each failure of Shared (the request is
	// then admitted); nil ignores them.
	OnSharedError func(error)
}

// Validate returns an error naming the first rule that has no prefix, a
// limit below 1 or a window that is not positive; nil otherwise.
func (c Config) Validate() error {
	for i, r := range c.Rules {
		if r.Prefix == "" || r.Limit < 1 || r.Window <= 0 {
			return fmt.Errorf("edgelimit: rule %d (%q): need a prefix, a limit ≥ 1 and a positive window", i, r.Prefix)
		}
	}
	return nil
}

// Decision is the outcome of one request.
type Decision struct {
	// Allowed is false when a rule's budget for the IP is spent.
	Allowed bool
	// Rule is the refusing rule (the one whose window ends last) when
	// Allowed is false.
	Rule Rule
	// RetryAfter is how long until the refusing rule's window ends.
	RetryAfter time.Duration
}

// RetryAfterSeconds returns RetryAfter rounded up to whole seconds, at
// least 1.
func (d Decision) RetryAfterSeconds() int {
	s := int((d.RetryAfter + time.Second - 1) / time.Second)
	return max(1, s)
}

// window is one IP's count in one rule's current fixed window.
type window struct {
	start time.Time
	count int
}

// Limiter counts requests per client IP. It is safe for concurrent use.
type Limiter struct {
	rules  []Rule
	header string
	now    func() time.Time
	maxWin time.Duration

	mu        sync.Mutex
	ips       map[string][]window // one window per rule, by client IP
	lastSweep time.Time

	shared        SharedCounter
	onSharedError func(error)
}

// ErrInvalidConfig is wrapped by New's error for a bad rule.
var ErrInvalidConfig = errors.New("edgelimit: invalid config")

// New returns a limiter for cfg, or nil (no limits) when cfg.Disabled. It
// returns an error wrapping ErrInvalidConfig when a rule is malformed.
func New(cfg Config) (*Limiter, error) {
	if cfg.Disabled {
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	rules := cfg.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	l := &Limiter{
		rules:  append([]Rule(nil), rules...),
		header: http.CanonicalHeaderKey(strings.TrimSpace(cfg.TrustedProxyHeader)),
		now:    cfg.Now,
		ips:    map[string][]window{},

		shared:        cfg.Shared,
		onSharedError: cfg.OnSharedError,
	}
	if l.now == nil {
		l.now = time.Now
	}
	for _, r := range l.rules {
		l.maxWin = max(l.maxWin, r.Window)
	}
	return l, nil
}

// Rules returns the limiter's budgets.
func (l *Limiter) Rules() []Rule { return append([]Rule(nil), l.rules...) }

// Allow counts one request to path from ip against every rule the path is
// under, and reports whether all of them still had budget. A refused
// request counts too (every request counts at the edge); with fixed
// windows that does not move the moment the budget comes back.
func (l *Limiter) Allow(ip, path string) Decision {
	if l.shared != nil {
		return l.allowShared(ip, path)
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	d := Decision{Allowed: true}
	var wins []window
	for i, r := range l.rules {
		if !r.matches(path) {
			continue
		}
		if wins == nil {
			wins = l.ips[ip]
			if wins == nil {
				wins = make([]window, len(l.rules))
				l.ips[ip] = wins
			}
		}
		w := &wins[i]
		if w.start.IsZero() || !now.Before(w.start.Add(r.Window)) {
			w.start, w.count = now, 0
		}
		w.count++
		if w.count > r.Limit {
			retry := w.start.Add(r.Window).Sub(now)
			if d.Allowed || retry > d.RetryAfter {
				d = Decision{Rule: r, RetryAfter: retry}
			}
		}
	}
	return d
}

// sweep forgets IPs whose windows have all ended, at most once per longest
// window. Called with l.mu held.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.maxWin {
		return
	}
	l.lastSweep = now
	for ip, wins := range l.ips {
		idle := true
		for i, w := range wins {
			if !w.start.IsZero() && now.Before(w.start.Add(l.rules[i].Window)) {
				idle = false
				break
			}
		}
		if idle {
			delete(l.ips, ip)
		}
	}
}

// tracked returns how many IPs the limiter remembers (for tests).
func (l *Limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ips)
}

// ClientIP returns the IP a request is counted under: the right-most
// address of the trusted proxy header when one is configured and the
// request carries a parsable one (the address the nearest proxy saw, which
// a client cannot forge by sending the header itself), otherwise the host of
// r.RemoteAddr (the whole RemoteAddr when it has no port).
func (l *Limiter) ClientIP(r *http.Request) string {
	if l.header != "" {
		if ip := rightMost(r.Header.Values(l.header)); ip != "" {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rightMost returns the last address of a comma-separated header (over all
// its lines), normalised, or "" when that entry is not an IP address.
func rightMost(values []string) string {
	if len(values) == 0 {
		return ""
	}
	parts := strings.Split(values[len(values)-1], ",")
	s := strings.TrimSpace(parts[len(parts)-1])
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	ip := net.ParseIP(strings.Trim(s, "[]"))
	if ip == nil {
		return ""
	}
	return ip.String()
}
