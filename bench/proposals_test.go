package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keys"
)

// This file measures, outside the packages that own them, fixes that
// profiling pointed to but that were not taken (see docs/performance.md), so
// that their gain is a figure rather than a guess. (The prepared-statement
// cache it first prototyped now lives in sqlite/.)

// cachedAuthStore answers KeyByHash from memory after the first lookup of a
// hash: the upper bound of what caching authentication could gain. It never
// forgets a key, so it is only a measurement: a real cache must drop a key
// when it is revoked or changed (see docs/performance.md).
type cachedAuthStore struct {
	spotzee.Store
	cache sync.Map // string(hash) -> spotzee.APIKey
}

func (s *cachedAuthStore) KeyByHash(ctx context.Context, hash []byte) (spotzee.APIKey, error) {
	if k, ok := s.cache.Load(string(hash)); ok {
		return k.(spotzee.APIKey), nil
	}
	k, err := s.Store.KeyByHash(ctx, hash)
	if err == nil {
		s.cache.Store(string(hash), k)
	}
	return k, err
}

// BenchmarkProposals measures GET /keys/{id} in-process through the full
// stack (varFull: conventions, validation with the bearer lookup, strict
// handler) on a SQLite file holding 1000 keys, as it is ("current") and with
// the bearer lookup answered from memory ("authcache", an upper bound of a
// cache of authenticated keys). It compares them (see compare).
func BenchmarkProposals(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keys.db")
	e := newEnv(b, path, 1000)
	handler := func(store spotzee.Store) http.Handler {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		h, err := httpapi.NewHandler(httpapi.Config{
			Service: keys.New(store, secret), Idempotency: e.ref.Store(), IdempotencySecret: secret, Logger: discard,
		})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	url := fmt.Sprintf("%s/keys/%d", inProcessBase, e.middleKey())
	get := func(name string, h http.Handler) variant {
		return variant{name: name, call: func(timer) error {
			if w := serveHTTP(h, e.newRequest(http.MethodGet, url, "")); w.Code != http.StatusOK {
				return fmt.Errorf("status %d: %s", w.Code, w.Body)
			}
			return nil
		}}
	}
	c := compare(b, []variant{
		get("current", e.handlers[varFull]),
		get("authcache", handler(&cachedAuthStore{Store: e.ref.Store()})),
	})
	var sb strings.Builder
	sb.WriteString(c.summary("Proposals: GET /keys/{id} in-process, full stack, SQLite file, 1000 keys"))
	report(sb.String())
}
