package modgraph

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	modulePath     = "github.com/spotzeekit/spotzee-keys"
	consumerModule = "example.com/consumer"
)

// Forbidden substrings in the dependency list of a generated package.
const (
	kinOpenAPI = "github.com/getkin/kin-openapi"
	generator  = "github.com/oapi-codegen/oapi-codegen"
)

// allowedRuntimeDeps are the non-standard-library import paths (module
// roots) a generated package may depend on: the oapi-codegen runtime, the
// nullable helper, and exactly the transitive dependencies of the runtime.
var allowedRuntimeDeps = []string{
	"github.com/oapi-codegen/runtime",
	"github.com/oapi-codegen/nullable",
	"github.com/google/uuid",
	"github.com/apapsch/go-jsonmerge/v2",
}

// generatedPackages are the packages produced by oapi-codegen.
var generatedPackages = []string{
	modulePath + "/server",
	modulePath + "/client",
}

func TestGeneratedPackagesImportOnlyTheirRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("shells out to go list")
	}
	root := moduleRoot(t)

	for _, pkg := range generatedPackages {
		t.Run(filepath.Base(pkg), func(t *testing.T) {
			all := goLines(t, root, nil, "list", "-deps", pkg)
			require.NotEmpty(t, all, "go list -deps %s printed nothing", pkg)
			t.Logf("go list -deps %s:\n%s", pkg, strings.Join(all, "\n"))
			for _, line := range all {
				assert.NotContains(t, line, kinOpenAPI, "%s must not depend on kin-openapi", pkg)
				assert.NotContains(t, line, generator, "%s must not depend on the code generator", pkg)
			}

			nonStd := goLines(t, root, nil, "list", "-deps",
				"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
			require.Contains(t, nonStd, pkg, "go list -deps should include the package itself")

			var own, disallowed []string
			for _, dep := range nonStd {
				switch {
				case dep == pkg:
				case withinPath(dep, modulePath):
					own = append(own, dep)
				case !allowed(dep):
					disallowed = append(disallowed, dep)
				}
			}
			assert.Empty(t, disallowed,
				"%s depends on packages outside its runtime (allowed: %v)", pkg, allowedRuntimeDeps)
			assert.Empty(t, own,
				"%s must not import other packages of %s", pkg, modulePath)
		})
	}
}

func TestConsumerModuleGetsNoGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("shells out to go mod tidy / go build / go vet")
	}
	root := moduleRoot(t)
	dir := t.TempDir()

	goMod := "module " + consumerModule + "\n\n" +
		"go 1.26.0\n\n" +
		"require " + modulePath + " v0.0.0\n\n" +
		"replace " + modulePath + " => " + root + "\n"
	mainGo := `package main

import (
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

var (
	_ = spotzeetest.NewServer
	_ = client.New
)

func main() {}
`
	consumerTest := `package main

import (
	"testing"

	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

func TestConsumerCompiles(t *testing.T) {
	var _ = spotzeetest.NewServer
	_ = t
}
`
	writeFile(t, dir, "go.mod", goMod)
	writeFile(t, dir, "main.go", mainGo)
	writeFile(t, dir, "consumer_test.go", consumerTest)
	// The module cache is the only source (GOPROXY=off); seeding go.sum with
	// the main module's checksums lets tidy verify what it finds there.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	writeFile(t, dir, "go.sum", string(sum))

	env := []string{
		"GOFLAGS=-mod=mod -buildvcs=false",
		"GOPROXY=off",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	}

	tidy(t, dir, env)

	tidied, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	t.Logf("consumer require block(s):\n%s", requireBlocks(string(tidied)))

	assert.NotContains(t, string(tidied), "oapi-codegen/oapi-codegen",
		"consumer go.mod must not pull in the code generator module")
	assert.NotContains(t, string(tidied), "\ntool ",
		"tool directives must not leak into the consumer")
	assert.Contains(t, string(tidied), "github.com/oapi-codegen/runtime",
		"consumer should get the runtime the generated client needs")

	// With -mod=mod, build and vet would silently add missing requirements;
	// the tidied go.mod must already be complete.
	goRun(t, dir, env, "build", "./...")
	goRun(t, dir, env, "vet", "./...")
	after, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, string(tidied), string(after), "go build/vet changed the tidied go.mod")
}

