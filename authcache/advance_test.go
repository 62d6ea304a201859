package authcache_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/authcache"
)

// rename changes key id's name in the fake store, as a label-only PATCH
// commits it.
func (f *fakeStore) rename(id int64, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.byID[id]
	k.Name = name
	f.byID[id] = k
	for h, c := range f.keys {
		if c.ID == id {
			f.keys[h] = k
		}
	}
}

// TestAdvance checks that a label-only commit reported through Advance
// keeps every entry but the touched keys', which are read again (as
// targets of GET /keys/{id} and as callers), and that Advance does nothing
// when the entries are not of the commit's first stamp.
func TestAdvance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name        string
		touched     int64 // the key renamed
		from        uint64
		wantAdvance bool
		// the store reads of the three requests after the commit: the
		// caller with key 7, the caller with key 8, the other caller
		wantCalls int64
	}{
		{name: "another key renamed: everything kept", touched: 9, from: 0, wantAdvance: true, wantCalls: 0},
		{name: "a target renamed: it alone is read again", touched: 7, from: 0, wantAdvance: true, wantCalls: 1},
		{name: "the caller renamed: it is read again (with key 7)", touched: 1, from: 0, wantAdvance: true, wantCalls: 1},
		{name: "entries of another stamp: nothing carried", touched: 9, from: 5, wantAdvance: false, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, s := newFake(), &stamps{}
			caller := f.add("sk_caller", 1)
			other := f.add("sk_other", 2)
			f.add("sk_seven", 7)
			f.add("sk_eight", 8)
			f.add("sk_nine", 9)
			c := authcache.New[uint64](f, s, 0)
			for _, id := range []int64{7, 8} {
				_, err := c.CallerAndKeyByHash(ctx, caller, id)
				require.NoError(t, err)
			}
			_, _, err := c.KeyAndTierByHash(ctx, other)
			require.NoError(t, err)
			require.Equal(t, int64(3), f.calls.Load(), "warm-up reads")

			f.rename(tt.touched, "renamed")
			s.n.Add(1) // the commit
			assert.Equal(t, tt.wantAdvance, c.Advance(tt.from, 1, []int64{tt.touched}))

			f.calls.Store(0)
			for _, id := range []int64{7, 8} {
				got, err := c.CallerAndKeyByHash(ctx, caller, id)
				require.NoError(t, err)
				assert.Equal(t, f.byID[id].Name, got.Key.Name, "key %d as the store has it", id)
				assert.Equal(t, f.byID[1].Name, got.Caller.Name, "the caller as the store has it")
			}
			k, tier, err := c.KeyAndTierByHash(ctx, other)
			require.NoError(t, err)
			assert.Equal(t, spotzee.TierStarter, tier)
			assert.Equal(t, f.byID[2].Name, k.Name)
			assert.Equal(t, tt.wantCalls, f.calls.Load(), "store reads after the commit")
		})
	}
}

// TestAdvanceRefusesAStaleFill checks the store rule Advance relies on: a
// read that began under the commit's first stamp and finishes after the
// commit (and after Advance dropped the key it read) keeps nothing, though
// the entries it would join are now the next stamp's.
func TestAdvanceRefusesAStaleFill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, s := newFake(), &stamps{}
	caller := f.add("sk_caller", 1)
	f.add("sk_seven", 7)
	c := authcache.New[uint64](f, s, 0)
	_, _, err := c.KeyAndTierByHash(ctx, caller) // entries of stamp 0
	require.NoError(t, err)
	// The reads of key 7 return its old name (they read before the
	// commit); meanwhile the rename commits and is reported.
	f.during = func() {
		f.during = nil
		s.n.Add(1)
		assert.True(t, c.Advance(0, 1, []int64{7}))
	}
	first, err := c.CallerAndKeyByHash(ctx, caller, 7)
	require.NoError(t, err)
	assert.Equal(t, "sk_seven", first.Key.Name, "the read began before the commit")
	f.rename(7, "renamed") // what a read after the commit returns
	f.calls.Store(0)
	got, err := c.CallerAndKeyByHash(ctx, caller, 7)
	require.NoError(t, err)
	assert.Equal(t, "renamed", got.Key.Name, "nothing of the old read was kept")
	assert.Positive(t, f.calls.Load())
}
