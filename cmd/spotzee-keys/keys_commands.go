package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
)

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

// keysList is "keys list": one page, or every page with --all, as a table
// or a JSON array; a --sort the API does not know is a usage error.
var keysList = listing[*client.API, *client.ListProjectAPIKeysParams, client.ProjectAPIKeyList, client.ProjectAPIKey]{
	nouns: "keys", noun: "key", every: "every key", checkSort: true,
	all: (*client.API).AllKeys, list: (*client.API).ListKeys, table: printKeyTable,
	page: func(l *client.ProjectAPIKeyList) ([]client.ProjectAPIKey, nullable.Nullable[string]) {
		return l.Results, l.NextCursor
	},
}

// keysCreateFlags sets up "keys create": it prints the new key with its
// full value and warns on stderr that the value is shown this once.
func keysCreateFlags(fs *flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.API) error, error) {
	name := fs.String("name", "", "name of the key (required)")
	description := fs.String("description", "", "description of the key")
	scope := fs.String("scope", "secret", "public (pk_ key) or secret (sk_ key)")
	role := fs.String("role", "support", "project role: support, smtpproxy, editor, publisher or admin")
	idemKey := fs.String("idempotency-key", "", "Idempotency-Key (1 to 255 characters): rerunning with the same key and flags returns the same key, not a second one")
	return func([]string) (func(context.Context, *apiCLI, *client.API) error, error) {
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
			body.Scope = new(s)
		}
		if isSet(fs, "role") {
			r, err := parseRole(*role)
			if err != nil {
				return nil, err
			}
			body.Role = new(r)
		}
		opts, err := idempotencyOption(fs, *idemKey)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, api *client.API) error {
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

// keysGetFlags sets up "keys get ID".
func keysGetFlags(*flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.API) error, error) {
	return func(pos []string) (func(context.Context, *apiCLI, *client.API) error, error) {
		id, err := parseNamedID("key", pos[0])
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, api *client.API) error {
			key, err := api.GetKey(ctx, id)
			if err != nil {
				return err
			}
			return c.printKey(key)
		}, nil
	}
}

// keysUpdateFlags sets up "keys update ID": only the flags given are sent
// (found with flag.Visit), so absent fields keep their value.
func keysUpdateFlags(fs *flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.API) error, error) {
	name := fs.String("name", "", "new name")
	description := fs.String("description", "", "new description")
	clearDescription := fs.Bool("clear-description", false, "remove the description")
	scope := fs.String("scope", "", "new scope: public or secret (the value and its prefix do not change)")
	role := fs.String("role", "", "new project role: support, smtpproxy, editor, publisher or admin")
	return func(pos []string) (func(context.Context, *apiCLI, *client.API) error, error) {
		id, err := parseNamedID("key", pos[0])
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
		return func(ctx context.Context, c *apiCLI, api *client.API) error {
			key, err := api.UpdateKey(ctx, id, body)
			if err != nil {
				return err
			}
			return c.printKey(key)
		}, nil
	}
}

// keysRevokeFlags sets up "keys revoke ID". A failed write of the
// confirmation is returned as it is, without the "write output" prefix the
// other commands' write errors carry.
func keysRevokeFlags(*flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.API) error, error) {
	return func(pos []string) (func(context.Context, *apiCLI, *client.API) error, error) {
		id, err := parseNamedID("key", pos[0])
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, api *client.API) error {
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
