package authcache_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/authcache"
)

// put makes k the key of the value value (its hash) and of its id, in a
// project of tier tier, and returns the hash.
func (f *fakeStore) put(value string, k spotzee.APIKey, tier spotzee.Tier) []byte {
	h := sha256.Sum256([]byte(value))
	f.mu.Lock()
	f.keys[h], f.byID[k.ID], f.tiers[k.ProjectID] = k, k, tier
	f.mu.Unlock()
	return h[:]
}

// TestCompactRoundTrip checks that what the cache answers from memory is
// exactly what the store returned, for keys of every shape the compact
// form holds, through each bearer read.
func TestCompactRoundTrip(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	at := func(t time.Time) *time.Time { return &t }
	created := time.Date(2026, 11, 29, 22, 1, 2, 123456789, time.UTC)
	base := spotzee.APIKey{ID: 7, ProjectID: 3, Name: "seed 1", Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin,
		ValuePrefix: "sk_", Last4: "0001", CreatedAt: created, UpdatedAt: created.Add(time.Hour)}
	tests := []struct {
		name string
		edit func(k *spotzee.APIKey)
		tier spotzee.Tier
	}{
		{"plain", func(*spotzee.APIKey) {}, spotzee.TierStarter},
		{"empty description", func(k *spotzee.APIKey) { k.Description = str("") }, spotzee.TierStarter},
		{"description", func(k *spotzee.APIKey) { k.Description = str("für den Newsletter ✉") }, spotzee.TierProfessional},
		{"long strings", func(k *spotzee.APIKey) {
			k.Name, k.Description = strings.Repeat("n", 300), str(strings.Repeat("d", 5000))
		}, spotzee.TierEnterprise},
		{"empty name and last four", func(k *spotzee.APIKey) { k.Name, k.Last4 = "", "" }, spotzee.TierStarter},
		{"revoked", func(k *spotzee.APIKey) { k.RevokedAt = at(created.Add(2 * time.Hour)) }, spotzee.TierStarter},
		{"system public support", func(k *spotzee.APIKey) {
			k.IsSystem, k.Scope, k.Role, k.ValuePrefix = true, spotzee.ScopePublic, spotzee.RoleSupport, "pk_"
		}, spotzee.TierStarter},
		{"zero times", func(k *spotzee.APIKey) { k.CreatedAt, k.UpdatedAt = time.Time{}, time.Time{} }, spotzee.TierStarter},
		{"times before 1970 and far ahead", func(k *spotzee.APIKey) {
			k.CreatedAt = time.Date(1901, 1, 1, 0, 0, 0, 1, time.UTC)
			k.UpdatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
		}, spotzee.TierStarter},
		{"updated before created, created zero", func(k *spotzee.APIKey) {
			k.UpdatedAt, k.CreatedAt = k.CreatedAt.Add(-time.Hour), time.Time{}
		}, spotzee.TierStarter},
		{"negative and large ids", func(k *spotzee.APIKey) { k.ID, k.ProjectID = -5, 1<<62 }, spotzee.TierStarter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := base
			tt.edit(&k)
			target := base
			target.ID, target.ProjectID = k.ID+1, k.ProjectID
			target.Description = str("target")

			f, s := newFake(), &stamps{}
			hash := f.put("sk_caller", k, tt.tier)
			f.put("sk_target", target, tt.tier)
			c := authcache.New[uint64](f, s, 0)
			for i := range 2 { // a miss, then a hit
				got, err := c.KeyByHash(context.Background(), hash)
				require.NoError(t, err)
				assert.Equal(t, k, got, "KeyByHash, read %d", i)

				got, tier, err := c.KeyAndTierByHash(context.Background(), hash)
				require.NoError(t, err)
				assert.Equal(t, k, got, "KeyAndTierByHash, read %d", i)
				assert.Equal(t, tt.tier, tier)

				both, err := c.CallerAndKeyByHash(context.Background(), hash, target.ID)
				require.NoError(t, err)
				assert.Equal(t, spotzee.CallerAndKey{Caller: k, Tier: tt.tier, Key: target}, both, "CallerAndKeyByHash, read %d", i)
			}
			assert.EqualValues(t, 3, f.calls.Load(), "the second reads are hits")
		})
	}
}

