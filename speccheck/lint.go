package speccheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Rule identifiers reported in Finding.Rule.
const (
	RuleValid                 = "openapi-valid"                 // kin-openapi validation of the document
	RuleOperationID           = "operation-id"                  // every operation has an operationId
	RuleOperationSummary      = "operation-summary"             // every operation has a summary
	RuleOperationTags         = "operation-tags"                // every operation has at least one tag
	RuleOperationDescription  = "operation-description"         // every operation has a description
	RuleError401              = "error-401"                     // every operation documents 401
	RuleErrorProblemJSON      = "error-problem-json"            // 4xx/5xx responses are application/problem+json only
	RulePropertyDescription   = "property-description"          // every schema property has a description
	RuleExampleValid          = "example-valid"                 // every example validates against its schema
	RuleRequestAdditionalProp = "request-additional-properties" // request-body objects set additionalProperties: false

	// RuleResponseStrictness keeps openapi.yaml no stricter on the response
	// side than Spotzee publishes. Every schema an operation's responses reach
	// (header and content schemas, through $ref, properties, items,
	// allOf/anyOf/oneOf and additionalProperties schemas) must set none of
	// pattern, minLength, maxLength, minimum, maximum, exclusiveMinimum,
	// exclusiveMaximum, multipleOf, minItems, maxItems, uniqueItems,
	// minProperties, maxProperties, a format other than int32/int64, or
	// additionalProperties: false. Enums are allowed: they are Spotzee's own.
	// Request bodies and parameters are not checked, and a schema shared with
	// a request is checked as a response schema. A schema is reported once, at
	// its component location when it is referenced. Our stricter choices
	// belong in reference-profile.yaml, which this rule does not lint.
	RuleResponseStrictness = "response-strictness"
)

// ProblemJSON is the only media type an error response may document.
const ProblemJSON = "application/problem+json"

// Finding is one violation of a lint rule.
type Finding struct {
	Rule     string // one of the Rule* constants
	Location string // JSON pointer into the document, e.g. #/paths/~1keys/get
	Message  string
}

// String formats the finding as "location: message [rule]".
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s [%s]", f.Location, f.Message, f.Rule)
}

// Lint validates doc with kin-openapi (examples excluded: RuleExampleValid
// checks those) and applies the house rules. It returns every finding,
// sorted by location and rule; an empty result means the document passes.
// Lint never fails: problems are reported as findings.
func Lint(ctx context.Context, doc *openapi3.T) []Finding {
	l := &linter{doc: doc, seen: map[*openapi3.Schema]bool{}, strictSeen: map[*openapi3.Schema]bool{}}
	l.validate(ctx)
	l.components()
	l.paths()
	sort.SliceStable(l.findings, func(i, j int) bool {
		a, b := l.findings[i], l.findings[j]
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		return a.Rule < b.Rule
	})
	return l.findings
}

type linter struct {
	doc      *openapi3.T
	findings []Finding
	seen     map[*openapi3.Schema]bool // schemas already walked
	// strictSeen holds the response schemas RuleResponseStrictness has walked.
	strictSeen map[*openapi3.Schema]bool
}

func (l *linter) add(rule, loc, format string, args ...any) {
	l.findings = append(l.findings, Finding{Rule: rule, Location: loc, Message: fmt.Sprintf(format, args...)})
}

func (l *linter) validate(ctx context.Context) {
	err := l.doc.Validate(ctx, openapi3.DisableExamplesValidation(), openapi3.EnableMultiError())
	if err == nil {
		return
	}
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		for _, e := range multi {
			l.add(RuleValid, "#", "%v", e)
		}
		return
	}
	l.add(RuleValid, "#", "%v", err)
}