// tidy runs go mod tidy in the consumer module. go mod tidy also resolves
// the imports of the tests of every dependency (in other modules too); with
// GOPROXY=off, modules needed only by such tests may be missing from the
// module cache, since go mod download in the main module does not fetch
// them. Those failures say nothing about what the consumer's own packages
// need, so they are tolerated, and tidy is rerun with -e; any other failure
// fails the test.
func tidy(t *testing.T, dir string, env []string) {
	t.Helper()
	stderr, err := goTry(t, dir, env, "mod", "tidy")
	if err == nil {
		return
	}
	var unexpected []string
	var testOnly []string
	for _, block := range errorBlocks(stderr) {
		if missingForDependencyTest(block) {
			testOnly = append(testOnly, block)
			continue
		}
		unexpected = append(unexpected, block)
	}
	require.Empty(t, unexpected, "go mod tidy failed: %v\nstderr:\n%s", err, stderr)
	require.NotEmpty(t, testOnly, "go mod tidy failed without a diagnosable error: %v\nstderr:\n%s", err, stderr)
	t.Logf("go mod tidy: %d package(s) imported only by tests of dependencies are missing "+
		"from the module cache (GOPROXY=off); rerunning with -e. First:\n%s", len(testOnly), testOnly[0])
	goRun(t, dir, env, "mod", "tidy", "-e")
}

// errorBlocks splits go command stderr into diagnostics, dropping progress
// lines. A diagnostic starts with "go: " and continues on tab-indented
// lines.
func errorBlocks(stderr string) []string {
	var blocks []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for line := range strings.SplitSeq(stderr, "\n") {
		switch {
		case strings.HasPrefix(line, "\t") && len(cur) > 0:
			cur = append(cur, line)
		case strings.HasPrefix(line, "go: downloading "),
			strings.HasPrefix(line, "go: finding module for package "),
			strings.HasPrefix(line, "go: found "),
			strings.TrimSpace(line) == "":
			flush()
		default:
			flush()
			cur = []string{line}
		}
	}
	flush()
	return blocks
}

// missingForDependencyTest reports whether an import-stack diagnostic is a
// package that cannot be loaded with the module proxy off ("cannot find
// module providing package", or a module lookup for a version not in the
// cache) and that is reached only through the test of a package outside the
// consumer module.
func missingForDependencyTest(block string) bool {
	if !strings.Contains(block, "GOPROXY=off") {
		return false
	}
	for line := range strings.SplitSeq(block, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "go: ")
		pkg, ok := strings.CutSuffix(line, " tested by")
		if ok && !withinPath(pkg, consumerModule) {
			return true
		}
	}
	return false
}

// moduleRoot walks up from the working directory to the go.mod that
// declares modulePath and returns its directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(data, modulePath) {
			abs, err := filepath.Abs(dir)
			require.NoError(t, err)
			return abs
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod declaring module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func declaresModule(goMod []byte, path string) bool {
	for line := range strings.SplitSeq(string(goMod), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "module" && strings.Trim(fields[1], `"`) == path {
			return true
		}
	}
	return false
}

// withinPath reports whether importPath is path or a package below it.
func withinPath(importPath, path string) bool {
	return importPath == path || strings.HasPrefix(importPath, path+"/")
}

func allowed(importPath string) bool {
	return slices.ContainsFunc(allowedRuntimeDeps, func(p string) bool {
		return withinPath(importPath, p)
	})
}

// goRun runs the go command in dir with extra environment entries
// overriding the inherited ones, failing the test on error.
func goRun(t *testing.T, dir string, env []string, args ...string) []byte {
	t.Helper()
	stdout, stderr, err := goExec(t, dir, env, args...)
	require.NoError(t, err, "go %s failed:\nstdout:\n%s\nstderr:\n%s",
		strings.Join(args, " "), stdout, stderr)
	return stdout
}

// goTry runs the go command and returns its stderr and error without
// failing the test.
func goTry(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	_, stderr, err := goExec(t, dir, env, args...)
	return stderr, err
}

func goExec(t *testing.T, dir string, env []string, args ...string) ([]byte, string, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = mergeEnv(os.Environ(), env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("go %s (in %s) took %s", strings.Join(args, " "), dir, time.Since(start).Round(time.Millisecond))
	return stdout.Bytes(), stderr.String(), err
}

// goLines runs the go command and returns its non-empty output lines.
func goLines(t *testing.T, dir string, env []string, args ...string) []string {
	t.Helper()
	var lines []string
	for line := range strings.SplitSeq(string(goRun(t, dir, env, args...)), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// mergeEnv returns base with every KEY=value of overrides replacing any
// existing entry for KEY.
func mergeEnv(base, overrides []string) []string {
	keys := make(map[string]bool, len(overrides))
	for _, kv := range overrides {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	out := make([]string, 0, len(base)+len(overrides))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !keys[k] {
			out = append(out, kv)
		}
	}
	return append(out, overrides...)
}

// requireBlocks extracts the require directives of a go.mod file.
func requireBlocks(goMod string) string {
	var b strings.Builder
	inBlock := false
	for line := range strings.SplitSeq(goMod, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case inBlock:
			b.WriteString(line + "\n")
			if trimmed == ")" {
				inBlock = false
			}
		case strings.HasPrefix(trimmed, "require ("):
			inBlock = true
			b.WriteString(line + "\n")
		case strings.HasPrefix(trimmed, "require "):
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}
