package authcache_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/authcache"
)

// stamps is a change stamp under the test's control.
type stamps struct {
	n      atomic.Uint64
	broken atomic.Bool // ok=false
}

func (s *stamps) ChangeStamp() (uint64, bool) { return s.n.Load(), !s.broken.Load() }

// fakeStore answers the bearer reads from maps and counts its calls; during
// names a function run in the middle of each read (a racing commit).
type fakeStore struct {
	spotzee.Store // nil: the cache must not call anything else
	mu            sync.Mutex
	keys          map[[32]byte]spotzee.APIKey
	tiers         map[int64]spotzee.Tier
	byID          map[int64]spotzee.APIKey
	calls         atomic.Int64
	during        func()
	keyCalls      atomic.Int64 // calls of Key
	keyErr        error        // returned by Key when set
}

func newFake() *fakeStore {
	return &fakeStore{keys: map[[32]byte]spotzee.APIKey{}, tiers: map[int64]spotzee.Tier{}, byID: map[int64]spotzee.APIKey{}}
}

// add makes a key of project 1 with the value value.
func (f *fakeStore) add(value string, id int64) []byte {
	h := sha256.Sum256([]byte(value))
	desc := "d"
	k := spotzee.APIKey{ID: id, ProjectID: 1, Name: value, Description: &desc, Scope: spotzee.ScopeSecret,
		Role: spotzee.RoleAdmin, ValuePrefix: "sk_"}
	f.mu.Lock()
	f.keys[h], f.byID[id], f.tiers[1] = k, k, spotzee.TierStarter
	f.mu.Unlock()
	return h[:]
}

func (f *fakeStore) read() {
	f.calls.Add(1)
	if f.during != nil {
		f.during()
	}
}

func (f *fakeStore) KeyByHash(_ context.Context, hash []byte) (spotzee.APIKey, error) {
	k, _, err := f.KeyAndTierByHash(context.Background(), hash)
	return k, err
}

func (f *fakeStore) KeyAndTierByHash(_ context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error) {
	f.read()
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[[32]byte(hash)]
	if !ok {
		return spotzee.APIKey{}, "", spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	return k, f.tiers[k.ProjectID], nil
}

func (f *fakeStore) CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error) {
	caller, tier, err := f.KeyAndTierByHash(ctx, hash)
	if err != nil {
		return spotzee.CallerAndKey{}, err
	}
	out := spotzee.CallerAndKey{Caller: caller, Tier: tier}
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, ok := f.byID[id]; ok && k.ProjectID == caller.ProjectID {
		out.Key = k
	} else {
		out.KeyErr = spotzee.Errorf(spotzee.CodeResourceMissing, "No such API key: %d", id)
	}
	return out, nil
}

// Key returns the live key id of project projectID, as spotzee.Store
// does (the fake's keys are all live).
func (f *fakeStore) Key(_ context.Context, projectID, id int64) (spotzee.APIKey, error) {
	f.read()
	f.keyCalls.Add(1)
	if err := f.keyErr; err != nil {
		return spotzee.APIKey{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, ok := f.byID[id]; ok && k.ProjectID == projectID {
		return k, nil
	}
	return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No such API key: %d", id)
}

// reads are the three bearer reads of the cache, each returning the key it
// found (the target for CallerAndKeyByHash) and its error.
var reads = []struct {
	name string
	read func(c *authcache.Store[uint64], hash []byte) (spotzee.APIKey, error)
}{
	{"KeyByHash", func(c *authcache.Store[uint64], hash []byte) (spotzee.APIKey, error) {
		return c.KeyByHash(context.Background(), hash)
	}},
	{"KeyAndTierByHash", func(c *authcache.Store[uint64], hash []byte) (spotzee.APIKey, error) {
		k, tier, err := c.KeyAndTierByHash(context.Background(), hash)
		if err == nil && tier != spotzee.TierStarter {
			return k, fmt.Errorf("tier %q", tier)
		}
		return k, err
	}},
	{"CallerAndKeyByHash", func(c *authcache.Store[uint64], hash []byte) (spotzee.APIKey, error) {
		got, err := c.CallerAndKeyByHash(context.Background(), hash, 7)
		if err == nil && got.KeyErr != nil {
			return got.Key, got.KeyErr
		}
		return got.Key, err
	}},
}

// TestHitsAndMisses checks, for each bearer read, when the cache answers
// without calling the store.
func TestHitsAndMisses(t *testing.T) {
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			tests := []struct {
				name string
				// between runs after the first read, before the second.
				between   func(f *fakeStore, s *stamps)
				wantCalls int64 // store calls of the two reads
			}{
				{"nothing committed: the second read is a hit", func(*fakeStore, *stamps) {}, 1},
				{"a commit in between: both read the store", func(_ *fakeStore, s *stamps) { s.n.Add(1) }, 2},
				{"no stamp to trust: both read the store", func(_ *fakeStore, s *stamps) { s.broken.Store(true) }, 2},
				{"a commit during the first read: nothing kept", func(f *fakeStore, _ *stamps) {}, 2},
			}
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f, s := newFake(), &stamps{}
					hash := f.add("sk_caller", 1)
					f.add("sk_target", 7)
					if i == 3 {
						f.during = func() { s.n.Add(1) }
					}
					c := authcache.New[uint64](f, s, 0)
					first, err := r.read(c, hash)
					require.NoError(t, err)
					f.during = nil
					tt.between(f, s)
					second, err := r.read(c, hash)
					require.NoError(t, err)
					assert.Equal(t, first, second)
					assert.Equal(t, tt.wantCalls, f.calls.Load(), "store calls")
					st := c.Stats()
					assert.Equal(t, 2-tt.wantCalls, st.Hits, "hits")
					assert.Equal(t, tt.wantCalls, st.Misses, "misses")
				})
			}
		})
	}
}

