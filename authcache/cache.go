// Package authcache keeps the bearer reads of the keys service — the key a
// value's SHA-256 belongs to, its project's rate-limit tier, and the key
// GET /keys/{id} asks for — between requests, for as long as the database
// has committed nothing since they were read.
//
// Validity is not a time to live but a change stamp the database gives at
// the cost of a few memory loads (sqlite.DB's ChangeStamp: a counter every
// commit of every process changes before it becomes visible). Each lookup
// reads the stamp first and drops every entry when it has moved, so a
// revocation, demotion, scope or tier change committed anywhere is seen by
// the next request that starts after the commit. An entry is only stored
// when the stamp read before the database read equals the one read after
// it: a commit racing the read leaves nothing behind.
package authcache

import (
	"context"
	"sync"
	"sync/atomic"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// Source is the store the cache reads through: a spotzee.Store with the
// joined bearer reads (keys.KeyTierReader and keys.CallerAndKeyReader).
type Source interface {
	spotzee.Store
	// KeyAndTierByHash returns the key whose value hashes to hash, revoked
	// or not, and its project's tier.
	KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error)
	// CallerAndKeyByHash reads what spotzee.CallerAndKey describes.
	CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error)
}

// Stamper gives the database's change stamp: a value equal at two moments
// only if nothing was committed in between; ok is false when it has none
// to trust (nothing is then served from or stored in the cache).
type Stamper[S comparable] interface {
	ChangeStamp() (stamp S, ok bool)
}

// DefaultMaxEntries is the default bound on the entries kept; reaching it
// drops them all.
const DefaultMaxEntries = 10000

// Store is a Source whose three bearer reads (KeyByHash, KeyAndTierByHash,
// CallerAndKeyByHash) are served from memory while the stamp has not moved
// since they were read; every other method is the Source's. It is safe for
// concurrent use.
type Store[S comparable] struct {
	Source
	stamps Stamper[S]
	max    int
	cur    atomic.Pointer[generation[S]]

	hits, misses, stores atomic.Int64
}

// New returns a Store reading through src and validated by stamps, which
// must be the change stamp of the database src reads. maxEntries bounds the
// entries kept (DefaultMaxEntries when not positive).
func New[S comparable](src Source, stamps Stamper[S], maxEntries int) *Store[S] {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Store[S]{Source: src, stamps: stamps, max: maxEntries}
}

// Stats counts a Store's lookups.
type Stats struct {
	// Hits were answered from memory; Misses read the Source.
	Hits, Misses int64
	// Stores are misses whose result was kept.
	Stores int64
	// Entries is how many entries the current generation holds.
	Entries int
}

// Stats returns the counts so far.
func (c *Store[S]) Stats() Stats {
	st := Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stores: c.stores.Load()}
	if g := c.cur.Load(); g != nil {
		g.mu.RLock()
		st.Entries = g.entries()
		g.mu.RUnlock()
	}
	return st
}

// KeyByHash returns the key whose value hashes to hash as the Source does,
// from memory when it was read since the last commit. Errors (an unknown
// hash is CodeResourceMissing) are the Source's and never kept.
func (c *Store[S]) KeyByHash(ctx context.Context, hash []byte) (spotzee.APIKey, error) {
	g, h, ok := c.lookup(hash)
	if ok {
		if e, found := g.caller(h); found {
			c.hits.Add(1)
			return clone(e.key), nil
		}
	}
	c.misses.Add(1)
	k, err := c.Source.KeyByHash(ctx, hash)
	if err == nil && ok {
		c.store(g, func(g *generation[S]) { g.putCaller(h, callerEntry{key: k}) })
	}
	return k, err
}

// KeyAndTierByHash returns the key whose value hashes to hash and its
// project's tier as the Source does, from memory when they were read since
// the last commit. Errors are the Source's and never kept.
func (c *Store[S]) KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error) {
	g, h, ok := c.lookup(hash)
	if ok {
		if e, found := g.caller(h); found && e.hasTier {
			c.hits.Add(1)
			return clone(e.key), e.tier, nil
		}
	}
	c.misses.Add(1)
	k, tier, err := c.Source.KeyAndTierByHash(ctx, hash)
	if err == nil && ok {
		c.store(g, func(g *generation[S]) { g.putCaller(h, callerEntry{key: k, tier: tier, hasTier: true}) })
	}
	return k, tier, err
}

