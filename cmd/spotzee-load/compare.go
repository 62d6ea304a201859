package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spotzeekit/spotzee-keys/bench"
)

// The comparison (-compare): each variant serves GET and PATCH
// /keys/{keyId}, all of them at once, measured in rounds of one slice per
// target (the bare handler too) in a rotating order, and printed as a
// ratio to the bare handler over the same rounds. Variants that need what the machine may not
// have (the ogen peer's module, npx for Prism) are skipped with the reason.

// compareVariants are the variants -compare may name, in run order.
var compareVariants = []string{"ref", "ref-limits", "ref-100k", "embedded-noval", "embedded", "embedded-resp", "ogen", "prism"}

// growthKeys are the keys of the ref-100k variant, whose throughput the
// growth target compares with ref's (-keys, 1,000 by default): issue #16's
// "100,000 keys stay within 1.5x of 1,000".
const growthKeys = 100_000

// compareTitles describes each variant in the table.
var compareTitles = map[string]string{
	"ref":            "reference server (rate limits off)",
	"ref-limits":     "reference server, rate limits on",
	"ref-100k":       "reference server, 100,000 keys",
	"embedded-noval": "embedding stack, no validation",
	"embedded":       "embedding stack + request validation",
	"embedded-resp":  "embedding stack + request and response validation",
	"ogen":           "ogen v1.24.0 peer (in-memory)",
	"prism":          "Prism 5 mock (npx @stoplight/prism-cli@5)",
}

// measured is one variant's figures for one operation.
type measured struct {
	variant, op        string
	rps, bareRPS       float64
	requests, errors   int
	p50, p99           time.Duration
	skipped, errSample string
}

// generator sends one kind of request to one server for a while.
type generator interface {
	// run drives t for d and returns requests, errors, latencies (p50, p99)
	// and the elapsed time.
	run(ctx context.Context, t loadTarget, d time.Duration) (phaseResult, error)
	name() string
}

// loadTarget is what a generator sends: method and path (a random key id
// between first and first+keys-1 is appended when keys > 0) to addr.
type loadTarget struct {
	addr, method, prefix, body, auth string
	first                            int64
	keys                             int
}

type phaseResult struct {
	requests, errors int
	p50, p99         time.Duration
	elapsed          time.Duration
	sample           string
}

// goGenerator is the in-process generator: conns goroutines over
// keep-alive connections (phase).
type goGenerator struct{ conns, limit int }

func (goGenerator) name() string { return "Go generator (net/http client)" }

func (g goGenerator) run(ctx context.Context, t loadTarget, d time.Duration) (phaseResult, error) {
	client := newClient(g.conns)
	defer client.CloseIdleConnections()
	base := "http://" + t.addr + t.prefix
	tg := target{client: client, want: http.StatusOK, mk: func(rng *rand.Rand) *http.Request {
		url := base
		if t.keys > 0 {
			url += strconv.FormatInt(t.first+rng.Int64N(int64(t.keys)), 10)
		}
		var req *http.Request
		if t.body == "" {
			req, _ = http.NewRequest(t.method, url, nil)
		} else {
			req, _ = http.NewRequest(t.method, url, strings.NewReader(t.body))
			req.Header.Set("Content-Type", "application/json")
		}
		if t.auth != "" {
			req.Header.Set("Authorization", t.auth)
		}
		return req
	}}
	tl := phase(ctx, tg, g.conns, d, g.limit)
	bench.SortDurations(tl.lat)
	r := phaseResult{requests: len(tl.lat), errors: tl.errors, elapsed: tl.elapsed,
		p50: bench.Percentile(tl.lat, 50), p99: bench.Percentile(tl.lat, 99)}
	if len(tl.samples) > 0 {
		r.sample = tl.samples[0]
	}
	return r, nil
}

// wrkGenerator runs wrk (one thread, conns connections), as the issue's
// baseline was measured; a Lua script picks the key and reports the
// figures. Its slices last whole seconds.
type wrkGenerator struct {
	path, dir string
	conns     int
}

func (wrkGenerator) name() string { return "wrk -t1 (github.com/wg/wrk)" }

const wrkScript = `local first, keys = %d, %d
local method, prefix, body = %q, %q, %s
wrk.headers["Authorization"] = %q
if body then wrk.headers["Content-Type"] = "application/json" end
request = function()
  local path = prefix
  if keys > 0 then path = path .. (first + math.random(0, keys - 1)) end
  return wrk.format(method, path, nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(50), latency:percentile(99)))
end
`

