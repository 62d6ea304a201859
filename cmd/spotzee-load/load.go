package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spotzeekit/spotzee-keys/bench"
	"github.com/spotzeekit/spotzee-keys/postgres"
	"github.com/spotzeekit/spotzee-keys/refserver"
)

// config is what the flags say.
type config struct {
	conns       int
	duration    time.Duration
	warmup      time.Duration
	slice       time.Duration
	keys        int
	maxRequests int
	scenarios   []string
	bare        bool
	validate    bool
	accessLog   bool
	timeout     time.Duration
	profile     string
	// db is a PostgreSQL DSN ("" for a SQLite file); replicas is how many
	// reference servers share it.
	db       string
	replicas int
	// behaviour is the reference server's behaviour profile.
	behaviour refserver.Profile
	// variants, when not empty, selects the comparison (-compare); gen is
	// its generator (auto, wrk or go), ogenDir the ogen peer's module and
	// spec the document Prism mocks.
	variants []string
	gen      string
	ogenDir  string
	spec     string
}

// Target thresholds, checked on every run.
const (
	// minGetVsBare is the least GET /keys/{id} req/s may reach, as a
	// fraction of the bare handler's.
	minGetVsBare = 0.5
	// maxPeakRSS is the most the server's peak RSS may reach (100 MB).
	maxPeakRSS = 100_000_000
)

