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
//
// Entries are kept in a compact form (one string each, about 70 bytes with
// the map slot for a typical key; see record) so that a project of 100,000
// keys fits within DefaultMaxEntries in a few megabytes, and a full cache
// evicts an eighth of its entries at random rather than dropping them all,
// so the hit rate of a load over more keys than fit degrades gradually.
package authcache

import (
	"context"
	"slices"
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

// DefaultMaxEntries is the default bound on the entries kept: 2^17, room
// for a project of 100,000 keys and their callers. An entry counts one
// plus one for every 64 bytes of its record (its name, description and
// last four, and some 20 bytes more), so the bound is also one on memory: an entry of a typical key
// costs about 70 bytes of heap (see TestEntryCost), a full cache of such
// keys about 10 MB, and one of any keys at most about 20 MB.
const DefaultMaxEntries = 1 << 17

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
// entries kept, weighed as DefaultMaxEntries describes (DefaultMaxEntries
// when not positive); a store that would exceed it first evicts entries
// picked at random, an eighth of the bound at a time, so the entries
// still kept keep answering.
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
	// Entries is how many entries the current generation holds, and
	// Weight what they count against the bound (see DefaultMaxEntries).
	Entries, Weight int
}

// Stats returns the counts so far.
func (c *Store[S]) Stats() Stats {
	st := Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stores: c.stores.Load()}
	if g := c.cur.Load(); g != nil {
		g.mu.RLock()
		st.Entries, st.Weight = g.entries(), g.weight
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
			return e.key(0), nil
		}
	}
	c.misses.Add(1)
	k, err := c.Source.KeyByHash(ctx, hash)
	if err == nil && ok {
		if r, fits := encode(k, "", false, true); fits {
			c.store(g, func(g *generation[S]) bool { return g.putCaller(h, r, c.max) })
		}
	}
	return k, err
}

// KeyAndTierByHash returns the key whose value hashes to hash and its
// project's tier as the Source does, from memory when they were read since
// the last commit. Errors are the Source's and never kept.
func (c *Store[S]) KeyAndTierByHash(ctx context.Context, hash []byte) (spotzee.APIKey, spotzee.Tier, error) {
	g, h, ok := c.lookup(hash)
	if ok {
		if e, found := g.caller(h); found && e.hasTier() {
			c.hits.Add(1)
			return e.key(0), e.tier(), nil
		}
	}
	c.misses.Add(1)
	k, tier, err := c.Source.KeyAndTierByHash(ctx, hash)
	if err == nil && ok {
		if r, fits := encode(k, tier, true, true); fits {
			c.store(g, func(g *generation[S]) bool { return g.putCaller(h, r, c.max) })
		}
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
		caller, key, found := g.callerAndKey(h, id)
		if found {
			c.hits.Add(1)
			return spotzee.CallerAndKey{Caller: caller.key(0), Tier: caller.tier(), Key: key.key(id)}, nil
		}
		if caller != "" {
			if got, done := c.keyOfKeptCaller(ctx, g, caller, id); done {
				return got, nil
			}
		}
	}
	c.misses.Add(1)
	got, err := c.Source.CallerAndKeyByHash(ctx, hash, id)
	if err == nil && ok {
		c.storeCallerAndKey(g, h, id, got)
	}
	return got, err
}

