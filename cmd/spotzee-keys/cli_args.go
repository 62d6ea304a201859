package main

import (
	"flag"
	"strconv"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
)

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// parseName checks a --name value.
func parseName(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", usagef("--name must not be empty")
	}
	return s, nil
}

// descriptionChange reads --description and --clear-description of an
// update: the new value (null to clear), whether either was given, and a
// usage error when both were.
func descriptionChange(fs *flag.FlagSet, description string, clear bool) (nullable.Nullable[string], bool, error) {
	switch {
	case isSet(fs, "description") && isSet(fs, "clear-description"):
		return nil, false, usagef("give --description or --clear-description, not both")
	case isSet(fs, "description"):
		return nullable.NewNullableWithValue(description), true, nil
	case clear:
		return nullable.NewNullNullable[string](), true, nil
	}
	return nil, false, nil
}

// parseNamedID reads an ID argument naming a what ("key", "project"): a
// positive integer, or a usageError.
func parseNamedID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("%s ID %q is not a positive integer", what, s)
	}
	return id, nil
}

// parseBool reads a true|false flag value, or returns a usageError.
func parseBool(flagName, s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, usagef("--%s %q: want true or false", flagName, s)
}

// idempotencyOption checks --idempotency-key when given and returns the
// call option sending it (none when not given).
func idempotencyOption(fs *flag.FlagSet, key string) ([]client.CallOption, error) {
	if !isSet(fs, "idempotency-key") {
		return nil, nil
	}
	if n := len(key); n < 1 || n > 255 {
		return nil, usagef("--idempotency-key must be 1 to 255 characters, got %d", n)
	}
	return []client.CallOption{client.WithIdempotencyKey(key)}, nil
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
