package robustness

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// The idempotent writes the crash tests send, one kind per writer.
const (
	idemKeyCreate     = iota // POST /api/client/keys
	idemOrgKeyPatch          // PATCH /api/admin/organizations/api-keys/{id}, of a key made for it
	idemProjectCreate        // POST /api/admin/projects
	idemKinds
)

// idemCreate is one write sent with an Idempotency-Key, and what its
// sender learnt: acked when it was answered 200 (id, value and body as
// sent). Every write names its row body.Name, which is unique.
type idemCreate struct {
	kind   int
	key    string
	method string
	path   string // relative to the surface's base
	body   any
	name   string
	acked  bool
	id     int64
	value  string
	answer []byte
}

// TestCrashSafetyIdempotent kills the server with SIGKILL in the middle of a
// stream of concurrent writes sent with Idempotency-Keys: project-key
// creates, organisation-key PATCHes and project creates. A write and its
// finished idempotency record commit in one transaction, so at the kill the
// database holds as many finished records as written rows, and the only
// records still running are those of requests whose write never committed.
// Then the lease is made to pass (the running records' begin times are moved
// back by spotzee.IdempotencyLease: no sleep), the server restarts, and every
// request is retried with its key: none is answered idempotency_in_progress,
// every acknowledged write replays the same response (for a create, the same
// id and full value), and afterwards each request has written exactly one
// row, covered by its record.
func TestCrashSafetyIdempotent(t *testing.T) {
	idemCrashSafety(t, idemBackend{
		crashBackend: crashBackend{
			db:    func(t *testing.T, dir string) string { return filepath.Join(dir, "k.db") },
			check: integrityCheck,
		},
		open: openSQLiteIdem,
	})
}

// idemBackend is the database TestCrashSafetyIdempotent runs on: a
// crashBackend and a direct connection to count keys and records.
type idemBackend struct {
	crashBackend
	open func(t *testing.T, db string) idemDB
}

// idemDB reads and ages the idempotency records of the database under test.
type idemDB interface {
	// counts returns the rows named idem-* (live project and organisation
	// keys, projects), the finished and the running idempotency records.
	counts(t *testing.T) (keys, done, running int)
	// age sets the begin time of every running record to at.
	age(t *testing.T, at time.Time)
	close()
}

type sqliteIdem struct{ conn *sql.DB }

func openSQLiteIdem(t *testing.T, db string) idemDB {
	conn, err := sql.Open("sqlite", "file:"+db)
	require.NoError(t, err)
	return sqliteIdem{conn: conn}
}

func (s sqliteIdem) counts(t *testing.T) (keys, done, running int) {
	t.Helper()
	require.NoError(t, s.conn.QueryRow(`SELECT
		(SELECT count(*) FROM api_keys WHERE name LIKE 'idem-%' AND revoked_at IS NULL)
		+ (SELECT count(*) FROM org_api_keys WHERE name LIKE 'idem-%' AND revoked_at IS NULL)
		+ (SELECT count(*) FROM projects WHERE name LIKE 'idem-%'),
		(SELECT count(*) FROM idempotency WHERE done = 1),
		(SELECT count(*) FROM idempotency WHERE done = 0)`).Scan(&keys, &done, &running))
	return keys, done, running
}

func (s sqliteIdem) age(t *testing.T, at time.Time) {
	t.Helper()
	_, err := s.conn.Exec(`UPDATE idempotency SET created_at = ? WHERE done = 0`, spotzee.FormatSortTime(at))
	require.NoError(t, err)
}

func (s sqliteIdem) close() { _ = s.conn.Close() }

