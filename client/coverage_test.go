package client_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// typedMethods names the hand-written method for each operation of the
// spec: on client.API (client surface) or client.Admin (admin surface).
var typedMethods = map[string]string{
	"listProjectApiKeys":       "API.ListKeys",
	"createProjectApiKey":      "API.CreateKey",
	"getProjectApiKey":         "API.GetKey",
	"updateProjectApiKey":      "API.UpdateKey",
	"revokeProjectApiKey":      "API.RevokeKey",
	"getCurrentProject":        "API.CurrentProject",
	"getCurrentOrganization":   "Admin.Organization",
	"listOrganizationApiKeys":  "Admin.ListKeys",
	"createOrganizationApiKey": "Admin.CreateKey",
	"getOrganizationApiKey":    "Admin.GetKey",
	"updateOrganizationApiKey": "Admin.UpdateKey",
	"revokeOrganizationApiKey": "Admin.RevokeKey",
	"listProjects":             "Admin.ListProjects",
	"createProject":            "Admin.CreateProject",
	"updateProject":            "Admin.UpdateProject",
}

// TestEveryOperationHasATypedMethod walks the spec: an operation added to
// openapi.yaml fails here until client.API or client.Admin has a method for
// it, and every
// method takes CallOptions (so WithResponse reaches its metadata).
func TestEveryOperationHasATypedMethod(t *testing.T) {
	t.Parallel()
	v, err := validate.Default()
	require.NoError(t, err)
	receivers := map[string]reflect.Type{"API": reflect.TypeOf(&client.API{}), "Admin": reflect.TypeOf(&client.Admin{})}
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
		recv, method, _ := strings.Cut(name, ".")
		m, ok := receivers[recv].MethodByName(method)
		if !assert.True(t, ok, "client.%s (for %s) does not exist", name, id) {
			continue
		}
		last := m.Type.In(m.Type.NumIn() - 1)
		assert.True(t, m.Type.IsVariadic() && last.Elem() == callOption, "%s takes ...CallOption", name)
	}
}
