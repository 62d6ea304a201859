package keymaterial

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// DefaultLimit is the page size when none is asked for.
const DefaultLimit = 25

// MaxListAll is the most items limit=-1 returns; above it the request is
// refused with parameter_invalid_format.
const MaxListAll = 1000

// MaxCursorLength bounds the cursors Cursors issues (the reference profile's
// maxLength of the cursor parameter): a name sort's cursor carries the name,
// and a 255-character name of characters JSON escapes (control characters,
// six bytes each) makes a cursor of about 2,200 characters.
const MaxCursorLength = 4096

// ListInput is a list request as the API receives it.
type ListInput struct {
	Cursor    string
	Prev      bool   // page=prev
	Limit     *int   // nil: DefaultLimit; -1: every item
	Sort      string // "", or a field with an optional "-" prefix
	Direction string // "", "asc" or "desc"
	Query     string
}

// ParseLimit returns the page size a limit parameter asks for (nil:
// DefaultLimit; -1: everything). It returns parameter_invalid_format for 0,
// below -1 or above 100.
func ParseLimit(limit *int) (int, error) {
	n := DefaultLimit
	if limit != nil {
		n = *limit
	}
	if n == 0 || n < -1 || n > 100 {
		return 0, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "limit", "limit must be -1 or between 1 and 100.")
	}
	return n, nil
}

// ParseSort returns the field and order of the sort and direction
// parameters (default: created_at descending). It returns
// parameter_invalid_format for an unknown field or direction, or a
// direction contradicting a "-" prefix.
func ParseSort(sort, direction string) (spotzee.SortField, bool, error) {
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

// Step is the id increment that moves a position one id later in list order.
// It cannot fail.
func Step(desc bool) int64 {
	if desc {
		return -1
	}
	return 1
}

// Cursors makes opaque, HMAC-signed cursors bound to a list (its kind and
// owner: a project's keys, an organisation's keys, an organisation's
// projects) and an order.
type Cursors struct{ key []byte }

// NewCursors returns cursors signed with key, which must be at least 32
// random bytes kept across restarts. It cannot fail.
func NewCursors(key []byte) Cursors { return Cursors{key: key} }

type cursorPayload struct {
	Kind    string `json:"k,omitempty"`
	Project int64  `json:"p"`
	Sort    string `json:"s"`
	Desc    bool   `json:"d,omitempty"`
	Value   string `json:"v,omitempty"`
	ID      int64  `json:"i"`
}

const macSize = 16

func (c Cursors) mac(data []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(data)
	return m.Sum(nil)[:macSize]
}

// Encode returns the cursor of pos in the list kind of owner sorted by field
// (kind "" is a project's keys). It cannot fail.
func (c Cursors) Encode(kind string, owner int64, field spotzee.SortField, desc bool, pos spotzee.Position) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" is one byte, not six
	_ = enc.Encode(cursorPayload{Kind: kind, Project: owner, Sort: string(field), Desc: desc, Value: pos.Value, ID: pos.ID})
	data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return base64.RawURLEncoding.EncodeToString(append(data, c.mac(data)...))
}

func badCursor(msg string) error {
	return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "cursor", "%s", msg)
}

// Decode returns the position of cursor s. It returns
// parameter_invalid_format for a cursor that is malformed, forged, or made
// for another list (kind or owner) or order.
func (c Cursors) Decode(s, kind string, owner int64, field spotzee.SortField, desc bool) (spotzee.Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) <= macSize {
		return spotzee.Position{}, badCursor("The cursor is malformed.")
	}
	data, sig := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	if !hmac.Equal(sig, c.mac(data)) {
		return spotzee.Position{}, badCursor("The cursor is not one this API issued.")
	}
	var p cursorPayload
	if err := json.Unmarshal(data, &p); err != nil || p.Project != owner || p.Kind != kind {
		return spotzee.Position{}, badCursor("The cursor is not one this API issued.")
	}
	if p.Sort != string(field) || p.Desc != desc {
		return spotzee.Position{}, badCursor("The cursor was made for another sort order; send the same sort and direction.")
	}
	return spotzee.Position{Value: p.Value, ID: p.ID}, nil
}

// Window is a page as a store returns it, before cursors: its first and last
// positions (when not empty) and whether items lie before or after it.
type Window struct {
	First, Last      *spotzee.Position
	HasPrev, HasNext bool
}

// PageCursors returns the next and previous cursors of a page fetched after
// (or, with prev, before) the cursor position at (nil for the first page).
// An empty page after a cursor whose items were removed still gets a
// previous cursor (and an empty prev page a next one), so a client can
// always step back. It cannot fail.
func (c Cursors) PageCursors(kind string, owner int64, field spotzee.SortField, desc bool, at *spotzee.Position, prev bool, w Window) (next, previous *string) {
	enc := func(p spotzee.Position) *string {
		s := c.Encode(kind, owner, field, desc, p)
		return &s
	}
	switch {
	case w.First != nil:
		if w.HasNext {
			next = enc(*w.Last)
		}
		if w.HasPrev {
			previous = enc(*w.First)
		}
	case at != nil && !prev && w.HasPrev:
		// Ids are integers, so "before (v, id±1)" is "at or before (v, id)".
		p := *at
		p.ID += Step(desc)
		previous = enc(p)
	case at != nil && prev && w.HasNext:
		p := *at
		p.ID -= Step(desc)
		next = enc(p)
	}
	return next, previous
}
