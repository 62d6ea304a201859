package speccheck_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/speccheck"
)

// The compare fixtures: testdata/upstream/ours.yaml is a snapshot of
// openapi.yaml (so that spec edits do not break these tests), equal.json the
// same contract written the way Spotzee publishes it (OpenAPI 3.1 JSON, paths
// under /api/client, keyId renamed and rendered integer|null, nullability as
// type arrays and an anyOf null branch, an inlined enum, other tags and
// paths), and planted/*.json each a patch of equal.json planting differences.
const (
	oursSnapshot  = "testdata/upstream/ours.yaml"
	equalUpstream = "testdata/upstream/equal.json"
)

func TestCompareUpstream_EqualContentHasNoDifferences(t *testing.T) {
	t.Parallel()
	cmp := compareFile(t, oursSnapshot, readFile(t, equalUpstream))
	assert.Empty(t, cmp.Differences)
	assert.Equal(t, "/api/client", cmp.UpstreamPrefix)
	assert.Empty(t, cmp.OursPrefix)
	assert.Equal(t, []string{"GET /keys", "POST /keys", "GET /keys/{keyId}", "PATCH /keys/{keyId}", "DELETE /keys/{keyId}"}, cmp.Matched)
	assert.Equal(t, 6, cmp.Ignored, "organisation and events operations are outside what we cover")
}

type plantedFixture struct {
	Description string           `json:"description"`
	Patch       []patchOperation `json:"patch"`
	Want        []struct {
		Operation string `json:"operation"`
		Where     string `json:"where"`
		Message   string `json:"message"`
	} `json:"want"`
}

func TestCompareUpstream_FindsPlantedDifferences(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/upstream/planted/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	base := readFile(t, equalUpstream)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			var fx plantedFixture
			require.NoError(t, json.Unmarshal(readFile(t, file), &fx))
			require.NotEmpty(t, fx.Want, "a planted fixture must say what it plants")
			upstream := applyPatch(t, base, fx.Patch)

			cmp := compareFile(t, oursSnapshot, upstream)

			var want []speccheck.Difference
			for _, w := range fx.Want {
				want = append(want, speccheck.Difference{Operation: w.Operation, Where: w.Where, Message: w.Message})
			}
			assert.Equal(t, want, cmp.Differences, fx.Description)
		})
	}
}

func TestCompareUpstream_PathMapping(t *testing.T) {
	t.Parallel()
	ours := `openapi: 3.0.3
info: {title: t, version: 1.0.0}
paths:
  %s:
    get:
      parameters:
        - {name: keyId, in: path, required: true, schema: {type: integer}}
      responses:
        '200': {description: ok}
`
	upstream := `{"openapi": "3.1.0", "info": {"title": "u", "version": "1"}, "paths": {
  %q: {"get": {"parameters": [%s{"name": "id", "in": "path", "required": true, "schema": {"type": ["integer", "null"]}}],
    "responses": {"200": {"description": "ok"}}}}}}`
	projectParam := `{"name": "projectId", "in": "path", "required": true, "schema": {"type": "integer"}}, `
	tests := []struct {
		name, oursPath, upPath, upParams string
		wantUpstreamPrefix, wantOurs     string
		wantDiffs                        []string
	}{
		{name: "same paths", oursPath: "/keys/{keyId}", upPath: "/keys/{id}"},
		{name: "upstream prefix", oursPath: "/keys/{keyId}", upPath: "/api/client/keys/{id}", wantUpstreamPrefix: "/api/client"},
		{name: "ours prefix", oursPath: "/api/client/keys/{keyId}", upPath: "/keys/{id}", wantOurs: "/api/client"},
		{
			name: "prefix with a path parameter", oursPath: "/keys/{keyId}", upPath: "/projects/{projectId}/keys/{id}",
			upParams: projectParam, wantUpstreamPrefix: "/projects/{projectId}",
			wantDiffs: []string{"parameter path projectId: only upstream (required)"},
		},
		{
			name: "no match", oursPath: "/keys/{keyId}", upPath: "/tokens/{id}",
			wantDiffs: []string{"operation: missing upstream"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := speccheck.LoadData(t.Context(), fmt.Appendf(nil, ours, tt.oursPath), "ours.yaml")
			require.NoError(t, err)
			cmp, err := speccheck.CompareUpstream(t.Context(), doc, fmt.Appendf(nil, upstream, tt.upPath, tt.upParams))
			require.NoError(t, err)
			assert.Equal(t, tt.wantUpstreamPrefix, cmp.UpstreamPrefix)
			assert.Equal(t, tt.wantOurs, cmp.OursPrefix)
			var got []string
			for _, d := range cmp.Differences {
				got = append(got, d.String())
			}
			assert.Equal(t, tt.wantDiffs, got)
		})
	}
}

