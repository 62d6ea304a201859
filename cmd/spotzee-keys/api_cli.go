package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spotzeekit/spotzee-keys/client"
)

// Environment variables read by the API commands: "keys" and "me" on the
// client surface, "org" and "projects" on the admin surface.
const (
	// EnvAPIKey holds the project key "keys" and "me" authenticate with.
	EnvAPIKey = "SPOTZEE_API_KEY"
	// EnvBaseURL holds the API base URL (default client.DefaultBaseURL).
	EnvBaseURL = "SPOTZEE_BASE_URL"
	// EnvOrgAPIKey holds the organisation key (ok_) the admin commands
	// authenticate with.
	EnvOrgAPIKey = "SPOTZEE_ORG_API_KEY"
	// EnvAdminURL holds the admin API base URL (default
	// client.DefaultAdminBaseURL).
	EnvAdminURL = "SPOTZEE_ADMIN_URL"
)

// defaultTimeout bounds a whole command, retries and pages included.
const defaultTimeout = 30 * time.Second

// connSpec says where a command group takes its base URL and its key from.
type connSpec struct {
	urlFlag, urlEnv, defaultURL string
	keyFileFlag, keyEnv         string
	// keyName names the key in messages ("organisation key", "API key").
	keyName string
}

// adminConn is the admin surface's: the organisation key.
var adminConn = connSpec{
	urlFlag: "admin-url", urlEnv: EnvAdminURL, defaultURL: client.DefaultAdminBaseURL,
	keyFileFlag: "org-api-key-file", keyEnv: EnvOrgAPIKey, keyName: "organisation key",
}

// projectConn is the client surface's: a project key, as "keys" takes it.
var projectConn = connSpec{
	urlFlag: "base-url", urlEnv: EnvBaseURL, defaultURL: client.DefaultBaseURL,
	keyFileFlag: "api-key-file", keyEnv: EnvAPIKey, keyName: "API key",
}

// apiCLI is one invocation of "keys", "org", "projects" or "me": where it
// sends its requests, with which key, and where its output goes.
type apiCLI struct {
	stdout, stderr io.Writer
	// prog is the command line so far ("spotzee-keys org keys"); help is
	// its usage text.
	prog, help string
	conn       connSpec
	// subcommandList names the subcommands in the unknown-subcommand
	// message ("list, create, get, update or revoke"); "" lists them
	// sorted, comma-separated.
	subcommandList string

	baseURL string
	keyFile string
	jsonOut bool
	timeout time.Duration

	// key is the key once loaded, kept only to scrub it from any output.
	key string
}

// newAPICLI returns an apiCLI with the base URL from conn's environment
// variable (or its default) and the default timeout.
func newAPICLI(stdout, stderr io.Writer, prog, help string, conn connSpec) *apiCLI {
	c := &apiCLI{stdout: stdout, stderr: stderr, prog: prog, help: help, conn: conn,
		baseURL: os.Getenv(conn.urlEnv), timeout: defaultTimeout}
	if c.baseURL == "" {
		c.baseURL = conn.defaultURL
	}
	return c
}

// globalFlags registers the flags accepted anywhere on the command line,
// each defaulting to its current value.
func (c *apiCLI) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.baseURL, c.conn.urlFlag, c.baseURL, "API base URL (env "+c.conn.urlEnv+")")
	fs.StringVar(&c.keyFile, c.conn.keyFileFlag, c.keyFile, "read the "+c.conn.keyName+" from this file (default: env "+c.conn.keyEnv+")")
	fs.BoolVar(&c.jsonOut, "json", c.jsonOut, "print API objects as JSON")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "give up after this long, retries and pages included (0: no limit)")
}

// command is one leaf command ("org keys list", "me") calling the API
// through a client of type C.
type command[C any] struct {
	synopsis string
	// arg names the one positional argument ("key ID"); "" for none.
	arg string
	// setup registers the command's flags on fs and returns prepare, which
	// checks the parsed flags and arguments (a usageError when wrong) and
	// returns the call to make: a usage error never needs a key or a request.
	setup func(fs *flag.FlagSet) func(pos []string) (func(ctx context.Context, c *apiCLI, api C) error, error)
}

// runGroup parses the global flags of args, then runs the subcommand they
// name from subs. It returns the exit code: 0, 1 on failure, 2 on a usage
// error.
func runGroup[C any](ctx context.Context, c *apiCLI, args []string, subs map[string]command[C], newClient func(*apiCLI) (C, error)) int {
	fs := flag.NewFlagSet(c.prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.globalFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, c.help)
			return 0
		}
		return c.fail(usageError{msg: err.Error()})
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(c.stderr, c.help)
		return 2
	}
	if rest[0] == "help" {
		fmt.Fprint(c.stdout, c.help)
		return 0
	}
	cmd, ok := subs[rest[0]]
	if !ok {
		want := c.subcommandList
		if want == "" {
			want = commandNames(subs)
		}
		return c.fail(usagef("unknown subcommand %q (want %s)", rest[0], want))
	}
	return runCommand(ctx, c, rest[0], cmd, rest[1:], newClient)
}

