package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// Exchange is a request that passed validation, kept to validate its
// response.
type Exchange struct {
	// input is what kin-openapi validates the request and its response
	// with. Its PathParams is set only when kin-openapi validated the
	// request (the response check does not read them).
	input *openapi3filter.RequestValidationInput
	// path is the request's path without its surface's base path.
	path string
}

// OperationID returns the operationId of the matched operation.
func (e *Exchange) OperationID() string { return e.input.Route.Operation.OperationID }

// CheckRequest validates r against the spec. On success r's body holds the
// validated JSON value re-encoded (defaults included), so a handler binds
// exactly what was validated; a body the compiled check accepted on its
// bytes (no default to add, no duplicate or differently-cased member, no
// escape: see scanRequestOK) is handed on as it was sent, which binds to
// the same value. On failure it returns an *spotzee.Error with
// the catalogue code a server answers with (404/405 for unknown paths and
// methods, 401 for a missing bearer, 400 or 422 for bad input); r's body is
// then consumed.
func (v *Validator) CheckRequest(ctx context.Context, r *http.Request) (*Exchange, error) {
	t, route, path, err := v.find(r.Method, r.URL.Path)
	if err != nil {
		return nil, routeError(err, v.allowedMethods(r.URL.Path))
	}
	body, err := v.readBody(r, route.Operation)
	if err != nil {
		return nil, err
	}
	// Found before kin-openapi runs, reported after it: authentication
	// failures take precedence (see classify).
	var query url.Values // parsed once for the checks below, which only read it
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	early := errors.Join(v.checkUnknownQuery(route.Operation, query), checkQueryText(query))
	if err := v.checkNulls(route.Operation, body); err != nil {
		early = errors.Join(early, err)
	}
	// kin-openapi validates r itself (no copy: routing needs only the
	// path) and sets defaults on its query and body. A body the compiled
	// check accepts (on its bytes in readBody, or decoded: see fastBody)
	// it does not see again.
	fast := v.fastBody(route.Operation, r.Header.Get("Content-Type"), body)
	// One allocation for the Exchange and its input.
	ex := &exchangeInput{Exchange: Exchange{path: path}}
	ex.input = &ex.in
	input := ex.input
	input.Request, input.Route, input.Options = r, route, v.options
	if fast {
		input.Options = v.optionsNoBody
	}
	var verr error
	kin := !v.fastRequestAt(ctx, input, t, path, query, fast)
	if kin {
		input.PathParams = t.values(path)
		verr = openapi3filter.ValidateRequest(ctx, input)
	}
	if err := v.checkEmpty(route.Operation, r.Header, query); err != nil {
		verr = errors.Join(err, verr)
	}
	if early != nil {
		verr = errors.Join(early, verr)
	}
	if verr != nil {
		return nil, classify(verr)
	}
	if body.scanned {
		// r's body is the original bytes (readBody); kin-openapi's
		// security check reads it and puts it back, but make sure.
		if kin {
			setBody(r, body.data)
		}
	} else if fast {
		data, err := json.Marshal(body.value)
		if err != nil {
			return nil, fmt.Errorf("validate: re-encode validated body: %w", err)
		}
		setBody(r, data)
	} else if err := rebindBody(r); err != nil {
		return nil, err
	}
	input.Options = v.options
	return &ex.Exchange, nil
}

// exchangeInput holds an Exchange and the input it points to, allocated
// together.
type exchangeInput struct {
	Exchange
	in openapi3filter.RequestValidationInput
}

