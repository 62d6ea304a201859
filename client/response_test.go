package client_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

const reqIDPattern = `^req_[0-9A-HJKMNP-TV-Z]{26}$`

// TestResponseMetadata checks WithResponse on every typed method against the
// reference server: request id, rate limits, list counts, the replayed flag
// and attempts, on success and on an *APIError.
func TestResponseMetadata(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t, spotzeetest.WithRateLimits(ratelimit.Config{
		Override: &ratelimit.Limits{ReadPerWindow: 100, WritePerWindow: 100},
	}))
	api, err := client.New(srv.URL, srv.AdminKey)
	require.NoError(t, err)
	ctx := t.Context()

	var created client.Response
	key, err := api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "meta"}, client.WithIdempotencyKey("meta-1"), client.WithResponse(&created))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, created.StatusCode)
	assert.Regexp(t, reqIDPattern, created.RequestID)
	assert.False(t, created.Replayed)
	assert.Equal(t, 1, created.Attempts)
	require.NotNil(t, created.RateLimit, "the reference server sends X-RateLimit-*")
	assert.Positive(t, created.RateLimit.Limit)
	assert.NotEmpty(t, created.RateLimit.Tier)

	var replay client.Response
	_, err = api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "meta"}, client.WithIdempotencyKey("meta-1"), client.WithResponse(&replay))
	require.NoError(t, err)
	assert.True(t, replay.Replayed, "Idempotent-Replayed")
	assert.Equal(t, created.RequestID, replay.RequestID, "a replay keeps the request id")

	var list client.Response
	_, err = api.ListKeys(ctx, nil, client.WithResponse(&list))
	require.NoError(t, err)
	require.NotNil(t, list.TotalCount)
	assert.Positive(t, *list.TotalCount)
	require.NotNil(t, list.Limit)
	assert.Equal(t, 25, *list.Limit)

	for _, step := range []struct {
		name string
		call func(*client.Response) error
	}{
		{"get", func(r *client.Response) error {
			_, err := api.GetKey(ctx, key.ID, client.WithResponse(r))
			return err
		}},
		{"update", func(r *client.Response) error {
			_, err := api.UpdateKey(ctx, key.ID, client.ProjectAPIKeyUpdate{}, client.WithResponse(r))
			return err
		}},
		{"revoke", func(r *client.Response) error { // last: the key is gone after it
			_, err := api.RevokeKey(ctx, key.ID, client.WithResponse(r))
			return err
		}},
	} {
		name := step.name
		var r client.Response
		require.NoError(t, step.call(&r), name)
		assert.Regexp(t, reqIDPattern, r.RequestID, name)
		assert.Nil(t, r.TotalCount, "%s: no list headers", name)
	}

	// On an error too, the metadata is there and agrees with the *APIError.
	var missing client.Response
	_, err = api.GetKey(ctx, key.ID, client.WithResponse(&missing))
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, missing.StatusCode)
	assert.Equal(t, apiErr.RequestID, missing.RequestID)
}

// TestCheckResponse turns generated-client responses into *APIError.
func TestCheckResponse(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	api, err := client.New(srv.URL, srv.AdminKey)
	require.NoError(t, err)

	resp, err := api.Raw().GetProjectAPIKey(t.Context(), 999999, nil)
	require.NoError(t, err)
	err = client.CheckResponse(resp)
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, client.ErrorCodeResourceMissing, apiErr.Code)
	assert.True(t, errors.Is(err, client.ErrNotFound))
	assert.Regexp(t, reqIDPattern, apiErr.RequestID)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "resource_missing", "the body is still readable")

	ok, err := api.Raw().ListProjectAPIKeys(t.Context(), nil)
	require.NoError(t, err)
	assert.NoError(t, client.CheckResponse(ok))

	// A key value in a message is redacted even though CheckResponse knows no key.
	leaky := &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/problem+json"}},
		Body: io.NopCloser(strings.NewReader(`{"status":"error","code":"parameter_invalid_format","message":"bad sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2","error":"x"}`))}
	err = client.CheckResponse(leaky)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "01HXY7Z9K8M5J2N4P6Q8R0S1T2")
}