// TestCompactNotExact checks that a key the compact form cannot give back
// exactly is not kept, and is returned as the store returned it.
func TestCompactNotExact(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 29, 22, 1, 2, 3, time.UTC)
	tests := []struct {
		name string
		edit func(k *spotzee.APIKey)
	}{
		{"unknown role", func(k *spotzee.APIKey) { k.Role = "owner" }},
		{"unknown scope", func(k *spotzee.APIKey) { k.Scope = "private" }},
		{"unknown prefix", func(k *spotzee.APIKey) { k.ValuePrefix = "xk_" }},
		{"a time in another zone", func(k *spotzee.APIKey) { k.CreatedAt = created.In(time.FixedZone("CET", 3600)) }},
		{"a local time", func(k *spotzee.APIKey) { k.UpdatedAt = created.Local() }},
		{"a monotonic reading", func(k *spotzee.APIKey) { k.UpdatedAt = time.Now() }},
		{"a revocation in another zone", func(k *spotzee.APIKey) {
			r := created.In(time.FixedZone("X", -7200))
			k.RevokedAt = &r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := spotzee.APIKey{ID: 1, ProjectID: 1, Name: "n", Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin,
				ValuePrefix: "sk_", CreatedAt: created, UpdatedAt: created}
			tt.edit(&k)
			f, s := newFake(), &stamps{}
			hash := f.put("sk_caller", k, spotzee.TierStarter)
			c := authcache.New[uint64](f, s, 0)
			for range 2 {
				got, err := c.KeyByHash(context.Background(), hash)
				require.NoError(t, err)
				assert.Equal(t, k, got)
			}
			assert.EqualValues(t, 2, f.calls.Load(), "both reads went to the store")
			assert.Zero(t, c.Stats().Entries)
		})
	}
}

// TestCompactUnknownTier checks that a tier outside the known ones is not
// kept either.
func TestCompactUnknownTier(t *testing.T) {
	t.Parallel()
	f, s := newFake(), &stamps{}
	hash := f.put("sk_caller", spotzee.APIKey{ID: 1, ProjectID: 1}, "platinum")
	c := authcache.New[uint64](f, s, 0)
	for range 2 {
		_, tier, err := c.KeyAndTierByHash(context.Background(), hash)
		require.NoError(t, err)
		assert.Equal(t, spotzee.Tier("platinum"), tier)
	}
	assert.EqualValues(t, 2, f.calls.Load())
}

// fill adds n keys of project 1 (ids 2 to n+1) to f, and the caller
// sk_caller (id 1), whose hash it returns.
func fill(f *fakeStore, n int) []byte {
	hash := f.add("sk_caller", 1)
	created := time.Date(2026, 11, 29, 22, 1, 2, 123456789, time.UTC)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		id := int64(i + 2)
		f.byID[id] = spotzee.APIKey{ID: id, ProjectID: 1, Name: "seed " + fmt.Sprint(i), Scope: spotzee.ScopeSecret,
			Role: spotzee.RoleSupport, ValuePrefix: "sk_", Last4: fmt.Sprintf("%04d", i%10000),
			CreatedAt: created, UpdatedAt: created}
	}
	return hash
}

// TestEvictsAFewNotAll checks that a full cache makes room by evicting
// some entries, never all of them: once the bound is reached, the entries
// stay between seven eighths of it and it, and the hit rate of reads of
// more keys than fit degrades gracefully.
func TestEvictsAFewNotAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		bound int
	}{
		{"small", 64},
		{"larger", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, s := newFake(), &stamps{}
			n := 4 * tt.bound
			hash := fill(f, n)
			c := authcache.New[uint64](f, s, tt.bound)
			full := false
			for i := range n {
				_, err := c.CallerAndKeyByHash(context.Background(), hash, int64(i+2))
				require.NoError(t, err)
				st := c.Stats()
				require.LessOrEqual(t, st.Weight, tt.bound)
				require.LessOrEqual(t, st.Entries, st.Weight)
				full = full || st.Entries >= tt.bound-1
				if full {
					require.GreaterOrEqual(t, st.Entries, tt.bound-tt.bound/8-2, "read %d: a full cache was dropped", i)
				}
			}
			require.True(t, full)
			// Under reads of 2×bound keys at random, a cache that keeps
			// between 7/8 of the bound and the bound answers about 47% of
			// them; one dropped whole when full would answer about 25%.
			rng := rand.New(rand.NewPCG(1, 2))
			calls, reads := f.calls.Load(), 20*n
			for range reads {
				_, err := c.CallerAndKeyByHash(context.Background(), hash, int64(rng.IntN(2*tt.bound)+2))
				require.NoError(t, err)
			}
			hitRate := 1 - float64(f.calls.Load()-calls)/float64(reads)
			t.Logf("hit rate %.2f", hitRate)
			assert.Greater(t, hitRate, 0.38)
		})
	}
}