// readBody caps, reads and checks the body before validation, so an
// oversized or non-UTF-8 body is refused before it is parsed. An absent or
// empty body of an operation that takes a JSON body is validated (and handed
// on) as {}: request bodies are optional on the wire, as upstream, and this
// project's decision is that absent means empty.
func (v *Validator) readBody(r *http.Request, op *openapi3.Operation) (requestBody, error) {
	var none requestBody
	var data []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		data, err = readAtMost(r.Body, r.ContentLength, v.maxBody+1)
		_ = r.Body.Close()
		if err != nil {
			return none, spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request body could not be read.")
		}
	}
	if len(data) == 0 {
		if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
			return none, nil
		}
		data = []byte("{}")
		r.Header.Set("Content-Type", "application/json")
	}
	if int64(len(data)) > v.maxBody {
		return none, spotzee.Errorf(spotzee.CodeParameterInvalidFormat,
			"The request body is larger than %d bytes.", v.maxBody)
	}
	if !utf8.Valid(data) {
		return none, spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request body is not valid UTF-8.")
	}
	body := requestBody{data: data}
	// A body the compiled check accepts on its bytes is handed on as it
	// is: never decoded, never re-encoded.
	if node := v.bodyNode(op, r.Header.Get("Content-Type")); node != nil && node.scanRequestOK(data, v.reqOpts) {
		body.scanned = true
		setBody(r, data)
		return body, nil
	}
	// kin-openapi decodes the first JSON value and ignores what follows it;
	// a body must be exactly one value.
	// It is decoded here once, as kin-openapi decodes it (numbers as
	// json.Number), for the null check and the compiled body check.
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var value any // not body.value: body would escape on every call
		err := dec.Decode(&value)
		body.value = value
		body.decoded = err == nil && dec.InputOffset() == int64(len(bytes.TrimRight(data, " \t\r\n")))
		if !body.decoded && isJSON(r.Header.Get("Content-Type")) {
			return none, spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request body is not one valid JSON value.")
		}
	}
	setBody(r, data)
	return body, nil
}

// readAtMost reads body to its end or to limit bytes, whichever comes
// first, as io.ReadAll(io.LimitReader(body, limit)) does, but into one
// buffer sized from size (the request's ContentLength, -1 when unknown)
// when it is known and within limit.
func readAtMost(body io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size >= limit {
		return io.ReadAll(io.LimitReader(body, limit))
	}
	// One byte more than announced, so that the read finding the end does
	// not grow the buffer.
	data := make([]byte, 0, size+1)
	for {
		n, err := body.Read(data[len(data):min(cap(data), int(limit))])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
		if int64(len(data)) >= limit {
			return data, nil
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // grow
		}
	}
}

// requestBody is a request's body as read by readBody.
type requestBody struct {
	data []byte
	// value is data decoded, when decoded is set (data is one JSON value,
	// whatever the Content-Type says).
	value   any
	decoded bool
	// scanned is set when the compiled check accepted data on its bytes
	// (scanRequestOK): then it is exactly one JSON value, valid for the
	// operation, without a null the null check refuses, and data is what
	// the handler gets; value is not decoded.
	scanned bool
}

// isJSON reports whether a Content-Type names JSON.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// checkQueryText refuses query values that are not valid UTF-8 or hold a NUL
// byte: neither can be a name, a cursor or a search text, and SQLite would
// cut a LIKE pattern at the NUL.
func checkQueryText(query url.Values) error {
	for name, values := range query {
		for _, v := range values {
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, name,
					"The query parameter %s must be UTF-8 text without NUL bytes.", name)
			}
		}
	}
	return nil
}

// rebindBody replaces the body with the validated value re-encoded, so the
// bytes a handler decodes are the value kin-openapi validated: no duplicate
// or differently-cased member can slip past validation into a struct.
func rebindBody(r *http.Request) error {
	vb, ok := r.Body.(interface{ ValidatedValue() any })
	if !ok {
		return nil
	}
	data, err := json.Marshal(vb.ValidatedValue())
	if err != nil {
		return fmt.Errorf("validate: re-encode validated body: %w", err)
	}
	setBody(r, data)
	return nil
}

// setBody makes data r's body, readable again through GetBody.
func setBody(r *http.Request, data []byte) {
	b := newMemBody(data)
	r.Body, r.GetBody, r.ContentLength = b, b.reopen, int64(len(data))
}

