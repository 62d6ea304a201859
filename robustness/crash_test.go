package robustness

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/validate"
)

// process is a running spotzee-keys serve.
type process struct {
	cmd    *exec.Cmd
	base   string // API base URL
	admin  string // the admin key printed on first start, "" on a restart
	owner  string // the owner organisation key printed with it
	stderr *bytes.Buffer
	done   chan error
}

var (
	adminLine   = regexp.MustCompile(`^\s+(sk_[0-9A-HJKMNP-TV-Z]{26})\s*$`)
	ownerLine   = regexp.MustCompile(`^\s+(ok_[0-9A-HJKMNP-TV-Z]{26})\s*$`)
	servingLine = regexp.MustCompile(`on (http://\S+/api/client)`)
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := ln.Addr().String()
	require.NoError(tb, ln.Close())
	return addr
}

// serve starts the binary on db, with extra flags, and waits until it
// listens.
func serve(tb testing.TB, bin, db string, extra ...string) *process {
	tb.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", freeAddr(tb), "--db", db, "--rate-limits", "off", "--edge-limits", "off"}, extra...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SPOTZEE_KEYS_SECRET=") {
			cmd.Env = append(cmd.Env, kv) // the secret comes from db + ".secret"
		}
	}
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	p := &process{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := adminLine.FindStringSubmatch(line); m != nil {
				p.admin = m[1]
			}
			if m := ownerLine.FindStringSubmatch(line); m != nil {
				p.owner = m[1]
			}
			if m := servingLine.FindStringSubmatch(line); m != nil && p.base == "" {
				p.base = m[1]
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-p.done:
		p.done <- err
		tb.Fatalf("spotzee-keys serve exited early (%v): %s", err, p.stderr)
	case <-time.After(30 * time.Second):
		tb.Fatalf("spotzee-keys serve did not start: %s", p.stderr)
	}
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// triple is the state one write sets; name and description carry the same
// version tag, so a torn row (fields of two writes) cannot match any triple.
type triple struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Role        string `json:"role"`
}

func tripleOf(g, k, v int) triple {
	tag := fmt.Sprintf("crash-g%d-k%d-v%d", g, k, v)
	role := "admin"
	if v%2 == 1 {
		role = "editor"
	}
	return triple{Name: tag, Description: "description of " + tag, Role: role}
}

// tracked is what the writers know about one key.
type tracked struct {
	id    int64
	value string
	idx   int // k of its tags
	ver   int // v of acked
	// acked is the last acknowledged state; pending, when set, an update
	// whose outcome is unknown (sent, no response).
	acked   triple
	pending *triple
}

// crashLog is every write's outcome, shared by the writers.
type crashLog struct {
	mu sync.Mutex
	// keys are the acknowledged creates; lost the creates whose outcome is
	// unknown.
	keys []*tracked
	lost []triple
}

func integrityCheck(tb testing.TB, db string) {
	tb.Helper()
	conn, err := sql.Open("sqlite", "file:"+db)
	require.NoError(tb, err)
	defer conn.Close()
	var res string
	require.NoError(tb, conn.QueryRow(`PRAGMA integrity_check`).Scan(&res))
	require.Equal(tb, "ok", res)
	rows, err := conn.Query(`PRAGMA foreign_key_check`)
	require.NoError(tb, err)
	defer rows.Close()
	require.False(tb, rows.Next(), "foreign key violations after the crash")
	require.NoError(tb, rows.Err())
}

// TestCrashSafety kills the server with SIGKILL in the middle of a stream of
// creates and updates and restarts it on the same database: every
// acknowledged write is there, an unacknowledged one landed whole or not at
// all, every acknowledged key still authenticates, and the database is
// intact.
func TestCrashSafety(t *testing.T) {
	crashSafety(t, crashBackend{
		db:    func(t *testing.T, dir string) string { return filepath.Join(dir, "k.db") },
		check: integrityCheck,
	})
}

// crashBackend is the database TestCrashSafety runs on.
type crashBackend struct {
	// db returns the --db argument, given the test's directory.
	db func(t *testing.T, dir string) string
	// extra are serve flags every process gets.
	extra []string
	// check, when set, checks the database's integrity.
	check func(tb testing.TB, db string)
	// survivor starts a second replica before the kill and checks through
	// it, rather than through a restart (a shared database).
	survivor bool
}

