package spotzee_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// upstreamFactsPath is where the facts about Spotzee's live spec live,
// relative to the module root (the working directory of this package's tests).
var upstreamFactsPath = filepath.Join("..", "shared", "upstream", "spotzee-upstream-facts.json")

// upstreamSchemaExt names the extension by which one of our component schemas
// declares that it stands for an upstream schema of another name.
const upstreamSchemaExt = "x-spotzee-upstream-schema"

// requiredUpstreamOperations are the operations openapi.yaml must cover.
var requiredUpstreamOperations = []string{
	"listProjectApiKeys",
	"createProjectApiKey",
	"getProjectApiKey",
	"updateProjectApiKey",
	"revokeProjectApiKey",
}

// upstreamFacts is spotzee-upstream-facts.json (see shared/upstream/README.md).
type upstreamFacts struct {
	Operations map[string]upstreamOperation `json:"operations"`
	Schemas    map[string]upstreamSchema    `json:"schemas"`
}

type upstreamOperation struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Surface string            `json:"surface"`
	Body    string            `json:"body"` // a schema name, or "never"
	Query   []string          `json:"query"`
	Success map[string]string `json:"success"` // status → schema name
	Errors  []string          `json:"errors"`
}

// upstreamSchema is exactly one of an enum, the "any" type or an object.
type upstreamSchema struct {
	Enum     []string                 `json:"enum"`
	Type     string                   `json:"type"`
	Nullable bool                     `json:"nullable"`
	Object   map[string]upstreamField `json:"object"`
}

// upstreamField is an object field or an array's items: exactly one of Type
// (a primitive or a schema name), Enum (inline) or Array.
type upstreamField struct {
	Type     string         `json:"type"`
	Enum     []string       `json:"enum"`
	Array    *upstreamField `json:"array"`
	Nullable bool           `json:"nullable"`
	Required bool           `json:"required"`
}

// upstreamPrimitives are the field types that are not schema names.
var upstreamPrimitives = map[string]bool{"integer": true, "string": true, "boolean": true, "any": true}

// loadUpstreamFacts reads and sanity-checks the facts file, skipping the test
// when shared/ is not beside the module.
func loadUpstreamFacts(t *testing.T) upstreamFacts {
	t.Helper()
	data, err := os.ReadFile(upstreamFactsPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("../shared/upstream/spotzee-upstream-facts.json not found: run from a checkout with shared/ beside it")
	}
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a new kind of fact must not be silently ignored
	var facts upstreamFacts
	require.NoError(t, dec.Decode(&facts), "decoding %s", upstreamFactsPath)
	require.NotEmpty(t, facts.Operations)
	require.NotEmpty(t, facts.Schemas)
	for name, s := range facts.Schemas {
		kinds := 0
		if s.Enum != nil {
			kinds++
		}
		if s.Type != "" {
			require.Equal(t, "any", s.Type, "schema %s: unknown type", name)
			kinds++
		}
		if s.Object != nil {
			kinds++
			for field, f := range s.Object {
				requireUpstreamField(t, facts, name+"."+field, f)
			}
		}
		require.Equal(t, 1, kinds, "schema %s must be exactly one of enum, any, object", name)
	}
	for id, op := range facts.Operations {
		require.NotEmpty(t, op.Method, "operation %s", id)
		require.NotEmpty(t, op.Path, "operation %s", id)
		require.NotEmpty(t, op.Success, "operation %s", id)
		for _, name := range op.Success {
			require.Contains(t, facts.Schemas, name, "operation %s success schema", id)
		}
		if op.Body != "never" {
			require.Contains(t, facts.Schemas, op.Body, "operation %s body schema", id)
		}
	}
	return facts
}

func requireUpstreamField(t *testing.T, facts upstreamFacts, where string, f upstreamField) {
	t.Helper()
	kinds := 0
	if f.Type != "" {
		kinds++
		if !upstreamPrimitives[f.Type] {
			require.Contains(t, facts.Schemas, f.Type, "%s: type names no schema", where)
		}
	}
	if f.Enum != nil {
		kinds++
	}
	if f.Array != nil {
		kinds++
		requireUpstreamField(t, facts, where+"[]", *f.Array)
	}
	require.Equal(t, 1, kinds, "%s must be exactly one of type, enum, array", where)
}

