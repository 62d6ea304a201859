package robustness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// decodeOne decodes data as exactly one JSON value; trailing reports data
// after it (other than white space).
func decodeOne(data []byte) (v any, trailing bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false, err
	}
	var extra any
	err = dec.Decode(&extra)
	return v, !errors.Is(err, io.EOF), nil
}

// object decodes an accepted request body for the oracles: the server
// answered 2xx, so it must be one JSON object, or absent (read as {}). It skips inputs that hit a
// known bug.
func acceptedObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	if len(body) == 0 {
		return map[string]any{} // an absent body means {} (openapi.yaml)
	}
	v, trailing, err := decodeOne(body)
	require.NoError(t, err, "2xx for a body that is not JSON: %q", body)
	require.False(t, trailing, "2xx for a body with data after the JSON value: %q", body)
	m, ok := v.(map[string]any)
	require.True(t, ok, "2xx for a body that is not an object: %q", body)
	return m
}

// runeLen is the length the spec's minLength/maxLength count.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// checkCreated is the oracle of an accepted create: the response holds
// exactly what the body asked for, defaults filled in, and so does the store.
func (h *harness) checkCreated(t *testing.T, body []byte, got apiKeyJSON) {
	t.Helper()
	m := acceptedObject(t, body)
	for k := range m {
		require.Contains(t, []string{"name", "scope", "description", "role"}, k, "2xx with unknown field %q", k)
	}
	name, ok := m["name"].(string)
	require.True(t, ok, "2xx without a string name: %q", body)
	require.NotEmpty(t, strings.TrimSpace(name))
	require.LessOrEqual(t, runeLen(name), 255)
	require.Equal(t, name, got.Name)
	enum := func(field, def, gotValue string) {
		v, present := m[field]
		switch {
		case !present:
			require.Equal(t, def, gotValue, field)
		case v == nil:
			t.Fatalf("2xx with %s null (not nullable)", field)
		default:
			s, ok := v.(string)
			require.True(t, ok, "2xx with %s %v", field, v)
			require.Equal(t, s, gotValue, field)
		}
	}
	enum("scope", "secret", got.Scope)
	enum("role", "support", got.Role)
	switch d := m["description"].(type) {
	case nil:
		require.Nil(t, got.Description)
	case string:
		require.LessOrEqual(t, runeLen(d), 1000)
		require.NotNil(t, got.Description)
		require.Equal(t, d, *got.Description)
	default:
		t.Fatalf("2xx with description %v", d)
	}
	prefix := "sk_"
	if got.Scope == "public" {
		prefix = "pk_"
	}
	require.True(t, strings.HasPrefix(got.Value, prefix), "value %q for scope %s", got.Value, got.Scope)
	require.Equal(t, h.project, got.ProjectID)

	stored, err := h.ref.Store().Key(context.Background(), h.project, got.ID)
	require.NoError(t, err)
	require.Equal(t, got.Name, stored.Name)
	require.Equal(t, got.Description, stored.Description)
	require.Equal(t, got.Scope, string(stored.Scope))
	require.Equal(t, got.Role, string(stored.Role))
	require.Equal(t, got.Value[len(got.Value)-4:], stored.Last4)
}

