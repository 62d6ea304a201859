package robustness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// apiClient sends raw requests to a spotzeetest server through a transport
// that validates every request and response against the spec.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(tb testing.TB, srv *spotzeetest.Server) *apiClient {
	tb.Helper()
	v, err := validate.Default()
	require.NoError(tb, err)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	tb.Cleanup(tr.CloseIdleConnections)
	return &apiClient{base: srv.URL, hc: &http.Client{Transport: v.Transport(tr), Timeout: 30 * time.Second}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (c *apiClient) send(ctx context.Context, method, path, key string, body any, header map[string]string) (reply, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}, err
}

// together runs f(i) for i in [0, n) on n goroutines released at once.
func together(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

func liveKeys(tb testing.TB, srv *spotzeetest.Server) []spotzee.APIKey {
	tb.Helper()
	page, err := srv.Ref().Store().ListKeys(context.Background(),
		spotzee.ListQuery{ProjectID: srv.ProjectID, Sort: spotzee.SortID})
	require.NoError(tb, err)
	return page.Keys
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	c := newAPIClient(t, srv)
	ctx := context.Background()
	before := len(liveKeys(t, srv))
	const n = 50
	got := make([]apiKeyJSON, n)
	together(n, func(i int) {
		r, err := c.send(ctx, http.MethodPost, "/keys", srv.AdminKey, map[string]any{"name": fmt.Sprintf("parallel-%d", i)}, nil)
		if assert.NoError(t, err) && assert.Equal(t, http.StatusOK, r.status, "%s", r.body) {
			assert.NoError(t, json.Unmarshal(r.body, &got[i]))
		}
	})
	require.False(t, t.Failed())
	ids, values := map[int64]int{}, map[string]int{}
	for i, k := range got {
		require.Equal(t, fmt.Sprintf("parallel-%d", i), k.Name)
		require.NotContains(t, ids, k.ID, "id %d given twice", k.ID)
		require.NotContains(t, values, k.Value, "value given twice")
		ids[k.ID], values[k.Value] = i, i
	}
	live := liveKeys(t, srv)
	require.Len(t, live, before+n)
	for _, k := range live {
		if i, ok := ids[k.ID]; ok {
			require.Equal(t, got[i].Name, k.Name)
			require.Equal(t, got[i].Value[len(got[i].Value)-4:], k.Last4)
		}
	}
	// Each value authenticates as its own key (role support: 403, not 401).
	together(n, func(i int) {
		r, err := c.send(ctx, http.MethodGet, "/keys?limit=1", got[i].Value, nil, nil)
		if assert.NoError(t, err) {
			assert.Equal(t, http.StatusForbidden, r.status, "key %d: %s", got[i].ID, r.body)
		}
	})
}

func TestConcurrentPatchesNoTornFields(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	c := newAPIClient(t, srv)
	ctx := context.Background()
	var created apiKeyJSON
	r, err := c.send(ctx, http.MethodPost, "/keys", srv.AdminKey, map[string]any{"name": "contended"}, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.status)
	require.NoError(t, json.Unmarshal(r.body, &created))

	roles := []string{"support", "smtpproxy", "editor", "publisher", "admin"}
	const n = 20
	sent := make([]triple, n)
	for i := range sent {
		tag := fmt.Sprintf("patch-%02d", i)
		sent[i] = triple{Name: tag, Description: "description of " + tag, Role: roles[i%len(roles)]}
	}
	asTriple := func(k apiKeyJSON) triple {
		d := ""
		if k.Description != nil {
			d = *k.Description
		}
		return triple{Name: k.Name, Description: d, Role: k.Role}
	}
	path := fmt.Sprintf("/keys/%d", created.ID)
	together(n, func(i int) {
		r, err := c.send(ctx, http.MethodPatch, path, srv.AdminKey, sent[i], nil)
		if !assert.NoError(t, err) || !assert.Equal(t, http.StatusOK, r.status, "%s", r.body) {
			return
		}
		var got apiKeyJSON
		if assert.NoError(t, json.Unmarshal(r.body, &got)) {
			// Each response is its own request's write, whole.
			assert.Equal(t, sent[i], asTriple(got))
		}
	})
	r, err = c.send(ctx, http.MethodGet, path, srv.AdminKey, nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.status)
	final := asTriple(decode[apiKeyJSON](t, r.body))
	require.Contains(t, sent, final, "the final row is no request's triple: torn fields")
	stored, err := srv.Ref().Store().Key(ctx, srv.ProjectID, created.ID)
	require.NoError(t, err)
	require.NotNil(t, stored.Description)
	require.Equal(t, final, triple{Name: stored.Name, Description: *stored.Description, Role: string(stored.Role)})
}

func TestRevokeRacesUse(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	c := newAPIClient(t, srv)
	ctx := context.Background()
	victim := srv.AddKey(srv.ProjectID, "victim", spotzee.ScopeSecret, spotzee.RoleAdmin)
	var victimID int64
	for _, k := range liveKeys(t, srv) {
		if k.Name == "victim" {
			victimID = k.ID
		}
	}
	require.NotZero(t, victimID)

	type use struct {
		start  time.Time
		status int
	}
	var (
		mu        sync.Mutex
		uses      []use
		revokedAt time.Time // when the revoke call returned; zero before
		okBefore  int
		after     int
	)
	const hammers = 4
	begin := time.Now()
	var wg sync.WaitGroup
	for range hammers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := time.Now()
				r, err := c.send(ctx, http.MethodGet, "/keys?limit=1", victim, nil, nil)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				uses = append(uses, use{start, r.status})
				if r.status == http.StatusOK {
					okBefore++
				}
				if !revokedAt.IsZero() && start.After(revokedAt) {
					after++
				}
				stop := after >= 40 || time.Since(begin) > 30*time.Second
				mu.Unlock()
				if stop {
					return
				}
			}
		}()
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return okBefore >= 20
	}, 30*time.Second, time.Millisecond, "the key never worked")
	r, err := c.send(ctx, http.MethodDelete, fmt.Sprintf("/keys/%d", victimID), srv.AdminKey, nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	mu.Lock()
	revokedAt = time.Now()
	mu.Unlock()
	wg.Wait()

	late := 0
	for _, u := range uses {
		require.Contains(t, []int{http.StatusOK, http.StatusUnauthorized}, u.status)
		if u.start.After(revokedAt) {
			late++
			require.Equal(t, http.StatusUnauthorized, u.status, "a request started %v after the revoke returned succeeded", u.start.Sub(revokedAt))
		}
	}
	require.GreaterOrEqual(t, late, 40)
}

