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
		{speccheck.RuleResponseStrictness, []string{
			"#/components/schemas/Kind", // maxLength in a $ref'd schema
			"#/components/schemas/Thing/properties/labels/items/properties/label", // pattern on a response property
			get + "/responses/200/content/application~1json/schema",               // additionalProperties: false
			get + "/responses/200/headers/X-Generated-At/schema",                  // format: date-time on a header
		}, "maxLength 5"},
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

func TestLint_ResponseStrictnessFixture(t *testing.T) {
	t.Parallel()
	const get = "#/paths/~1things~1{id}/get"
	const suffix = ", stricter than Spotzee publishes; move it to reference-profile.yaml [response-strictness]"
	var got []string
	for _, f := range lintFile(t, "testdata/lint/response-strictness.yaml") {
		got = append(got, f.String())
	}
	assert.Equal(t, []string{
		"#/components/schemas/Kind: response schema sets maxLength 5" + suffix,
		`#/components/schemas/Thing/properties/labels/items/properties/label: response schema sets pattern "^[a-z]+$"` + suffix,
		get + "/responses/200/content/application~1json/schema: response schema sets additionalProperties false" + suffix,
		get + `/responses/200/headers/X-Generated-At/schema: response schema sets format "date-time"` + suffix,
	}, got)
}

func TestLint_ResponseStrictnessIgnoresRequestSide(t *testing.T) {
	t.Parallel()
	// NewThing.name has a pattern and NewThing additionalProperties: false,
	// and getThing's id parameter a minimum: request-side, so not reported.
	for _, f := range lintFile(t, "testdata/lint/response-strictness.yaml") {
		assert.NotContains(t, f.Location, "NewThing", f.String())
		assert.NotContains(t, f.Location, "/parameters/", f.String())
	}
	doc, err := speccheck.LoadFile(t.Context(), "testdata/lint/response-strictness.yaml")
	require.NoError(t, err)
	name := doc.Components.Schemas["NewThing"].Value.Properties["name"].Value
	require.Equal(t, "^[a-z]+$", name.Pattern, "the fixture must keep its request-body pattern")
}

func TestLint_ResponseStrictnessWalksEveryResponseSchema(t *testing.T) {
	t.Parallel()
	// Every strict keyword, reached through a $ref'd response and header,
	// properties, items, allOf/anyOf/oneOf, an additionalProperties schema
	// and a recursive schema; each schema once although two operations
	// share the response. The query parameter and the request body are
	// request-side; format int32, minLength 0 and exclusiveMinimum false
	// constrain nothing.
	const spec = `openapi: 3.0.3
info: {title: response strictness, version: 1.0.0}
paths:
  /things:
    get:
      operationId: listThings
      summary: List things
      description: Lists things.
      tags: [Things]
      parameters:
        - name: q
          in: query
          description: A query.
          schema: {type: string, pattern: '^[a-z]+$', maxLength: 9}
      responses:
        '200': {$ref: '#/components/responses/Things'}
        '401': {$ref: '#/components/responses/Unauthenticated'}
    post:
      operationId: createThing
      summary: Create a thing
      description: Creates a thing.
      tags: [Things]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              description: A thing to create.
              additionalProperties: false
              properties:
                name: {type: string, description: A name., minLength: 1, format: email}
      responses:
        '200': {$ref: '#/components/responses/Things'}
        '401': {$ref: '#/components/responses/Unauthenticated'}
components:
  headers:
    X-Limit:
      description: A limit.
      schema: {type: integer, format: int32, minimum: 0, maximum: 10}
  responses:
    Unauthenticated:
      description: Not authenticated.
      headers:
        X-Limit: {$ref: '#/components/headers/X-Limit'}
      content:
        application/problem+json:
          schema: {type: object, description: A problem.}
    Things:
      description: Things.
      content:
        application/json:
          schema:
            type: object
            description: A page of things.
            minProperties: 1
            maxProperties: 3
            properties:
              items:
                type: array
                description: The things.
                minItems: 1
                maxItems: 5
                uniqueItems: true
                items: {$ref: '#/components/schemas/Node'}
              score:
                description: A score.
                allOf: [{type: number, multipleOf: 0.5}]
              size:
                description: A size.
                anyOf: [{type: integer, minimum: 0, exclusiveMinimum: true}]
              ratio:
                description: A ratio.
                oneOf: [{type: number, maximum: 1, exclusiveMaximum: true}]
              tags:
                type: object
                description: Tags.
                additionalProperties: {type: string, minLength: 2}
              plain:
                type: string
                description: Nothing strict.
                minLength: 0
              count:
                type: integer
                format: int64
                description: Nothing strict.
                exclusiveMaximum: false
  schemas:
    Node:
      type: object
      description: A node of a tree.
      properties:
        children:
          type: array
          description: Child nodes.
          items: {$ref: '#/components/schemas/Node'}
        name: {type: string, description: A name., maxLength: 10}
`
	doc, err := speccheck.LoadData(t.Context(), []byte(spec), "strictness.yaml")
	require.NoError(t, err)

	var got []string
	for _, f := range speccheck.Lint(t.Context(), doc) {
		got = append(got, f.Rule+" "+f.Location+": "+f.Message)
	}
	const (
		rule   = "response-strictness "
		things = "#/components/responses/Things/content/application~1json/schema"
		tail   = ", stricter than Spotzee publishes; move it to reference-profile.yaml"
	)
	assert.Equal(t, []string{
		rule + "#/components/headers/X-Limit/schema: response schema sets minimum 0, maximum 10" + tail,
		rule + things + ": response schema sets minProperties 1, maxProperties 3" + tail,
		rule + things + "/properties/items: response schema sets minItems 1, maxItems 5, uniqueItems true" + tail,
		rule + things + "/properties/ratio/oneOf/0: response schema sets maximum 1, exclusiveMaximum true" + tail,
		rule + things + "/properties/score/allOf/0: response schema sets multipleOf 0.5" + tail,
		rule + things + "/properties/size/anyOf/0: response schema sets minimum 0, exclusiveMinimum true" + tail,
		rule + things + "/properties/tags/additionalProperties: response schema sets minLength 2" + tail,
		rule + "#/components/schemas/Node/properties/name: response schema sets maxLength 10" + tail,
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
