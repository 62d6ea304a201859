package modgraph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOutsideModuleEmbedsTheStubs copies examples/embedded into a module of
// its own (so it can use only exported API) and runs its contract tests
// there: the generated interfaces, server.Unimplemented, the conventions
// layer and validate.Middleware, checked through validate.Transport with
// response validation, plus spotzeetest as Spotzee.
func TestOutsideModuleEmbedsTheStubs(t *testing.T) {
	if testing.Short() {
		t.Skip("shells out to go mod tidy / go test")
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	writeFile(t, dir, "go.mod", "module example.com/embedder\n\ngo 1.26.0\n\n"+
		"require "+modulePath+" v0.0.0\n\nreplace "+modulePath+" => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	writeFile(t, dir, "go.sum", string(sum))
	for _, name := range []string{"service.go", "service_test.go"} {
		src, err := os.ReadFile(filepath.Join(root, "examples", "embedded", name))
		require.NoError(t, err)
		// The test imports the example by its path inside this module.
		text := strings.ReplaceAll(string(src), modulePath+"/examples/embedded", "example.com/embedder")
		require.NotContains(t, text, modulePath+"/internal", "the example uses exported API only")
		writeFile(t, dir, name, text)
	}
	env := []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local"}
	tidy(t, dir, env)
	out := goRun(t, dir, env, "test", "-count=1", "./...")
	t.Logf("%s", out)
	require.Contains(t, string(out), "ok  \texample.com/embedder")
}
