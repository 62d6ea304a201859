package validate_test

import (
	"context"
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

func problemOf(ctx context.Context, code spotzee.Code) server.Error {
	return server.Error{
		Status: server.ErrorStatusError, Code: server.ErrorCode(code), Title: code.Title(),
		Message: "test", Type: code.TypeURL(), RequestId: rid(ctx),
	}
}

func now() nullable.Nullable[time.Time] { return nullable.NewNullableWithValue(time.Now().UTC()) }

func maskedKey() server.ApiKey {
	return server.ApiKey{Id: 12, ProjectId: 123, Name: "Production server", Scope: server.ApiKeyScopeSecret,
		Role: server.ProjectRoleAdmin, Value: "sk_****S1T2", CreatedAt: now(), UpdatedAt: now()}
}

// stub is a StrictServerInterface whose answers each test chooses; a nil
// function answers with a valid success response.
type stub struct {
	list   func(ctx context.Context) server.ListApiKeysResponseObject
	create func(ctx context.Context) server.CreateApiKeyResponseObject
	get    func(ctx context.Context) server.GetApiKeyResponseObject
	update func(ctx context.Context) server.UpdateApiKeyResponseObject
	revoke func(ctx context.Context) server.RevokeApiKeyResponseObject
}

var _ server.StrictServerInterface = (*stub)(nil)

func (s *stub) ListApiKeys(ctx context.Context, _ server.ListApiKeysRequestObject) (server.ListApiKeysResponseObject, error) {
	if s.list != nil {
		return s.list(ctx), nil
	}
	return server.ListApiKeys200JSONResponse{
		Body: server.ApiKeyPage{Results: []server.ApiKey{maskedKey()}, Limit: 25,
			NextCursor: nullable.NewNullNullable[string](), PrevCursor: nullable.NewNullNullable[string]()},
		Headers: server.ListApiKeys200ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version},
	}, nil
}

func (s *stub) CreateApiKey(ctx context.Context, _ server.CreateApiKeyRequestObject) (server.CreateApiKeyResponseObject, error) {
	if s.create != nil {
		return s.create(ctx), nil
	}
	return server.CreateApiKey201JSONResponse{
		Body: server.ApiKeyCreated{Id: 12, ProjectId: 123, Name: "CI", Scope: server.ApiKeyScopeSecret,
			Role: server.ProjectRoleSupport, Value: "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", CreatedAt: now(), UpdatedAt: now()},
		Headers: server.CreateApiKey201ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version},
	}, nil
}

func (s *stub) GetApiKey(ctx context.Context, _ server.GetApiKeyRequestObject) (server.GetApiKeyResponseObject, error) {
	if s.get != nil {
		return s.get(ctx), nil
	}
	return server.GetApiKey200JSONResponse{Body: maskedKey(),
		Headers: server.GetApiKey200ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}, nil
}

func (s *stub) UpdateApiKey(ctx context.Context, _ server.UpdateApiKeyRequestObject) (server.UpdateApiKeyResponseObject, error) {
	if s.update != nil {
		return s.update(ctx), nil
	}
	return server.UpdateApiKey200JSONResponse{Body: maskedKey(),
		Headers: server.UpdateApiKey200ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}, nil
}

