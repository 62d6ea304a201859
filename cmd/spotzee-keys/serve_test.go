package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/validate"
)

var (
	serveKeyLine     = regexp.MustCompile(`(?m)^  (sk_[0-9A-HJKMNP-TV-Z]{26})$`)
	serveServingLine = regexp.MustCompile(`(?m)^Serving .* on http://([^/\s]+)/api/client `)
	serveKeyValue    = regexp.MustCompile(`^sk_[0-9A-HJKMNP-TV-Z]{26}$`)
	serveAnyKey      = regexp.MustCompile(`(sk|pk)_[0-9A-HJKMNP-TV-Z]{26}`)
)

// serveWait bounds every wait on the process; generous, for loaded CI.
const serveWait = 30 * time.Second

// serveBuffer is an io.Writer safe for the process's copy goroutine and the
// test reading it.
type serveBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *serveBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *serveBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProc is a running spotzee-keys process.
type serveProc struct {
	cmd            *exec.Cmd
	stdout, stderr *serveBuffer
	done           chan struct{}
	waitErr        error
}

// buildServeBinary builds the spotzee-keys command into a temporary
// directory, as `go build` would for a user.
func buildServeBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	bin := filepath.Join(t.TempDir(), "spotzee-keys")
	build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func startServe(t *testing.T, bin, dir string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{cmd: exec.Command(bin, args...), stdout: &serveBuffer{}, stderr: &serveBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), SecretEnv+"=")
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitFor polls the process's stdout until re matches, and returns the
// first submatch.
func (p *serveProc) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(serveWait)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("the server exited (%v)\nstdout:\n%s\nstderr:\n%s", p.waitErr, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %s in stdout:\n%s\nstderr:\n%s", re, p.stdout, p.stderr)
	return ""
}

// stop sends SIGTERM and expects a graceful exit with code 0.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(serveWait):
		t.Fatalf("the server did not stop on SIGTERM\nstderr:\n%s", p.stderr)
	}
	require.NoError(t, p.waitErr, "exit status after SIGTERM; stderr:\n%s", p.stderr)
	assert.Equal(t, 0, p.cmd.ProcessState.ExitCode())
}

// waitHealthy polls /healthz until it answers 200 {"status":"ok"}.
func waitHealthy(t *testing.T, root string) {
	t.Helper()
	deadline := time.Now().Add(serveWait)
	for {
		resp, err := http.Get(root + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				assert.JSONEq(t, `{"status":"ok"}`, string(body))
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "/healthz never answered 200: %v", err)
		time.Sleep(20 * time.Millisecond)
	}
}

// serveClient is a generated client for the API at root with key, whose
// transport validates requests and responses against the spec.
func serveClient(t *testing.T, root, key string) *client.ClientWithResponses {
	t.Helper()
	v, err := validate.Default()
	require.NoError(t, err)
	c, err := client.NewClientWithResponses(root+"/api/client",
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil), Timeout: serveWait}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	require.NoError(t, err)
	return c
}

