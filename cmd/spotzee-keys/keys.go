package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spotzeekit/spotzee-keys/client"
)

// Environment variables read by "spotzee-keys keys".
const (
	// EnvAPIKey holds the API key the keys commands authenticate with.
	EnvAPIKey = "SPOTZEE_API_KEY"
	// EnvBaseURL holds the API base URL (default client.DefaultBaseURL).
	EnvBaseURL = "SPOTZEE_BASE_URL"
)

// defaultKeysTimeout bounds a whole keys command, retries and pages included.
const defaultKeysTimeout = 30 * time.Second

const keysUsage = `usage: spotzee-keys keys [flags] <subcommand> [flags] [ID]

Manage the API keys of a Spotzee project through the API.

subcommands:
  list    [--limit N] [--sort F] [--q TEXT] [--all]
          print the keys as a table: ID, NAME, SCOPE, ROLE, VALUE (masked),
          CREATED, DESCRIPTION. Without --all, one page (--limit keys, 25 by
          default; a note on stderr says when there are more); with --all,
          every key, page after page. --sort takes id, name, created_at or
          updated_at, "-" first for descending (default: newest first);
          names sort case-insensitively.
  create  --name N [--description D] [--scope public|secret] [--role R] [--idempotency-key K]
          create a key (defaults: scope secret, role support) and print it
          with its full value. The value is shown this one time only: store
          it at once. Reusing --idempotency-key K with the same flags returns
          the same key instead of a second one.
  get     ID
          print one key (value masked).
  update  ID [--name N] [--description D | --clear-description] [--scope S] [--role R]
          change only the fields given and print the key (value masked).
  revoke  ID
          revoke a key, immediately and for good.

Roles: support, smtpproxy, editor, publisher, admin. Managing keys needs a
secret (sk_) key with the admin role.

flags (before or after the subcommand):
  --base-url URL       API base URL (env ` + EnvBaseURL + `; default ` + client.DefaultBaseURL + `)
  --api-key-file PATH  read the API key from PATH (default: env ` + EnvAPIKey + `).
                       There is deliberately no flag taking the key itself:
                       it would end up in shell history and ps.
  --json               print API objects as JSON instead of text: create, get
                       and update print the key object (create: with its full
                       value), revoke the revocation object, list a JSON array
                       of keys (the one page, or every key with --all)
  --timeout D          give up after D, retries and pages included (default 30s; 0: no limit)

Exit status: 0 on success, 1 when the API call fails (one line on stderr:
status, code, message and request id), 2 on a usage error.
`

// usageError is a command line that cannot be run; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// keysCLI is one "spotzee-keys keys" invocation: its global settings and
// outputs.
type keysCLI struct {
	stdout, stderr io.Writer

	baseURL    string
	apiKeyFile string
	jsonOut    bool
	timeout    time.Duration

	// apiKey is the key once loaded, kept only to scrub it from any output.
	apiKey string
}

// globalFlags registers the flags accepted before and after the subcommand.
// Each takes the current value as its default, so registering them on a
// subcommand's flag set keeps what the global flags set.
func (c *keysCLI) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.baseURL, "base-url", c.baseURL, "API base URL (env "+EnvBaseURL+")")
	fs.StringVar(&c.apiKeyFile, "api-key-file", c.apiKeyFile, "read the API key from this file (default: env "+EnvAPIKey+")")
	fs.BoolVar(&c.jsonOut, "json", c.jsonOut, "print API objects as JSON")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "give up after this long, retries and pages included (0: no limit)")
}

// subcommand is one of list, create, get, update and revoke.
type subcommand struct {
	synopsis string
	// nargs is the number of positional arguments (0, or 1 for an ID).
	nargs int
	// setup registers the subcommand's own flags on fs and returns prepare,
	// which, once fs is parsed, checks the flags and the positional
	// arguments (a usageError when they are wrong) and returns the call to
	// make. So a usage error never needs an API key or the network.
	setup func(fs *flag.FlagSet) (prepare func(pos []string) (action, error))
}

// action is a checked subcommand, ready to call the API.
type action func(ctx context.Context, c *keysCLI, api *client.API) error

var subcommands = map[string]subcommand{
	"list":   {synopsis: "list [--limit N] [--sort F] [--q TEXT] [--all]", setup: listFlags},
	"create": {synopsis: "create --name N [--description D] [--scope public|secret] [--role R] [--idempotency-key K]", setup: createFlags},
	"get":    {synopsis: "get ID", nargs: 1, setup: getFlags},
	"update": {synopsis: "update ID [--name N] [--description D | --clear-description] [--scope S] [--role R]", nargs: 1, setup: updateFlags},
	"revoke": {synopsis: "revoke ID", nargs: 1, setup: revokeFlags},
}

// runKeys runs "spotzee-keys keys ..." and returns the exit code: 0 on
// success, 1 when the API call fails, 2 on a usage error.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &keysCLI{
		stdout:  stdout,
		stderr:  stderr,
		baseURL: os.Getenv(EnvBaseURL),
		timeout: defaultKeysTimeout,
	}
	if c.baseURL == "" {
		c.baseURL = client.DefaultBaseURL
	}
	fs := flag.NewFlagSet("spotzee-keys keys", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.globalFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, keysUsage)
			return 0
		}
		return c.fail(usageError{msg: err.Error()})
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	if rest[0] == "help" {
		fmt.Fprint(stdout, keysUsage)
		return 0
	}
	sub, ok := subcommands[rest[0]]
	if !ok {
		return c.fail(usagef("unknown subcommand %q (want list, create, get, update or revoke)", rest[0]))
	}
	return c.runSub(ctx, rest[0], sub, rest[1:])
}

