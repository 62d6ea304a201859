// Command spotzee-spec guards openapi.yaml: it lints it, reports breaking
// changes against a git ref, and compares it with Spotzee's published spec.
//
//	spotzee-spec lint [FILE]
//	spotzee-spec breaking --base REF [--spec FILE] [--changelog FILE]
//	spotzee-spec compare-upstream --spec FILE [--ours FILE]
//
// Exit status: 0 when the check passes, 1 when it has findings (lint
// findings, unacknowledged breaking changes, differences from upstream), 2 on
// a usage error or when a document cannot be read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"

	"github.com/spotzeekit/spotzee-keys/speccheck"
)

const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2

	defaultSpec      = "openapi.yaml"
	defaultChangelog = "CHANGELOG.md"
)

const usage = `usage: spotzee-spec <command> [flags]

commands:
  lint [FILE]                   kin-openapi validation and house rules (FILE: openapi.yaml)
  breaking --base REF [--spec FILE] [--changelog FILE]
                                breaking changes of FILE (openapi.yaml) against git REF;
                                fails on error-level changes unless info.version was bumped
                                and CHANGELOG (CHANGELOG.md) has an entry for the new version
  compare-upstream --spec FILE [--ours FILE]
                                differences between Spotzee's published spec FILE and ours
                                (openapi.yaml) on the operations ours covers

exit status: 0 pass, 1 findings, 2 usage or load error
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := newApp(os.Stdout, os.Stderr).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// app is the command with its outputs and its git access, replaceable in tests.
type app struct {
	stdout, stderr io.Writer
	readGitFile    func(ctx context.Context, ref, file string) ([]byte, error)
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr, readGitFile: speccheck.ReadGitFile}
}

// run executes the command line args (without the program name) and returns
// the exit status.
func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "lint":
		return a.lint(ctx, rest)
	case "breaking":
		return a.breaking(ctx, rest)
	case "compare-upstream":
		return a.compareUpstream(ctx, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(a.stderr, "spotzee-spec: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// parse parses the flags of a subcommand; ok is false (with the exit status
// in code) when the command line is wrong or help was asked for.
func (a *app) parse(flags *flag.FlagSet, args []string, maxArgs int) (code int, ok bool) {
	flags.SetOutput(a.stderr)
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if flags.NArg() > maxArgs {
		fmt.Fprintf(a.stderr, "spotzee-spec %s: unexpected arguments: %s\n", flags.Name(), strings.Join(flags.Args()[maxArgs:], " "))
		return exitUsage, false
	}
	return exitOK, true
}

func (a *app) fail(cmd string, err error) int {
	fmt.Fprintf(a.stderr, "spotzee-spec %s: %v\n", cmd, err)
	return exitUsage
}

func (a *app) lint(ctx context.Context, args []string) int {
	flags := flag.NewFlagSet("lint", flag.ContinueOnError)
	flags.Usage = func() { fmt.Fprintln(a.stderr, "usage: spotzee-spec lint [FILE]") }
	if code, ok := a.parse(flags, args, 1); !ok {
		return code
	}
	file := defaultSpec
	if flags.NArg() == 1 {
		file = flags.Arg(0)
	}
	doc, err := speccheck.LoadFile(ctx, file)
	if err != nil {
		return a.fail("lint", err)
	}
	findings := speccheck.Lint(ctx, doc)
	if len(findings) == 0 {
		fmt.Fprintf(a.stdout, "lint %s: ok, no findings\n", file)
		return exitOK
	}
	fmt.Fprintf(a.stdout, "lint %s: %d finding(s)\n", file, len(findings))
	for _, f := range findings {
		fmt.Fprintf(a.stdout, "  %s\n", f)
	}
	return exitFindings
}

func (a *app) breaking(ctx context.Context, args []string) int {
	flags := flag.NewFlagSet("breaking", flag.ContinueOnError)
	base := flags.String("base", "", "git ref to compare against, e.g. HEAD~1 (required)")
	spec := flags.String("spec", defaultSpec, "the spec in the working tree")
	changelog := flags.String("changelog", defaultChangelog, "the changelog that must name a bumped version")
	if code, ok := a.parse(flags, args, 0); !ok {
		return code
	}
	if *base == "" {
		fmt.Fprintln(a.stderr, "spotzee-spec breaking: --base REF is required")
		flags.Usage()
		return exitUsage
	}
	revision, err := os.ReadFile(*spec)
	if err != nil {
		return a.fail("breaking", err)
	}
	old, err := a.readGitFile(ctx, *base, *spec)
	switch {
	case errors.Is(err, speccheck.ErrNotInRef):
		old = nil
	case err != nil:
		return a.fail("breaking", err)
	}
	notes, err := os.ReadFile(*changelog)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return a.fail("breaking", err)
	}
	report, err := speccheck.CheckBreaking(ctx, old, revision, notes)
	if err != nil {
		return a.fail("breaking", err)
	}
	out := a.stdout
	if report.BaseMissing {
		fmt.Fprintf(out, "breaking: %s has no %s (first commit?): nothing to compare, passing\n", *base, *spec)
		return exitOK
	}
	fmt.Fprintf(out, "breaking: %s (%s) against %s (%s)\n", *spec, report.Version, *base, report.BaseVersion)
	for _, c := range report.Changes {
		fmt.Fprintf(out, "  %s\n", c)
	}
	errs := report.Errors()
	switch {
	case len(report.Changes) == 0:
		fmt.Fprintln(out, "no breaking changes")
		return exitOK
	case errs == 0:
		fmt.Fprintf(out, "%d warning(s), no error-level breaking changes\n", len(report.Changes))
		return exitOK
	case report.Acknowledged():
		fmt.Fprintf(out, "%d breaking change(s) accepted: info.version bumped %s -> %s and %s has an entry for %s\n",
			errs, report.BaseVersion, report.Version, *changelog, report.Version)
		return exitOK
	}
	fmt.Fprintf(out, "FAIL: %d breaking change(s).", errs)
	if !report.VersionBumped {
		fmt.Fprintf(out, " info.version was not bumped (still %s).", report.Version)
	}
	if !report.ChangelogEntry {
		fmt.Fprintf(out, " %s has no heading naming %s.", *changelog, report.Version)
	}
	fmt.Fprintf(out, "\nIf the break is deliberate, bump info.version in %s and add a \"## <new version>\" entry to %s.\n", *spec, *changelog)
	return exitFindings
}

func (a *app) compareUpstream(ctx context.Context, args []string) int {
	flags := flag.NewFlagSet("compare-upstream", flag.ContinueOnError)
	upstream := flags.String("spec", "", "Spotzee's published spec, e.g. a download of https://apix.spotzee.com/api/openapi.json (required)")
	ours := flags.String("ours", defaultSpec, "our spec")
	if code, ok := a.parse(flags, args, 0); !ok {
		return code
	}
	if *upstream == "" {
		fmt.Fprintln(a.stderr, "spotzee-spec compare-upstream: --spec FILE is required (download https://apix.spotzee.com/api/openapi.json)")
		flags.Usage()
		return exitUsage
	}
	doc, err := speccheck.LoadFile(ctx, *ours)
	if err != nil {
		return a.fail("compare-upstream", err)
	}
	data, err := os.ReadFile(*upstream)
	if err != nil {
		return a.fail("compare-upstream", err)
	}
	cmp, err := speccheck.CompareUpstream(ctx, doc, data)
	if err != nil {
		return a.fail("compare-upstream", err)
	}
	out := a.stdout
	fmt.Fprintf(out, "compare-upstream: %s (ours) with %s (upstream)\n", *ours, *upstream)
	if cmp.UpstreamPrefix != "" {
		fmt.Fprintf(out, "upstream paths carry the prefix %s\n", cmp.UpstreamPrefix)
	}
	if cmp.OursPrefix != "" {
		fmt.Fprintf(out, "our paths carry the prefix %s\n", cmp.OursPrefix)
	}
	fmt.Fprintf(out, "%d operation(s) matched; %d upstream operation(s) outside our coverage ignored\n", len(cmp.Matched), cmp.Ignored)
	if len(cmp.Differences) == 0 {
		fmt.Fprintln(out, "no differences")
		return exitOK
	}
	current := ""
	for _, d := range cmp.Differences {
		if d.Operation != current {
			current = d.Operation
			fmt.Fprintln(out, current)
		}
		fmt.Fprintf(out, "  %s\n", d)
	}
	fmt.Fprintf(out, "%d difference(s)\n", len(cmp.Differences))
	return exitFindings
}
