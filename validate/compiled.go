package validate

import (
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"net/textproto"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// A schemaNode is a response schema compiled for a fast first check. The
// fast check may only accept what kin-openapi accepts: it implements the
// keywords it knows exactly (type, nullable, string enum, minLength,
// maxLength, the int32 and int64 formats, properties, required,
// additionalProperties, items, minItems, maxItems, allOf) and hands any
// schema with another keyword to kin-openapi whole (delegate). Whatever it
// refuses is validated again by kin-openapi, whose verdict and error stand:
// so a refusal never changes what a caller sees, and the fast check only
// needs to be no more lenient than kin-openapi.
type schemaNode struct {
	// delegate, when set, is the schema kin-openapi checks this value
	// against (its other fields are then unused).
	delegate *openapi3.Schema
	// typ is "" (any type) or one of the JSON types.
	typ      string
	nullable bool
	// enum, when not nil, lists the allowed strings.
	enum      map[string]bool
	minLength uint64
	maxLength uint64 // math.MaxUint64: none
	// lo and hi bound an integer (the format's range, within ±2^53).
	lo, hi     float64
	props      map[string]*schemaNode
	required   []string
	noExtra    bool        // additionalProperties: false
	extra      *schemaNode // additionalProperties: a schema
	items      *schemaNode
	minItems   uint64
	maxItems   uint64 // math.MaxUint64: none
	allOf      []*schemaNode
	hasContent bool // anything to check besides the type and null
	// fields lists props for the byte scanner (field), with fieldIndex
	// when there are many.
	fields     []propField
	fieldIndex map[string]int
}

// maxExact is the largest integer a float64 holds exactly.
const maxExact = 1 << 53

// compileSchema compiles s; nodes are shared through seen, so a recursive
// schema compiles once.
func compileSchema(s *openapi3.Schema, seen map[*openapi3.Schema]*schemaNode) *schemaNode {
	if n, ok := seen[s]; ok {
		return n
	}
	n := &schemaNode{maxLength: math.MaxUint64, maxItems: math.MaxUint64}
	seen[s] = n
	rest := *s
	// What does not constrain a value.
	rest.Extensions, rest.Origin, rest.Title, rest.Description = nil, nil, "", ""
	rest.Example, rest.Examples, rest.ExternalDocs, rest.Deprecated = nil, nil, nil, false
	rest.XML, rest.Default, rest.Comment, rest.AllowEmptyValue = nil, nil, "", false
	if s.Type != nil {
		if len(*s.Type) > 1 {
			n.delegate = s
			return n
		}
		if len(*s.Type) == 1 {
			n.typ = (*s.Type)[0]
		}
		rest.Type = nil
	}
	n.nullable, rest.Nullable = s.Nullable, false
	if len(s.Enum) > 0 {
		n.enum = map[string]bool{}
		for _, e := range s.Enum {
			str, ok := e.(string)
			if !ok {
				n.delegate = s
				return n
			}
			n.enum[str] = true
		}
		rest.Enum = nil
	}
	n.minLength, rest.MinLength = s.MinLength, 0
	if s.MaxLength != nil {
		n.maxLength, rest.MaxLength = *s.MaxLength, nil
	}
	n.lo, n.hi = -maxExact, maxExact
	if n.typ == "integer" && (s.Format == "int32" || s.Format == "int64") {
		if s.Format == "int32" {
			n.lo, n.hi = math.MinInt32, math.MaxInt32
		}
		rest.Format = ""
	}
	if len(s.Properties) > 0 {
		n.props = map[string]*schemaNode{}
		for name, ref := range s.Properties {
			if ref.Value == nil || ref.Value.ReadOnly || ref.Value.WriteOnly {
				n.delegate = s // kin-openapi treats these differently in responses
				return n
			}
			n.props[name] = compileSchema(ref.Value, seen)
		}
		rest.Properties = nil
	}
	n.required, rest.Required = s.Required, nil
	if ap := s.AdditionalProperties; ap.Schema != nil {
		if ap.Schema.Value == nil {
			n.delegate = s
			return n
		}
		n.extra = compileSchema(ap.Schema.Value, seen)
	} else if ap.Has != nil && !*ap.Has {
		n.noExtra = true
	}
	rest.AdditionalProperties = openapi3.AdditionalProperties{}
	if s.Items != nil {
		if s.Items.Value == nil {
			n.delegate = s
			return n
		}
		n.items, rest.Items = compileSchema(s.Items.Value, seen), nil
	}
	n.minItems, rest.MinItems = s.MinItems, 0
	if s.MaxItems != nil {
		n.maxItems, rest.MaxItems = *s.MaxItems, nil
	}
	for _, ref := range s.AllOf {
		if ref.Value == nil {
			n.delegate = s
			return n
		}
		n.allOf = append(n.allOf, compileSchema(ref.Value, seen))
	}
	rest.AllOf = nil
	if !reflect.DeepEqual(rest, openapi3.Schema{}) {
		// A keyword the fast check does not implement.
		*n = schemaNode{delegate: s}
		return n
	}
	n.hasContent = n.enum != nil || n.minLength > 0 || n.maxLength != math.MaxUint64 || n.props != nil ||
		len(n.required) > 0 || n.noExtra || n.extra != nil || n.items != nil || n.minItems > 0 ||
		n.maxItems != math.MaxUint64 || len(n.allOf) > 0
	n.compileFields()
	return n
}

// ok reports whether value (as encoding/json decodes into any) surely
// satisfies the schema; false means "ask kin-openapi".
func (n *schemaNode) ok(value any, opts []openapi3.SchemaValidationOption) bool {
	if n.delegate != nil {
		return n.delegate.VisitJSON(value, opts...) == nil
	}
	for _, sub := range n.allOf {
		if !sub.ok(value, opts) {
			return false
		}
	}
	switch v := value.(type) {
	case nil:
		return n.nullable && n.enum == nil
	case string:
		if n.typ != "string" && (n.typ != "" || n.hasContent) {
			return false
		}
		if n.enum != nil && !n.enum[v] {
			return false
		}
		if n.minLength > 0 || n.maxLength != math.MaxUint64 {
			l := uint64(utf8.RuneCountInString(v))
			return l >= n.minLength && l <= n.maxLength
		}
		return true
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return false
		}
		return n.ok(f, opts)
	case float64:
		switch n.typ {
		case "integer":
			return v == math.Trunc(v) && v >= n.lo && v <= n.hi && !n.hasContent
		case "number", "":
			return !n.hasContent
		}
		return false
	case bool:
		return (n.typ == "boolean" || n.typ == "") && !n.hasContent
	case []any:
		if n.typ != "array" || n.props != nil || len(n.required) > 0 || n.enum != nil {
			return false
		}
		if l := uint64(len(v)); l < n.minItems || l > n.maxItems {
			return false
		}
		if n.items != nil {
			for _, item := range v {
				if !n.items.ok(item, opts) {
					return false
				}
			}
		}
		return true
	case map[string]any:
		if n.typ != "object" || n.items != nil || n.enum != nil {
			return false
		}
		for _, name := range n.required {
			if _, ok := v[name]; !ok {
				return false
			}
		}
		for name, val := range v {
			if p := n.props[name]; p != nil {
				if !p.ok(val, opts) {
					return false
				}
			} else if n.noExtra {
				return false
			} else if n.extra != nil && !n.extra.ok(val, opts) {
				return false
			}
		}
		return true
	}
	return false
}