// runSub parses a subcommand's flags and arguments, builds the client and
// runs it.
func (c *keysCLI) runSub(ctx context.Context, name string, sub subcommand, args []string) int {
	fs := flag.NewFlagSet("spotzee-keys keys "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.globalFlags(fs)
	prepare := sub.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printSubUsage(c.stdout, fs, sub.synopsis)
		return 0
	}
	if err != nil {
		return c.failSub(fs, sub, name+": "+err.Error())
	}
	if len(pos) != sub.nargs {
		if sub.nargs == 0 {
			return c.failSub(fs, sub, fmt.Sprintf("%s: unexpected argument %q", name, pos[0]))
		}
		return c.failSub(fs, sub, fmt.Sprintf("%s: want exactly one key ID, got %d arguments", name, len(pos)))
	}
	if c.timeout < 0 {
		return c.failSub(fs, sub, name+": --timeout must not be negative")
	}
	if u, err := url.Parse(c.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.failSub(fs, sub, fmt.Sprintf("%s: base URL %q (--base-url or %s) is not an absolute http or https URL", name, c.baseURL, EnvBaseURL))
	}
	call, err := prepare(pos)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return c.failSub(fs, sub, name+": "+ue.msg)
		}
		return c.fail(err)
	}
	api, err := c.newAPI()
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

// printSubUsage prints a subcommand's synopsis and flags to w.
func printSubUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "usage: spotzee-keys keys %s\n\nflags:\n", synopsis)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nRun \"spotzee-keys keys -h\" for every subcommand and the environment.\n")
}

// newAPI loads the API key and builds the client.
func (c *keysCLI) newAPI() (*client.API, error) {
	key, err := c.loadAPIKey()
	if err != nil {
		return nil, err
	}
	c.apiKey = key
	opts := []client.Option{client.WithClientType("cli")}
	if c.timeout > 0 {
		opts = append(opts, client.WithTimeout(c.timeout))
	}
	// client.New's errors say what failed ("spotzee: new client: ...") and
	// never contain the key.
	return client.New(c.baseURL, key, opts...)
}

// loadAPIKey reads the key from --api-key-file, else from SPOTZEE_API_KEY,
// trimming surrounding white space. No key at all is a usage error.
func (c *keysCLI) loadAPIKey() (string, error) {
	if c.apiKeyFile != "" {
		data, err := os.ReadFile(c.apiKeyFile)
		if err != nil {
			return "", fmt.Errorf("read API key file: %w", err)
		}
		key := strings.TrimSpace(string(data))
		if key == "" {
			return "", usagef("API key file %s is empty", c.apiKeyFile)
		}
		return key, nil
	}
	if key := strings.TrimSpace(os.Getenv(EnvAPIKey)); key != "" {
		return key, nil
	}
	return "", usagef("no API key: set %s or pass --api-key-file PATH", EnvAPIKey)
}

// fail reports err on stderr and returns its exit code: 2 and a pointer to
// the help for a usage error, otherwise 1 and exactly one line.
func (c *keysCLI) fail(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "spotzee-keys keys: %s\n", c.scrub(ue.msg))
		fmt.Fprintln(c.stderr, `Run "spotzee-keys keys -h" for usage.`)
		return 2
	}
	fmt.Fprintf(c.stderr, "spotzee-keys: %s\n", c.scrub(describeError(err)))
	return 1
}

// failSub reports a usage error of a subcommand with its usage.
func (c *keysCLI) failSub(fs *flag.FlagSet, sub subcommand, msg string) int {
	fmt.Fprintf(c.stderr, "spotzee-keys keys %s\n\n", c.scrub(msg))
	printSubUsage(c.stderr, fs, sub.synopsis)
	return 2
}

// scrub makes s one line of printable text without the API key.
func (c *keysCLI) scrub(s string) string {
	if c.apiKey != "" {
		s = strings.ReplaceAll(s, c.apiKey, "[REDACTED]")
	}
	return oneLine(s)
}

// describeError renders err for the one error line: for an *APIError the
// status, code, message, per-field failures, Retry-After and request id, as
// in "404 resource_missing: No API key with id 99 in this project.
// (request_id req_…)"; otherwise the error text.
func describeError(err error) string {
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(apiErr.StatusCode))
	if apiErr.Code != "" {
		b.WriteString(" " + string(apiErr.Code))
	}
	if msg := oneLine(apiErr.Message); msg != "" {
		b.WriteString(": " + msg)
	}
	if len(apiErr.Errors) > 1 {
		fields := make([]string, 0, len(apiErr.Errors))
		for _, f := range apiErr.Errors {
			fields = append(fields, f.Param+": "+f.Message)
		}
		b.WriteString(" [" + strings.Join(fields, "; ") + "]")
	}
	if apiErr.RetryAfter > 0 {
		b.WriteString(" (retry after " + apiErr.RetryAfter.String() + ")")
	}
	if apiErr.RequestID != "" {
		b.WriteString(" (request_id " + apiErr.RequestID + ")")
	}
	return b.String()
}

// oneLine replaces control characters (newlines, escapes) with spaces and
// collapses runs of white space, so server-sent text can neither break the
// one-line error format nor drive the terminal.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