// TestLongStringsWeighMore checks that the bound counts an entry's strings,
// so that long names and descriptions cannot make a full cache large.
func TestLongStringsWeighMore(t *testing.T) {
	t.Parallel()
	const bound = 100
	f, s := newFake(), &stamps{}
	hash := fill(f, 50)
	desc := strings.Repeat("d", 1000)
	for id, k := range f.byID {
		k.Description = &desc
		f.byID[id] = k
	}
	c := authcache.New[uint64](f, s, bound)
	for i := range 50 {
		_, err := c.CallerAndKeyByHash(context.Background(), hash, int64(i+2))
		require.NoError(t, err)
		st := c.Stats()
		require.LessOrEqual(t, st.Weight, bound)
		require.LessOrEqual(t, st.Entries*1000, bound*64+1000, "at most bound×64 bytes of strings and the caller")
	}
	assert.Positive(t, c.Stats().Entries)
}

// TestEntryCost checks what an entry costs in heap once kept: a cache of
// 100,000 keys, as a project of that size fills it under a GET load, must
// fit well within the server's 100 MB. An entry of these keys costs about
// 70 bytes today; the bound is generous (the entries before the compact
// form cost about 210 bytes each here, where they shared their strings
// with the store).
func TestEntryCost(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 100,000 entries")
	}
	const (
		n        = 100_000
		maxBytes = 140
	)
	f, s := newFake(), &stamps{}
	hash := fill(f, n)
	c := authcache.New[uint64](f, s, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		_, err := c.CallerAndKeyByHash(context.Background(), hash, int64(i+2))
		require.NoError(t, err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, n+1, c.Stats().Entries)
	perEntry := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	t.Logf("%.1f bytes of heap per entry", perEntry)
	assert.Less(t, perEntry, float64(maxBytes))
	runtime.KeepAlive(c)
}

// TestConcurrentEviction reads many keys from many goroutines through a
// small cache, for the race detector, and checks every answer.
func TestConcurrentEviction(t *testing.T) {
	t.Parallel()
	f, s := newFake(), &stamps{}
	const n = 2000
	hash := fill(f, n)
	c := authcache.New[uint64](f, s, 100)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 3000 {
				id := int64(rng.IntN(n) + 2)
				got, err := c.CallerAndKeyByHash(context.Background(), hash, id)
				if !assert.NoError(t, err) || !assert.Equal(t, id, got.Key.ID) ||
					!assert.Equal(t, fmt.Sprint("seed ", id-2), got.Key.Name) {
					return
				}
				if w == 0 && rng.IntN(100) == 0 {
					s.n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, c.Stats().Weight, 100)
}

// BenchmarkLookup measures a hit of each bearer read, with one caller and
// 1,000 or 100,000 keys kept, the keys read at random.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		f, s := newFake(), &stamps{}
		hash := fill(f, n)
		c := authcache.New[uint64](f, s, 0)
		for i := range n {
			_, _ = c.CallerAndKeyByHash(context.Background(), hash, int64(i+2))
		}
		b.Run(fmt.Sprintf("CallerAndKeyByHash/%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				got, err := c.CallerAndKeyByHash(context.Background(), hash, int64(rng.IntN(n)+2))
				if err != nil || got.KeyErr != nil {
					b.Fatal(err, got.KeyErr)
				}
			}
		})
		b.Run(fmt.Sprintf("KeyAndTierByHash/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.KeyAndTierByHash(context.Background(), hash); err != nil {
					b.Fatal(err)
				}
			}
		})
		if st := c.Stats(); st.Misses != int64(n) {
			b.Fatalf("%d misses, want %d (the fill)", st.Misses, n)
		}
	}
}

