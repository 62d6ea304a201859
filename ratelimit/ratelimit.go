package ratelimit

import (
	"math"
	"sync"
	"time"
)

// DefaultWindow is the length of the sliding window used when
// [Config.Window] is zero or negative.
const DefaultWindow = 10 * time.Second

const (
	// numSlots is the number of sub-buckets per window.
	numSlots = 10
	// numShards is the number of independently locked shards (power of two).
	numShards = 64
	// shardShift turns a 64-bit hash into a shard index.
	shardShift = 64 - 6
)

// Bucket identifies one of the two independent budgets every API key has.
type Bucket int

// The buckets. Read covers safe methods, Write everything else.
const (
	Read Bucket = iota
	Write
)

// String returns "read" or "write"; any other value yields "unknown".
func (b Bucket) String() string {
	switch b {
	case Read:
		return "read"
	case Write:
		return "write"
	default:
		return "unknown"
	}
}

// BucketFor classifies an HTTP method: GET, HEAD and OPTIONS are [Read],
// every other method (including unknown, empty or non-canonical spellings
// such as "get", since HTTP methods are case-sensitive) is [Write], the more
// restrictive bucket. It never fails.
func BucketFor(method string) Bucket {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return Read
	default:
		return Write
	}
}

// Tier is a key's pricing tier, which selects its default limits.
type Tier string

// The documented tiers.
const (
	TierStarter      Tier = "starter"
	TierProfessional Tier = "professional"
	TierEnterprise   Tier = "enterprise"
)

// Valid reports whether t is one of the documented tiers; it returns false
// for anything else, including the empty string.
func (t Tier) Valid() bool {
	switch t {
	case TierStarter, TierProfessional, TierEnterprise:
		return true
	default:
		return false
	}
}

// normalize returns t, or TierStarter when t is not a documented tier.
func (t Tier) normalize() Tier {
	if t.Valid() {
		return t
	}
	return TierStarter
}

// Limits holds the per-window request budgets of the two buckets.
type Limits struct {
	ReadPerWindow  int
	WritePerWindow int
}

// For returns the budget of bucket b; any bucket other than [Read] gets the
// write budget.
func (l Limits) For(b Bucket) int {
	if b == Read {
		return l.ReadPerWindow
	}
	return l.WritePerWindow
}

// DefaultLimits returns the documented per-10-second budgets of tier (the
// per-second rate × 10). An unknown tier gets the starter limits, the most
// restrictive ones; it never fails.
func DefaultLimits(tier Tier) Limits {
	switch tier {
	case TierProfessional:
		return Limits{ReadPerWindow: 10000, WritePerWindow: 5000}
	case TierEnterprise:
		return Limits{ReadPerWindow: 50000, WritePerWindow: 25000}
	default:
		return Limits{ReadPerWindow: 2000, WritePerWindow: 1000}
	}
}

// Config configures a [Limiter]. The zero value enforces the documented
// limits over a 10-second window with the real clock.
type Config struct {
	// Window is the sliding-window length; zero or negative means
	// DefaultWindow. It is split into ten slots; the per-tier budgets of
	// DefaultLimits are not rescaled when Window changes.
	Window time.Duration
	// Override, when non-nil, replaces the budgets of every tier (doubling
	// still applies) and disables the per-slot burst cap. A budget ≤ 0
	// denies every request of that bucket.
	Override *Limits
	// Disabled turns rate limiting off: Allow admits everything and returns
	// a Decision with Enforced == false.
	Disabled bool
	// Now is the clock; nil means time.Now. It must be safe for concurrent
	// use.
	Now func() time.Time
	// Shared, when set, keeps the counts instead of this process's memory,
	// so that replicas share every key's budget (see SharedCounter and
	// allowShared for the tolerance).
	Shared SharedCounter
	// OnSharedError is called with each failure of Shared (the request is
	// then admitted); nil ignores them.
	OnSharedError func(error)
}

// Decision is the outcome of one [Limiter.Allow] call together with the
// values for the rate-limit response headers.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Enforced is false when limiting is disabled; callers then omit the
	// rate-limit headers and every other field is zero except Allowed.
	Enforced bool
	// Limit is the bucket's budget per window (X-RateLimit-Limit).
	Limit int
	// Remaining is the budget left in the current window after this
	// request (X-RateLimit-Remaining); never negative.
	Remaining int
	// Reset is the time until the oldest request counted in the window
	// leaves it (X-RateLimit-Reset); zero when the window is empty.
	Reset time.Duration
	// RetryAfter is the time until a request in this bucket would be
	// admitted (Retry-After); zero when Allowed, at least one second
	// otherwise.
	RetryAfter time.Duration
	// Tier is the tier whose limits were applied (X-RateLimit-Tier); an
	// unknown tier is reported as starter.
	Tier Tier
}

