package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"

	"github.com/oapi-codegen/nullable"
)

// Admin is a client for Spotzee's admin surface, authenticated with an
// organisation key (ok_): the organisation, its API keys and its projects.
// It has the same options, retries, idempotency keys, typed errors and key
// masking as [API]. It is safe for concurrent use.
type Admin struct {
	core *core
}

// NewAdmin returns an Admin that calls baseURL ([DefaultAdminBaseURL] when
// empty) with the organisation key orgKey as bearer token. It returns an
// error, never containing the key, on the same grounds as [New].
func NewAdmin(baseURL, orgKey string, opts ...Option) (*Admin, error) {
	c, err := newCore(baseURL, DefaultAdminBaseURL, orgKey, opts)
	if err != nil {
		return nil, err
	}
	return &Admin{core: c}, nil
}

// Raw returns the generated client under a, for operations and responses
// the typed methods do not cover; it shares a's options and retries.
func (a *Admin) Raw() *ClientWithResponses { return a.core.raw }

// String describes a without its key (the key masked).
func (a *Admin) String() string {
	return fmt.Sprintf("spotzee.Admin{baseURL: %s, key: %s}", a.core.baseURL, a.core.maskedKey)
}

// GoString is String, so %#v never shows the key either.
func (a *Admin) GoString() string { return a.String() }

// LogValue logs a with its key masked.
func (a *Admin) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", a.core.baseURL), slog.String("key", a.core.maskedKey))
}

// Organization returns the calling key's organisation and that key's role.
// On a non-2xx response it returns an [*APIError]; otherwise on failure a
// wrapped network, context or decode error.
func (a *Admin) Organization(ctx context.Context, opts ...CallOption) (*OrgMeResponse, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: get organization: %w", err)
	}
	var out OrgMeResponse
	err = a.core.do(ctx, "get organization", &out, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.GetCurrentOrganization(ctx, nil)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListKeys returns one page of the organisation's API keys (values masked);
// params may be nil. Errors as in [Admin.Organization].
func (a *Admin) ListKeys(ctx context.Context, params *ListOrganizationAPIKeysParams, opts ...CallOption) (*OrganizationAPIKeyList, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: list organization keys: %w", err)
	}
	var page OrganizationAPIKeyList
	err = a.core.do(ctx, "list organization keys", &page, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.ListOrganizationAPIKeys(ctx, params)
	})
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// CreateKey creates an organisation API key and returns it with its full
// Value, the only time it is ever returned: store it now. The call carries
// an Idempotency-Key so it is retried safely. Errors as in
// [Admin.Organization].
func (a *Admin) CreateKey(ctx context.Context, body OrganizationAPIKeyCreate, opts ...CallOption) (*OrganizationAPIKeyCreated, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: create organization key: %w", err)
	}
	params := &CreateOrganizationAPIKeyParams{IdempotencyKey: o.idempotencyKey}
	var created OrganizationAPIKeyCreated
	err = a.core.do(ctx, "create organization key", &created, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.CreateOrganizationAPIKey(ctx, params, body)
	})
	if err != nil {
		return nil, err
	}
	return &created, nil
}

// GetKey returns the organisation API key id (value masked). Another
// organisation's key, an unknown id and a revoked key all give an
// [*APIError] matching [ErrNotFound]. Errors as in [Admin.Organization].
func (a *Admin) GetKey(ctx context.Context, id int64, opts ...CallOption) (*OrganizationAPIKey, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: get organization key %d: %w", id, err)
	}
	var key OrganizationAPIKey
	err = a.core.do(ctx, fmt.Sprintf("get organization key %d", id), &key, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.GetOrganizationAPIKey(ctx, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return &key, nil
}

// UpdateKey changes the fields set in body and returns the key, value
// masked; it carries an Idempotency-Key. Errors as in [Admin.Organization].
func (a *Admin) UpdateKey(ctx context.Context, id int64, body OrganizationAPIKeyUpdate, opts ...CallOption) (*OrganizationAPIKey, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: update organization key %d: %w", id, err)
	}
	params := &UpdateOrganizationAPIKeyParams{IdempotencyKey: o.idempotencyKey}
	var key OrganizationAPIKey
	err = a.core.do(ctx, fmt.Sprintf("update organization key %d", id), &key, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.UpdateOrganizationAPIKey(ctx, id, params, body)
	})
	if err != nil {
		return nil, err
	}
	return &key, nil
}

