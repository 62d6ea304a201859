package validate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/internal/ulid"
	"github.com/spotzeekit/spotzee-keys/problem"
	"github.com/spotzeekit/spotzee-keys/server"
	"github.com/spotzeekit/spotzee-keys/validate"
)

const version = "2026-04-28"

type ridKey struct{}

func rid(ctx context.Context) string { s, _ := ctx.Value(ridKey{}).(string); return s }

// withConventions sets X-Request-Id and Spotzee-Version the way a real
// server's outermost middleware does, and puts the id in the context.
func withConventions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req_" + ulid.Make(time.Now())
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("Spotzee-Version", version)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ridKey{}, id)))
	})
}

func problemOf(ctx context.Context, code spotzee.Code) server.ErrorResponse {
	return server.ErrorResponse{
		Status: server.ErrorResponseStatusError, Code: server.ErrorCode(code), Title: ptr(code.Title()),
		Message: "test", Error: "test", Type: ptr(code.TypeURL()), RequestID: ptr(rid(ctx)),
	}
}

func now() nullable.Nullable[string] {
	return nullable.NewNullableWithValue(time.Now().UTC().Format(time.RFC3339))
}

func ptr[T any](v T) *T { return &v }

func maskedKey() server.ProjectAPIKey {
	return server.ProjectAPIKey{ID: 12, ProjectID: 123, Name: "Production server", Scope: server.APIKeyScopeSecret,
		Role: server.ProjectRoleAdmin, Value: "sk_****S1T2", CreatedAt: now(), UpdatedAt: now()}
}

// stub is a StrictServerInterface whose answers each test chooses; a nil
// function answers with a valid success response.
type stub struct {
	server.Unimplemented
	list   func(ctx context.Context) server.ListProjectAPIKeysResponseObject
	create func(ctx context.Context) server.CreateProjectAPIKeyResponseObject
	get    func(ctx context.Context) server.GetProjectAPIKeyResponseObject
	update func(ctx context.Context) server.UpdateProjectAPIKeyResponseObject
	revoke func(ctx context.Context) server.RevokeProjectAPIKeyResponseObject
}

var _ server.StrictServerInterface = (*stub)(nil)

func (s *stub) ListProjectAPIKeys(ctx context.Context, _ server.ListProjectAPIKeysRequestObject) (server.ListProjectAPIKeysResponseObject, error) {
	if s.list != nil {
		return s.list(ctx), nil
	}
	return server.ListProjectAPIKeys200JSONResponse{
		Body: server.ProjectAPIKeyList{Results: []server.ProjectAPIKey{maskedKey()}, Limit: 25,
			NextCursor: nullable.NewNullNullable[string](), PrevCursor: nullable.NewNullNullable[string]()},
		Headers: server.ListProjectAPIKeys200ResponseHeaders{XRequestID: ptr(rid(ctx)), SpotzeeVersion: ptr(version)},
	}, nil
}

func (s *stub) CreateProjectAPIKey(ctx context.Context, _ server.CreateProjectAPIKeyRequestObject) (server.CreateProjectAPIKeyResponseObject, error) {
	if s.create != nil {
		return s.create(ctx), nil
	}
	return server.CreateProjectAPIKey200JSONResponse{
		Body: server.ProjectAPIKeyCreated{ID: 12, ProjectID: 123, Name: "CI", Scope: server.APIKeyScopeSecret,
			Role: server.ProjectRoleSupport, Value: "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", CreatedAt: now(), UpdatedAt: now()},
		Headers: server.CreateProjectAPIKey200ResponseHeaders{XRequestID: ptr(rid(ctx)), SpotzeeVersion: ptr(version)},
	}, nil
}

func (s *stub) GetProjectAPIKey(ctx context.Context, _ server.GetProjectAPIKeyRequestObject) (server.GetProjectAPIKeyResponseObject, error) {
	if s.get != nil {
		return s.get(ctx), nil
	}
	return server.GetProjectAPIKey200JSONResponse{Body: maskedKey(),
		Headers: server.GetProjectAPIKey200ResponseHeaders{XRequestID: ptr(rid(ctx)), SpotzeeVersion: ptr(version)}}, nil
}

func (s *stub) UpdateProjectAPIKey(ctx context.Context, _ server.UpdateProjectAPIKeyRequestObject) (server.UpdateProjectAPIKeyResponseObject, error) {
	if s.update != nil {
		return s.update(ctx), nil
	}
	return server.UpdateProjectAPIKey200JSONResponse{Body: maskedKey(),
		Headers: server.UpdateProjectAPIKey200ResponseHeaders{XRequestID: ptr(rid(ctx)), SpotzeeVersion: ptr(version)}}, nil
}