// ResetSeconds returns Reset rounded up to whole seconds, or 0 when Reset is
// zero or negative.
func (d Decision) ResetSeconds() int {
	return ceilSeconds(d.Reset)
}

// RetryAfterSeconds returns RetryAfter rounded up to whole seconds and at
// least 1 for a denied request; for an allowed request it returns 0.
func (d Decision) RetryAfterSeconds() int {
	if d.Allowed {
		return 0
	}
	return max(ceilSeconds(d.RetryAfter), 1)
}

// ceilSeconds rounds d up to whole seconds, clamping negatives to 0.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// window is the sliding-window counter of one (key, bucket).
type window struct {
	head   int64           // slot index of the most recent slot
	total  int32           // sum of counts
	counts [numSlots]int32 // ring indexed by slot % numSlots
}

// advance moves the window so that slot is the current slot, dropping the
// counts of slots that fell out of it.
func (w *window) advance(slot int64) {
	if slot <= w.head {
		return
	}
	if slot-w.head >= numSlots {
		w.counts = [numSlots]int32{}
		w.total = 0
	} else {
		for s := w.head + 1; s <= slot; s++ {
			i := s % numSlots
			w.total -= w.counts[i]
			w.counts[i] = 0
		}
	}
	w.head = slot
}

// entry is the state of one API key.
type entry struct {
	buckets [2]window
	last    int64 // tick of the last admitted request in either bucket
}

// shard is one lock domain of the limiter.
type shard struct {
	mu        sync.Mutex
	entries   map[int64]*entry
	lastSweep int64 // tick of the last lazy sweep
	_         [64]byte
}

// Limiter enforces per-key sliding-window limits. It is safe for concurrent
// use; the zero value is not usable, construct it with [New].
type Limiter struct {
	disabled  bool
	override  *Limits
	now       func() time.Time
	epoch     time.Time
	slotNanos int64
	winNanos  int64
	shards    [numShards]shard

	shared        SharedCounter
	onSharedError func(error)
}

