package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/spotzeekit/spotzee-keys/refserver"
)

// TestMain lets the test binary serve as its own child process, as the
// command does: run re-executes os.Executable(), which is this binary here.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestRunSmall runs the whole command briefly — both children, every
// scenario — and checks that it reports every scenario without errors. It
// checks no timing: targets are for real runs.
func TestRunSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"-c", "2", "-d", "200ms", "-warmup", "50ms", "-keys", "20", "-max-requests", "200"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &out, &errb)
	}
	for _, want := range []string{"bare req/s", "GET /keys/{id}", "GET /keys", "PATCH /keys/{id}",
		"20 keys seeded", "zero errors: 0 MET", "server peak RSS < 100 MB", "req/s ≥ 0.50x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "error in") {
		t.Errorf("requests failed:\n%s", &out)
	}
	if errb.Len() > 0 {
		t.Logf("stderr:\n%s", &errb)
	}
}

// TestMaxRequestsBound checks that -max-requests bounds a scenario however
// long -d is.
func TestMaxRequestsBound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"-c", "2", "-d", "1h", "-warmup", "0s", "-keys", "5", "-max-requests", "40",
		"-scenarios", "get", "-bare=false"}, &out, io.Discard)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, &out)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v with -max-requests 40", d)
	}
	if !strings.Contains(out.String(), "reference server (profile rollout)") {
		t.Errorf("the server's profile is not reported:\n%s", &out)
	}
	if !regexp.MustCompile(`GET /keys/\{id\}\s+40\s`).MatchString(out.String()) {
		t.Errorf("want exactly 40 requests:\n%s", &out)
	}
}

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-c", "0"},
		{"-d", "0s"},
		{"-keys", "0"},
		{"-scenarios", "get,nope"},
		{"-max-requests", "1", "-c", "4"},
		{"-scenarios", "", "-bare=false"},
		{"extra"},
		{"-profile", "today"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.conns != 16 || cfg.duration != 10*time.Second || cfg.keys != 1000 || len(cfg.scenarios) != 3 || !cfg.bare ||
		cfg.behaviour != refserver.ProfileRollout {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg, err := parseFlags([]string{"-profile", "current"}, io.Discard); err != nil || cfg.behaviour != refserver.ProfileCurrent {
		t.Errorf("-profile current: %+v, %v", cfg, err)
	}
}

// TestRunProfileCurrent: -profile reaches the server child, which reports
// it, and the scenarios run without errors in that profile.
func TestRunProfileCurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	code := run(ctx, []string{"-c", "2", "-d", "100ms", "-warmup", "0s", "-keys", "5", "-max-requests", "20",
		"-scenarios", "get,patch", "-bare=false", "-profile", "current"}, &out, io.Discard)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, &out)
	}
	for _, want := range []string{"profile current, per-key and edge rate limits off", "reference server (profile current)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "error in") {
		t.Errorf("requests failed:\n%s", &out)
	}
}

// TestCompareSmall runs -compare end to end on the embedding stacks with
// the Go generator, briefly: every variant answers 200, and the table and
// targets print. The ogen peer and Prism are left to make load.
func TestCompareSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"-compare", "embedded-noval,embedded,embedded-resp", "-gen", "go", "-c", "2", "-d", "100ms",
		"-slice", "50ms", "-keys", "5", "-max-requests", "200"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &out, &errb)
	}
	for _, want := range []string{"embedding stack + request validation", "embedding stack + request and response validation",
		"targets", "embedding + request validation / ogen, GET: not measured"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "skipped") {
		t.Errorf("a variant was skipped:\n%s", &out)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "embedding stack") && !strings.HasSuffix(strings.TrimSpace(line), " 0") {
			t.Errorf("errors: %s", line)
		}
	}
}

// TestCompareFlags checks the flags of -compare.
func TestCompareFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-compare", "all"}, io.Discard)
	if err != nil || len(cfg.variants) != len(compareVariants) || cfg.gen != "auto" {
		t.Errorf("-compare all: %+v, %v", cfg.variants, err)
	}
	if _, err := parseFlags([]string{"-compare", "nope"}, io.Discard); err == nil {
		t.Error("-compare nope: no error")
	}
	if _, err := parseFlags([]string{"-gen", "ab"}, io.Discard); err == nil {
		t.Error("-gen ab: no error")
	}
}

// TestPrintCompareGrowth checks the growth target's lines: ref-100k's
// ratio to the bare handler over ref's, against 1/1.5, per operation, and
// "not measured" without ref-100k.
func TestPrintCompareGrowth(t *testing.T) {
	t.Parallel()
	rows := []measured{
		{variant: "ref", op: "GET", rps: 50, bareRPS: 100},
		{variant: "ref", op: "PATCH", rps: 16, bareRPS: 100},
		{variant: "ref-100k", op: "GET", rps: 40, bareRPS: 100},
		{variant: "ref-100k", op: "PATCH", rps: 10, bareRPS: 100},
	}
	var out bytes.Buffer
	printCompare(&out, rows, 1000)
	assert.Contains(t, out.String(), "reference server, 100,000 keys")
	assert.Contains(t, out.String(), "100000 keys / 1000 keys, GET (within 1.5x: ≥ 0.67): 0.80 (want ≥ 0.67) MET")
	assert.Contains(t, out.String(), "100000 keys / 1000 keys, PATCH (within 1.5x: ≥ 0.67): 0.62 (want ≥ 0.67) MISSED")

	out.Reset()
	printCompare(&out, rows[:2], 1000)
	assert.Contains(t, out.String(), "100000 keys / 1000 keys, GET (within 1.5x: ≥ 0.67): not measured")
}
