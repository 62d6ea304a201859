package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/validate"
)

// cliCommands names the spotzee-keys command line (without the binary's
// name) that calls each operation of the spec.
var cliCommands = map[string]string{
	"listProjectApiKeys":       "keys list",
	"createProjectApiKey":      "keys create",
	"getProjectApiKey":         "keys get",
	"updateProjectApiKey":      "keys update",
	"revokeProjectApiKey":      "keys revoke",
	"getCurrentProject":        "me",
	"getCurrentOrganization":   "org me",
	"listOrganizationApiKeys":  "org keys list",
	"createOrganizationApiKey": "org keys create",
	"getOrganizationApiKey":    "org keys get",
	"updateOrganizationApiKey": "org keys update",
	"revokeOrganizationApiKey": "org keys revoke",
	"listProjects":             "projects list",
	"createProject":            "projects create",
	"updateProject":            "projects update",
}

// commandExists reports whether the command line path ("org keys list")
// is in the dispatch tables run uses.
func commandExists(path string) bool {
	f := strings.Fields(path)
	var ok bool
	switch {
	case len(f) == 1 && f[0] == "me":
		ok = meCommand.setup != nil
	case len(f) == 2 && f[0] == "keys":
		_, ok = subcommands[f[1]]
	case len(f) == 2 && f[0] == "org":
		_, ok = orgCommands[f[1]]
	case len(f) == 3 && f[0] == "org":
		if group, found := orgGroups[f[1]]; found {
			_, ok = group.commands[f[2]]
		}
	case len(f) == 2 && f[0] == "projects":
		_, ok = projectsCommands[f[1]]
	}
	return ok
}

// TestEveryOperationHasACommand walks the spec: an operation added to
// openapi.yaml fails here until the CLI has a command for it, found in the
// dispatch tables and reachable through run (its -h answers with its
// usage).
func TestEveryOperationHasACommand(t *testing.T) {
	t.Parallel()
	v, err := validate.Default()
	require.NoError(t, err)
	n := 0
	seen := map[string]string{}
	for _, item := range v.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			n++
			path, ok := cliCommands[op.OperationID]
			if !assert.True(t, ok, "operation %s has no CLI command (add one and list it in cliCommands)", op.OperationID) {
				continue
			}
			if other, dup := seen[path]; dup {
				t.Errorf("%q is named for both %s and %s", path, other, op.OperationID)
			}
			seen[path] = op.OperationID
			assert.True(t, commandExists(path), "%q (for %s) is not in the dispatch tables", path, op.OperationID)

			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append(strings.Fields(path), "-h"), &stdout, &stderr)
			assert.Equal(t, 0, code, "%s -h: %s", path, stderr.String())
			assert.Contains(t, stdout.String(), "usage: spotzee-keys "+path, "%s -h", path)
		}
	}
	assert.Equal(t, len(cliCommands), n, "cliCommands names exactly the spec's operations")
}

func TestCommandExists(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", "keys", "keys frob", "org", "org keys", "org frob", "org keys frob", "projects get", "me me", "serve"} {
		assert.False(t, commandExists(path), path)
	}
}
