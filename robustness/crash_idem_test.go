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

// idemCreate is one create sent with an Idempotency-Key, and what its
// sender learnt: acked when it was answered 200 (id and value as sent).
type idemCreate struct {
	key   string
	body  triple
	acked bool
	id    int64
	value string
}

// TestCrashSafetyIdempotent kills the server with SIGKILL in the middle of a
// stream of concurrent creates sent with Idempotency-Keys. A key and its
// finished idempotency record commit in one transaction, so at the kill the
// database holds as many finished records as created keys, and the only
// records still running are those of requests whose write never committed.
// Then the lease is made to pass (the running records' begin times are moved
// back by spotzee.IdempotencyLease: no sleep), the server restarts, and every
// request is retried with its key: none is answered idempotency_in_progress,
// every acknowledged create replays the same key (id and full value), and
// afterwards each request has made exactly one key, covered by its record.
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
	// counts returns the live keys named idem-*, the finished and the
	// running idempotency records.
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
		(SELECT count(*) FROM api_keys WHERE name LIKE 'idem-%' AND revoked_at IS NULL),
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
	admin := first.admin
	var survivor *process
	if backend.survivor {
		survivor = serve(t, bin, db, backend.extra...)
	}

	v, err := validate.Default()
	require.NoError(t, err)
	hc := &http.Client{Transport: v.Transport(&http.Transport{MaxIdleConnsPerHost: 16}), Timeout: 10 * time.Second}
	send := func(base string, c *idemCreate) (int, http.Header, []byte, error) {
		data, err := json.Marshal(c.body)
		if err != nil {
			return 0, nil, nil, err
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/keys", bytes.NewReader(data))
		if err != nil {
			return 0, nil, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", c.key)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, body, err
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
			for i := 0; ; i++ {
				c := &idemCreate{key: fmt.Sprintf("idem-g%d-%d", g, i), body: tripleOf(g, i, 0)}
				c.body.Name = "idem-" + c.body.Name
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
				var got apiKeyJSON
				if !assert.NoError(t, json.Unmarshal(body, &got)) {
					return
				}
				mu.Lock()
				c.acked, c.id, c.value = true, got.ID, got.Value
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

	// At the kill: every committed key has its finished record.
	conn := backend.open(t, db)
	keysAtKill, doneAtKill, running := conn.counts(t)
	require.Equal(t, keysAtKill, doneAtKill, "a key without its finished record, or a record without its key")
	ackedN := 0
	for _, c := range sent {
		if c.acked {
			ackedN++
		}
	}
	require.GreaterOrEqual(t, keysAtKill, ackedN)

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
		var got apiKeyJSON
		require.NoError(t, json.Unmarshal(body, &got))
		if hdr.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
		if c.acked {
			assert.Equal(t, "true", hdr.Get("Idempotent-Replayed"), "%s: an acknowledged create is replayed", c.key)
			assert.Equal(t, c.id, got.ID, "%s: the same key", c.key)
			assert.Equal(t, c.value, got.Value, "%s: the same full value", c.key)
		}
	}

	// Each request made exactly one key, and every key has its record.
	status, body, err := func() (int, []byte, error) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, second.base+"/keys?limit=-1&sort=id", http.NoBody)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "%s", body)
	names := map[string]int{}
	for _, r := range decode[pageJSON](t, body).Results {
		if strings.HasPrefix(r.Name, "idem-") {
			names[r.Name]++
		}
	}
	for _, c := range sent {
		assert.Equal(t, 1, names[c.body.Name], "%s: keys made", c.key)
	}
	assert.Len(t, names, len(sent), "no key that no request made")

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
	keys, done, stuck := conn.counts(t)
	assert.Zero(t, stuck, "a record stuck in progress")
	assert.Equal(t, len(sent), done, "one finished record per request")
	assert.Equal(t, len(sent), keys, "one key per request")
	t.Logf("%d creates sent, %d acknowledged before the kill; at the kill %d keys with as many finished records, %d running; %d retries replayed",
		len(sent), ackedN, keysAtKill, running, replayed)
}