func (s *stub) RevokeProjectAPIKey(ctx context.Context, _ server.RevokeProjectAPIKeyRequestObject) (server.RevokeProjectAPIKeyResponseObject, error) {
	if s.revoke != nil {
		return s.revoke(ctx), nil
	}
	return server.RevokeProjectAPIKey200JSONResponse{
		Body:    server.APIKeyRevokeResponse{ID: ptr[int64](12), Revoked: ptr(true), RevokedAt: ptr(time.Now().UTC().Format(time.RFC3339))},
		Headers: server.RevokeProjectAPIKey200ResponseHeaders{XRequestID: ptr(rid(ctx)), SpotzeeVersion: ptr(version)}}, nil
}

// harness is a generated strict server behind validate.Middleware (responses
// validated) and a generated client behind validate.Transport.
type harness struct {
	client     *client.ClientWithResponses
	mu         sync.Mutex
	violations []*validate.ResponseViolation
}

func newHarness(t *testing.T, s *stub, topts ...validate.TransportOption) *harness {
	t.Helper()
	return newProfileHarness(t, s, nil, topts...)
}

// newProfileHarness is newHarness validating with vopts on both sides (for
// example validate.WithReferenceProfile()).
func newProfileHarness(t *testing.T, s *stub, vopts []validate.Option, topts ...validate.TransportOption) *harness {
	t.Helper()
	v, err := validate.New(vopts...)
	require.NoError(t, err)
	h := &harness{}
	strict := server.NewStrictHandlerWithOptions(s, nil, server.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  func(w http.ResponseWriter, _ *http.Request, err error) { problem.Write(w, err) },
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) { problem.Write(w, err) },
	})
	api := server.HandlerWithOptions(strict, server.StdHTTPServerOptions{BaseURL: "/api/client"})
	mw := v.Middleware(validate.ValidateResponses(), validate.OnResponseViolation(func(_ *http.Request, rv *validate.ResponseViolation) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.violations = append(h.violations, rv)
	}))
	srv := httptest.NewServer(withConventions(mw(api)))
	t.Cleanup(srv.Close)
	c, err := client.NewClientWithResponses(srv.URL+"/api/client",
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil, topts...)}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", bearer)
			return nil
		}))
	require.NoError(t, err)
	h.client = c
	return h
}

type call func(ctx context.Context, c *client.ClientWithResponses) (int, error)

