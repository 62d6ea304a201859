package keys

import (
	"encoding/base64"
	"encoding/json"
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

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := cursorCodec{key: testKey}
	positions := []struct {
		field spotzee.SortField
		desc  bool
		pos   spotzee.Position
	}{
		{spotzee.SortID, false, spotzee.Position{ID: 1}},
		{spotzee.SortID, true, spotzee.Position{ID: 1<<62 + 7}},
		{spotzee.SortName, false, spotzee.Position{Value: `Prod "server" ✓ / é`, ID: 12}},
		{spotzee.SortName, true, spotzee.Position{Value: "", ID: 3}},
		{spotzee.SortCreatedAt, true, spotzee.Position{Value: "2026-04-28T09:30:00.123456000Z", ID: 5}},
		{spotzee.SortUpdatedAt, false, spotzee.Position{Value: "2026-04-28T09:30:00.000000000Z", ID: 6}},
		// The longest names (255 characters) of the costliest characters.
		{spotzee.SortName, true, spotzee.Position{Value: strings.Repeat("\x01", 255), ID: 1<<62 + 7}},
		{spotzee.SortName, false, spotzee.Position{Value: strings.Repeat("\U0001F511", 255), ID: 1<<62 + 7}},
		{spotzee.SortName, false, spotzee.Position{Value: strings.Repeat(`<"\`, 85), ID: 1<<62 + 7}},
	}
	for _, p := range positions {
		s := c.encode(42, p.field, p.desc, p.pos)
		assert.NotContains(t, s, "=", "URL-safe, unpadded")
		assert.LessOrEqual(t, len(s), MaxCursorLength, "fits the reference profile's maxLength")
		got, err := c.decode(s, 42, p.field, p.desc)
		require.NoError(t, err)
		assert.Equal(t, p.pos, got)
	}
}

func TestCursorRejected(t *testing.T) {
	t.Parallel()
	c := cursorCodec{key: testKey}
	pos := spotzee.Position{Value: "alpha", ID: 9}
	good := c.encode(1, spotzee.SortName, false, pos)
	raw, err := base64.RawURLEncoding.DecodeString(good)
	require.NoError(t, err)

	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	// A payload re-signed with another key: well-formed, not ours.
	forged := cursorCodec{key: []byte("another key of thirty-two bytes!")}.encode(1, spotzee.SortName, false, pos)
	// A payload edited to point elsewhere, keeping the old signature.
	data, sig := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	var p cursorPayload
	require.NoError(t, json.Unmarshal(data, &p))
	p.ID = 1
	edited, _ := json.Marshal(p)
	editedCursor := base64.RawURLEncoding.EncodeToString(append(edited, sig...))
	// Valid signature over something that is not a payload.
	notJSON := base64.RawURLEncoding.EncodeToString(append([]byte("xyz"), c.mac([]byte("xyz"))...))

	tests := []struct {
		name    string
		cursor  string
		project int64
		field   spotzee.SortField
		desc    bool
	}{
		{"payload byte flipped", flip(3), 1, spotzee.SortName, false},
		{"signature byte flipped", flip(len(raw) - 1), 1, spotzee.SortName, false},
		{"truncated", good[:len(good)-4], 1, spotzee.SortName, false},
		{"not base64", "!!!" + good, 1, spotzee.SortName, false},
		{"padded base64", good + "==", 1, spotzee.SortName, false},
		{"too short", "AAAA", 1, spotzee.SortName, false},
		{"empty-ish", "A", 1, spotzee.SortName, false},
		{"signed with another key", forged, 1, spotzee.SortName, false},
		{"edited payload", editedCursor, 1, spotzee.SortName, false},
		{"signed garbage", notJSON, 1, spotzee.SortName, false},
		{"other project", good, 2, spotzee.SortName, false},
		{"other sort", good, 1, spotzee.SortID, false},
		{"other direction", good, 1, spotzee.SortName, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.decode(tt.cursor, tt.project, tt.field, tt.desc)
			assertBadCursor(t, err)
		})
	}
	_, err = c.decode(good, 1, spotzee.SortName, false)
	require.NoError(t, err, "the untampered cursor still decodes")
}

func TestParseSort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sort, direction string
		field           spotzee.SortField
		desc            bool
		errParam        string // "" when valid
	}{
		{"", "", spotzee.SortCreatedAt, true, ""},
		{"", "asc", spotzee.SortCreatedAt, false, ""},
		{"", "desc", spotzee.SortCreatedAt, true, ""},
		{"id", "", spotzee.SortID, false, ""},
		{"-id", "", spotzee.SortID, true, ""},
		{"name", "", spotzee.SortName, false, ""},
		{"name", "asc", spotzee.SortName, false, ""},
		{"name", "desc", spotzee.SortName, true, ""},
		{"-name", "", spotzee.SortName, true, ""},
		{"-name", "desc", spotzee.SortName, true, ""},
		{"created_at", "", spotzee.SortCreatedAt, false, ""},
		{"-created_at", "", spotzee.SortCreatedAt, true, ""},
		{"updated_at", "desc", spotzee.SortUpdatedAt, true, ""},
		{"-updated_at", "", spotzee.SortUpdatedAt, true, ""},
		{"-name", "asc", "", false, "direction"},
		{"-id", "asc", "", false, "direction"},
		{"name", "up", "", false, "direction"},
		{"", "DESC", "", false, "direction"},
		{"revoked_at", "", "", false, "sort"},
		{"hash", "", "", false, "sort"},
		{"--name", "", "", false, "sort"},
		{"-", "", "", false, "sort"},
		{"Name", "", "", false, "sort"},
		{"name ", "", "", false, "sort"},
		{"+name", "", "", false, "sort"},
	}
	for _, tt := range tests {
		field, desc, err := parseSort(tt.sort, tt.direction)
		if tt.errParam != "" {
			var e *spotzee.Error
			if assert.ErrorAs(t, err, &e, "sort=%q direction=%q", tt.sort, tt.direction) {
				assert.Equal(t, spotzee.CodeParameterInvalidFormat, e.Code)
				assert.Equal(t, tt.errParam, e.Param, "sort=%q direction=%q", tt.sort, tt.direction)
			}
			continue
		}
		if assert.NoError(t, err, "sort=%q direction=%q", tt.sort, tt.direction) {
			assert.Equal(t, tt.field, field, "sort=%q direction=%q", tt.sort, tt.direction)
			assert.Equal(t, tt.desc, desc, "sort=%q direction=%q", tt.sort, tt.direction)
		}
	}
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
		cursor := svc.cursor.encode(3, spotzee.SortName, tt.desc, pos)
		st.page = &spotzee.KeyPage{Keys: []spotzee.APIKey{}, HasPrev: tt.hasPrev, HasNext: tt.hasNext}
		page, err := svc.List(t.Context(), caller, ListInput{Sort: tt.sort, Cursor: cursor, Prev: tt.prev, Limit: intp(10)})
		require.NoError(t, err)
		check := func(got *string, want *spotzee.Position, what string) {
			if want == nil {
				assert.Nil(t, got, "%s %s prev=%v", what, tt.sort, tt.prev)
				return
			}
			require.NotNil(t, got, "%s %s prev=%v", what, tt.sort, tt.prev)
			p, err := svc.cursor.decode(*got, 3, spotzee.SortName, tt.desc)
			require.NoError(t, err)
			assert.Equal(t, *want, p, "%s %s prev=%v", what, tt.sort, tt.prev)
		}
		check(page.PrevCursor, tt.wantPrev, "prevCursor")
		check(page.NextCursor, tt.wantNext, "nextCursor")
	}
}
