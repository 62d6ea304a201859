package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// ListKeys returns one page of the project's API keys (values masked). params
// may be nil; pass a previous page's NextCursor (or PrevCursor with Page
// "prev") with the same filters to move on, or use [API.AllKeys]. On a
// non-2xx response it returns an [*APIError]; otherwise on failure a wrapped
// network, context or decode error.
func (c *API) ListKeys(ctx context.Context, params *ListProjectAPIKeysParams, opts ...CallOption) (*ProjectAPIKeyList, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: list keys: %w", err)
	}
	var page ProjectAPIKeyList
	err = c.core.do(ctx, "list keys", &page, o, func(ctx context.Context) (*http.Response, error) {
		return c.core.raw.ListProjectAPIKeys(ctx, params)
	})
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// CreateKey creates a project API key and returns it with its full Value, the
// only time Spotzee ever returns it: store it now. The call carries an
// Idempotency-Key (generated, or set with [WithIdempotencyKey]) so it is
// retried safely. On a non-2xx response it returns an [*APIError]; otherwise
// on failure a wrapped network, context or decode error.
func (c *API) CreateKey(ctx context.Context, body ProjectAPIKeyCreate, opts ...CallOption) (*ProjectAPIKeyCreated, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: create key: %w", err)
	}
	params := &CreateProjectAPIKeyParams{IdempotencyKey: o.idempotencyKey}
	var created ProjectAPIKeyCreated
	err = c.core.do(ctx, "create key", &created, o, func(ctx context.Context) (*http.Response, error) {
		return c.core.raw.CreateProjectAPIKey(ctx, params, body)
	})
	if err != nil {
		return nil, err
	}
	return &created, nil
}

// GetKey returns the API key id (value masked). A key of another project, an
// unknown id and a revoked key all give an [*APIError] matching
// [ErrNotFound]. On other failures it returns an [*APIError] or a wrapped
// network, context or decode error.
func (c *API) GetKey(ctx context.Context, id int64, opts ...CallOption) (*ProjectAPIKey, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: get key %d: %w", id, err)
	}
	var key ProjectAPIKey
	err = c.core.do(ctx, fmt.Sprintf("get key %d", id), &key, o, func(ctx context.Context) (*http.Response, error) {
		return c.core.raw.GetProjectAPIKey(ctx, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return &key, nil
}

// UpdateKey changes the fields set in body (absent fields keep their value;
// a null Description clears it) and returns the updated key, value masked.
// The call carries an Idempotency-Key (generated, or set with
// [WithIdempotencyKey]) so it is retried safely. On a non-2xx response it
// returns an [*APIError]; otherwise on failure a wrapped network, context or
// decode error.
func (c *API) UpdateKey(ctx context.Context, id int64, body ProjectAPIKeyUpdate, opts ...CallOption) (*ProjectAPIKey, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: update key %d: %w", id, err)
	}
	params := &UpdateProjectAPIKeyParams{IdempotencyKey: o.idempotencyKey}
	var key ProjectAPIKey
	err = c.core.do(ctx, fmt.Sprintf("update key %d", id), &key, o, func(ctx context.Context) (*http.Response, error) {
		return c.core.raw.UpdateProjectAPIKey(ctx, id, params, body)
	})
	if err != nil {
		return nil, err
	}
	return &key, nil
}

// RevokeKey revokes the API key id, immediately and for good, and returns
// the acknowledgement. It is retried like a GET (see [RetryPolicy]): if
// [APIError.Attempts] > 1 on an [ErrNotFound] error, an earlier attempt may
// have revoked the key. A system key gives an [*APIError] matching
// [ErrConflict]. On other failures it returns an [*APIError] or a wrapped
// network, context or decode error.
func (c *API) RevokeKey(ctx context.Context, id int64, opts ...CallOption) (*APIKeyRevokeResponse, error) {
	o, err := applyCallOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("spotzee: revoke key %d: %w", id, err)
	}
	var rev APIKeyRevokeResponse
	err = c.core.do(ctx, fmt.Sprintf("revoke key %d", id), &rev, o, func(ctx context.Context) (*http.Response, error) {
		return c.core.raw.RevokeProjectAPIKey(ctx, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return &rev, nil
}

// do runs one typed call: send, then decode a 2xx body into out or turn any
// other status into an *APIError, filling o.response with the metadata when
// set. op names the call in wrapped errors.
func (c *core) do(ctx context.Context, op string, out any, o callOptions, send func(context.Context) (*http.Response, error)) error {
	info := &callInfo{}
	resp, err := send(context.WithValue(ctx, callInfoKey{}, info))
	if err != nil {
		return fmt.Errorf("spotzee: %s: %w", op, err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("spotzee: %s: read response body: %w", op, err)
	}
	if o.response != nil {
		*o.response = newResponse(resp, info.attempts)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(resp, body, info.attempts, c.redact)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("spotzee: %s: decode %d response (request_id %q): %w",
			op, resp.StatusCode, resp.Header.Get(headerRequestID), err)
	}
	return nil
}