func (g wrkGenerator) run(ctx context.Context, t loadTarget, d time.Duration) (phaseResult, error) {
	body := "nil"
	if t.body != "" {
		body = strconv.Quote(t.body)
	}
	script := filepath.Join(g.dir, "load.lua")
	if err := os.WriteFile(script, fmt.Appendf(nil, wrkScript, t.first, t.keys, t.method, t.prefix, body, t.auth), 0o600); err != nil {
		return phaseResult{}, err
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, g.path, "-t1", "-c"+strconv.Itoa(g.conns), "-d"+strconv.Itoa(secs)+"s",
		"--timeout", "10s", "-s", script, "http://"+t.addr)
	out, err := cmd.Output()
	if err != nil {
		return phaseResult{}, fmt.Errorf("wrk: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 6 || f[0] != "WRKRESULT" {
			continue
		}
		var n [5]int64
		for i := range n {
			if n[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
				return phaseResult{}, fmt.Errorf("wrk: %q", sc.Text())
			}
		}
		r := phaseResult{requests: int(n[0]), elapsed: time.Duration(n[1]) * time.Microsecond, errors: int(n[2]),
			p50: time.Duration(n[3]) * time.Microsecond, p99: time.Duration(n[4]) * time.Microsecond}
		if r.errors > 0 {
			r.sample = "wrk counted errors (a status other than 2xx/3xx, or a socket error)"
		}
		return r, nil
	}
	return phaseResult{}, fmt.Errorf("wrk printed no result: %s", out)
}

// compareOps are the operations of the comparison.
var compareOps = []struct{ name, method, body string }{
	{"GET", http.MethodGet, ""},
	{"PATCH", http.MethodPatch, `{"name":"renamed","description":null,"role":"editor"}`},
}

// runCompare is -compare: it returns the exit code.
func runCompare(ctx context.Context, cfg config, dir string, lifetime time.Duration, stdout, stderr io.Writer) int {
	var gen generator = goGenerator{conns: cfg.conns, limit: cfg.maxRequests}
	var goGen = gen
	wrkPath, wrkErr := exec.LookPath("wrk")
	switch {
	case cfg.gen == "wrk" && wrkErr != nil:
		return fail(stderr, "-gen wrk: %v", wrkErr)
	case cfg.gen == "wrk" || (cfg.gen == "auto" && wrkErr == nil):
		gen = wrkGenerator{path: wrkPath, dir: dir, conns: cfg.conns}
	}
	slice := cfg.slice
	if _, ok := gen.(wrkGenerator); ok {
		slice = max(slice, time.Second)
	}
	slices := max(2, int((cfg.duration+slice/2)/slice))
	fmt.Fprintf(stdout, "compare: GET and PATCH /keys/{keyId}, %d keys, %d connections, generator %s; %d rounds of one %v slice per target (the bare handler and each variant's GET and PATCH, in an order that rotates) after one unmeasured round\n",
		cfg.keys, cfg.conns, gen.name(), slices, slice)

	bare, err := startChild(ctx, "bare", nil, lifetime, stderr)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	defer bare.stop()
	bareT := loadTarget{addr: bare.ready.Addr, method: http.MethodGet, prefix: "/keys/1"}

	// The generator's own ceiling: wrk and the Go generator on the bare
	// handler, alternating.
	if _, ok := gen.(wrkGenerator); ok {
		var w, g phaseResult
		for i := range 4 {
			first, second := gen, goGen
			if i%2 == 1 {
				first, second = goGen, gen
			}
			a, err1 := first.run(ctx, bareT, slice)
			b, err2 := second.run(ctx, bareT, slice)
			if err := errors.Join(err1, err2); err != nil {
				return fail(stderr, "%v", err)
			}
			if i%2 == 1 {
				a, b = b, a
			}
			w.requests, w.elapsed = w.requests+a.requests, w.elapsed+a.elapsed
			g.requests, g.elapsed = g.requests+b.requests, g.elapsed+b.elapsed
		}
		wr, gr := rate(w), rate(g)
		fmt.Fprintf(stdout, "generator check (bare handler, alternating): wrk %.0f req/s, Go generator %.0f req/s: the Go generator reaches %.2fx of wrk's ceiling\n",
			wr, gr, gr/wr)
	}

	// Every variant's server runs for the whole comparison; the slices go
	// round all targets (the bare handler included) in an order that
	// rotates each round, so that the machine's changing background load
	// falls on every variant alike (the ratios between variants, which the
	// targets are, come from the same rounds).
	var rows []measured
	targets := []loadTarget{bareT}
	index := map[int]int{} // target → row
	for _, name := range cfg.variants {
		if ctx.Err() != nil {
			break
		}
		srv, t, skip := startVariant(ctx, cfg, name, dir, lifetime, stderr)
		for _, op := range compareOps {
			if skip != "" {
				rows = append(rows, measured{variant: name, op: op.name, skipped: skip})
				continue
			}
			t.method, t.body = op.method, op.body
			index[len(targets)] = len(rows)
			targets = append(targets, t)
			rows = append(rows, measured{variant: name, op: op.name})
		}
		if srv != nil {
			defer srv.stop()
		}
	}
	sums := make([]phaseResult, len(targets))
	p50s := make([][]time.Duration, len(targets))
	p99s := make([][]time.Duration, len(targets))
	failed := make([]string, len(targets))
	for round := -1; round < slices && ctx.Err() == nil; round++ {
		for j := range targets {
			k := (j + max(round, 0)) % len(targets)
			if failed[k] != "" {
				continue
			}
			r, err := gen.run(ctx, targets[k], slice)
			if err != nil {
				failed[k] = err.Error()
				continue
			}
			if round < 0 {
				continue // the unmeasured warm-up round
			}
			sum := &sums[k]
			sum.requests, sum.errors, sum.elapsed = sum.requests+r.requests, sum.errors+r.errors, sum.elapsed+r.elapsed
			if sum.sample == "" {
				sum.sample = r.sample
			}
			p50s[k], p99s[k] = append(p50s[k], r.p50), append(p99s[k], r.p99)
		}
	}
	if failed[0] != "" {
		return fail(stderr, "bare handler: %s", failed[0])
	}
	for k := 1; k < len(targets); k++ {
		m := &rows[index[k]]
		if failed[k] != "" {
			m.skipped = failed[k]
			continue
		}
		m.requests, m.errors, m.errSample = sums[k].requests, sums[k].errors, sums[k].sample
		m.rps, m.bareRPS = rate(sums[k]), rate(sums[0])
		if len(p50s[k]) > 0 {
			// The median slice's percentiles (slices are not merged).
			bench.SortDurations(p50s[k])
			bench.SortDurations(p99s[k])
			m.p50, m.p99 = p50s[k][len(p50s[k])/2], p99s[k][len(p99s[k])/2]
		}
	}
	printCompare(stdout, rows, cfg.keys)
	if ctx.Err() != nil {
		return fail(stderr, "stopped early: %v", ctx.Err())
	}
	return 0
}

