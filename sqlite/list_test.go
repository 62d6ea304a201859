package sqlite_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

var sortFields = []spotzee.SortField{spotzee.SortID, spotzee.SortName, spotzee.SortCreatedAt, spotzee.SortUpdatedAt}

// before reports whether position a lies strictly before b in list order.
func before(a, b spotzee.Position, f spotzee.SortField, desc bool) bool {
	if desc {
		a, b = b, a
	}
	if f == spotzee.SortName {
		if av, bv := nocase(a.Value), nocase(b.Value); av != bv {
			return av < bv
		}
		return a.ID < b.ID
	}
	if f != spotzee.SortID && a.Value != b.Value {
		return a.Value < b.Value // bytewise, like SQLite's BINARY collation
	}
	return a.ID < b.ID
}

// listOrder returns keys sorted as ListKeys must list them.
func listOrder(keys []spotzee.APIKey, f spotzee.SortField, desc bool) []spotzee.APIKey {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b spotzee.APIKey) int {
		pa, pb := spotzee.PositionOf(a, f), spotzee.PositionOf(b, f)
		switch {
		case before(pa, pb, f, desc):
			return -1
		case before(pb, pa, f, desc):
			return 1
		}
		return 0
	})
	return out
}

// nocase folds s as SQLite's NOCASE collation does: ASCII letters only.
func nocase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func ids(keys []spotzee.APIKey) []int64 {
	out := make([]int64, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

// seedNames collide, and differ only in case, to exercise tie-breaks and
// binary collation ("Alpha" < "Beta" < "alpha").
var seedNames = []string{"alpha", "Beta", "alpha", "gamma", "beta", "Alpha", "delta"}

// seed creates n live keys in project projectID with colliding names,
// creation and update times, and returns them as stored.
func seed(t *testing.T, db *sqlite.DB, projectID int64, n int) []spotzee.APIKey {
	t.Helper()
	ctx := context.Background()
	keys := make([]spotzee.APIKey, 0, n)
	for i := range n {
		k := newKey(t, db, projectID, seedNames[i%len(seedNames)], t0.Add(time.Duration(i%5)*time.Second), nil)
		if i%3 == 0 {
			var err error
			k, err = db.UpdateKey(ctx, 0, projectID, k.ID, spotzee.KeyUpdate{Role: ptr(spotzee.RoleEditor)},
				t0.Add(time.Duration(10+i%2)*time.Second))
			require.NoError(t, err)
		}
		keys = append(keys, k)
	}
	return keys
}

// walkForward lists pages from the start of q's list, following After
// cursors until HasNext is false; between runs after each page but the last.
func walkForward(t *testing.T, db *sqlite.DB, q spotzee.ListQuery, between func()) []spotzee.KeyPage {
	t.Helper()
	var pages []spotzee.KeyPage
	for i := 0; ; i++ {
		require.Less(t, i, 100, "walk does not end")
		page, err := db.ListKeys(context.Background(), q)
		require.NoError(t, err)
		pages = append(pages, page)
		if !page.HasNext {
			return pages
		}
		require.NotEmpty(t, page.Keys)
		q.After, q.Before = ptr(spotzee.PositionOf(page.Keys[len(page.Keys)-1], q.Sort)), nil
		if between != nil {
			between()
		}
	}
}

// walkBackward lists the pages before position from, following Before
// cursors until HasPrev is false; between runs after each page but the last.
func walkBackward(t *testing.T, db *sqlite.DB, q spotzee.ListQuery, from spotzee.Position, between func()) []spotzee.KeyPage {
	t.Helper()
	var pages []spotzee.KeyPage
	q.After, q.Before = nil, &from
	for i := 0; ; i++ {
		require.Less(t, i, 100, "walk does not end")
		page, err := db.ListKeys(context.Background(), q)
		require.NoError(t, err)
		pages = append(pages, page)
		if !page.HasPrev {
			return pages
		}
		require.NotEmpty(t, page.Keys)
		q.Before = ptr(spotzee.PositionOf(page.Keys[0], q.Sort))
		if between != nil {
			between()
		}
	}
}

func TestListKeysWalk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p, other := newProject(t, db), newProject(t, db)
	keys := seed(t, db, p.ID, 26)
	for _, k := range keys[20:23] { // revoked keys never appear
		_, err := db.RevokeKey(ctx, 0, p.ID, k.ID, t0)
		require.NoError(t, err)
	}
	live := slices.Concat(keys[:20], keys[23:])
	require.Len(t, live, 23)
	seed(t, db, other.ID, 5) // nor do another project's

	for _, f := range sortFields {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s desc=%v", f, desc), func(t *testing.T) {
				t.Parallel()
				want := listOrder(live, f, desc)
				q := spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc, Limit: 5}

				fwd := walkForward(t, db, q, nil)
				require.Len(t, fwd, 5)
				var got []spotzee.APIKey
				for i, page := range fwd {
					assert.Len(t, page.Keys, min(5, 23-5*i), "page %d", i)
					assert.Equal(t, i > 0, page.HasPrev, "page %d HasPrev", i)
					assert.Equal(t, i < 4, page.HasNext, "page %d HasNext", i)
					assert.Equal(t, 23, page.Total)
					got = append(got, page.Keys...)
				}
				assert.Equal(t, want, got, "forward walk")

				// Back from the last page: pages of 5 ending right before it.
				last := fwd[len(fwd)-1]
				back := walkBackward(t, db, q, spotzee.PositionOf(last.Keys[0], f), nil)
				require.Len(t, back, 4)
				got = slices.Clone(last.Keys)
				for i, page := range back {
					assert.Len(t, page.Keys, 5, "page -%d", i)
					assert.Equal(t, i < 3, page.HasPrev, "page -%d HasPrev", i)
					assert.True(t, page.HasNext, "page -%d HasNext", i)
					assert.Equal(t, 23, page.Total)
					got = append(slices.Clone(page.Keys), got...)
				}
				assert.Equal(t, want, got, "backward walk")

				q.Limit = 0
				all, err := db.ListKeys(ctx, q)
				require.NoError(t, err)
				assert.Equal(t, spotzee.KeyPage{Keys: want, Total: 23}, all, "limit 0 lists every key")
			})
		}
	}
}

func TestListKeysWalkWithChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, f := range sortFields {
		for _, desc := range []bool{false, true} {
			for _, forward := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s desc=%v forward=%v", f, desc, forward), func(t *testing.T) {
					t.Parallel()
					db := openMem(t)
					p := newProject(t, db)
					keys := seed(t, db, p.ID, 23)
					rng := rand.New(rand.NewPCG(uint64(len(f)), 7))
					q := spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc, Limit: 5}

					// Every fourth key is revoked during the walk, in an order
					// unrelated to the list's; the others must each be seen
					// exactly once.
					var volatile []spotzee.APIKey
					stable := map[int64]bool{}
					for i, k := range keys {
						if i%4 == 1 {
							volatile = append(volatile, k)
						} else {
							stable[k.ID] = true
						}
					}
					rng.Shuffle(len(volatile), func(i, j int) { volatile[i], volatile[j] = volatile[j], volatile[i] })
					change := func() {
						for range 2 {
							at := t0.Add(time.Duration(rng.IntN(30)-10) * time.Second)
							newKey(t, db, p.ID, seedNames[rng.IntN(len(seedNames))], at, nil)
						}
						for range min(2, len(volatile)) {
							_, err := db.RevokeKey(ctx, 0, p.ID, volatile[0].ID, t0.Add(time.Minute))
							require.NoError(t, err)
							volatile = volatile[1:]
						}
					}

					var pages []spotzee.KeyPage
					if forward {
						pages = walkForward(t, db, q, change)
						assert.False(t, pages[0].HasPrev)
						assert.False(t, pages[len(pages)-1].HasNext)
					} else {
						fwd := walkForward(t, db, q, nil)
						last := fwd[len(fwd)-1]
						back := walkBackward(t, db, q, spotzee.PositionOf(last.Keys[0], f), change)
						assert.False(t, back[len(back)-1].HasPrev)
						pages = append([]spotzee.KeyPage{last}, back...)
					}
					require.GreaterOrEqual(t, len(pages), 4)
					assert.Empty(t, volatile, "every volatile key was revoked during the walk")

					seen := map[int64]int{}
					var prev *spotzee.APIKey
					for i, page := range pages {
						n, err := db.CountKeys(ctx, p.ID)
						require.NoError(t, err)
						assert.LessOrEqual(t, page.Total, n, "page %d Total", i)
						keys := page.Keys
						if !forward {
							keys = slices.Clone(keys)
							slices.Reverse(keys)
						}
						for _, k := range keys {
							seen[k.ID]++
							if prev != nil {
								a, b := spotzee.PositionOf(*prev, f), spotzee.PositionOf(k, f)
								if !forward {
									a, b = b, a
								}
								assert.True(t, before(a, b, f, desc), "key %d out of order after %d", k.ID, prev.ID)
							}
							prev = &k
						}
					}
					for id, n := range seen {
						assert.Equal(t, 1, n, "key %d seen %d times", id, n)
					}
					for id := range stable {
						assert.Equal(t, 1, seen[id], "stable key %d seen %d times", id, seen[id])
					}
				})
			}
		}
	}
}

func TestListKeysTotalTracksChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	keys := seed(t, db, p.ID, 7)
	q := spotzee.ListQuery{ProjectID: p.ID, Limit: 2}

	page, err := db.ListKeys(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, 7, page.Total)
	_, err = db.RevokeKey(ctx, 0, p.ID, keys[6].ID, t0)
	require.NoError(t, err)
	newKey(t, db, p.ID, "fresh", t0, nil)
	newKey(t, db, p.ID, "fresh", t0, nil)
	page, err = db.ListKeys(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, 8, page.Total)
}

func TestListKeysEdges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p, empty := newProject(t, db), newProject(t, db)
	keys := seed(t, db, p.ID, 6) // ids ascending; listed by id unless said otherwise
	gone := newKey(t, db, p.ID, "gone", t0, nil)
	_, err := db.RevokeKey(ctx, 0, p.ID, gone.ID, t0)
	require.NoError(t, err)
	pos := func(k spotzee.APIKey) *spotzee.Position { return ptr(spotzee.PositionOf(k, spotzee.SortID)) }

	tests := []struct {
		name string
		q    spotzee.ListQuery
		want spotzee.KeyPage
	}{
		{"empty project", spotzee.ListQuery{ProjectID: empty.ID, Limit: 5},
			spotzee.KeyPage{Keys: []spotzee.APIKey{}}},
		{"empty sort means id", spotzee.ListQuery{ProjectID: p.ID, Limit: 2},
			spotzee.KeyPage{Keys: keys[:2], HasNext: true, Total: 6}},
		{"limit equal to the rest has no next", spotzee.ListQuery{ProjectID: p.ID, Limit: 3, After: pos(keys[2])},
			spotzee.KeyPage{Keys: keys[3:], HasPrev: true, Total: 6}},
		{"after the first key can step back to it", spotzee.ListQuery{ProjectID: p.ID, Limit: 3, After: pos(keys[0])},
			spotzee.KeyPage{Keys: keys[1:4], HasPrev: true, HasNext: true, Total: 6}},
		{"before the last key can step on to it", spotzee.ListQuery{ProjectID: p.ID, Limit: 3, Before: pos(keys[5])},
			spotzee.KeyPage{Keys: keys[2:5], HasPrev: true, HasNext: true, Total: 6}},
		{"after the last key: empty page that can step back", spotzee.ListQuery{ProjectID: p.ID, Limit: 3, After: pos(keys[5])},
			spotzee.KeyPage{Keys: []spotzee.APIKey{}, HasPrev: true, Total: 6}},
		{"before the first key: empty page that can step on", spotzee.ListQuery{ProjectID: p.ID, Limit: 3, Before: pos(keys[0])},
			spotzee.KeyPage{Keys: []spotzee.APIKey{}, HasNext: true, Total: 6}},
		{"before with fewer keys than the limit", spotzee.ListQuery{ProjectID: p.ID, Limit: 3, Before: pos(keys[2])},
			spotzee.KeyPage{Keys: keys[:2], HasNext: true, Total: 6}},
		{"after a revoked key's position", spotzee.ListQuery{ProjectID: p.ID, Limit: 3, After: pos(gone)},
			spotzee.KeyPage{Keys: []spotzee.APIKey{}, HasPrev: true, Total: 6}},
		{"limit 0 after", spotzee.ListQuery{ProjectID: p.ID, After: pos(keys[1])},
			spotzee.KeyPage{Keys: keys[2:], HasPrev: true, Total: 6}},
		{"limit 0 before", spotzee.ListQuery{ProjectID: p.ID, Before: pos(keys[4])},
			spotzee.KeyPage{Keys: keys[:4], HasNext: true, Total: 6}},
		{"sorting by id ignores the position's value", spotzee.ListQuery{ProjectID: p.ID, Sort: spotzee.SortID, Limit: 2,
			After: &spotzee.Position{Value: "zzz", ID: keys[3].ID}},
			spotzee.KeyPage{Keys: keys[4:], HasPrev: true, Total: 6}},
		{"descending before", spotzee.ListQuery{ProjectID: p.ID, Desc: true, Limit: 2, Before: pos(keys[1])},
			spotzee.KeyPage{Keys: []spotzee.APIKey{keys[3], keys[2]}, HasPrev: true, HasNext: true, Total: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := db.ListKeys(ctx, tt.q)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("invalid queries", func(t *testing.T) {
		t.Parallel()
		for _, q := range []spotzee.ListQuery{
			{ProjectID: p.ID, After: pos(keys[0]), Before: pos(keys[1])},
			{ProjectID: p.ID, Sort: "value"},
		} {
			_, err := db.ListKeys(ctx, q)
			assert.Error(t, err, "%+v", q)
		}
	})
}

func TestListKeysQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p, other := newProject(t, db), newProject(t, db)
	mk := func(name string, desc *string) spotzee.APIKey {
		return newKey(t, db, p.ID, name, t0, func(k *spotzee.NewKey) { k.Description = desc })
	}
	done := mk("100% done", nil)
	percent := mk("100 percent", ptr("no sign here"))
	snake := mk("snake_case", nil)
	snakeX := mk("snakeXcase", nil)
	back := mk(`Back\slash`, nil)
	offer := mk("offer", ptr("Contains 50% OFF"))
	revoked := mk("100% revoked", nil)
	_, err := db.RevokeKey(ctx, 0, p.ID, revoked.ID, t0)
	require.NoError(t, err)
	newKey(t, db, other.ID, "100% theirs", t0, nil)

	tests := []struct {
		query string
		want  []spotzee.APIKey
	}{
		{"%", []spotzee.APIKey{done, offer}},
		{"_", []spotzee.APIKey{snake}},
		{"e_c", []spotzee.APIKey{snake}},
		{"0%", []spotzee.APIKey{done, offer}},
		{"DONE", []spotzee.APIKey{done}},
		{"off", []spotzee.APIKey{offer}},
		{"100", []spotzee.APIKey{done, percent}},
		{`\`, []spotzee.APIKey{back}},
		{`\s`, []spotzee.APIKey{back}},
		{"case", []spotzee.APIKey{snake, snakeX}},
		{"nothing like it", []spotzee.APIKey{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			got, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p.ID, Query: tt.query})
			require.NoError(t, err)
			assert.Equal(t, ids(tt.want), ids(got.Keys))
			assert.Equal(t, len(tt.want), got.Total)
		})
	}

	t.Run("paginated", func(t *testing.T) {
		t.Parallel()
		q := spotzee.ListQuery{ProjectID: p.ID, Query: "a", Sort: spotzee.SortName, Limit: 2}
		// Matches by name, case-insensitively: "Back\slash", "snake_case",
		// "snakeXcase" ('_' < 'x'), and "offer" by its description.
		pages := walkForward(t, db, q, nil)
		require.Len(t, pages, 2)
		assert.Equal(t, spotzee.KeyPage{Keys: []spotzee.APIKey{back, offer}, HasNext: true, Total: 4}, pages[0])
		assert.Equal(t, spotzee.KeyPage{Keys: []spotzee.APIKey{snake, snakeX}, HasPrev: true, Total: 4}, pages[1])
	})
}

// TestLiveKeyCountMatchesRows checks the trigger-kept count that list
// reports as Total against a real count, through creates and revokes in two
// projects, and across a reopen.
func TestLiveKeyCountMatchesRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "count.db")
	db, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	now := time.Date(2026, 4, 28, 9, 30, 0, 0, time.UTC)
	a, err := db.CreateProject(ctx, "a", spotzee.TierStarter, now)
	require.NoError(t, err)
	b, err := db.CreateProject(ctx, "b", spotzee.TierStarter, now)
	require.NoError(t, err)
	var ids []int64
	for i := range 7 {
		pid := a.ID
		if i%3 == 0 {
			pid = b.ID
		}
		sum := sha256.Sum256([]byte(fmt.Sprintf("sk_count_%d", i)))
		k, err := db.CreateKey(ctx, spotzee.NewKey{ProjectID: pid, Name: fmt.Sprint("k", i), Scope: spotzee.ScopeSecret,
			Role: spotzee.RoleSupport, ValuePrefix: "sk_", Last4: "AAAA", Hash: sum[:], CreatedAt: now})
		require.NoError(t, err)
		ids = append(ids, k.ID)
	}
	_, err = db.RevokeKey(ctx, 0, a.ID, ids[1], now)
	require.NoError(t, err)
	_, err = db.RevokeKey(ctx, 0, a.ID, ids[1], now) // already revoked: no change
	require.Error(t, err)
	_, err = db.RevokeKey(ctx, 0, b.ID, ids[3], now)
	require.NoError(t, err)

	check := func(db *sqlite.DB) {
		for _, p := range []int64{a.ID, b.ID} {
			page, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p, Sort: spotzee.SortID, Limit: 2})
			require.NoError(t, err)
			n, err := db.CountKeys(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, n, page.Total, "project %d", p)
		}
	}
	check(db)
	require.NoError(t, db.Close())
	db, err = sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	check(db)
	page, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: a.ID, Sort: spotzee.SortID})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Total)
}

func TestListByNameIgnoresCase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	p := newProject(t, db)
	byName := map[string][]int64{}
	for _, name := range []string{"SMTP proxy", "billing", "Bootstrap admin key", "beta", "BETA", "alpha", "Zulu", "_under"} {
		k := newKey(t, db, p.ID, name, t0, nil)
		byName[name] = append(byName[name], k.ID)
	}
	order := func(names ...string) []int64 {
		var out []int64
		for _, n := range names {
			out = append(out, byName[n]...)
		}
		return out
	}
	// '_' (0x5F) sorts before the folded letters (0x61…), as in NOCASE.
	asc := order("_under", "alpha", "beta", "BETA", "billing", "Bootstrap admin key", "SMTP proxy", "Zulu")
	desc := order("Zulu", "SMTP proxy", "Bootstrap admin key", "billing", "BETA", "beta", "alpha", "_under")

	tests := []struct {
		name string
		desc bool
		want []int64
	}{
		{"ascending", false, asc},
		{"descending", true, desc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := spotzee.ListQuery{ProjectID: p.ID, Sort: spotzee.SortName, Desc: tt.desc}
			all, err := db.ListKeys(ctx, q)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(all.Keys), "one page")

			// Page by page, forward then back: the cursors follow the same order.
			q.Limit = 3
			var forward []int64
			var last spotzee.APIKey
			for _, page := range walkForward(t, db, q, nil) {
				forward = append(forward, ids(page.Keys)...)
				if len(page.Keys) > 0 {
					last = page.Keys[len(page.Keys)-1]
				}
			}
			assert.Equal(t, tt.want, forward, "forward pages")
			var backward []int64
			for _, page := range walkBackward(t, db, q, spotzee.PositionOf(last, spotzee.SortName), nil) {
				backward = append(ids(page.Keys), backward...)
			}
			assert.Equal(t, tt.want[:len(tt.want)-1], backward, "backward pages from the last key")
		})
	}
}
