package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

func TestOpenMemoryIsPrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := openMem(t), openMem(t)
	p := newProject(t, a)
	k := newKey(t, a, p.ID, "only in a", t0, nil)

	_, err := b.Project(ctx, p.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	_, err = b.Key(ctx, p.ID, k.ID)
	requireCode(t, spotzee.CodeResourceMissing, err)

	// Each has its own schema and its own ids.
	q := newProject(t, b)
	assert.Equal(t, p.ID, q.ID)
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	notDB := filepath.Join(t.TempDir(), "not.db")
	require.NoError(t, os.WriteFile(notDB, bytes.Repeat([]byte("not a database "), 100), 0o600))

	for name, path := range map[string]string{
		"empty path":       "",
		"not a database":   notDB,
		"missing dir":      filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"),
		"directory itself": t.TempDir(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, err := sqlite.Open(ctx, path)
			assert.Error(t, err)
			assert.Nil(t, db)
		})
	}
}

func TestOpenOddFileName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys?mode=ro#x%41.db")
	db, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	newProject(t, db)
	require.NoError(t, db.Close())
	_, err = os.Stat(path)
	assert.NoError(t, err, "the file is named exactly as given")
}

func TestPersistenceAcrossReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")

	db, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	p, err := db.CreateProject(ctx, "Acme", spotzee.TierStarter, t0)
	require.NoError(t, err)
	require.NoError(t, db.SetProjectTier(ctx, p.ID, spotzee.TierEnterprise))
	p.Tier = spotzee.TierEnterprise
	var keys []spotzee.APIKey
	var hashes [][]byte
	for i := range 5 {
		in, _ := newKeyInput(p.ID, fmt.Sprintf("key %d", i), t0.Add(time.Duration(i)*time.Nanosecond))
		if i == 2 {
			in.Description = ptr("described")
		}
		k, err := db.CreateKey(ctx, in)
		require.NoError(t, err)
		keys, hashes = append(keys, k), append(hashes, in.Hash)
	}
	keys[1], err = db.UpdateKey(ctx, 0, p.ID, keys[1].ID, spotzee.KeyUpdate{Name: ptr("renamed")}, t0.Add(time.Hour+time.Nanosecond))
	require.NoError(t, err)
	keys[3], err = db.RevokeKey(ctx, 0, p.ID, keys[3].ID, t0.Add(2*time.Hour+7*time.Nanosecond))
	require.NoError(t, err)
	applied := migrationsApplied(t, path)
	require.NoError(t, db.Close())

	db, err = sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()

	gotP, err := db.Project(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, gotP)
	for i, k := range keys {
		got, err := db.KeyByHash(ctx, hashes[i])
		require.NoError(t, err)
		assert.Equal(t, k, got, "key %d survives exactly, timestamps to the nanosecond", i)
	}
	_, err = db.Key(ctx, p.ID, keys[3].ID)
	requireCode(t, spotzee.CodeResourceMissing, err)
	page, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p.ID})
	require.NoError(t, err)
	assert.Equal(t, ids(slices.Delete(slices.Clone(keys), 3, 4)), ids(page.Keys))

	assert.Equal(t, applied, migrationsApplied(t, path), "reopening applies no migration again")
	// And new ids continue after the old ones.
	k := newKey(t, db, p.ID, "after reopen", t0, nil)
	assert.Greater(t, k.ID, keys[4].ID)
}

// migrationsApplied reads schema_migrations of the database file at path
// through a separate connection: version → applied_at.
func migrationsApplied(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer raw.Close()
	rows, err := raw.Query(`SELECT version, applied_at FROM schema_migrations`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var v, at string
		require.NoError(t, rows.Scan(&v, &at))
		out[v] = at
	}
	require.NoError(t, rows.Err())
	entries, err := os.ReadDir("migrations")
	require.NoError(t, err)
	require.Len(t, out, len(entries), "one record per embedded migration")
	return out
}