func rate(r phaseResult) float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// startVariant starts the server of one variant and returns it with the
// target of its requests, or the reason it is skipped.
func startVariant(ctx context.Context, cfg config, name, dir string, lifetime time.Duration, stderr io.Writer) (*child, loadTarget, string) {
	keys := []string{childKeysEnv + "=" + strconv.Itoa(cfg.keys)}
	var (
		srv *child
		err error
	)
	switch name {
	case "ref", "ref-limits", "ref-100k":
		if name == "ref-100k" {
			keys = []string{childKeysEnv + "=" + strconv.Itoa(growthKeys)}
		}
		env := append(keys, childDBEnv+"="+filepath.Join(dir, name+".db"), childBehaviourEnv+"="+string(cfg.behaviour))
		if name == "ref-limits" {
			env = append(env, childLimitsEnv+"=1")
		}
		srv, err = startChild(ctx, "server", env, lifetime, stderr)
	case "embedded-noval", "embedded", "embedded-resp":
		srv, err = startChild(ctx, name, keys, lifetime, stderr)
	case "ogen":
		bin := filepath.Join(dir, "ogenpeer")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		build.Dir = cfg.ogenDir
		if out, err := build.CombinedOutput(); err != nil {
			return nil, loadTarget{}, fmt.Sprintf("the ogen peer (%s) does not build: %v: %s", cfg.ogenDir, err, firstLine(out))
		}
		srv, err = startCmd(ctx, exec.Command(bin), name, keys, lifetime, stderr)
	case "prism":
		return startPrism(ctx, cfg, dir)
	}
	if err != nil {
		return nil, loadTarget{}, err.Error()
	}
	return srv, loadTarget{addr: srv.ready.Addr, prefix: "/api/client/keys/", auth: "Bearer " + orDefault(srv.ready.AdminKey, "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"),
		first: srv.ready.FirstID, keys: srv.ready.Keys}, ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// startPrism starts Prism's mock server on the spec through npx, in a
// process group of its own (npx starts node beneath it), and returns a
// child whose stop ends that group.
func startPrism(ctx context.Context, cfg config, dir string) (*child, loadTarget, string) {
	npx, err := exec.LookPath("npx")
	if err != nil {
		return nil, loadTarget{}, "npx is not installed"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, loadTarget{}, err.Error()
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	_ = ln.Close()
	cmd := exec.Command(npx, "--yes", "@stoplight/prism-cli@5", "mock", "-h", "127.0.0.1", "-p", port, cfg.spec)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "prism.log"))
	if err != nil {
		return nil, loadTarget{}, err.Error()
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, loadTarget{}, err.Error()
	}
	if err := cmd.Start(); err != nil {
		return nil, loadTarget{}, "npx: " + err.Error()
	}
	c := &child{cmd: cmd, stdin: stdin, done: make(chan error, 1), group: true}
	go func() { c.done <- cmd.Wait(); _ = logf.Close() }()
	t := loadTarget{addr: addr, prefix: "/keys/", auth: "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", first: 1, keys: 1}
	// Ready when it answers; Prism routes the spec's paths without the
	// server URL's base path.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+t.prefix+"1", nil)
		req.Header.Set("Authorization", t.auth)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, t, ""
			}
			c.stop()
			return nil, loadTarget{}, fmt.Sprintf("Prism answered GET %s1 with %d", t.prefix, resp.StatusCode)
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.stop()
	log, _ := os.ReadFile(filepath.Join(dir, "prism.log"))
	return nil, loadTarget{}, "Prism did not start within 90 s: " + firstLine(log)
}

