package speccheck_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/speccheck"
)

const realSpec = "../openapi.yaml"

// loadReal loads a fresh copy of the real spec, to be mutated in memory.
func loadReal(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := speccheck.LoadFile(t.Context(), realSpec)
	require.NoError(t, err)
	return doc
}

func schema(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas[name]
	require.NotNil(t, ref, "openapi.yaml has no schema %s", name)
	return ref.Value
}

func TestBreakingChanges_OnMutationsOfTheRealSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mutate   func(t *testing.T, doc *openapi3.T)
		breaking string // oasdiff id expected at level error; "" for a compatible change
	}{
		{
			name: "removing a required response field",
			mutate: func(t *testing.T, doc *openapi3.T) {
				s := schema(t, doc, "ProjectApiKey")
				delete(s.Properties, "name")
				s.Required = slices.DeleteFunc(s.Required, func(r string) bool { return r == "name" })
			},
			breaking: "response-required-property-removed",
		},
		{
			name: "narrowing a request enum",
			mutate: func(t *testing.T, doc *openapi3.T) {
				schema(t, doc, "ApiKeyScope").Enum = []any{"secret"}
			},
			breaking: "request-property-enum-value-removed",
		},
		{
			name: "adding a required request field",
			mutate: func(t *testing.T, doc *openapi3.T) {
				s := schema(t, doc, "ProjectApiKeyCreate")
				s.Properties["team"] = openapi3.NewStringSchema().NewRef()
				s.Required = append(s.Required, "team")
			},
			breaking: "new-required-request-property",
		},
		{
			name: "removing an operation",
			mutate: func(t *testing.T, doc *openapi3.T) {
				item := doc.Paths.Value("/keys/{keyId}")
				require.NotNil(t, item)
				require.NotNil(t, item.Delete)
				item.Delete = nil
			},
			breaking: "api-removed-without-deprecation",
		},
		{
			name: "adding an optional request field",
			mutate: func(t *testing.T, doc *openapi3.T) {
				schema(t, doc, "ProjectApiKeyCreate").Properties["team"] = openapi3.NewStringSchema().NewRef()
			},
		},
		{
			name: "adding an operation",
			mutate: func(t *testing.T, doc *openapi3.T) {
				item := doc.Paths.Value("/keys/{keyId}")
				require.NotNil(t, item)
				doc.Paths.Set("/keys/{keyId}/roll", &openapi3.PathItem{
					Parameters: item.Parameters,
					Post: &openapi3.Operation{
						OperationID: "rollApiKey",
						Tags:        []string{"API keys"},
						Responses: openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{
							Value: openapi3.NewResponse().WithDescription("The rolled key."),
						})),
					},
				})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, revision := loadReal(t), loadReal(t)
			tt.mutate(t, revision)

			changes, err := speccheck.BreakingChanges(base, revision)
			require.NoError(t, err)

			var errorIDs []string
			for _, c := range changes {
				if c.Level == speccheck.LevelError {
					errorIDs = append(errorIDs, c.ID)
				}
			}
			if tt.breaking == "" {
				assert.Empty(t, errorIDs, "a compatible change must not be breaking: %v", changes)
				return
			}
			assert.Contains(t, errorIDs, tt.breaking, "changes: %v", changes)
		})
	}
}

func TestBreakingChanges_NoneForTheSameSpec(t *testing.T) {
	t.Parallel()
	changes, err := speccheck.BreakingChanges(loadReal(t), loadReal(t))
	require.NoError(t, err)
	assert.Empty(t, changes)
}

func TestChange_String(t *testing.T) {
	t.Parallel()
	c := speccheck.Change{ID: "api-removed-without-deprecation", Level: speccheck.LevelError, Operation: "DELETE /keys/{keyId}", Text: "api removed without deprecation"}
	assert.Equal(t, "error   [api-removed-without-deprecation] DELETE /keys/{keyId}: api removed without deprecation", c.String())
}

// breakingRevision returns the real spec, as JSON, with an operation removed
// and info.version set to version.
func breakingRevision(t *testing.T, version string) []byte {
	t.Helper()
	doc := loadReal(t)
	doc.Paths.Value("/keys/{keyId}").Delete = nil
	doc.Info.Version = version
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	return data
}

