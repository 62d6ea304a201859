package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
)

// TestBootstrapRecoversAProjectAdmin: `bootstrap --project-id N` is the
// operator's way back into a project whose admin keys are lost (the API
// refuses to revoke or demote the last one, but a key value can be lost).
func TestBootstrapRecoversAProjectAdmin(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "keys.db")
	first := runCLI(t, "bootstrap", "--db", db, "--project", "A")
	require.Equal(t, 0, first.code, first.stderr)
	firstKey := strings.TrimSpace(first.stdout)

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "existing project", args: []string{"--project-id", "1"}},
		{name: "unknown project", args: []string{"--project-id", "99"}, wantCode: 1, wantStderr: "project 99"},
		{name: "negative id", args: []string{"--project-id", "-1"}, wantCode: 2, wantStderr: "positive project id"},
		{name: "with --project", args: []string{"--project-id", "1", "--project", "B"}, wantCode: 2, wantStderr: "not with --project"},
		{name: "with --tier", args: []string{"--project-id", "1", "--tier", "enterprise"}, wantCode: 2, wantStderr: "not with --project or --tier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the subtests share the database file.
			r := runCLI(t, append([]string{"bootstrap", "--db", db}, tt.args...)...)
			require.Equal(t, tt.wantCode, r.code, "stderr: %s", r.stderr)
			if tt.wantCode != 0 {
				assert.Empty(t, r.stdout)
				assert.Contains(t, r.stderr, tt.wantStderr)
				return
			}
			value := strings.TrimSpace(r.stdout)
			assert.Equal(t, value+"\n", r.stdout, "just the key")
			assert.NotEqual(t, firstKey, value)

			srv, err := refserver.Open(context.Background(), refserver.Config{DBPath: db, RateLimits: ratelimit.Config{Disabled: true}})
			require.NoError(t, err)
			defer srv.Close()
			k, err := srv.Service().Authenticate(context.Background(), value)
			require.NoError(t, err, "the new key authenticates")
			assert.Equal(t, int64(1), k.ProjectID, "in the existing project")
			assert.Equal(t, spotzee.RoleAdmin, k.Role)
			assert.Equal(t, "Recovery admin key", k.Name)
			p, err := srv.Store().Project(context.Background(), 2)
			assert.Equal(t, spotzee.CodeResourceMissing, spotzee.ErrorCode(err), "no project was created: %+v", p)
		})
	}
}