// checker is the part of *testing.T the checks need, so that they can run
// against a recorder as well (see TestUpstreamFactsCheckCatchesMutations).
type checker interface {
	Helper()
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	Run(name string, f func(c checker))
}

// tChecker runs the checks as parallel sub-tests of a *testing.T.
type tChecker struct{ t *testing.T }

func (c tChecker) Helper()                           { c.t.Helper() }
func (c tChecker) Errorf(format string, args ...any) { c.t.Helper(); c.t.Errorf(format, args...) }
func (c tChecker) Logf(format string, args ...any)   { c.t.Helper(); c.t.Logf(format, args...) }
func (c tChecker) Run(name string, f func(c checker)) {
	c.t.Run(name, func(t *testing.T) {
		t.Parallel()
		f(tChecker{t})
	})
}

// recorder collects failures instead of failing a test.
type recorder struct {
	name     string
	failures *[]string
}

func newRecorder() recorder { return recorder{failures: new([]string)} }

func (r recorder) Helper() {}
func (r recorder) Errorf(format string, args ...any) {
	*r.failures = append(*r.failures, r.name+": "+fmt.Sprintf(format, args...))
}
func (r recorder) Logf(string, ...any) {}
func (r recorder) Run(name string, f func(c checker)) {
	f(recorder{name: r.name + "/" + name, failures: r.failures})
}

// TestUpstreamFacts checks openapi.yaml against the facts about Spotzee's
// live spec in ../shared/upstream/spotzee-upstream-facts.json: every upstream
// operation whose operationId openapi.yaml uses (at least the five project-key
// operations) must have upstream's method, path, success status and schema,
// error statuses (as problem+json ErrorResponse), request body and list query
// parameters; every upstream schema openapi.yaml defines (by name, or through
// x-spotzee-upstream-schema) must have upstream's enum values, or exactly
// upstream's fields, required set, nullability and field types, or no type at
// all for upstream's "any"; and every schema a covered operation reaches must
// be defined. Upstream operations not in openapi.yaml are only logged.
func TestUpstreamFacts(t *testing.T) {
	t.Parallel()
	facts := loadUpstreamFacts(t)
	v, err := validate.New()
	require.NoError(t, err)
	checkAgainstUpstream(t, v.Doc(), facts)
}

// TestUpstreamFactsCheckCatchesMutations proves checkAgainstUpstream can fail:
// each mutation of openapi.yaml that makes it disagree with upstream must be
// reported, and the unmutated document, loaded the same way, must not be.
func TestUpstreamFactsCheckCatchesMutations(t *testing.T) {
	t.Parallel()
	facts := loadUpstreamFacts(t)
	spec := string(spotzee.OpenAPISpec)
	for _, tc := range []struct {
		name, old, new string
		want           string // a substring of some recorded failure
	}{
		{name: "unmutated"},
		{
			name: "operationId renamed",
			old:  "\n      operationId: getProjectApiKey\n", new: "\n      operationId: getApiKey\n",
			want: "getProjectApiKey",
		},
		{
			name: "nullable dropped",
			old:  "            $ref: '#/components/schemas/ProjectApiKey'\n        nextCursor:\n          type: string\n          nullable: true\n",
			new:  "            $ref: '#/components/schemas/ProjectApiKey'\n        nextCursor:\n          type: string\n",
			want: "/schemas/ProjectApiKeyList/nextCursor",
		},
		{
			name: "enum value added",
			old:  "enum: [public, secret]", new: "enum: [public, secret, restricted]",
			want: "/schemas/ApiKeyScope",
		},
		{
			name: "upstream schema extension dropped",
			old:  "      x-spotzee-upstream-schema: ProjectApiKey\n", new: "",
			want: "/operations/createProjectApiKey",
		},
		{
			name: "required field dropped",
			old:  "description: One page of API keys.\n      required: [results, nextCursor, prevCursor, limit]",
			new:  "description: One page of API keys.\n      required: [results, nextCursor, prevCursor]",
			want: "/schemas/ProjectApiKeyList",
		},
		{
			name: "any-typed schema given a type",
			old:  "    ApiKeyRevokeResponse:\n      description:",
			new:  "    ApiKeyRevokeResponse:\n      type: object\n      description:",
			want: "/schemas/ApiKeyRevokeResponse",
		},
		{
			name: "request body made required",
			old:  "        required: false\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/ProjectApiKeyCreate'}",
			new:  "        required: true\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/ProjectApiKeyCreate'}",
			want: "/operations/createProjectApiKey",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mutated := spec
			if tc.old != "" {
				require.Equal(t, 1, strings.Count(spec, tc.old), "the mutation must match openapi.yaml exactly once")
				mutated = strings.Replace(spec, tc.old, tc.new, 1)
			}
			doc, err := openapi3.NewLoader().LoadFromData([]byte(mutated))
			require.NoError(t, err)
			rec := newRecorder()
			checkUpstream(rec, doc, facts)
			if tc.old == "" {
				assert.Empty(t, *rec.failures)
				return
			}
			require.NotEmpty(t, *rec.failures, "the mutation went unnoticed")
			t.Logf("recorded failures:\n%s", strings.Join(*rec.failures, "\n"))
			assert.True(t, slices.ContainsFunc(*rec.failures, func(f string) bool { return strings.Contains(f, tc.want) }),
				"no failure mentions %q: %v", tc.want, *rec.failures)
		})
	}
}

