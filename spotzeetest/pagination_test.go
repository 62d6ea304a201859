package spotzeetest_test

import (
	"cmp"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the driver, for TestListAllCap's bulk insert

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// order is a list order: the sort and direction parameters sent, and the
// field and direction they mean.
type order struct {
	name      string
	sort      string
	direction string
	field     string
	desc      bool
}

var orders = []order{
	{"default", "", "", "created_at", true},
	{"id", "id", "", "id", false},
	{"-id", "-id", "", "id", true},
	{"name", "name", "", "name", false},
	{"name desc", "name", "desc", "name", true},
	{"-name desc", "-name", "desc", "name", true},
	{"created_at asc", "created_at", "asc", "created_at", false},
	{"-created_at", "-created_at", "", "created_at", true},
	{"updated_at", "updated_at", "", "updated_at", false},
	{"-updated_at", "-updated_at", "", "updated_at", true},
	{"direction desc alone", "", "desc", "created_at", true},
	{"direction asc alone", "", "asc", "created_at", false},
}

func (o order) params(limit int) *client.ListProjectAPIKeysParams {
	p := &client.ListProjectAPIKeysParams{Limit: ptr(limit)}
	if o.sort != "" {
		p.Sort = ptr(o.sort)
	}
	if o.direction != "" {
		p.Direction = ptr(client.SortDirection(o.direction))
	}
	return p
}

// compare orders two keys by the order's field, then id, ascending.
func (o order) compare(a, b client.ProjectAPIKey) int {
	var c int
	switch o.field {
	case "name":
		c = cmp.Compare(nocase(a.Name), nocase(b.Name)) // the server's NOCASE order
	case "created_at":
		c = keyTime(a.CreatedAt).Compare(keyTime(b.CreatedAt))
	case "updated_at":
		c = keyTime(a.UpdatedAt).Compare(keyTime(b.UpdatedAt))
	}
	if c == 0 {
		c = cmp.Compare(a.ID, b.ID)
	}
	return c
}

// before reports whether a comes strictly before b in list order.
func (o order) before(a, b client.ProjectAPIKey) bool {
	if o.desc {
		return o.compare(a, b) > 0
	}
	return o.compare(a, b) < 0
}

func (o order) sorted(ks []client.ProjectAPIKey) []client.ProjectAPIKey {
	out := slices.Clone(ks)
	slices.SortFunc(out, func(a, b client.ProjectAPIKey) int {
		if o.desc {
			return o.compare(b, a)
		}
		return o.compare(a, b)
	})
	return out
}

func (o order) assertOrdered(t *testing.T, ks []client.ProjectAPIKey) {
	t.Helper()
	for i := 1; i < len(ks); i++ {
		assert.True(t, o.before(ks[i-1], ks[i]), "%s: key %d (%s) must come before key %d (%s)",
			o.name, ks[i-1].ID, ks[i-1].Name, ks[i].ID, ks[i].Name)
	}
}

// seedProject makes a project whose keys tie on every sort field in places:
// duplicate names, and groups of keys created (and updated) at the same
// instant. It returns an admin client of the project, its id and the ids
// that must not be revoked (the system key and the admin key).
func seedProject(t *testing.T, srv *spotzeetest.Server, clk *clock, name string, n int) (*client.ClientWithResponses, int64, map[int64]bool) {
	t.Helper()
	pid, admin := srv.NewProject(name)
	c := srv.NewClient(admin)
	protected := map[int64]bool{}
	for _, k := range all(t, c) {
		protected[k.ID] = true
	}
	// Through the service: seeding over HTTP would dominate the run time.
	svc := srv.Ref().Service()
	var created []int64
	for i := 0; i < n; i += 3 {
		resume := clk.freeze()
		for j := i; j < min(i+3, n); j++ {
			desc := fmt.Sprintf("seed %d", j)
			k, err := svc.AddKey(t.Context(), pid, keys.CreateInput{Name: fmt.Sprintf("key %c", 'A'+(j*5)%7), Description: &desc})
			require.NoError(t, err)
			created = append(created, k.Key.ID)
		}
		resume()
	}
	// Updated in another order than created, some at the same instant.
	resume := clk.freeze()
	touched := "touched"
	for i := len(created) - 1; i >= 0; i -= 4 {
		_, err := svc.Update(t.Context(), spotzee.APIKey{ProjectID: pid}, created[i],
			spotzee.KeyUpdate{SetDescription: true, Description: &touched})
		require.NoError(t, err)
	}
	resume()
	return c, pid, protected
}

// mutator inserts and revokes keys between pages, through the service (the
// walk itself goes over HTTP).
type mutator struct {
	t         *testing.T
	svc       *keys.Service
	project   int64
	protected map[int64]bool
	inserted  int
}

var insertNames = []string{"key 0 inserted", "key D inserted", "zz inserted", "a inserted", "key A"}

// mutate inserts two keys, revokes boundary (a key already seen) and one key
// not yet seen, and returns the ids it revoked.
func (m *mutator) mutate(boundary client.ProjectAPIKey, unseen []int64) []int64 {
	ctx := m.t.Context()
	for range 2 {
		_, err := m.svc.AddKey(ctx, m.project, keys.CreateInput{Name: insertNames[m.inserted%len(insertNames)]})
		require.NoError(m.t, err)
		m.inserted++
	}
	caller := spotzee.APIKey{ProjectID: m.project}
	var revoked []int64
	if !m.protected[boundary.ID] {
		_, err := m.svc.Revoke(ctx, caller, boundary.ID)
		require.NoError(m.t, err)
		revoked = append(revoked, boundary.ID)
	}
	for _, id := range unseen {
		if !m.protected[id] {
			_, err := m.svc.Revoke(ctx, caller, id)
			require.NoError(m.t, err)
			revoked = append(revoked, id)
			break
		}
	}
	return revoked
}

// walkCheck tracks which keys a walk saw.
type walkCheck struct {
	stable        map[int64]bool // live for the whole walk
	revokedUnseen map[int64]bool
	seen          map[int64]int
}

func newWalkCheck(ks []client.ProjectAPIKey) *walkCheck {
	w := &walkCheck{stable: map[int64]bool{}, revokedUnseen: map[int64]bool{}, seen: map[int64]int{}}
	for _, k := range ks {
		w.stable[k.ID] = true
	}
	return w
}

func (w *walkCheck) see(ks []client.ProjectAPIKey) {
	for _, k := range ks {
		w.seen[k.ID]++
	}
}

// unseen returns the stable ids not seen yet, sorted.
func (w *walkCheck) unseen() []int64 {
	var out []int64
	for id := range w.stable {
		if w.seen[id] == 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (w *walkCheck) revoked(ids []int64) {
	for _, id := range ids {
		if w.seen[id] == 0 {
			w.revokedUnseen[id] = true
		}
		delete(w.stable, id)
	}
}

func (w *walkCheck) assert(t *testing.T) {
	t.Helper()
	require.NotEmpty(t, w.stable)
	for id := range w.stable {
		assert.Equal(t, 1, w.seen[id], "key %d, live for the whole walk, must be seen exactly once", id)
	}
	for id, n := range w.seen {
		assert.Equal(t, 1, n, "key %d seen %d times", id, n)
	}
	for id := range w.revokedUnseen {
		assert.Zero(t, w.seen[id], "key %d was revoked before its page and must not be seen", id)
	}
}

// backwardSkipped lists the orders the backward walk skips: each is the
// same order as another one walked (the forward walks take them all).
var backwardSkipped = map[string]bool{
	"-name desc": true, "-created_at": true, "direction desc alone": true, "direction asc alone": true,
}

// TestPaginationWalks walks more than three pages forwards (nextCursor) and
// backwards (prevCursor, page=prev) in every order, inserting and revoking
// keys between pages: every key live for the whole walk is seen exactly
// once, no key twice; nextCursor is null at the end, prevCursor on the first
// page.
func TestPaginationWalks(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clk.Now))
	const limit = 4
	svc := srv.Ref().Service()
	type setup struct {
		c         *client.ClientWithResponses
		project   int64
		protected map[int64]bool
	}
	forward, backward := map[string]setup{}, map[string]setup{}
	for _, o := range orders { // seeded sequentially: the clock freezes
		c, pid, p := seedProject(t, srv, clk, "fwd "+o.name, 15)
		forward[o.name] = setup{c, pid, p}
		if !backwardSkipped[o.name] {
			c, pid, p = seedProject(t, srv, clk, "bwd "+o.name, 15)
			backward[o.name] = setup{c, pid, p}
		}
	}
	for _, o := range orders {
		t.Run("forward "+o.name, func(t *testing.T) {
			t.Parallel()
			s := forward[o.name]
			m := &mutator{t: t, svc: svc, project: s.project, protected: s.protected}
			w := newWalkCheck(all(t, s.c))
			p := o.params(limit)
			var walked []client.ProjectAPIKey
			pages := 0
			for {
				page := list(t, s.c, p).JSON200
				pages++
				require.Less(t, pages, 40, "the walk must end")
				assert.Equal(t, limit, page.Limit)
				if pages == 1 {
					assert.True(t, page.PrevCursor.IsNull(), "prevCursor is null on the first page")
				} else {
					assert.False(t, page.PrevCursor.IsNull(), "page %d has a prevCursor", pages)
				}
				w.see(page.Results)
				walked = append(walked, page.Results...)
				if page.NextCursor.IsNull() {
					break
				}
				require.Len(t, page.Results, limit, "only the last page is short")
				w.revoked(m.mutate(page.Results[len(page.Results)-1], w.unseen()))
				p.Cursor = ptr(page.NextCursor.MustGet())
			}
			assert.Greater(t, pages, 3)
			w.assert(t)
			o.assertOrdered(t, walked)
		})
		if backwardSkipped[o.name] {
			continue
		}
		t.Run("backward "+o.name, func(t *testing.T) {
			t.Parallel()
			s := backward[o.name]
			// To the last page, without changes.
			p := o.params(limit)
			var last *client.ProjectAPIKeyList
			for range 40 {
				last = list(t, s.c, p).JSON200
				if last.NextCursor.IsNull() {
					break
				}
				p.Cursor = ptr(last.NextCursor.MustGet())
			}
			require.True(t, last.NextCursor.IsNull(), "nextCursor is null on the last page")
			require.False(t, last.PrevCursor.IsNull(), "the last page has a prevCursor")

			m := &mutator{t: t, svc: svc, project: s.project, protected: s.protected}
			w := newWalkCheck(all(t, s.c))
			w.see(last.Results)
			walked := slices.Clone(last.Results)
			page := last
			pages := 1
			for !page.PrevCursor.IsNull() {
				w.revoked(m.mutate(page.Results[0], w.unseen()))
				p := o.params(limit)
				p.Cursor = ptr(page.PrevCursor.MustGet())
				p.Page = ptr(client.PageDirectionPrev)
				page = list(t, s.c, p).JSON200
				pages++
				require.Less(t, pages, 40, "the walk must end")
				if page.NextCursor.IsNull() {
					// Only when every key after it was revoked meanwhile.
					require.NotEmpty(t, page.Results)
					lastOnPage := page.Results[len(page.Results)-1]
					for _, k := range all(t, s.c) {
						assert.False(t, o.before(lastOnPage, k), "key %d comes after the page, so it needs a nextCursor", k.ID)
					}
				}
				w.see(page.Results)
				walked = append(slices.Clone(page.Results), walked...)
			}
			assert.Greater(t, pages, 3)
			w.assert(t)
			o.assertOrdered(t, walked)
		})
	}
}

// TestListOrders checks every sort and direction against the order computed
// from the keys (ties broken by id in the same direction), and the refused
// combinations.
func TestListOrders(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := spotzeetest.NewServer(t, spotzeetest.WithClock(clk.Now))
	c, _, _ := seedProject(t, srv, clk, "orders", 20)
	everything := all(t, c)
	require.Len(t, everything, 22)
	for _, o := range orders {
		got := list(t, c, o.params(100)).JSON200.Results
		assert.Equal(t, ids(o.sorted(everything)), ids(got), o.name)
	}
	// No limit and no sort: newest first.
	assert.Equal(t, ids(orders[0].sorted(everything)), ids(list(t, c, nil).JSON200.Results))

	bad := unsafeClient(t, srv, srv.AdminKey)
	for _, tt := range []struct {
		sort, direction, param string
	}{
		{"-name", "asc", "direction"},
		{"-created_at", "asc", "direction"},
		{"-id", "asc", "direction"},
		{"revoked_at", "", "sort"},
		{"value", "", "sort"},
		{"hash", "desc", "sort"},
		{"name,id", "", "sort"},
		{"Name", "", "sort"},
		{"name", "sideways", "direction"},
	} {
		p := &client.ListProjectAPIKeysParams{Sort: ptr(tt.sort)}
		if tt.direction != "" {
			p.Direction = ptr(client.SortDirection(tt.direction))
		}
		resp, err := bad.ListProjectAPIKeysWithResponse(t.Context(), p)
		require.NoError(t, err)
		e := problemOf(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, client.ErrorCodeParameterInvalidFormat)
		assert.Equal(t, tt.param, paramOf(e), "sort=%q direction=%q", tt.sort, tt.direction)
	}
}

// TestListQuery: q matches name and description, case-insensitively, and
// X-Total-Count counts the matches.
func TestListQuery(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	c := srv.Client
	mk := func(name string, desc *string) int64 {
		req := client.ProjectAPIKeyCreate{Name: name}
		if desc != nil {
			req.Description = nullable.NewNullableWithValue(*desc)
		}
		return create(t, c, req).ID
	}
	billingName := mk("Billing PROD", nil)
	billingDesc := mk("server", ptr("used by the billing service"))
	mixed := mk("bIlLiNg staging", ptr("Billing too"))
	other := mk("Other", ptr("nothing to see"))
	underscore := mk("snake_case", nil)
	percent := mk("100% done", nil)

	for _, tt := range []struct {
		q    string
		want []int64
	}{
		{"billing", []int64{billingName, billingDesc, mixed}},
		{"BILLING", []int64{billingName, billingDesc, mixed}},
		{"prod", []int64{billingName}},
		{"SERVICE", []int64{billingDesc}},
		{"nothing TO", []int64{other}},
		{"_", []int64{underscore}},
		{"%", []int64{percent}},
		{"zzz-no-match", nil},
	} {
		resp := list(t, c, &client.ListProjectAPIKeysParams{Q: ptr(tt.q), Sort: ptr("id")})
		assert.Equal(t, tt.want, nilIfEmpty(ids(resp.JSON200.Results)), "q=%q", tt.q)
		assert.Equal(t, strconv.Itoa(len(tt.want)), resp.HTTPResponse.Header.Get("X-Total-Count"), "q=%q", tt.q)
	}
	// q pages like any list.
	first := list(t, c, &client.ListProjectAPIKeysParams{Q: ptr("billing"), Sort: ptr("id"), Limit: ptr(2)})
	assert.Equal(t, []int64{billingName, billingDesc}, ids(first.JSON200.Results))
	assert.Equal(t, "3", first.HTTPResponse.Header.Get("X-Total-Count"))
	second := list(t, c, &client.ListProjectAPIKeysParams{Q: ptr("billing"), Sort: ptr("id"), Limit: ptr(2), Cursor: ptr(first.JSON200.NextCursor.MustGet())})
	assert.Equal(t, []int64{mixed}, ids(second.JSON200.Results))
	assert.True(t, second.JSON200.NextCursor.IsNull())
}

func nilIfEmpty(s []int64) []int64 {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestListLimit: limit defaults to 25, takes 1 to 100 or -1 (every key), and
// X-Limit and X-Total-Count describe the page.
func TestListLimit(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for i := range 30 {
		srv.AddKey(srv.ProjectID, fmt.Sprintf("key %02d", i), spotzee.ScopeSecret, spotzee.RoleSupport)
	}
	const total = 32 // with the system key and the admin key
	for _, tt := range []struct {
		limit *int
		want  int
		xl    string
	}{
		{nil, keys.DefaultLimit, "25"},
		{ptr(1), 1, "1"},
		{ptr(25), 25, "25"},
		{ptr(31), 31, "31"},
		{ptr(100), total, "100"},
		{ptr(-1), total, "-1"},
	} {
		resp := list(t, srv.Client, &client.ListProjectAPIKeysParams{Limit: tt.limit})
		page := resp.JSON200
		assert.Len(t, page.Results, tt.want, "limit %s", tt.xl)
		assert.Equal(t, tt.xl, strconv.Itoa(page.Limit), "body limit")
		assert.Equal(t, tt.xl, resp.HTTPResponse.Header.Get("X-Limit"))
		assert.Equal(t, strconv.Itoa(total), resp.HTTPResponse.Header.Get("X-Total-Count"))
		assert.Empty(t, resp.HTTPResponse.Header.Get("X-Page"), "cursor pagination sends no X-Page")
		assert.Equal(t, tt.want == total, page.NextCursor.IsNull(), "limit %s: nextCursor only when more", tt.xl)
		assert.True(t, page.PrevCursor.IsNull())
	}

	bad := unsafeClient(t, srv, srv.AdminKey)
	for _, l := range []int{0, -2, 101, 1000} {
		resp, err := bad.ListProjectAPIKeysWithResponse(t.Context(), &client.ListProjectAPIKeysParams{Limit: ptr(l)})
		require.NoError(t, err)
		e := problemOf(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, client.ErrorCodeParameterInvalidFormat)
		assert.Equal(t, "limit", paramOf(e), "limit %d", l)
	}
}

// TestListAllCap: limit=-1 is refused above keys.MaxListAll live keys. The
// keys are inserted in one SQL transaction on the server's database file:
// a thousand single creates would dominate the run time under -race.
func TestListAllCap(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cap.db")
	srv := spotzeetest.NewServer(t, spotzeetest.WithDB(path, nil))
	pid, admin := srv.NewProject("big")
	c := srv.NewClient(admin)
	bulkInsertKeys(t, path, pid, keys.MaxListAll-2) // the project starts with 2 keys

	// One page of 100 and the header total; then one key too many.
	page := list(t, c, &client.ListProjectAPIKeysParams{Limit: ptr(100)})
	assert.Len(t, page.JSON200.Results, 100)
	assert.Equal(t, strconv.Itoa(keys.MaxListAll), page.HTTPResponse.Header.Get("X-Total-Count"))
	extra := create(t, c, client.ProjectAPIKeyCreate{Name: "one too many"})
	r, err := c.ListProjectAPIKeysWithResponse(t.Context(), &client.ListProjectAPIKeysParams{Limit: ptr(-1)})
	require.NoError(t, err)
	e := problemOf(t, r.HTTPResponse, r.Body, http.StatusBadRequest, client.ErrorCodeParameterInvalidFormat)
	assert.Equal(t, "limit", paramOf(e))
	// Paging still works.
	page = list(t, c, &client.ListProjectAPIKeysParams{Limit: ptr(100), Sort: ptr("-id")})
	assert.Equal(t, extra.ID, page.JSON200.Results[0].ID)
	assert.Equal(t, strconv.Itoa(keys.MaxListAll+1), page.HTTPResponse.Header.Get("X-Total-Count"))
	// Only live keys count: exactly the cap again after a revoke, and -1
	// returns them all.
	revoke(t, c, extra.ID)
	everything := list(t, c, &client.ListProjectAPIKeysParams{Limit: ptr(-1)})
	assert.Len(t, everything.JSON200.Results, keys.MaxListAll)
	assert.Equal(t, -1, everything.JSON200.Limit)
	assert.True(t, everything.JSON200.NextCursor.IsNull())
	assert.True(t, everything.JSON200.PrevCursor.IsNull())
	// The other project is not affected.
	assert.Len(t, all(t, srv.Client), 2)
}

// bulkInsertKeys inserts n secret support keys into project pid of the
// database file at path, in one transaction, bypassing the server.
func bulkInsertKeys(t *testing.T, path string, pid int64, n int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer db.Close()
	tx, err := db.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	now := spotzee.FormatSortTime(time.Now())
	stmt, err := tx.PrepareContext(t.Context(), `INSERT INTO api_keys
		(project_id, name, scope, role, value_prefix, last4, hash, is_system, created_at, updated_at)
		VALUES (?, ?, 'secret', 'support', 'sk_', 'AAAA', ?, 0, ?, ?)`)
	require.NoError(t, err)
	for i := range n {
		_, err := stmt.ExecContext(t.Context(), pid, fmt.Sprintf("bulk %04d", i),
			keys.HashValue(fmt.Sprintf("bulk-%d-%d", pid, i)), now, now)
		require.NoError(t, err)
	}
	require.NoError(t, stmt.Close())
	require.NoError(t, tx.Commit())
}

// TestListCursorRejected: a tampered cursor, one from another project and
// one made for another sort are 400 parameter_invalid_format (param cursor).
func TestListCursorRejected(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	for i := range 5 {
		srv.AddKey(srv.ProjectID, fmt.Sprintf("a%d", i), spotzee.ScopeSecret, spotzee.RoleSupport)
	}
	_, bAdmin := srv.NewProject("B")
	b := srv.NewClient(bAdmin)
	for i := range 5 {
		create(t, b, client.ProjectAPIKeyCreate{Name: fmt.Sprintf("b%d", i)})
	}
	byName := list(t, srv.Client, &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2)}).JSON200
	cursor := byName.NextCursor.MustGet()
	bCursor := list(t, b, &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2)}).JSON200.NextCursor.MustGet()

	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	require.NoError(t, err)
	tamper := func(i int) string {
		b := slices.Clone(raw)
		b[i] ^= 0x02
		return base64.RawURLEncoding.EncodeToString(b)
	}

	for _, tt := range []struct {
		name   string
		params client.ListProjectAPIKeysParams
	}{
		{"payload byte tampered", client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(tamper(5))}},
		{"signature byte tampered", client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(tamper(len(raw) - 2))}},
		{"truncated", client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(cursor[:len(cursor)-3])}},
		{"not base64", client.ListProjectAPIKeysParams{Sort: ptr("name"), Cursor: ptr("not a cursor!")}},
		{"from another project", client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(bCursor)}},
		{"for another sort", client.ListProjectAPIKeysParams{Sort: ptr("id"), Limit: ptr(2), Cursor: ptr(cursor)}},
		{"for the default sort", client.ListProjectAPIKeysParams{Limit: ptr(2), Cursor: ptr(cursor)}},
		{"for another direction", client.ListProjectAPIKeysParams{Sort: ptr("-name"), Limit: ptr(2), Cursor: ptr(cursor)}},
		{"for another direction, page=prev", client.ListProjectAPIKeysParams{Sort: ptr("name"), Direction: ptr(client.SortDirectionDesc), Page: ptr(client.PageDirectionPrev), Cursor: ptr(cursor)}},
	} {
		resp, err := srv.Client.ListProjectAPIKeysWithResponse(t.Context(), &tt.params)
		require.NoError(t, err, tt.name)
		e := problemOf(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, client.ErrorCodeParameterInvalidFormat)
		assert.Equal(t, "cursor", paramOf(e), tt.name)
	}
	// The genuine cursor still works, with another limit too.
	next := list(t, srv.Client, &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(3), Cursor: ptr(cursor)}).JSON200
	require.NotEmpty(t, next.Results)
	assert.Greater(t, next.Results[0].Name, byName.Results[1].Name)
}

