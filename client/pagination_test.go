package client_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

// pagingServer serves keys with ids 1..total in ascending order, by keyset
// cursor: a cursor encodes an id; page=next returns the keys after it and
// page=prev the keys before it, each page in ascending order.
type pagingServer struct {
	*httptest.Server
	total    int
	failFrom int  // requests from this 1-based number on answer failStatus (0: never)
	failWith int  // status of the failures
	stuck    bool // nextCursor is the cursor that was sent

	mu      sync.Mutex
	queries []url.Values
}

func newPagingServer(t *testing.T, total int, configure ...func(*pagingServer)) *pagingServer {
	t.Helper()
	p := &pagingServer{total: total, failWith: http.StatusBadRequest}
	for _, f := range configure {
		f(p)
	}
	p.Server = httptest.NewServer(p)
	t.Cleanup(p.Close)
	return p
}

func encodeCursor(id int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("pos:" + strconv.Itoa(id)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "pos:") {
		return 0, false
	}
	id, err := strconv.Atoi(strings.TrimPrefix(string(b), "pos:"))
	return id, err == nil
}

func (p *pagingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.queries = append(p.queries, q)
	n := len(p.queries)
	p.mu.Unlock()

	fail := func(status int, code client.Code) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(problemJSON(status, code, "req_01HXY7Z9K8M5J2N4P6Q8R0PAGE", "cursor")))
	}
	if p.failFrom > 0 && n >= p.failFrom {
		fail(p.failWith, map[int]client.Code{400: client.ErrorCodeParameterInvalidFormat, 503: client.ErrorCodeServiceUnavailable}[p.failWith])
		return
	}
	limit := 25
	if l := q.Get("limit"); l != "" {
		limit, _ = strconv.Atoi(l)
	}
	if limit == -1 {
		limit = p.total
	}
	start, end := 0, min(limit, p.total) // indices; key ids are start+1..end
	if c := q.Get("cursor"); c != "" {
		pos, ok := decodeCursor(c)
		if !ok {
			fail(400, client.ErrorCodeParameterInvalidFormat)
			return
		}
		if q.Get("page") == "prev" {
			end = pos - 1
			start = max(0, end-limit)
		} else {
			start = pos
			end = min(start+limit, p.total)
		}
	}
	results := []any{}
	for id := start + 1; id <= end; id++ {
		results = append(results, keyJSON(int64(id), "key "+strconv.Itoa(id)))
	}
	var next, prev any
	if end < p.total {
		next = encodeCursor(end)
	}
	if p.stuck {
		next = q.Get("cursor")
		if next == "" {
			next = encodeCursor(end)
		}
	}
	if start > 0 {
		prev = encodeCursor(start + 1)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"results": results, "nextCursor": next, "prevCursor": prev, "limit": limit})
}

func (p *pagingServer) requests() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.queries...)
}

// filters are the caller's filters the iterators must send on every page.
func filters(limit int) *client.ListProjectAPIKeysParams {
	return &client.ListProjectAPIKeysParams{
		Limit:     new(limit),
		Sort:      new("id"),
		Direction: new(client.SortDirectionAsc),
		Q:         new("key"),
	}
}

func assertFilters(t *testing.T, q url.Values, limit int, page string) {
	t.Helper()
	assert.Equal(t, strconv.Itoa(limit), q.Get("limit"))
	assert.Equal(t, "id", q.Get("sort"))
	assert.Equal(t, "asc", q.Get("direction"))
	assert.Equal(t, "key", q.Get("q"))
	assert.Equal(t, page, q.Get("page"))
}

func seq(from, to, step int) []int64 {
	var out []int64
	for i := from; step > 0 && i <= to || step < 0 && i >= to; i += step {
		out = append(out, int64(i))
	}
	return out
}

func TestAllKeysWalksEveryPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		total     int
		limit     int
		wantPages int
	}{
		{"five pages, last partial", 23, 5, 5},
		{"exact multiple", 20, 5, 4},
		{"one key per page", 4, 1, 4},
		{"empty", 0, 5, 1},
		{"everything at once", 7, -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPagingServer(t, tt.total)
			c, _ := newTestAPI(t, srv.Server)
			params := filters(tt.limit)

			var ids []int64
			for k, err := range c.AllKeys(t.Context(), params) {
				require.NoError(t, err)
				ids = append(ids, k.ID)
			}

			assert.Equal(t, seq(1, tt.total, 1), ids, "every key once, in order")
			reqs := srv.requests()
			require.Len(t, reqs, tt.wantPages)
			for i, q := range reqs {
				assertFilters(t, q, tt.limit, "next")
				if i == 0 {
					assert.False(t, q.Has("cursor"), "the first page has no cursor")
					continue
				}
				pos, ok := decodeCursor(q.Get("cursor"))
				require.True(t, ok, "page %d sends the previous nextCursor", i+1)
				assert.Equal(t, i*tt.limit, pos)
			}
			assert.Nil(t, params.Cursor, "the caller's params are not modified")
			assert.Nil(t, params.Page)
		})
	}
}

