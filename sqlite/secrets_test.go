package sqlite_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/sqlite"
)

func randomSecret() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

func TestSecretCreatedOnceAndPersisted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	db, err := sqlite.Open(ctx, path)
	require.NoError(t, err)

	var calls atomic.Int32
	gen := func() ([]byte, error) { calls.Add(1); return randomSecret() }
	first, err := db.Secret(ctx, "cursor", gen)
	require.NoError(t, err)
	require.Len(t, first, 32)
	again, err := db.Secret(ctx, "cursor", gen)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.EqualValues(t, 1, calls.Load(), "gen runs only when the secret is absent")

	other, err := db.Secret(ctx, "response", randomSecret)
	require.NoError(t, err)
	assert.NotEqual(t, first, other, "secrets are per name")
	require.NoError(t, db.Close())

	db, err = sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	reopened, err := db.Secret(ctx, "cursor", func() ([]byte, error) {
		t.Error("gen called for a stored secret")
		return randomSecret()
	})
	require.NoError(t, err)
	assert.Equal(t, first, reopened, "a secret survives a restart")
}

func TestSecretConcurrentFirstCalls(t *testing.T) {
	t.Parallel()
	for name, open := range openBoth(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			const n = 20
			got := make([][]byte, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					v, err := db.Secret(context.Background(), "shared", randomSecret)
					assert.NoError(t, err)
					got[i] = v
				})
			}
			wg.Wait()
			require.Len(t, got[0], 32)
			for i := range got {
				assert.Equal(t, got[0], got[i], "caller %d", i)
			}
		})
	}
}

func TestSecretGeneratorErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMem(t)
	boom := errors.New("no entropy")
	_, err := db.Secret(ctx, "s", func() ([]byte, error) { return nil, boom })
	assert.ErrorIs(t, err, boom)
	_, err = db.Secret(ctx, "s", func() ([]byte, error) { return nil, nil })
	assert.Error(t, err, "an empty secret is refused")

	v, err := db.Secret(ctx, "s", randomSecret)
	require.NoError(t, err)
	assert.Len(t, v, 32, "failed calls stored nothing")
}
