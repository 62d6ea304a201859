package client_test

import (
	"reflect"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// typedMethods names the hand-written method of client.API for each
// operation of the spec.
var typedMethods = map[string]string{
	"listProjectApiKeys":  "ListKeys",
	"createProjectApiKey": "CreateKey",
	"getProjectApiKey":    "GetKey",
	"updateProjectApiKey": "UpdateKey",
	"revokeProjectApiKey": "RevokeKey",
}

// TestEveryOperationHasATypedMethod walks the spec: an operation added to
// openapi.yaml fails here until client.API has a method for it, and every
// method takes CallOptions (so WithResponse reaches its metadata).
func TestEveryOperationHasATypedMethod(t *testing.T) {
	t.Parallel()
	v, err := validate.Default()
	require.NoError(t, err)
	api := reflect.TypeOf(&client.API{})
	callOption := reflect.TypeOf(client.CallOption(nil))
	var ops []string
	for _, item := range v.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			ops = append(ops, op.OperationID)
		}
	}
	sort.Strings(ops)
	require.NotEmpty(t, ops)
	for _, id := range ops {
		name, ok := typedMethods[id]
		if !assert.True(t, ok, "operation %s has no typed client method (add it to client.API and typedMethods)", id) {
			continue
		}
		m, ok := api.MethodByName(name)
		if !assert.True(t, ok, "client.API.%s (for %s) does not exist", name, id) {
			continue
		}
		last := m.Type.In(m.Type.NumIn() - 1)
		assert.True(t, m.Type.IsVariadic() && last.Elem() == callOption, "%s takes ...CallOption", name)
	}
}
