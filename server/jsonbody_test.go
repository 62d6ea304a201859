package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/oapi-codegen/runtime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingBody returns data, then err.
type failingBody struct {
	r   io.Reader
	err error
}

func (f *failingBody) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func (f *failingBody) Close() error { return nil }

// TestDecodeJSONBodyIsBindJSONBody checks that the strict handlers' body
// decoder gives what runtime.BindJSONBody gives — value and error — for
// plain bodies (the fast path), every other kind (the fallback on the same
// bytes), bodies past the fast path's limit, bodies whose read fails
// midway, and an empty body (io.EOF, which optional bodies treat as
// absent).
func TestDecodeJSONBodyIsBindJSONBody(t *testing.T) {
	t.Parallel()
	long := `{"name":"` + strings.Repeat("x", jsonFastMax) + `"}`
	readErr := errors.New("connection reset")
	tests := []struct {
		name   string
		body   string
		failAt error // the read error after body, if any
		fast   bool  // decodeJSONFast accepts the bytes (decodeJSONBody may still not call it)
	}{
		{name: "plain", body: `{"name":"renamed","description":null,"role":"editor"}`, fast: true},
		{name: "plain with whitespace", body: " {\n\t\"name\" : \"a\" ,\"scope\":\"public\"}\r\n", fast: true},
		{name: "empty object", body: `{}`, fast: true},
		{name: "escapes", body: `{"name":"caf\u00e9 \"x\""}`},
		{name: "case-changed member", body: `{"NAME":"x"}`},
		{name: "unknown member", body: `{"name":"x","extra":[1,2]}`},
		{name: "duplicate member", body: `{"name":"x","name":"y"}`},
		{name: "wrong type", body: `{"name":12}`},
		{name: "trailing text", body: `{"name":"x"} {"name":"y"}`},
		{name: "syntax error", body: `{"name":"x",}`},
		{name: "not an object", body: `["x"]`},
		{name: "null", body: `null`},
		{name: "empty", body: ``},
		{name: "whitespace only", body: "  \n"},
		{name: "past the fast path's limit", body: long, fast: true},
		{name: "read fails after a complete value", body: `{"name":"x"}`, failAt: readErr, fast: true},
		{name: "read fails midway", body: `{"name":"x`, failAt: readErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			request := func() *http.Request {
				r := httptest.NewRequest(http.MethodPatch, "/api/client/keys/1", strings.NewReader(tt.body))
				if tt.failAt != nil {
					r.Body = &failingBody{r: strings.NewReader(tt.body), err: tt.failAt}
					r.ContentLength = -1
				}
				return r
			}
			var want ProjectAPIKeyUpdate
			wantErr := runtime.BindJSONBody(request(), &want)
			var got ProjectAPIKeyUpdate
			gotErr := decodeJSONBody(request(), &got)
			assert.Equal(t, want, got)
			if wantErr == nil {
				assert.NoError(t, gotErr)
			} else {
				require.Error(t, gotErr)
				assert.Equal(t, wantErr.Error(), gotErr.Error())
				assert.Equal(t, errors.Is(wantErr, io.EOF), errors.Is(gotErr, io.EOF), "io.EOF")
			}
			var direct ProjectAPIKeyUpdate
			assert.Equal(t, tt.fast, direct.decodeJSONFast([]byte(tt.body)), "decodeJSONFast")
		})
	}
}

// TestDecodeJSONBodyKeepsReadingAfterTheLimit checks that a body longer
// than the fast path reads is decoded whole, from what was read and the
// rest of the original body.
func TestDecodeJSONBodyKeepsReadingAfterTheLimit(t *testing.T) {
	t.Parallel()
	name := strings.Repeat("é", jsonFastMax)
	body, err := ProjectAPIKeyUpdate{Name: &name}.MarshalJSON()
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPatch, "/", io.NopCloser(bytes.NewReader(body)))
	r.ContentLength = -1
	var got ProjectAPIKeyUpdate
	require.NoError(t, decodeJSONBody(r, &got))
	require.NotNil(t, got.Name)
	assert.Equal(t, name, *got.Name)
}

// TestStrictHandlersUseTheGeneratedJSON checks that the generated strict
// handlers call decodeJSONBody and encodeJSON (strict-*.gen.tmpl), so a
// regenerated server.gen.go without the templates fails here.
func TestStrictHandlersUseTheGeneratedJSON(t *testing.T) {
	t.Parallel()
	var got ProjectAPIKeyUpdate
	ssi := &captureUpdate{got: &got}
	h := Handler(NewStrictHandler(ssi, nil))
	r := httptest.NewRequest(http.MethodPatch, "/keys/7", strings.NewReader(`{"name":"renamed","description":null}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NotNil(t, got.Name)
	assert.Equal(t, "renamed", *got.Name)
	assert.True(t, got.Description.IsNull())
	assert.Equal(t, `{"created_at":"2026-04-28T09:30:00Z","description":null,"id":7,"name":"renamed","project_id":1,"role":"admin","scope":"secret","updated_at":"2026-04-28T09:30:00Z","value":"sk_****ABCD"}`+"\n", w.Body.String())
}

// captureUpdate answers UpdateProjectAPIKey with a fixed key and keeps the
// body it was given.
type captureUpdate struct {
	Unimplemented
	got *ProjectAPIKeyUpdate
}

func (c *captureUpdate) UpdateProjectAPIKey(_ context.Context, req UpdateProjectAPIKeyRequestObject) (UpdateProjectAPIKeyResponseObject, error) {
	*c.got = *req.Body
	at := nullable.NewNullableWithValue("2026-04-28T09:30:00Z")
	return UpdateProjectAPIKey200JSONResponse{Body: ProjectAPIKey{ID: req.KeyID, ProjectID: 1, Name: *req.Body.Name,
		Description: req.Body.Description, Scope: APIKeyScopeSecret, Role: ProjectRoleAdmin, Value: "sk_****ABCD",
		CreatedAt: at, UpdatedAt: at}}, nil
}