// scenarioNames are the scenarios -scenarios may name, in run order.
var scenarioNames = []string{"get", "list", "patch"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("spotzee-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.IntVar(&c.conns, "c", 16, "concurrent connections (one worker each)")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "measured duration of each scenario (and as long again for the bare handler beside it)")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	fs.DurationVar(&c.slice, "slice", 250*time.Millisecond, "length of the alternating slices of a scenario and the bare handler")
	fs.IntVar(&c.keys, "keys", 1000, "keys seeded into the project before the run")
	fs.IntVar(&c.maxRequests, "max-requests", 1_000_000, "most requests measured per scenario (and per bare ceiling)")
	scenarios := fs.String("scenarios", strings.Join(scenarioNames, ","), "scenarios to run: get (GET /keys/{id}), list (GET /keys), patch (PATCH /keys/{id})")
	fs.BoolVar(&c.bare, "bare", true, "measure the bare net/http JSON handler beside each scenario, as the ceiling")
	fs.BoolVar(&c.validate, "validate-responses", false, "validate every response against the spec in the server")
	fs.BoolVar(&c.accessLog, "access-log", false, "format the server's access log (written to io.Discard)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "hard limit on the whole run")
	fs.StringVar(&c.profile, "server-cpuprofile", "", "write a CPU profile of the reference server (seeding excluded) to this file")
	compare := fs.String("compare", "", "instead of the scenarios, compare variants serving GET and PATCH /keys/{keyId}, each as a ratio to the bare handler: a comma-separated subset of "+strings.Join(compareVariants, ",")+", or all")
	fs.StringVar(&c.gen, "gen", "auto", "load generator of -compare: wrk, go, or auto (wrk when it is installed)")
	fs.StringVar(&c.ogenDir, "ogen-dir", "bench/ogenpeer", "the ogen peer's module (built with go build for -compare ogen)")
	fs.StringVar(&c.spec, "spec", "openapi.yaml", "the OpenAPI document Prism mocks for -compare prism")
	fs.StringVar(&c.db, "db", "", "PostgreSQL DSN (postgres://…) to run the reference server on, in a fresh schema dropped afterwards; default a SQLite file")
	fs.IntVar(&c.replicas, "replicas", 1, "reference-server replicas sharing the -db PostgreSQL database, requests spread over them (needs -db)")
	behaviour := fs.String("profile", string(refserver.ProfileRollout), `the reference server's behaviour profile: "rollout" or "current"`)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.behaviour, err = refserver.ParseProfile(*behaviour); err != nil {
		return c, fmt.Errorf("-profile: %w", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.conns < 1 || c.conns > 1024:
		return c, errors.New("-c must be 1 to 1024")
	case c.duration <= 0 || c.slice <= 0 || c.warmup < 0 || c.timeout <= 0:
		return c, errors.New("-d, -slice and -timeout must be positive, -warmup not negative")
	case c.keys < 1 || c.keys > 10_000_000:
		return c, errors.New("-keys must be 1 to 10,000,000")
	case c.maxRequests < c.conns:
		return c, errors.New("-max-requests must be at least -c")
	case c.db != "" && !postgres.IsDSN(c.db):
		return c, errors.New("-db must be a postgres:// or postgresql:// DSN")
	case c.replicas < 1 || (c.replicas > 1 && c.db == ""):
		return c, errors.New("-replicas must be at least 1, and more than 1 only with -db")
	}
	switch c.gen {
	case "auto", "wrk", "go":
	default:
		return c, errors.New("-gen must be auto, wrk or go")
	}
	if *compare == "all" {
		*compare = strings.Join(compareVariants, ",")
	}
	for _, s := range strings.Split(*compare, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(compareVariants, s) {
			return c, fmt.Errorf("unknown -compare variant %q (want %s)", s, strings.Join(compareVariants, ", "))
		}
		c.variants = append(c.variants, s)
	}
	for _, s := range strings.Split(*scenarios, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		found := false
		for _, name := range scenarioNames {
			found = found || s == name
		}
		if !found {
			return c, fmt.Errorf("unknown scenario %q (want %s)", s, strings.Join(scenarioNames, ", "))
		}
		c.scenarios = append(c.scenarios, s)
	}
	if len(c.scenarios) == 0 {
		return c, errors.New("no scenario to run")
	}
	return c, nil
}

// target is a server and the requests one scenario sends it.
type target struct {
	client *http.Client
	pid    int
	want   int
	mk     func(*rand.Rand) *http.Request
}

// tally is what a phase measured.
type tally struct {
	lat     []time.Duration
	errors  int
	samples []string // the first few errors
	elapsed time.Duration
}

func (t *tally) add(o tally) {
	t.lat = append(t.lat, o.lat...)
	t.errors += o.errors
	t.elapsed += o.elapsed
	for _, s := range o.samples {
		if len(t.samples) < 3 {
			t.samples = append(t.samples, s)
		}
	}
}

func (t *tally) rps() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(len(t.lat)) / t.elapsed.Seconds()
}

// result is one scenario's figures, with those of the bare handler measured
// in the slices between its own.
type result struct {
	name     string
	requests int
	rps      float64
	errors   int
	samples  []string
	p50, p99 time.Duration
	max      time.Duration
	mem      bench.Memory // the server's, right after the scenario
	bare     *tally       // nil without -bare
	bareP50  time.Duration
	bareP99  time.Duration
}

// run is the program: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return fail(stderr, "%v", err)
	}
	// Both children copy their stderr into it, each from a goroutine of
	// os/exec, when it is not a file.
	stderr = &lockedWriter{w: stderr}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	lifetime := time.Until(deadline) + 5*time.Second

	dir, err := os.MkdirTemp("", "spotzee-load-")
	if err != nil {
		return fail(stderr, "%v", err)
	}
	defer os.RemoveAll(dir)

	if len(cfg.variants) > 0 {
		fmt.Fprintf(stdout, "spotzee-load %s\n", time.Now().UTC().Format(time.RFC3339))
		fmt.Fprintf(stdout, "machine: %s; load average %s\n", bench.Machine(), bench.LoadAverage())
		code := runCompare(ctx, cfg, dir, lifetime, stdout, stderr)
		fmt.Fprintf(stdout, "(load average at the end: %s)\n", bench.LoadAverage())
		return code
	}
	validation := "off"
	if cfg.validate {
		validation = "on"
	}
	fmt.Fprintf(stdout, "spotzee-load %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "machine: %s; load average %s\n", bench.Machine(), bench.LoadAverage())
	fmt.Fprintf(stdout, "load: %d connections, %v per scenario after a %v warm-up, at most %d requests each; profile %s, per-key and edge rate limits off, response validation %s\n",
		cfg.conns, cfg.duration, cfg.warmup, cfg.maxRequests, cfg.behaviour, validation)

	var bare *child
	if cfg.bare {
		if bare, err = startChild(ctx, "bare", nil, lifetime, stderr); err != nil {
			return fail(stderr, "%v", err)
		}
		defer bare.stop()
		fmt.Fprintf(stdout, "ceiling: bare net/http JSON handler in child process %d, measured in %v slices alternating with each scenario's\n",
			bare.pid(), cfg.slice)
	}
	dbArg, storage := filepath.Join(dir, "keys.db"), "SQLite file"
	if cfg.db != "" {
		dsn, drop, err := loadSchema(ctx, cfg.db)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		defer drop()
		dbArg, storage = dsn, fmt.Sprintf("PostgreSQL (%d replica(s), requests spread over them)", cfg.replicas)
	}
	env := []string{
		childDBEnv + "=" + dbArg,
		childSecretEnv + "=" + hex.EncodeToString([]byte(crand.Text() + crand.Text())[:32]),
		childKeysEnv + "=" + strconv.Itoa(cfg.keys),
		childValidateEnv + "=" + boolEnv(cfg.validate),
		childLogEnv + "=" + boolEnv(cfg.accessLog),
		childBehaviourEnv + "=" + string(cfg.behaviour),
	}
	if cfg.profile != "" {
		abs, err := filepath.Abs(cfg.profile)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		env = append(env, childProfileEnv+"="+abs)
	}
	srv, err := startChild(ctx, "server", env, lifetime, stderr)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	defer srv.stop()
	for range cfg.replicas - 1 {
		join := fmt.Sprintf("%s=%s,%d,%d", childJoinEnv, srv.ready.AdminKey, srv.ready.FirstID, srv.ready.Keys)
		r, err := startChild(ctx, "server", append(env, join), lifetime, stderr)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		defer r.stop()
		srv.replicas = append(srv.replicas, r.ready.Addr)
	}
	seeded, _ := bench.ProcessMemory(srv.pid())
	fmt.Fprintf(stdout, "server: reference server (profile %s) in child process %d on %s, %s, %d keys seeded in %.1f s, RSS then %s\n\n",
		srv.ready.Profile, srv.pid(), srv.ready.Addr, storage, srv.ready.Keys, srv.ready.SeedSecs, bench.MiB(seeded.Current))

	var results []result
	for _, s := range cfg.scenarios {
		if ctx.Err() != nil {
			break
		}
		results = append(results, runScenario(ctx, cfg, s, srv, bare))
	}
	fmt.Fprintf(stdout, "(load average at the end: %s)\n", bench.LoadAverage())
	printResults(stdout, results)
	printTargets(stdout, cfg, results)
	if ctx.Err() != nil {
		return fail(stderr, "stopped early: %v", ctx.Err())
	}
	return 0
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		Timeout: 10 * time.Second,
	}
}

