package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/speccheck"
)

const (
	realSpec      = "../../openapi.yaml"
	lintFixtures  = "../../speccheck/testdata/lint/"
	oursSnapshot  = "../../speccheck/testdata/upstream/ours.yaml"
	equalUpstream = "../../speccheck/testdata/upstream/equal.json"
)

type result struct {
	code           int
	stdout, stderr string
}

// runApp runs the command with git replaced by gitFile (nil: no git call expected).
func runApp(t *testing.T, gitFile func(ref, file string) ([]byte, error), args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := newApp(&stdout, &stderr)
	a.readGitFile = func(_ context.Context, ref, file string) ([]byte, error) {
		require.NotNil(t, gitFile, "unexpected git read of %s at %s", file, ref)
		return gitFile(ref, file)
	}
	code := a.run(t.Context(), args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestRun_Usage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantErr: "usage: spotzee-spec"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: `unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, wantCode: exitOK},
		{name: "lint: two files", args: []string{"lint", "a.yaml", "b.yaml"}, wantCode: exitUsage, wantErr: "unexpected arguments: b.yaml"},
		{name: "lint: unknown flag", args: []string{"lint", "--strict"}, wantCode: exitUsage, wantErr: "flag provided but not defined"},
		{name: "breaking: no base", args: []string{"breaking"}, wantCode: exitUsage, wantErr: "--base REF is required"},
		{name: "breaking: stray argument", args: []string{"breaking", "--base", "HEAD", "x"}, wantCode: exitUsage, wantErr: "unexpected arguments: x"},
		{name: "compare-upstream: no spec", args: []string{"compare-upstream"}, wantCode: exitUsage, wantErr: "--spec FILE is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runApp(t, nil, tt.args...)
			assert.Equal(t, tt.wantCode, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.wantErr)
		})
	}
}

func TestRun_Lint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		file     string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "clean", file: lintFixtures + "valid.yaml", wantCode: exitOK, wantOut: "ok, no findings"},
		{name: "findings", file: lintFixtures + "operation-id.yaml", wantCode: exitFindings, wantOut: "1 finding(s)\n  #/paths/~1things~1{id}/get: operation has no operationId [operation-id]\n"},
		{name: "missing file", file: lintFixtures + "missing.yaml", wantCode: exitUsage, wantErr: "missing.yaml"},
		{name: "not OpenAPI", file: "main.go", wantCode: exitUsage, wantErr: "load main.go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runApp(t, nil, "lint", tt.file)
			assert.Equal(t, tt.wantCode, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stdout, tt.wantOut)
			assert.Contains(t, r.stderr, tt.wantErr)
		})
	}
}

// revision writes the real spec, with the revoke operation removed and
// info.version set to version, into dir and returns its path.
func revision(t *testing.T, dir, version string) string {
	t.Helper()
	doc, err := speccheck.LoadFile(t.Context(), realSpec)
	require.NoError(t, err)
	doc.Paths.Value("/keys/{keyId}").Delete = nil
	doc.Info.Version = version
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(dir, "openapi.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func TestRun_Breaking(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile(realSpec)
	require.NoError(t, err)
	gitBase := func(ref, _ string) ([]byte, error) {
		if ref != "HEAD~1" {
			return nil, fmt.Errorf("unexpected ref %q", ref)
		}
		return base, nil
	}
	real, err := speccheck.LoadFile(t.Context(), realSpec)
	require.NoError(t, err)
	current := real.Info.Version // the committed spec's version, for example 2.0.0
	const next = "99.0.0"
	dir := t.TempDir()
	bumped := revision(t, t.TempDir(), next)
	unbumped := revision(t, dir, current)
	changelog := filepath.Join(dir, "CHANGELOG.md")
	require.NoError(t, os.WriteFile(changelog, []byte("# Changelog\n\n## "+next+"\n\n### Removed\n\n- Revoke.\n\n## "+current+"\n"), 0o600))
	noChangelog := filepath.Join(dir, "NO-CHANGELOG.md")

	tests := []struct {
		name     string
		git      func(ref, file string) ([]byte, error)
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{
			name: "unchanged", git: gitBase, args: []string{"--spec", realSpec},
			wantCode: exitOK, wantOut: []string{"no breaking changes"},
		},
		{
			name: "breaking, not acknowledged", git: gitBase, args: []string{"--spec", unbumped, "--changelog", changelog},
			wantCode: exitFindings,
			wantOut: []string{
				"error   [api-removed-without-deprecation] DELETE /keys/{keyId}",
				"FAIL: 1 breaking change(s). info.version was not bumped (still " + current + ").\nIf the break is deliberate",
			},
		},
		{
			name: "breaking, bumped but no changelog", git: gitBase, args: []string{"--spec", bumped, "--changelog", noChangelog},
			wantCode: exitFindings, wantOut: []string{"FAIL: 1 breaking change(s).", "NO-CHANGELOG.md has no heading naming " + next},
		},
		{
			name: "breaking, bumped and in the changelog", git: gitBase, args: []string{"--spec", bumped, "--changelog", changelog},
			wantCode: exitOK, wantOut: []string{"[api-removed-without-deprecation]", "1 breaking change(s) accepted: info.version bumped " + current + " -> " + next},
		},
		{
			name: "no spec at the base ref",
			git: func(ref, file string) ([]byte, error) {
				return nil, fmt.Errorf("%s at %s: %w", file, ref, speccheck.ErrNotInRef)
			},
			args: []string{"--spec", realSpec}, wantCode: exitOK, wantOut: []string{"has no ../../openapi.yaml (first commit?): nothing to compare"},
		},
		{
			name: "git fails",
			git:  func(string, string) ([]byte, error) { return nil, errors.New("not a git repository") },
			args: []string{"--spec", realSpec}, wantCode: exitUsage, wantErr: "not a git repository",
		},
		{
			name: "missing spec", git: gitBase, args: []string{"--spec", filepath.Join(dir, "missing.yaml")},
			wantCode: exitUsage, wantErr: "missing.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runApp(t, tt.git, append([]string{"breaking", "--base", "HEAD~1"}, tt.args...)...)
			assert.Equal(t, tt.wantCode, r.code, r.stdout+r.stderr)
			for _, want := range tt.wantOut {
				assert.Contains(t, r.stdout, want)
			}
			assert.Contains(t, r.stderr, tt.wantErr)
		})
	}
}

func TestRun_CompareUpstream(t *testing.T) {
	t.Parallel()
	equal, err := os.ReadFile(equalUpstream)
	require.NoError(t, err)
	const limitDefault = `"default": 25`
	require.Equal(t, 1, strings.Count(string(equal), limitDefault))
	planted := filepath.Join(t.TempDir(), "planted.json")
	require.NoError(t, os.WriteFile(planted, []byte(strings.Replace(string(equal), limitDefault, `"default": 10`, 1)), 0o600))

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{
			name: "equal", args: []string{"--spec", equalUpstream, "--ours", oursSnapshot}, wantCode: exitOK,
			wantOut: "upstream paths carry the prefix /api/client\n5 operation(s) matched; 6 upstream operation(s) outside our coverage ignored\nno differences\n",
		},
		{
			name: "a planted difference", args: []string{"--spec", planted, "--ours", oursSnapshot}, wantCode: exitFindings,
			wantOut: "GET /keys\n  parameter query limit: default: ours 25, upstream 10\n1 difference(s)\n",
		},
		{name: "missing upstream file", args: []string{"--spec", "missing.json", "--ours", oursSnapshot}, wantCode: exitUsage, wantErr: "missing.json"},
		{name: "missing ours", args: []string{"--spec", equalUpstream, "--ours", "missing.yaml"}, wantCode: exitUsage, wantErr: "missing.yaml"},
		{name: "upstream not OpenAPI", args: []string{"--spec", "main_test.go", "--ours", oursSnapshot}, wantCode: exitUsage, wantErr: "compare-upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runApp(t, nil, append([]string{"compare-upstream"}, tt.args...)...)
			assert.Equal(t, tt.wantCode, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stdout, tt.wantOut)
			assert.Contains(t, r.stderr, tt.wantErr)
		})
	}
}
