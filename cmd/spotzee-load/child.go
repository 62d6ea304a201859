package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spotzeekit/spotzee-keys/bench"
	"github.com/spotzeekit/spotzee-keys/examples/embedded"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
)

// The environment through which the parent configures a child.
const (
	// childEnv selects child mode: "bare" or "server".
	childEnv = "SPOTZEE_LOAD_CHILD"
	// childDBEnv is the server's SQLite file or PostgreSQL DSN.
	childDBEnv = "SPOTZEE_LOAD_DB"
	// childKeysEnv is how many keys the server seeds.
	childKeysEnv = "SPOTZEE_LOAD_KEYS"
	// childValidateEnv, "1", turns response validation on.
	childValidateEnv = "SPOTZEE_LOAD_VALIDATE_RESPONSES"
	// childLogEnv, "1", formats the access log (to io.Discard).
	childLogEnv = "SPOTZEE_LOAD_ACCESS_LOG"
	// childLifetimeEnv bounds the child's life, in seconds.
	childLifetimeEnv = "SPOTZEE_LOAD_LIFETIME"
	// childProfileEnv, when set, is the file the child writes a CPU profile
	// of its whole serving life to.
	childProfileEnv = "SPOTZEE_LOAD_CPUPROFILE"
	// childLimitsEnv, "1", enforces per-key rate limits with budgets the
	// load never reaches.
	childLimitsEnv = "SPOTZEE_LOAD_RATE_LIMITS"
	// childBehaviourEnv is the server's behaviour profile (rollout or
	// current; empty means rollout).
	childBehaviourEnv = "SPOTZEE_LOAD_PROFILE"
	// childAuthCacheEnv, "off", turns the server's authenticated-key cache
	// off (refserver.Config.DisableAuthCache), as serve --auth-cache=off
	// does; it is on otherwise, as in serve. Set it in the load command's
	// environment: the children inherit it.
	childAuthCacheEnv = "SPOTZEE_LOAD_AUTH_CACHE"
)

// ready is the line a child prints on stdout once it serves.
type ready struct {
	Addr string `json:"addr"`
	// AdminKey, FirstID and Keys describe the seeded project (server only):
	// its live keys are FirstID to FirstID+Keys-1.
	AdminKey string  `json:"admin_key,omitempty"`
	FirstID  int64   `json:"first_id,omitempty"`
	Keys     int     `json:"keys,omitempty"`
	SeedSecs float64 `json:"seed_seconds,omitempty"`
	// Profile is the server's behaviour profile (server only).
	Profile refserver.Profile `json:"profile,omitempty"`
}