// keyOfKeptCaller answers CallerAndKeyByHash for a caller kept in g with
// its tier whose key id is not kept: it reads the key alone (Source.Key:
// one row, where CallerAndKeyByHash reads the caller, its project and the
// key) and keeps it. It answers (done) only when the stamp after that read
// is still g's: nothing was committed since the caller was read, so the
// two are what one read of both would have returned. Otherwise, or when
// the read fails other than with CodeResourceMissing, done is false and
// the caller must read both.
func (c *Store[S]) keyOfKeptCaller(ctx context.Context, g *generation[S], caller record, id int64) (got spotzee.CallerAndKey, done bool) {
	project := caller.project()
	k, err := c.Source.Key(ctx, project, id)
	if err != nil && spotzee.ErrorCode(err) != spotzee.CodeResourceMissing {
		return got, false
	}
	if s, ok := c.stamps.ChangeStamp(); !ok || s != g.stamp {
		return got, false
	}
	c.misses.Add(1)
	got = spotzee.CallerAndKey{Caller: caller.key(0), Tier: caller.tier()}
	if err != nil {
		got.KeyErr = err
		return got, true
	}
	got.Key = k
	if r, fits := encode(k, "", false, false); fits && k.ID == id && k.ProjectID == project {
		c.store(g, func(g *generation[S]) bool { return g.putKey(id, r, c.max) })
	}
	return got, true
}

