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
