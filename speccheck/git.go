package speccheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotInRef is returned (wrapped) by ReadGitFile when the file does not
// exist at the ref, for example on the first commit.
var ErrNotInRef = errors.New("file does not exist at this git ref")

// ReadGitFile returns the content of file (a path in a git work tree) as
// committed at ref, like `git show REF:./file` run from the file's directory.
// It only reads the repository. It returns an error wrapping ErrNotInRef when
// ref exists but has no such file, and another error when ref is not a
// commit, the directory is not in a work tree or git is not installed.
func ReadGitFile(ctx context.Context, ref, file string) ([]byte, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("invalid git ref %q", ref)
	}
	dir, name := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	git := func(args ...string) ([]byte, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, msg)
			}
			return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return stdout.Bytes(), nil
	}
	if _, err := git("rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}"); err != nil {
		return nil, fmt.Errorf("git ref %q is not a commit in %s: %w", ref, dir, err)
	}
	object := ref + ":./" + name
	if _, err := git("cat-file", "-e", object); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("%s at %s: %w", file, ref, ErrNotInRef)
		}
		return nil, err
	}
	data, err := git("cat-file", "blob", object)
	if err != nil {
		return nil, err
	}
	return data, nil
}
