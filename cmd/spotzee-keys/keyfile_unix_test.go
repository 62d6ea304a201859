//go:build unix

package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteBootstrapKeyFile is not parallel: it sets the process umask to 0, under
// which a plain create would give others read access.
func TestWriteBootstrapKeyFile(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	const value = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"

	tests := []struct {
		name     string
		existing *os.FileMode
		wantWarn bool
	}{
		{name: "new file"},
		{name: "existing private file", existing: new(os.FileMode(0o600))},
		{name: "existing file others can read", existing: new(os.FileMode(0o644)), wantWarn: true},
		{name: "existing file the group can write", existing: new(os.FileMode(0o620)), wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "admin.key")
			if tt.existing != nil {
				require.NoError(t, os.WriteFile(path, []byte("an old key, longer than the new one\n"), *tt.existing))
				require.NoError(t, os.Chmod(path, *tt.existing))
			}
			var logs bytes.Buffer
			require.NoError(t, writeBootstrapKeyFile(path, value, slog.New(slog.NewTextHandler(&logs, nil))))

			info, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, value+"\n", string(data))
			if tt.wantWarn {
				assert.Contains(t, logs.String(), "now 0600")
			} else {
				assert.Empty(t, logs.String())
			}
			assert.NotContains(t, logs.String(), value, "the key is never logged")
		})
	}
}
