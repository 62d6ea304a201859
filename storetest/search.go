package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// searchMatches reports whether q's text filter keeps k: its name or
// description contains q, both lower-cased by Go's strings.ToLower.
func searchMatches(k spotzee.APIKey, q string) bool {
	fq := strings.ToLower(q)
	return strings.Contains(strings.ToLower(k.Name), fq) ||
		k.Description != nil && strings.Contains(strings.ToLower(*k.Description), fq)
}

// searchFixture creates keys whose names and descriptions exercise the text
// filter (LIKE wildcards, FTS5 query syntax, Unicode folding, trigram
// boundaries), then renames some, changes, clears or sets descriptions and
// revokes a few, so the filter must follow every write. It returns the live
// keys as they are after the writes. A second project gets matching keys the
// lists must never show.
func searchFixture(t *testing.T, db DB, p spotzee.Project) []spotzee.APIKey {
	t.Helper()
	type fk struct {
		name string
		desc string // "" for none
	}
	fixture := []fk{
		{"ÄRGER im Büro", ""}, {"ärgerlich", "Ärger"}, {"Straße", ""}, {"İstanbul office", ""}, {"istanbul", ""},
		{"100% coverage", ""}, {"under_score", ""}, {`back\slash`, ""}, {`say "hi"`, ""}, {"star*gazer", ""},
		{"Tom AND Jerry", ""}, {"this OR that", ""}, {"NEAR me", ""}, {"^caret col:on", ""}, {"plain", ""},
		{"abc", ""}, {"ab", ""}, {"xABCx", ""}, {"Description only", "a NEEDLE in the haystack"},
		{"needle", "needle too"}, {"seed 1", ""}, {"seed 10", ""}, {"seed 100", ""}, {"alpha", ""}, {"Alpha", ""},
		// Changed below.
		{"old needle name", ""}, {"desc changes", "has a needle"}, {"desc cleared", "needle to clear"},
		{"needle revoked", "needle"}, {"was plain", ""}, {"gets a description", ""}, {"ärger revoked", ""},
	}
	keys := map[string]spotzee.APIKey{}
	for i, f := range fixture {
		var opts []keyOpts
		opts = append(opts, at(t0.Add(time.Duration(i%5)*time.Second)))
		if f.desc != "" {
			opts = append(opts, desc(f.desc))
		}
		keys[f.name] = mustKey(t, db, newKey(p.ID, f.name, opts...))
	}
	now := t0.Add(time.Hour)
	update := func(name string, u spotzee.KeyUpdate) {
		t.Helper()
		now = now.Add(-time.Second) // update times out of id order
		k, err := db.UpdateKey(ctx(), 0, p.ID, keys[name].ID, u, now)
		require.NoError(t, err)
		keys[name] = k
	}
	update("old needle name", spotzee.KeyUpdate{Name: ptr("fresh name")})
	update("desc changes", spotzee.KeyUpdate{SetDescription: true, Description: ptr("nothing here")})
	update("desc cleared", spotzee.KeyUpdate{SetDescription: true})
	update("was plain", spotzee.KeyUpdate{Name: ptr("Needle renamed")})
	update("gets a description", spotzee.KeyUpdate{SetDescription: true, Description: ptr("ÄRGERNIS and a needle")})
	update("alpha", spotzee.KeyUpdate{Role: ptr(spotzee.RoleSupport)}) // no text change
	for _, name := range []string{"needle revoked", "ärger revoked"} {
		_, err := db.RevokeKey(ctx(), 0, p.ID, keys[name].ID, t0.Add(2*time.Hour))
		require.NoError(t, err)
		delete(keys, name)
	}

	other := newProject(t, db)
	for _, name := range []string{"needle elsewhere", "ÄRGER elsewhere", "abc"} {
		mustKey(t, db, newKey(other.ID, name, desc("needle")))
	}

	live := make([]spotzee.APIKey, 0, len(keys))
	for _, k := range keys {
		live = append(live, k)
	}
	return live
}

