package robustness

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// Every fuzz target serves its inputs through the whole handler in-process
// (one server per fuzz function, state accumulating) and holds the common
// invariant of harness.check (never a 5xx, a valid problem+json 4xx or a 2xx
// that validates against the spec), that a 4xx changes nothing, and an
// oracle of its own for what a 2xx must contain.

func FuzzCreateBody(f *testing.F) {
	h := newHarness(f)
	f.Add([]byte(`{"name":"fuzz"}`))
	// Over the 64 KiB body limit (kept out of testdata for its size).
	f.Add([]byte(`{"name":"big","description":"` + strings.Repeat("d", 64<<10) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := call{method: http.MethodPost, target: "/keys", header: jsonHeader(h.admin), body: body}
		before := h.snapshot(t)
		res := h.do(t, c)
		p := h.check(t, c, res)
		after := h.snapshot(t)
		if p != nil {
			require.Equal(t, before, after, "a %d (%s) changed the keys", res.status, p.Code)
			return
		}
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, before.live()+1, after.live())
		got := decode[apiKeyJSON](t, res.body)
		defer h.retire(t, got.ID)
		require.Greater(t, got.ID, before.lastID())
		require.Equal(t, got.ID, after.lastID())
		h.checkCreated(t, body, got)
	})
}

func FuzzUpdateBody(f *testing.F) {
	h := newHarness(f)
	target := h.addKey(f, keys.CreateInput{Name: "update target", Role: spotzee.RoleEditor}).Key
	path := fmt.Sprintf("/keys/%d", target.ID)
	f.Add([]byte(`{"name":"renamed","description":null}`))
	f.Add([]byte(`{"description":"` + strings.Repeat("d", 64<<10) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := call{method: http.MethodPatch, target: path, header: jsonHeader(h.admin), body: body}
		before := h.snapshot(t)
		res := h.do(t, c)
		p := h.check(t, c, res)
		after := h.snapshot(t)
		if p != nil {
			require.Equal(t, before, after, "a %d (%s) changed the keys", res.status, p.Code)
			return
		}
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, before.live(), after.live())
		h.checkUpdated(t, body, before.key(t, target.ID), decode[apiKeyJSON](t, res.body))
	})
}

// listFixture fills a harness with keys to page through: repeated and mixed
// case names (ties broken by id), descriptions, keys updated out of creation
// order, revoked keys, and keys of another project.
func listFixture(tb testing.TB, h *harness) map[int64]bool {
	tb.Helper()
	ctx := context.Background()
	svc := h.ref.Service()
	names := []string{"alpha", "Alpha", "beta", "beta", "gamma", "Δelta", "epsilon 100%", "zeta_z", "eta", "theta"}
	var ids []int64
	for i := range 36 {
		in := keys.CreateInput{Name: names[i%len(names)]}
		if i%3 == 0 {
			d := fmt.Sprintf("description %d ALPHA", i)
			in.Description = &d
		}
		ids = append(ids, h.addKey(tb, in).Key.ID)
	}
	revoked := map[int64]bool{}
	for i, id := range ids {
		switch i % 7 {
		case 2:
			_, err := h.ref.Store().UpdateKey(ctx, 0, h.project, id, spotzee.KeyUpdate{Name: &names[(i+3)%len(names)]}, svc.Now())
			require.NoError(tb, err)
		case 5:
			_, err := svc.Revoke(ctx, spotzee.APIKey{ProjectID: h.project}, id)
			require.NoError(tb, err)
			revoked[id] = true
		}
	}
	other, err := svc.Bootstrap(ctx, "other project", spotzee.TierStarter)
	require.NoError(tb, err)
	_, err = svc.AddKey(ctx, other.Project.ID, keys.CreateInput{Name: "alpha"})
	require.NoError(tb, err)
	return revoked
}

// listParams are the fuzzed list parameters; bit i of present sends the
// i-th, bit 6 adds a differently-cased duplicate of limit (unknown).
type listParams struct {
	present                                 uint8
	limit, cursor, sort, direction, q, page string
}