// respHeader is one response header as the fast check reads it.
type respHeader struct {
	key      string // canonical, to index an http.Header
	required bool
	typ      string
	node     *schemaNode
}

// compileResponseHeaders lists the headers of resp (Content-Type aside)
// for the fast check, unless one has a form it does not take (content, no
// schema, a type other than string or integer): then the response has no
// entry and always goes to kin-openapi.
func (v *Validator) compileResponseHeaders(resp *openapi3.Response) {
	if _, done := v.respHeaders[resp]; done {
		return
	}
	plan := []respHeader{}
	for name, h := range resp.Headers {
		if name == "Content-Type" {
			continue
		}
		if h.Value == nil || h.Value.Content != nil || h.Value.Schema == nil || h.Value.Schema.Value == nil {
			return
		}
		t := h.Value.Schema.Value.Type
		if t == nil || len(*t) != 1 || ((*t)[0] != "string" && (*t)[0] != "integer") {
			return
		}
		plan = append(plan, respHeader{key: textproto.CanonicalMIMEHeaderKey(name), required: h.Value.Required,
			typ: (*t)[0], node: compileSchema(h.Value.Schema.Value, v.compiled)})
	}
	v.respHeaders[resp] = plan
}

// compileResponses compiles the schema of every response body and header
// of every operation.
func (v *Validator) compileResponses() {
	v.compiled = map[*openapi3.Schema]*schemaNode{}
	v.respHeaders = map[*openapi3.Response][]respHeader{}
	for _, item := range v.doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil {
				continue
			}
			for _, ref := range op.Responses.Map() {
				if ref.Value == nil {
					continue
				}
				v.compileResponseHeaders(ref.Value)
				for _, media := range ref.Value.Content {
					if media.Schema != nil && media.Schema.Value != nil {
						compileSchema(media.Schema.Value, v.compiled)
					}
				}
			}
		}
	}
}

// compileRequestBodies compiles the JSON request body schema of every
// operation whose schema sets no default anywhere: kin-openapi would write
// defaults into the body, so those bodies are always left to it.
func (v *Validator) compileRequestBodies() {
	v.bodies = map[*openapi3.Operation]*schemaNode{}
	for _, item := range v.doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			media := op.RequestBody.Value.Content.Get("application/json")
			if media == nil || media.Schema == nil || media.Schema.Value == nil ||
				hasDefault(media.Schema.Value, map[*openapi3.Schema]bool{}) {
				continue
			}
			v.bodies[op] = compileSchema(media.Schema.Value, map[*openapi3.Schema]*schemaNode{})
		}
	}
}