// TestEmptyPageAfterCursor: a page reached with nextCursor that turns out
// empty (every later key was revoked meanwhile) is not the first page: its
// nextCursor is null and its prevCursor leads back to the keys before it,
// without losing the key the cursor was made from.
func TestEmptyPageAfterCursor(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	_, admin := srv.NewProject("P")
	c := srv.NewClient(admin)
	// The lowest and the highest names are revocable keys, whichever the
	// direction.
	for _, name := range []string{"00", "01", "zz0", "zz1"} {
		create(t, c, client.ProjectAPIKeyCreate{Name: name})
	}
	for _, o := range []order{{name: "name", sort: "name", field: "name"}, {name: "-name", sort: "-name", field: "name", desc: true}} {
		everything := o.sorted(all(t, c))
		limit := len(everything) - 1
		first := list(t, c, o.params(limit)).JSON200
		require.False(t, first.NextCursor.IsNull())
		lastKey := everything[len(everything)-1]
		require.Contains(t, []string{"00", "zz1"}, lastKey.Name)
		revoke(t, c, lastKey.ID)

		p := o.params(limit)
		p.Cursor = ptr(first.NextCursor.MustGet())
		empty := list(t, c, p).JSON200
		assert.Empty(t, empty.Results, o.name)
		assert.True(t, empty.NextCursor.IsNull(), "%s: nothing after the end", o.name)
		require.False(t, empty.PrevCursor.IsNull(), "%s: an empty page after a cursor is not the first page", o.name)

		back := o.params(limit)
		back.Cursor = ptr(empty.PrevCursor.MustGet())
		back.Page = ptr(client.PageDirectionPrev)
		prev := list(t, c, back).JSON200
		assert.Equal(t, ids(first.Results), ids(prev.Results), "%s: stepping back shows the page before, whole", o.name)
		assert.True(t, prev.PrevCursor.IsNull(), "%s: and it is the first page", o.name)
	}
}