func TestAllKeysFromACursorAndReusable(t *testing.T) {
	t.Parallel()
	srv := newPagingServer(t, 23)
	c, _ := newTestAPI(t, srv.Server)
	params := filters(5)
	params.Cursor = new(encodeCursor(10))
	keys := c.AllKeys(t.Context(), params)

	for range 2 {
		var ids []int64
		for k, err := range keys {
			require.NoError(t, err)
			ids = append(ids, k.ID)
		}
		assert.Equal(t, seq(11, 23, 1), ids)
	}
	assert.Len(t, srv.requests(), 6, "3 pages, twice")
}

func TestAllKeysEarlyBreak(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		take      int
		wantPages int
	}{
		{"inside the second page", 7, 2},
		{"at the end of the first page", 5, 1},
		{"first key", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPagingServer(t, 23)
			c, _ := newTestAPI(t, srv.Server)

			var ids []int64
			for k, err := range c.AllKeys(t.Context(), filters(5)) {
				require.NoError(t, err)
				ids = append(ids, k.ID)
				if len(ids) == tt.take {
					break
				}
			}

			assert.Equal(t, seq(1, tt.take, 1), ids)
			assert.Len(t, srv.requests(), tt.wantPages, "no page fetched after the break")
		})
	}
}

func TestAllKeysStopsOnFirstError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		failWith     int
		wantRequests int
		sentinel     error
	}{
		{"400 is not retried", 400, 3, client.ErrValidation},
		{"503 is retried, then given up", 503, 2 + 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPagingServer(t, 23, func(p *pagingServer) { p.failFrom, p.failWith = 3, tt.failWith })
			c, _ := newTestAPI(t, srv.Server)

			var ids []int64
			var errs []error
			for k, err := range c.AllKeys(t.Context(), filters(5)) {
				if err != nil {
					assert.Zero(t, k)
					errs = append(errs, err)
					continue // the iterator must stop by itself
				}
				ids = append(ids, k.ID)
			}

			assert.Equal(t, seq(1, 10, 1), ids, "the keys of the pages before the failure")
			require.Len(t, errs, 1, "the error is yielded once")
			var apiErr *client.APIError
			require.ErrorAs(t, errs[0], &apiErr)
			assert.Equal(t, tt.failWith, apiErr.StatusCode)
			if tt.sentinel != nil {
				assert.ErrorIs(t, errs[0], tt.sentinel)
			}
			assert.Len(t, srv.requests(), tt.wantRequests)
		})
	}
}

func TestAllKeysBackward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		from      int // the cursor's id: keys before it are walked
		limit     int
		want      []int64
		wantPages int
	}{
		{"from the fourth page", 16, 5, seq(15, 1, -1), 3},
		{"from the last key", 23, 5, seq(22, 1, -1), 5},
		{"from the first key", 1, 5, nil, 1},
		{"page size one", 4, 1, seq(3, 1, -1), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPagingServer(t, 23)
			c, _ := newTestAPI(t, srv.Server)
			params := filters(tt.limit)
			params.Page = new(client.PageDirectionNext) // ignored

			var ids []int64
			for k, err := range c.AllKeysBackward(t.Context(), encodeCursor(tt.from), params) {
				require.NoError(t, err)
				ids = append(ids, k.ID)
			}

			assert.Equal(t, tt.want, ids, "nearest first, no duplicates or gaps")
			reqs := srv.requests()
			require.Len(t, reqs, tt.wantPages)
			for i, q := range reqs {
				assertFilters(t, q, tt.limit, "prev")
				pos, ok := decodeCursor(q.Get("cursor"))
				require.True(t, ok)
				assert.Equal(t, max(tt.from-i*tt.limit, 1), pos, "page %d follows prevCursor", i+1)
			}
		})
	}

	t.Run("break", func(t *testing.T) {
		t.Parallel()
		srv := newPagingServer(t, 23)
		c, _ := newTestAPI(t, srv.Server)
		var ids []int64
		for k, err := range c.AllKeysBackward(t.Context(), encodeCursor(21), filters(5)) {
			require.NoError(t, err)
			if ids = append(ids, k.ID); len(ids) == 6 {
				break
			}
		}
		assert.Equal(t, seq(20, 15, -1), ids)
		assert.Len(t, srv.requests(), 2)
	})

	t.Run("empty cursor", func(t *testing.T) {
		t.Parallel()
		srv := newPagingServer(t, 23)
		c, _ := newTestAPI(t, srv.Server)
		var errs []error
		for _, err := range c.AllKeysBackward(t.Context(), "", nil) {
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		assert.ErrorContains(t, errs[0], "empty cursor")
		assert.Empty(t, srv.requests())
	})
}

func TestAllKeysStopsOnARepeatedCursor(t *testing.T) {
	t.Parallel()
	srv := newPagingServer(t, 23, func(p *pagingServer) { p.stuck = true })
	c, _ := newTestAPI(t, srv.Server)

	var n int
	var errs []error
	for _, err := range c.AllKeys(t.Context(), filters(5)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}

	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], "returned the cursor it was given")
	assert.Equal(t, 10, n, "two pages, then the loop is caught")
	assert.Len(t, srv.requests(), 2)
}