func TestCompareUpstream_NullableForms(t *testing.T) {
	t.Parallel()
	ours := `openapi: 3.0.3
info: {title: t, version: 1.0.0}
paths:
  /things:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  a: {type: string, nullable: true}
                  b: {allOf: [{$ref: '#/components/schemas/Kind'}], nullable: true}
                  c: {type: string, nullable: true, enum: [x, null]}
                  d: {type: string}
components:
  schemas:
    Kind: {type: string, enum: [x, y]}
`
	upstream := `{"openapi": "3.1.0", "info": {"title": "u", "version": "1"}, "paths": {"/things": {"get": {"responses": {"200": {"description": "ok",
  "content": {"application/json": {"schema": {"properties": {
    "a": {"type": ["string", "null"]},
    "b": {"anyOf": [{"$ref": "#/components/schemas/Kind"}, {"type": "null"}]},
    "c": {"type": ["string", "null"], "enum": ["x", null]},
    "d": {"oneOf": [{"type": "string"}, {"type": "null"}]}}}}}}}}}},
  "components": {"schemas": {"Kind": {"enum": ["y", "x"], "type": "string"}}}}`
	doc, err := speccheck.LoadData(t.Context(), []byte(ours), "ours.yaml")
	require.NoError(t, err)

	cmp, err := speccheck.CompareUpstream(t.Context(), doc, []byte(upstream))
	require.NoError(t, err)

	require.Len(t, cmp.Differences, 1, "%v", cmp.Differences)
	assert.Equal(t, "response 200: d: nullable: ours no, upstream yes", cmp.Differences[0].String())
}

func TestCompareUpstream_AcceptsYAMLUpstream(t *testing.T) {
	t.Parallel()
	// The snapshot compared with itself, read as YAML on the upstream side.
	data := readFile(t, oursSnapshot)
	cmp := compareFile(t, oursSnapshot, data)
	assert.Empty(t, cmp.Differences)
	assert.Len(t, cmp.Matched, 5)
}

func TestCompareUpstream_RejectsNonOpenAPI(t *testing.T) {
	t.Parallel()
	doc, err := speccheck.LoadFile(t.Context(), oursSnapshot)
	require.NoError(t, err)
	for name, data := range map[string]string{
		"not JSON":      `{"openapi": `,
		"no paths":      `{"openapi": "3.1.0"}`,
		"not a mapping": "- just\n- a list\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := speccheck.CompareUpstream(t.Context(), doc, []byte(data))
			assert.Error(t, err)
		})
	}
}

func compareFile(t *testing.T, oursFile string, upstream []byte) *speccheck.Comparison {
	t.Helper()
	doc, err := speccheck.LoadFile(t.Context(), oursFile)
	require.NoError(t, err)
	cmp, err := speccheck.CompareUpstream(t.Context(), doc, upstream)
	require.NoError(t, err)
	return cmp
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// patchOperation is one RFC 6902 operation; the fixtures use add, replace,
// remove and move.
type patchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	From  string `json:"from"`
	Value any    `json:"value"`
}

func applyPatch(t *testing.T, doc []byte, ops []patchOperation) []byte {
	t.Helper()
	var root any
	require.NoError(t, json.Unmarshal(doc, &root))
	for _, op := range ops {
		switch op.Op {
		case "add", "replace":
			root = setPointer(t, root, op.Path, op.Value, op.Op == "replace")
		case "remove":
			root, _ = removePointer(t, root, op.Path)
		case "move":
			var v any
			root, v = removePointer(t, root, op.From)
			root = setPointer(t, root, op.Path, v, false)
		default:
			t.Fatalf("unsupported patch op %q", op.Op)
		}
	}
	out, err := json.Marshal(root)
	require.NoError(t, err)
	return out
}

func splitPointer(t *testing.T, ptr string) []string {
	t.Helper()
	require.True(t, strings.HasPrefix(ptr, "/"), "pointer %q", ptr)
	tokens := strings.Split(ptr[1:], "/")
	for i, tok := range tokens {
		tokens[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
	}
	return tokens
}

// edit walks to the parent of ptr and lets fn change the container; it
// returns the (possibly new) root.
func edit(t *testing.T, node any, tokens []string, fn func(parent any, last string) any) any {
	t.Helper()
	if len(tokens) == 1 {
		return fn(node, tokens[0])
	}
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[tokens[0]]
		require.True(t, ok, "no member %q", tokens[0])
		n[tokens[0]] = edit(t, child, tokens[1:], fn)
		return n
	case []any:
		i, err := strconv.Atoi(tokens[0])
		require.NoError(t, err)
		n[i] = edit(t, n[i], tokens[1:], fn)
		return n
	}
	t.Fatalf("cannot descend into %T at %q", node, tokens[0])
	return nil
}

func setPointer(t *testing.T, root any, ptr string, value any, mustExist bool) any {
	t.Helper()
	return edit(t, root, splitPointer(t, ptr), func(parent any, last string) any {
		switch p := parent.(type) {
		case map[string]any:
			_, exists := p[last]
			require.True(t, exists || !mustExist, "replace of missing member %q", last)
			p[last] = value
			return p
		case []any:
			if last == "-" {
				return append(p, value)
			}
			i, err := strconv.Atoi(last)
			require.NoError(t, err)
			if mustExist {
				p[i] = value
				return p
			}
			return append(p[:i], append([]any{value}, p[i:]...)...)
		}
		t.Fatalf("cannot set %q in %T", last, parent)
		return nil
	})
}

func removePointer(t *testing.T, root any, ptr string) (any, any) {
	t.Helper()
	var removed any
	root = edit(t, root, splitPointer(t, ptr), func(parent any, last string) any {
		switch p := parent.(type) {
		case map[string]any:
			v, ok := p[last]
			require.True(t, ok, "remove of missing member %q", last)
			removed = v
			delete(p, last)
			return p
		case []any:
			i, err := strconv.Atoi(last)
			require.NoError(t, err)
			removed = p[i]
			return append(p[:i], p[i+1:]...)
		}
		t.Fatalf("cannot remove %q from %T", last, parent)
		return nil
	})
	return root, removed
}