// memBody is a request body read from memory (io.NopCloser of a
// bytes.Reader in one allocation).
type memBody struct {
	bytes.Reader
	data []byte
}

func newMemBody(data []byte) *memBody {
	b := &memBody{data: data}
	b.Reset(data)
	return b
}

// Close implements io.Closer; it does nothing.
func (b *memBody) Close() error { return nil }

// reopen is a GetBody: a new reader of the same bytes.
func (b *memBody) reopen() (io.ReadCloser, error) { return newMemBody(b.data), nil }

// checkUnknownQuery refuses query parameters the operation does not declare.
func (v *Validator) checkUnknownQuery(op *openapi3.Operation, query url.Values) error {
	known := v.queryParams[op]
	var unknown []string
	for name := range query {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return spotzee.ParamErrorf(spotzee.CodeParameterUnknown, unknown[0],
		"Unknown query parameter %q.", unknown[0])
}

// checkEmpty refuses header and query parameters that are sent but empty
// where the schema forbids the empty string.
func (v *Validator) checkEmpty(op *openapi3.Operation, header http.Header, query url.Values) error {
	for _, p := range v.emptyChecked[op] {
		var values []string
		if p.In == openapi3.ParameterInHeader {
			values = header.Values(p.Name)
		} else {
			values = query[p.Name]
		}
		if len(values) > 0 && values[0] == "" {
			return &openapi3filter.RequestError{Parameter: p, Err: openapi3filter.ErrInvalidEmptyValue,
				Reason: openapi3filter.ErrInvalidEmptyValue.Error()}
		}
	}
	return nil
}

// checkNulls refuses null for a top-level body property whose schema is not
// nullable. kin-openapi would otherwise replace a null that has a default
// (role, scope) with that default and accept the request. It returns a 422
// validation_failed naming each such field.
func (v *Validator) checkNulls(op *openapi3.Operation, body requestBody) error {
	if op.RequestBody == nil || !body.decoded {
		return nil
	}
	media := op.RequestBody.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil || len(media.Schema.Value.Properties) == 0 {
		return nil
	}
	members, ok := body.value.(map[string]any)
	if !ok {
		return nil // not an object: kin-openapi reports it
	}
	var fields []spotzee.FieldError
	for name, val := range members {
		prop := media.Schema.Value.Properties[name]
		if prop != nil && !prop.Value.Nullable && val == nil {
			fields = append(fields, spotzee.FieldError{Param: name, Code: spotzee.CodeParameterInvalidFormat,
				Message: "must not be null"})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Param < fields[j].Param })
	e := &spotzee.Error{Code: spotzee.CodeValidationFailed, Fields: fields,
		Message: fields[0].Param + " must not be null."}
	if len(fields) == 1 {
		e.Param = fields[0].Param
	} else {
		e.Message = strconv.Itoa(len(fields)) + " fields must not be null; see errors."
	}
	return e
}

// MethodNotAllowed is the error CheckRequest returns for a method the path
// does not support; Allow lists the methods it does.
type MethodNotAllowed struct {
	Err   *spotzee.Error
	Allow []string
}

// Error implements error.
func (e *MethodNotAllowed) Error() string { return e.Err.Error() }

// Unwrap returns the catalogue error.
func (e *MethodNotAllowed) Unwrap() error { return e.Err }

// routeError answers a request the router did not match: 405 when the path
// exists with other methods, else 404.
func routeError(_ error, allow []string) error {
	if len(allow) > 0 {
		e := spotzee.Errorf(spotzee.CodeResourceMissing, "This method is not allowed on this path.")
		e.Status = http.StatusMethodNotAllowed
		return &MethodNotAllowed{Err: e, Allow: allow}
	}
	return spotzee.Errorf(spotzee.CodeResourceMissing, "No such path in this API.")
}