func callList(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	r, err := c.ListProjectAPIKeysWithResponse(ctx, nil)
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callCreate(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	r, err := c.CreateProjectAPIKeyWithResponse(ctx, nil, client.ProjectAPIKeyCreate{Name: "CI"})
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callGet(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	r, err := c.GetProjectAPIKeyWithResponse(ctx, 12, nil)
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callUpdate(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	name := "renamed"
	r, err := c.UpdateProjectAPIKeyWithResponse(ctx, 12, nil, client.ProjectAPIKeyUpdate{Name: &name,
		Description: nullable.NewNullNullable[string]()})
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callRevoke(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	r, err := c.RevokeProjectAPIKeyWithResponse(ctx, 12, nil)
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

// errorsFor builds, for one operation, a stub answering each documented
// error status with a valid problem body.
// errorStub answers op with a problem+json error of the given status, its
// catalogue code and the headers the spec documents for it.
func errorStub(op string, status int) *stub {
	code := map[int]spotzee.Code{400: spotzee.CodeParameterInvalidFormat, 401: spotzee.CodeAuthenticationRequired,
		403: spotzee.CodePermissionDenied, 404: spotzee.CodeResourceMissing, 409: spotzee.CodeStateConflict,
		422: spotzee.CodeValidationFailed, 429: spotzee.CodeRateLimited, 500: spotzee.CodeInternalError}[status]
	answer := func(ctx context.Context) rawResponse {
		body, _ := json.Marshal(problemOf(ctx, code))
		r := rawResponse{status: status, ct: "application/problem+json", body: string(body)}
		if status == http.StatusTooManyRequests {
			r.header = map[string]string{"Retry-After": "1"}
		}
		return r
	}
	s := &stub{}
	switch op {
	case "list":
		s.list = func(ctx context.Context) server.ListProjectAPIKeysResponseObject { return answer(ctx) }
	case "create":
		s.create = func(ctx context.Context) server.CreateProjectAPIKeyResponseObject { return answer(ctx) }
	case "get":
		s.get = func(ctx context.Context) server.GetProjectAPIKeyResponseObject { return answer(ctx) }
	case "update":
		s.update = func(ctx context.Context) server.UpdateProjectAPIKeyResponseObject { return answer(ctx) }
	case "revoke":
		s.revoke = func(ctx context.Context) server.RevokeProjectAPIKeyResponseObject { return answer(ctx) }
	}
	return s
}

// upstreamErrors are the error statuses Spotzee documents on every operation.
var upstreamErrors = []int{400, 401, 403, 404, 409, 422, 429, 500}

var operations = []struct {
	name     string
	call     call
	success  int
	statuses []int
}{
	{"list", callList, 200, upstreamErrors},
	{"create", callCreate, 200, upstreamErrors},
	{"get", callGet, 200, upstreamErrors},
	{"update", callUpdate, 200, upstreamErrors},
	{"revoke", callRevoke, 200, upstreamErrors},
}

// TestContractEveryDocumentedStatus calls each operation through the
// generated client and validate.Transport, against the generated strict
// server behind validate.Middleware, for every documented status.
func TestContractEveryDocumentedStatus(t *testing.T) {
	t.Parallel()
	for _, op := range operations {
		t.Run(op.name+"/success", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, &stub{})
			status, err := op.call(t.Context(), h.client)
			require.NoError(t, err)
			assert.Equal(t, op.success, status)
			assert.Empty(t, h.violations)
		})
		for _, st := range op.statuses {
			t.Run(op.name+"/"+http.StatusText(st), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, errorStub(op.name, st))
				status, err := op.call(t.Context(), h.client)
				require.NoError(t, err)
				assert.Equal(t, st, status)
				assert.Empty(t, h.violations)
			})
		}
	}
}

// TestContractCatchesBrokenResponses shows that a handler breaking the
// contract fails: the middleware reports it and replaces it with a 500, and
// the transport (checking the wire) reports a typed *ResponseViolation.
func TestContractCatchesBrokenResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stub *stub
		call call
		// faithful: the faithful contract catches it too; otherwise only the
		// reference profile does (Spotzee publishes no such rule).
		faithful bool
	}{
		{"undocumented status", &stub{list: func(ctx context.Context) server.ListProjectAPIKeysResponseObject {
			return rawResponse{status: 503, ct: "application/problem+json", body: `{"status":"error","code":"service_unavailable","message":"x","error":"x"}`}
		}}, callList, true},
		{"missing required field", &stub{get: func(ctx context.Context) server.GetProjectAPIKeyResponseObject {
			return rawResponse{status: 200, ct: "application/json", body: `{"id":12,"project_id":123,"name":"x","scope":"secret","role":"admin","value":"sk_****S1T2","created_at":null}`}
		}}, callGet, true},
		{"full key value on a read", &stub{get: func(ctx context.Context) server.GetProjectAPIKeyResponseObject {
			k := maskedKey()
			k.Value = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
			return server.GetProjectAPIKey200JSONResponse{Body: k, Headers: server.GetProjectAPIKey200ResponseHeaders{XRequestID: ptr(rid(ctx)), SpotzeeVersion: ptr(version)}}
		}}, callGet, false},
		{"full key value in a list", &stub{list: func(ctx context.Context) server.ListProjectAPIKeysResponseObject {
			k := maskedKey()
			k.Value = "pk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
			return server.ListProjectAPIKeys200JSONResponse{Body: server.ProjectAPIKeyList{Results: []server.ProjectAPIKey{k}, Limit: 25,
				NextCursor: nullable.NewNullNullable[string](), PrevCursor: nullable.NewNullNullable[string]()},
				Headers: server.ListProjectAPIKeys200ResponseHeaders{XRequestID: ptr(rid(ctx)), SpotzeeVersion: ptr(version)}}
		}}, callList, false},
		{"plain-text error", &stub{revoke: func(ctx context.Context) server.RevokeProjectAPIKeyResponseObject {
			return rawResponse{status: 404, ct: "text/plain; charset=utf-8", body: "not found\n"}
		}}, callRevoke, true},
		{"extra field on a key", &stub{update: func(ctx context.Context) server.UpdateProjectAPIKeyResponseObject {
			return rawResponse{status: 200, ct: "application/json", body: `{"id":12,"project_id":123,"name":"x","scope":"secret","role":"admin","value":"sk_****S1T2","created_at":null,"updated_at":null,"key_hash":"abc"}`}
		}}, callUpdate, false},
		{"masked value on create", &stub{create: func(ctx context.Context) server.CreateProjectAPIKeyResponseObject {
			return rawResponse{status: 200, ct: "application/json", body: `{"id":12,"project_id":123,"name":"x","scope":"secret","role":"admin","value":"sk_****S1T2","created_at":null,"updated_at":null}`}
		}}, callCreate, false},
		{"wrong error code shape", &stub{get: func(ctx context.Context) server.GetProjectAPIKeyResponseObject {
			return rawResponse{status: 404, ct: "application/problem+json", body: `{"status":"error","code":"not_found","title":"x","message":"x","error":"x","type":"https://docs.spotzee.com/main-api/errors#x","request_id":"` + rid(ctx) + `"}`}
		}}, callGet, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			profile := []validate.Option{validate.WithReferenceProfile()}
			if !tt.faithful {
				// The faithful contract lets it through: Spotzee may answer so.
				_, err := tt.call(t.Context(), newRawServer(t, tt.stub))
				require.NoError(t, err, "the faithful contract accepts it")
			}
			// Behind the middleware: reported and replaced with a 500.
			h := newProfileHarness(t, tt.stub, profile)
			status, err := tt.call(t.Context(), h.client)
			require.NoError(t, err)
			assert.Equal(t, http.StatusInternalServerError, status)
			require.Len(t, h.violations, 1)
			assert.NotContains(t, h.violations[0].Error(), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "violations never echo a key value")

			// On the wire: the transport fails the call with a typed error.
			raw := newRawServer(t, tt.stub, profile...)
			_, err = tt.call(t.Context(), raw)
			var rv *validate.ResponseViolation
			require.ErrorAs(t, err, &rv)
			assert.NotContains(t, err.Error(), "01HXY7Z9K8M5J2N4P6Q8R0S1T2")
		})
	}
}