// runScenario drives one scenario against the reference server child srv,
// alternating with the bare handler child bare when there is one.
func runScenario(ctx context.Context, cfg config, name string, srv, bare *child) result {
	apis := []string{"http://" + srv.ready.Addr + "/api/client"}
	for _, addr := range srv.replicas {
		apis = append(apis, "http://"+addr+"/api/client")
	}
	api := apis[0]
	if len(apis) > 1 {
		// Each request goes to a replica picked at random.
		api = ""
	}
	pick := func(rng *rand.Rand) string {
		if api != "" {
			return api
		}
		return apis[rng.IntN(len(apis))]
	}
	auth := "Bearer " + srv.ready.AdminKey
	randomKey := func(rng *rand.Rand) string {
		return strconv.FormatInt(srv.ready.FirstID+rng.Int64N(int64(srv.ready.Keys)), 10)
	}
	var title string
	var mk func(*rand.Rand) *http.Request
	switch name {
	case "get":
		title = "GET /keys/{id}"
		mk = func(rng *rand.Rand) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, pick(rng)+"/keys/"+randomKey(rng), nil)
			return req
		}
	case "list":
		title = "GET /keys"
		mk = func(rng *rand.Rand) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, pick(rng)+"/keys", nil)
			return req
		}
	case "patch":
		title = "PATCH /keys/{id}"
		mk = func(rng *rand.Rand) *http.Request {
			body := `{"name":"load ` + strconv.FormatUint(rng.Uint64()%1_000_000, 10) + `"}`
			req, _ := http.NewRequest(http.MethodPatch, pick(rng)+"/keys/"+randomKey(rng), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
	}
	main := target{client: newClient(cfg.conns), pid: srv.pid(), want: http.StatusOK, mk: func(rng *rand.Rand) *http.Request {
		req := mk(rng)
		req.Header.Set("Authorization", auth)
		return req
	}}
	defer main.client.CloseIdleConnections()
	var ceiling *target
	if bare != nil {
		url := "http://" + bare.ready.Addr + "/keys/1"
		ceiling = &target{client: newClient(cfg.conns), pid: bare.pid(), want: http.StatusOK, mk: func(*rand.Rand) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			return req
		}}
		defer ceiling.client.CloseIdleConnections()
	}

	if cfg.warmup > 0 {
		phase(ctx, main, cfg.conns, cfg.warmup, cfg.maxRequests)
		if ceiling != nil {
			phase(ctx, *ceiling, cfg.conns, cfg.warmup, cfg.maxRequests)
		}
	}
	// Alternate slices, swapping which goes first, so that a change in the
	// machine's background load falls on both alike.
	var own, ceil tally
	slices := max(1, int((cfg.duration+cfg.slice/2)/cfg.slice))
	for i := 0; i < slices && ctx.Err() == nil; i++ {
		d := cfg.duration / time.Duration(slices)
		left := cfg.maxRequests - len(own.lat)
		if left < cfg.conns {
			break
		}
		if ceiling != nil && i%2 == 1 {
			ceil.add(phase(ctx, *ceiling, cfg.conns, d, max(cfg.conns, cfg.maxRequests-len(ceil.lat))))
		}
		own.add(phase(ctx, main, cfg.conns, d, left))
		if ceiling != nil && i%2 == 0 {
			ceil.add(phase(ctx, *ceiling, cfg.conns, d, max(cfg.conns, cfg.maxRequests-len(ceil.lat))))
		}
	}
	r := result{name: title, requests: len(own.lat), rps: own.rps(), errors: own.errors, samples: own.samples}
	bench.SortDurations(own.lat)
	r.p50, r.p99 = bench.Percentile(own.lat, 50), bench.Percentile(own.lat, 99)
	if n := len(own.lat); n > 0 {
		r.max = own.lat[n-1]
	}
	r.mem, _ = bench.ProcessMemory(srv.pid())
	if ceiling != nil {
		bench.SortDurations(ceil.lat)
		r.bare = &ceil
		r.bareP50, r.bareP99 = bench.Percentile(ceil.lat, 50), bench.Percentile(ceil.lat, 99)
	}
	return r
}

