package edgelimit

import (
	"context"
	"time"
)

// SharedCounter keeps request counts for every replica of a deployment (the
// reference server's PostgreSQL backend implements it; the interface is
// ratelimit.SharedCounter's), so that an IP's edge budget is one budget
// however many replicas it reaches.
type SharedCounter interface {
	// TakeSlot adds one request to bucket's count in slot (limit 0: always)
	// and reports the sum over slots (slot-span, slot] afterwards; expires
	// is when slot's count may be forgotten.
	TakeSlot(ctx context.Context, bucket string, slot, span, limit, burst int64, expires time.Time) (added bool, total int64, err error)
}

// allowShared is Allow with a SharedCounter. Tolerance: each rule's fixed
// window is aligned to the clock (slot = Unix time / window) rather than
// started by the IP's first request, so a burst that straddles a boundary
// may pass up to twice the limit within one window length (as any fixed
// window allows); replicas' clocks must agree. A counter failure admits the
// request (fail open) and is reported to Config.OnSharedError.
func (l *Limiter) allowShared(ip, path string) Decision {
	now := l.now()
	ns := now.UnixNano()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d := Decision{Allowed: true}
	for _, r := range l.rules {
		if !r.matches(path) {
			continue
		}
		win := int64(r.Window)
		slot := ns / win
		end := time.Unix(0, (slot+1)*win)
		_, total, err := l.shared.TakeSlot(ctx, "edge:"+r.Prefix+":"+ip, slot, 1, 0, 0, end)
		if err != nil {
			if l.onSharedError != nil {
				l.onSharedError(err)
			}
			continue
		}
		if total > int64(r.Limit) {
			retry := end.Sub(now)
			if d.Allowed || retry > d.RetryAfter {
				d = Decision{Rule: r, RetryAfter: retry}
			}
		}
	}
	return d
}