// storeCallerAndKey keeps what CallerAndKeyByHash read in g: the caller,
// and the key when the project has it. The key is kept only under the id
// asked for and in the caller's project (a hit rebuilds it from those),
// and only with the caller (a hit needs both).
func (c *Store[S]) storeCallerAndKey(g *generation[S], h [32]byte, id int64, got spotzee.CallerAndKey) {
	caller, ok := encode(got.Caller, got.Tier, true, true)
	if !ok {
		return
	}
	var key record
	withKey := got.KeyErr == nil && got.Key.ID == id && got.Key.ProjectID == got.Caller.ProjectID
	if withKey {
		key, withKey = encode(got.Key, "", false, false)
	}
	c.store(g, func(g *generation[S]) bool {
		if !g.putCaller(h, caller, c.max) {
			return false
		}
		if withKey {
			g.putKey(id, key, c.max)
		}
		return true
	})
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
// put reports whether it kept anything.
//
// The stamp is read again with g's lock held: g's table may be shared with
// a later generation (Advance), which drops the keys a commit changed with
// the lock held after the commit; a read from before that commit must not
// be put back after it.
func (c *Store[S]) store(g *generation[S], put func(*generation[S]) bool) {
	if s, ok := c.stamps.ChangeStamp(); !ok || s != g.stamp {
		return
	}
	g.mu.Lock()
	if s, ok := c.stamps.ChangeStamp(); !ok || s != g.stamp {
		g.mu.Unlock()
		return
	}
	kept := put(g)
	g.mu.Unlock()
	if kept {
		c.stores.Add(1)
	}
}

// maxCallerScan is how many callers Advance looks through for the keys it
// drops; with more, it drops every caller (they are read again on their
// next request) rather than take that long with the lock held.
const maxCallerScan = 256

// Advance carries what the cache holds under stamp from on to stamp to,
// less the keys in touched (as read by GET /keys/{id}, and as callers), and
// reports whether it did: it does nothing when the current entries are not
// from's. The database's owner calls it after a commit of its own that
// changed, of what the cache keeps, nothing but the labels (name,
// description, updated_at) of the keys in touched, with from read while it
// held the database's write lock and to right after the commit, when to
// follows from by that one commit (sqlite.DB.OnLabelCommit). Without it
// any commit, a rename too, empties the cache.
func (c *Store[S]) Advance(from, to S, touched []int64) bool {
	g := c.cur.Load()
	if g == nil || g.stamp != from {
		return false
	}
	g.mu.Lock()
	for _, id := range touched {
		if r, ok := g.keys[id]; ok {
			g.dropKey(id, r)
		}
	}
	for h, r := range g.callers {
		if len(g.callers) > maxCallerScan || slices.Contains(touched, r.key(0).ID) {
			g.dropCaller(h, r)
		}
	}
	g.mu.Unlock()
	return c.cur.CompareAndSwap(g, &generation[S]{stamp: to, table: g.table})
}

// generation holds the entries valid under one stamp: a table, which
// Advance hands on to the next stamp's generation after a commit that
// changed nothing it holds but the keys it drops.
type generation[S comparable] struct {
	stamp S
	*table
}

// table is the entries of one or more successive generations.
type table struct {
	mu      sync.RWMutex
	callers map[[32]byte]record
	// keys holds keys by ID; a lookup checks the project.
	keys map[int64]record
	// weight is what the entries of both maps count against the bound,
	// keysWeight the share of keys; g.mu guards both.
	weight, keysWeight int
}

func newGeneration[S comparable](s S) *generation[S] {
	return &generation[S]{stamp: s, table: &table{callers: map[[32]byte]record{}, keys: map[int64]record{}}}
}

// entries returns the number of entries; g.mu must be held.
func (g *generation[S]) entries() int { return len(g.callers) + len(g.keys) }

func (g *generation[S]) caller(h [32]byte) (record, bool) {
	g.mu.RLock()
	e, ok := g.callers[h]
	g.mu.RUnlock()
	return e, ok
}

// callerAndKey returns the caller h when it was read with its tier ("" if
// not kept so), and the key id of its project; found is true when both are
// there.
func (g *generation[S]) callerAndKey(h [32]byte, id int64) (caller, key record, found bool) {
	g.mu.RLock()
	caller, ok := g.callers[h]
	if ok {
		key, found = g.keys[id]
	}
	g.mu.RUnlock()
	if !ok || !caller.hasTier() {
		return "", "", false
	}
	if found {
		if key.project() != caller.project() {
			found = false
		}
	}
	return caller, key, found
}

// putCaller keeps e within the bound limit, unless an entry with the tier is
// there already and e has none, and reports whether it did; g.mu must be
// held.
func (g *generation[S]) putCaller(h [32]byte, e record, limit int) bool {
	old, ok := g.callers[h]
	if ok && old.hasTier() && !e.hasTier() {
		return false
	}
	if ok {
		g.dropCaller(h, old)
	}
	if !g.makeRoom(e.weight(), limit) {
		return false
	}
	g.callers[h] = e
	g.weight += e.weight()
	return true
}

// putKey keeps e, key id, within the bound limit and reports whether it
// did; g.mu must be held.
func (g *generation[S]) putKey(id int64, e record, limit int) bool {
	if old, ok := g.keys[id]; ok {
		g.dropKey(id, old)
	}
	if !g.makeRoom(e.weight(), limit) {
		return false
	}
	g.keys[id] = e
	g.weight += e.weight()
	g.keysWeight += e.weight()
	return true
}

// makeRoom evicts entries until w more fit within limit, and reports false
// (evicting nothing) when w alone exceeds limit. It evicts down to an eighth
// of limit below what w needs, so that it runs once per limit/8 stores and not
// on every one; g.mu must be held.
//
// The entries evicted are the first ones a range over each map meets,
// from both maps in proportion to their weight. A range starts at a random
// place and visits entries in hash order, so they are a random sample:
// under any load, the entries most asked for are kept as likely as the
// others, and those kept go on answering (no generation is dropped whole).
func (g *generation[S]) makeRoom(w, limit int) bool {
	if w > limit {
		return false
	}
	if g.weight+w <= limit {
		return true
	}
	target := max(0, limit-limit/8-w)
	excess := g.weight - target
	fromKeys := (excess*g.keysWeight + g.weight - 1) / g.weight // rounded up
	for id, e := range g.keys {
		if fromKeys <= 0 {
			break
		}
		g.dropKey(id, e)
		fromKeys -= e.weight()
	}
	for h, e := range g.callers {
		if g.weight <= target {
			break
		}
		g.dropCaller(h, e)
	}
	for id, e := range g.keys {
		if g.weight <= target {
			break
		}
		g.dropKey(id, e)
	}
	return true
}

// dropKey removes key id, whose record is r, and its weight; the table's
// lock must be held.
func (t *table) dropKey(id int64, r record) {
	delete(t.keys, id)
	t.weight -= r.weight()
	t.keysWeight -= r.weight()
}

// dropCaller removes the caller h, whose record is r, and its weight; the
// table's lock must be held.
func (t *table) dropCaller(h [32]byte, r record) {
	delete(t.callers, h)
	t.weight -= r.weight()
}