// commandNames lists the keys of subs, sorted, for messages.
func commandNames[V any](subs map[string]V) string {
	out := make([]string, 0, len(subs))
	for k := range subs {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// runCommand parses one command's flags and arguments, builds the client
// and runs it; name is "" for a group of one command ("me").
func runCommand[C any](ctx context.Context, c *apiCLI, name string, cmd command[C], args []string, newClient func(*apiCLI) (C, error)) int {
	prog := strings.TrimSpace(c.prog + " " + name)
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.globalFlags(fs)
	prepare := cmd.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.printCommandUsage(c.stdout, fs, cmd.synopsis)
		return 0
	}
	fail := func(msg string) int {
		fmt.Fprintf(c.stderr, "%s: %s\n\n", prog, c.scrub(msg))
		c.printCommandUsage(c.stderr, fs, cmd.synopsis)
		return 2
	}
	if err != nil {
		return fail(err.Error())
	}
	switch {
	case cmd.arg == "" && len(pos) > 0:
		return fail(fmt.Sprintf("unexpected argument %q", pos[0]))
	case cmd.arg != "" && len(pos) != 1:
		return fail(fmt.Sprintf("want exactly one %s, got %d arguments", cmd.arg, len(pos)))
	}
	if c.timeout < 0 {
		return fail("--timeout must not be negative")
	}
	if u, err := url.Parse(c.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail(fmt.Sprintf("base URL %q (--%s or %s) is not an absolute http or https URL", c.baseURL, c.conn.urlFlag, c.conn.urlEnv))
	}
	call, err := prepare(pos)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return fail(ue.msg)
		}
		return c.fail(err)
	}
	if err := c.loadKey(); err != nil {
		return c.fail(err)
	}
	api, err := newClient(c)
	if err != nil {
		return c.fail(err)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	if err := call(ctx, c, api); err != nil {
		return c.fail(err)
	}
	return 0
}

// parseInterspersed parses fs from args, allowing positional arguments
// between flags ("update 12 --name x" and "update --name x 12"), and returns
// the positional arguments. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printCommandUsage prints a command's synopsis and flags to w; for a
// group of one command (empty synopsis), its whole usage text.
func (c *apiCLI) printCommandUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	if synopsis == "" {
		fmt.Fprint(w, c.help)
		return
	}
	fmt.Fprintf(w, "usage: %s\n\nflags:\n", strings.TrimSpace(c.prog+" "+synopsis))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nRun \"%s -h\" for every subcommand and the environment.\n", c.prog)
}

// clientOptions are the options every command's client gets.
func (c *apiCLI) clientOptions() []client.Option {
	opts := []client.Option{client.WithClientType("cli")}
	if c.timeout > 0 {
		opts = append(opts, client.WithTimeout(c.timeout))
	}
	return opts
}

// newAdminClient builds the admin client from c's base URL and key; its
// errors never contain the key.
func newAdminClient(c *apiCLI) (*client.Admin, error) {
	return client.NewAdmin(c.baseURL, c.key, c.clientOptions()...)
}

// newProjectClient builds the project-key client from c's base URL and key;
// its errors never contain the key.
func newProjectClient(c *apiCLI) (*client.API, error) {
	return client.New(c.baseURL, c.key, c.clientOptions()...)
}

// loadKey reads the key from the key-file flag, else from the environment,
// trimming white space. No key at all or an empty file is a
// usageError; an unreadable file a wrapped read error.
func (c *apiCLI) loadKey() error {
	if c.keyFile != "" {
		data, err := os.ReadFile(c.keyFile)
		if err != nil {
			return fmt.Errorf("read %s file: %w", c.conn.keyName, err)
		}
		if c.key = strings.TrimSpace(string(data)); c.key == "" {
			return usagef("%s file %s is empty", c.conn.keyName, c.keyFile)
		}
		return nil
	}
	if c.key = strings.TrimSpace(os.Getenv(c.conn.keyEnv)); c.key != "" {
		return nil
	}
	return usagef("no %s: set %s or pass --%s PATH", c.conn.keyName, c.conn.keyEnv, c.conn.keyFileFlag)
}

// printJSON writes v to stdout as indented JSON; it returns a wrapped write
// error on failure.
func (c *apiCLI) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