// checkAgainstUpstream checks doc against facts, one parallel sub-test per
// operation and per schema.
func checkAgainstUpstream(t *testing.T, doc *openapi3.T, facts upstreamFacts) {
	t.Helper()
	checkUpstream(tChecker{t}, doc, facts)
}

func checkUpstream(c checker, doc *openapi3.T, facts upstreamFacts) {
	c.Helper()
	if doc.Paths == nil || doc.Components == nil {
		c.Errorf("the document has no paths or no components")
		return
	}
	ours := ourOperations(doc)

	var covered []string
	for _, id := range sortedKeys(facts.Operations) {
		if _, ok := ours[id]; ok {
			covered = append(covered, id)
			continue
		}
		up := facts.Operations[id]
		c.Logf("upstream operation %s (%s %s, %s surface) is not in openapi.yaml: not checked", id, up.Method, up.Path, up.Surface)
	}
	assert.Subset(c, covered, requiredUpstreamOperations, "openapi.yaml must cover these upstream operations")
	for _, id := range sortedKeys(ours) {
		if _, ok := facts.Operations[id]; !ok {
			c.Logf("operation %s (%s) of openapi.yaml is not an upstream operation", id, ours[id])
		}
	}

	c.Run("operations", func(c checker) {
		for _, id := range covered {
			c.Run(id, func(c checker) { checkUpstreamOperation(c, doc, id, facts.Operations[id]) })
		}
	})

	// The schemas the covered operations reach, through field and item types.
	needed := map[string]bool{}
	var reach func(name string)
	reach = func(name string) {
		if needed[name] || upstreamPrimitives[name] {
			return
		}
		needed[name] = true
		s := facts.Schemas[name]
		for _, f := range s.Object {
			for g := &f; g != nil; g = g.Array {
				reach(g.Type)
			}
		}
	}
	for _, id := range covered {
		op := facts.Operations[id]
		for _, name := range op.Success {
			reach(name)
		}
		if op.Body != "never" {
			reach(op.Body)
		}
		if len(op.Errors) > 0 {
			reach("ErrorResponse")
		}
	}
	delete(needed, "")

	c.Run("schemas", func(c checker) {
		for _, name := range sortedKeys(facts.Schemas) {
			mine := ourSchemasFor(doc, name)
			if len(mine) == 0 {
				if needed[name] {
					c.Errorf("schema %s, reached by a covered operation, is missing from components.schemas", name)
				} else {
					c.Logf("upstream schema %s is not in openapi.yaml: not checked", name)
				}
				continue
			}
			for _, ourName := range mine {
				sub := ourName
				if ourName != name {
					sub = ourName + "_as_" + name
				}
				c.Run(sub, func(c checker) {
					checkUpstreamSchema(c, doc, facts.Schemas[name], doc.Components.Schemas[ourName])
				})
			}
		}
	})
}

