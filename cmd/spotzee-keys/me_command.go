package main

import (
	"context"
	"flag"
	"io"

	"github.com/spotzeekit/spotzee-keys/client"
)

const meUsage = `usage: spotzee-keys me [flags]

Print the project the API key (sk_) belongs to, and that key's role.

flags:
  --base-url URL       API base URL (env ` + EnvBaseURL + `; default ` + client.DefaultBaseURL + `)
  --api-key-file PATH  read the API key from PATH (default: env ` + EnvAPIKey + `).
                       There is deliberately no flag taking the key itself.
  --json               print the project as JSON instead of text
  --timeout D          give up after D, retries included (default 30s; 0: no limit)

Exit status: 0 on success, 1 when the API call fails (one line on stderr:
status, code, message and request id), 2 on a usage error.
`

// meCommand is "spotzee-keys me", on the client surface with a project key.
var meCommand = command[*client.API]{setup: meFlags}

// runMe runs "spotzee-keys me" and returns the exit code: 0 on success, 1
// when the API call fails, 2 on a usage error.
func runMe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newAPICLI(stdout, stderr, "spotzee-keys me", meUsage, projectConn)
	return runCommand(ctx, c, "", meCommand, args, newProjectClient)
}

// meFlags sets up "me".
func meFlags(*flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.API) error, error) {
	return func([]string) (func(context.Context, *apiCLI, *client.API) error, error) {
		return func(ctx context.Context, c *apiCLI, api *client.API) error {
			p, err := api.CurrentProject(ctx)
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(p)
			}
			role := client.OrgProjectRole(p.Role)
			return printProjectDetails(c.stdout, client.OrgProject{
				ID: p.ID, OrganizationID: p.OrganizationID, Name: p.Name, Description: p.Description,
				Locale: p.Locale, Timezone: p.Timezone, WebsiteURL: p.WebsiteURL, DeeplinkMirrorURL: p.DeeplinkMirrorURL,
				LinkWrapEmail: p.LinkWrapEmail, LinkWrapPush: p.LinkWrapPush, TrackOpensEmail: p.TrackOpensEmail,
				TextHelpMessage: p.TextHelpMessage, TextOptOutMessage: p.TextOptOutMessage,
				Role: &role, HasProvider: &p.HasProvider, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
			})
		}, nil
	}
}
