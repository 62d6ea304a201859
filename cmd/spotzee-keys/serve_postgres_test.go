package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/postgres/pgtest"
)

// replicas starts n serve processes of bin on one PostgreSQL schema with one
// secret file, the first alone (it bootstraps project 1 and creates the
// secret), and returns their roots and the admin key the first printed.
func replicas(t *testing.T, bin string, n int, extra ...string) ([]string, string) {
	roots, admin, _ := replicasWithOwner(t, bin, n, extra...)
	return roots, admin
}

// replicasWithOwner is replicas, also returning the owner key (ok_) of
// organisation 1 that the first replica printed.
func replicasWithOwner(t *testing.T, bin string, n int, extra ...string) ([]string, string, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	var roots []string
	var admin, owner string
	for i := range n {
		args := append([]string{"serve", "--db", dsn, "--secret-file", secret, "--addr", freePort(t)}, extra...)
		p := startServe(t, bin, dir, args...)
		if i == 0 {
			admin = p.waitFor(t, serveKeyLine)
			owner = p.waitFor(t, serveOwnerLine)
		}
		root := "http://" + p.waitFor(t, serveServingLine)
		waitHealthy(t, root)
		roots = append(roots, root)
		if i > 0 {
			assert.NotRegexp(t, serveKeyLine, p.stdout.String(), "only the first replica bootstraps")
		}
	}
	return roots, admin, owner
}

type createdKey struct {
	ID    int64  `json:"id"`
	Value string `json:"value"`
}

func createOn(t *testing.T, root, admin, name string, header ...string) (int, createdKey, []byte) {
	t.Helper()
	resp, body := serveDo(t, root, admin, http.MethodPost, "/api/client/keys", fmt.Sprintf(`{"name":%q,"role":"admin"}`, name), header...)
	var k createdKey
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(body, &k))
	}
	return resp.StatusCode, k, body
}