// ourOperations maps each operationId of doc to "METHOD path".
func ourOperations(doc *openapi3.T) map[string]string {
	ops := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID != "" {
				ops[op.OperationID] = method + " " + path
			}
		}
	}
	return ops
}

// ourSchemasFor returns the component schemas standing for upstream's name:
// the one of that name and every one declaring it in x-spotzee-upstream-schema.
func ourSchemasFor(doc *openapi3.T, name string) []string {
	var names []string
	for ourName, s := range doc.Components.Schemas {
		if ourName == name || (s.Value != nil && upstreamAlias(s.Value) == name) {
			names = append(names, ourName)
		}
	}
	sort.Strings(names)
	return names
}

func upstreamAlias(s *openapi3.Schema) string {
	alias, _ := s.Extensions[upstreamSchemaExt].(string)
	return alias
}

// refName returns the component schema s refers to: its $ref, or the $ref of
// its single allOf element (how a property adds a default or description).
func refName(s *openapi3.SchemaRef) (string, bool) {
	if s == nil {
		return "", false
	}
	ref := s.Ref
	if ref == "" && s.Value != nil && len(s.Value.AllOf) == 1 && s.Value.AllOf[0] != nil {
		ref = s.Value.AllOf[0].Ref
	}
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	return name, ok && name != ""
}

// checkRefTo checks that s refers to a component schema standing for
// upstream's name (that name, or one declaring it in x-spotzee-upstream-schema).
func checkRefTo(c checker, doc *openapi3.T, s *openapi3.SchemaRef, name, what string) {
	c.Helper()
	ref, ok := refName(s)
	if !ok {
		c.Errorf("%s: want a $ref to schema %s, got an inline schema", what, name)
		return
	}
	if ref == name {
		return
	}
	target := doc.Components.Schemas[ref]
	if target == nil || target.Value == nil || upstreamAlias(target.Value) != name {
		c.Errorf("%s: $ref %s is not schema %s and does not declare %s: %s", what, ref, name, upstreamSchemaExt, name)
	}
}

func checkUpstreamOperation(c checker, doc *openapi3.T, id string, up upstreamOperation) {
	c.Helper()
	item := doc.Paths.Value(up.Path)
	if item == nil {
		c.Errorf("path %s is missing", up.Path)
		return
	}
	op := item.GetOperation(up.Method)
	if op == nil {
		c.Errorf("%s %s is missing", up.Method, up.Path)
		return
	}
	assert.Equal(c, id, op.OperationID, "operationId of %s %s", up.Method, up.Path)
	if op.Responses == nil {
		c.Errorf("no responses")
		return
	}

	// Success: the same 2xx statuses, each with upstream's schema.
	var ours2xx, up2xx []string
	for status := range op.Responses.Map() {
		if strings.HasPrefix(status, "2") {
			ours2xx = append(ours2xx, status)
		}
	}
	for status, name := range up.Success {
		up2xx = append(up2xx, status)
		media := responseMedia(op, status, "application/json")
		if media == nil {
			c.Errorf("response %s has no application/json content", status)
			continue
		}
		checkRefTo(c, doc, media.Schema, name, "response "+status)
	}
	assert.ElementsMatch(c, up2xx, ours2xx, "success statuses")

	// Errors: every upstream status, as problem+json ErrorResponse.
	for _, status := range up.Errors {
		media := responseMedia(op, status, "application/problem+json")
		if media == nil {
			c.Errorf("error response %s is missing or has no application/problem+json content", status)
			continue
		}
		if name, ok := refName(media.Schema); !ok || media.Schema.Ref == "" || name != "ErrorResponse" {
			c.Errorf("error response %s: schema must be $ref ErrorResponse, got %q", status, media.Schema.Ref)
		}
	}
	for status := range op.Responses.Map() {
		if !strings.HasPrefix(status, "2") && !slices.Contains(up.Errors, status) {
			c.Logf("response %s is not documented upstream", status)
		}
	}

	// Request body.
	if up.Body == "never" {
		assert.Nil(c, op.RequestBody, "upstream takes no request body")
	} else if op.RequestBody == nil || op.RequestBody.Value == nil {
		c.Errorf("request body %s is missing", up.Body)
	} else {
		assert.False(c, op.RequestBody.Value.Required, "request body must be optional, as upstream")
		if media := op.RequestBody.Value.Content.Get("application/json"); media == nil {
			c.Errorf("request body has no application/json content")
		} else {
			checkRefTo(c, doc, media.Schema, up.Body, "request body")
		}
	}

	// Query parameters.
	var query []string
	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range params {
			if p != nil && p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				query = append(query, p.Value.Name)
			}
		}
	}
	assert.Subset(c, query, up.Query, "query parameters")
}