func idemCrashSafety(t *testing.T, backend idemBackend) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	db := backend.db(t, dir)
	first := serve(t, bin, db, backend.extra...)
	require.NotEmpty(t, first.admin, "no admin key on stdout")
	require.NotEmpty(t, first.owner, "no owner organisation key on stdout")
	admin, owner := first.admin, first.owner
	var survivor *process
	if backend.survivor {
		survivor = serve(t, bin, db, backend.extra...)
	}

	v, err := validate.Default()
	require.NoError(t, err)
	hc := &http.Client{Transport: v.Transport(&http.Transport{MaxIdleConnsPerHost: 16}), Timeout: 10 * time.Second}
	// do sends one request to the surface of kind (project or admin) of
	// the server at base, with an Idempotency-Key when key is not "".
	do := func(base string, kind int, method, path string, body any, key string) (int, http.Header, []byte, error) {
		token := admin
		if kind != idemKeyCreate {
			base, token = strings.TrimSuffix(base, "/api/client")+"/api/admin", owner
		}
		var rd io.Reader = http.NoBody
		if body != nil {
			data, err := json.Marshal(body)
			if err != nil {
				return 0, nil, nil, err
			}
			rd = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(context.Background(), method, base+path, rd)
		if err != nil {
			return 0, nil, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, data, err
	}
	send := func(base string, c *idemCreate) (int, http.Header, []byte, error) {
		return do(base, c.kind, c.method, c.path, c.body, c.key)
	}
	type created struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Value string `json:"value"`
	}

	// Many writers queue on the database's one writer, so that the kill
	// lands between writes of different requests' transactions.
	const writers = 24
	killAfter := int64(300)
	var (
		acked atomic.Int64
		mu    sync.Mutex
		sent  []*idemCreate
		wg    sync.WaitGroup
	)
	killed := make(chan struct{})
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := g % idemKinds
			for i := 0; ; i++ {
				c := &idemCreate{kind: kind, key: fmt.Sprintf("idem-g%d-%d", g, i)}
				switch kind {
				case idemKeyCreate:
					body := tripleOf(g, i, 0)
					body.Name = "idem-" + body.Name
					c.method, c.path, c.body, c.name = http.MethodPost, "/keys", body, body.Name
				case idemOrgKeyPatch:
					// A key of its own for each PATCH (made without an
					// Idempotency-Key), so a committed PATCH is a key named
					// by it.
					status, _, body, err := do(first.base, kind, http.MethodPost, "/organizations/api-keys",
						map[string]string{"name": fmt.Sprintf("pre-g%d-%d", g, i), "role": "member"}, "")
					if err != nil {
						return // killed
					}
					if !assert.Equal(t, http.StatusOK, status, "%s", body) {
						return
					}
					var target created
					if !assert.NoError(t, json.Unmarshal(body, &target)) {
						return
					}
					c.name = fmt.Sprintf("idem-org-g%d-%d", g, i)
					c.method, c.path = http.MethodPatch, fmt.Sprintf("/organizations/api-keys/%d", target.ID)
					c.body = map[string]string{"name": c.name, "description": "patched by " + c.key}
				case idemProjectCreate:
					c.name = fmt.Sprintf("idem-project-g%d-%d", g, i)
					c.method, c.path = http.MethodPost, "/projects"
					c.body = map[string]string{"name": c.name, "locale": "en", "timezone": "UTC"}
				}
				mu.Lock()
				sent = append(sent, c)
				mu.Unlock()
				status, _, body, err := send(first.base, c)
				if err != nil {
					return // outcome unknown
				}
				if !assert.Equal(t, http.StatusOK, status, "%s", body) {
					return
				}
				var got created
				if !assert.NoError(t, json.Unmarshal(body, &got)) {
					return
				}
				mu.Lock()
				c.acked, c.id, c.value, c.answer = true, got.ID, got.Value, body
				mu.Unlock()
				if acked.Add(1) == killAfter {
					go func() {
						time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
						assert.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
						close(killed)
					}()
				}
			}
		}()
	}
	select {
	case <-killed:
	case <-time.After(60 * time.Second):
		t.Fatal("the writers did not reach the kill point")
	}
	wg.Wait()
	select {
	case <-first.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed server did not exit")
	}
	first.done <- nil // for the cleanup
	if t.Failed() {
		return
	}
	if backend.check != nil {
		backend.check(t, db)
	}

	// At the kill: every committed write has its finished record.
	conn := backend.open(t, db)
	rowsAtKill, doneAtKill, running := conn.counts(t)
	require.Equal(t, rowsAtKill, doneAtKill, "a row without its finished record, or a record without its row")
	ackedN := 0
	perKind := make([]int, idemKinds)
	for _, c := range sent {
		perKind[c.kind]++
		if c.acked {
			ackedN++
		}
	}
	require.GreaterOrEqual(t, rowsAtKill, ackedN)
	for kind, n := range perKind {
		require.Positive(t, n, "writes of kind %d", kind)
	}

	// The lease passes: the records left running by the kill become stale.
	conn.age(t, time.Now().Add(-spotzee.IdempotencyLease-time.Second))
	conn.close()

	second := survivor
	if second == nil {
		second = serve(t, bin, db, backend.extra...)
	}
	require.Empty(t, second.admin, "the restart bootstrapped again")
	replayed := 0
	for _, c := range sent {
		status, hdr, body, err := send(second.base, c)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "retry of %s: %s", c.key, body)
		var got created
		require.NoError(t, json.Unmarshal(body, &got))
		assert.Equal(t, c.name, got.Name, c.key)
		if hdr.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
		if c.acked {
			assert.Equal(t, "true", hdr.Get("Idempotent-Replayed"), "%s: an acknowledged write is replayed", c.key)
			assert.Equal(t, c.id, got.ID, "%s: the same row", c.key)
			assert.Equal(t, c.value, got.Value, "%s: the same full value", c.key)
			assert.Equal(t, string(c.answer), string(body), "%s: the same response", c.key)
		}
	}

	// Each request wrote exactly one row, and every row has its record.
	names := map[string]int{}
	for kind, path := range map[int]string{
		idemKeyCreate:     "/keys?limit=-1&sort=id",
		idemOrgKeyPatch:   "/organizations/api-keys?limit=-1&sort=id",
		idemProjectCreate: "/projects?limit=-1&sort=id",
	} {
		status, _, body, err := do(second.base, kind, http.MethodGet, path, nil, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var page struct {
			Results []created `json:"results"`
		}
		require.NoError(t, json.Unmarshal(body, &page))
		for _, r := range page.Results {
			if strings.HasPrefix(r.Name, "idem-") {
				names[r.Name]++
			}
		}
	}
	for _, c := range sent {
		assert.Equal(t, 1, names[c.name], "%s: rows written", c.key)
	}
	assert.Len(t, names, len(sent), "no row that no request wrote")

	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-second.done:
		second.done <- err
		require.NoError(t, err, "graceful shutdown: %s", second.stderr)
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not shut down on SIGTERM")
	}
	conn = backend.open(t, db)
	defer conn.close()
	rows, done, stuck := conn.counts(t)
	assert.Zero(t, stuck, "a record stuck in progress")
	assert.Equal(t, len(sent), done, "one finished record per request")
	assert.Equal(t, len(sent), rows, "one row per request")
	t.Logf("%d writes sent (%d key creates, %d org-key PATCHes, %d project creates), %d acknowledged before the kill; at the kill %d rows with as many finished records, %d running; %d retries replayed",
		len(sent), perKind[idemKeyCreate], perKind[idemOrgKeyPatch], perKind[idemProjectCreate], ackedN, rowsAtKill, running, replayed)
}
