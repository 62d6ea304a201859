package main

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

// TestLoadSecretRefusesANewSecretForExistingData is not parallel: it clears
// SPOTZEE_KEYS_SECRET with t.Setenv.
func TestLoadSecretRefusesANewSecretForExistingData(t *testing.T) {
	t.Setenv(SecretEnv, "")
	ctx := context.Background()
	withProject := func(t *testing.T, path string) {
		db, err := sqlite.Open(ctx, path)
		require.NoError(t, err)
		_, err = db.CreateProject(ctx, "P", spotzee.TierStarter, time.Now())
		require.NoError(t, err)
		require.NoError(t, db.Close())
	}
	tests := []struct {
		name string
		// prepare makes the database (and secret file) before loadSecret.
		prepare func(t *testing.T, dbPath, secretPath string)
		wantErr bool
	}{
		{name: "no database yet", prepare: func(*testing.T, string, string) {}},
		{name: "an empty database", prepare: func(t *testing.T, dbPath, _ string) {
			db, err := sqlite.Open(ctx, dbPath)
			require.NoError(t, err)
			require.NoError(t, db.Close())
		}},
		{name: "data and its secret", prepare: func(t *testing.T, dbPath, secretPath string) {
			withProject(t, dbPath)
			require.NoError(t, os.WriteFile(secretPath, []byte(hex.EncodeToString(make([]byte, refserver.SecretSize))+"\n"), 0o600))
		}},
		{name: "data without its secret", prepare: func(t *testing.T, dbPath, _ string) { withProject(t, dbPath) }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dbPath := filepath.Join(dir, "keys.db")
			secretPath := dbPath + ".secret"
			tt.prepare(t, dbPath, secretPath)

			secret, err := loadSecret(ctx, dbPath, "")
			if tt.wantErr {
				require.Error(t, err)
				for _, fix := range []string{secretPath, "already holds data", SecretEnv, "--secret-file", "move the database away"} {
					assert.Contains(t, err.Error(), fix)
				}
				_, statErr := os.Stat(secretPath)
				assert.ErrorIs(t, statErr, os.ErrNotExist, "no new secret file")
				return
			}
			require.NoError(t, err)
			assert.Len(t, secret, refserver.SecretSize)
			info, err := os.Stat(secretPath)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		})
	}

	t.Run("bootstrap writes the secret with a new database", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "keys.db")
		r := runCLI(t, "bootstrap", "--db", dbPath)
		require.Equal(t, 0, r.code, r.stderr)
		_, err := os.Stat(dbPath + ".secret")
		require.NoError(t, err, "a later serve finds the data's secret")
		_, err = loadSecret(ctx, dbPath, "")
		assert.NoError(t, err)
	})
}