// TestEmptyPageBeforeCursor: a page=prev page that turns out empty (every
// earlier key was revoked meanwhile) is the first page, and its nextCursor
// leads forward to the page the cursor came from, whole.
func TestEmptyPageBeforeCursor(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	_, admin := srv.NewProject("P")
	c := srv.NewClient(admin)
	// In name order: 00, 01, Bootstrap admin key, SMTP proxy, zz0, zz1.
	var early []int64
	for _, name := range []string{"00", "01", "zz0", "zz1"} {
		k := create(t, c, client.ProjectAPIKeyCreate{Name: name})
		if name[0] == '0' {
			early = append(early, k.ID)
		}
	}
	p := &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2)}
	first := list(t, c, p).JSON200
	assert.Equal(t, early, ids(first.Results))
	p.Cursor = ptr(first.NextCursor.MustGet())
	second := list(t, c, p).JSON200
	require.Len(t, second.Results, 2)
	for _, id := range early {
		revoke(t, c, id)
	}

	back := &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Page: ptr(client.PageDirectionPrev),
		Cursor: ptr(second.PrevCursor.MustGet())}
	empty := list(t, c, back).JSON200
	assert.Empty(t, empty.Results)
	assert.True(t, empty.PrevCursor.IsNull(), "nothing before the start")
	require.False(t, empty.NextCursor.IsNull(), "the keys after the cursor are still there")

	fwd := &client.ListProjectAPIKeysParams{Sort: ptr("name"), Limit: ptr(2), Cursor: ptr(empty.NextCursor.MustGet())}
	again := list(t, c, fwd).JSON200
	assert.Equal(t, ids(second.Results), ids(again.Results), "stepping forward shows the page after, whole")
}

