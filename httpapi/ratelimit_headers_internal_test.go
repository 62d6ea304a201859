package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/spotzeekit/spotzee-keys/ratelimit"
)

// TestRateLimitHeaderValues checks the X-RateLimit-* values the response
// writer formats, with numbers of several widths (they share one string).
func TestRateLimitHeaderValues(t *testing.T) {
	t.Parallel()
	for _, d := range []ratelimit.Decision{
		{Enforced: true, Allowed: true, Limit: 1_073_741_824, Remaining: 1_073_741_000, Reset: 59500 * time.Millisecond, Tier: "growth"},
		{Enforced: true, Allowed: true, Limit: 600, Remaining: 0, Reset: 0, Tier: "starter"},
		{Enforced: true, Allowed: true, Limit: 7, Remaining: 12345, Reset: 3 * time.Second, Tier: "scale"},
	} {
		rec := httptest.NewRecorder()
		w := &stampWriter{ResponseWriter: rec, st: &state{requestID: "req_1", version: CurrentVersion, method: http.MethodGet, rated: true, rate: d}}
		w.WriteHeader(http.StatusOK)
		h := rec.Header()
		assert.Equal(t, []string{itoa(d.Limit)}, h.Values("X-RateLimit-Limit"))
		assert.Equal(t, []string{itoa(d.Remaining)}, h.Values("X-RateLimit-Remaining"))
		assert.Equal(t, []string{itoa(d.ResetSeconds())}, h.Values("X-RateLimit-Reset"))
		assert.Equal(t, []string{string(d.Tier)}, h.Values("X-RateLimit-Tier"))
	}
}

// itoa is strconv.Itoa, written out so the test does not share the code
// it checks.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// BenchmarkRateLimitHeaders measures what the rate-limit headers add to a
// response's WriteHeader (the limiter's budgets as the load command sets
// them: ten-digit numbers).
//
//	go test ./httpapi -run '^$' -bench RateLimitHeaders -benchmem
func BenchmarkRateLimitHeaders(b *testing.B) {
	d := ratelimit.Decision{Enforced: true, Allowed: true, Limit: 1 << 30, Remaining: 1<<30 - 5, Reset: 59 * time.Second, Tier: "starter"}
	for _, rated := range []bool{false, true} {
		name := "off"
		if rated {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			st := &state{requestID: "req_1", version: CurrentVersion, method: http.MethodGet, rated: rated, rate: d}
			rw := discardWriter{h: http.Header{}}
			for b.Loop() {
				clear(rw.h)
				w := stampWriter{ResponseWriter: rw, st: st}
				w.WriteHeader(http.StatusOK)
			}
		})
	}
}

// discardWriter is an http.ResponseWriter that keeps only its header map.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}