func crashSafety(t *testing.T, backend crashBackend) {
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
	send := func(method, url, key string, body any) (int, []byte, error) {
		var rd io.Reader = http.NoBody
		if body != nil {
			data, err := json.Marshal(body)
			if err != nil {
				return 0, nil, err
			}
			rd = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return resp.StatusCode, data, err
	}

	// A cursor made before the crash must still be valid after it: the
	// restart reads the same secret file (db + ".secret").
	status, body, err := send(http.MethodGet, first.base+"/keys?limit=1&sort=id", admin, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "%s", body)
	oldCursor := decode[pageJSON](t, body).NextCursor
	require.NotNil(t, oldCursor)

	const writers = 4
	killAfter := int64(240)
	var (
		acked atomic.Int64
		log   crashLog
		wg    sync.WaitGroup
	)
	killed := make(chan struct{})
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []*tracked
			for step := 0; ; step++ {
				if step%3 == 0 || len(mine) == 0 {
					want := tripleOf(g, len(mine), 0)
					status, body, err := send(http.MethodPost, first.base+"/keys", admin, want)
					if err != nil {
						log.add(nil, &want)
						return
					}
					if !assert.Equal(t, http.StatusOK, status, "%s", body) {
						return
					}
					var got apiKeyJSON
					if !assert.NoError(t, json.Unmarshal(body, &got)) {
						return
					}
					k := &tracked{id: got.ID, value: got.Value, idx: len(mine), acked: want}
					mine = append(mine, k)
					log.add(k, nil)
				} else {
					k := mine[step%len(mine)]
					want := tripleOf(g, k.idx, k.ver+1)
					log.setPending(k, &want)
					status, body, err := send(http.MethodPatch, fmt.Sprintf("%s/keys/%d", first.base, k.id), admin, want)
					if err != nil {
						return // pending stays: outcome unknown
					}
					if !assert.Equal(t, http.StatusOK, status, "%s", body) {
						return
					}
					log.ack(k, want)
				}
				if acked.Add(1) == killAfter {
					// Kill while the writers' requests are in flight, a
					// little later than this acknowledgement so that some
					// writes commit without being acknowledged.
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
	second := survivor
	if second == nil {
		second = serve(t, bin, db, backend.extra...)
	}
	require.Empty(t, second.admin, "the restart bootstrapped again")

	status, body, err = send(http.MethodGet, second.base+"/keys?limit=1&sort=id&cursor="+*oldCursor, admin, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "a cursor from before the crash: %s", body)

	status, body, err = send(http.MethodGet, second.base+"/keys?limit=-1&sort=id", admin, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "%s", body)
	page := decode[pageJSON](t, body)
	rows := map[int64]apiKeyJSON{}
	for _, r := range page.Results {
		rows[r.ID] = r
	}
	rowTriple := func(r apiKeyJSON) triple {
		d := ""
		if r.Description != nil {
			d = *r.Description
		}
		return triple{Name: r.Name, Description: d, Role: r.Role}
	}

	lostLanded, pending, pendingLanded := 0, 0, 0
	ackedKeys := map[int64]bool{}
	for _, k := range log.keys {
		ackedKeys[k.id] = true
		r, ok := rows[k.id]
		require.True(t, ok, "acknowledged create of key %d (%s) lost", k.id, k.acked.Name)
		require.Equal(t, "sk_****"+k.value[len(k.value)-4:], r.Value)
		got := rowTriple(r)
		if k.pending != nil {
			pending++
		}
		if k.pending != nil && got == *k.pending {
			pendingLanded++
			continue // the in-flight update landed, whole
		}
		require.Equal(t, k.acked, got, "key %d: not its last acknowledged state (pending: %v)", k.id, k.pending)
	}
	for _, r := range page.Results {
		if ackedKeys[r.ID] || !strings.HasPrefix(r.Name, "crash-") {
			continue
		}
		require.Contains(t, log.lost, rowTriple(r), "key %d is neither acknowledged nor an in-flight create, or is torn", r.ID)
		lostLanded++
	}
	require.Len(t, page.Results, 2+len(log.keys)+lostLanded, "bootstrap keys + acknowledged creates + landed in-flight creates")
	t.Logf("%d acknowledged writes, %d keys; in flight at the kill: %d creates (%d landed), %d updates (%d landed)",
		acked.Load(), len(log.keys), len(log.lost), lostLanded, pending, pendingLanded)

	// Every acknowledged key still authenticates: admin keys list (200),
	// editor keys are known but not allowed (403), never 401.
	for _, k := range log.keys {
		status, body, err := send(http.MethodGet, second.base+"/keys?limit=1", k.value, nil)
		require.NoError(t, err)
		want := http.StatusOK
		if rowTriple(rows[k.id]).Role != "admin" {
			want = http.StatusForbidden
		}
		require.Equal(t, want, status, "key %d: %s", k.id, body)
	}

	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-second.done:
		second.done <- err
		require.NoError(t, err, "graceful shutdown: %s", second.stderr)
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not shut down on SIGTERM")
	}
	if backend.check != nil {
		backend.check(t, db)
	}
}

// buildBinary builds spotzee-keys into dir (with -race under the race
// detector) and returns its path; it skips without a go command.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "spotzee-keys")
	root, err := filepath.Abs("..") // the module root; go test runs in robustness/
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH to build the binary")
	}
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command(goTool, append(args, "./cmd/spotzee-keys")...)
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func (l *crashLog) add(k *tracked, lost *triple) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k != nil {
		l.keys = append(l.keys, k)
	}
	if lost != nil {
		l.lost = append(l.lost, *lost)
	}
}

func (l *crashLog) setPending(k *tracked, t *triple) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k.pending = t
}

func (l *crashLog) ack(k *tracked, t triple) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k.acked, k.pending = t, nil
	k.ver++
}
