package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// stmt is one SQL statement with its arguments.
type stmt struct {
	sql  string
	args []any
}

// listPlan holds the statements of one ListKeys call.
type listPlan struct {
	// page fetches up to limit+1 keys: in list order, or in reverse list order
	// when reverse is set (a Before page), in which case the caller reverses
	// them back.
	page    stmt
	reverse bool
	// limit is the page size; 0 means all keys.
	limit int
	// other, when set, reports whether a matching key lies on the side of the
	// cursor the page does not fetch: before After, or after Before.
	other *stmt
	count stmt
}

// sortColumn returns the column keys sort by for f ("" for id, which needs no
// column besides the tie-breaking id).
func sortColumn(f spotzee.SortField) (string, error) {
	switch f {
	case spotzee.SortID, "":
		return "", nil
	case spotzee.SortName:
		// Case-insensitive (ASCII letters), as the index of migration 0003.
		return "name COLLATE NOCASE", nil
	case spotzee.SortCreatedAt:
		return "created_at", nil
	case spotzee.SortUpdatedAt:
		return "updated_at", nil
	}
	return "", fmt.Errorf("unknown sort field %q", f)
}

// escapeLike escapes s for a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// listSpec is a table lists page through: project keys, organisation keys or
// an organisation's projects.
type listSpec struct {
	table   string // the table
	owner   string // the column naming the list's owner
	live    string // the condition of listed rows, "" for all
	columns string // the columns the scanner reads
	// liveCount, when set, reads the unfiltered total by owner id without
	// counting rows.
	liveCount string
	// search, when set, names the FTS5 trigram table (columns name_fold and
	// description_fold, rowid the listed row's id) that indexes the folded
	// name and description of every listed row; see searchable.
	search string
}

// keysList is the list of a project's live keys.
var keysList = listSpec{table: "api_keys", owner: "project_id", live: "revoked_at IS NULL", columns: keyColumns,
	liveCount: `SELECT live_keys FROM projects WHERE id = ?`, search: "api_keys_search"}

// minSearchRunes is the shortest folded text filter the trigram index serves:
// a trigram is three characters, and FTS5 matches nothing shorter.
const minSearchRunes = 3

// searchable reports whether a list filtered by the folded text fq can start
// from the trigram index: fq has at least minSearchRunes characters, and
// none that the index could treat otherwise than LIKE does (invalid UTF-8,
// NUL). Shorter filters scan the owner's rows, which is cheap enough for one
// or two characters since those match most rows anyway.
func searchable(fq string) bool {
	return utf8.RuneCountInString(fq) >= minSearchRunes && utf8.ValidString(fq) && !strings.ContainsRune(fq, 0)
}