func serveList(t *testing.T, c *client.ClientWithResponses) []client.ProjectAPIKey {
	t.Helper()
	resp, err := c.ListProjectAPIKeysWithResponse(t.Context(), &client.ListProjectAPIKeysParams{Limit: ptrTo(-1), Sort: ptrTo("id")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "body: %s", resp.Body)
	return resp.JSON200.Results
}

func ptrTo[T any](v T) *T { return &v }

// freePort returns an address on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// assertAccessLogs checks the server's stderr: access lines with request
// ids, and never a key value or an Authorization header.
func assertAccessLogs(t *testing.T, stderr string, secrets ...string) {
	t.Helper()
	assert.Contains(t, stderr, "msg=request")
	assert.Regexp(t, `request_id=req_[0-9A-HJKMNP-TV-Z]{26}`, stderr)
	assert.Contains(t, stderr, "path=/api/client/keys")
	assert.NotContains(t, stderr, "Bearer")
	assert.NotRegexp(t, serveAnyKey, stderr)
	for _, s := range secrets {
		assert.NotContains(t, stderr, s)
		assert.NotContains(t, stderr, s[3:])
	}
}

// TestServeBinary runs the spotzee-keys binary the way the README says:
// serve on an in-memory database and on the default database file in the
// working directory, bootstrap another project, restart, stop with SIGTERM.
func TestServeBinary(t *testing.T) {
	t.Parallel()
	bin := buildServeBinary(t)

	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		keyFile := filepath.Join(dir, "admin.key")
		p := startServe(t, bin, dir, "serve", "--addr", "127.0.0.1:0", "--db", ":memory:",
			"--bootstrap-key-file", keyFile, "--validate-responses")
		admin := p.waitFor(t, serveKeyLine)
		addr := p.waitFor(t, serveServingLine)
		root := "http://" + addr
		waitHealthy(t, root)

		// --bootstrap-key-file holds the same key, mode 0600.
		data, err := os.ReadFile(keyFile)
		require.NoError(t, err)
		assert.Equal(t, admin+"\n", string(data))
		info, err := os.Stat(keyFile)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		// Nothing written to the working directory for :memory:.
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "only the key file")

		c := serveClient(t, root, admin)
		ks := serveList(t, c)
		assert.Len(t, ks, 2, "system key and admin key")
		for _, k := range ks {
			assert.Equal(t, int64(1), k.ProjectID)
		}
		bad, err := serveClient(t, root, "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2").ListProjectAPIKeysWithResponse(t.Context(), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, bad.StatusCode())

		// The spec, as YAML and as JSON.
		resp, err := http.Get(root + "/api/openapi.yaml")
		require.NoError(t, err)
		yamlBody, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, spotzee.OpenAPISpec, yamlBody)
		resp, err = http.Get(root + "/api/openapi.json")
		require.NoError(t, err)
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, "3.0.3", doc.OpenAPI)
		assert.Contains(t, doc.Paths, "/keys")
		assert.Contains(t, doc.Paths, "/keys/{keyId}")

		p.stop(t)
		assertAccessLogs(t, p.stderr.String(), admin)
		assert.Equal(t, 1, strings.Count(p.stdout.String(), admin), "the key is printed once")
	})

	t.Run("file in the working directory, bootstrap, restart", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		addr := freePort(t)
		root := "http://" + addr
		p := startServe(t, bin, dir, "serve", "--addr", addr, "--validate-responses")
		admin := p.waitFor(t, serveKeyLine)
		assert.Equal(t, addr, p.waitFor(t, serveServingLine), "--addr is honoured")
		waitHealthy(t, root)

		dbFile := filepath.Join(dir, "spotzee-keys.db")
		_, err := os.Stat(dbFile)
		require.NoError(t, err, "the default database file is created in the working directory")
		info, err := os.Stat(dbFile + ".secret")
		require.NoError(t, err, "the secret file sits beside it")
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

		a := serveClient(t, root, admin)
		aKeys := serveList(t, a)
		require.Len(t, aKeys, 2)
		created, err := a.CreateProjectAPIKeyWithResponse(t.Context(), nil, client.ProjectAPIKeyCreate{Name: "made over HTTP"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, created.StatusCode())

		// bootstrap, against the database the server is using.
		boot := exec.CommandContext(t.Context(), bin, "bootstrap", "--db", dbFile, "--project", "B")
		boot.Dir = dir
		var bootOut, bootErr bytes.Buffer
		boot.Stdout, boot.Stderr = &bootOut, &bootErr
		require.NoError(t, boot.Run(), "stderr: %s", bootErr.String())
		bKey := strings.TrimSuffix(bootOut.String(), "\n")
		assert.Regexp(t, serveKeyValue, bKey, "bootstrap prints just a key value")
		assert.Equal(t, bKey+"\n", bootOut.String())
		assert.NotEqual(t, admin, bKey)

		b := serveClient(t, root, bKey)
		bKeys := serveList(t, b)
		require.Len(t, bKeys, 2, "B's system key and admin key")
		for _, k := range bKeys {
			assert.NotEqual(t, int64(1), k.ProjectID, "B sees only its own project's keys")
			assert.Equal(t, bKeys[0].ProjectID, k.ProjectID)
		}
		g, err := b.GetProjectAPIKeyWithResponse(t.Context(), created.JSON200.ID, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, g.StatusCode())
		assert.Len(t, serveList(t, a), 3, "A does not see B's keys")

		p.stop(t)
		assertAccessLogs(t, p.stderr.String(), admin, bKey, created.JSON200.Value)

		// Restart on the same directory: no new admin key, the old keys work.
		p2 := startServe(t, bin, dir, "serve", "--addr", "127.0.0.1:0", "--validate-responses")
		root2 := "http://" + p2.waitFor(t, serveServingLine)
		waitHealthy(t, root2)
		assert.NotRegexp(t, serveAnyKey, p2.stdout.String(), "an existing database is not bootstrapped again")
		after := serveList(t, serveClient(t, root2, admin))
		require.Len(t, after, 3)
		assert.Equal(t, aKeys, after[:2], "the bootstrap keys survive exactly")
		require.NotNil(t, after[0].IsSystemKey)
		assert.True(t, *after[0].IsSystemKey)
		assert.Len(t, serveList(t, serveClient(t, root2, bKey)), 2)
		p2.stop(t)
		assertAccessLogs(t, p2.stderr.String(), admin, bKey)
	})

	t.Run("bad flags", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"serve", "--no-such-flag"},
			{"serve", "--profile", "today"},
			{"serve", "--edge-limits", "maybe"},
			{"serve", "--auth-cache", "maybe"},
			{"serve", "--auth-cache", "ON"},
			{"serve", "--auth-cache="},
			{"serve", "--edge-api-limit", "0"},
			{"serve", "--edge-client-window", "0s"},
			{"bootstrap", "--no-such-flag"},
			{"frobnicate"},
			{},
		} {
			cmd := exec.CommandContext(t.Context(), bin, args...)
			cmd.Dir = t.TempDir()
			err := cmd.Run()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "%v: %v", args, err)
			assert.Equal(t, 2, exit.ExitCode(), "%v is a usage error", args)
		}
	})
}

