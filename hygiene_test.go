package spotzee_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReferencedFilesExist holds the files the Makefile, mk/*.mk and the
// README name (docs/*.md, mk/*.sh, scripts/*.sh) to existing files.
func TestReferencedFilesExist(t *testing.T) {
	t.Parallel()
	sources, err := filepath.Glob("mk/*.mk")
	require.NoError(t, err)
	sources = append(sources, "Makefile", "README.md")
	ref := regexp.MustCompile(`\b(?:docs/[A-Za-z0-9_.-]+\.md|mk/[A-Za-z0-9_.-]+\.sh|scripts/[A-Za-z0-9_.-]+\.sh)\b`)
	for _, src := range sources {
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		for _, name := range ref.FindAllString(string(data), -1) {
			if strings.Contains(name, "*") {
				continue
			}
			_, err := os.Stat(name)
			assert.NoError(t, err, "%s names %s", src, name)
		}
	}
}

// TestGitignoreCoversLocalState checks that the files a local `make run`
// leaves (the database, its WAL and shared memory, the server secret) are
// ignored by git, so a secret is never committed by accident.
func TestGitignoreCoversLocalState(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(".gitignore")
	require.NoError(t, err)
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	ignored := func(name string) bool {
		for _, p := range patterns {
			if ok, _ := filepath.Match(strings.TrimPrefix(p, "/"), name); ok {
				return true
			}
		}
		return false
	}
	for _, name := range []string{
		"spotzee-keys.db", "spotzee-keys.db-wal", "spotzee-keys.db-shm", "spotzee-keys.db.secret", "spotzee-keys.db-journal",
	} {
		assert.True(t, ignored(name), "%s is not in .gitignore", name)
	}
}
