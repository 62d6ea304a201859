// Package ratelimit implements Spotzee's documented per-API-key rate limits
// as pure, transport-agnostic logic: the HTTP layer classifies the request
// ([BucketFor]), calls [Limiter.Allow] and renders the returned [Decision] as
// X-RateLimit-* / Retry-After headers. The package imports nothing from the
// rest of the module and nothing from net/http.
//
// # Model
//
// Every API key has two independent buckets, [Read] (GET, HEAD, OPTIONS) and
// [Write] (everything else). Each bucket has a budget of requests per sliding
// window (10 s by default). [DefaultLimits] derives the budget from the
// documented per-second rates times the window length:
//
//	tier          read/s  write/s  read/10s  write/10s
//	starter          200      100      2000       1000
//	professional    1000      500     10000       5000
//	enterprise      5000     2500     50000      25000
//
// An unknown tier is treated as starter (the most restrictive tier), both for
// the limits applied and for [Decision.Tier]. Keys of the mcp client type pass
// doubled=true, which doubles the window budget and the burst cap. Limits are
// looked up on every call, so a tier change (or a change of the doubled flag)
// takes effect immediately against the requests already counted.
//
// # Burst interpretation
//
// The documentation grants a "burst allowance 1.5x over the 10 s window". The
// window budget is already rate × 10 s, so the allowance is read as a cap on
// how much of it may be spent in a single second: in any one-second slot at
// most 1.5 × the per-second rate is admitted (starter read: 300 per second,
// 2000 per 10 s). A client may therefore front-load its window (e.g. 300, 300,
// ... then 200 in the seventh second) but cannot spend it all at once.
// Generalised to a configurable window, the cap is 1.5 × budget / 10 per slot.
// The one-second sub-windows are the limiter's slots (below), so they are
// aligned to slot boundaries rather than sliding. When [Config.Override] is set
// the burst cap is disabled: override budgets are meant to trip the window
// limit with a handful of requests, where a 15 % per-slot cap would round to
// almost nothing. A request denied by the burst cap carries a RetryAfter that
// points at the next slot and may report Remaining > 0 (window budget left).
//
// # Algorithm
//
// A sliding-window counter with ten sub-buckets ("slots") of Window/10 each
// (1 s by default), kept per (key, bucket) as a ring of counters plus a
// running total. An exact ring of timestamps would need one entry per
// admitted request (50 000 per enterprise key, 100 000 for enterprise mcp); a
// GCRA needs one timestamp but is not a sliding window (after idling it
// admits up to twice the budget within one window). The slot counter uses a
// fixed ~120 bytes per key (both buckets), is O(1) per call, and is accurate
// to one slot:
//
//   - The window at time t is the current slot plus the nine before it. A
//     request made in slot k is counted until slot k+10 starts, i.e. it is
//     forgotten between Window−slot and Window after it was made. Recovery is
//     therefore guaranteed once a full Window has elapsed, and partial
//     recovery happens slot by slot as the window slides.
//   - Within any slot-aligned window at most Limit requests are admitted; in
//     an arbitrary unaligned interval of length Window at most Limit plus the
//     requests of one slot (≤ the burst cap) can be admitted.
//   - Slots are aligned to the instant [New] was called (monotonic clock), so
//     tests with an injected clock see deterministic boundaries.
//
// Denied requests do not consume budget.
//
// # Headers
//
// [Decision.Limit] is the window budget of the bucket (X-RateLimit-Limit),
// [Decision.Remaining] the budget left in the current window after this
// request (X-RateLimit-Remaining, never negative), [Decision.Reset] the time
// until the oldest counted request leaves the window (X-RateLimit-Reset, render
// with [Decision.ResetSeconds]: rounded up, ≥ 0) and [Decision.RetryAfter] the
// time until a request in this bucket would be admitted (Retry-After on 429,
// render with [Decision.RetryAfterSeconds]: rounded up, ≥ 1). Reset and
// RetryAfter are computed from slot boundaries, so they are exact with respect
// to the limiter's own behaviour: retrying after RetryAfter succeeds (absent
// competing requests and limit changes).
//
// # Memory and concurrency
//
// State lives in 64 mutex-protected shards keyed by API key; a key's entry
// holds both buckets. An entry whose last admitted request is at least one
// Window old has an empty window and is evicted: each shard sweeps itself
// lazily during Allow at most once per Window, and [Limiter.Sweep] sweeps all
// shards (call it from a ticker if traffic may stop entirely and the memory
// must be released). Allow does not allocate except when a key is first seen.
//
// The clock is read through [Config.Now]; if it goes backwards, the limiter
// behaves as if no time had passed.
package ratelimit