func (lp listParams) values() url.Values {
	v := url.Values{}
	for i, kv := range [][2]string{{"limit", lp.limit}, {"cursor", lp.cursor}, {"sort", lp.sort},
		{"direction", lp.direction}, {"q", lp.q}, {"page", lp.page}} {
		if lp.present&(1<<i) != 0 {
			v.Set(kv[0], kv[1])
		}
	}
	if lp.present&(1<<6) != 0 {
		v.Set("LIMIT", lp.limit)
	}
	return v
}

func (lp listParams) has(bit int) bool { return lp.present&(1<<bit) != 0 }

// listAndFollow sends a list request, checks it, and on 200 checks the page
// and follows its cursors one step each way.
func (h *harness) listAndFollow(t *testing.T, v url.Values, revoked map[int64]bool) (result, *problemBody) {
	t.Helper()
	c := call{method: http.MethodGet, target: "/keys?" + v.Encode(), header: jsonHeader(h.admin)}
	before := h.snapshot(t)
	res := h.do(t, c)
	p := h.check(t, c, res)
	require.Equal(t, before, h.snapshot(t), "a list changed the keys")
	if p != nil {
		return res, p
	}
	require.Equal(t, http.StatusOK, res.status)
	page := decode[pageJSON](t, res.body)
	o := orderOf(v.Get("sort"), v.Get("direction"))
	var limit *int
	if s, ok := v["limit"]; ok && s[0] != "" {
		if n, err := strconv.Atoi(s[0]); err == nil {
			limit = &n
		}
	}
	h.checkPage(t, page, o, v.Get("q"), limit, revoked)
	total, err := strconv.Atoi(res.header.Get("X-Total-Count"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, total, len(page.Results))
	if page.Limit == -1 && v.Get("cursor") == "" {
		require.Len(t, page.Results, total)
	}
	if len(page.Results) == 0 {
		return res, nil
	}
	first, last := page.Results[0], page.Results[len(page.Results)-1]
	for _, step := range []struct {
		cursor *string
		dir    string
	}{{page.NextCursor, "next"}, {page.PrevCursor, "prev"}} {
		if step.cursor == nil {
			continue
		}
		nv := url.Values{}
		for k, vs := range v {
			nv[k] = vs
		}
		nv.Set("cursor", *step.cursor)
		nv.Set("page", step.dir)
		nc := call{method: http.MethodGet, target: "/keys?" + nv.Encode(), header: jsonHeader(h.admin)}
		nres := h.do(t, nc)
		require.Nil(t, h.check(t, nc, nres), "following %sCursor", step.dir)
		np := decode[pageJSON](t, nres.body)
		h.checkPage(t, np, o, v.Get("q"), limit, revoked)
		require.NotEmpty(t, np.Results, "%sCursor led to an empty page", step.dir)
		if step.dir == "next" {
			require.True(t, o.less(t, last, np.Results[0]), "next page overlaps or goes back")
		} else {
			require.True(t, o.less(t, np.Results[len(np.Results)-1], first), "prev page overlaps or goes forward")
		}
	}
	return res, nil
}

func FuzzListQuery(f *testing.F) {
	h := newHarness(f)
	revoked := listFixture(f, h)
	f.Add(uint8(0b111101), "5", "", "-name", "desc", "a", "next")
	f.Fuzz(func(t *testing.T, present uint8, limit, cursor, sort, direction, q, page string) {
		lp := listParams{present: present, limit: limit, cursor: cursor, sort: sort, direction: direction, q: q, page: page}
		res, p := h.listAndFollow(t, lp.values(), revoked)
		if p == nil {
			return
		}
		require.Equal(t, http.StatusBadRequest, res.status)
		require.Contains(t, []string{string(spotzee.CodeParameterInvalidFormat), string(spotzee.CodeParameterInvalidEmpty),
			string(spotzee.CodeParameterUnknown)}, p.Code)
		if lp.has(6) {
			return
		}
		if p.Code == string(spotzee.CodeParameterUnknown) {
			t.Fatalf("parameter_unknown without an unknown parameter: %+v", p)
		}
	})
}

func FuzzCursorDecode(f *testing.F) {
	h := newHarness(f)
	revoked := listFixture(f, h)
	// Live cursors of this run, for every sort, to mutate.
	for _, sort := range []string{"", "id", "-name", "created_at", "-updated_at"} {
		target := "/keys?limit=4"
		if sort != "" {
			target += "&sort=" + sort
		}
		res := h.do(f, call{method: http.MethodGet, target: target, header: jsonHeader(h.admin)})
		require.Equal(f, http.StatusOK, res.status, "%s", res.body)
		if p := decode[pageJSON](f, res.body); p.NextCursor != nil {
			f.Add(*p.NextCursor, false)
			f.Add(*p.NextCursor, true)
		}
	}
	f.Fuzz(func(t *testing.T, cursor string, prev bool) {
		v := url.Values{"limit": {"4"}, "cursor": {cursor}}
		if prev {
			v.Set("page", "prev")
		}
		_, p := h.listAndFollow(t, v, revoked)
		if p == nil {
			return
		}
		require.Equal(t, "cursor", p.Param, "a bad cursor blamed on %q", p.Param)
		require.Contains(t, []string{string(spotzee.CodeParameterInvalidFormat), string(spotzee.CodeParameterInvalidEmpty)}, p.Code)
		if cursor != "" {
			require.Equal(t, string(spotzee.CodeParameterInvalidFormat), p.Code)
		}
	})
}

func FuzzAuthorization(f *testing.F) {
	h := newHarness(f)
	ctx := context.Background()
	support := h.addKey(f, keys.CreateInput{Name: "support", Role: spotzee.RoleSupport}).Value
	public := h.addKey(f, keys.CreateInput{Name: "public", Scope: spotzee.ScopePublic, Role: spotzee.RoleAdmin}).Value
	gone := h.addKey(f, keys.CreateInput{Name: "revoked", Role: spotzee.RoleAdmin})
	_, err := h.ref.Service().Revoke(ctx, spotzee.APIKey{ProjectID: h.project}, gone.Key.ID)
	require.NoError(f, err)
	// What each live token answers on GET /keys; anything else is 401.
	want := map[string]int{h.admin: http.StatusOK, support: http.StatusForbidden}
	for _, v := range []string{h.admin, support, public, gone.Value} {
		f.Add("Bearer " + v)
		f.Add("bearer  " + v)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, ok := validate.BearerToken(header)
		if ok {
			require.NotEmpty(t, token)
			require.LessOrEqual(t, len(token), 512)
			for i := 0; i < len(token); i++ {
				c := token[i]
				require.True(t, c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
					strings.IndexByte("-._~+/=", c) >= 0, "token byte %q outside token68", c)
			}
			require.GreaterOrEqual(t, len(header), len("Bearer ")+len(token))
			require.True(t, strings.EqualFold(header[:6], "Bearer"), "scheme of %q", header)
			require.Equal(t, token, strings.TrimLeft(header[7:], " "))
			again, ok2 := validate.BearerToken("Bearer " + token)
			require.True(t, ok2)
			require.Equal(t, token, again)
		} else {
			require.Empty(t, token)
		}

		hdr := http.Header{}
		hdr.Set("Authorization", header)
		c := call{method: http.MethodGet, target: "/keys?limit=1", header: hdr}
		res := h.do(t, c)
		p := h.check(t, c, res)
		expected := http.StatusUnauthorized
		if ok && want[token] != 0 {
			expected = want[token]
		}
		require.Equal(t, expected, res.status, "Authorization %q: %s", header, res.body)
		if p != nil && len(token) >= 8 {
			for _, s := range []string{p.Message, p.Param} {
				require.NotContains(t, s, token, "the problem echoes the token")
			}
		}
	})
}

