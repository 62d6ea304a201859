package conventions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/conventions"
	"github.com/spotzeekit/spotzee-keys/server"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// failing answers every operation with what fail does: return an error or
// panic.
type failing struct {
	server.Unimplemented
	fail func() error
}

var _ server.StrictServerInterface = failing{}

func (f failing) ListProjectAPIKeys(context.Context, server.ListProjectAPIKeysRequestObject) (server.ListProjectAPIKeysResponseObject, error) {
	return nil, f.fail()
}

func (f failing) CreateProjectAPIKey(context.Context, server.CreateProjectAPIKeyRequestObject) (server.CreateProjectAPIKeyResponseObject, error) {
	return nil, f.fail()
}

func (f failing) GetProjectAPIKey(context.Context, server.GetProjectAPIKeyRequestObject) (server.GetProjectAPIKeyResponseObject, error) {
	return nil, f.fail()
}

func (f failing) UpdateProjectAPIKey(context.Context, server.UpdateProjectAPIKeyRequestObject) (server.UpdateProjectAPIKeyResponseObject, error) {
	return nil, f.fail()
}

func (f failing) RevokeProjectAPIKey(context.Context, server.RevokeProjectAPIKeyRequestObject) (server.RevokeProjectAPIKeyResponseObject, error) {
	return nil, f.fail()
}

const secretText = "db password hunter2 at 10.0.0.7"

