package keys

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

func assertBadCursor(t *testing.T, err error) {
	t.Helper()
	var e *spotzee.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, spotzee.CodeParameterInvalidFormat, e.Code)
	assert.Equal(t, "cursor", e.Param)
}

func intp(i int) *int { return &i }

func TestListLimit(t *testing.T) {
	t.Parallel()
	svc, st := newService(t)
	caller := spotzee.APIKey{ProjectID: 7, Role: spotzee.RoleAdmin}
	tests := []struct {
		limit     *int
		wantStore int // the Limit the store is asked for
		wantPage  int // the Limit the page reports
		ok        bool
	}{
		{nil, DefaultLimit, DefaultLimit, true},
		{intp(1), 1, 1, true},
		{intp(100), 100, 100, true},
		{intp(-1), MaxListAll + 1, -1, true},
		{intp(0), 0, 0, false},
		{intp(-2), 0, 0, false},
		{intp(101), 0, 0, false},
		{intp(1 << 40), 0, 0, false},
	}
	for _, tt := range tests {
		st.lastList = nil
		page, err := svc.List(t.Context(), caller, ListInput{Limit: tt.limit})
		if !tt.ok {
			var e *spotzee.Error
			require.ErrorAs(t, err, &e, "limit %d", *tt.limit)
			assert.Equal(t, spotzee.CodeParameterInvalidFormat, e.Code)
			assert.Equal(t, "limit", e.Param)
			assert.Nil(t, st.lastList, "a bad limit never reaches the store")
			continue
		}
		require.NoError(t, err)
		require.NotNil(t, st.lastList)
		assert.Equal(t, tt.wantStore, st.lastList.Limit)
		assert.Equal(t, tt.wantPage, page.Limit)
		assert.Equal(t, int64(7), st.lastList.ProjectID, "always the caller's project")
	}
}

func TestListAllRefusedAboveMax(t *testing.T) {
	t.Parallel()
	svc, st := newService(t)
	caller := spotzee.APIKey{ProjectID: 1, Role: spotzee.RoleAdmin}
	many := func(n, total int) *spotzee.KeyPage {
		ks := make([]spotzee.APIKey, n)
		for i := range ks {
			ks[i] = spotzee.APIKey{ID: int64(i + 1), ProjectID: 1}
		}
		return &spotzee.KeyPage{Keys: ks, Total: total}
	}
	st.page = many(MaxListAll, MaxListAll)
	page, err := svc.List(t.Context(), caller, ListInput{Limit: intp(-1)})
	require.NoError(t, err)
	assert.Len(t, page.Keys, MaxListAll)
	assert.Nil(t, page.NextCursor)

	for _, p := range []*spotzee.KeyPage{many(MaxListAll+1, MaxListAll+1), many(MaxListAll, MaxListAll+5)} {
		st.page = p
		_, err = svc.List(t.Context(), caller, ListInput{Limit: intp(-1)})
		var e *spotzee.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, spotzee.CodeParameterInvalidFormat, e.Code)
		assert.Equal(t, "limit", e.Param)
	}
}

