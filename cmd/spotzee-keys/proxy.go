package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spotzeekit/spotzee-keys/proxy"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// runProxy runs the contract-checking reverse proxy until ctx ends, then
// writes the reports. It returns 0, 1 on failure (or on a violation with
// --fail-on-violation) and 2 on a usage error.
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	upstream := fs.String("upstream", "", "root URL of the API to check, e.g. https://apix.spotzee.com or http://127.0.0.1:8080 (required)")
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	profile := fs.String("profile", "faithful", `contract to validate against: "faithful" (openapi.yaml) or "reference" (with reference-profile.yaml)`)
	reportJSON := fs.String("report-json", "", "write the JSON report (violations, exchanges, coverage) to this file at exit")
	reportJUnit := fs.String("report-junit", "", "write a JUnit XML report (a testcase per operation × status) to this file at exit")
	failOnViolation := fs.Bool("fail-on-violation", false, "exit 1 when any violation was seen")
	logFormat := fs.String("log-format", "text", `log format: "text" or "json"`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	u, err := url.Parse(*upstream)
	if *upstream == "" || err != nil {
		fmt.Fprintln(stderr, "spotzee-keys proxy: --upstream URL is required")
		return 2
	}
	var v *validate.Validator
	switch *profile {
	case "faithful":
		v, err = validate.Default()
	case "reference":
		v, err = validate.Reference()
	default:
		fmt.Fprintf(stderr, "spotzee-keys proxy: --profile must be faithful or reference, not %q\n", *profile)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys proxy: %v\n", err)
		return 1
	}
	log := newLogger(stderr, *logFormat)
	p, err := proxy.New(proxy.Config{Upstream: u, Validator: v, Profile: *profile, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys proxy: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys proxy: %v\n", err)
		return 1
	}
	hs := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Proxying http://%s to %s, validating against the %s contract\n", ln.Addr(), u.Redacted(), *profile)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	code := 0
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "spotzee-keys proxy: %v\n", err)
		code = 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "spotzee-keys proxy: shutdown: %v\n", err)
		code = 1
	}
	rep := p.Report()
	if err := rep.WriteFiles(*reportJSON, *reportJUnit); err != nil {
		fmt.Fprintf(stderr, "spotzee-keys proxy: %v\n", err)
		code = 1
	}
	log.Info("proxy stopped", slog.Int("requests", rep.Requests), slog.Int("violations", len(rep.Violations)),
		slog.Int("covered", rep.Coverage.Covered), slog.Int("documented", rep.Coverage.Documented))
	if *failOnViolation && len(rep.Violations) > 0 {
		return 1
	}
	return code
}