func TestCheckBreaking_Gate(t *testing.T) {
	t.Parallel()
	base := readFile(t, realSpec)
	baseVersion := loadReal(t).Info.Version
	// The cases bump the committed version (cur) to a later one (next).
	cur, next := baseVersion, "99.0.0"
	tests := []struct {
		name         string
		base         []byte
		revision     []byte
		changelog    string
		wantFailed   bool
		wantMissing  bool
		wantErrors   bool
		wantAck      bool
		wantBumped   bool
		wantChangelg bool
	}{
		{name: "unchanged", base: base, revision: base, changelog: "## " + cur + "\n", wantChangelg: true},
		{name: "first commit: no base", base: nil, revision: base, wantMissing: true},
		{
			name: "breaking without bump", base: base, revision: breakingRevision(t, cur), changelog: "## " + cur + "\n",
			wantFailed: true, wantErrors: true, wantChangelg: true,
		},
		{
			name: "breaking, bumped, no changelog entry", base: base, revision: breakingRevision(t, next), changelog: "## " + cur + "\n",
			wantFailed: true, wantErrors: true, wantBumped: true,
		},
		{
			name: "breaking, changelog entry, version not bumped", base: base, revision: breakingRevision(t, cur), changelog: "## " + next + "\n## " + cur + "\n",
			wantFailed: true, wantErrors: true, wantChangelg: true,
		},
		{
			name: "breaking, bumped and in the changelog", base: base, revision: breakingRevision(t, next), changelog: "# Changelog\n\n## [" + next + "] - 2026-05-01\n\n## " + cur + "\n",
			wantErrors: true, wantAck: true, wantBumped: true, wantChangelg: true,
		},
		{
			name: "breaking, bumped, no changelog file", base: base, revision: breakingRevision(t, next),
			wantFailed: true, wantErrors: true, wantBumped: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var changelog []byte
			if tt.changelog != "" {
				changelog = []byte(tt.changelog)
			}
			report, err := speccheck.CheckBreaking(t.Context(), tt.base, tt.revision, changelog)
			require.NoError(t, err)
			assert.Equal(t, tt.wantFailed, report.Failed(), "failed")
			assert.Equal(t, tt.wantMissing, report.BaseMissing, "base missing")
			assert.Equal(t, tt.wantErrors, report.Errors() > 0, "errors: %v", report.Changes)
			assert.Equal(t, tt.wantAck, report.Errors() > 0 && report.Acknowledged(), "acknowledged")
			assert.Equal(t, tt.wantBumped, report.VersionBumped, "bumped")
			assert.Equal(t, tt.wantChangelg, report.ChangelogEntry, "changelog entry")
		})
	}
}

func TestCheckBreaking_LoadErrors(t *testing.T) {
	t.Parallel()
	good := readFile(t, realSpec)
	bad := []byte("openapi: [\n")
	_, err := speccheck.CheckBreaking(t.Context(), good, bad, nil)
	require.Error(t, err)
	_, err = speccheck.CheckBreaking(t.Context(), bad, good, nil)
	require.Error(t, err)
}

func TestVersionBumped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, revision string
		want           bool
	}{
		{"1.0.0", "1.0.0", false},
		{"1.0.0", "1.0.1", true},
		{"1.0.0", "1.1.0", true},
		{"1.0.0", "2.0.0", true},
		{"1.9.0", "1.10.0", true}, // numeric, not lexical
		{"2.0.0", "1.9.9", false},
		{"1.0.0", "v1.1.0", true},
		{"1.1.0-rc.1", "1.1.0", true},
		{"1.1.0", "1.1.0-rc.1", false},
		{"1.1.0-rc.1", "1.1.0-rc.2", true},
		{"2026-04-28", "2026-05-01", true}, // not semver: any change counts
		{"2026-04-28", "2026-04-28", false},
		{"1.0.0", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.base+"->"+tt.revision, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, speccheck.VersionBumped(tt.base, tt.revision))
		})
	}
}

func TestChangelogHasVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, changelog, version string
		want                     bool
	}{
		{"plain heading", "# Changelog\n\n## 1.1.0\n", "1.1.0", true},
		{"keep a changelog heading", "## [1.1.0] - 2026-05-01\n", "1.1.0", true},
		{"v prefix", "## v1.1.0\n", "1.1.0", true},
		{"only in body text", "## 1.0.0\nPrepares 1.1.0.\n", "1.1.0", false},
		{"longer version", "## 1.1.01\n", "1.1.0", false},
		{"version inside another", "## 11.1.0\n", "1.1.0", false},
		{"pre-release is another version", "## 1.1.0-rc.1\n", "1.1.0", false},
		{"no changelog", "", "1.1.0", false},
		{"empty version", "## 1.1.0\n", "", false},
		{"dots are literal", "## 1x1x0\n", "1.1.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, speccheck.ChangelogHasVersion([]byte(tt.changelog), tt.version))
		})
	}
}

// TestReadGitFile reads this repository without changing it; it is skipped
// outside a git work tree (a copy of the module without .git).
func TestReadGitFile(t *testing.T) {
	t.Parallel()
	if err := exec.CommandContext(t.Context(), "git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}").Run(); err != nil {
		t.Skipf("not in a git work tree with a commit: %v", err)
	}
	t.Run("committed file", func(t *testing.T) {
		t.Parallel()
		data, err := speccheck.ReadGitFile(t.Context(), "HEAD", realSpec)
		require.NoError(t, err)
		assert.Contains(t, string(data), "openapi: 3.0.3")
	})
	t.Run("file not at ref", func(t *testing.T) {
		t.Parallel()
		_, err := speccheck.ReadGitFile(t.Context(), "HEAD", "testdata/never-committed.yaml")
		require.ErrorIs(t, err, speccheck.ErrNotInRef)
	})
	t.Run("unknown ref", func(t *testing.T) {
		t.Parallel()
		_, err := speccheck.ReadGitFile(t.Context(), "no-such-ref-4f1c", realSpec)
		require.Error(t, err)
		assert.NotErrorIs(t, err, speccheck.ErrNotInRef)
	})
	t.Run("option-like ref", func(t *testing.T) {
		t.Parallel()
		_, err := speccheck.ReadGitFile(t.Context(), "--output=x", realSpec)
		require.Error(t, err)
		assert.NotErrorIs(t, err, speccheck.ErrNotInRef)
	})
}
