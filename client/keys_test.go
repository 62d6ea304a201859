package client_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

func TestTypedMethods(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 4, 28, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name       string
		run        func(t *testing.T, c *client.API)
		wantMethod string
		wantPath   string
		wantQuery  url.Values
		wantBody   string // JSON, "" for none
	}{
		{
			name: "ListKeys",
			run: func(t *testing.T, c *client.API) {
				page, err := c.ListKeys(t.Context(), &client.ListProjectAPIKeysParams{
					Cursor: new("eyJ2IjoxfQ"), Page: new(client.PageDirectionNext), Limit: new(50),
					Sort: new("-created_at"), Direction: new(client.SortDirectionDesc), Q: new("billing svc"),
				})
				require.NoError(t, err)
				require.Len(t, page.Results, 1)
				assert.Equal(t, "one", page.Results[0].Name)
				assert.True(t, page.NextCursor.IsNull())
				assert.Equal(t, 25, page.Limit)
			},
			wantMethod: "GET", wantPath: "/keys",
			wantQuery: url.Values{"cursor": {"eyJ2IjoxfQ"}, "page": {"next"}, "limit": {"50"}, "sort": {"-created_at"}, "direction": {"desc"}, "q": {"billing svc"}},
		},
		{
			name: "CreateKey",
			run: func(t *testing.T, c *client.API) {
				k, err := c.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "ci", Role: new(client.ProjectRoleAdmin)})
				require.NoError(t, err)
				assert.Equal(t, int64(12), k.ID)
				assert.Equal(t, "sk_01HXY7Z9K8M5J2N4P6Q8R0NEW1", k.Value, "the full value, once")
				assert.Equal(t, created.Format(time.RFC3339), k.CreatedAt.MustGet())
				assert.True(t, k.UpdatedAt.IsNull())
			},
			wantMethod: "POST", wantPath: "/keys", wantBody: `{"name":"ci","role":"admin"}`,
		},
		{
			name: "GetKey",
			run: func(t *testing.T, c *client.API) {
				k, err := c.GetKey(t.Context(), 12)
				require.NoError(t, err)
				assert.Equal(t, "sk_****S1T2", k.Value)
				assert.Equal(t, client.ProjectRoleAdmin, k.Role)
			},
			wantMethod: "GET", wantPath: "/keys/12",
		},
		{
			name: "UpdateKey",
			run: func(t *testing.T, c *client.API) {
				k, err := c.UpdateKey(t.Context(), 12, client.ProjectAPIKeyUpdate{
					Description: nullable.NewNullNullable[string](), Scope: new(client.APIKeyScopePublic),
				})
				require.NoError(t, err)
				assert.Equal(t, int64(12), k.ID)
			},
			wantMethod: "PATCH", wantPath: "/keys/12", wantBody: `{"description":null,"scope":"public"}`,
		},
		{
			name: "RevokeKey",
			run: func(t *testing.T, c *client.API) {
				r, err := c.RevokeKey(t.Context(), 12)
				require.NoError(t, err)
				assert.Equal(t, int64(12), *r.ID)
				assert.True(t, *r.Revoked)
				assert.Equal(t, created.Format(time.RFC3339), *r.RevokedAt)
			},
			wantMethod: "DELETE", wantPath: "/keys/12",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t)
			c, _ := newTestAPI(t, srv.Server)

			tt.run(t, c)

			reqs := srv.requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, tt.wantMethod, r.method)
			assert.Equal(t, tt.wantPath, r.path)
			q, err := url.ParseQuery(r.query)
			require.NoError(t, err)
			if tt.wantQuery == nil {
				tt.wantQuery = url.Values{}
			}
			assert.Equal(t, tt.wantQuery, q)
			if tt.wantBody == "" {
				assert.Empty(t, r.body)
			} else {
				assert.JSONEq(t, tt.wantBody, string(r.body))
			}
		})
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", "<html>ok</html>"},
		{"truncated", `{"id":12,"name":"x`},
		{"wrong type", `{"id":"twelve"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, reply{body: tt.body})
			c, _ := newTestAPI(t, srv.Server)

			k, err := c.GetKey(t.Context(), 12)

			require.Error(t, err)
			assert.Nil(t, k)
			var apiErr *client.APIError
			assert.False(t, errors.As(err, &apiErr), "a 2xx is not an APIError")
			var syntaxErr *json.SyntaxError
			var typeErr *json.UnmarshalTypeError
			assert.True(t, errors.As(err, &syntaxErr) || errors.As(err, &typeErr), "wraps the JSON error: %v", err)
			assert.Contains(t, err.Error(), "get key 12")
			assert.Contains(t, err.Error(), "req_00000000000000000000000001")
			assert.Equal(t, 1, srv.count(), "a 2xx is never retried")
		})
	}
}
