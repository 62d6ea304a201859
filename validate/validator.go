// Package validate checks HTTP requests and responses against the OpenAPI
// document with kin-openapi: as server middleware (Middleware), as a client
// round tripper (Transport) and directly in tests (CheckRequest,
// CheckResponse). The document is loaded, validated and routed once per
// Validator; a Validator is safe for concurrent use.
package validate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/internal/overlay"
)

// DefaultPathPrefix is the path of the spec's server URL: requests whose
// path starts with it are routed as if it were absent.
const DefaultPathPrefix = "/api/client"

// DefaultMaxBodyBytes caps request bodies before they are validated against
// the faithful contract. Spotzee publishes no cap; this one only keeps a
// validator from reading without bound. The reference profile sets its own
// (64 KiB, its x-spotzee-max-body-bytes).
const DefaultMaxBodyBytes = 1 << 20

// Authenticator checks a bearer token that is well-formed on the wire. It
// returns a non-nil error to refuse the token (answered 401
// authentication_required). It must not put the token in the error.
type Authenticator func(ctx context.Context, token string) error

// Option configures a Validator.
type Option func(*Validator)

// WithPathPrefix sets the path prefix stripped before routing (default
// DefaultPathPrefix). Paths without the prefix are routed as they are.
func WithPathPrefix(prefix string) Option {
	return func(v *Validator) { v.prefix = strings.TrimSuffix(prefix, "/") }
}

// WithMaxBodyBytes caps request bodies (default DefaultMaxBodyBytes, or the
// reference profile's cap with WithReferenceProfile).
func WithMaxBodyBytes(n int64) Option { return func(v *Validator) { v.maxBody = n } }

// WithReferenceProfile validates against the reference profile: the
// contract with this project's own stricter decisions applied (see
// ReferenceSpec). Without it a Validator checks the faithful contract,
// which states only what Spotzee states and suits the real API.
func WithReferenceProfile() Option { return func(v *Validator) { v.reference = true } }

// WithAuthenticator adds a check of the bearer token to the check of the
// scheme itself.
func WithAuthenticator(a Authenticator) Option { return func(v *Validator) { v.auth = a } }

// Validator validates requests and responses against one OpenAPI document.
type Validator struct {
	doc     *openapi3.T
	paths   *pathRouter
	prefix  string
	maxBody int64
	auth    Authenticator
	// reference is set by WithReferenceProfile.
	reference bool
	// surface maps each path template to the base path it is served under;
	// prefixes lists those bases, longest first.
	surface  map[string]string
	prefixes []string
	options  *openapi3filter.Options
	// queryParams lists, per operation, the query parameters it declares.
	queryParams map[*openapi3.Operation]map[string]bool
	// compiled holds the response schemas compiled for the fast check
	// (responseOK); respOpts are the options it hands kin-openapi.
	compiled map[*openapi3.Schema]*schemaNode
	// respHeaders lists each response's headers for the fast check.
	respHeaders map[*openapi3.Response][]respHeader
	respOpts    []openapi3.SchemaValidationOption
	// bodies holds the request body schemas compiled for fastBody, which
	// validates with reqOpts; optionsNoBody are options with the body left
	// out, for kin-openapi when fastBody accepted it.
	bodies        map[*openapi3.Operation]*schemaNode
	reqOpts       []openapi3.SchemaValidationOption
	optionsNoBody *openapi3filter.Options
	// plans holds per operation what fastRequest checks.
	plans map[*openapi3.Operation]*requestPlan
	// emptyChecked lists, per operation, the header and query parameters
	// whose schema forbids the empty string (kin-openapi treats an empty
	// header as absent).
	emptyChecked map[*openapi3.Operation][]*openapi3.Parameter
}

// New returns a Validator for the module's embedded openapi.yaml (the
// faithful contract, or the reference profile with WithReferenceProfile).
// It returns an error if the document does not load or does not validate.
func New(opts ...Option) (*Validator, error) {
	return NewFromSpec(spotzee.OpenAPISpec, opts...)
}

var (
	defaultValidator   = sync.OnceValues(func() (*Validator, error) { return New() })
	referenceValidator = sync.OnceValues(func() (*Validator, error) { return New(WithReferenceProfile()) })
)

// Default returns a shared Validator for the faithful contract with default
// options, built on first use. It returns the same error New would.
func Default() (*Validator, error) { return defaultValidator() }

// Reference returns a shared Validator for the reference profile with
// default options, built on first use. It returns the same error New would.
func Reference() (*Validator, error) { return referenceValidator() }

// ReferenceSpec returns the embedded openapi.yaml with the reference
// profile (reference-profile.yaml) applied, as JSON. It returns an error if
// the profile does not parse or one of its actions targets nothing.
func ReferenceSpec() ([]byte, error) { return referenceSpec() }

var referenceSpec = sync.OnceValues(func() ([]byte, error) {
	return applyProfile(spotzee.OpenAPISpec, spotzee.ReferenceProfile)
})

// applyProfile applies an overlay to spec.
func applyProfile(spec, profile []byte) ([]byte, error) {
	doc, err := overlay.Parse(profile)
	if err != nil {
		return nil, fmt.Errorf("validate: reference profile: %w", err)
	}
	out, err := doc.Apply(spec)
	if err != nil {
		return nil, fmt.Errorf("validate: reference profile: %w", err)
	}
	return out, nil
}

// profileBodyCap returns the reference profile's body cap.
func profileBodyCap() int64 {
	doc, err := overlay.Parse(spotzee.ReferenceProfile)
	if err != nil {
		return 0
	}
	n, _ := doc.Extensions["x-spotzee-max-body-bytes"].(float64)
	return int64(n)
}