// New returns a Limiter configured by cfg, applying the documented defaults
// for zero fields. It never fails; a Window shorter than ten nanoseconds is
// raised to ten nanoseconds.
func New(cfg Config) *Limiter {
	win := cfg.Window
	if win <= 0 {
		win = DefaultWindow
	}
	slot := int64(win) / numSlots
	if slot < 1 {
		slot = 1
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	l := &Limiter{
		disabled:  cfg.Disabled,
		now:       now,
		epoch:     now(),
		slotNanos: slot,
		winNanos:  slot * numSlots,

		shared:        cfg.Shared,
		onSharedError: cfg.OnSharedError,
	}
	if cfg.Override != nil {
		o := *cfg.Override
		l.override = &o
	}
	for i := range l.shards {
		l.shards[i].entries = make(map[int64]*entry)
	}
	return l
}

// tick returns the limiter-relative time of t in nanoseconds, never negative.
func (l *Limiter) tick(t time.Time) int64 {
	return max(int64(t.Sub(l.epoch)), 0)
}

// shardFor returns the shard owning key.
func (l *Limiter) shardFor(key int64) *shard {
	return &l.shards[(uint64(key)*0x9E3779B97F4A7C15)>>shardShift]
}

// Allow records a request of API key key in bucket and reports whether it is
// admitted, along with the header values. tier selects the default limits
// (unknown tiers get starter limits); doubled (mcp clients) doubles the
// budget and the burst cap; a bucket other than Read is treated as Write.
// A denied request is not counted. When the limiter is disabled it returns
// Decision{Allowed: true} with Enforced false; when the bucket's budget is
// ≤ 0 it denies with a RetryAfter of one window (at least 1 s).
func (l *Limiter) Allow(key int64, tier Tier, bucket Bucket, doubled bool) Decision {
	if l.disabled {
		return Decision{Allowed: true}
	}
	tier = tier.normalize()
	if bucket != Read {
		bucket = Write
	}

	var limit, burst int64
	if l.override != nil {
		limit = int64(l.override.For(bucket))
	} else {
		limit = int64(DefaultLimits(tier).For(bucket))
		burst = limit * 3 / (2 * numSlots)
	}
	if doubled {
		limit *= 2
		burst *= 2
	}
	limit = min(limit, math.MaxInt32)
	burst = min(burst, math.MaxInt32)

	d := Decision{Enforced: true, Limit: int(max(limit, 0)), Tier: tier}
	if limit <= 0 {
		d.RetryAfter = max(time.Duration(l.winNanos), time.Second)
		return d
	}
	if l.shared != nil {
		return l.allowShared(key, bucket, limit, burst, d)
	}

	tick := l.tick(l.now())
	sh := l.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()

	if tick-sh.lastSweep >= l.winNanos {
		l.sweepShard(sh, tick)
		sh.lastSweep = tick
	}

	e := sh.entries[key]
	if e == nil {
		e = &entry{last: tick}
		e.buckets[Read].head = tick / l.slotNanos
		e.buckets[Write].head = tick / l.slotNanos
		sh.entries[key] = e
	}
	w := &e.buckets[bucket]

	cur := tick / l.slotNanos
	if cur < w.head { // clock went backwards: behave as if no time passed
		cur = w.head
		tick = cur * l.slotNanos
	}
	w.advance(cur)

	curIdx := cur % numSlots
	switch {
	case int64(w.total) >= limit:
		d.Remaining = 0
		d.Reset = l.oldestExpiry(w, cur, tick)
		d.RetryAfter = l.freeAt(w, cur, tick, int64(w.total)-limit+1)
	case burst > 0 && int64(w.counts[curIdx]) >= burst:
		d.Remaining = int(limit - int64(w.total))
		d.Reset = l.oldestExpiry(w, cur, tick)
		d.RetryAfter = time.Duration((cur+1)*l.slotNanos - tick)
	default:
		w.counts[curIdx]++
		w.total++
		e.last = max(e.last, tick)
		d.Allowed = true
		d.Remaining = int(limit - int64(w.total))
		d.Reset = l.oldestExpiry(w, cur, tick)
		return d
	}
	d.RetryAfter = max(d.RetryAfter, time.Second)
	return d
}

// oldestExpiry returns the time from tick until the oldest non-empty slot of
// w (whose current slot is cur) leaves the window, or 0 if w is empty.
func (l *Limiter) oldestExpiry(w *window, cur, tick int64) time.Duration {
	if w.total == 0 {
		return 0
	}
	// Slot cur-numSlots+j (j = 1..numSlots) lives at ring index
	// (cur+j) % numSlots and leaves the window when slot cur+j starts.
	for j := int64(1); j <= numSlots; j++ {
		if w.counts[(cur+j)%numSlots] > 0 {
			return time.Duration((cur+j)*l.slotNanos - tick)
		}
	}
	return 0
}

// freeAt returns the time from tick until at least need counted requests of
// w (whose current slot is cur) have left the window.
func (l *Limiter) freeAt(w *window, cur, tick, need int64) time.Duration {
	var freed int64
	for j := int64(1); j <= numSlots; j++ { // oldest slot first, as above
		freed += int64(w.counts[(cur+j)%numSlots])
		if freed >= need {
			return time.Duration((cur+j)*l.slotNanos - tick)
		}
	}
	// Unreachable while need ≤ total; a full window is the safe answer.
	return time.Duration(l.winNanos)
}

// sweepShard removes the entries of sh whose windows are empty at tick and
// returns how many it removed. The caller holds sh.mu.
func (l *Limiter) sweepShard(sh *shard, tick int64) int {
	n := 0
	for k, e := range sh.entries {
		if tick-e.last >= l.winNanos {
			delete(sh.entries, k)
			n++
		}
	}
	return n
}

// Sweep evicts every key whose last admitted request is at least one window
// older than now (its windows are empty, so forgetting it changes nothing)
// and returns the number of keys evicted. Allow already sweeps lazily; Sweep
// lets callers release memory when traffic stops. It never fails.
func (l *Limiter) Sweep(now time.Time) int {
	tick := l.tick(now)
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += l.sweepShard(sh, tick)
		if tick > sh.lastSweep {
			sh.lastSweep = tick
		}
		sh.mu.Unlock()
	}
	return n
}

// Len returns the number of API keys currently tracked; it is meant for
// metrics and tests.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}