// serveDo sends one raw request to the API at root with key (none when
// empty) and the given headers, and returns the response and its body.
func serveDo(t *testing.T, root, key, method, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, root+path, r)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

// TestServeProfileCurrent runs `serve --profile current` with a small edge
// budget: Idempotency-Key has no effect, an unknown version date is
// accepted and echoed, no X-RateLimit-* headers (per-key limits are on by
// default but not in this profile), and past the per-IP budget the edge 429
// without request_id.
func TestServeProfileCurrent(t *testing.T) {
	t.Parallel()
	bin := buildServeBinary(t)
	dir := t.TempDir()
	p := startServe(t, bin, dir, "serve", "--addr", "127.0.0.1:0", "--db", ":memory:", "--validate-responses",
		"--profile", "current", "--edge-api-limit", "6", "--edge-api-window", "1h", "--auth-cache", "off")
	admin := p.waitFor(t, serveKeyLine)
	root := "http://" + p.waitFor(t, serveServingLine)
	waitHealthy(t, root) // /healthz is outside /api/: it does not count

	for range 2 {
		resp, body := serveDo(t, root, admin, http.MethodPost, "/api/client/keys", `{"name":"twice"}`, "Idempotency-Key", "same")
		require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
		assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
		assert.Empty(t, resp.Header.Get("X-RateLimit-Limit"), "no per-key limits in the current profile")
	}
	resp, body := serveDo(t, root, admin, http.MethodGet, "/api/client/keys?q=twice", "", "Spotzee-Version", "2031-01-01")
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "2031-01-01", resp.Header.Get("Spotzee-Version"))
	var page struct {
		Results []json.RawMessage `json:"results"`
	}
	require.NoError(t, json.Unmarshal(body, &page))
	assert.Len(t, page.Results, 2, "the retried create made a second key")

	for range 3 { // 4th to 6th requests: authenticated or not, still in budget
		resp, _ = serveDo(t, root, "", http.MethodGet, "/api/client/keys", "")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp, body = serveDo(t, root, admin, http.MethodGet, "/api/client/keys", "")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	var problemBody map[string]any
	require.NoError(t, json.Unmarshal(body, &problemBody))
	assert.Equal(t, "rate_limited", problemBody["code"])
	assert.NotContains(t, problemBody, "request_id")
	resp, _ = serveDo(t, root, "", http.MethodGet, "/healthz", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	p.stop(t)
	assert.Contains(t, p.stderr.String(), "profile=current")
	assert.Contains(t, p.stderr.String(), "edge_limited=true")
	assertAccessLogs(t, p.stderr.String(), admin)
}

func TestServeRefusesUnknownSwitchValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--rate-limits", "of"}, `--rate-limits must be on or off, got "of"`},
		{[]string{"--rate-limits", "false"}, `--rate-limits must be on or off, got "false"`},
		{[]string{"--log-format", "yaml"}, `--log-format must be text or json, got "yaml"`},
		{[]string{"--edge-limits", "no"}, `--edge-limits must be on or off, got "no"`},
		{[]string{"--auth-cache", "of"}, `--auth-cache must be on or off, got "of"`},
		{[]string{"--auth-cache", "true"}, `--auth-cache must be on or off, got "true"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr strings.Builder
			// An address that cannot be listened on: without the check, the
			// server would get that far and fail with 1, not 2.
			args := append([]string{"--db", filepath.Join(t.TempDir(), "never.db"), "--addr", "256.0.0.1:0"}, tt.args...)
			code := runServe(t.Context(), args, &stdout, &stderr)
			assert.Equal(t, 2, code, "a usage error")
			assert.Contains(t, stderr.String(), tt.want)
			assert.NotContains(t, stdout.String(), "listening", "the server did not start")
		})
	}
}
