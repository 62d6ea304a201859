package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
)

const orgUsage = `usage: spotzee-keys org [flags] <subcommand> [flags]

The organisation behind an organisation key (ok_), and its keys.

subcommands:
  me      print the organisation and the calling key's role.
  keys    list, create, get, update or revoke organisation keys
          (run "spotzee-keys org keys -h").
` + adminFlagsUsage

const orgKeysUsage = `usage: spotzee-keys org keys [flags] <subcommand> [flags] [ID]

Manage the organisation's API keys (ok_) through the admin API.

subcommands:
  list    [--limit N] [--sort F] [--q TEXT] [--all]
          print the keys as a table: ID, NAME, ROLE, VALUE (masked), CREATED,
          DESCRIPTION. Without --all, one page (--limit keys, 25 by default;
          a note on stderr says when there are more); with --all, every key.
  create  --name N [--description D] [--role member|admin|owner] [--idempotency-key K]
          create a key (role admin when omitted, capped at the caller's) and
          print it with its full value. The value is shown this one time
          only: store it at once.
  get     ID
          print one key (value masked).
  update  ID [--name N] [--description D | --clear-description] [--role R]
          change only the fields given and print the key (value masked).
  revoke  ID
          revoke a key, immediately and for good.
` + adminFlagsUsage

// adminFlagsUsage describes the flags and environment of the admin
// commands ("org", "projects").
const adminFlagsUsage = `
flags (before or after the subcommand):
  --admin-url URL          admin API base URL (env ` + EnvAdminURL + `; default ` + client.DefaultAdminBaseURL + `)
  --org-api-key-file PATH  read the organisation key from PATH (default: env ` + EnvOrgAPIKey + `).
                           There is deliberately no flag taking the key itself:
                           it would end up in shell history and ps.
  --json                   print API objects as JSON instead of text (a list:
                           a JSON array; create: with the full value)
  --timeout D              give up after D, retries and pages included (default 30s; 0: no limit)

Exit status: 0 on success, 1 when the API call fails (one line on stderr:
status, code, message and request id), 2 on a usage error.
`

// orgCommands are the leaf commands of "spotzee-keys org".
var orgCommands = map[string]command[*client.Admin]{
	"me": {synopsis: "me", setup: orgMeFlags},
}

// orgKeysCommands are the subcommands of "spotzee-keys org keys".
var orgKeysCommands = map[string]command[*client.Admin]{
	"list":   orgKeysList.command(),
	"create": {synopsis: "create --name N [--description D] [--role member|admin|owner] [--idempotency-key K]", setup: orgKeysCreateFlags},
	"get":    {synopsis: "get ID", arg: "key ID", setup: orgKeysGetFlags},
	"update": {synopsis: "update ID [--name N] [--description D | --clear-description] [--role R]", arg: "key ID", setup: orgKeysUpdateFlags},
	"revoke": {synopsis: "revoke ID", arg: "key ID", setup: orgKeysRevokeFlags},
}

// runOrg runs "spotzee-keys org ..." and returns the exit code: 0 on
// success, 1 when the API call fails, 2 on a usage error.
func runOrg(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newAPICLI(stdout, stderr, "spotzee-keys org", orgUsage, adminConn)
	fs := flag.NewFlagSet(c.prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.globalFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, orgUsage)
			return 0
		}
		return c.fail(usageError{msg: err.Error()})
	}
	rest := fs.Args()
	switch {
	case len(rest) == 0:
		fmt.Fprint(stderr, orgUsage)
		return 2
	case rest[0] == "help":
		fmt.Fprint(stdout, orgUsage)
		return 0
	}
	if group, ok := orgGroups[rest[0]]; ok {
		c.prog, c.help = "spotzee-keys org "+rest[0], group.help
		return runGroup(ctx, c, rest[1:], group.commands, newAdminClient)
	}
	cmd, ok := orgCommands[rest[0]]
	if !ok {
		return c.fail(usagef("unknown subcommand %q (want me or keys)", rest[0]))
	}
	return runCommand(ctx, c, rest[0], cmd, rest[1:], newAdminClient)
}

// orgGroups are the command groups under "spotzee-keys org".
var orgGroups = map[string]struct {
	help     string
	commands map[string]command[*client.Admin]
}{
	"keys": {help: orgKeysUsage, commands: orgKeysCommands},
}

// orgMeFlags sets up "org me".
func orgMeFlags(*flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
	return func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
		return func(ctx context.Context, c *apiCLI, a *client.Admin) error {
			me, err := a.Organization(ctx)
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(me)
			}
			return printOrgMe(c.stdout, me)
		}, nil
	}
}