// TestRacingFillKeepsNothing checks the fill rule on its own: a commit
// between the stamp read before the store read and the one after leaves no
// entry, so the next read goes to the store and sees the commit.
func TestRacingFillKeepsNothing(t *testing.T) {
	f, s := newFake(), &stamps{}
	hash := f.add("sk_caller", 1)
	c := authcache.New[uint64](f, s, 0)
	f.during = func() {
		s.n.Add(1)
		f.mu.Lock()
		k := f.keys[[32]byte(hash)]
		k.Role = spotzee.RoleSupport // committed by someone else meanwhile
		f.keys[[32]byte(hash)] = k
		f.mu.Unlock()
	}
	_, err := c.KeyByHash(context.Background(), hash)
	require.NoError(t, err)
	f.during = nil
	assert.Zero(t, c.Stats().Stores)
	assert.Zero(t, c.Stats().Entries)
	k, err := c.KeyByHash(context.Background(), hash)
	require.NoError(t, err)
	assert.Equal(t, spotzee.RoleSupport, k.Role, "the commit is seen")
	assert.EqualValues(t, 2, f.calls.Load())
}

// TestNotKept checks that failed reads and missing targets are not kept.
func TestNotKept(t *testing.T) {
	f, s := newFake(), &stamps{}
	hash := f.add("sk_caller", 1)
	c := authcache.New[uint64](f, s, 0)
	unknown := sha256.Sum256([]byte("sk_unknown"))
	for range 3 {
		_, err := c.KeyByHash(context.Background(), unknown[:])
		assert.Equal(t, spotzee.CodeResourceMissing, spotzee.ErrorCode(err))
		got, err := c.CallerAndKeyByHash(context.Background(), hash, 99)
		require.NoError(t, err)
		assert.Equal(t, spotzee.CodeResourceMissing, spotzee.ErrorCode(got.KeyErr))
	}
	assert.EqualValues(t, 6, f.calls.Load(), "every read went to the store")
	assert.Equal(t, 1, c.Stats().Entries, "only the caller is kept")
}

// TestTierNeedsATierRead checks that a key read without its tier does not
// answer a read that needs the tier.
func TestTierNeedsATierRead(t *testing.T) {
	f, s := newFake(), &stamps{}
	hash := f.add("sk_caller", 1)
	c := authcache.New[uint64](f, s, 0)
	_, err := c.KeyByHash(context.Background(), hash)
	require.NoError(t, err)
	_, tier, err := c.KeyAndTierByHash(context.Background(), hash)
	require.NoError(t, err)
	assert.Equal(t, spotzee.TierStarter, tier)
	_, err = c.KeyByHash(context.Background(), hash)
	require.NoError(t, err)
	assert.EqualValues(t, 2, f.calls.Load())
}

// TestCopies checks that a caller changing what it was given changes
// nothing the next reader gets.
func TestCopies(t *testing.T) {
	f, s := newFake(), &stamps{}
	hash := f.add("sk_caller", 1)
	c := authcache.New[uint64](f, s, 0)
	_, err := c.KeyByHash(context.Background(), hash)
	require.NoError(t, err)
	k, err := c.KeyByHash(context.Background(), hash)
	require.NoError(t, err)
	*k.Description = "changed"
	k, err = c.KeyByHash(context.Background(), hash)
	require.NoError(t, err)
	assert.Equal(t, "d", *k.Description)
}

// TestBounded checks that the entries never exceed the bound, whatever is
// asked: many real keys, or a spray of random bearer hashes.
func TestBounded(t *testing.T) {
	const bound = 50
	tests := []struct {
		name        string
		real        bool
		wantEntries func(t *testing.T, n int)
	}{
		{"many keys", true, func(t *testing.T, n int) { assert.Positive(t, n) }},
		{"random bearer spray", false, func(t *testing.T, n int) { assert.Zero(t, n) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, s := newFake(), &stamps{}
			c := authcache.New[uint64](f, s, bound)
			for i := range 1000 {
				hash := make([]byte, 32)
				_, _ = rand.Read(hash)
				if tt.real {
					hash = f.add(fmt.Sprintf("sk_%d", i), int64(i+1))
				}
				_, _ = c.CallerAndKeyByHash(context.Background(), hash, int64(i+1))
				require.LessOrEqual(t, c.Stats().Entries, bound)
			}
			tt.wantEntries(t, c.Stats().Entries)
		})
	}
}

// TestConcurrent runs reads and commits together, for the race detector,
// and checks that no read returns a role older than the last commit that
// finished before it began.
func TestConcurrent(t *testing.T) {
	f, s := newFake(), &stamps{}
	hash := f.add("sk_caller", 1)
	c := authcache.New[uint64](f, s, 0)
	var (
		committed atomic.Int64 // the last finished commit's name suffix
		wg        sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Go(func() {
		for i := int64(1); i <= 300; i++ {
			f.mu.Lock()
			k := f.keys[[32]byte(hash)]
			k.Name = fmt.Sprint(i)
			f.keys[[32]byte(hash)] = k
			f.mu.Unlock()
			s.n.Add(1) // the commit is visible, then the stamp moves
			committed.Store(i)
		}
		close(stop)
	})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := committed.Load()
				k, err := c.KeyByHash(context.Background(), hash)
				if !assert.NoError(t, err) {
					return
				}
				var got int64
				if k.Name != "sk_caller" {
					_, _ = fmt.Sscan(k.Name, &got)
				}
				if !assert.GreaterOrEqual(t, got, floor, "a read older than a finished commit") {
					return
				}
			}
		})
	}
	wg.Wait()
}