func FuzzIdempotencyKey(f *testing.F) {
	h := newHarness(f)
	type first struct {
		alt       bool
		id        int64
		value     string
		requestID string
	}
	seen := map[string]first{}
	bodies := map[bool][]byte{false: []byte(`{"name":"idempotent"}`), true: []byte(`{"name":"idempotent","role":"editor"}`)}
	f.Add("6f1c2a3e-0d7b-4f8e-9b1a-2c3d4e5f6a7b", false)
	f.Fuzz(func(t *testing.T, key string, alt bool) {
		hdr := jsonHeader(h.admin)
		hdr.Set("Idempotency-Key", key)
		c := call{method: http.MethodPost, target: "/keys", header: hdr, body: bodies[alt]}
		before := h.snapshot(t)
		res := h.do(t, c)
		p := h.check(t, c, res)
		after := h.snapshot(t)
		prior, replay := seen[key]
		switch n := runeLen(key); {
		case n < 1 || n > 255:
			require.NotNil(t, p, "Idempotency-Key of %d characters accepted", n)
			require.Equal(t, string(spotzee.CodeIdempotencyKeyInvalid), p.Code)
			require.Equal(t, before, after)
		case !replay:
			require.Nil(t, p, "first use of Idempotency-Key %q: %s", key, res.body)
			require.Equal(t, http.StatusOK, res.status)
			require.Empty(t, res.header.Get("Idempotent-Replayed"))
			require.Equal(t, before.live()+1, after.live())
			got := decode[apiKeyJSON](t, res.body)
			seen[key] = first{alt: alt, id: got.ID, value: got.Value, requestID: res.header.Get("X-Request-Id")}
			h.retire(t, got.ID)
		case prior.alt != alt:
			require.NotNil(t, p, "Idempotency-Key %q reused with another body: %s", key, res.body)
			require.Equal(t, string(spotzee.CodeIdempotencyKeyMismatch), p.Code)
			require.Equal(t, before, after)
		default:
			require.Nil(t, p, "replay of Idempotency-Key %q: %s", key, res.body)
			require.Equal(t, http.StatusOK, res.status)
			require.Equal(t, "true", res.header.Get("Idempotent-Replayed"))
			got := decode[apiKeyJSON](t, res.body)
			require.Equal(t, prior.id, got.ID)
			require.Equal(t, prior.value, got.Value)
			require.Equal(t, prior.requestID, res.header.Get("X-Request-Id"))
			require.Equal(t, before, after)
		}
	})
}