// printCompare prints the table of rows and the targets; baseKeys is ref's
// number of keys (-keys), which the growth target compares ref-100k with.
func printCompare(w io.Writer, rows []measured, baseKeys int) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "variant\top\treq/s\tbare req/s\tvs bare\tp50\tp99\trequests\terrors\t")
	ratio := map[string]float64{}
	for _, r := range rows {
		if r.skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\tskipped: %s\t\t\t\t\t\t\t\n", compareTitles[r.variant], r.op, r.skipped)
			continue
		}
		x := 0.0
		if r.bareRPS > 0 {
			x = r.rps / r.bareRPS
		}
		ratio[r.variant+" "+r.op] = x
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.2fx\t%s\t%s\t%d\t%d\t\n", compareTitles[r.variant], r.op, r.rps, r.bareRPS, x,
			ms(r.p50), ms(r.p99), r.requests, r.errors)
	}
	_ = tw.Flush()
	for _, r := range rows {
		if r.errSample != "" {
			fmt.Fprintf(w, "  errors in %s %s: %s\n", r.variant, r.op, r.errSample)
		}
	}
	fmt.Fprintln(w, "\ntargets (ratios of the ratios above):")
	check := func(what, a, b string, limit float64, atMost bool) {
		x, y := ratio[a], ratio[b]
		if b == "" {
			y = 1
		}
		if x == 0 || y == 0 {
			fmt.Fprintf(w, "  %s: not measured\n", what)
			return
		}
		got := x / y
		ok := got >= limit
		cmp := "≥"
		if atMost {
			ok, cmp = got <= limit, "≤"
		}
		state := "MET"
		if !ok {
			state = "MISSED"
		}
		fmt.Fprintf(w, "  %s: %.2f (want %s %.2f) %s\n", what, got, cmp, limit, state)
	}
	for _, op := range compareOps {
		check("embedding without validation / ogen, "+op.name+" (not a target: the ceiling validation works under)", "embedded-noval "+op.name, "ogen "+op.name, 0, false)
		check("embedding + request validation / ogen, "+op.name, "embedded "+op.name, "ogen "+op.name, 0.9, false)
		check("embedding + response validation / ogen, "+op.name, "embedded-resp "+op.name, "ogen "+op.name, 0.75, false)
	}
	check("reference server GET / bare", "ref GET", "", 0.40, false)
	check("reference server PATCH / bare", "ref PATCH", "", 0.15, false)
	for _, op := range compareOps {
		check("reference server / Prism, "+op.name, "ref "+op.name, "prism "+op.name, 5, false)
		check("rate limits on / off, "+op.name+" (cost ≤ 5%: ≥ 0.95)", "ref-limits "+op.name, "ref "+op.name, 0.95, false)
	}
	for _, op := range compareOps {
		check(fmt.Sprintf("%d keys / %d keys, %s (within 1.5x: ≥ 0.67)", growthKeys, baseKeys, op.name),
			"ref-100k "+op.name, "ref "+op.name, 1/1.5, false)
	}
}