// TestServePostgresReplicas runs two serve processes on one PostgreSQL
// database: a key created on A is read on B, revoked on A it is refused on
// B's very next request, an Idempotency-Key sent to A and B at once creates
// one key, and a cursor issued by A pages on B.
func TestServePostgresReplicas(t *testing.T) {
	pgtest.SkipWithout(t)
	t.Parallel()
	bin := buildServeBinary(t)
	roots, admin, owner := replicasWithOwner(t, bin, 2, "--edge-limits", "off", "--rate-limits", "off")
	a, b := roots[0], roots[1]

	t.Run("organisation surface on both", func(t *testing.T) {
		for _, root := range roots {
			resp, body := serveDo(t, root, owner, http.MethodGet, "/api/admin/organizations/me", "")
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			assert.Contains(t, string(body), `"default"`)
		}
	})

	t.Run("create on A, read on B", func(t *testing.T) {
		status, k, body := createOn(t, a, admin, "made on A")
		require.Equal(t, http.StatusOK, status, "%s", body)
		resp, body := serveDo(t, b, admin, http.MethodGet, fmt.Sprintf("/api/client/keys/%d", k.ID), "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Contains(t, string(body), `"made on A"`)
	})

	t.Run("revoke on A, refused on B at once", func(t *testing.T) {
		status, k, body := createOn(t, a, admin, "doomed")
		require.Equal(t, http.StatusOK, status, "%s", body)
		resp, body := serveDo(t, b, k.Value, http.MethodGet, "/api/client/keys?limit=1", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		resp, body = serveDo(t, a, admin, http.MethodDelete, fmt.Sprintf("/api/client/keys/%d", k.ID), "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		resp, body = serveDo(t, b, k.Value, http.MethodGet, "/api/client/keys?limit=1", "")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s", body)
	})

	t.Run("one Idempotency-Key on A and B at once creates one key", func(t *testing.T) {
		for round := range 10 {
			idem := fmt.Sprintf("replica-race-%d", round)
			type answer struct {
				status int
				key    createdKey
				body   []byte
			}
			answers := make([]answer, 2)
			var wg sync.WaitGroup
			for i, root := range roots {
				wg.Go(func() {
					s, k, body := createOn(t, root, admin, idem, "Idempotency-Key", idem)
					answers[i] = answer{s, k, body}
				})
			}
			wg.Wait()
			var ok []createdKey
			for _, an := range answers {
				switch an.status {
				case http.StatusOK:
					ok = append(ok, an.key)
				case http.StatusConflict:
					assert.Contains(t, string(an.body), "idempotency_in_progress")
				default:
					t.Fatalf("round %d: status %d: %s", round, an.status, an.body)
				}
			}
			require.NotEmpty(t, ok, "round %d", round)
			for _, k := range ok {
				assert.Equal(t, ok[0], k, "round %d: both answers carry the one key", round)
				assert.NotEmpty(t, k.Value)
			}
			resp, body := serveDo(t, b, admin, http.MethodGet, "/api/client/keys?limit=-1&q="+idem, "")
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			var list struct {
				Results []createdKey `json:"results"`
			}
			require.NoError(t, json.Unmarshal(body, &list))
			assert.Len(t, list.Results, 1, "round %d: created once", round)
		}
	})

	t.Run("a cursor from A pages on B", func(t *testing.T) {
		for i := range 5 {
			status, _, body := createOn(t, b, admin, fmt.Sprintf("page %d", i))
			require.Equal(t, http.StatusOK, status, "%s", body)
		}
		var all []int64
		root, cursor := a, ""
		for range 20 {
			path := "/api/client/keys?limit=2&sort=id"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			resp, body := serveDo(t, root, admin, http.MethodGet, path, "")
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s on %s: %s", path, root, body)
			var page struct {
				Results    []createdKey `json:"results"`
				NextCursor *string      `json:"nextCursor"`
			}
			require.NoError(t, json.Unmarshal(body, &page))
			for _, k := range page.Results {
				all = append(all, k.ID)
			}
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
			if root == a { // alternate: A's cursor is read by B, B's by A
				root = b
			} else {
				root = a
			}
		}
		resp, body := serveDo(t, b, admin, http.MethodGet, "/api/client/keys?limit=-1&sort=id", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var whole struct {
			Results []createdKey `json:"results"`
		}
		require.NoError(t, json.Unmarshal(body, &whole))
		var want []int64
		for _, k := range whole.Results {
			want = append(want, k.ID)
		}
		assert.Equal(t, want, all)
		assert.Greater(t, len(all), 4)
	})
}

// TestServePostgresSharedLimits: a burst split across two replicas is
// limited as one budget, for the per-key rate limit and the per-IP edge
// limit. Both windows are an hour long, so the burst falls in one window
// (and the shared counters are exact there) unless it straddles the top of
// the hour, when the edge's clock-aligned window may admit up to twice its
// limit (the documented tolerance).
func TestServePostgresSharedLimits(t *testing.T) {
	pgtest.SkipWithout(t)
	t.Parallel()
	bin := buildServeBinary(t)
	const rateLimit, edgeLimit = 20, 100
	roots, admin := replicas(t, bin, 2,
		"--rate-limit-read", fmt.Sprint(rateLimit), "--rate-limit-write", "1000", "--rate-window", "1h",
		"--edge-api-limit", fmt.Sprint(edgeLimit), "--edge-api-window", "1h",
		"--edge-client-limit", "100000", "--auth-failures", "0")

	start := time.Now()
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 3 * rateLimit {
		wg.Go(func() {
			resp, _ := serveDo(t, roots[i%2], admin, http.MethodGet, "/api/client/keys?limit=1", "")
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, rateLimit, statuses[http.StatusOK], "per-key: one budget over both replicas: %v", statuses)
	assert.Equal(t, 2*rateLimit, statuses[http.StatusTooManyRequests], "%v", statuses)

	// The edge: every request counts, from one IP, over both replicas; 60
	// were sent above.
	passed := 3 * rateLimit
	edge := 0
	for i := range edgeLimit {
		resp, body := serveDo(t, roots[i%2], "", http.MethodGet, "/api/client/keys", "")
		if resp.StatusCode == http.StatusTooManyRequests && !json.Valid(body) || resp.StatusCode == http.StatusTooManyRequests && !containsRequestID(body) {
			edge++
			continue
		}
		passed++
	}
	hour := func(t time.Time) int64 { return t.Unix() / 3600 }
	if hour(start) == hour(time.Now()) {
		assert.Equal(t, edgeLimit, passed, "the edge admits its limit over both replicas")
	} else {
		assert.LessOrEqual(t, passed, 2*edgeLimit, "tolerance at a window boundary")
	}
	assert.Equal(t, 3*rateLimit+edgeLimit-passed, edge)
}

// containsRequestID reports whether a problem body carries request_id (the
// edge's 429 does not).
func containsRequestID(body []byte) bool {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, ok := m["request_id"]
	return ok
}

// TestServePostgresNeedsSharedSecret: with a PostgreSQL DSN and neither
// SPOTZEE_KEYS_SECRET nor --secret-file, serve refuses to start (before it
// connects) and says how to share the secret.
func TestServePostgresNeedsSharedSecret(t *testing.T) {
	t.Setenv(SecretEnv, "")
	var stdout, stderr serveBuffer
	code := runServe(t.Context(), []string{"--db", "postgres://nobody:hunter2@127.0.0.1:1/none?sslmode=disable", "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), SecretEnv)
	assert.Contains(t, stderr.String(), "--secret-file")
	assert.NotContains(t, stderr.String(), "hunter2")
}
