package validate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// RequestViolation reports a request that breaks the spec. Err is an
// *spotzee.Error carrying the catalogue code a server would answer with.
type RequestViolation struct {
	Method string
	Path   string
	Err    error
}

// Error implements error.
func (e *RequestViolation) Error() string {
	return fmt.Sprintf("validate: request %s %s breaks the spec: %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the underlying validation error.
func (e *RequestViolation) Unwrap() error { return e.Err }

// ResponseViolation reports a response that breaks the spec: an undocumented
// status, a missing or malformed header, a wrong content type or a body that
// does not match its schema. It never holds the body, which may hold secrets.
type ResponseViolation struct {
	Method      string
	Path        string
	OperationID string
	StatusCode  int
	ContentType string
	Err         error
}

// Error implements error.
func (e *ResponseViolation) Error() string {
	return fmt.Sprintf("validate: response %d (%s) to %s %s (%s) breaks the spec: %v",
		e.StatusCode, e.ContentType, e.Method, e.Path, e.OperationID, e.Err)
}

// Unwrap returns the underlying kin-openapi error.
func (e *ResponseViolation) Unwrap() error { return e.Err }

// Match finds the operation for r without validating it, for checking a
// response to a request that was not itself validated. It returns the
// catalogue error of an unknown path or method.
func (v *Validator) Match(r *http.Request) (*Exchange, error) {
	route, pathParams, path, err := v.route(r.Method, r.URL.Path)
	if err != nil {
		return nil, routeError(err, v.allowedMethods(r.URL.Path))
	}
	return &Exchange{path: path, input: &openapi3filter.RequestValidationInput{
		Request: r, PathParams: pathParams, Route: route, Options: v.options,
	}}, nil
}

// CheckResponse validates a response (status, headers, body) to the request
// of ex. It returns a *ResponseViolation when the response breaks the spec.
func (v *Validator) CheckResponse(ctx context.Context, ex *Exchange, status int, header http.Header, body []byte) error {
	if v.responseOK(ex, status, header, body) {
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: ex.input,
		Status:                 status,
		Header:                 header,
		Options:                v.options,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		r := ex.input.Request
		return &ResponseViolation{
			Method:      r.Method,
			Path:        ex.path,
			OperationID: ex.OperationID(),
			StatusCode:  status,
			ContentType: header.Get("Content-Type"),
			Err:         err,
		}
	}
	return nil
}

// Transport is an http.RoundTripper that validates outgoing requests and
// incoming responses. A request that breaks the spec is not sent: RoundTrip
// returns a *RequestViolation. A response that breaks it (an undocumented
// status included) is closed and RoundTrip returns a *ResponseViolation.
type Transport struct {
	v            *Validator
	base         http.RoundTripper
	skipRequests bool
	rec          Recorder
}

// TransportOption configures a Transport.
type TransportOption func(*Transport)

// SkipRequestValidation sends every request as it is and validates only
// responses: for tests that send bad requests on purpose.
func SkipRequestValidation() TransportOption { return func(t *Transport) { t.skipRequests = true } }

// Transport returns a validating round tripper over base
// (http.DefaultTransport when nil).
func (v *Validator) Transport(base http.RoundTripper, opts ...TransportOption) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &Transport{v: v, base: base}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var data []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		data, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("validate: read request body: %w", err)
		}
	}
	check := cloneWithBody(ctx, req, data)
	var (
		ex  *Exchange
		err error
	)
	if t.skipRequests {
		ex, err = t.v.Match(check)
	} else {
		ex, err = t.v.CheckRequest(ctx, check)
	}
	if err != nil {
		return nil, &RequestViolation{Method: req.Method, Path: req.URL.Path, Err: err}
	}
	resp, err := t.base.RoundTrip(cloneWithBody(ctx, req, data))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("validate: read response body: %w", err)
	}
	if t.rec != nil {
		t.rec.Record(ex.OperationID(), resp.StatusCode)
	}
	if verr := t.v.CheckResponse(ctx, ex, resp.StatusCode, resp.Header, body); verr != nil {
		return nil, verr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func cloneWithBody(ctx context.Context, req *http.Request, data []byte) *http.Request {
	c := req.Clone(ctx)
	if data == nil {
		c.Body = http.NoBody
		c.GetBody = nil
		return c
	}
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	c.Body, _ = c.GetBody()
	c.ContentLength = int64(len(data))
	return c
}
