package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// SharedCounter keeps request counts for every replica of a deployment (the
// reference server's PostgreSQL backend implements it), so that a key's
// budget is one budget however many replicas serve it.
type SharedCounter interface {
	// TakeSlot adds one request to bucket's count in slot unless limit is
	// positive and the counts of slots (slot-span, slot] sum to limit or
	// more, or burst is positive and slot's count is burst or more; limit
	// 0 always adds. It reports whether it added and the sum over the span
	// afterwards; expires is when slot's count may be forgotten.
	TakeSlot(ctx context.Context, bucket string, slot, span, limit, burst int64, expires time.Time) (added bool, total int64, err error)
}

// sharedTimeout bounds one shared-counter call.
const sharedTimeout = 2 * time.Second

// allowShared is Allow with a SharedCounter: the window is the same ten
// slots, numbered from the Unix epoch so that replicas agree, and each
// slot's count lives in the counter. Tolerance: like the in-memory limiter,
// the oldest slot leaves the window whole (the window is approximated by
// ten slots), replicas' clocks must agree to well within a slot, Reset is
// the time to the next slot boundary and RetryAfter a lower bound of the
// wait. A counter failure admits the request (fail open) with Enforced
// false, and is reported to Config.OnSharedError.
func (l *Limiter) allowShared(key int64, bucket Bucket, limit, burst int64, d Decision) Decision {
	now := l.now()
	ns := now.UnixNano()
	slot := ns / l.slotNanos
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	name := fmt.Sprintf("key:%d:%s", key, bucket)
	expires := time.Unix(0, (slot+numSlots+1)*l.slotNanos)
	added, total, err := l.shared.TakeSlot(ctx, name, slot, numSlots, limit, burst, expires)
	if err != nil {
		if l.onSharedError != nil {
			l.onSharedError(err)
		}
		return Decision{Allowed: true}
	}
	toNext := time.Duration((slot+1)*l.slotNanos - ns)
	d.Remaining = int(max(limit-total, 0))
	d.Reset = toNext
	if added {
		d.Allowed = true
		return d
	}
	d.RetryAfter = max(toNext, time.Second)
	return d
}