// orgKeysList is "org keys list": one page, or every page with --all, as a
// table or a JSON array.
var orgKeysList = listing[*client.Admin, *client.ListOrganizationAPIKeysParams, client.OrganizationAPIKeyList, client.OrganizationAPIKey]{
	nouns: "keys", noun: "key", every: "every one",
	all: (*client.Admin).AllKeys, list: (*client.Admin).ListKeys, table: printOrgKeyTable,
	page: func(l *client.OrganizationAPIKeyList) ([]client.OrganizationAPIKey, nullable.Nullable[string]) {
		return l.Results, l.NextCursor
	},
}

// parseOrgRole checks a --role value for an organisation key.
func parseOrgRole(s string) (client.OrganizationRole, error) {
	if v := client.OrganizationRole(s); v.Valid() {
		return v, nil
	}
	return "", usagef("--role %q: want member, admin or owner", s)
}

// orgKeysCreateFlags sets up "org keys create": it prints the new key with
// its full value and warns on stderr that the value is shown this once.
func orgKeysCreateFlags(fs *flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
	name := fs.String("name", "", "name of the key (required)")
	description := fs.String("description", "", "description of the key")
	role := fs.String("role", "admin", "organisation role: member, admin or owner (capped at the caller's)")
	idemKey := fs.String("idempotency-key", "", "Idempotency-Key (1 to 255 characters): rerunning with the same key and flags returns the same key, not a second one")
	return func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
		if !isSet(fs, "name") {
			return nil, usagef("--name is required")
		}
		n, err := parseName(*name)
		if err != nil {
			return nil, err
		}
		body := client.OrganizationAPIKeyCreate{Name: n}
		if isSet(fs, "description") {
			body.Description = nullable.NewNullableWithValue(*description)
		}
		if isSet(fs, "role") {
			r, err := parseOrgRole(*role)
			if err != nil {
				return nil, err
			}
			body.Role = new(r)
		}
		opts, err := idempotencyOption(fs, *idemKey)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, a *client.Admin) error {
			created, err := a.CreateKey(ctx, body, opts...)
			if err != nil {
				return err
			}
			if c.jsonOut {
				err = c.printJSON(created)
			} else {
				err = printOrgKeyDetails(c.stdout, client.OrganizationAPIKey(*created))
			}
			fmt.Fprintf(c.stderr, "spotzee-keys: WARNING: this is the only time the full value of organisation key %d is shown. "+
				"Store it now (in a secret manager); it cannot be retrieved again.\n", created.ID)
			return err
		}, nil
	}
}

// printOrgKey prints one organisation key as JSON or as text, per --json.
func (c *apiCLI) printOrgKey(k *client.OrganizationAPIKey) error {
	if c.jsonOut {
		return c.printJSON(k)
	}
	return printOrgKeyDetails(c.stdout, *k)
}

// orgKeysGetFlags sets up "org keys get ID".
func orgKeysGetFlags(*flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
	return func(pos []string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
		id, err := parseNamedID("key", pos[0])
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, a *client.Admin) error {
			k, err := a.GetKey(ctx, id)
			if err != nil {
				return err
			}
			return c.printOrgKey(k)
		}, nil
	}
}

// orgKeysUpdateFlags sets up "org keys update ID": only the flags given are
// sent.
func orgKeysUpdateFlags(fs *flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
	name := fs.String("name", "", "new name")
	description := fs.String("description", "", "new description")
	clearDescription := fs.Bool("clear-description", false, "remove the description")
	role := fs.String("role", "", "new organisation role: member, admin or owner")
	return func(pos []string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
		id, err := parseNamedID("key", pos[0])
		if err != nil {
			return nil, err
		}
		var body client.OrganizationAPIKeyUpdate
		changed := false
		if isSet(fs, "name") {
			n, err := parseName(*name)
			if err != nil {
				return nil, err
			}
			body.Name, changed = nullable.NewNullableWithValue(n), true
		}
		if d, set, err := descriptionChange(fs, *description, *clearDescription); err != nil {
			return nil, err
		} else if set {
			body.Description, changed = d, true
		}
		if isSet(fs, "role") {
			r, err := parseOrgRole(*role)
			if err != nil {
				return nil, err
			}
			body.Role, changed = new(r), true
		}
		if !changed {
			return nil, usagef("nothing to change: give --name, --description, --clear-description or --role")
		}
		return func(ctx context.Context, c *apiCLI, a *client.Admin) error {
			k, err := a.UpdateKey(ctx, id, body)
			if err != nil {
				return err
			}
			return c.printOrgKey(k)
		}, nil
	}
}

// orgKeysRevokeFlags sets up "org keys revoke ID".
func orgKeysRevokeFlags(*flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
	return func(pos []string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
		id, err := parseNamedID("key", pos[0])
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, a *client.Admin) error {
			rev, err := a.RevokeKey(ctx, id)
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(rev)
			}
			at := "-"
			if rev.RevokedAt != nil {
				at = timeText(*rev.RevokedAt)
			}
			_, err = fmt.Fprintf(c.stdout, "Revoked organisation key %d at %s.\n", id, at)
			if err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		}, nil
	}
}
