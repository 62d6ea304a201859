package keys

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// ListInput is a list request as the API receives it.
type ListInput struct {
	Cursor    string
	Prev      bool   // page=prev
	Limit     *int   // nil: DefaultLimit; -1: every key
	Sort      string // "", or a field with an optional "-" prefix
	Direction string // "", "asc" or "desc"
	Query     string
}

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
	field, desc, err := parseSort(in.Sort, in.Direction)
	if err != nil {
		return Page{}, err
	}
	limit := DefaultLimit
	if in.Limit != nil {
		limit = *in.Limit
	}
	if limit == 0 || limit < -1 || limit > 100 {
		return Page{}, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "limit", "limit must be -1 or between 1 and 100.")
	}
	q := spotzee.ListQuery{ProjectID: caller.ProjectID, Sort: field, Desc: desc, Limit: limit, Query: in.Query}
	if in.Cursor != "" {
		pos, err := s.cursor.decode(in.Cursor, caller.ProjectID, field, desc)
		if err != nil {
			return Page{}, err
		}
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
	if n := len(page.Keys); n > 0 {
		if page.HasNext {
			c := s.cursor.encode(caller.ProjectID, field, desc, spotzee.PositionOf(page.Keys[n-1], field))
			out.NextCursor = &c
		}
		if page.HasPrev {
			c := s.cursor.encode(caller.ProjectID, field, desc, spotzee.PositionOf(page.Keys[0], field))
			out.PrevCursor = &c
		}
	} else if q.After != nil && page.HasPrev {
		// An empty page after a cursor (the keys after it were revoked) is
		// not the first page: step back to the keys up to and including the
		// cursor's position. Ids are integers, so "before (v, id±1)" is
		// "at or before (v, id)" in list order.
		pos := *q.After
		pos.ID += step(desc)
		c := s.cursor.encode(caller.ProjectID, field, desc, pos)
		out.PrevCursor = &c
	} else if q.Before != nil && page.HasNext {
		// The same for an empty page=prev page: step forward to the keys
		// from the cursor's position on.
		pos := *q.Before
		pos.ID -= step(desc)
		c := s.cursor.encode(caller.ProjectID, field, desc, pos)
		out.NextCursor = &c
	}
	return out, nil
}

// step is the id increment that moves a position one id later in list order.
func step(desc bool) int64 {
	if desc {
		return -1
	}
	return 1
}

func parseSort(sort, direction string) (spotzee.SortField, bool, error) {
	if sort == "" {
		if direction != "" {
			return spotzee.SortCreatedAt, direction == "desc", checkDirection(direction)
		}
		return spotzee.SortCreatedAt, true, nil
	}
	field, prefixed := spotzee.SortField(strings.TrimPrefix(sort, "-")), strings.HasPrefix(sort, "-")
	if !field.Valid() {
		return "", false, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "sort",
			"Cannot sort by %q; use id, name, created_at or updated_at.", sort)
	}
	if err := checkDirection(direction); err != nil {
		return "", false, err
	}
	if prefixed && direction == "asc" {
		return "", false, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "direction",
			"direction=asc contradicts the - prefix of sort.")
	}
	return field, prefixed || direction == "desc", nil
}

func checkDirection(d string) error {
	if d != "" && d != "asc" && d != "desc" {
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "direction", "direction must be asc or desc.")
	}
	return nil
}

// cursorCodec makes opaque, HMAC-signed cursors bound to a project and an
// order.
type cursorCodec struct{ key []byte }

type cursorPayload struct {
	Project int64  `json:"p"`
	Sort    string `json:"s"`
	Desc    bool   `json:"d,omitempty"`
	Value   string `json:"v,omitempty"`
	ID      int64  `json:"i"`
}

const macSize = 16

// MaxCursorLength bounds the cursors List issues (the reference profile's
// maxLength of the cursor parameter): a name sort's cursor carries the name,
// and a 255-character name of characters JSON escapes (control characters,
// six bytes each) makes a cursor of about 2,200 characters.
const MaxCursorLength = 4096

func (c cursorCodec) mac(data []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(data)
	return m.Sum(nil)[:macSize]
}

func (c cursorCodec) encode(project int64, field spotzee.SortField, desc bool, pos spotzee.Position) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" is one byte, not six
	_ = enc.Encode(cursorPayload{Project: project, Sort: string(field), Desc: desc, Value: pos.Value, ID: pos.ID})
	data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return base64.RawURLEncoding.EncodeToString(append(data, c.mac(data)...))
}

func badCursor(msg string) error {
	return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "cursor", "%s", msg)
}

func (c cursorCodec) decode(s string, project int64, field spotzee.SortField, desc bool) (spotzee.Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) <= macSize {
		return spotzee.Position{}, badCursor("The cursor is malformed.")
	}
	data, sig := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if !hmac.Equal(sig, c.mac(data)) {
		return spotzee.Position{}, badCursor("The cursor is not one this API issued.")
	}
	var p cursorPayload
	if err := json.Unmarshal(data, &p); err != nil || p.Project != project {
		return spotzee.Position{}, badCursor("The cursor is not one this API issued.")
	}
	if p.Sort != string(field) || p.Desc != desc {
		return spotzee.Position{}, badCursor("The cursor was made for another sort order; send the same sort and direction.")
	}
	return spotzee.Position{Value: p.Value, ID: p.ID}, nil
}