// TestKeyOfAKeptCaller checks GET's read when its caller is kept but the
// key asked for is not: the key is read alone (Store.Key), unless a commit
// ran during that read or the read failed, and then caller and key are
// read again together.
func TestKeyOfAKeptCaller(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   int64
		// before runs before the read; it may set f.during.
		before    func(f *fakeStore, s *stamps, hash []byte)
		wantRole  spotzee.Role // the caller's
		wantCalls int64        // store calls of the read
		wantKey   bool         // the key is found (else KeyErr)
		wantKept  bool         // a second read of the key is a hit
	}{
		{"nothing committed: the key alone is read and kept", 3, func(*fakeStore, *stamps, []byte) {},
			spotzee.RoleAdmin, 1, true, true},
		{"a key the project does not have: KeyErr, nothing kept", 999, func(*fakeStore, *stamps, []byte) {},
			spotzee.RoleAdmin, 1, false, false},
		{"a commit during the key read: both read again", 3, func(f *fakeStore, s *stamps, hash []byte) {
			f.during = func() {
				f.during = nil
				f.mu.Lock()
				k := f.keys[[32]byte(hash)]
				k.Role = spotzee.RoleSupport // demoted meanwhile
				f.keys[[32]byte(hash)] = k
				f.mu.Unlock()
				s.n.Add(1)
			}
		}, spotzee.RoleSupport, 2, true, false},
		{"no stamp after the key read: both read again", 3, func(f *fakeStore, s *stamps, _ []byte) {
			f.during = func() { f.during = nil; s.broken.Store(true) }
		}, spotzee.RoleAdmin, 2, true, false},
		{"the key read fails: both read again", 3, func(f *fakeStore, _ *stamps, _ []byte) {
			f.keyErr = fmt.Errorf("disk I/O error")
		}, spotzee.RoleAdmin, 2, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, s := newFake(), &stamps{}
			hash := fill(f, 10)
			c := authcache.New[uint64](f, s, 0)
			_, err := c.CallerAndKeyByHash(context.Background(), hash, 2) // keeps the caller
			require.NoError(t, err)
			tt.before(f, s, hash)
			calls := f.calls.Load()
			got, err := c.CallerAndKeyByHash(context.Background(), hash, tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.wantCalls, f.calls.Load()-calls, "store calls")
			assert.EqualValues(t, 1, f.keyCalls.Load(), "Key calls")
			assert.Equal(t, tt.wantRole, got.Caller.Role)
			if tt.wantKey {
				require.NoError(t, got.KeyErr)
				assert.Equal(t, tt.id, got.Key.ID)
				assert.Equal(t, f.byID[tt.id], got.Key)
			} else {
				assert.Equal(t, spotzee.CodeResourceMissing, spotzee.ErrorCode(got.KeyErr))
			}
			f.keyErr = nil
			s.broken.Store(false)
			calls = f.calls.Load()
			_, err = c.CallerAndKeyByHash(context.Background(), hash, tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.wantKept, f.calls.Load() == calls, "the second read is a hit")
		})
	}
}

// TestCompactKnowsEveryAPIKeyField fails when spotzee.APIKey gains or
// loses a field: the compact record (entry.go) carries the fields listed
// here, and a new one would silently read back as its zero value from a
// cache hit. Teach encode and record.key the new field, add it to
// TestCompactRoundTrip, then to this list.
func TestCompactKnowsEveryAPIKeyField(t *testing.T) {
	t.Parallel()
	carried := []string{"ID", "ProjectID", "Name", "Description", "Scope", "Role", "ValuePrefix", "Last4",
		"IsSystem", "CreatedAt", "UpdatedAt", "RevokedAt"}
	typ := reflect.TypeFor[spotzee.APIKey]()
	var fields []string
	for i := range typ.NumField() {
		fields = append(fields, typ.Field(i).Name)
	}
	assert.Equal(t, carried, fields, "spotzee.APIKey's fields, as the compact record carries them")
}