// testListSearch checks the text filter against a brute-force Go filter for
// queries of one, two and three or more characters, LIKE wildcards, FTS5
// syntax and Unicode folding: the whole list in every order, and pages
// forward with After and back with Before, with Total, HasPrev and HasNext,
// as for the list filtered in Go.
func testListSearch(t *testing.T, db DB) {
	p := newProject(t, db)
	live := searchFixture(t, db, p)
	queries := []string{
		"a", "ä", "ab", "AB", "abc", "ABCX",
		"ÄRGER", "ärger", "ärgernis", "rger", "İ", "İst", "ist", "straße", "STRASSE",
		"%", "_", `\`, `"`, "*", "100%", "r_s", `k\s`, `"hi"`, `say "`, `""`,
		"AND", "OR", "NEAR", "NEAR(", "star*", "^caret", "ol:", "-", "  ", "   ",
		"needle", "haystack", "renamed", "fresh", "old needle", "revoked", "to clear", "nothing here",
		"seed 1", "seed 100", "alpha", "elsewhere", "nothing matches this",
	}
	// Under -race (where SQLite is some 20x slower) only these are checked
	// in every order; the others list in two orders and page through one,
	// each query taking its turn.
	deep := map[string]bool{"ab": true, "needle": true}
	fields := []spotzee.SortField{spotzee.SortID, spotzee.SortName, spotzee.SortCreatedAt, spotzee.SortUpdatedAt}
	for i, q := range queries {
		var matched []spotzee.APIKey
		for _, k := range live {
			if searchMatches(k, q) {
				matched = append(matched, k)
			}
		}
		t.Run(fmt.Sprintf("q=%q", q), func(t *testing.T) {
			t.Parallel() // the writes are done: reads only
			for j, f := range fields {
				for k, desc := range []bool{false, true} {
					turn := (2*j + k) % 8
					if raceEnabled && !deep[q] && turn%4 != i%4 {
						continue
					}
					name := fmt.Sprintf("%s desc=%v", f, desc)
					want := ids(expectedOrder(matched, f, desc))
					all, err := db.ListKeys(ctx(), spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc, Query: q})
					require.NoError(t, err, name)
					require.Equal(t, want, ids(all.Keys), name)
					assert.Equal(t, len(want), all.Total, name)
					assert.False(t, all.HasPrev || all.HasNext, name)
					if !raceEnabled || deep[q] || turn == i%8 {
						searchWalk(t, db, spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc, Query: q, Limit: 3}, want, name)
					}
				}
			}
		})
	}
}

// searchWalk pages through q forward with After, checking each page against
// want (the whole filtered list in order), then back with Before.
func searchWalk(t *testing.T, db DB, q spotzee.ListQuery, want []int64, name string) {
	t.Helper()
	var pages []spotzee.KeyPage
	var got []int64
	for {
		page, err := db.ListKeys(ctx(), q)
		require.NoError(t, err, name)
		start := len(got)
		got = append(got, ids(page.Keys)...)
		require.LessOrEqual(t, len(got), len(want), name)
		assert.Equal(t, want[start:len(got)], ids(page.Keys), name)
		assert.Equal(t, len(want), page.Total, name)
		assert.Equal(t, len(pages) > 0 && len(want) > 0, page.HasPrev, "%s: page %d", name, len(pages))
		assert.Equal(t, len(got) < len(want), page.HasNext, "%s: page %d", name, len(pages))
		pages = append(pages, page)
		if !page.HasNext || len(page.Keys) == 0 {
			break
		}
		pos := spotzee.PositionOf(page.Keys[len(page.Keys)-1], q.Sort)
		q.After, q.Before = &pos, nil
		require.Less(t, len(pages), 30, name)
	}
	require.Equal(t, want, nonNil(got), name)
	if len(want) == 0 {
		return
	}
	// Past the last key: an empty page that can step back.
	pos := spotzee.PositionOf(pages[len(pages)-1].Keys[len(pages[len(pages)-1].Keys)-1], q.Sort)
	q.After, q.Before = &pos, nil
	end, err := db.ListKeys(ctx(), q)
	require.NoError(t, err, name)
	assert.Empty(t, end.Keys, name)
	assert.True(t, end.HasPrev, name)
	assert.False(t, end.HasNext, name)
	assert.Equal(t, len(want), end.Total, name)
	for i := len(pages) - 1; i > 0; i-- {
		pos := spotzee.PositionOf(pages[i].Keys[0], q.Sort)
		q.After, q.Before = nil, &pos
		prev, err := db.ListKeys(ctx(), q)
		require.NoError(t, err, name)
		assert.Equal(t, ids(pages[i-1].Keys), ids(prev.Keys), "%s: back to page %d", name, i-1)
		assert.True(t, prev.HasNext, name)
		assert.Equal(t, i > 1, prev.HasPrev, "%s: back to page %d", name, i-1)
		assert.Equal(t, len(want), prev.Total, name)
	}
}

// nonNil returns s, or an empty slice for nil, so it compares equal to ids'.
func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return slices.Clip(s)
}
