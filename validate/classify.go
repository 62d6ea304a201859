package validate

import (
	"errors"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// IdempotencyKeyHeader is the request header whose violations have their own
// catalogue code.
const IdempotencyKeyHeader = "Idempotency-Key"

// classify turns kin-openapi's request errors into the one catalogue error a
// server answers with. Precedence: authentication (401), then parameters and
// headers (400), then the body: an unknown, missing or empty field is a 400
// with that code; any other field failure is 422 validation_failed. Every
// field failure is listed in errors[].
func classify(err error) error {
	var (
		auth    error
		authErr *spotzee.Error
		params  []*spotzee.Error
		fields  []spotzee.FieldError
		body    *spotzee.Error
	)
	for _, e := range flatten(err) {
		var se *openapi3filter.SecurityRequirementsError
		var re *openapi3filter.RequestError
		var ce *spotzee.Error
		switch {
		case errors.As(e, &se):
			// An Authenticator may refuse with its own catalogue error (403,
			// 429); that one wins over the generic 401.
			if errors.As(e, &ce) {
				if authErr == nil || spotzee.ErrorCode(authErr) == spotzee.CodeAuthenticationRequired {
					authErr = ce
				}
			} else if auth == nil {
				auth = e
			}
		case errors.As(e, &ce):
			params = append(params, ce)
		case errors.As(e, &re) && re.Parameter != nil:
			params = append(params, paramError(re))
		case errors.As(e, &re) && re.RequestBody != nil:
			f, b := bodyErrors(re)
			fields = append(fields, f...)
			if b != nil && body == nil {
				body = b
			}
		default:
			body = spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request is invalid.")
		}
	}
	switch {
	case authErr != nil:
		return authErr
	case auth != nil:
		return spotzee.Errorf(spotzee.CodeAuthenticationRequired,
			"A valid API key is required: send Authorization: Bearer <key>.")
	case len(params) > 0:
		return params[0]
	case body != nil:
		return body
	case len(fields) == 0:
		return spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request is invalid.")
	}
	for _, code := range []spotzee.Code{spotzee.CodeParameterUnknown, spotzee.CodeParameterMissing, spotzee.CodeParameterInvalidEmpty} {
		for _, f := range fields {
			if f.Code == code {
				return &spotzee.Error{Code: code, Param: f.Param, Message: f.Message, Fields: fields}
			}
		}
	}
	e := &spotzee.Error{Code: spotzee.CodeValidationFailed, Fields: fields,
		Message: "The request body failed validation: " + fields[0].Param + " " + fields[0].Message}
	if len(fields) > 1 {
		e.Message = strconv.Itoa(len(fields)) + " fields failed validation; see errors."
	} else {
		e.Param = fields[0].Param
	}
	return e
}

// flatten unwraps kin-openapi's MultiError and errors.Join trees into their
// leaves, keeping RequestErrors whole.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case openapi3.MultiError:
		var out []error
		for _, inner := range e {
			out = append(out, flatten(inner)...)
		}
		return out
	case interface{ Unwrap() []error }:
		if _, ok := err.(*openapi3filter.SecurityRequirementsError); ok {
			return []error{err}
		}
		var out []error
		for _, inner := range e.Unwrap() {
			out = append(out, flatten(inner)...)
		}
		return out
	}
	return []error{err}
}

func paramError(re *openapi3filter.RequestError) *spotzee.Error {
	p := re.Parameter
	what := "query parameter"
	switch p.In {
	case openapi3.ParameterInHeader:
		what = "header"
	case openapi3.ParameterInPath:
		what = "path parameter"
	}
	if p.In == openapi3.ParameterInHeader && strings.EqualFold(p.Name, IdempotencyKeyHeader) {
		return spotzee.ParamErrorf(spotzee.CodeIdempotencyKeyInvalid, p.Name,
			"The Idempotency-Key header must be 1 to 255 characters.")
	}
	switch {
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return spotzee.ParamErrorf(spotzee.CodeParameterMissing, p.Name, "The %s %s is required.", what, p.Name)
	case errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue):
		return spotzee.ParamErrorf(spotzee.CodeParameterInvalidEmpty, p.Name, "The %s %s must not be empty.", what, p.Name)
	}
	return spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, p.Name,
		"The %s %s is invalid: %s", what, p.Name, reasonOf(re.Err))
}

// reasonOf describes a parameter failure without echoing its value.
func reasonOf(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return safeSchemaMessage(se)
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		return "it could not be parsed as " + kindOf(pe) + "."
	}
	if err == nil {
		return "it does not match the schema."
	}
	return "it does not match the schema."
}

func kindOf(pe *openapi3filter.ParseError) string {
	if strings.Contains(pe.Reason, "integer") || strings.Contains(pe.Reason, "number") {
		return "a number"
	}
	return "the declared type"
}

// bodyErrors returns the per-field failures of a body error, or a single
// error for a body that is absent, of the wrong media type or not JSON.
func bodyErrors(re *openapi3filter.RequestError) ([]spotzee.FieldError, *spotzee.Error) {
	switch {
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return nil, spotzee.ParamErrorf(spotzee.CodeParameterMissing, "body", "A JSON request body is required.")
	case strings.HasPrefix(re.Reason, "header Content-Type"):
		return nil, spotzee.ParamErrorf(spotzee.CodeParameterInvalidFormat, "Content-Type",
			"The request body must be application/json.")
	case re.Reason == "failed to decode request body":
		return nil, spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request body is not valid JSON.")
	}
	var fields []spotzee.FieldError
	for _, e := range flatten(re.Err) {
		var se *openapi3.SchemaError
		if !errors.As(e, &se) {
			return nil, spotzee.Errorf(spotzee.CodeParameterInvalidFormat, "The request body is invalid.")
		}
		fields = append(fields, fieldError(se))
	}
	return fields, nil
}

func fieldError(se *openapi3.SchemaError) spotzee.FieldError {
	path := strings.Join(se.JSONPointer(), ".")
	switch se.SchemaField {
	case "properties":
		if name, ok := quoted(se.Reason); ok && strings.HasSuffix(se.Reason, "is unsupported") {
			return spotzee.FieldError{Param: join(path, name), Code: spotzee.CodeParameterUnknown,
				Message: "is not a known field"}
		}
	case "required":
		return spotzee.FieldError{Param: path, Code: spotzee.CodeParameterMissing, Message: "is required"}
	case "minLength":
		if s, ok := se.Value.(string); ok && s == "" {
			return spotzee.FieldError{Param: path, Code: spotzee.CodeParameterInvalidEmpty, Message: "must not be empty"}
		}
	}
	if path == "" {
		path = "body"
	}
	return spotzee.FieldError{Param: path, Code: spotzee.CodeParameterInvalidFormat, Message: se.Reason}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// quoted returns the first Go-quoted string in s.
func quoted(s string) (string, bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", false
	}
	q, err := strconv.QuotedPrefix(s[i:])
	if err != nil {
		return "", false
	}
	name, err := strconv.Unquote(q)
	return name, err == nil
}
