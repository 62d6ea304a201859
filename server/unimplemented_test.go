package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/server"
)

// partialServer implements one operation and leaves the others to the
// embedded Unimplemented.
type partialServer struct {
	server.Unimplemented
}

func (partialServer) GetProjectAPIKey(_ context.Context, req server.GetProjectAPIKeyRequestObject) (server.GetProjectAPIKeyResponseObject, error) {
	return server.GetProjectAPIKey200JSONResponse{Body: server.ProjectAPIKey{ID: req.KeyID, Name: "from the override"}}, nil
}

var (
	_ server.StrictServerInterface = partialServer{}
	_ server.StrictServerInterface = &partialServer{}
	_ server.StrictServerInterface = &server.Unimplemented{}
)

// notImplementedHandler answers a *server.NotImplementedError with a
// problem+json body carrying its status, and anything else with 500.
func notImplementedHandler(w http.ResponseWriter, _ *http.Request, err error) {
	var ni *server.NotImplementedError
	if errors.As(err, &ni) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(ni.HTTPStatus())
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status":  ni.HTTPStatus(),
			"title":   http.StatusText(ni.HTTPStatus()),
			"message": ni.Error(),
		})
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func TestUnimplementedThroughTheStrictHandler(t *testing.T) {
	t.Parallel()
	strict := server.NewStrictHandlerWithOptions(partialServer{}, nil, server.StrictHTTPServerOptions{
		ResponseErrorHandlerFunc: notImplementedHandler,
	})
	ts := httptest.NewServer(server.HandlerWithOptions(strict, server.StdHTTPServerOptions{BaseURL: "/api/client"}))
	t.Cleanup(ts.Close)

	do := func(method, path string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, nil)
		require.NoError(t, err)
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), "%s %s: JSON body", method, path)
		return resp, body
	}

	resp, body := do(http.MethodGet, "/api/client/keys/42")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the overridden operation answers what it returns")
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, float64(42), body["id"])
	assert.Equal(t, "from the override", body["name"])

	for _, c := range []struct{ method, path, message string }{
		{http.MethodGet, "/api/client/keys", "ListProjectAPIKeys (GET /keys) is not implemented by this server"},
		{http.MethodDelete, "/api/client/keys/42", "RevokeProjectAPIKey (DELETE /keys/{keyId}) is not implemented by this server"},
	} {
		resp, body := do(c.method, c.path)
		assert.Equal(t, http.StatusNotImplemented, resp.StatusCode, "%s %s", c.method, c.path)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), "%s %s", c.method, c.path)
		assert.Equal(t, float64(http.StatusNotImplemented), body["status"], "%s %s", c.method, c.path)
		assert.Equal(t, c.message, body["message"], "%s %s", c.method, c.path)
	}
}

// TestUnimplementedCoversEveryOperation calls every method of
// StrictServerInterface on Unimplemented{} and checks the error names the
// method and an operation of openapi.yaml, each operation once.
func TestUnimplementedCoversEveryOperation(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile("../openapi.yaml")
	require.NoError(t, err)
	specOps := 0
	for _, item := range doc.Paths.Map() {
		specOps += len(item.Operations())
	}

	iface := reflect.TypeFor[server.StrictServerInterface]()
	impl := reflect.ValueOf(server.Unimplemented{})
	require.Equal(t, specOps, iface.NumMethod(), "one StrictServerInterface method per spec operation")
	seen := map[string]string{}
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		t.Run(m.Name, func(t *testing.T) {
			fn := impl.MethodByName(m.Name)
			require.True(t, fn.IsValid(), "Unimplemented has no method %s", m.Name)
			out := fn.Call([]reflect.Value{reflect.ValueOf(context.Background()), reflect.Zero(m.Type.In(1))})
			require.Len(t, out, 2)
			assert.True(t, out[0].IsNil(), "no response object")
			err, _ := out[1].Interface().(error)
			require.Error(t, err)
			var ni *server.NotImplementedError
			require.ErrorAs(t, err, &ni)
			assert.Equal(t, m.Name, ni.Operation)
			assert.Equal(t, http.StatusNotImplemented, ni.HTTPStatus())
			assert.Equal(t, m.Name+" ("+ni.Method+" "+ni.Path+") is not implemented by this server", ni.Error())

			item := doc.Paths.Value(ni.Path)
			require.NotNil(t, item, "%s: path %q is not in openapi.yaml", m.Name, ni.Path)
			assert.NotNil(t, item.GetOperation(ni.Method), "%s: no %s %s in openapi.yaml", m.Name, ni.Method, ni.Path)
			route := ni.Method + " " + ni.Path
			assert.NotContains(t, seen, route, "%s and %s claim the same operation", seen[route], m.Name)
			seen[route] = m.Name
		})
	}
}
