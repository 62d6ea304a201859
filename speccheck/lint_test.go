package speccheck_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/speccheck"
)

// TestLint_RealSpec is `make lint-spec` inside `go test ./...`: the committed
// contract must pass every rule.
func TestLint_RealSpec(t *testing.T) {
	t.Parallel()
	doc, err := speccheck.LoadFile(t.Context(), "../openapi.yaml")
	require.NoError(t, err)

	findings := speccheck.Lint(t.Context(), doc)

	if len(findings) > 0 {
		var b strings.Builder
		for _, f := range findings {
			b.WriteString("\n  " + f.String())
		}
		t.Fatalf("openapi.yaml has %d lint finding(s); fix the spec:%s", len(findings), b.String())
	}
}

func TestLint_ValidFixtureHasNoFindings(t *testing.T) {
	t.Parallel()
	assert.Empty(t, lintFile(t, "testdata/lint/valid.yaml"))
}

// Each fixture is valid.yaml broken on purpose for one rule: exactly that
// rule must fire, at exactly these locations.
func TestLint_EachRuleFires(t *testing.T) {
	t.Parallel()
	const get = "#/paths/~1things~1{id}/get"
	tests := []struct {
		rule      string
		locations []string
		message   string // a fragment of the first finding's message
	}{
		{speccheck.RuleValid, []string{"#"}, `path parameter "id" must be required`},
		{speccheck.RuleOperationID, []string{get}, "no operationId"},
		{speccheck.RuleOperationSummary, []string{get}, "no summary"},
		{speccheck.RuleOperationTags, []string{get}, "no tag"},
		{speccheck.RuleOperationDescription, []string{get}, "no description"},
		{speccheck.RuleError401, []string{get + "/responses"}, "does not document 401"},
		{speccheck.RuleErrorProblemJSON, []string{
			get + "/responses/404", // application/json
			get + "/responses/409", // no content
			get + "/responses/500", // problem+json and text/plain
		}, "application/json"},
		{speccheck.RulePropertyDescription, []string{
			"#/components/schemas/Thing/properties/id",                                  // component property
			"#/components/schemas/Thing/properties/labels/items/properties/label",       // inside array items
			get + "/responses/200/content/application~1json/schema/properties/owner",    // $ref to an undescribed schema
			get + "/responses/200/content/application~1json/schema/properties/revision", // inline response property
		}, `"id" has no description`},
		{speccheck.RuleExampleValid, []string{
			"#/components/schemas/Kind/example",                 // schema example
			"#/components/schemas/Thing/properties/id/example",  // property example
			get + "/parameters/0/example",                       // parameter example
			get + "/responses/200/headers/X-Request-Id/example", // header example
		}, "not one of the allowed values"},
		{speccheck.RuleRequestAdditionalProp, []string{
			"#/components/schemas/NewThing",
			"#/components/schemas/NewThing/properties/meta",
		}, "additionalProperties: false"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			findings := lintFile(t, "testdata/lint/"+tt.rule+".yaml")

			var locations []string
			for _, f := range findings {
				assert.Equal(t, tt.rule, f.Rule, "only %s may fire: %s", tt.rule, f)
				locations = append(locations, f.Location)
			}
			assert.Equal(t, tt.locations, locations)
			require.NotEmpty(t, findings)
			assert.Contains(t, findings[0].Message, tt.message)
		})
	}
}

func TestLint_ReferencedPropertyWithDescriptionPasses(t *testing.T) {
	t.Parallel()
	// valid.yaml's Thing.kind is only a $ref to Kind, which has a description.
	for _, f := range lintFile(t, "testdata/lint/valid.yaml") {
		assert.NotEqual(t, speccheck.RulePropertyDescription, f.Rule, f.String())
	}
	// Without Kind's description, the $ref-only properties are reported.
	data := strings.Replace(string(readFile(t, "testdata/lint/valid.yaml")), "      description: The kind of a thing.\n", "", 1)
	doc, err := speccheck.LoadData(t.Context(), []byte(data), "no-kind-description.yaml")
	require.NoError(t, err)
	var locations []string
	for _, f := range speccheck.Lint(t.Context(), doc) {
		locations = append(locations, f.Location)
	}
	assert.Equal(t, []string{
		"#/components/schemas/NewThing/properties/kind",
		"#/components/schemas/Thing/properties/kind",
	}, locations)
}

func TestLint_RequestBodyAllOfMembersAreReported(t *testing.T) {
	t.Parallel()
	// In OpenAPI 3.0 additionalProperties does not see through allOf, so an
	// allOf-composed body can be neither closed nor composed: both members,
	// closed or not, are reported.
	const spec = `openapi: 3.0.3
info: {title: allOf body, version: 1.0.0}
paths:
  /things:
    post:
      operationId: createThing
      summary: Create a thing
      description: Creates a thing.
      tags: [Things]
      requestBody:
        content:
          application/json:
            schema:
              description: A thing to create.
              allOf:
                - type: object
                  additionalProperties: false
                  properties:
                    name: {type: string, description: A name.}
                - type: object
                  properties:
                    size: {type: integer, description: A size.}
      responses:
        '204': {description: Created.}
        '401':
          description: Not authenticated.
          content:
            application/problem+json:
              schema: {type: object, description: A problem.}
`
	doc, err := speccheck.LoadData(t.Context(), []byte(spec), "allof.yaml")
	require.NoError(t, err)

	var got []string
	for _, f := range speccheck.Lint(t.Context(), doc) {
		got = append(got, f.Rule+" "+f.Location)
	}
	const body = "#/paths/~1things/post/requestBody/content/application~1json/schema"
	assert.Equal(t, []string{
		"request-additional-properties " + body + "/allOf/0",
		"request-additional-properties " + body + "/allOf/1",
	}, got)
}

func TestLoad_Errors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"not YAML":     "openapi: [3.0.3\n",
		"external ref": "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    A: {$ref: 'other.yaml#/A'}\n",
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc, err := speccheck.LoadData(t.Context(), []byte(data), "broken.yaml")
			require.Error(t, err)
			assert.Nil(t, doc)
			assert.Contains(t, err.Error(), "broken.yaml")
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := speccheck.LoadFile(t.Context(), "testdata/does-not-exist.yaml")
		require.Error(t, err)
	})
}

func TestFinding_String(t *testing.T) {
	t.Parallel()
	f := speccheck.Finding{Rule: speccheck.RuleOperationID, Location: "#/paths/~1keys/get", Message: "operation has no operationId"}
	assert.Equal(t, "#/paths/~1keys/get: operation has no operationId [operation-id]", f.String())
}

func lintFile(t *testing.T, path string) []speccheck.Finding {
	t.Helper()
	doc, err := speccheck.LoadFile(t.Context(), path)
	require.NoError(t, err)
	return speccheck.Lint(t.Context(), doc)
}
