package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/validate"
)

// cliCommands names the `spotzee-keys keys` subcommand for each operation.
var cliCommands = map[string]string{
	"listProjectApiKeys":  "list",
	"createProjectApiKey": "create",
	"getProjectApiKey":    "get",
	"updateProjectApiKey": "update",
	"revokeProjectApiKey": "revoke",
}

// TestEveryOperationHasACommand walks the spec: an operation added to
// openapi.yaml fails here until the CLI has a command for it.
func TestEveryOperationHasACommand(t *testing.T) {
	t.Parallel()
	v, err := validate.Default()
	require.NoError(t, err)
	n := 0
	for _, item := range v.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			n++
			name, ok := cliCommands[op.OperationID]
			if !assert.True(t, ok, "operation %s has no CLI command (add one and list it in cliCommands)", op.OperationID) {
				continue
			}
			_, ok = subcommands[name]
			assert.True(t, ok, "keys %s (for %s) is not a subcommand", name, op.OperationID)
		}
	}
	assert.Equal(t, len(cliCommands), n, "cliCommands names exactly the spec's operations")
}
