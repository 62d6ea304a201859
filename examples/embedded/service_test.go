package embedded_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/examples/embedded"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// scenario is what both the embedded service and spotzeetest (standing in
// for Spotzee) must do alike: create, read masked, revoke, then 404.
func scenario(t *testing.T, api *client.API) {
	t.Helper()
	ctx := t.Context()
	created, err := api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "embedded"})
	require.NoError(t, err)
	assert.Len(t, created.Value, 29, "sk_ and 26 characters")

	got, err := api.GetKey(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, created.Value[:3]+"****"+created.Value[25:], got.Value, "reads are masked")

	_, err = api.RevokeKey(ctx, created.ID)
	require.NoError(t, err)
	_, err = api.GetKey(ctx, created.ID)
	assert.True(t, errors.Is(err, client.ErrNotFound), "revoked: %v", err)

	_, err = api.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: ""})
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, client.ErrorCodeParameterInvalidEmpty, apiErr.Code)
}

// contractClient calls url through validate.Transport with the reference
// profile: every response is checked against the contract (requests are
// not, so that the scenario can send a bad one on purpose).
func contractClient(t *testing.T, url, key string) *client.API {
	t.Helper()
	v, err := validate.Reference()
	require.NoError(t, err)
	api, err := client.New(url, key, client.WithTransport(v.Transport(nil, validate.SkipRequestValidation())))
	require.NoError(t, err)
	return api
}

func TestEmbeddedServiceKeepsTheContract(t *testing.T) {
	t.Parallel()
	h, err := embedded.NewHandler(true)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	scenario(t, contractClient(t, srv.URL+"/api/client", "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"))
}

// TestSpotzeetestAsSpotzee runs the same scenario against the reference
// server standing in for Spotzee.
func TestSpotzeetestAsSpotzee(t *testing.T) {
	t.Parallel()
	srv := spotzeetest.NewServer(t)
	scenario(t, contractClient(t, srv.URL, srv.AdminKey))
}

// TestUnimplementedOperationAnswers501 covers what the service leaves to
// server.Unimplemented.
func TestUnimplementedOperationAnswers501(t *testing.T) {
	t.Parallel()
	h, err := embedded.NewHandler(false)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/api/client/keys", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusNotImplemented, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	err = client.CheckResponse(resp)
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Regexp(t, `^req_`, apiErr.RequestID)
}
