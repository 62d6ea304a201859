package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// growthSizes are the project sizes the growth benchmarks compare; the
// first is the baseline.
var growthSizes = []int{100, 100_000}

// BenchmarkGrowth measures how the cost of three calls grows with the
// number of keys in the project, 100 against 100,000, on SQLite files (the
// 100,000-key one is seeded once per test binary with SeedKeysFile, a few
// seconds, and shared by the sub-benchmarks):
//
//   - list: the first page of GET /keys (default order, 25 keys, with
//     X-Total-Count), in-process through the full stack (varFull);
//   - authenticate: keys.Service.Authenticate of the admin key, the bearer
//     lookup every request does (SHA-256 and one indexed read);
//   - get: GET /keys/{id} of a key in the middle of the project,
//     in-process through the full stack (bearer lookup and key read);
//   - search: the first page of GET /keys?q=seed 42 (issue #13's target: a
//     q search within 1.5x; today a LIKE scan, so it is not met).
//
// Each is compared (see compare) across the two sizes, and the target is
// that 100,000 keys stay within 1.5x of 100.
func BenchmarkGrowth(b *testing.B) {
	envs := make([]*env, len(growthSizes))
	for i, n := range growthSizes {
		envs[i] = sharedEnv(b, n)
	}
	calls := []struct {
		name string
		call func(e *env) error
	}{
		{"list", func(e *env) error {
			w := serveHTTP(e.handlers[varFull], e.newRequest(http.MethodGet, inProcessBase+"/keys", ""))
			if w.Code != http.StatusOK {
				return fmt.Errorf("list: status %d: %s", w.Code, w.Body)
			}
			return nil
		}},
		{"authenticate", func(e *env) error {
			_, err := e.ref.Service().Authenticate(context.Background(), e.adminKey)
			return err
		}},
		{"search", func(e *env) error {
			w := serveHTTP(e.handlers[varFull], e.newRequest(http.MethodGet, inProcessBase+"/keys?q=seed%2042", ""))
			if w.Code != http.StatusOK {
				return fmt.Errorf("search: status %d: %s", w.Code, w.Body)
			}
			return nil
		}},
		{"get", func(e *env) error {
			w := serveHTTP(e.handlers[varFull], e.newRequest(http.MethodGet, fmt.Sprintf("%s/keys/%d", inProcessBase, e.middleKey()), ""))
			if w.Code != http.StatusOK {
				return fmt.Errorf("get: status %d: %s", w.Code, w.Body)
			}
			return nil
		}},
	}
	var sb strings.Builder
	for _, call := range calls {
		b.Run(call.name, func(b *testing.B) {
			var vs []variant
			for i, n := range growthSizes {
				e := envs[i]
				vs = append(vs, variant{name: fmt.Sprintf("%dkeys", n), call: func(timer) error { return call.call(e) }})
			}
			c := compare(b, vs)
			sb.WriteString(c.summary(fmt.Sprintf("Growth %s: SQLite file, in-process", call.name)))
			if x, ok := c.ratio(vs[1].name); ok {
				sb.WriteString("  " + verdict(call.name+" with 100,000 keys ≤ 1.5x 100 keys", x, 1.5, true) + "\n")
			}
		})
	}
	report(sb.String())
}
