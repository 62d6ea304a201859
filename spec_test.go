package spotzee_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// genDecls returns, for a generated file, its type names, the fields of its
// struct types and the methods of each receiver type.
func genDecls(t *testing.T, path string) (types map[string]bool, fields, methods map[string]map[string]bool) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	types, fields, methods = map[string]bool{}, map[string]map[string]bool{}, map[string]map[string]bool{}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok {
					continue
				}
				types[ts.Name.Name] = true
				fields[ts.Name.Name] = map[string]bool{}
				switch st := ts.Type.(type) {
				case *ast.StructType:
					for _, fl := range st.Fields.List {
						for _, n := range fl.Names {
							fields[ts.Name.Name][n.Name] = true
						}
					}
				case *ast.InterfaceType:
					for _, m := range st.Methods.List {
						for _, n := range m.Names {
							fields[ts.Name.Name][n.Name] = true
						}
					}
				}
			}
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) == 0 {
				continue
			}
			recv := d.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok {
				if methods[id.Name] == nil {
					methods[id.Name] = map[string]bool{}
				}
				methods[id.Name][d.Name.Name] = true
			}
		}
	}
	return types, fields, methods
}

// TestSpecLoadsAndValidates checks openapi.yaml loads and validates with
// kin-openapi and covers the five operations.
func TestSpecLoadsAndValidates(t *testing.T) {
	t.Parallel()
	v, err := validate.New()
	require.NoError(t, err)
	var ids []string
	for _, item := range v.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			ids = append(ids, op.OperationID)
		}
	}
	sort.Strings(ids)
	assert.Equal(t, []string{"createOrganizationApiKey", "createProject", "createProjectApiKey", "getCurrentOrganization",
		"getCurrentProject", "getOrganizationApiKey", "getProjectApiKey", "listOrganizationApiKeys", "listProjectApiKeys",
		"listProjects", "revokeOrganizationApiKey", "revokeProjectApiKey", "updateOrganizationApiKey", "updateProject",
		"updateProjectApiKey"}, ids)
	assert.Contains(t, string(spotzee.OpenAPISpec), "openapi: 3.0.3")
}

// TestEveryResponseIsReachableInGeneratedCode walks every operation and
// response of the spec and checks the generated client and server expose it.
func TestEveryResponseIsReachableInGeneratedCode(t *testing.T) {
	t.Parallel()
	v, err := validate.New()
	require.NoError(t, err)
	srvTypes, srvFields, _ := genDecls(t, "server/server.gen.go")
	_, cliFields, cliMethods := genDecls(t, "client/client.gen.go")
	count := 0
	for _, item := range v.Doc().Paths.Map() {
		for method, op := range item.Operations() {
			// The generator's initialism normalizer: listProjectApiKeys -> ListProjectAPIKeys.
			name := strings.ReplaceAll(strings.ToUpper(op.OperationID[:1])+op.OperationID[1:], "Api", "API")
			assert.True(t, srvFields["StrictServerInterface"][name], "%s: StrictServerInterface.%s", method, name)
			assert.True(t, cliMethods["ClientWithResponses"][name+"WithResponse"], "client %sWithResponse", name)
			for status, resp := range op.Responses.Map() {
				for ct := range resp.Value.Content {
					var srvType, cliField string
					switch ct {
					case "application/json":
						srvType, cliField = name+status+"JSONResponse", "JSON"+status
					case "application/problem+json":
						srvType, cliField = name+status+"ApplicationProblemPlusJSONResponse", "ApplicationProblemJSON"+status
					default:
						t.Errorf("%s %s: unexpected content type %s", op.OperationID, status, ct)
						continue
					}
					assert.True(t, srvTypes[srvType], "server type %s", srvType)
					assert.True(t, cliFields[name+"Response"][cliField], "client %sResponse.%s", name, cliField)
					count++
				}
			}
		}
	}
	assert.Equal(t, 15*9, count, "documented (operation, status) pairs: a success and upstream's eight errors each")
}

// TestCatalogueMatchesSpecErrorCode holds the Go catalogue (errors.go)
// against the spec's ErrorCode enum and the status its description gives
// each code, so the two cannot drift.
func TestCatalogueMatchesSpecErrorCode(t *testing.T) {
	t.Parallel()
	v, err := validate.New()
	require.NoError(t, err)
	schema := v.Doc().Components.Schemas["ErrorCode"].Value
	var enum []spotzee.Code
	for _, e := range schema.Enum {
		enum = append(enum, spotzee.Code(e.(string)))
	}
	assert.Equal(t, enum, spotzee.Codes(), "spotzee.Codes() lists the spec's ErrorCode enum, in order")
	for _, c := range spotzee.Codes() {
		assert.True(t, c.Known(), "%s in the catalogue", c)
		assert.Contains(t, strings.Join(strings.Fields(schema.Description), " "),
			fmt.Sprintf("`%s` %d", c, c.Status()), "the spec's ErrorCode description gives %s status %d", c, c.Status())
	}
}