// TestTransportRefusesBadRequests shows a request that breaks the spec is
// not sent and comes back as a *RequestViolation with its catalogue code.
func TestTransportRefusesBadRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &stub{})
	limit := 101
	_, err := h.client.ListProjectAPIKeysWithResponse(t.Context(), &client.ListProjectAPIKeysParams{Limit: &limit})
	var reqv *validate.RequestViolation
	require.ErrorAs(t, err, &reqv)
	assert.Equal(t, spotzee.CodeParameterInvalidFormat, spotzee.ErrorCode(reqv.Err))

	// With request validation skipped, the server's own answer is checked.
	h2 := newHarness(t, &stub{}, validate.SkipRequestValidation())
	resp, err := h2.client.ListProjectAPIKeysWithResponse(t.Context(), &client.ListProjectAPIKeysParams{Limit: &limit})
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode())
	require.NotNil(t, resp.ApplicationProblemJSON400)
	assert.Equal(t, client.ErrorCode("parameter_invalid_format"), resp.ApplicationProblemJSON400.Code)
}

// rawResponse writes a fixed response, bypassing the generated types, to
// simulate handlers that break the contract.
type rawResponse struct {
	status   int
	ct, body string
	header   map[string]string
}

func (r rawResponse) write(w http.ResponseWriter) error {
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", r.ct)
	w.WriteHeader(r.status)
	_, err := w.Write([]byte(r.body))
	return err
}

func (r rawResponse) VisitListProjectAPIKeysResponse(w http.ResponseWriter) error  { return r.write(w) }
func (r rawResponse) VisitCreateProjectAPIKeyResponse(w http.ResponseWriter) error { return r.write(w) }
func (r rawResponse) VisitGetProjectAPIKeyResponse(w http.ResponseWriter) error    { return r.write(w) }
func (r rawResponse) VisitUpdateProjectAPIKeyResponse(w http.ResponseWriter) error { return r.write(w) }
func (r rawResponse) VisitRevokeProjectAPIKeyResponse(w http.ResponseWriter) error { return r.write(w) }

// newRawServer serves the stub without the validating middleware, and
// returns a client whose transport validates responses.
func newRawServer(t *testing.T, s *stub, vopts ...validate.Option) *client.ClientWithResponses {
	t.Helper()
	v, err := validate.New(vopts...)
	require.NoError(t, err)
	strict := server.NewStrictHandler(s, nil)
	srv := httptest.NewServer(withConventions(server.HandlerWithOptions(strict, server.StdHTTPServerOptions{BaseURL: "/api/client"})))
	t.Cleanup(srv.Close)
	c, err := client.NewClientWithResponses(srv.URL+"/api/client",
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil)}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", bearer)
			return nil
		}))
	require.NoError(t, err)
	return c
}
