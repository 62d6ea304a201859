package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/postgres/pgtest"
)

// explain returns the EXPLAIN lines of s, planned for its arguments as
// ListKeys runs it.
func explain(t *testing.T, db *DB, s stmt) string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), "EXPLAIN "+s.sql, s.args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

// TestSearchUsesTrigramIndexes seeds a project with 20,000 keys (and a few
// elsewhere), then checks that a text filter of three or more characters
// reads the trigram indexes of migration 0003 (a bitmap of the name's and
// the description's), in every order, with and without a cursor, for the
// page, the EXISTS and the count, rather than walking the project's sort
// index; and that it finds what it should.
func TestSearchUsesTrigramIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.DSN(t))
	require.NoError(t, err)
	defer db.Close()
	var available bool
	require.NoError(t, db.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')`).Scan(&available))
	if !available {
		t.Skip("pg_trgm is not available on the test server: migration 0003 creates no index")
	}
	var indexes []string
	rows, err := db.pool.Query(ctx, `SELECT indexname FROM pg_indexes
		WHERE schemaname = current_schema() AND indexname LIKE '%\_trgm' ORDER BY indexname`)
	require.NoError(t, err)
	indexes, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{
		"api_keys_live_description_trgm", "api_keys_live_name_trgm",
		"org_api_keys_live_description_trgm", "org_api_keys_live_name_trgm",
		"projects_description_trgm", "projects_name_trgm",
	}, indexes)

	p, err := db.CreateProject(ctx, "Big", spotzee.TierStarter, time.Now())
	require.NoError(t, err)
	other, err := db.CreateProject(ctx, "Other", spotzee.TierStarter, time.Now())
	require.NoError(t, err)
	_, err = db.pool.Exec(ctx, `INSERT INTO api_keys (project_id, name, description, name_fold, description_fold, scope, role,
			value_prefix, last4, hash, created_at, updated_at)
		SELECT $1, n, d, lower(n), lower(d), 'secret', 'support', 'sk_', 'abcd', sha256(convert_to(n || i, 'UTF8')), at, at
		FROM generate_series(1, 20000) i,
			LATERAL (SELECT 'seed ' || i AS n, CASE WHEN i % 7 = 0 THEN 'seeded key ' || i END AS d,
				to_char(timestamp '2026-01-01' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS".000000000Z"') AS at) x`, p.ID)
	require.NoError(t, err)
	for i, k := range []struct {
		project int64
		name    string
		desc    *string
	}{
		{p.ID, "Zebra", nil}, {p.ID, "plain", ptr("a ZEBRA here")}, {p.ID, "zebra too", ptr("zebra")},
		{other.ID, "zebra elsewhere", nil},
	} {
		v := fmt.Sprintf("sk_needle%032d", i)
		h := sha256.Sum256([]byte(v))
		_, err := db.CreateKey(ctx, spotzee.NewKey{ProjectID: k.project, Name: k.name, Description: k.desc,
			Scope: spotzee.ScopeSecret, Role: spotzee.RoleAdmin, ValuePrefix: "sk_", Last4: v[len(v)-4:],
			Hash: h[:], CreatedAt: time.Now()})
		require.NoError(t, err)
	}
	// VACUUM also moves the GIN indexes' pending entries (fast update) into
	// the index proper, as autovacuum would.
	_, err = db.pool.Exec(ctx, `VACUUM ANALYZE api_keys`)
	require.NoError(t, err)

	page, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p.ID, Query: "ZEBRA", Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Total)
	assert.True(t, page.HasNext)
	// A cursor in the middle of the seeded keys, so that either side of it
	// holds 10,000 keys the sort index would walk. (A cursor bounding a few
	// keys, such as the last page's, may rightly walk the sort index.)
	middle, err := db.Key(ctx, p.ID, page.Keys[0].ID-10000)
	require.NoError(t, err)

	for _, f := range []spotzee.SortField{spotzee.SortID, spotzee.SortName, spotzee.SortCreatedAt, spotzee.SortUpdatedAt} {
		for _, desc := range []bool{false, true} {
			for _, cursor := range []string{"none", "after", "before"} {
				q := spotzee.ListQuery{ProjectID: p.ID, Sort: f, Desc: desc, Limit: 25, Query: "zebra"}
				pos := spotzee.PositionOf(middle, f)
				switch cursor {
				case "after":
					q.After = &pos
				case "before":
					q.Before = &pos
				}
				name := fmt.Sprintf("%s desc=%v cursor=%s", f, desc, cursor)
				plan, err := planList(q)
				require.NoError(t, err, name)
				stmts := map[string]stmt{"page": plan.page, "count": plan.count}
				if plan.other != nil {
					stmts["exists"] = *plan.other
				}
				for which, s := range stmts {
					got := explain(t, db, s)
					assert.Contains(t, got, "Bitmap Index Scan on api_keys_live_name_trgm", "%s: %s\n%s", name, which, got)
					assert.Contains(t, got, "Bitmap Index Scan on api_keys_live_description_trgm", "%s: %s\n%s", name, which, got)
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestMigrationWithoutTrigram opens a store in a new database as a role that
// may not create extensions, so pg_trgm cannot be installed there: migration
// 0003 still succeeds (creating no index), the store opens, and the text
// filter works by scanning. It needs a superuser DSN (to create the
// database and the role) and skips otherwise.
func TestMigrationWithoutTrigram(t *testing.T) {
	pgtest.SkipWithout(t)
	t.Parallel()
	ctx := context.Background()
	base := os.Getenv(pgtest.EnvDSN)
	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer admin.Close(ctx)
	var super bool
	require.NoError(t, admin.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super))
	if !super {
		t.Skip("needs a superuser DSN to create a database and a role")
	}
	name := "spotzee_notrgm_" + strings.ToLower(rand.Text())
	_, err = admin.Exec(ctx, `CREATE ROLE `+name+` LOGIN`)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, `CREATE DATABASE `+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, base)
		require.NoError(t, err)
		defer c.Close(ctx)
		_, err = c.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`)
		assert.NoError(t, err)
		_, err = c.Exec(ctx, `DROP ROLE `+name)
		assert.NoError(t, err)
	})
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/" + name
	superDB := u.String()
	c, err := pgx.Connect(ctx, superDB)
	require.NoError(t, err)
	// The role owns its schema, nothing else: no CREATE on the database
	// (which a trusted extension needs) nor on public.
	_, err = c.Exec(ctx, `CREATE SCHEMA app AUTHORIZATION `+name+`; REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
	require.NoError(t, c.Close(ctx))
	require.NoError(t, err)
	u.User = url.User(name)
	q := u.Query()
	q.Set("search_path", "app")
	u.RawQuery = q.Encode()

	db, err := Open(ctx, u.String())
	require.NoError(t, err, "migration 0003 must not stop the server")
	defer db.Close()
	var ext, indexes int
	require.NoError(t, db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'`).Scan(&ext))
	assert.Zero(t, ext)
	require.NoError(t, db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%\_trgm'`).Scan(&indexes))
	assert.Zero(t, indexes)
	var applied bool
	require.NoError(t, db.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = '0003_search_trgm.sql')`).Scan(&applied))
	assert.True(t, applied)

	p, err := db.CreateProject(ctx, "P", spotzee.TierStarter, time.Now())
	require.NoError(t, err)
	h := sha256.Sum256([]byte(name))
	_, err = db.CreateKey(ctx, spotzee.NewKey{ProjectID: p.ID, Name: "Zebra crossing", Scope: spotzee.ScopeSecret,
		Role: spotzee.RoleAdmin, ValuePrefix: "sk_", Last4: "abcd", Hash: h[:], CreatedAt: time.Now()})
	require.NoError(t, err)
	page, err := db.ListKeys(ctx, spotzee.ListQuery{ProjectID: p.ID, Query: "ZEBRA"})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Total)
}