// pointer builds a JSON pointer from unescaped reference tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	b.WriteString("#")
	for _, t := range tokens {
		b.WriteString("/")
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

func join(loc string, tokens ...string) string {
	return loc + strings.TrimPrefix(pointer(tokens...), "#")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// components walks the reusable components first, so that a schema used by
// reference is reported once, at its component location.
func (l *linter) components() {
	c := l.doc.Components
	if c == nil {
		return
	}
	for _, name := range sortedKeys(c.Schemas) {
		l.schema(pointer("components", "schemas", name), c.Schemas[name])
	}
	for _, name := range sortedKeys(c.Parameters) {
		if p := c.Parameters[name]; p != nil && p.Value != nil {
			l.parameter(pointer("components", "parameters", name), p.Value)
		}
	}
	for _, name := range sortedKeys(c.Headers) {
		if h := c.Headers[name]; h != nil && h.Value != nil {
			l.parameter(pointer("components", "headers", name), &h.Value.Parameter)
		}
	}
	for _, name := range sortedKeys(c.RequestBodies) {
		if rb := c.RequestBodies[name]; rb != nil && rb.Value != nil {
			l.content(pointer("components", "requestBodies", name, "content"), rb.Value.Content)
		}
	}
	for _, name := range sortedKeys(c.Responses) {
		if r := c.Responses[name]; r != nil && r.Value != nil {
			l.response(pointer("components", "responses", name), r.Value)
		}
	}
}

var methodOrder = []string{
	http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPost,
	http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodTrace,
}

// operations returns the methods of item in a fixed order.
func operations(item *openapi3.PathItem) []string {
	ops := item.Operations()
	methods := make([]string, 0, len(ops))
	for m := range ops {
		methods = append(methods, m)
	}
	sort.Slice(methods, func(i, j int) bool {
		a, b := slices.Index(methodOrder, methods[i]), slices.Index(methodOrder, methods[j])
		if a != b {
			return a < b
		}
		return methods[i] < methods[j]
	})
	return methods
}

func (l *linter) paths() {
	if l.doc.Paths == nil {
		return
	}
	for _, path := range sortedKeys(l.doc.Paths.Map()) {
		item := l.doc.Paths.Value(path)
		if item == nil {
			continue
		}
		for i, p := range item.Parameters {
			if p != nil && p.Value != nil && p.Ref == "" {
				l.parameter(pointer("paths", path, "parameters", fmt.Sprint(i)), p.Value)
			}
		}
		for _, method := range operations(item) {
			l.operation(pointer("paths", path, strings.ToLower(method)), item.GetOperation(method))
		}
	}
}

func (l *linter) operation(loc string, op *openapi3.Operation) {
	if op.OperationID == "" {
		l.add(RuleOperationID, loc, "operation has no operationId")
	}
	if strings.TrimSpace(op.Summary) == "" {
		l.add(RuleOperationSummary, loc, "operation has no summary")
	}
	if len(op.Tags) == 0 {
		l.add(RuleOperationTags, loc, "operation has no tag")
	}
	if strings.TrimSpace(op.Description) == "" {
		l.add(RuleOperationDescription, loc, "operation has no description")
	}
	for i, p := range op.Parameters {
		if p != nil && p.Value != nil && p.Ref == "" {
			l.parameter(join(loc, "parameters", fmt.Sprint(i)), p.Value)
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		rbLoc := join(loc, "requestBody", "content")
		if op.RequestBody.Ref == "" {
			l.content(rbLoc, op.RequestBody.Value.Content)
		}
		for _, mt := range sortedKeys(op.RequestBody.Value.Content) {
			if m := op.RequestBody.Value.Content[mt]; m != nil && m.Schema != nil {
				l.requestObject(join(rbLoc, mt, "schema"), m.Schema, map[*openapi3.Schema]bool{})
			}
		}
	}
	responses := map[string]*openapi3.ResponseRef{}
	if op.Responses != nil {
		responses = op.Responses.Map()
	}
	if _, ok := responses["401"]; !ok {
		l.add(RuleError401, join(loc, "responses"), "operation does not document 401")
	}
	for _, status := range sortedKeys(responses) {
		r := responses[status]
		if r == nil || r.Value == nil {
			continue
		}
		rLoc := join(loc, "responses", status)
		if strings.HasPrefix(status, "4") || strings.HasPrefix(status, "5") {
			l.errorResponse(rLoc, r.Value)
		}
		if r.Ref == "" {
			l.response(rLoc, r.Value)
		}
		l.strictResponse(rLoc, r)
	}
}

// errorResponse checks that a 4xx/5xx response documents exactly one media
// type, application/problem+json, with a schema.
func (l *linter) errorResponse(loc string, r *openapi3.Response) {
	types := sortedKeys(r.Content)
	switch {
	case len(types) == 0:
		l.add(RuleErrorProblemJSON, loc, "error response has no content; want %s", ProblemJSON)
	case len(types) != 1 || types[0] != ProblemJSON:
		l.add(RuleErrorProblemJSON, loc, "error response content is %s; want only %s", strings.Join(types, ", "), ProblemJSON)
	case r.Content[ProblemJSON] == nil || r.Content[ProblemJSON].Schema == nil:
		l.add(RuleErrorProblemJSON, loc, "error response %s has no schema", ProblemJSON)
	}
}

func (l *linter) response(loc string, r *openapi3.Response) {
	for _, name := range sortedKeys(r.Headers) {
		if h := r.Headers[name]; h != nil && h.Value != nil && h.Ref == "" {
			l.parameter(join(loc, "headers", name), &h.Value.Parameter)
		}
	}
	l.content(join(loc, "content"), r.Content)
}

// parameter checks a parameter or header: its examples and its schema.
func (l *linter) parameter(loc string, p *openapi3.Parameter) {
	var schema *openapi3.SchemaRef
	schemaLoc := join(loc, "schema")
	if p.Schema != nil {
		schema = p.Schema
		l.schema(schemaLoc, p.Schema)
	}
	for _, mt := range sortedKeys(p.Content) {
		if m := p.Content[mt]; m != nil {
			l.mediaType(join(loc, "content", mt), m)
		}
	}
	l.examples(loc, schema, p.Example, p.Examples)
}

func (l *linter) content(loc string, content openapi3.Content) {
	for _, mt := range sortedKeys(content) {
		if m := content[mt]; m != nil {
			l.mediaType(join(loc, mt), m)
		}
	}
}

func (l *linter) mediaType(loc string, m *openapi3.MediaType) {
	if m.Schema != nil {
		l.schema(join(loc, "schema"), m.Schema)
	}
	l.examples(loc, m.Schema, m.Example, m.Examples)
}

// examples validates an `example` and the values of `examples` against schema.
func (l *linter) examples(loc string, schema *openapi3.SchemaRef, example any, examples openapi3.Examples) {
	if example != nil {
		l.exampleValue(join(loc, "example"), schema, example)
	}
	for _, name := range sortedKeys(examples) {
		if e := examples[name]; e != nil && e.Value != nil && e.Value.Value != nil {
			l.exampleValue(join(loc, "examples", name, "value"), schema, e.Value.Value)
		}
	}
}

func (l *linter) exampleValue(loc string, schema *openapi3.SchemaRef, value any) {
	if schema == nil || schema.Value == nil {
		l.add(RuleExampleValid, loc, "example has no schema to validate against")
		return
	}
	opts := l.doc.GetSchemaValidationOptions()
	if l.doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	if err := schema.Value.VisitJSON(value, opts...); err != nil {
		l.add(RuleExampleValid, loc, "example does not match its schema: %s", schemaErrorReason(err))
	}
}

// schemaErrorReason returns the reason of a schema validation error and where
// in the value it lies, without kin-openapi's dump of schema and value.
func schemaErrorReason(err error) string {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) || se.Reason == "" {
		return strings.Join(strings.Fields(err.Error()), " ")
	}
	if ptr := se.JSONPointer(); len(ptr) > 0 {
		return fmt.Sprintf("%s (at /%s)", se.Reason, strings.Join(ptr, "/"))
	}
	return se.Reason
}

// schema walks a schema once: property descriptions, schema examples, and
// every nested schema (properties, items, compositions, additionalProperties).
func (l *linter) schema(loc string, sr *openapi3.SchemaRef) {
	if sr == nil || sr.Value == nil || l.seen[sr.Value] {
		return
	}
	s := sr.Value
	l.seen[s] = true
	if s.Example != nil {
		l.exampleValue(join(loc, "example"), sr, s.Example)
	}
	for i, ex := range s.Examples {
		l.exampleValue(join(loc, "examples", fmt.Sprint(i)), sr, ex)
	}
	for _, name := range sortedKeys(s.Properties) {
		prop := s.Properties[name]
		pLoc := join(loc, "properties", name)
		switch {
		case prop == nil || prop.Value == nil:
		case prop.Ref != "" && strings.TrimSpace(prop.Value.Description) == "":
			l.add(RulePropertyDescription, pLoc, "property %q refers to %s, which has no description", name, prop.Ref)
		case prop.Ref == "" && strings.TrimSpace(prop.Value.Description) == "":
			l.add(RulePropertyDescription, pLoc, "property %q has no description", name)
		}
		l.schema(pLoc, prop)
	}
	l.schema(join(loc, "items"), s.Items)
	for i, sub := range s.AllOf {
		l.schema(join(loc, "allOf", fmt.Sprint(i)), sub)
	}
	for i, sub := range s.AnyOf {
		l.schema(join(loc, "anyOf", fmt.Sprint(i)), sub)
	}
	for i, sub := range s.OneOf {
		l.schema(join(loc, "oneOf", fmt.Sprint(i)), sub)
	}
	l.schema(join(loc, "not"), s.Not)
	l.schema(join(loc, "additionalProperties"), s.AdditionalProperties.Schema)
}

// requestObject checks that every object schema of a request body, nested
// ones included, closes itself with additionalProperties: false. An object
// inside allOf is always reported: in OpenAPI 3.0 additionalProperties does not
// see through allOf, so such a body can be neither closed nor composed. A
// referenced schema is reported at its component location.
func (l *linter) requestObject(loc string, sr *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	l.requestObjectMember(loc, sr, seen, false)
}

func (l *linter) requestObjectMember(loc string, sr *openapi3.SchemaRef, seen map[*openapi3.Schema]bool, inAllOf bool) {
	if sr == nil || sr.Value == nil || seen[sr.Value] {
		return
	}
	s := sr.Value
	seen[s] = true
	if strings.HasPrefix(sr.Ref, "#/") {
		loc = sr.Ref
	}
	isObject := (s.Type != nil && s.Type.Includes(openapi3.TypeObject)) || len(s.Properties) > 0
	closed := s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
	switch {
	case isObject && inAllOf:
		l.add(RuleRequestAdditionalProp, loc, "request body object schema is an allOf member, which additionalProperties: false cannot close; define the body as one object schema")
	case isObject && !closed:
		l.add(RuleRequestAdditionalProp, loc, "request body object schema does not set additionalProperties: false")
	}
	for _, name := range sortedKeys(s.Properties) {
		l.requestObjectMember(join(loc, "properties", name), s.Properties[name], seen, false)
	}
	l.requestObjectMember(join(loc, "items"), s.Items, seen, false)
	for i, sub := range s.AllOf {
		l.requestObjectMember(join(loc, "allOf", fmt.Sprint(i)), sub, seen, true)
	}
	for i, sub := range s.AnyOf {
		l.requestObjectMember(join(loc, "anyOf", fmt.Sprint(i)), sub, seen, false)
	}
	for i, sub := range s.OneOf {
		l.requestObjectMember(join(loc, "oneOf", fmt.Sprint(i)), sub, seen, false)
	}
}

// refLocation returns ref when it points into this document, loc otherwise,
// so that a referenced object is reported where it is defined.
func refLocation(loc, ref string) string {
	if strings.HasPrefix(ref, "#/") {
		return ref
	}
	return loc
}

// strictResponse applies RuleResponseStrictness to every header and content
// schema of one operation response.
func (l *linter) strictResponse(loc string, rr *openapi3.ResponseRef) {
	if rr == nil || rr.Value == nil {
		return
	}
	loc = refLocation(loc, rr.Ref)
	r := rr.Value
	for _, name := range sortedKeys(r.Headers) {
		h := r.Headers[name]
		if h == nil || h.Value == nil {
			continue
		}
		hLoc := refLocation(join(loc, "headers", name), h.Ref)
		l.strictSchema(join(hLoc, "schema"), h.Value.Schema)
		l.strictContent(join(hLoc, "content"), h.Value.Content)
	}
	l.strictContent(join(loc, "content"), r.Content)
}

func (l *linter) strictContent(loc string, content openapi3.Content) {
	for _, mt := range sortedKeys(content) {
		if m := content[mt]; m != nil {
			l.strictSchema(join(loc, mt, "schema"), m.Schema)
		}
	}
}

// strictSchema reports the strict keywords of a response schema and walks its
// nested schemas. Each schema is reported once, however many responses reach it.
func (l *linter) strictSchema(loc string, sr *openapi3.SchemaRef) {
	if sr == nil || sr.Value == nil || l.strictSeen[sr.Value] {
		return
	}
	s := sr.Value
	l.strictSeen[s] = true
	loc = refLocation(loc, sr.Ref)
	if kws := strictKeywords(s); len(kws) > 0 {
		l.add(RuleResponseStrictness, loc, "response schema sets %s, stricter than Spotzee publishes; move it to reference-profile.yaml", strings.Join(kws, ", "))
	}
	for _, name := range sortedKeys(s.Properties) {
		l.strictSchema(join(loc, "properties", name), s.Properties[name])
	}
	l.strictSchema(join(loc, "items"), s.Items)
	for i, sub := range s.AllOf {
		l.strictSchema(join(loc, "allOf", fmt.Sprint(i)), sub)
	}
	for i, sub := range s.AnyOf {
		l.strictSchema(join(loc, "anyOf", fmt.Sprint(i)), sub)
	}
	for i, sub := range s.OneOf {
		l.strictSchema(join(loc, "oneOf", fmt.Sprint(i)), sub)
	}
	l.strictSchema(join(loc, "additionalProperties"), s.AdditionalProperties.Schema)
}

// strictKeywords lists, in a fixed order, the keywords of s that make a
// response schema stricter than Spotzee's: value constraints, formats other
// than the integer sizes, and a closed object.
func strictKeywords(s *openapi3.Schema) []string {
	var kws []string
	add := func(format string, args ...any) { kws = append(kws, fmt.Sprintf(format, args...)) }
	if s.Format != "" && s.Format != "int32" && s.Format != "int64" {
		add("format %q", s.Format)
	}
	if s.Pattern != "" {
		add("pattern %q", s.Pattern)
	}
	if s.MinLength > 0 {
		add("minLength %d", s.MinLength)
	}
	if s.MaxLength != nil {
		add("maxLength %d", *s.MaxLength)
	}
	if s.Min != nil {
		add("minimum %g", *s.Min)
	}
	if s.Max != nil {
		add("maximum %g", *s.Max)
	}
	if b := exclusiveBound(s.ExclusiveMin); b != "" {
		add("exclusiveMinimum %s", b)
	}
	if b := exclusiveBound(s.ExclusiveMax); b != "" {
		add("exclusiveMaximum %s", b)
	}
	if s.MultipleOf != nil {
		add("multipleOf %g", *s.MultipleOf)
	}
	if s.MinItems > 0 {
		add("minItems %d", s.MinItems)
	}
	if s.MaxItems != nil {
		add("maxItems %d", *s.MaxItems)
	}
	if s.UniqueItems {
		add("uniqueItems true")
	}
	if s.MinProps > 0 {
		add("minProperties %d", s.MinProps)
	}
	if s.MaxProps != nil {
		add("maxProperties %d", *s.MaxProps)
	}
	if s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
		add("additionalProperties false")
	}
	return kws
}

// exclusiveBound formats an exclusiveMinimum or exclusiveMaximum that
// constrains the value: true (OpenAPI 3.0) or a number (3.1). It returns ""
// for an absent bound and for an OpenAPI 3.0 false, which constrains nothing.
func exclusiveBound(b openapi3.ExclusiveBound) string {
	switch {
	case b.Value != nil:
		return fmt.Sprintf("%g", *b.Value)
	case b.IsTrue():
		return "true"
	}
	return ""
}
