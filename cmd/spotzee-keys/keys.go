package main

import (
	"context"
	"io"

	"github.com/spotzeekit/spotzee-keys/client"
)

// keysUsage is the help of "spotzee-keys keys".
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

// keysSubcommandList names the subcommands of "keys", in the order of its
// usage text, for the unknown-subcommand message.
const keysSubcommandList = "list, create, get, update or revoke"

// subcommands are the subcommands of "spotzee-keys keys", on the client
// surface with a project key.
var subcommands = map[string]command[*client.API]{
	"list":   keysList.command(),
	"create": {synopsis: "create --name N [--description D] [--scope public|secret] [--role R] [--idempotency-key K]", setup: keysCreateFlags},
	"get":    {synopsis: "get ID", arg: "key ID", setup: keysGetFlags},
	"update": {synopsis: "update ID [--name N] [--description D | --clear-description] [--scope S] [--role R]", arg: "key ID", setup: keysUpdateFlags},
	"revoke": {synopsis: "revoke ID", arg: "key ID", setup: keysRevokeFlags},
}

// runKeys runs "spotzee-keys keys ..." and returns the exit code: 0 on
// success, 1 when the API call fails, 2 on a usage error.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newAPICLI(stdout, stderr, "spotzee-keys keys", keysUsage, projectConn)
	c.subcommandList = keysSubcommandList
	return runGroup(ctx, c, args, subcommands, newProjectClient)
}