// runChild serves until stdin is closed (the parent is done or gone) or its
// lifetime runs out, and returns the exit code.
func runChild(mode string, stdin io.Reader, stdout, stderr io.Writer) int {
	lifetime := 10 * time.Minute
	if s := os.Getenv(childLifetimeEnv); s != "" {
		secs, err := strconv.Atoi(s)
		if err != nil || secs <= 0 {
			return fail(stderr, "child: bad %s %q", childLifetimeEnv, s)
		}
		lifetime = time.Duration(secs) * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()

	var (
		handler http.Handler
		info    ready
	)
	switch mode {
	case "bare":
		handler = bench.BareHandler()
	case "embedded-noval", "embedded", "embedded-resp":
		h, r, err := openEmbedded(mode)
		if err != nil {
			return fail(stderr, "child: %v", err)
		}
		handler, info = h, r
	case "server":
		ref, r, err := openServer(ctx)
		if err != nil {
			return fail(stderr, "child: %v", err)
		}
		defer ref.Close()
		handler, info = ref.Handler(), r
	default:
		return fail(stderr, "child: unknown mode %q", mode)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(stderr, "child: %v", err)
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	if path := os.Getenv(childProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fail(stderr, "child: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(stderr, "child: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	info.Addr = ln.Addr().String()
	line, _ := json.Marshal(info)
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return fail(stderr, "child: %v", err)
	}
	select {
	case err := <-errc:
		return fail(stderr, "child: serve: %v", err)
	case <-ctx.Done():
	}
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fail(stderr, "child: shutdown: %v", err)
	}
	return 0
}

// openEmbedded builds the embedding stack of examples/embedded — without
// validation (mode embedded-noval), with request validation (embedded) or
// with response validation too (embedded-resp) — and creates
// SPOTZEE_LOAD_KEYS keys through it; their ids are 1 to N.
func openEmbedded(mode string) (http.Handler, ready, error) {
	n, err := strconv.Atoi(os.Getenv(childKeysEnv))
	if err != nil || n < 1 {
		return nil, ready{}, fmt.Errorf("need %s ≥ 1", childKeysEnv)
	}
	var h http.Handler
	if mode == "embedded-noval" {
		h = embedded.NewUnvalidatedHandler()
	} else if h, err = embedded.NewHandler(mode == "embedded-resp"); err != nil {
		return nil, ready{}, err
	}
	start := time.Now()
	const bearer = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2" // well-formed: no Authenticator
	for i := range n {
		r := httptest.NewRequest(http.MethodPost, "/api/client/keys", strings.NewReader(`{"name":"key `+strconv.Itoa(i+1)+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+bearer)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			return nil, ready{}, fmt.Errorf("seeding the embedding stack: status %d: %s", w.Code, w.Body)
		}
	}
	return h, ready{AdminKey: bearer, FirstID: 1, Keys: n, SeedSecs: time.Since(start).Seconds()}, nil
}

// openServer opens the reference server on the child's database, bootstraps
// project 1 and seeds its keys in one transaction (bench.SeedKeysFile).
func openServer(ctx context.Context) (*refserver.Server, ready, error) {
	path := os.Getenv(childDBEnv)
	n, err := strconv.Atoi(os.Getenv(childKeysEnv))
	if path == "" || err != nil || n < 1 {
		return nil, ready{}, fmt.Errorf("need %s and %s ≥ 1", childDBEnv, childKeysEnv)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv(childLogEnv) == "1" {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	profile, err := refserver.ParseProfile(os.Getenv(childBehaviourEnv))
	if err != nil {
		return nil, ready{}, err
	}
	secret, err := sharedSecret()
	if err != nil {
		return nil, ready{}, err
	}
	// No edge limits: every request comes from one loopback address. The
	// per-key limits are off, or with SPOTZEE_LOAD_RATE_LIMITS=1 enforced
	// with budgets the load never reaches (what they cost, not 429s).
	limits := ratelimit.Config{Disabled: true}
	if os.Getenv(childLimitsEnv) == "1" {
		limits = ratelimit.Config{Override: &ratelimit.Limits{ReadPerWindow: 1 << 30, WritePerWindow: 1 << 30}}
	}
	ref, err := refserver.Open(ctx, refserver.Config{
		Profile:           profile,
		DBPath:            path,
		Secret:            secret,
		RateLimits:        limits,
		ValidateResponses: os.Getenv(childValidateEnv) == "1",
		Logger:            log,
		DisableAuthCache:  os.Getenv(childAuthCacheEnv) == "off",
	})
	if err != nil {
		return nil, ready{}, err
	}
	if joined, ok, err := joinInfo(); ok || err != nil {
		// A further replica on the seeded PostgreSQL database.
		if err != nil {
			_ = ref.Close()
			return nil, ready{}, err
		}
		joined.Profile = profile
		return ref, joined, nil
	}
	b, created, err := ref.BootstrapIfEmpty(ctx)
	if err == nil && !created {
		err = errors.New("the database is not new")
	}
	if err != nil {
		_ = ref.Close()
		return nil, ready{}, fmt.Errorf("bootstrap: %w", err)
	}
	start := time.Now()
	var ids []int64
	if pg := ref.Postgres(); pg != nil {
		ids, err = seedPostgres(ctx, pg, b.Project.ID, n, start.Add(-time.Hour))
	} else {
		ids, err = bench.SeedKeysFile(ctx, path, ref.Store(), b.Project.ID, n, start.Add(-time.Hour))
	}
	if err != nil {
		_ = ref.Close()
		return nil, ready{}, err
	}
	for i, id := range ids {
		if id != ids[0]+int64(i) {
			_ = ref.Close()
			return nil, ready{}, fmt.Errorf("seeded ids are not contiguous at %d", i)
		}
	}
	return ref, ready{AdminKey: b.Admin.Value, FirstID: ids[0], Keys: n, SeedSecs: time.Since(start).Seconds(), Profile: profile}, nil
}

// child is a running child process.
type child struct {
	// replicas are the addresses of further replicas on the same
	// PostgreSQL database (server only).
	replicas []string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	ready    ready
	done     chan error
	// group is set when the child leads a process group of its own (npx
	// and the node process beneath it): stop ends that group.
	group bool
}

// startChild starts this program in child mode with env added, and waits
// (at most until ctx is done) for its ready line.
func startChild(ctx context.Context, mode string, env []string, lifetime time.Duration, stderr io.Writer) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startCmd(ctx, exec.Command(self), mode, env, lifetime, stderr)
}

// startCmd starts cmd as a child in mode with env added (the protocol of
// startChild: a ready line on stdout, shut down by closing stdin).
func startCmd(ctx context.Context, cmd *exec.Cmd, mode string, env []string, lifetime time.Duration, stderr io.Writer) (*child, error) {
	cmd.Env = append(os.Environ(), childEnv+"="+mode,
		childLifetimeEnv+"="+strconv.Itoa(max(1, int(lifetime.Seconds()))))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// exec copies the child's stdout into pw; Wait returns once the child
	// has exited and that copy is done, which needs the reader below to
	// keep draining until pw is closed.
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err == nil {
			lines <- line
		} else {
			close(lines)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		_ = pw.Close()
		c.done <- err
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			c.stop()
			return nil, fmt.Errorf("%s child exited before it was ready", mode)
		}
		if err := json.Unmarshal([]byte(line), &c.ready); err != nil || c.ready.Addr == "" {
			c.stop()
			return nil, fmt.Errorf("%s child: bad ready line %q", mode, line)
		}
		return c, nil
	case <-ctx.Done():
		c.stop()
		return nil, fmt.Errorf("%s child not ready: %w", mode, ctx.Err())
	}
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop closes the child's stdin, which makes it shut down, and kills it
// (this one process, by its pid) if it has not exited within 10 s.
func (c *child) stop() {
	_ = c.stdin.Close()
	if c.group {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		if c.group {
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		}
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}