func TestIdempotentCreatesRace(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	c := newAPIClient(t, srv)
	ctx := context.Background()
	const n, rounds = 20, 5
	// Open n keep-alive connections first, so the racing requests arrive
	// together rather than one connection set-up apart.
	together(n, func(int) {
		_, err := c.send(ctx, http.MethodGet, "/keys?limit=1", srv.AdminKey, nil, nil)
		assert.NoError(t, err)
	})
	created, inProgress := 0, 0
	for round := range rounds {
		before := len(liveKeys(t, srv))
		body := map[string]any{"name": fmt.Sprintf("exactly once %d", round), "role": "editor"}
		hdr := map[string]string{"Idempotency-Key": fmt.Sprintf("race-%d-6f1c2a3e-0d7b-4f8e-9b1a-2c3d4e5f6a7b", round)}
		replies := make([]reply, n)
		together(n, func(i int) {
			r, err := c.send(ctx, http.MethodPost, "/keys", srv.AdminKey, body, hdr)
			if assert.NoError(t, err) {
				replies[i] = r
			}
		})
		require.False(t, t.Failed())
		var first *apiKeyJSON
		for _, r := range replies {
			switch r.status {
			case http.StatusOK:
				created++
				got := decode[apiKeyJSON](t, r.body)
				if first == nil {
					first = &got
				}
				require.Equal(t, first.ID, got.ID, "two keys for one Idempotency-Key")
				require.Equal(t, first.Value, got.Value)
			case http.StatusConflict:
				inProgress++
				p := decode[problemBody](t, r.body)
				require.Equal(t, string(spotzee.CodeIdempotencyInProgress), p.Code, "%s", r.body)
				require.NotEmpty(t, r.header.Get("Retry-After"))
			default:
				t.Fatalf("unexpected %d: %s", r.status, r.body)
			}
		}
		require.NotNil(t, first, "no 200 at all")
		require.Len(t, liveKeys(t, srv), before+1, "exactly one key created")

		// Once finished, the key replays the original.
		r, err := c.send(ctx, http.MethodPost, "/keys", srv.AdminKey, body, hdr)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "true", r.header.Get("Idempotent-Replayed"))
		require.Equal(t, first.ID, decode[apiKeyJSON](t, r.body).ID)
		require.Len(t, liveKeys(t, srv), before+1)
	}
	t.Logf("%d x 200, %d x 409 idempotency_in_progress", created, inProgress)
}