// phase runs conns workers that send requests to t until d has passed or
// limit requests were sent; requests in flight then are awaited and
// counted, so that every error shows. Only the end of the whole run (ctx)
// cuts them off. A response with another status than t.want, or a failed
// request, is an error.
func phase(ctx context.Context, t target, conns int, d time.Duration, limit int) tally {
	var (
		sent atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		out  = tally{lat: make([]time.Duration, 0, min(limit, 1<<20))}
	)
	start := time.Now()
	end := start.Add(d)
	for w := range conns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w)+1, uint64(start.UnixNano())))
			var mine tally
			for ctx.Err() == nil && time.Now().Before(end) && sent.Add(1) <= int64(limit) {
				req := t.mk(rng).WithContext(ctx)
				t0 := time.Now()
				err := send(t.client, req, t.want)
				mine.lat = append(mine.lat, time.Since(t0))
				if err != nil {
					mine.errors++
					if len(mine.samples) < 3 {
						mine.samples = append(mine.samples, err.Error())
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			out.add(mine)
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}

// send does one request and reads the whole response.
func send(client *http.Client, req *http.Request, want int) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return nil
}

func printResults(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trequests\treq/s\tp50\tp99\tmax\terrors\tserver peak RSS\tbare req/s\tbare p50\tbare p99\tvs bare\t")
	for _, r := range results {
		bareRPS, bareP50, bareP99, ratio := "-", "-", "-", "-"
		if r.bare != nil && r.bare.rps() > 0 {
			bareRPS = fmt.Sprintf("%.0f", r.bare.rps())
			bareP50, bareP99 = ms(r.bareP50), ms(r.bareP99)
			ratio = fmt.Sprintf("%.2fx", r.rps/r.bare.rps())
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", r.name, r.requests, r.rps,
			ms(r.p50), ms(r.p99), ms(r.max), r.errors, bench.MiB(r.mem.Peak), bareRPS, bareP50, bareP99, ratio)
	}
	_ = tw.Flush()
	for _, r := range results {
		for _, s := range r.samples {
			fmt.Fprintf(w, "  error in %s: %s\n", r.name, s)
		}
		if r.bare != nil {
			for _, s := range r.bare.samples {
				fmt.Fprintf(w, "  error in the bare handler beside %s: %s\n", r.name, s)
			}
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// printTargets checks the targets the run can check.
func printTargets(w io.Writer, cfg config, results []result) {
	fmt.Fprintln(w, "\ntargets:")
	state := func(ok bool) string {
		if ok {
			return "MET"
		}
		return "MISSED"
	}
	var peak int64
	errs := 0
	for _, r := range results {
		errs += r.errors
		if r.bare != nil {
			errs += r.bare.errors
		}
		peak = max(peak, r.mem.Peak)
		if r.name == "GET /keys/{id}" && r.bare != nil && r.bare.rps() > 0 {
			x := r.rps / r.bare.rps()
			fmt.Fprintf(w, "  GET /keys/{id} req/s ≥ %.2fx the bare handler's: %.2fx %s\n", minGetVsBare, x, state(x >= minGetVsBare))
		}
	}
	fmt.Fprintf(w, "  zero errors: %d %s\n", errs, state(errs == 0))
	if peak > 0 {
		fmt.Fprintf(w, "  server peak RSS < 100 MB with %d keys after the load: %s (%.1f MB) %s\n",
			cfg.keys, bench.MiB(peak), float64(peak)/1e6, state(peak < maxPeakRSS))
	}
}
