package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

// This file prototypes, outside the packages that own them, the fixes that
// profiling points to (see docs/performance.md), so that their gain is
// measured rather than guessed. Once a fix lands in sqlite/ or keys/, its
// variant here measures the same as "current" and can be deleted.

// preparedStore is the proposed fix of sqlite.DB.KeyByHash and sqlite.DB.Key:
// the same queries through statements prepared once — database/sql then
// keeps one prepared copy per pooled connection — instead of SQL text that
// modernc.org/sqlite parses and plans again on every call. Everything else
// goes to the real store.
type preparedStore struct {
	*sqlite.DB
	pool         *sql.DB
	byHash, byID *sql.Stmt
}

// keyColumns is sqlite's column list for a key, in scanKey's order.
const keyColumns = `id, project_id, name, description, scope, role, value_prefix, last4,
	is_system, created_at, updated_at, revoked_at`

func openPrepared(ctx context.Context, path string, store *sqlite.DB) (*preparedStore, error) {
	pool, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000&_foreign_keys=1&_query_only=1")
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(4)
	pool.SetMaxIdleConns(4)
	s := &preparedStore{DB: store, pool: pool}
	if s.byHash, err = pool.PrepareContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`); err == nil {
		s.byID, err = pool.PrepareContext(ctx, `SELECT `+keyColumns+` FROM api_keys
			WHERE id = ? AND project_id = ? AND revoked_at IS NULL`)
	}
	if err != nil {
		_ = pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *preparedStore) close() { _ = s.pool.Close() }

func (s *preparedStore) KeyByHash(ctx context.Context, hash []byte) (spotzee.APIKey, error) {
	k, err := scanStoredKey(s.byHash.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with this value.")
	}
	return k, err
}

func (s *preparedStore) Key(ctx context.Context, projectID, id int64) (spotzee.APIKey, error) {
	k, err := scanStoredKey(s.byID.QueryRowContext(ctx, id, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with id %d in this project.", id)
	}
	return k, err
}

// scanStoredKey reads a key row as sqlite's scanKey does.
func scanStoredKey(row *sql.Row) (spotzee.APIKey, error) {
	var (
		k                spotzee.APIKey
		desc, revoked    sql.NullString
		created, updated string
		scope, role      string
	)
	if err := row.Scan(&k.ID, &k.ProjectID, &k.Name, &desc, &scope, &role, &k.ValuePrefix, &k.Last4,
		&k.IsSystem, &created, &updated, &revoked); err != nil {
		return spotzee.APIKey{}, err
	}
	k.Scope, k.Role = spotzee.Scope(scope), spotzee.Role(role)
	if desc.Valid {
		k.Description = &desc.String
	}
	const layout = "2006-01-02T15:04:05.000000000Z"
	var err error
	if k.CreatedAt, err = time.Parse(layout, created); err != nil {
		return spotzee.APIKey{}, err
	}
	if k.UpdatedAt, err = time.Parse(layout, updated); err != nil {
		return spotzee.APIKey{}, err
	}
	if revoked.Valid {
		t, err := time.Parse(layout, revoked.String)
		if err != nil {
			return spotzee.APIKey{}, err
		}
		k.RevokedAt = &t
	}
	return k, nil
}

// cachedAuthStore answers KeyByHash from memory after the first lookup of a
// hash: the upper bound of what caching authentication could gain. It never
// forgets a key, so it is only a measurement: a real cache must drop a key
// when it is revoked or changed (see docs/performance.md).
type cachedAuthStore struct {
	spotzee.Store
	cache sync.Map // string(hash) -> spotzee.APIKey
}

func (s *cachedAuthStore) KeyByHash(ctx context.Context, hash []byte) (spotzee.APIKey, error) {
	if k, ok := s.cache.Load(string(hash)); ok {
		return k.(spotzee.APIKey), nil
	}
	k, err := s.Store.KeyByHash(ctx, hash)
	if err == nil {
		s.cache.Store(string(hash), k)
	}
	return k, err
}

// BenchmarkProposals measures GET /keys/{id} in-process through the full
// stack (varFull: conventions, validation with the bearer lookup, strict
// handler) on a SQLite file holding 1000 keys, as it is ("current") and
// with each proposed fix prototyped here: "prepared" (KeyByHash and Key
// through prepared statements) and "prepared+authcache" (also skipping the
// bearer lookup, an upper bound). It compares them (see compare).
func BenchmarkProposals(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "keys.db")
	e := newEnv(b, path, 1000)
	prepared, err := openPrepared(ctx, path, e.ref.Store())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(prepared.close)
	handler := func(store spotzee.Store) http.Handler {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		h, err := httpapi.NewHandler(httpapi.Config{
			Service: keys.New(store, secret), Idempotency: e.ref.Store(), IdempotencySecret: secret, Logger: discard,
		})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	url := fmt.Sprintf("%s/keys/%d", inProcessBase, e.middleKey())
	get := func(name string, h http.Handler) variant {
		return variant{name: name, call: func(timer) error {
			if w := serveHTTP(h, e.newRequest(http.MethodGet, url, "")); w.Code != http.StatusOK {
				return fmt.Errorf("status %d: %s", w.Code, w.Body)
			}
			return nil
		}}
	}
	c := compare(b, []variant{
		get("current", e.handlers[varFull]),
		get("prepared", handler(prepared)),
		get("prepared+authcache", handler(&cachedAuthStore{Store: prepared})),
	})
	var sb strings.Builder
	sb.WriteString(c.summary("Proposals: GET /keys/{id} in-process, full stack, SQLite file, 1000 keys"))
	report(sb.String())
}
