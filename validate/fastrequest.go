package validate

import (
	"context"
	"math"
	"net/textproto"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// requestPlan is what an operation's request check needs, worked out once:
// its parameters (path item's and operation's merged, as kin-openapi
// merges them) with their compiled schemas, and its single bearer
// requirement. When a plan is nil the operation is always left to
// kin-openapi.
type requestPlan struct {
	params []planParam
	// scheme and schemeName are the operation's one security scheme (an
	// http bearer scheme); scopes its scopes; noAuth is set when the
	// operation requires none.
	scheme     *openapi3.SecurityScheme
	schemeName string
	scopes     []string
	noAuth     bool
}

type planParam struct {
	p    *openapi3.Parameter
	node *schemaNode
	// header is a header parameter's canonical key, to index http.Header
	// without canonicalising the name on every request.
	header string
	// typ is the schema's type: string, integer or boolean.
	typ string
}

// compileRequests builds the plan of every operation whose parameters and
// security the fast check covers: parameters in the path, query or
// header, each with a schema of type string, integer or boolean, the
// default style, and no default value;
// security that is none or one http bearer scheme.
func (v *Validator) compileRequests() {
	v.plans = map[*openapi3.Operation]*requestPlan{}
	seen := map[*openapi3.Schema]*schemaNode{}
	for _, item := range v.doc.Paths.Map() {
	ops:
		for _, op := range item.Operations() {
			plan := &requestPlan{}
			var params []*openapi3.Parameter
			for _, ref := range item.Parameters {
				if op.Parameters != nil && op.Parameters.GetByInAndName(ref.Value.In, ref.Value.Name) != nil {
					continue
				}
				params = append(params, ref.Value)
			}
			for _, ref := range op.Parameters {
				params = append(params, ref.Value)
			}
			for _, p := range params {
				if p == nil || p.Content != nil || p.Schema == nil || p.Schema.Value == nil || p.Schema.Value.Default != nil ||
					p.Style != "" || p.Explode != nil || p.AllowEmptyValue ||
					(p.In != openapi3.ParameterInPath && p.In != openapi3.ParameterInQuery && p.In != openapi3.ParameterInHeader) {
					continue ops
				}
				typ := p.Schema.Value.Type
				if typ == nil || len(*typ) != 1 || ((*typ)[0] != "string" && (*typ)[0] != "integer" && (*typ)[0] != "boolean") {
					continue ops
				}
				// A schema with a keyword the compiled check lacks (a
				// pattern, say) is checked by kin-openapi's schema code.
				plan.params = append(plan.params, planParam{p: p, node: compileSchema(p.Schema.Value, seen), typ: (*typ)[0],
					header: textproto.CanonicalMIMEHeaderKey(p.Name)})
			}
			security := op.Security
			if security == nil {
				security = &v.doc.Security
			}
			switch {
			case len(*security) == 0:
				plan.noAuth = true
			case len(*security) == 1 && len((*security)[0]) == 1:
				for name, scopes := range (*security)[0] {
					ref := v.doc.Components.SecuritySchemes[name]
					if ref == nil || ref.Value == nil || ref.Value.Type != "http" || !strings.EqualFold(ref.Value.Scheme, "bearer") {
						continue ops
					}
					plan.scheme, plan.schemeName, plan.scopes = ref.Value, name, scopes
				}
			default:
				continue ops
			}
			v.plans[op] = plan
		}
	}
}

// fastRequest reports whether the request surely passes kin-openapi's
// ValidateRequest, checking what it checks — parameters, body (fastBody
// already said yes, or the operation has none) and security, through the
// same AuthenticationFunc, called last — without decoding anything again.
// False means "let kin-openapi validate it", which then gives the verdict
// and the error (and calls the AuthenticationFunc itself).
func (v *Validator) fastRequest(ctx context.Context, input *openapi3filter.RequestValidationInput, query url.Values, bodyOK bool) bool {
	return v.fastRequestAt(ctx, input, nil, "", query, bodyOK)
}

// fastRequestAt is fastRequest reading the path parameters from path
// (the request's path without its base), which t matches, when t is not
// nil, instead of from input.PathParams.
func (v *Validator) fastRequestAt(ctx context.Context, input *openapi3filter.RequestValidationInput,
	t *pathTemplate, path string, query url.Values, bodyOK bool) bool {
	op := input.Route.Operation
	plan := v.plans[op]
	if plan == nil || (op.RequestBody != nil && !bodyOK) {
		return false
	}
	for _, pp := range plan.params {
		var values []string
		switch pp.p.In {
		case openapi3.ParameterInPath:
			var one [1]string
			var ok bool
			if t != nil {
				one[0], ok = t.value(path, pp.p.Name)
			} else {
				one[0], ok = input.PathParams[pp.p.Name]
			}
			if ok {
				values = one[:]
			}
		case openapi3.ParameterInQuery:
			values = query[pp.p.Name]
		case openapi3.ParameterInHeader:
			values = input.Request.Header[pp.header] // as Header.Values(pp.p.Name)
		}
		if len(values) == 0 {
			if pp.p.Required {
				return false
			}
			continue
		}
		s := values[0]
		if len(values) > 1 || s == "" || strings.IndexByte(s, '%') >= 0 {
			return false
		}
		var ok bool
		switch pp.typ {
		case "string":
			ok = pp.node.okStringValue(s, v.reqOpts)
		case "integer":
			n, isNum := decimal(s)
			ok = isNum && pp.node.okNumberValue(n, v.reqOpts)
		case "boolean":
			ok = (s == "true" || s == "false") && pp.node.ok(s == "true", v.reqOpts)
		}
		if !ok {
			return false
		}
	}
	if plan.noAuth {
		return true
	}
	// What v.authenticate, the AuthenticationFunc kin-openapi calls,
	// checks, without building its input.
	return v.checkBearer(ctx, input.Request.Header) == nil
}

// okStringValue is n.ok(s, opts) without boxing s.
func (n *schemaNode) okStringValue(s string, opts []openapi3.SchemaValidationOption) bool {
	if n.delegate != nil || len(n.allOf) > 0 {
		return n.ok(s, opts)
	}
	if n.typ != "string" && (n.typ != "" || n.hasContent) {
		return false
	}
	if n.enum != nil && !n.enum[s] {
		return false
	}
	if n.minLength > 0 || n.maxLength != math.MaxUint64 {
		l := uint64(utf8.RuneCountInString(s))
		return l >= n.minLength && l <= n.maxLength
	}
	return true
}

// okNumberValue is n.ok(f, opts) without boxing f.
func (n *schemaNode) okNumberValue(f float64, opts []openapi3.SchemaValidationOption) bool {
	if n.delegate != nil || len(n.allOf) > 0 {
		return n.ok(f, opts)
	}
	return n.okNumber(f)
}

// decimal parses an optionally negative run of at most 15 decimal digits.
func decimal(s string) (float64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 15 {
		return 0, false
	}
	var n float64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + float64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