func FuzzSpotzeeVersion(f *testing.F) {
	h := newHarness(f)
	f.Add(currentVersion, false)
	f.Fuzz(func(t *testing.T, version string, post bool) {
		hdr := jsonHeader(h.admin)
		hdr.Set("Spotzee-Version", version)
		c := call{method: http.MethodGet, target: "/keys?limit=1", header: hdr}
		ok := http.StatusOK
		if post {
			c = call{method: http.MethodPost, target: "/keys", header: hdr, body: []byte(`{"name":"versioned"}`)}
			ok = http.StatusOK
		}
		before := h.snapshot(t)
		res := h.do(t, c)
		p := h.check(t, c, res)
		after := h.snapshot(t)
		_, perr := time.Parse(time.DateOnly, version)
		isDate := perr == nil && datePattern.MatchString(version)
		switch {
		case version == currentVersion:
			require.Equal(t, ok, res.status, "%s", res.body)
			require.Equal(t, version, res.header.Get("Spotzee-Version"))
		case isDate:
			require.NotNil(t, p, "Spotzee-Version %q accepted", version)
			require.Equal(t, string(spotzee.CodeVersionUnsupported), p.Code)
		default:
			require.NotNil(t, p, "Spotzee-Version %q accepted", version)
			require.Equal(t, string(spotzee.CodeParameterInvalidFormat), p.Code)
			require.Equal(t, "Spotzee-Version", p.Param)
		}
		if p != nil {
			require.Equal(t, currentVersion, res.header.Get("Spotzee-Version"), "an unusable version echoed")
			require.Equal(t, before, after)
		} else if post {
			require.Equal(t, before.live()+1, after.live())
			h.retire(t, after.lastID())
		}
	})
}