// TestErrorHandling: a plain error, a catalogue error, a panic, an unknown
// path and an unknown method all come back as problem+json that the
// reference profile accepts, with no internal text.
func TestErrorHandling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fail       func() error
		method     string
		path       string
		wantStatus int
		wantCode   spotzee.Code
	}{
		{"plain error", func() error { return errors.New(secretText) }, "GET", "/api/client/keys/1", 500, spotzee.CodeInternalError},
		{"wrapped catalogue error", func() error {
			return fmt.Errorf("lookup: %w", spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with id 1."))
		}, "GET", "/api/client/keys/1", 404, spotzee.CodeResourceMissing},
		{"panic", func() error { panic(secretText) }, "DELETE", "/api/client/keys/1", 500, spotzee.CodeInternalError},
		{"unknown path", nil, "GET", "/api/client/nope", 404, spotzee.CodeResourceMissing},
		{"unknown method", nil, "PUT", "/api/client/keys/1", 405, spotzee.CodeResourceMissing},
		{"path outside the API", nil, "GET", "/elsewhere", 404, spotzee.CodeResourceMissing},
		{"binding error", nil, "GET", "/api/client/keys/abc", 400, spotzee.CodeParameterInvalidFormat},
		{"unsupported version", nil, "GET", "/api/client/keys/1?v=1", 400, spotzee.CodeVersionUnsupported},
	}
	ref, err := validate.Reference()
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs strings.Builder
			log := slog.New(slog.NewTextHandler(&logs, nil))
			fail := tt.fail
			if fail == nil {
				fail = func() error { return nil }
			}
			// No request validation here: the stack under test is the
			// generated router and the conventions layer alone.
			h := conventions.Middleware(conventions.Config{Logger: log})(
				server.HandlerWithOptions(server.NewStrictHandlerWithOptions(failing{fail: fail}, nil, conventions.StrictOptions(log)),
					conventions.StdOptions("/api/client")))
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Authorization", "Bearer sk_x")
			if strings.Contains(tt.path, "?v=1") {
				req.Header.Set("Spotzee-Version", "2001-01-01")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			assert.NotContains(t, rec.Body.String(), "hunter2", "no internal text reaches the client")
			var body struct {
				Code      spotzee.Code `json:"code"`
				Message   string       `json:"message"`
				Error     string       `json:"error"`
				RequestID string       `json:"request_id"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			assert.Equal(t, tt.wantCode, body.Code)
			assert.Equal(t, body.Message, body.Error)
			assert.Equal(t, rec.Header().Get("X-Request-Id"), body.RequestID)
			assert.Equal(t, conventions.CurrentVersion, rec.Header().Get("Spotzee-Version"))
			if tt.wantStatus == 500 {
				assert.Contains(t, logs.String(), "hunter2", "the internal text is logged for the operator")
			}
			// The answer satisfies the reference profile where the contract
			// documents it (the documented operations' statuses).
			if tt.wantStatus != 405 && strings.HasPrefix(tt.path, "/api/client/keys/1") {
				ex, err := ref.Match(req)
				require.NoError(t, err)
				assert.NoError(t, ref.CheckResponse(t.Context(), ex, rec.Code, rec.Header(), rec.Body.Bytes()))
			}
		})
	}
}

// TestHandlerLeavingHeadersEmpty: a handler that sets X-Request-Id and
// Spotzee-Version to "" gets them stamped.
func TestHandlerLeavingHeadersEmpty(t *testing.T) {
	t.Parallel()
	h := conventions.Middleware(conventions.Config{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Request-Id", "")
		w.Header().Set("Spotzee-Version", "")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/client/keys", nil))
	assert.Regexp(t, `^req_[0-9A-HJKMNP-TV-Z]{26}$`, rec.Header().Get("X-Request-Id"))
	assert.Equal(t, conventions.CurrentVersion, rec.Header().Get("Spotzee-Version"))
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		values  []string
		anyDate bool
		want    string
		code    spotzee.Code
	}{
		{"absent", nil, false, conventions.CurrentVersion, ""},
		{"current", []string{conventions.CurrentVersion}, false, conventions.CurrentVersion, ""},
		{"unknown date", []string{"2030-01-01"}, false, conventions.CurrentVersion, spotzee.CodeVersionUnsupported},
		{"unknown date accepted", []string{"2030-01-01"}, true, "2030-01-01", ""},
		{"not a date", []string{"latest"}, true, conventions.CurrentVersion, spotzee.CodeParameterInvalidFormat},
		{"two values", []string{conventions.CurrentVersion, conventions.CurrentVersion}, false, conventions.CurrentVersion, spotzee.CodeParameterInvalidFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Spotzee-Version": tt.values}
			got, err := conventions.CheckVersion(h, nil, tt.anyDate)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.code, spotzee.ErrorCode(err))
		})
	}
}

// TestNewHandlerRefusesAPrefixMismatch: a validator for one prefix and a
// handler at another fail at start-up, not at the first request.
func TestNewHandlerRefusesAPrefixMismatch(t *testing.T) {
	t.Parallel()
	v, err := validate.New(validate.WithPathPrefix("/v1"))
	require.NoError(t, err)
	_, err = conventions.NewHandler(conventions.HandlerConfig{Server: failing{}, Validator: v})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"/v1"`)
	assert.Contains(t, err.Error(), `"/api/client"`)

	_, err = conventions.NewHandler(conventions.HandlerConfig{Server: failing{}, Validator: v, BaseURL: "/v1"})
	assert.NoError(t, err)
	_, err = conventions.NewHandler(conventions.HandlerConfig{})
	assert.Error(t, err, "a server is required")
}

// TestValidateMiddlewareErrorsSatisfyTheProfile: the middleware's own 400,
// with or without the conventions layer around it, carries Spotzee-Version
// and passes the reference profile through validate.Transport.
func TestValidateMiddlewareErrorsSatisfyTheProfile(t *testing.T) {
	t.Parallel()
	ref, err := validate.Reference()
	require.NoError(t, err)
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("an invalid request reached the handler") })
	for name, h := range map[string]http.Handler{
		"alone":            ref.Middleware()(next),
		"with conventions": conventions.Middleware(conventions.Config{})(ref.Middleware()(next)),
	} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/client/keys?limit=500", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
		resp, err := (&http.Client{Transport: ref.Transport(nil, validate.SkipRequestValidation())}).Do(req)
		require.NoError(t, err, "%s: the 400 satisfies the reference profile", name)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		assert.Equal(t, conventions.CurrentVersion, resp.Header.Get("Spotzee-Version"), name)
	}
}