// hasDefault reports whether s or any schema within it sets a default.
func hasDefault(s *openapi3.Schema, seen map[*openapi3.Schema]bool) bool {
	if s == nil || seen[s] {
		return false
	}
	seen[s] = true
	if s.Default != nil {
		return true
	}
	var refs []*openapi3.SchemaRef
	refs = append(refs, s.OneOf...)
	refs = append(refs, s.AnyOf...)
	refs = append(refs, s.AllOf...)
	refs = append(refs, s.PrefixItems...)
	refs = append(refs, s.Not, s.Items, s.AdditionalProperties.Schema, s.Contains, s.PropertyNames, s.If, s.Then, s.Else, s.ContentSchema)
	for _, m := range []openapi3.Schemas{s.Properties, s.PatternProperties, s.DependentSchemas, s.Defs} {
		for _, ref := range m {
			refs = append(refs, ref)
		}
	}
	for _, ref := range refs {
		if ref != nil && hasDefault(ref.Value, seen) {
			return true
		}
	}
	return false
}

// fastBody reports whether the compiled check accepts a request body (on
// its bytes, in readBody, or decoded), so that kin-openapi need not decode
// and validate it again: only for an
// operation without defaults in its body schema, a body sent as exactly
// application/json and decoded by readBody. False means "let kin-openapi
// validate it", which then gives the verdict and the error.
func (v *Validator) fastBody(op *openapi3.Operation, contentType string, body requestBody) bool {
	if body.scanned {
		return true // accepted on its bytes by readBody
	}
	if !body.decoded {
		return false
	}
	node := v.bodyNode(op, contentType)
	return node != nil && node.ok(body.value, v.reqOpts)
}

// bodyNode returns the compiled schema of op's request body when the
// compiled check may decide it: op's body schema sets no default and
// contentType is exactly application/json (and selects the same media
// type). Otherwise it returns nil.
func (v *Validator) bodyNode(op *openapi3.Operation, contentType string) *schemaNode {
	node := v.bodies[op]
	if node == nil {
		return nil
	}
	if contentType == "application/json" {
		return node // the media type it was compiled from
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return nil
	}
	media := op.RequestBody.Value.Content.Get(contentType)
	if media == nil || media != op.RequestBody.Value.Content.Get("application/json") {
		return nil
	}
	return node
}

// statusKeys holds the decimal text of every status from 100 to 599, the
// keys of an operation's responses.
var statusKeys = func() (keys [600]string) {
	for i := 100; i < len(keys); i++ {
		keys[i] = strconv.Itoa(i)
	}
	return keys
}()

// responseFor is responses.Status(status) without formatting status when
// the response is listed under its exact code.
func responseFor(responses *openapi3.Responses, status int) *openapi3.ResponseRef {
	if status >= 100 && status < len(statusKeys) {
		if ref := responses.Value(statusKeys[status]); ref != nil {
			return ref
		}
	}
	return responses.Status(status) // a range (2XX), or none
}

// responseOK is the fast check of a response: it reports true only when
// kin-openapi's ValidateResponse would accept it too, following the same
// steps (status, headers, content type, body) with the compiled schemas,
// the body checked as it is, without decoding it into any (see jsonScan),
// and no copy of it. False means
// "ask kin-openapi", which then gives the verdict and the error.
func (v *Validator) responseOK(ex *Exchange, status int, header http.Header, body []byte) bool {
	route := ex.input.Route
	responses := route.Operation.Responses
	if ex.input.Request.Method == http.MethodHead || responses.Len() == 0 {
		return false // rare: kin-openapi's own rules
	}
	ref := responseFor(responses, status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return false
	}
	resp := ref.Value
	plan, ok := v.respHeaders[resp]
	if !ok {
		return false
	}
	for _, h := range plan {
		values := header[h.key]
		switch {
		case len(values) == 0:
			if h.required {
				return false
			}
		case len(values) > 1 || values[0] == "" || h.node == nil:
			return false
		case h.typ == "string":
			if !h.node.okStringValue(values[0], v.respOpts) {
				return false
			}
		case h.typ == "integer":
			n, err := strconv.ParseInt(values[0], 10, 64)
			if err != nil || !h.node.okNumberValue(float64(n), v.respOpts) {
				return false
			}
		default:
			return false
		}
	}
	if len(resp.Content) == 0 {
		return true
	}
	media := resp.Content.Get(header.Get("Content-Type"))
	if media == nil {
		return false
	}
	if media.Schema == nil {
		return true
	}
	if media.Schema.Value == nil || !isJSON(header.Get("Content-Type")) {
		return false
	}
	node := v.compiled[media.Schema.Value]
	if node == nil {
		return false
	}
	return node.scanOK(body, v.respOpts)
}
