package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/oapi-codegen/nullable"
)

// AllKeys iterates over every key matching params (nil for all), page after
// page, following nextCursor with the same sort, direction, q and limit until
// it is null. params.Cursor, if set, is where the walk starts; params.Page is
// ignored. Keys are yielded in the server's order. On the first failure it
// yields a zero ProjectAPIKey with the error (an [*APIError] or a wrapped network,
// context or decode error) and stops. Breaking out of the loop fetches no
// further page. The returned sequence can be ranged over more than once.
//
//	for key, err := range c.AllKeys(ctx, &client.ListProjectAPIKeysParams{Q: new("billing")}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(key.ID, key.Name)
//	}
func (c *API) AllKeys(ctx context.Context, params *ListProjectAPIKeysParams) iter.Seq2[ProjectAPIKey, error] {
	var start *string
	if params != nil {
		start = params.Cursor
	}
	return c.walk(ctx, params, PageDirectionNext, start)
}

// AllKeysBackward iterates over the keys before cursor (typically a page's
// PrevCursor), with page=prev and the filters of params (nil for none),
// following prevCursor until it is null, at the first page. Keys are yielded
// nearest to cursor first, that is in the reverse of [API.AllKeys]' order
// (each page, which the server sends in sort order, is yielded back to
// front). params.Cursor and params.Page are ignored. Errors, break and reuse
// behave as in [API.AllKeys]; an empty cursor yields an error at once.
func (c *API) AllKeysBackward(ctx context.Context, cursor string, params *ListProjectAPIKeysParams) iter.Seq2[ProjectAPIKey, error] {
	if cursor == "" {
		return func(yield func(ProjectAPIKey, error) bool) {
			yield(ProjectAPIKey{}, errors.New("spotzee: list keys backward: empty cursor"))
		}
	}
	return c.walk(ctx, params, PageDirectionPrev, &cursor)
}

// walk is the loop under AllKeys and AllKeysBackward.
func (c *API) walk(ctx context.Context, params *ListProjectAPIKeysParams, dir PageDirection, start *string) iter.Seq2[ProjectAPIKey, error] {
	return walkPages(ctx, "list keys", params, dir, start,
		func(ctx context.Context, p *ListProjectAPIKeysParams) ([]ProjectAPIKey, nullable.Nullable[string], nullable.Nullable[string], error) {
			page, err := c.ListKeys(ctx, p)
			if err != nil {
				return nil, nil, nil, err
			}
			return page.Results, page.NextCursor, page.PrevCursor, nil
		})
}

// fetchPage fetches one page of a list with the list parameters p: its
// items and cursors.
type fetchPage[T any] func(ctx context.Context, p *ListProjectAPIKeysParams) ([]T, nullable.Nullable[string], nullable.Nullable[string], error)

// walkPages is the loop under every iterator: it follows the cursors of
// direction dir from start, yielding items (each page back to front when
// walking backward), and stops at the first error, a null cursor, a break,
// or a server handing back the cursor it was given. The list parameters of
// every list operation have the same fields, so they travel as
// ListProjectAPIKeysParams.
func walkPages[T any](ctx context.Context, op string, params *ListProjectAPIKeysParams, dir PageDirection, start *string, fetch fetchPage[T]) iter.Seq2[T, error] {
	var base ListProjectAPIKeysParams
	if params != nil {
		base = *params
	}
	backward := dir == PageDirectionPrev
	return func(yield func(T, error) bool) {
		var zero T
		p := base
		p.Page = &dir
		p.Cursor = start
		for {
			results, next, prev, err := fetch(ctx, &p)
			if err != nil {
				yield(zero, err)
				return
			}
			if backward {
				results = slices.Clone(results)
				slices.Reverse(results)
			}
			for _, k := range results {
				if !yield(k, nil) {
					return
				}
			}
			following := next
			if backward {
				following = prev
			}
			cur, ok := cursorValue(following)
			if !ok {
				return
			}
			if p.Cursor != nil && *p.Cursor == cur {
				yield(zero, fmt.Errorf("spotzee: %s: the server returned the cursor it was given (%q); stopping", op, cur))
				return
			}
			p.Cursor = &cur
		}
	}
}

// cursorValue returns a page's cursor, reporting false when it is null,
// absent or empty: the end of the walk.
func cursorValue(n nullable.Nullable[string]) (string, bool) {
	v, err := n.Get()
	return v, err == nil && v != ""
}
