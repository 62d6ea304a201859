package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// sortExpr returns the expression keys sort by for f ("" for id) and how a
// position's value is turned into one comparable with it.
func sortExpr(f spotzee.SortField) (col, param string, err error) {
	switch f {
	case spotzee.SortID, "":
		return "", "", nil
	case spotzee.SortName:
		// SQLite's NOCASE: ASCII letters folded, other characters by their
		// UTF-8 bytes; the expression of index api_keys_live_name.
		return `(lower(name COLLATE "C") COLLATE "C")`, `(lower(%s::text COLLATE "C") COLLATE "C")`, nil
	case spotzee.SortCreatedAt:
		return "created_at", `(%s::text COLLATE "C")`, nil
	case spotzee.SortUpdatedAt:
		return "updated_at", `(%s::text COLLATE "C")`, nil
	}
	return "", "", fmt.Errorf("unknown sort field %q", f)
}

// escapeLike escapes s for a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

type stmt struct {
	sql  string
	args []any
}

// listPlan holds the statements of one ListKeys call (see sqlite's).
type listPlan struct {
	page    stmt
	reverse bool
	limit   int
	other   *stmt
	count   stmt
}

// listSpec is a table lists page through: project keys, organisation keys or
// an organisation's projects. Each has name_fold and description_fold.
type listSpec struct {
	table   string // the table
	owner   string // the column naming the list's owner
	live    string // the condition of listed rows, "" for all
	columns string // the columns the scanner reads
	// liveCount, when set, reads the unfiltered total by owner id ($1)
	// without counting rows.
	liveCount string
}

// keysList is the list of a project's live keys.
var keysList = listSpec{table: "api_keys", owner: "project_id", live: "revoked_at IS NULL", columns: keyColumns,
	liveCount: `SELECT live_keys FROM projects WHERE id = $1`}

// planList builds the statements of q over the project keys.
func planList(q spotzee.ListQuery) (listPlan, error) { return planListOf(keysList, q) }

// planListOf builds the statements of q (whose ProjectID is the owner's id)
// over spec's table: keyset pagination comparing (sort expression, id) as a
// row value, as package sqlite does.
func planListOf(spec listSpec, q spotzee.ListQuery) (listPlan, error) {
	if q.After != nil && q.Before != nil {
		return listPlan{}, errors.New("both After and Before are set")
	}
	col, param, err := sortExpr(q.Sort)
	if err != nil {
		return listPlan{}, err
	}
	args := []any{q.ProjectID}
	ph := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := spec.owner + " = $1"
	if spec.live != "" {
		where += " AND " + spec.live
	}
	if q.Query != "" {
		// The trigram indexes of migration 0003 serve this LIKE (three or
		// more characters; shorter patterns scan the owner's rows).
		pattern := "%" + escapeLike(fold(q.Query)) + "%"
		p := ph(pattern)
		where += ` AND (name_fold LIKE ` + p + ` ESCAPE '\' OR description_fold LIKE ` + p + ` ESCAPE '\')`
	}
	base := slices.Clone(args)
	cmp := func(op string, pos spotzee.Position) string {
		if q.Desc {
			op = strings.NewReplacer("<", ">", ">", "<").Replace(op)
		}
		if col == "" {
			return "id " + op + " " + ph(pos.ID)
		}
		v := fmt.Sprintf(param, ph(pos.Value))
		return "(" + col + ", id) " + op + " (" + v + ", " + ph(pos.ID) + ")"
	}
	order := func(desc bool) string {
		dir := " ASC"
		if desc {
			dir = " DESC"
		}
		if col == "" {
			return "id" + dir
		}
		return col + dir + ", id" + dir
	}

	var p listPlan
	if q.Query == "" && spec.liveCount != "" {
		p.count = stmt{spec.liveCount, []any{q.ProjectID}}
	} else {
		p.count = stmt{`SELECT count(*) FROM ` + spec.table + ` WHERE ` + where, base}
	}
	if q.Limit > 0 {
		p.limit = min(q.Limit, math.MaxInt32)
	}
	pageWhere := where
	switch {
	case q.After != nil:
		args = slices.Clone(base)
		w := where + " AND " + cmp("<=", *q.After)
		p.other = &stmt{`SELECT EXISTS (SELECT 1 FROM ` + spec.table + ` WHERE ` + w + `)`, args}
		args = slices.Clone(base)
		pageWhere = where + " AND " + cmp(">", *q.After)
	case q.Before != nil:
		args = slices.Clone(base)
		w := where + " AND " + cmp(">=", *q.Before)
		p.other = &stmt{`SELECT EXISTS (SELECT 1 FROM ` + spec.table + ` WHERE ` + w + `)`, args}
		args = slices.Clone(base)
		pageWhere = where + " AND " + cmp("<", *q.Before)
		p.reverse = true
	default:
		args = slices.Clone(base)
	}
	page := `SELECT ` + spec.columns + ` FROM ` + spec.table + ` WHERE ` + pageWhere + ` ORDER BY ` + order(q.Desc != p.reverse)
	if p.limit > 0 {
		page += ` LIMIT ` + ph(p.limit+1)
	}
	p.page = stmt{page, args}
	if q.Query != "" {
		p.page.args = customPlan(p.page.args)
		p.count.args = customPlan(p.count.args)
		if p.other != nil {
			p.other.args = customPlan(p.other.args)
		}
	}
	return p, nil
}