func (s *stub) RevokeApiKey(ctx context.Context, _ server.RevokeApiKeyRequestObject) (server.RevokeApiKeyResponseObject, error) {
	if s.revoke != nil {
		return s.revoke(ctx), nil
	}
	return server.RevokeApiKey200JSONResponse{
		Body:    server.ApiKeyRevocation{Id: 12, Revoked: true, RevokedAt: time.Now().UTC()},
		Headers: server.RevokeApiKey200ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}, nil
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
	v, err := validate.New()
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
	r, err := c.ListApiKeysWithResponse(ctx, nil)
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callCreate(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	r, err := c.CreateApiKeyWithResponse(ctx, nil, client.CreateApiKeyRequest{Name: "CI"})
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callGet(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	r, err := c.GetApiKeyWithResponse(ctx, 12, nil)
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callUpdate(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	name := "renamed"
	r, err := c.UpdateApiKeyWithResponse(ctx, 12, nil, client.UpdateApiKeyRequest{Name: &name,
		Description: nullable.NewNullNullable[string]()})
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

func callRevoke(ctx context.Context, c *client.ClientWithResponses) (int, error) {
	r, err := c.RevokeApiKeyWithResponse(ctx, 12, nil)
	if err != nil {
		return 0, err
	}
	return r.StatusCode(), nil
}

// errorsFor builds, for one operation, a stub answering each documented
// error status with a valid problem body.
func errorStub(op string, status int) *stub {
	code := map[int]spotzee.Code{400: spotzee.CodeParameterInvalidFormat, 401: spotzee.CodeAuthenticationRequired,
		403: spotzee.CodePermissionDenied, 404: spotzee.CodeResourceMissing, 409: spotzee.CodeStateConflict,
		422: spotzee.CodeValidationFailed, 429: spotzee.CodeRateLimited, 500: spotzee.CodeInternalError}[status]
	s := &stub{}
	switch op {
	case "list":
		s.list = func(ctx context.Context) server.ListApiKeysResponseObject {
			b, h := problemOf(ctx, code), server.ListApiKeys400ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}
			switch status {
			case 400:
				return server.ListApiKeys400ApplicationProblemPlusJSONResponse{Body: b, Headers: h}
			case 401:
				return server.ListApiKeys401ApplicationProblemPlusJSONResponse{Body: b, Headers: server.ListApiKeys401ResponseHeaders(h)}
			case 403:
				return server.ListApiKeys403ApplicationProblemPlusJSONResponse{Body: b, Headers: server.ListApiKeys403ResponseHeaders(h)}
			case 429:
				return server.ListApiKeys429ApplicationProblemPlusJSONResponse{Body: b, Headers: server.ListApiKeys429ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version, RetryAfter: 1}}
			}
			return server.ListApiKeys500ApplicationProblemPlusJSONResponse{Body: b, Headers: server.ListApiKeys500ResponseHeaders(h)}
		}
	case "create":
		s.create = func(ctx context.Context) server.CreateApiKeyResponseObject {
			b, h := problemOf(ctx, code), server.CreateApiKey401ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}
			switch status {
			case 400:
				return server.CreateApiKey400ApplicationProblemPlusJSONResponse{Body: b, Headers: server.CreateApiKey400ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 401:
				return server.CreateApiKey401ApplicationProblemPlusJSONResponse{Body: b, Headers: h}
			case 403:
				return server.CreateApiKey403ApplicationProblemPlusJSONResponse{Body: b, Headers: server.CreateApiKey403ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 409:
				return server.CreateApiKey409ApplicationProblemPlusJSONResponse{Body: b, Headers: server.CreateApiKey409ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 422:
				b.Errors = &[]server.FieldError{{Param: "role", Code: server.ErrorCode(spotzee.CodeParameterInvalidFormat), Message: "not in enum"}}
				return server.CreateApiKey422ApplicationProblemPlusJSONResponse{Body: b, Headers: server.CreateApiKey422ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 429:
				return server.CreateApiKey429ApplicationProblemPlusJSONResponse{Body: b, Headers: server.CreateApiKey429ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version, RetryAfter: 1}}
			}
			return server.CreateApiKey500ApplicationProblemPlusJSONResponse{Body: b, Headers: server.CreateApiKey500ResponseHeaders(h)}
		}
	case "get":
		s.get = func(ctx context.Context) server.GetApiKeyResponseObject {
			b, h := problemOf(ctx, code), server.GetApiKey400ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}
			switch status {
			case 400:
				return server.GetApiKey400ApplicationProblemPlusJSONResponse{Body: b, Headers: h}
			case 401:
				return server.GetApiKey401ApplicationProblemPlusJSONResponse{Body: b, Headers: server.GetApiKey401ResponseHeaders(h)}
			case 403:
				return server.GetApiKey403ApplicationProblemPlusJSONResponse{Body: b, Headers: server.GetApiKey403ResponseHeaders(h)}
			case 404:
				return server.GetApiKey404ApplicationProblemPlusJSONResponse{Body: b, Headers: server.GetApiKey404ResponseHeaders(h)}
			case 429:
				return server.GetApiKey429ApplicationProblemPlusJSONResponse{Body: b, Headers: server.GetApiKey429ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version, RetryAfter: 1}}
			}
			return server.GetApiKey500ApplicationProblemPlusJSONResponse{Body: b, Headers: server.GetApiKey500ResponseHeaders(h)}
		}
	case "update":
		s.update = func(ctx context.Context) server.UpdateApiKeyResponseObject {
			b, h := problemOf(ctx, code), server.UpdateApiKey401ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}
			switch status {
			case 400:
				return server.UpdateApiKey400ApplicationProblemPlusJSONResponse{Body: b, Headers: server.UpdateApiKey400ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 401:
				return server.UpdateApiKey401ApplicationProblemPlusJSONResponse{Body: b, Headers: h}
			case 403:
				return server.UpdateApiKey403ApplicationProblemPlusJSONResponse{Body: b, Headers: server.UpdateApiKey403ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 404:
				return server.UpdateApiKey404ApplicationProblemPlusJSONResponse{Body: b, Headers: server.UpdateApiKey404ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 409:
				return server.UpdateApiKey409ApplicationProblemPlusJSONResponse{Body: b, Headers: server.UpdateApiKey409ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 422:
				b.Errors = &[]server.FieldError{{Param: "role", Code: server.ErrorCode(spotzee.CodeParameterInvalidFormat), Message: "not in enum"}}
				return server.UpdateApiKey422ApplicationProblemPlusJSONResponse{Body: b, Headers: server.UpdateApiKey422ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
			case 429:
				return server.UpdateApiKey429ApplicationProblemPlusJSONResponse{Body: b, Headers: server.UpdateApiKey429ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version, RetryAfter: 1}}
			}
			return server.UpdateApiKey500ApplicationProblemPlusJSONResponse{Body: b, Headers: server.UpdateApiKey500ResponseHeaders(h)}
		}
	case "revoke":
		s.revoke = func(ctx context.Context) server.RevokeApiKeyResponseObject {
			b, h := problemOf(ctx, code), server.RevokeApiKey400ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}
			switch status {
			case 400:
				return server.RevokeApiKey400ApplicationProblemPlusJSONResponse{Body: b, Headers: h}
			case 401:
				return server.RevokeApiKey401ApplicationProblemPlusJSONResponse{Body: b, Headers: server.RevokeApiKey401ResponseHeaders(h)}
			case 403:
				return server.RevokeApiKey403ApplicationProblemPlusJSONResponse{Body: b, Headers: server.RevokeApiKey403ResponseHeaders(h)}
			case 404:
				return server.RevokeApiKey404ApplicationProblemPlusJSONResponse{Body: b, Headers: server.RevokeApiKey404ResponseHeaders(h)}
			case 409:
				return server.RevokeApiKey409ApplicationProblemPlusJSONResponse{Body: b, Headers: server.RevokeApiKey409ResponseHeaders(h)}
			case 429:
				return server.RevokeApiKey429ApplicationProblemPlusJSONResponse{Body: b, Headers: server.RevokeApiKey429ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version, RetryAfter: 1}}
			}
			return server.RevokeApiKey500ApplicationProblemPlusJSONResponse{Body: b, Headers: server.RevokeApiKey500ResponseHeaders(h)}
		}
	}
	return s
}

var operations = []struct {
	name     string
	call     call
	success  int
	statuses []int
}{
	{"list", callList, 200, []int{400, 401, 403, 429, 500}},
	{"create", callCreate, 201, []int{400, 401, 403, 409, 422, 429, 500}},
	{"get", callGet, 200, []int{400, 401, 403, 404, 429, 500}},
	{"update", callUpdate, 200, []int{400, 401, 403, 404, 409, 422, 429, 500}},
	{"revoke", callRevoke, 200, []int{400, 401, 403, 404, 409, 429, 500}},
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
	}{
		{"undocumented status", &stub{list: func(ctx context.Context) server.ListApiKeysResponseObject {
			return rawResponse{status: 404, ct: "application/problem+json", body: `{"status":"error","code":"resource_missing","title":"Resource missing","message":"x","type":"https://docs.spotzee.com/main-api/errors#resource_missing","request_id":"` + rid(ctx) + `"}`}
		}}, callList},
		{"missing required field", &stub{get: func(ctx context.Context) server.GetApiKeyResponseObject {
			return rawResponse{status: 200, ct: "application/json", body: `{"id":12,"project_id":123,"name":"x","scope":"secret","role":"admin","value":"sk_****S1T2","created_at":null}`}
		}}, callGet},
		{"full key value on a read", &stub{get: func(ctx context.Context) server.GetApiKeyResponseObject {
			k := maskedKey()
			k.Value = "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
			return server.GetApiKey200JSONResponse{Body: k, Headers: server.GetApiKey200ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
		}}, callGet},
		{"full key value in a list", &stub{list: func(ctx context.Context) server.ListApiKeysResponseObject {
			k := maskedKey()
			k.Value = "pk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
			return server.ListApiKeys200JSONResponse{Body: server.ApiKeyPage{Results: []server.ApiKey{k}, Limit: 25,
				NextCursor: nullable.NewNullNullable[string](), PrevCursor: nullable.NewNullNullable[string]()},
				Headers: server.ListApiKeys200ResponseHeaders{XRequestId: rid(ctx), SpotzeeVersion: version}}
		}}, callList},
		{"plain-text error", &stub{revoke: func(ctx context.Context) server.RevokeApiKeyResponseObject {
			return rawResponse{status: 404, ct: "text/plain; charset=utf-8", body: "not found\n"}
		}}, callRevoke},
		{"extra field on a key", &stub{update: func(ctx context.Context) server.UpdateApiKeyResponseObject {
			return rawResponse{status: 200, ct: "application/json", body: `{"id":12,"project_id":123,"name":"x","scope":"secret","role":"admin","value":"sk_****S1T2","created_at":null,"updated_at":null,"key_hash":"abc"}`}
		}}, callUpdate},
		{"masked value on create", &stub{create: func(ctx context.Context) server.CreateApiKeyResponseObject {
			return rawResponse{status: 201, ct: "application/json", body: `{"id":12,"project_id":123,"name":"x","scope":"secret","role":"admin","value":"sk_****S1T2","created_at":null,"updated_at":null}`}
		}}, callCreate},
		{"wrong error code shape", &stub{get: func(ctx context.Context) server.GetApiKeyResponseObject {
			return rawResponse{status: 404, ct: "application/problem+json", body: `{"status":"error","code":"not_found","title":"x","message":"x","type":"https://docs.spotzee.com/main-api/errors#x","request_id":"` + rid(ctx) + `"}`}
		}}, callGet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Behind the middleware: reported and replaced with a 500.
			h := newHarness(t, tt.stub)
			status, err := tt.call(t.Context(), h.client)
			require.NoError(t, err)
			assert.Equal(t, http.StatusInternalServerError, status)
			require.Len(t, h.violations, 1)
			assert.NotContains(t, h.violations[0].Error(), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "violations never echo a key value")

			// On the wire: the transport fails the call with a typed error.
			raw := newRawServer(t, tt.stub)
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
	_, err := h.client.ListApiKeysWithResponse(t.Context(), &client.ListApiKeysParams{Limit: &limit})
	var reqv *validate.RequestViolation
	require.ErrorAs(t, err, &reqv)
	assert.Equal(t, spotzee.CodeParameterInvalidFormat, spotzee.ErrorCode(reqv.Err))

	// With request validation skipped, the server's own answer is checked.
	h2 := newHarness(t, &stub{}, validate.SkipRequestValidation())
	resp, err := h2.client.ListApiKeysWithResponse(t.Context(), &client.ListApiKeysParams{Limit: &limit})
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode())
	require.NotNil(t, resp.ApplicationproblemJSON400)
	assert.Equal(t, client.ErrorCode("parameter_invalid_format"), resp.ApplicationproblemJSON400.Code)
}

// rawResponse writes a fixed response, bypassing the generated types, to
// simulate handlers that break the contract.
type rawResponse struct {
	status   int
	ct, body string
}

func (r rawResponse) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", r.ct)
	w.WriteHeader(r.status)
	_, err := w.Write([]byte(r.body))
	return err
}

func (r rawResponse) VisitListApiKeysResponse(w http.ResponseWriter) error  { return r.write(w) }
func (r rawResponse) VisitCreateApiKeyResponse(w http.ResponseWriter) error { return r.write(w) }
func (r rawResponse) VisitGetApiKeyResponse(w http.ResponseWriter) error    { return r.write(w) }
func (r rawResponse) VisitUpdateApiKeyResponse(w http.ResponseWriter) error { return r.write(w) }
func (r rawResponse) VisitRevokeApiKeyResponse(w http.ResponseWriter) error { return r.write(w) }

// newRawServer serves the stub without the validating middleware, and
// returns a client whose transport validates responses.
func newRawServer(t *testing.T, s *stub) *client.ClientWithResponses {
	t.Helper()
	v, err := validate.Default()
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