// NewFromSpec returns a Validator for the OpenAPI 3.0 document in spec
// (with WithReferenceProfile, the embedded reference profile is applied to
// it). It returns an error if the document does not load or does not
// validate.
func NewFromSpec(spec []byte, opts ...Option) (*Validator, error) {
	v := &Validator{
		prefix:       DefaultPathPrefix,
		queryParams:  map[*openapi3.Operation]map[string]bool{},
		emptyChecked: map[*openapi3.Operation][]*openapi3.Parameter{},
	}
	for _, opt := range opts {
		opt(v)
	}
	if v.reference {
		var err error
		if spec, err = applyProfile(spec, spotzee.ReferenceProfile); err != nil {
			return nil, err
		}
		if v.maxBody == 0 {
			v.maxBody = profileBodyCap()
		}
	}
	if v.maxBody <= 0 {
		v.maxBody = DefaultMaxBodyBytes
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("validate: load spec: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate: invalid spec: %w", err)
	}
	// Route on the path alone: the server URL names the production host.
	// A path item with servers of its own (the admin surface) is routed
	// under their URL's path; the others under v.prefix.
	v.surface = map[string]string{}
	for template, item := range doc.Paths.Map() {
		if len(item.Servers) > 0 {
			u, err := url.Parse(item.Servers[0].URL)
			if err != nil {
				return nil, fmt.Errorf("validate: path %s: server URL: %w", template, err)
			}
			v.surface[template] = strings.TrimSuffix(u.Path, "/")
			item.Servers = nil
		} else {
			v.surface[template] = v.prefix
		}
	}
	seen := map[string]bool{}
	for _, base := range v.surface {
		if base != "" && !seen[base] {
			seen[base] = true
			v.prefixes = append(v.prefixes, base)
		}
	}
	slices.SortFunc(v.prefixes, func(a, b string) int { return len(b) - len(a) })
	doc.Servers = nil
	v.doc, v.paths = doc, newPathRouter(doc)
	v.options = &openapi3filter.Options{
		AuthenticationFunc:    v.authenticate,
		IncludeResponseStatus: true,
		MultiError:            true,
		KeepValidatedValue:    true,
	}
	v.options.WithCustomSchemaErrorFunc(safeSchemaMessage)
	v.respOpts = []openapi3.SchemaValidationOption{openapi3.VisitAsResponse()}
	v.reqOpts = []openapi3.SchemaValidationOption{openapi3.VisitAsRequest()}
	v.compileResponses()
	v.compileRequestBodies()
	v.compileRequests()
	noBody := *v.options
	noBody.ExcludeRequestBody = true
	v.optionsNoBody = &noBody
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			query := map[string]bool{}
			for _, p := range append(item.Parameters, op.Parameters...) {
				param := p.Value
				if param.In == openapi3.ParameterInQuery {
					query[param.Name] = true
				}
				if (param.In == openapi3.ParameterInHeader || param.In == openapi3.ParameterInQuery) &&
					param.Schema != nil && param.Schema.Value.MinLength > 0 {
					v.emptyChecked[op] = append(v.emptyChecked[op], param)
				}
			}
			v.queryParams[op] = query
		}
	}
	return v, nil
}

// PathPrefix returns the prefix stripped before routing (see WithPathPrefix).
func (v *Validator) PathPrefix() string { return v.prefix }

// Doc returns the loaded document (servers removed). Callers must not
// modify it.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// safeSchemaMessage formats a schema error without the offending value, so
// a secret in a request or response never reaches an error message.
func safeSchemaMessage(err *openapi3.SchemaError) string {
	reason := err.Reason
	if reason == "" {
		reason = fmt.Sprintf("does not match schema %q", err.SchemaField)
	}
	if p := err.JSONPointer(); len(p) > 0 {
		return fmt.Sprintf("%s: %s", strings.Join(p, "."), reason)
	}
	return reason
}

// errNoBearer is the reason given for a missing or malformed Authorization
// header.
var errNoBearer = errors.New("an Authorization header of the form \"Bearer <key>\" is required")

// errManyAuthorization refuses a request with more than one Authorization
// header: which one a server (or a proxy in front of it) reads is not
// defined, so none is used. Like a repeated Spotzee-Version or
// Idempotency-Key, a repeated header gets the code its invalid value gets:
// here 401 authentication_required.
var errManyAuthorization = spotzee.Errorf(spotzee.CodeAuthenticationRequired,
	"Send one Authorization header, of the form \"Bearer <key>\"; this request has several.")

func (v *Validator) authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	return v.checkBearer(ctx, in.RequestValidationInput.Request.Header)
}

// checkBearer is authenticate's check of a request's headers: exactly one
// Authorization header, a well-formed bearer token, and the Authenticator's
// verdict on it.
func (v *Validator) checkBearer(ctx context.Context, h http.Header) error {
	values := h["Authorization"] // canonical key: as Header.Values
	if len(values) > 1 {
		return errManyAuthorization
	}
	var header string
	if len(values) == 1 {
		header = values[0]
	}
	token, ok := BearerToken(header)
	if !ok {
		return errNoBearer
	}
	if v.auth != nil {
		if err := v.auth(ctx, token); err != nil {
			return fmt.Errorf("the API key was refused: %w", err)
		}
	}
	return nil
}

// BearerToken extracts the token from an Authorization header value of the
// form "Bearer <token>" (scheme case-insensitive). It reports false when the
// value is missing, uses another scheme, or the token is empty or holds
// characters outside the RFC 6750 token68 set.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > 512 {
		return "", false
	}
	for i := 0; i < len(token); i++ {
		if !token68[token[i]] {
			return "", false
		}
	}
	return token, true
}

// token68 marks the bytes of RFC 6750's token68: letters, digits and
// -._~+/=.
var token68 = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~+/=", byte(c)) >= 0
	}
	return t
}()