// responseMedia returns the content of op's response status in mediaType.
func responseMedia(op *openapi3.Operation, status, mediaType string) *openapi3.MediaType {
	resp := op.Responses.Value(status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	media := resp.Value.Content.Get(mediaType)
	if media == nil || media.Schema == nil {
		return nil
	}
	return media
}

func checkUpstreamSchema(c checker, doc *openapi3.T, up upstreamSchema, ours *openapi3.SchemaRef) {
	c.Helper()
	if ours == nil || ours.Value == nil {
		c.Errorf("schema does not resolve")
		return
	}
	s := ours.Value
	assert.Equal(c, up.Nullable, s.Nullable, "nullable")
	switch {
	case up.Type == "any":
		assert.True(c, s.Type == nil || s.Type.IsEmpty(), "upstream accepts any JSON value: want no type, got %v", typesOf(s))
	case up.Enum != nil:
		got := enumStrings(s.Enum)
		assert.ElementsMatch(c, up.Enum, got, "enum values")
		if !slices.Equal(up.Enum, got) {
			c.Logf("enum order differs: upstream %v, ours %v", up.Enum, got)
		}
	case up.Object != nil:
		assert.True(c, s.Type == nil || s.Type.IsEmpty() || s.Type.Is("object"), "want an object, got type %v", typesOf(s))
		var upFields, upRequired, ourFields []string
		for name, f := range up.Object {
			upFields = append(upFields, name)
			if f.Required {
				upRequired = append(upRequired, name)
			}
		}
		for name := range s.Properties {
			ourFields = append(ourFields, name)
		}
		assert.ElementsMatch(c, upFields, ourFields, "fields")
		assert.ElementsMatch(c, upRequired, s.Required, "required fields")
		for _, name := range sortedKeys(up.Object) {
			p := s.Properties[name]
			if p == nil {
				continue // reported as a field-set difference above
			}
			c.Run(name, func(c checker) { checkUpstreamField(c, doc, up.Object[name], p) })
		}
	}
}

// checkUpstreamField checks a property (or array items) against upstream's
// field: nullability, and type, inline enum or array.
func checkUpstreamField(c checker, doc *openapi3.T, up upstreamField, ours *openapi3.SchemaRef) {
	c.Helper()
	if ours == nil || ours.Value == nil {
		c.Errorf("schema does not resolve")
		return
	}
	s := ours.Value
	assert.Equal(c, up.Nullable, s.Nullable, "nullable")
	switch {
	case up.Array != nil:
		if !assert.True(c, s.Type.Is("array"), "want type array, got %v", typesOf(s)) {
			return
		}
		if s.Items == nil {
			c.Errorf("array has no items")
			return
		}
		checkUpstreamField(c, doc, *up.Array, s.Items)
	case up.Enum != nil:
		// Inline here or in the referenced schema: the values must be upstream's.
		values := s.Enum
		if _, ok := refName(ours); ok && ours.Ref == "" && s.AllOf[0].Value != nil {
			values = s.AllOf[0].Value.Enum
		}
		assert.ElementsMatch(c, up.Enum, enumStrings(values), "enum values")
	case up.Type == "any":
		assert.True(c, s.Type == nil || s.Type.IsEmpty(), "upstream accepts any JSON value: want no type, got %v", typesOf(s))
	case upstreamPrimitives[up.Type]:
		_, isRef := refName(ours)
		assert.False(c, isRef, "want an inline %s, got a $ref", up.Type)
		assert.True(c, s.Type.Is(up.Type), "want type %s, got %v", up.Type, typesOf(s))
	default:
		checkRefTo(c, doc, ours, up.Type, "field type")
	}
}

func typesOf(s *openapi3.Schema) []string {
	if s.Type == nil {
		return nil
	}
	return s.Type.Slice()
}

func enumStrings(values []any) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
