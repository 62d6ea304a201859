package keys

import (
	"context"
	"fmt"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keymaterial"
)

// MaxCursorLength bounds the cursors List issues: see
// keymaterial.MaxCursorLength.
const MaxCursorLength = keymaterial.MaxCursorLength

// ListInput is a list request as the API receives it.
type ListInput = keymaterial.ListInput

// Page is one page of keys with the cursors to its neighbours.
type Page struct {
	Keys       []spotzee.APIKey
	NextCursor *string
	PrevCursor *string
	Limit      int
	Total      int
}

// List returns one page of caller's project's live keys. It returns
// parameter_invalid_format for a bad sort, direction, limit or cursor (a
// cursor that is malformed, forged, or made for another project or order).
func (s *Service) List(ctx context.Context, caller spotzee.APIKey, in ListInput) (Page, error) {
	field, desc, err := keymaterial.ParseSort(in.Sort, in.Direction)
	if err != nil {
		return Page{}, err
	}
	limit, err := keymaterial.ParseLimit(in.Limit)
	if err != nil {
		return Page{}, err
	}
	q := spotzee.ListQuery{ProjectID: caller.ProjectID, Sort: field, Desc: desc, Limit: limit, Query: in.Query}
	var at *spotzee.Position
	if in.Cursor != "" {
		pos, err := s.cursor.Decode(in.Cursor, "", caller.ProjectID, field, desc)
		if err != nil {
			return Page{}, err
		}
		at = &pos
		if in.Prev {
			q.Before = &pos
		} else {
			q.After = &pos
		}
	}
	if limit == -1 {
		q.Limit = MaxListAll + 1
	}
	page, err := s.store.ListKeys(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("keys: list: %w", err)
	}
	if limit == -1 && (len(page.Keys) > MaxListAll || page.Total > MaxListAll) {
		return Page{}, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "limit",
			"limit=-1 is refused above %d keys; page with a limit of 1 to 100.", MaxListAll)
	}
	out := Page{Keys: page.Keys, Limit: limit, Total: page.Total}
	w := keymaterial.Window{HasPrev: page.HasPrev, HasNext: page.HasNext}
	if n := len(page.Keys); n > 0 {
		first, last := spotzee.PositionOf(page.Keys[0], field), spotzee.PositionOf(page.Keys[n-1], field)
		w.First, w.Last = &first, &last
	}
	out.NextCursor, out.PrevCursor = s.cursor.PageCursors("", caller.ProjectID, field, desc, at, in.Prev, w)
	return out, nil
}