// ftsPhrase returns an FTS5 query matching rows whose indexed text contains
// s: s as one phrase (double quotes, inner ones doubled), so none of s is
// query syntax (AND, OR, NEAR, *, ^, column filters).
func ftsPhrase(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// planList builds the statements of q. Keyset pagination: a page starts at a
// cursor compared with (sort column, id) as a row value, which the partial
// index (project_id, column, id) WHERE revoked_at IS NULL serves directly.
// A text filter of at least minSearchRunes characters starts instead from
// the trigram index (migration 0011), so the page, the EXISTS and the count
// read only the keys whose text contains the filter's trigrams, whatever the
// project's size; the LIKE condition still decides which of those match.
func planList(q spotzee.ListQuery) (listPlan, error) { return planListOf(keysList, q) }

// planListOf builds the statements of q (whose ProjectID is the owner's id)
// over the table of spec.
func planListOf(spec listSpec, q spotzee.ListQuery) (listPlan, error) {
	if q.After != nil && q.Before != nil {
		return listPlan{}, errors.New("both After and Before are set")
	}
	col, err := sortColumn(q.Sort)
	if err != nil {
		return listPlan{}, err
	}

	from := spec.table
	where := spec.owner + " = ?"
	if spec.live != "" {
		where += " AND " + spec.live
	}
	args := []any{q.ProjectID}
	if q.Query != "" {
		fq := fold(q.Query)
		if spec.search != "" && searchable(fq) {
			// CROSS JOIN makes SQLite start from the index's matches (a
			// superset of the LIKE's) rather than the owner's rows.
			from = spec.search + ` CROSS JOIN ` + spec.table + ` ON ` + spec.table + `.id = ` + spec.search + `.rowid`
			where = spec.search + ` MATCH ? AND ` + where
			args = append([]any{ftsPhrase(fq)}, args...)
		}
		where += ` AND (` + foldFunc + `(name) LIKE ? ESCAPE '\' OR ` + foldFunc + `(description) LIKE ? ESCAPE '\')`
		pattern := "%" + escapeLike(fq) + "%"
		args = append(args, pattern, pattern)
	}
	// cmp compares a key's position with p; op is for ascending order.
	cmp := func(op string, p spotzee.Position) (string, []any) {
		if q.Desc {
			op = strings.NewReplacer("<", ">", ">", "<").Replace(op)
		}
		if col == "" {
			return "id " + op + " ?", []any{p.ID}
		}
		return "(" + col + ", id) " + op + " (?, ?)", []any{p.Value, p.ID}
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
	where1 := func(cond string, cargs []any) (string, []any) {
		return where + " AND " + cond, append(slices.Clone(args), cargs...)
	}

	p := listPlan{count: stmt{`SELECT count(*) FROM ` + from + ` WHERE ` + where, args}}
	if q.Query == "" && spec.liveCount != "" {
		// Kept by triggers (migration 0002): no row count per request.
		p.count = stmt{spec.liveCount, []any{q.ProjectID}}
	}
	if q.Limit > 0 {
		p.limit = min(q.Limit, math.MaxInt32)
	}
	pageWhere, pageArgs := where, args
	switch {
	case q.After != nil:
		pageWhere, pageArgs = where1(cmp(">", *q.After))
		w, a := where1(cmp("<=", *q.After))
		p.other = &stmt{`SELECT EXISTS (SELECT 1 FROM ` + from + ` WHERE ` + w + `)`, a}
	case q.Before != nil:
		pageWhere, pageArgs = where1(cmp("<", *q.Before))
		w, a := where1(cmp(">=", *q.Before))
		p.other = &stmt{`SELECT EXISTS (SELECT 1 FROM ` + from + ` WHERE ` + w + `)`, a}
		p.reverse = true
	}
	page := `SELECT ` + spec.columns + ` FROM ` + from + ` WHERE ` + pageWhere +
		` ORDER BY ` + order(q.Desc != p.reverse)
	if p.limit > 0 {
		page += ` LIMIT ?`
		pageArgs = append(slices.Clone(pageArgs), p.limit+1)
	}
	p.page = stmt{page, pageArgs}
	return p, nil
}

// ListKeys returns one page of project q.ProjectID's live keys (revoked ones
// never appear) in list order: by q.Sort (id when empty), then id, ascending
// or descending with q.Desc. Pagination is by keyset: q.After starts the page
// strictly after that position, q.Before ends it strictly before (the page
// then holds the q.Limit keys right before it). When sorting by id the
// positions' Value is ignored; names compare case-insensitively (SQLite's
// NOCASE: ASCII letters folded, every other byte as it is, ties broken by
// id), times as FormatSortTime strings. q.Query keeps keys whose name or description
// contains it, case-insensitively (Unicode case folding via spotzee_fold).
//
// HasNext and HasPrev report whether a matching live key lies after the last
// or before the first key of the page; for an empty page they report keys
// after Before and at or before After respectively, so a caller can always
// step back. Total counts every matching live key. All reads share one
// snapshot. ListKeys returns a storage error when both After and Before are
// set, q.Sort is unknown, or a read fails.
func (db *DB) ListKeys(ctx context.Context, q spotzee.ListQuery) (spotzee.KeyPage, error) {
	p, err := planList(q)
	if err != nil {
		return spotzee.KeyPage{}, fmt.Errorf("sqlite: list keys: %w", err)
	}
	keys, w, err := runList(ctx, db, p, scanKey)
	if err != nil {
		return spotzee.KeyPage{}, fmt.Errorf("sqlite: list keys of project %d: %w", q.ProjectID, err)
	}
	return spotzee.KeyPage{Keys: keys, HasPrev: w.hasPrev, HasNext: w.hasNext, Total: w.total}, nil
}

// listResult is what runList learns besides the rows.
type listResult struct {
	hasPrev, hasNext bool
	total            int
}

// runList runs the statements of p in one read snapshot, scanning rows with
// scan; it returns the rows in list order (never nil) and a storage error
// when a read fails.
func runList[T any](ctx context.Context, db *DB, p listPlan, scan func(scanner) (T, error)) ([]T, listResult, error) {
	var (
		items []T
		res   listResult
	)
	db.warm(ctx, db.r, p.page.sql, p.count.sql)
	if p.other != nil {
		db.warm(ctx, db.r, p.other.sql)
	}
	err := db.read(ctx, func(rtx *sql.Tx) error {
		tx := db.inRead(rtx)
		items = []T{}
		rows, err := tx.QueryContext(ctx, p.page.sql, p.page.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scan(rows)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		more := p.limit > 0 && len(items) > p.limit
		if more {
			items = items[:p.limit]
		}
		var other bool
		if p.other != nil {
			if err := tx.QueryRowContext(ctx, p.other.sql, p.other.args...).Scan(&other); err != nil {
				return err
			}
		}
		if p.reverse {
			slices.Reverse(items)
			res.hasPrev, res.hasNext = more, other
		} else {
			res.hasPrev, res.hasNext = other, more
		}
		return tx.QueryRowContext(ctx, p.count.sql, p.count.args...).Scan(&res.total)
	})
	return items, res, err
}