// TestListQueryNonASCIICase: q is case-insensitive for every letter the
// spec allows in a name, not only ASCII ones.
func TestListQueryNonASCIICase(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	k := create(t, srv.Client, client.ProjectAPIKeyCreate{Name: "Café Zürich"})
	for _, q := range []string{"café", "CAFÉ", "zürich", "ZÜRICH"} {
		got := list(t, srv.Client, &client.ListProjectAPIKeysParams{Q: ptr(q)}).JSON200.Results
		assert.Equal(t, []int64{k.ID}, ids(got), "q=%q", q)
	}
}

// keyTime parses a key timestamp for ordering; a malformed one orders first
// (the reference profile's response validation fails it anyway).
func keyTime(n nullable.Nullable[string]) time.Time {
	ts, _ := client.ParseTimestamp(n)
	return ts
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

// TestLongNamesPaginate: a name sort's cursor carries the name, so the
// longest names must still make cursors the server (and the validating
// client) accept.
func TestLongNamesPaginate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		char string
	}{
		{"escaped by JSON", `"`},
		{"HTML-sensitive", "<"},
		{"four-byte UTF-8", "\U0001F511"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := spotzeetest.NewServer(t)
			for i := range 3 {
				name := strings.Repeat(tt.char, 254) + strconv.Itoa(i)
				_, err := srv.Client.CreateProjectAPIKeyWithResponse(t.Context(), nil, client.ProjectAPIKeyCreate{Name: name})
				require.NoError(t, err)
			}
			p := &client.ListProjectAPIKeysParams{Limit: ptr(1), Sort: ptr("-name")}
			seen := 0
			for range 10 {
				page := list(t, srv.Client, p).JSON200
				seen += len(page.Results)
				next, err := page.NextCursor.Get()
				if err != nil || next == "" {
					break
				}
				assert.LessOrEqual(t, len(next), keys.MaxCursorLength)
				p.Cursor = &next
			}
			assert.Equal(t, 5, seen, "every key, one page at a time (3 long names, the system and admin keys)")
		})
	}
}