// CallerAndKeyByHash reads what spotzee.CallerAndKey describes as the Source
// does, from memory when the caller, its tier and the live key id of its
// project were all read since the last commit. Errors, and a key the
// project does not have (KeyErr), are never kept.
func (c *Store[S]) CallerAndKeyByHash(ctx context.Context, hash []byte, id int64) (spotzee.CallerAndKey, error) {
	g, h, ok := c.lookup(hash)
	if ok {
		if e, found := g.caller(h); found && e.hasTier {
			if k, found := g.key(keyID{e.key.ProjectID, id}); found {
				c.hits.Add(1)
				return spotzee.CallerAndKey{Caller: clone(e.key), Tier: e.tier, Key: clone(k)}, nil
			}
		}
	}
	c.misses.Add(1)
	got, err := c.Source.CallerAndKeyByHash(ctx, hash, id)
	if err == nil && ok {
		c.store(g, func(g *generation[S]) {
			g.putCaller(h, callerEntry{key: got.Caller, tier: got.Tier, hasTier: true})
			if got.KeyErr == nil {
				g.putKey(keyID{got.Caller.ProjectID, id}, got.Key)
			}
		})
	}
	return got, err
}

// lookup reads the stamp and returns the generation of entries valid under
// it, replacing the current one when the stamp has moved, and hash as a map
// key; ok is false when the stamp cannot be trusted or hash is not a
// SHA-256, and nothing may be read from or stored in the cache then.
func (c *Store[S]) lookup(hash []byte) (g *generation[S], h [32]byte, ok bool) {
	if len(hash) != len(h) {
		return nil, h, false
	}
	s, ok := c.stamps.ChangeStamp()
	if !ok {
		return nil, h, false
	}
	copy(h[:], hash)
	g = c.cur.Load()
	if g != nil && g.stamp == s {
		return g, h, true
	}
	fresh := newGeneration(s)
	if c.cur.CompareAndSwap(g, fresh) {
		return fresh, h, true
	}
	// Another lookup replaced it meanwhile; share its generation when it
	// is for the same stamp, else fill one nobody else will read.
	if g = c.cur.Load(); g != nil && g.stamp == s {
		return g, h, true
	}
	return fresh, h, true
}

// store runs put on g — the generation of the stamp read before the
// database read — when the stamp still equals g's: no commit ran while the
// read did, so what it read is what the database holds under g's stamp.
// A full generation is replaced by an empty one for the same stamp first.
func (c *Store[S]) store(g *generation[S], put func(*generation[S])) {
	if s, ok := c.stamps.ChangeStamp(); !ok || s != g.stamp {
		return
	}
	g.mu.Lock()
	full := g.entries() >= c.max
	if !full {
		put(g)
	}
	g.mu.Unlock()
	if full {
		fresh := newGeneration(g.stamp)
		if !c.cur.CompareAndSwap(g, fresh) {
			return // replaced meanwhile; drop this entry
		}
		fresh.mu.Lock()
		put(fresh)
		fresh.mu.Unlock()
	}
	c.stores.Add(1)
}

// keyID names a key of a project.
type keyID struct{ project, id int64 }

type callerEntry struct {
	key     spotzee.APIKey
	tier    spotzee.Tier
	hasTier bool // read by KeyByHash alone, the tier is not known
}

// generation holds the entries read under one stamp.
type generation[S comparable] struct {
	stamp   S
	mu      sync.RWMutex
	callers map[[32]byte]callerEntry
	keys    map[keyID]spotzee.APIKey
}

func newGeneration[S comparable](s S) *generation[S] {
	return &generation[S]{stamp: s, callers: map[[32]byte]callerEntry{}, keys: map[keyID]spotzee.APIKey{}}
}

// entries returns the number of entries; g.mu must be held.
func (g *generation[S]) entries() int { return len(g.callers) + len(g.keys) }

func (g *generation[S]) caller(h [32]byte) (callerEntry, bool) {
	g.mu.RLock()
	e, ok := g.callers[h]
	g.mu.RUnlock()
	return e, ok
}

func (g *generation[S]) key(id keyID) (spotzee.APIKey, bool) {
	g.mu.RLock()
	k, ok := g.keys[id]
	g.mu.RUnlock()
	return k, ok
}

// putCaller keeps e, unless an entry with the tier is there already and e
// has none; g.mu must be held.
func (g *generation[S]) putCaller(h [32]byte, e callerEntry) {
	if old, ok := g.callers[h]; ok && old.hasTier && !e.hasTier {
		return
	}
	g.callers[h] = clonedEntry(e)
}

// putKey keeps k; g.mu must be held.
func (g *generation[S]) putKey(id keyID, k spotzee.APIKey) { g.keys[id] = clone(k) }

func clonedEntry(e callerEntry) callerEntry {
	e.key = clone(e.key)
	return e
}

// clone returns k with its own copies of what its pointers point to, so
// that no two requests share them.
func clone(k spotzee.APIKey) spotzee.APIKey {
	if k.Description != nil {
		d := *k.Description
		k.Description = &d
	}
	if k.RevokedAt != nil {
		t := *k.RevokedAt
		k.RevokedAt = &t
	}
	return k
}
