package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
)

// listParams are the parameter types of the list operations: one layout
// under three names, so one converts to another.
type listParams interface {
	*client.ListProjectAPIKeysParams | *client.ListOrganizationAPIKeysParams | *client.ListProjectsParams
}

// listing is a list command ("keys list", "org keys list", "projects
// list"): items T read through a client C, with parameters P, one page of
// type L at a time.
type listing[C any, P listParams, L, T any] struct {
	// nouns and noun name the items in help and notes ("keys", "key");
	// every is what --all lists, in its help ("every one").
	nouns, noun, every string
	// checkSort refuses a --sort the API does not know before any request.
	checkSort bool
	// all walks every page, list reads one; page takes a page's items and
	// next cursor.
	all  func(C, context.Context, P) iter.Seq2[T, error]
	list func(C, context.Context, P, ...client.CallOption) (*L, error)
	page func(*L) ([]T, nullable.Nullable[string])
	// table prints the items when --json is not given.
	table func(io.Writer, []T) error
}

// listSynopsis is the synopsis of every list command.
const listSynopsis = "list [--limit N] [--sort F] [--q TEXT] [--all]"

// command returns l as the "list" entry of its group's commands.
func (l listing[C, P, L, T]) command() command[C] {
	return command[C]{synopsis: listSynopsis, setup: l.setup}
}

// setup registers the list flags on fs and returns the command's prepare:
// its call prints one page (and says on stderr when more follow), or with
// --all every page, as a table or a JSON array.
func (l listing[C, P, L, T]) setup(fs *flag.FlagSet) func([]string) (func(context.Context, *apiCLI, C) error, error) {
	lf := newListFlags(fs, l.nouns, l.every)
	return func([]string) (func(context.Context, *apiCLI, C) error, error) {
		if l.checkSort && isSet(fs, "sort") {
			if err := checkSort(*lf.sort); err != nil {
				return nil, err
			}
		}
		params := P(lf.params())
		walkAll := *lf.all
		return func(ctx context.Context, c *apiCLI, api C) error {
			items, more, err := l.collect(ctx, api, params, walkAll)
			if err != nil {
				return err
			}
			if c.jsonOut {
				err = c.printJSON(items)
			} else {
				err = l.table(c.stdout, items)
			}
			if err != nil {
				return err
			}
			if more {
				fmt.Fprintf(c.stderr, "spotzee-keys: more %s follow; use --all to list every %s\n", l.nouns, l.noun)
			}
			return nil
		}, nil
	}
}

// collect gathers the items: every page when walkAll, else one page. It
// reports whether more pages follow that one page; on failure it returns
// the first error of the walk or the page.
func (l listing[C, P, L, T]) collect(ctx context.Context, api C, params P, walkAll bool) ([]T, bool, error) {
	items := []T{}
	if walkAll {
		for v, err := range l.all(api, ctx, params) {
			if err != nil {
				return nil, false, err
			}
			items = append(items, v)
		}
		return items, false, nil
	}
	p, err := l.list(api, ctx, params)
	if err != nil {
		return nil, false, err
	}
	results, next := l.page(p)
	n, err := next.Get()
	return append(items, results...), err == nil && n != "", nil
}

// checkSort returns a usage error unless s is a sort field the API knows,
// optionally "-"-prefixed, so a typo is caught before any request.
func checkSort(s string) error {
	switch strings.TrimPrefix(s, "-") {
	case "id", "name", "created_at", "updated_at":
		return nil
	}
	return usagef(`--sort %q: want id, name, created_at or updated_at, "-" first for descending`, s)
}

// listFlagSet is a list command's --limit, --sort, --q and --all.
type listFlagSet struct {
	fs    *flag.FlagSet
	limit *int
	sort  *string
	q     *string
	all   *bool
}

// newListFlags registers the list flags on fs; what names the items in
// the help ("keys", "projects"), every what --all lists ("every one").
func newListFlags(fs *flag.FlagSet, what, every string) *listFlagSet {
	return &listFlagSet{
		fs:    fs,
		limit: fs.Int("limit", 25, what+" per page, 1 to 100; with --all, the size of each page fetched"),
		sort:  fs.String("sort", "", `order by id, name, created_at or updated_at; a leading "-" sorts descending (default: newest first)`),
		q:     fs.String("q", "", "free-text search over name and description"),
		all:   fs.Bool("all", false, "list "+every+", following the pages"),
	}
}

// params returns the list parameters the flags given ask for (the same
// struct layout for every list operation).
func (l *listFlagSet) params() *client.ListProjectAPIKeysParams {
	p := &client.ListProjectAPIKeysParams{}
	if isSet(l.fs, "limit") {
		p.Limit = new(*l.limit)
	}
	if *l.sort != "" {
		p.Sort = new(*l.sort)
	}
	if *l.q != "" {
		p.Q = new(*l.q)
	}
	return p
}