// customPlan returns args led by pgx.QueryExecModeExec, which runs a
// statement unnamed, so PostgreSQL plans it for its actual arguments every
// time. A cached prepared statement may switch to a generic plan after a few
// runs, planned without knowing the pattern, which can prefer walking a sort
// index of the whole project to the trigram indexes of a rare pattern.
func customPlan(args []any) []any {
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// ListKeys returns one page of project q.ProjectID's live keys in list order,
// with sqlite.DB.ListKeys's semantics: sort by q.Sort (id when empty) then
// id, keyset pagination after q.After or before q.Before, names compared
// like SQLite's NOCASE, times as FormatSortTime strings, q.Query matched
// case-insensitively (Go's Unicode lower-casing) in name or description.
// HasPrev, HasNext and Total as documented on spotzee.KeyPage; all reads
// share one snapshot. It returns a storage error when both After and Before
// are set, q.Sort is unknown, or a read fails.
func (db *DB) ListKeys(ctx context.Context, q spotzee.ListQuery) (spotzee.KeyPage, error) {
	p, err := planList(q)
	if err != nil {
		return spotzee.KeyPage{}, fmt.Errorf("postgres: list keys: %w", err)
	}
	keys, w, err := runList(ctx, db, p, scanKey)
	if err != nil {
		return spotzee.KeyPage{}, fmt.Errorf("postgres: list keys of project %d: %w", q.ProjectID, err)
	}
	return spotzee.KeyPage{Keys: keys, HasPrev: w.hasPrev, HasNext: w.hasNext, Total: w.total}, nil
}

// window is what a list reports besides its rows.
type window struct {
	hasPrev, hasNext bool
	total            int
}

// runList runs plan p in one repeatable-read snapshot and scans its rows.
func runList[T any](ctx context.Context, db *DB, p listPlan, scan func(pgx.Row) (T, error)) ([]T, window, error) {
	var (
		items []T
		w     window
	)
	err := db.read(ctx, func(tx pgx.Tx) error {
		items, w = []T{}, window{}
		rows, err := tx.Query(ctx, p.page.sql, p.page.args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			it, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		more := p.limit > 0 && len(items) > p.limit
		if more {
			items = items[:p.limit]
		}
		var other bool
		if p.other != nil {
			if err := tx.QueryRow(ctx, p.other.sql, p.other.args...).Scan(&other); err != nil {
				return err
			}
		}
		if p.reverse {
			slices.Reverse(items)
			w.hasPrev, w.hasNext = more, other
		} else {
			w.hasPrev, w.hasNext = other, more
		}
		var total int64
		err = tx.QueryRow(ctx, p.count.sql, p.count.args...).Scan(&total)
		if errors.Is(err, pgx.ErrNoRows) {
			total, err = 0, nil
		}
		w.total = int(total)
		return err
	})
	return items, w, err
}
