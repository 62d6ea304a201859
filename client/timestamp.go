package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/oapi-codegen/nullable"
)

// ErrNoTimestamp is returned by ParseTimestamp for a null or absent value.
var ErrNoTimestamp = errors.New("client: timestamp is null or absent")

// ParseTimestamp returns the time in a nullable timestamp field such as
// ProjectAPIKey.CreatedAt. The contract types timestamps as strings, because
// Spotzee publishes no format for them; Spotzee and the reference server send
// RFC 3339. It returns ErrNoTimestamp for a null or absent value and a
// wrapped *time.ParseError for a value that is not RFC 3339.
func ParseTimestamp(n nullable.Nullable[string]) (time.Time, error) {
	s, err := n.Get()
	if err != nil {
		return time.Time{}, ErrNoTimestamp
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("client: timestamp %q: %w", s, err)
	}
	return t, nil
}
