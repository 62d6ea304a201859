package keymaterial

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func assertBadCursor(t *testing.T, err error) {
	t.Helper()
	var e *spotzee.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, spotzee.CodeParameterInvalidFormat, e.Code)
	assert.Equal(t, "cursor", e.Param)
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := NewCursors(testKey)
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
		s := c.Encode("", 42, p.field, p.desc, p.pos)
		assert.NotContains(t, s, "=", "URL-safe, unpadded")
		assert.LessOrEqual(t, len(s), MaxCursorLength, "fits the reference profile's maxLength")
		got, err := c.Decode(s, "", 42, p.field, p.desc)
		require.NoError(t, err)
		assert.Equal(t, p.pos, got)
	}
}

func TestCursorRejected(t *testing.T) {
	t.Parallel()
	c := NewCursors(testKey)
	pos := spotzee.Position{Value: "alpha", ID: 9}
	good := c.Encode("", 1, spotzee.SortName, false, pos)
	raw, err := base64.RawURLEncoding.DecodeString(good)
	require.NoError(t, err)

	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	// A payload re-signed with another key: well-formed, not ours.
	forged := NewCursors([]byte("another key of thirty-two bytes!")).Encode("", 1, spotzee.SortName, false, pos)
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
		kind    string
		project int64
		field   spotzee.SortField
		desc    bool
	}{
		{"payload byte flipped", flip(3), "", 1, spotzee.SortName, false},
		{"signature byte flipped", flip(len(raw) - 1), "", 1, spotzee.SortName, false},
		{"truncated", good[:len(good)-4], "", 1, spotzee.SortName, false},
		{"not base64", "!!!" + good, "", 1, spotzee.SortName, false},
		{"padded base64", good + "==", "", 1, spotzee.SortName, false},
		{"too short", "AAAA", "", 1, spotzee.SortName, false},
		{"empty-ish", "A", "", 1, spotzee.SortName, false},
		{"signed with another key", forged, "", 1, spotzee.SortName, false},
		{"edited payload", editedCursor, "", 1, spotzee.SortName, false},
		{"signed garbage", notJSON, "", 1, spotzee.SortName, false},
		{"other project", good, "", 2, spotzee.SortName, false},
		{"other sort", good, "", 1, spotzee.SortID, false},
		{"other direction", good, "", 1, spotzee.SortName, true},
		{"other kind of list", good, "orgkeys", 1, spotzee.SortName, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decode(tt.cursor, tt.kind, tt.project, tt.field, tt.desc)
			assertBadCursor(t, err)
		})
	}
	_, err = c.Decode(good, "", 1, spotzee.SortName, false)
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
		field, desc, err := ParseSort(tt.sort, tt.direction)
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
