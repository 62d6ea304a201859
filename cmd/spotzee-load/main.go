// Command spotzee-load is a load generator for the reference server. It
// starts the server itself, seeds a project with keys, and drives
// GET /keys/{id} (random seeded keys), GET /keys (the first page) and
// PATCH /keys/{id} (a new name for a random key) with C concurrent
// keep-alive connections for D each, then prints per scenario the requests
// per second, the p50 and p99 latencies, the errors and the server's peak
// resident set size, beside a bare net/http handler answering a fixed
// small JSON object — the ceiling — measured in the same run, and checks
// the performance targets.
//
//	spotzee-load [-c 16] [-d 10s] [-keys 1000] [-max-requests 1000000]
//	             [-warmup 1s] [-slice 250ms] [-scenarios get,list,patch]
//	             [-bare=true] [-validate-responses] [-access-log]
//	             [-server-cpuprofile FILE] [-timeout 10m]
//	             [-profile rollout|current]
//	spotzee-load -compare all|VARIANT,... [-gen auto|wrk|go] [-c 16] [-d 4s]
//	             [-keys 1000] [-ogen-dir bench/ogenpeer] [-spec openapi.yaml]
//
// With -compare it instead compares variants serving GET and PATCH
// /keys/{keyId} — ref (the reference server, rate limits off), ref-limits
// (on, with budgets the load never reaches), ref-100k (rate limits off,
// 100,000 keys, for the growth target), embedded-noval, embedded and
// embedded-resp (examples/embedded without validation, with request
// validation, with response validation too), ogen (the peer in
// bench/ogenpeer, a module of its own, built with go build) and prism
// (npx @stoplight/prism-cli@5 mock) — all serving at once, in rounds of one
// slice per target (the bare handler included) in a rotating order, and
// prints each as a ratio to the bare handler and the issue #16 targets.
// -gen auto drives it with wrk when wrk is installed (and then reports the
// Go generator's ceiling against wrk's), else with the Go generator. A
// variant that cannot run (no npx, the peer does not build) is skipped with
// the reason.
//
// Each server runs in a child process — this program re-executed, with
// SPOTZEE_LOAD_CHILD set — so that the peak RSS it reports (VmHWM from
// /proc/<pid>/status) is the server's alone, not the load generator's, and
// so that the bare handler and the reference server run the same way. The
// reference server is refserver.Open on a SQLite file in a temporary
// directory, in the behaviour profile -profile names (rollout by default),
// per-key and per-IP edge rate limits off (all the load comes from one
// address), served by net/http on 127.0.0.1:0 with the
// timeouts of spotzee-keys serve; its access log is discarded unless
// -access-log formats it (to io.Discard). Its keys are seeded in one
// transaction (bench.SeedKeysFile). PATCH requests carry no
// Idempotency-Key.
//
// On a shared machine the background load changes from second to second,
// so each scenario alternates with the bare handler in slices of -slice
// (250ms): D of each, the order swapped every slice, and the ratio to the
// ceiling is taken over those same slices.
//
// All traffic stays on the loopback interface. Every scenario stops after
// D or -max-requests requests (requests in flight are awaited and counted),
// the whole run after -timeout, and the children when the parent closes
// their stdin or dies, or after their own lifetime.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode, os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// fail prints a fatal error and returns the exit code for it.
func fail(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "spotzee-load: "+format+"\n", args...)
	return 1
}