// RevokeKey revokes the organisation API key id, immediately and for good.
// It is retried like a GET: with [APIError.Attempts] > 1 on an
// [ErrNotFound], an earlier attempt may have revoked it. Errors as in
// [Admin.Organization].
func (a *Admin) RevokeKey(ctx context.Context, id int64, opts ...CallOption) (*OrganizationAPIKeyRevokeResponse, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: revoke organization key %d: %w", id, err)
	}
	var rev OrganizationAPIKeyRevokeResponse
	err = a.core.do(ctx, fmt.Sprintf("revoke organization key %d", id), &rev, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.RevokeOrganizationAPIKey(ctx, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return &rev, nil
}

// ListProjects returns one page of the organisation's projects; params may
// be nil. Errors as in [Admin.Organization].
func (a *Admin) ListProjects(ctx context.Context, params *ListProjectsParams, opts ...CallOption) (*OrgProjectList, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: list projects: %w", err)
	}
	var page OrgProjectList
	err = a.core.do(ctx, "list projects", &page, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.ListProjects(ctx, params)
	})
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// CreateProject creates a project in the organisation; it carries an
// Idempotency-Key. Errors as in [Admin.Organization].
func (a *Admin) CreateProject(ctx context.Context, body OrgProjectCreate, opts ...CallOption) (*OrgProject, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: create project: %w", err)
	}
	params := &CreateProjectParams{IdempotencyKey: o.idempotencyKey}
	var p OrgProject
	err = a.core.do(ctx, "create project", &p, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.CreateProject(ctx, params, body)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateProject changes the fields set in body (null clears an optional
// one); it carries an Idempotency-Key. Errors as in [Admin.Organization].
func (a *Admin) UpdateProject(ctx context.Context, id int64, body OrgProjectUpdate, opts ...CallOption) (*OrgProject, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: update project %d: %w", id, err)
	}
	params := &UpdateProjectParams{IdempotencyKey: o.idempotencyKey}
	var p OrgProject
	err = a.core.do(ctx, fmt.Sprintf("update project %d", id), &p, o, func(ctx context.Context) (*http.Response, error) {
		return a.core.raw.UpdateProject(ctx, id, params, body)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// AllKeys iterates over every organisation key matching params (nil for
// all), following nextCursor; errors, break and reuse behave as in
// [API.AllKeys].
func (a *Admin) AllKeys(ctx context.Context, params *ListOrganizationAPIKeysParams) iter.Seq2[OrganizationAPIKey, error] {
	return walkPages(ctx, "list organization keys", (*ListProjectAPIKeysParams)(params), PageDirectionNext, startOf((*ListProjectAPIKeysParams)(params)),
		func(ctx context.Context, p *ListProjectAPIKeysParams) ([]OrganizationAPIKey, nullable.Nullable[string], nullable.Nullable[string], error) {
			page, err := a.ListKeys(ctx, (*ListOrganizationAPIKeysParams)(p))
			if err != nil {
				return nil, nil, nil, err
			}
			return page.Results, page.NextCursor, page.PrevCursor, nil
		})
}

// AllKeysBackward iterates over the organisation keys before cursor, as
// [API.AllKeysBackward] does for project keys.
func (a *Admin) AllKeysBackward(ctx context.Context, cursor string, params *ListOrganizationAPIKeysParams) iter.Seq2[OrganizationAPIKey, error] {
	if cursor == "" {
		return func(yield func(OrganizationAPIKey, error) bool) {
			yield(OrganizationAPIKey{}, errors.New("spotzee: list organization keys backward: empty cursor"))
		}
	}
	return walkPages(ctx, "list organization keys", (*ListProjectAPIKeysParams)(params), PageDirectionPrev, &cursor,
		func(ctx context.Context, p *ListProjectAPIKeysParams) ([]OrganizationAPIKey, nullable.Nullable[string], nullable.Nullable[string], error) {
			page, err := a.ListKeys(ctx, (*ListOrganizationAPIKeysParams)(p))
			if err != nil {
				return nil, nil, nil, err
			}
			return page.Results, page.NextCursor, page.PrevCursor, nil
		})
}

// AllProjects iterates over every project matching params (nil for all),
// following nextCursor; errors, break and reuse behave as in [API.AllKeys].
func (a *Admin) AllProjects(ctx context.Context, params *ListProjectsParams) iter.Seq2[OrgProject, error] {
	return walkPages(ctx, "list projects", (*ListProjectAPIKeysParams)(params), PageDirectionNext, startOf((*ListProjectAPIKeysParams)(params)),
		func(ctx context.Context, p *ListProjectAPIKeysParams) ([]OrgProject, nullable.Nullable[string], nullable.Nullable[string], error) {
			page, err := a.ListProjects(ctx, (*ListProjectsParams)(p))
			if err != nil {
				return nil, nil, nil, err
			}
			return page.Results, page.NextCursor, page.PrevCursor, nil
		})
}

// startOf returns where a forward walk over params starts: params.Cursor.
func startOf(params *ListProjectAPIKeysParams) *string {
	if params == nil {
		return nil
	}
	return params.Cursor
}

// CurrentProject returns the project the calling secret key belongs to,
// with Role that key's role. Errors as in [API.GetKey].
func (c *API) CurrentProject(ctx context.Context, opts ...CallOption) (*Project, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: get current project: %w", err)
	}
	var p Project
	err = c.core.do(ctx, "get current project", &p, o, func(ctx context.Context) (*http.Response, error) {
		return c.core.raw.GetCurrentProject(ctx, nil)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}
