package main

import (
	"context"
	"flag"
	"fmt"
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

// parseID reads a key ID argument: a positive integer.
func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("key ID %q is not a positive integer", s)
	}
	return id, nil
}

// parseScope checks a --scope value.
func parseScope(s string) (client.APIKeyScope, error) {
	if v := client.APIKeyScope(s); v.Valid() {
		return v, nil
	}
	return "", usagef("--scope %q: want public or secret", s)
}

// parseRole checks a --role value.
func parseRole(s string) (client.ProjectRole, error) {
	if v := client.ProjectRole(s); v.Valid() {
		return v, nil
	}
	return "", usagef("--role %q: want support, smtpproxy, editor, publisher or admin", s)
}

// parseName checks a --name value.
func parseName(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", usagef("--name must not be empty")
	}
	return s, nil
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

// listFlags sets up "list": one page, or every page with --all, as a table
// or a JSON array.
func listFlags(fs *flag.FlagSet) func([]string) (action, error) {
	limit := fs.Int("limit", 25, "keys per page, 1 to 100; with --all, the size of each page fetched")
	sort := fs.String("sort", "", `order by id, name, created_at or updated_at; a leading "-" sorts descending (default: newest first)`)
	q := fs.String("q", "", "free-text search over name and description")
	all := fs.Bool("all", false, "list every key, following the pages")
	return func([]string) (action, error) {
		params := &client.ListProjectAPIKeysParams{}
		if isSet(fs, "limit") {
			params.Limit = new(*limit)
		}
		if isSet(fs, "sort") {
			if err := checkSort(*sort); err != nil {
				return nil, err
			}
			params.Sort = new(*sort)
		}
		if *q != "" {
			params.Q = new(*q)
		}
		walkAll := *all
		return func(ctx context.Context, c *keysCLI, api *client.API) error {
			keys := []client.ProjectAPIKey{}
			more := false
			if walkAll {
				for k, err := range api.AllKeys(ctx, params) {
					if err != nil {
						return err
					}
					keys = append(keys, k)
				}
			} else {
				page, err := api.ListKeys(ctx, params)
				if err != nil {
					return err
				}
				keys = append(keys, page.Results...)
				next, err := page.NextCursor.Get()
				more = err == nil && next != ""
			}
			var err error
			if c.jsonOut {
				err = c.printJSON(keys)
			} else {
				err = printKeyTable(c.stdout, keys)
			}
			if err != nil {
				return err
			}
			if more {
				fmt.Fprintln(c.stderr, "spotzee-keys: more keys follow; use --all to list every key")
			}
			return nil
		}, nil
	}
}

// createFlags sets up "create": it prints the new key with its full value
// and warns on stderr that the value is shown this once.
func createFlags(fs *flag.FlagSet) func([]string) (action, error) {
	name := fs.String("name", "", "name of the key (required)")
	description := fs.String("description", "", "description of the key")
	scope := fs.String("scope", "secret", "public (pk_ key) or secret (sk_ key)")
	role := fs.String("role", "support", "project role: support, smtpproxy, editor, publisher or admin")
	idemKey := fs.String("idempotency-key", "", "Idempotency-Key (1 to 255 characters): rerunning with the same key and flags returns the same key, not a second one")
	return func([]string) (action, error) {
		if !isSet(fs, "name") {
			return nil, usagef("--name is required")
		}
		n, err := parseName(*name)
		if err != nil {
			return nil, err
		}
		body := client.ProjectAPIKeyCreate{Name: n}
		if isSet(fs, "description") {
			body.Description = nullable.NewNullableWithValue(*description)
		}
		if isSet(fs, "scope") {
			s, err := parseScope(*scope)
			if err != nil {
				return nil, err
			}
			body.Scope = new(client.APIKeyScope(s))
		}
		if isSet(fs, "role") {
			r, err := parseRole(*role)
			if err != nil {
				return nil, err
			}
			body.Role = new(client.ProjectRole(r))
		}
		var opts []client.CallOption
		if isSet(fs, "idempotency-key") {
			if n := len(*idemKey); n < 1 || n > 255 {
				return nil, usagef("--idempotency-key must be 1 to 255 characters, got %d", n)
			}
			opts = append(opts, client.WithIdempotencyKey(*idemKey))
		}
		return func(ctx context.Context, c *keysCLI, api *client.API) error {
			created, err := api.CreateKey(ctx, body, opts...)
			if err != nil {
				return err
			}
			if c.jsonOut {
				err = c.printJSON(created)
			} else {
				err = printKeyDetails(c.stdout, client.ProjectAPIKey(*created))
			}
			fmt.Fprintf(c.stderr, "spotzee-keys: WARNING: this is the only time the full value of key %d is shown. "+
				"Store it now (in a secret manager); it cannot be retrieved again.\n", created.ID)
			return err
		}, nil
	}
}

// getFlags sets up "get ID".
func getFlags(*flag.FlagSet) func([]string) (action, error) {
	return func(pos []string) (action, error) {
		id, err := parseID(pos[0])
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *keysCLI, api *client.API) error {
			key, err := api.GetKey(ctx, id)
			if err != nil {
				return err
			}
			return c.printKey(key)
		}, nil
	}
}

// updateFlags sets up "update ID": only the flags given are sent (found with
// flag.Visit), so absent fields keep their value.
func updateFlags(fs *flag.FlagSet) func([]string) (action, error) {
	name := fs.String("name", "", "new name")
	description := fs.String("description", "", "new description")
	clearDescription := fs.Bool("clear-description", false, "remove the description")
	scope := fs.String("scope", "", "new scope: public or secret (the value and its prefix do not change)")
	role := fs.String("role", "", "new project role: support, smtpproxy, editor, publisher or admin")
	return func(pos []string) (action, error) {
		id, err := parseID(pos[0])
		if err != nil {
			return nil, err
		}
		var body client.ProjectAPIKeyUpdate
		changed := false
		if isSet(fs, "name") {
			n, err := parseName(*name)
			if err != nil {
				return nil, err
			}
			body.Name, changed = new(n), true
		}
		if d, set, err := descriptionChange(fs, *description, *clearDescription); err != nil {
			return nil, err
		} else if set {
			body.Description, changed = d, true
		}
		if isSet(fs, "scope") {
			s, err := parseScope(*scope)
			if err != nil {
				return nil, err
			}
			body.Scope, changed = new(s), true
		}
		if isSet(fs, "role") {
			r, err := parseRole(*role)
			if err != nil {
				return nil, err
			}
			body.Role, changed = new(r), true
		}
		if !changed {
			return nil, usagef("nothing to change: give --name, --description, --clear-description, --scope or --role")
		}
		return func(ctx context.Context, c *keysCLI, api *client.API) error {
			key, err := api.UpdateKey(ctx, id, body)
			if err != nil {
				return err
			}
			return c.printKey(key)
		}, nil
	}
}

// revokeFlags sets up "revoke ID".
func revokeFlags(*flag.FlagSet) func([]string) (action, error) {
	return func(pos []string) (action, error) {
		id, err := parseID(pos[0])
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *keysCLI, api *client.API) error {
			rev, err := api.RevokeKey(ctx, id)
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(rev)
			}
			at := "-"
			if rev.RevokedAt != nil {
				at = timeText(*rev.RevokedAt)
			}
			_, err = fmt.Fprintf(c.stdout, "Revoked key %d at %s.\n", id, at)
			return err
		}, nil
	}
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
