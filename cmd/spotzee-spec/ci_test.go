package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mk/ci-spec.sh must never fail for lack of history: run from a copy outside
// any git work tree, it skips the gate and succeeds.
func TestCISpecScript_SkipsWithoutHistory(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	script, err := os.ReadFile("../../mk/ci-spec.sh")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "mk"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mk", "ci-spec.sh"), script, 0o600))

	cmd := exec.CommandContext(t.Context(), "bash", filepath.Join(dir, "mk", "ci-spec.sh"))
	// Keep git from finding a repository above the temporary directory, or
	// one named by the environment (as inside a git hook).
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GIT_DIR=") || strings.HasPrefix(kv, "GIT_WORK_TREE=")
	})
	cmd.Env = append(env, "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir))
	out, err := cmd.CombinedOutput()

	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "breaking-change check skipped")
}