// checkUpdated is the oracle of an accepted update: the fields sent changed,
// the others kept their value, the value never changed, updated_at moved
// only for a non-empty body; the store agrees.
func (h *harness) checkUpdated(t *testing.T, body []byte, before spotzee.APIKey, got apiKeyJSON) {
	t.Helper()
	m := acceptedObject(t, body)
	want := before
	for k, v := range m {
		switch k {
		case "name":
			s, ok := v.(string)
			require.True(t, ok, "2xx with name %v", v)
			require.NotEmpty(t, strings.TrimSpace(s))
			require.LessOrEqual(t, runeLen(s), 255)
			want.Name = s
		case "description":
			switch d := v.(type) {
			case nil:
				want.Description = nil
			case string:
				require.LessOrEqual(t, runeLen(d), 1000)
				want.Description = &d
			default:
				t.Fatalf("2xx with description %v", d)
			}
		case "scope", "role":
			s, ok := v.(string)
			require.True(t, ok, "2xx with %s %v (not nullable, no default)", k, v)
			if k == "scope" {
				want.Scope = spotzee.Scope(s)
			} else {
				want.Role = spotzee.Role(s)
			}
		default:
			t.Fatalf("2xx with unknown field %q", k)
		}
	}
	require.Equal(t, before.ID, got.ID)
	require.Equal(t, before.ProjectID, got.ProjectID)
	require.Equal(t, before.MaskedValue(), got.Value, "the value changed")
	require.Equal(t, want.Name, got.Name)
	require.Equal(t, want.Description, got.Description)
	require.Equal(t, string(want.Scope), got.Scope)
	require.Equal(t, string(want.Role), got.Role)
	require.NotNil(t, got.CreatedAt)
	require.NotNil(t, got.UpdatedAt)
	created, err := time.Parse(time.RFC3339Nano, *got.CreatedAt)
	require.NoError(t, err)
	require.True(t, created.Equal(before.CreatedAt), "created_at changed")
	updated, err := time.Parse(time.RFC3339Nano, *got.UpdatedAt)
	require.NoError(t, err)
	if len(m) == 0 {
		require.True(t, updated.Equal(before.UpdatedAt), "an empty update moved updated_at")
	} else {
		require.False(t, updated.Before(before.UpdatedAt), "updated_at went back")
	}

	stored, err := h.ref.Store().Key(context.Background(), h.project, before.ID)
	require.NoError(t, err)
	require.Equal(t, want.Name, stored.Name)
	require.Equal(t, want.Description, stored.Description)
	require.Equal(t, want.Scope, stored.Scope)
	require.Equal(t, want.Role, stored.Role)
	require.True(t, stored.UpdatedAt.Equal(updated))
}

// caseFold lower-cases with Unicode case mapping, as the server's q does.
func caseFold(s string) string { return strings.ToLower(s) }

// listOrder is the order a list request asks for.
type listOrder struct {
	field string
	desc  bool
}

// orderOf mirrors the documented defaults: no sort is -created_at; a "-"
// prefix or direction=desc is descending.
func orderOf(sort, direction string) listOrder {
	if sort == "" {
		return listOrder{field: "created_at", desc: direction != "asc"}
	}
	return listOrder{field: strings.TrimPrefix(sort, "-"), desc: strings.HasPrefix(sort, "-") || direction == "desc"}
}

// less reports whether a comes strictly before b in order o.
func (o listOrder) less(t *testing.T, a, b apiKeyJSON) bool {
	t.Helper()
	cmp := 0
	switch o.field {
	case "name":
		cmp = strings.Compare(nocase(a.Name), nocase(b.Name)) // the server's NOCASE order
	case "created_at", "updated_at":
		ta, tb := a.CreatedAt, b.CreatedAt
		if o.field == "updated_at" {
			ta, tb = a.UpdatedAt, b.UpdatedAt
		}
		require.NotNil(t, ta)
		require.NotNil(t, tb)
		pa, err := time.Parse(time.RFC3339Nano, *ta)
		require.NoError(t, err)
		pb, err := time.Parse(time.RFC3339Nano, *tb)
		require.NoError(t, err)
		cmp = pa.Compare(pb)
	case "id":
	default:
		t.Fatalf("unknown sort field %q", o.field)
	}
	if cmp == 0 {
		cmp = compareInt(a.ID, b.ID)
	}
	if o.desc {
		cmp = -cmp
	}
	return cmp < 0
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkPage is the oracle of an accepted list page: every result is a live
// key of the caller's project matching q, strictly in the asked order, no
// more than the limit.
func (h *harness) checkPage(t *testing.T, p pageJSON, o listOrder, q string, limit *int, revoked map[int64]bool) {
	t.Helper()
	switch {
	case limit == nil:
		require.Equal(t, 25, p.Limit)
	default:
		require.Equal(t, *limit, p.Limit)
	}
	if p.Limit > 0 {
		require.LessOrEqual(t, len(p.Results), p.Limit)
	}
	for i, k := range p.Results {
		require.Equal(t, h.project, k.ProjectID)
		require.False(t, revoked[k.ID], "revoked key %d listed", k.ID)
		if q != "" {
			desc := ""
			if k.Description != nil {
				desc = *k.Description
			}
			if !strings.Contains(caseFold(k.Name), caseFold(q)) && !strings.Contains(caseFold(desc), caseFold(q)) {
				t.Fatalf("key %d (%q, %q) does not match q=%q", k.ID, k.Name, desc, q)
			}
		}
		if i > 0 {
			require.True(t, o.less(t, p.Results[i-1], k), "results %d and %d out of %+v order", i-1, i, o)
		}
	}
}

// nocase folds s as SQLite's NOCASE collation, which orders names: ASCII
// letters only.
func nocase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