// TestNoKeyValueOnDisk documents that the database never holds a key's full
// value, only its hash and last four characters.
func TestNoKeyValueOnDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := openFile(t)
	p := newProject(t, db)
	var values []string
	var hashes [][]byte
	for i := range 10 {
		in, value := newKeyInput(p.ID, fmt.Sprintf("key %d", i), t0)
		_, err := db.CreateKey(ctx, in)
		require.NoError(t, err)
		values, hashes = append(values, value), append(hashes, in.Hash)
	}

	files := func() []byte {
		var all []byte
		for _, suffix := range []string{"", "-wal", "-journal"} {
			b, err := os.ReadFile(path + suffix)
			if suffix == "" || err == nil {
				require.NoError(t, err)
			}
			all = append(all, b...)
		}
		return all
	}
	check := func(when string) {
		disk := files()
		for i, v := range values {
			assert.False(t, bytes.Contains(disk, []byte(v)), "%s: value %d is on disk", when, i)
			// Nor its secret part alone (everything after the prefix).
			assert.False(t, bytes.Contains(disk, []byte(strings.TrimPrefix(v, "sk_"))), "%s: value %d body on disk", when, i)
			// The store did write something: the hash is there.
			assert.True(t, bytes.Contains(disk, hashes[i]), "%s: hash %d not on disk", when, i)
		}
	}
	check("open")
	require.NoError(t, db.Close())
	check("closed")
}

func TestWALMode(t *testing.T) {
	t.Parallel()
	db, path := openFile(t)
	newProject(t, db)
	_, err := os.Stat(path + "-wal")
	assert.NoError(t, err, "a file database writes through a WAL")
}

func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	for name, open := range openBoth(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			p := newProject(t, db)
			const n = 50
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				created  = map[int64]bool{}
				stopRead = make(chan struct{})
				readErrs = make(chan error, 1)
			)
			// Readers run alongside the writers the whole time.
			var readers sync.WaitGroup
			for range 4 {
				readers.Go(func() {
					for {
						select {
						case <-stopRead:
							return
						default:
						}
						if _, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p.ID, Sort: spotzee.SortName, Limit: 10}); err != nil {
							select {
							case readErrs <- err:
							default:
							}
							return
						}
					}
				})
			}
			for i := range n {
				wg.Go(func() {
					in, _ := newKeyInput(p.ID, fmt.Sprintf("key %d", i), t0.Add(time.Duration(i)))
					k, err := db.CreateKey(ctx, in)
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					assert.False(t, created[k.ID], "id %d given twice", k.ID)
					created[k.ID] = true
				})
			}
			wg.Wait()
			close(stopRead)
			readers.Wait()
			select {
			case err := <-readErrs:
				require.NoError(t, err)
			default:
			}
			assert.Len(t, created, n)
			count, err := db.CountKeys(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, n, count)
		})
	}
}

func TestConcurrentUpdateNoTornFields(t *testing.T) {
	t.Parallel()
	for name, open := range openBoth(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			p := newProject(t, db)
			k := newKey(t, db, p.ID, "contended", t0, nil)
			// Another admin key, so that demoting "contended" from admin is allowed.
			newKey(t, db, p.ID, "keeper", t0, func(k *spotzee.NewKey) { k.Role = spotzee.RoleAdmin })
			roles := []spotzee.Role{spotzee.RoleSupport, spotzee.RoleSMTPProxy, spotzee.RoleEditor, spotzee.RolePublisher, spotzee.RoleAdmin}
			scopes := []spotzee.Scope{spotzee.ScopePublic, spotzee.ScopeSecret}
			// request i writes every field with values derived from i.
			request := func(i int) (spotzee.KeyUpdate, time.Time) {
				return spotzee.KeyUpdate{
					Name:           ptr(fmt.Sprintf("name %d", i)),
					SetDescription: true,
					Description:    ptr(fmt.Sprintf("description %d", i)),
					Scope:          ptr(scopes[i%len(scopes)]),
					Role:           ptr(roles[i%len(roles)]),
				}, t0.Add(time.Duration(i) * time.Second)
			}
			expect := func(i int) spotzee.APIKey {
				u, at := request(i)
				want := k
				want.Name, want.Description, want.Scope, want.Role, want.UpdatedAt = *u.Name, u.Description, *u.Scope, *u.Role, at.UTC()
				return want
			}

			const n = 40
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					u, at := request(i)
					got, err := db.UpdateKey(ctx, 0, p.ID, k.ID, u, at)
					if assert.NoError(t, err) {
						assert.Equal(t, expect(i), got, "request %d sees its own update whole", i)
					}
				})
			}
			wg.Wait()

			final, err := db.Key(ctx, p.ID, k.ID)
			require.NoError(t, err)
			var i int
			_, err = fmt.Sscanf(final.Name, "name %d", &i)
			require.NoError(t, err)
			assert.Equal(t, expect(i), final, "the final row is request %d's, whole", i)
		})
	}
}