func TestListQueryAndCursors(t *testing.T) {
	t.Parallel()
	svc, st := newService(t)
	caller := spotzee.APIKey{ProjectID: 3, Role: spotzee.RoleAdmin}
	k1 := spotzee.APIKey{ID: 10, ProjectID: 3, Name: "a"}
	k2 := spotzee.APIKey{ID: 11, ProjectID: 3, Name: "b"}

	st.page = &spotzee.KeyPage{Keys: []spotzee.APIKey{k1, k2}, HasNext: true, HasPrev: true, Total: 9}
	page, err := svc.List(t.Context(), caller, ListInput{Sort: "name", Query: "Prod", Limit: intp(2)})
	require.NoError(t, err)
	q := st.lastList
	assert.Equal(t, spotzee.SortName, q.Sort)
	assert.False(t, q.Desc)
	assert.Equal(t, "Prod", q.Query)
	assert.Nil(t, q.After)
	assert.Nil(t, q.Before)
	assert.Equal(t, 9, page.Total)
	require.NotNil(t, page.NextCursor)
	require.NotNil(t, page.PrevCursor)

	// nextCursor resumes after the last key, prevCursor ends before the first.
	_, err = svc.List(t.Context(), caller, ListInput{Sort: "name", Cursor: *page.NextCursor, Limit: intp(2)})
	require.NoError(t, err)
	require.NotNil(t, st.lastList.After)
	assert.Nil(t, st.lastList.Before)
	assert.Equal(t, spotzee.Position{Value: "b", ID: 11}, *st.lastList.After)

	_, err = svc.List(t.Context(), caller, ListInput{Sort: "name", Cursor: *page.PrevCursor, Prev: true, Limit: intp(2)})
	require.NoError(t, err)
	require.NotNil(t, st.lastList.Before)
	assert.Nil(t, st.lastList.After)
	assert.Equal(t, spotzee.Position{Value: "a", ID: 10}, *st.lastList.Before)

	// The cursor is bound to the order and the project.
	st.lastList = nil
	_, err = svc.List(t.Context(), caller, ListInput{Sort: "-name", Cursor: *page.NextCursor})
	assertBadCursor(t, err)
	_, err = svc.List(t.Context(), caller, ListInput{Cursor: *page.NextCursor})
	assertBadCursor(t, err)
	_, err = svc.List(t.Context(), spotzee.APIKey{ProjectID: 4}, ListInput{Sort: "name", Cursor: *page.NextCursor})
	assertBadCursor(t, err)
	assert.Nil(t, st.lastList, "a bad cursor never reaches the store")

	// The ends of the list have no cursor on their open side.
	st.page = &spotzee.KeyPage{Keys: []spotzee.APIKey{k1}, Total: 1}
	page, err = svc.List(t.Context(), caller, ListInput{})
	require.NoError(t, err)
	assert.Nil(t, page.NextCursor)
	assert.Nil(t, page.PrevCursor)
	assert.Equal(t, spotzee.SortCreatedAt, st.lastList.Sort, "default order")
	assert.True(t, st.lastList.Desc, "default order is newest first")

	// A cursor signed by another server (another secret) is refused.
	other := New(st, []byte(strings.Repeat("z", 32)))
	st.page = &spotzee.KeyPage{Keys: []spotzee.APIKey{k1, k2}, HasNext: true}
	foreign, err := other.List(t.Context(), caller, ListInput{})
	require.NoError(t, err)
	require.NotNil(t, foreign.NextCursor)
	_, err = svc.List(t.Context(), caller, ListInput{Cursor: *foreign.NextCursor})
	assertBadCursor(t, err)
}

// TestListEmptyPageCursors: an empty page after (or before) a cursor gets a
// cursor back towards the keys that remain, bounded so that the key the
// cursor was made from is included.
func TestListEmptyPageCursors(t *testing.T) {
	t.Parallel()
	svc, st := newService(t)
	caller := spotzee.APIKey{ProjectID: 3}
	pos := spotzee.Position{Value: "m", ID: 50}
	for _, tt := range []struct {
		sort     string
		desc     bool
		prev     bool
		wantPrev *spotzee.Position
		wantNext *spotzee.Position
		hasPrev  bool
		hasNext  bool
	}{
		// After (v, 50) in ascending order: step back to "before (v, 51)".
		{sort: "name", prev: false, hasPrev: true, wantPrev: &spotzee.Position{Value: "m", ID: 51}},
		{sort: "-name", desc: true, prev: false, hasPrev: true, wantPrev: &spotzee.Position{Value: "m", ID: 49}},
		// Before (v, 50): step forward to "after (v, 49)".
		{sort: "name", prev: true, hasNext: true, wantNext: &spotzee.Position{Value: "m", ID: 49}},
		{sort: "-name", desc: true, prev: true, hasNext: true, wantNext: &spotzee.Position{Value: "m", ID: 51}},
		// Nothing on the other side either: no cursor at all.
		{sort: "name", prev: false},
		{sort: "name", prev: true},
	} {
		cursor := svc.cursor.Encode("", 3, spotzee.SortName, tt.desc, pos)
		st.page = &spotzee.KeyPage{Keys: []spotzee.APIKey{}, HasPrev: tt.hasPrev, HasNext: tt.hasNext}
		page, err := svc.List(t.Context(), caller, ListInput{Sort: tt.sort, Cursor: cursor, Prev: tt.prev, Limit: intp(10)})
		require.NoError(t, err)
		check := func(got *string, want *spotzee.Position, what string) {
			if want == nil {
				assert.Nil(t, got, "%s %s prev=%v", what, tt.sort, tt.prev)
				return
			}
			require.NotNil(t, got, "%s %s prev=%v", what, tt.sort, tt.prev)
			p, err := svc.cursor.Decode(*got, "", 3, spotzee.SortName, tt.desc)
			require.NoError(t, err)
			assert.Equal(t, *want, p, "%s %s prev=%v", what, tt.sort, tt.prev)
		}
		check(page.PrevCursor, tt.wantPrev, "prevCursor")
		check(page.NextCursor, tt.wantNext, "nextCursor")
	}
}
