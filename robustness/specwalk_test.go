package robustness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// The spec walk generates its cases from the loaded OpenAPI document: for
// each property of a request body schema and each query parameter it
// iterates type, nullable, enum, minimum/maximum, minLength/maxLength and
// pattern, and derives the invalid values (which must be refused with the
// documented code, changing nothing) and the valid ones (which must be
// accepted and answered per the spec).

// Kinds of generated cases.
const (
	kindWrongType   = "wrong-type"
	kindNull        = "null"
	kindNotInEnum   = "not-in-enum"
	kindBelowMin    = "below-minimum"
	kindAboveMax    = "above-maximum"
	kindEmpty       = "empty"
	kindTooShort    = "too-short"
	kindTooLong     = "too-long"
	kindPattern     = "pattern-mismatch"
	kindUnknown     = "unknown"
	kindOtherCase   = "other-case"
	kindInvalidUTF8 = "invalid-utf8"
	kindMissing     = "missing"
	kindNotObject   = "not-an-object"
	kindAbsent      = "absent"
	kindValue       = "value"
	kindNullable    = "nullable-null"
)

// specCase is one generated request and what must come of it.
type specCase struct {
	name  string
	kind  string
	param string // the property or parameter the case is about
	valid bool
	// body is the raw request body (body operations); query the raw query
	// (listApiKeys).
	body  []byte
	query string
	// For an invalid case: the status, code and blamed parameter expected
	// ("" when the envelope need not name one).
	status    int
	code      spotzee.Code
	wantParam string
	// For a valid case: the properties sent and their values.
	sent map[string]any
}

// specOperation returns the operation with id from the validator's document.
func specOperation(tb testing.TB, id string) *openapi3.Operation {
	tb.Helper()
	// The reference server implements the reference profile.
	v, err := validate.Reference()
	require.NoError(tb, err)
	for _, item := range v.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == id {
				return op
			}
		}
	}
	tb.Fatalf("no operation %s in the spec", id)
	return nil
}

// prop returns the schema of property name of s, a single-member allOf
// (openapi.yaml's way to give a $ref a default) resolved to its member with
// the default kept.
func prop(s *openapi3.Schema, name string) *openapi3.Schema {
	ps := s.Properties[name].Value
	if len(ps.AllOf) != 1 || ps.Type != nil {
		return ps
	}
	member := *ps.AllOf[0].Value
	if ps.Default != nil {
		member.Default = ps.Default
	}
	return &member
}

// bodySchema returns the application/json request body schema of op.
func bodySchema(tb testing.TB, op *openapi3.Operation) *openapi3.Schema {
	tb.Helper()
	require.NotNil(tb, op.RequestBody)
	mt := op.RequestBody.Value.Content.Get("application/json")
	require.NotNil(tb, mt)
	require.NotNil(tb, mt.Schema.Value)
	return mt.Schema.Value
}

func isType(s *openapi3.Schema, typ string) bool { return s.Type != nil && s.Type.Is(typ) }

// labelled is a value with what it exercises.
type labelled struct {
	label string
	value any
}

// validValues returns the values a schema documents as valid: example,
// default, every enum value, the length and range boundaries, and for a
// pattern every string of its (finite) language.
func validValues(s *openapi3.Schema) []labelled {
	var out []labelled
	seen := map[string]bool{}
	add := func(label string, v any) {
		key := fmt.Sprintf("%T:%v", v, v)
		if v == nil || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, labelled{label, v})
	}
	add("example", s.Example)
	add("default", s.Default)
	for _, e := range s.Enum {
		add(fmt.Sprintf("enum=%v", e), e)
	}
	if isType(s, "string") {
		if s.Pattern != "" {
			if lang, ok := patternLanguage(s.Pattern, 64); ok {
				for _, w := range lang {
					add("pattern="+w, w)
				}
			}
		}
		if len(s.Enum) == 0 && s.Pattern == "" {
			add("minLength", strings.Repeat("a", max(int(s.MinLength), 1)))
			if s.MaxLength != nil {
				add("maxLength", strings.Repeat("a", int(*s.MaxLength)))
				// Lengths count characters, not bytes.
				add("maxLength-multibyte", strings.Repeat("é", int(*s.MaxLength)))
			}
		}
	}
	if isType(s, "integer") || isType(s, "number") {
		if s.Min != nil {
			add("minimum", int64(*s.Min))
		}
		if s.Max != nil {
			add("maximum", int64(*s.Max))
		}
	}
	if isType(s, "boolean") {
		add("true", true)
		add("false", false)
	}
	return out
}

// wrongTypeValues returns values of JSON types the schema does not permit.
func wrongTypeValues(s *openapi3.Schema) []labelled {
	var out []labelled
	for _, c := range []struct {
		typ   string
		label string
		value any
	}{
		{"string", "number", 12345},
		{"string", "boolean", true},
		{"integer", "string", "12"},
		{"integer", "fraction", 1.5},
		{"boolean", "string", "true"},
		{"object", "array", []any{}},
		{"array", "object", map[string]any{}},
	} {
		if isType(s, c.typ) && !(c.typ == "integer" && isType(s, "number") && c.label == "fraction") {
			out = append(out, labelled{c.label, c.value})
		}
	}
	return out
}

// wrongQueryValues returns query strings that do not parse as the schema's
// type (every query value is a string on the wire).
func wrongQueryValues(s *openapi3.Schema) []labelled {
	var out []labelled
	switch {
	case isType(s, "integer"):
		out = append(out, labelled{"letters", "abc"}, labelled{"fraction", "1.5"})
	case isType(s, "number"):
		out = append(out, labelled{"letters", "abc"})
	case isType(s, "boolean"):
		out = append(out, labelled{"word", "maybe"})
	}
	return out
}

// notInEnum returns values of the right type outside the schema's enum.
func notInEnum(s *openapi3.Schema) []labelled {
	if len(s.Enum) == 0 {
		return nil
	}
	in := func(v any) bool {
		for _, e := range s.Enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				return true
			}
		}
		return false
	}
	var out []labelled
	if first, ok := s.Enum[0].(string); ok {
		for _, c := range []labelled{{"upper-case", strings.ToUpper(first)}, {"unknown", "not_a_" + first}, {"padded", " " + first}} {
			if !in(c.value) {
				out = append(out, c)
			}
		}
	}
	return out
}

// notMatching returns strings the schema's pattern rejects.
func notMatching(s *openapi3.Schema) []labelled {
	if s.Pattern == "" {
		return nil
	}
	re := regexp.MustCompile(s.Pattern)
	var out []labelled
	cands := []labelled{{"punctuation", "!"}}
	if lang, ok := patternLanguage(s.Pattern, 64); ok && len(lang) > 0 {
		cands = append(cands, labelled{"upper-case", strings.ToUpper(lang[len(lang)-1])},
			labelled{"suffixed", lang[len(lang)-1] + "x"})
	}
	for _, c := range cands {
		if !re.MatchString(c.value.(string)) {
			out = append(out, c)
		}
	}
	return out
}

// patternLanguage returns every string a regular expression matches when
// that language is finite and has at most limit strings.
func patternLanguage(pattern string, limit int) ([]string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	var walk func(*syntax.Regexp) ([]string, bool)
	walk = func(r *syntax.Regexp) ([]string, bool) {
		switch r.Op {
		case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
			return []string{""}, true
		case syntax.OpLiteral:
			return []string{string(r.Rune)}, true
		case syntax.OpCapture:
			return walk(r.Sub[0])
		case syntax.OpQuest:
			sub, ok := walk(r.Sub[0])
			return append([]string{""}, sub...), ok
		case syntax.OpCharClass:
			var out []string
			for i := 0; i+1 < len(r.Rune); i += 2 {
				for c := r.Rune[i]; c <= r.Rune[i+1]; c++ {
					if len(out) >= limit {
						return nil, false
					}
					out = append(out, string(c))
				}
			}
			return out, true
		case syntax.OpAlternate:
			var out []string
			for _, s := range r.Sub {
				sub, ok := walk(s)
				if !ok {
					return nil, false
				}
				out = append(out, sub...)
			}
			return out, len(out) <= limit
		case syntax.OpConcat:
			out := []string{""}
			for _, s := range r.Sub {
				sub, ok := walk(s)
				if !ok {
					return nil, false
				}
				var next []string
				for _, a := range out {
					for _, b := range sub {
						next = append(next, a+b)
					}
				}
				if len(next) > limit {
					return nil, false
				}
				out = next
			}
			return out, true
		}
		return nil, false
	}
	out, ok := walk(re)
	if !ok {
		return nil, false
	}
	slices.Sort(out)
	return slices.Compact(out), true
}

// otherCases returns the spellings of name in another letter case.
func otherCases(name string) []string {
	var out []string
	for _, c := range []string{strings.ToUpper(name), strings.ToUpper(name[:1]) + name[1:]} {
		if c != name && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func marshal(tb testing.TB, v any) []byte {
	tb.Helper()
	data, err := json.Marshal(v)
	require.NoError(tb, err)
	return data
}

// bodyCases walks an object schema.
func bodyCases(tb testing.TB, s *openapi3.Schema) []specCase {
	tb.Helper()
	require.True(tb, isType(s, "object"))
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	base := map[string]any{}
	for _, name := range s.Required {
		vals := validValues(prop(s, name))
		require.NotEmpty(tb, vals, "no valid value for required %s", name)
		base[name] = vals[0].value
	}
	with := func(k string, v any, drop string) map[string]any {
		m := map[string]any{}
		for bk, bv := range base {
			if bk != drop {
				m[bk] = bv
			}
		}
		if k != "" {
			m[k] = v
		}
		return m
	}
	var out []specCase
	invalid := func(prop, kind, label string, body []byte, status int, code spotzee.Code, wantParam string) {
		name := prop + "/" + kind
		if label != "" {
			name += "/" + label
		}
		out = append(out, specCase{name: name, kind: kind, param: prop, body: body, status: status, code: code, wantParam: wantParam})
	}
	valid := func(prop, kind, label string, sent map[string]any) {
		name := prop + "/" + kind
		if label != "" {
			name += "/" + label
		}
		out = append(out, specCase{name: name, kind: kind, param: prop, valid: true, body: marshal(tb, sent), sent: sent})
	}
	const (
		unprocessable = http.StatusUnprocessableEntity
		bad           = http.StatusBadRequest
	)
	for _, name := range names {
		ps := prop(s, name)
		required := slices.Contains(s.Required, name)
		for _, w := range wrongTypeValues(ps) {
			invalid(name, kindWrongType, w.label, marshal(tb, with(name, w.value, "")), unprocessable, spotzee.CodeValidationFailed, name)
		}
		if !ps.Nullable {
			invalid(name, kindNull, "", marshal(tb, with(name, nil, "")), unprocessable, spotzee.CodeValidationFailed, name)
		}
		for _, e := range notInEnum(ps) {
			invalid(name, kindNotInEnum, e.label, marshal(tb, with(name, e.value, "")), unprocessable, spotzee.CodeValidationFailed, name)
		}
		if isType(ps, "integer") || isType(ps, "number") {
			if ps.Min != nil {
				invalid(name, kindBelowMin, "", marshal(tb, with(name, int64(*ps.Min)-1, "")), unprocessable, spotzee.CodeValidationFailed, name)
			}
			if ps.Max != nil {
				invalid(name, kindAboveMax, "", marshal(tb, with(name, int64(*ps.Max)+1, "")), unprocessable, spotzee.CodeValidationFailed, name)
			}
		}
		if isType(ps, "string") {
			if ps.MinLength >= 1 {
				invalid(name, kindEmpty, "", marshal(tb, with(name, "", "")), bad, spotzee.CodeParameterInvalidEmpty, name)
			}
			if ps.MinLength >= 2 {
				invalid(name, kindTooShort, "", marshal(tb, with(name, strings.Repeat("a", int(ps.MinLength)-1), "")), unprocessable, spotzee.CodeValidationFailed, name)
			}
			if ps.MaxLength != nil && len(ps.Enum) == 0 {
				invalid(name, kindTooLong, "", marshal(tb, with(name, strings.Repeat("a", int(*ps.MaxLength)+1), "")), unprocessable, spotzee.CodeValidationFailed, name)
				invalid(name, kindTooLong, "multibyte", marshal(tb, with(name, strings.Repeat("é", int(*ps.MaxLength)+1), "")), unprocessable, spotzee.CodeValidationFailed, name)
			}
			for _, m := range notMatching(ps) {
				invalid(name, kindPattern, m.label, marshal(tb, with(name, m.value, "")), unprocessable, spotzee.CodeValidationFailed, name)
			}
			// Raw bytes that are not UTF-8 inside the string value.
			okValue := validValues(ps)[0].value.(string)
			raw := bytes.Replace(marshal(tb, with(name, okValue+"\x01MARK\x01", "")), []byte(`\u0001MARK\u0001`), []byte("\xff\xfe"), 1)
			invalid(name, kindInvalidUTF8, "", raw, bad, spotzee.CodeParameterInvalidFormat, "")
		}
		for _, other := range otherCases(name) {
			if _, declared := s.Properties[other]; declared {
				continue
			}
			vals := validValues(ps)
			require.NotEmpty(tb, vals, "no valid value for %s", name)
			invalid(name, kindOtherCase, other, marshal(tb, with(other, vals[0].value, "")), bad, spotzee.CodeParameterUnknown, other)
		}
		if required {
			invalid(name, kindMissing, "", marshal(tb, with("", nil, name)), bad, spotzee.CodeParameterMissing, name)
		} else {
			valid(name, kindAbsent, "", with("", nil, ""))
		}
		for _, v := range validValues(ps) {
			valid(name, kindValue, v.label, with(name, v.value, ""))
		}
		if ps.Nullable {
			valid(name, kindNullable, "", with(name, nil, ""))
		}
	}
	if ap := s.AdditionalProperties; ap.Has != nil && !*ap.Has {
		const unknown = "x_unknown_field"
		require.NotContains(tb, names, unknown)
		invalid("(object)", kindUnknown, "", marshal(tb, with(unknown, "x", "")), bad, spotzee.CodeParameterUnknown, unknown)
	}
	invalid("(object)", kindNotObject, "array", []byte(`[]`), unprocessable, spotzee.CodeValidationFailed, "body")
	invalid("(object)", kindNotObject, "string", []byte(`"x"`), unprocessable, spotzee.CodeValidationFailed, "body")
	return out
}

// requireKinds fails when the walk produced no case of some kind: the
// walker would then test less than the spec declares.
func requireKinds(tb testing.TB, cases []specCase, kinds ...string) {
	tb.Helper()
	have := map[string]bool{}
	for _, c := range cases {
		have[c.kind] = true
	}
	for _, k := range kinds {
		require.True(tb, have[k], "the spec walk generated no %q case", k)
	}
}

// checkRefused asserts an invalid case's problem.
func checkRefused(t *testing.T, c specCase, res result, p *problemBody) {
	t.Helper()
	require.NotNil(t, p, "%s accepted (%d): %s", c.name, res.status, res.body)
	require.Equal(t, c.status, res.status, "%s", res.body)
	require.Equal(t, string(c.code), p.Code, "%s", res.body)
	if c.code == spotzee.CodeValidationFailed {
		var params []string
		for _, fe := range p.Errors {
			params = append(params, fe.Param)
		}
		require.Contains(t, params, c.wantParam, "errors[] does not name %s: %s", c.wantParam, res.body)
	} else if c.wantParam != "" {
		require.Equal(t, c.wantParam, p.Param, "%s", res.body)
	}
}

func TestSpecWalkCreate(t *testing.T) {
	t.Parallel()
	op := specOperation(t, "createProjectApiKey")
	s := bodySchema(t, op)
	cases := bodyCases(t, s)
	requireKinds(t, cases, kindWrongType, kindNull, kindNotInEnum, kindEmpty, kindTooLong, kindInvalidUTF8,
		kindOtherCase, kindMissing, kindUnknown, kindNotObject, kindAbsent, kindValue, kindNullable)
	h := newHarness(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := call{method: http.MethodPost, target: "/keys", header: jsonHeader(h.admin), body: c.body}
			before := h.snapshot(t)
			res := h.do(t, req)
			p := h.check(t, req, res)
			after := h.snapshot(t)
			if !c.valid {
				checkRefused(t, c, res, p)
				require.Equal(t, before, after, "a refused create changed the keys")
				return
			}
			require.Nil(t, p, "%s refused: %s", c.name, res.body)
			require.Equal(t, http.StatusOK, res.status)
			require.Equal(t, before.live()+1, after.live())
			got := map[string]any{}
			require.NoError(t, json.Unmarshal(res.body, &got))
			for name, ps := range s.Properties {
				sent, isSent := c.sent[name]
				switch {
				case isSent:
					require.Equal(t, jsonValue(t, sent), got[name], "%s echoed", name)
				case ps.Value.Default != nil:
					require.Equal(t, ps.Value.Default, got[name], "default of %s", name)
				case ps.Value.Nullable:
					require.Nil(t, got[name], "absent %s", name)
				}
			}
			h.checkCreated(t, c.body, decode[apiKeyJSON](t, res.body))
		})
	}
}

func TestSpecWalkUpdate(t *testing.T) {
	t.Parallel()
	op := specOperation(t, "updateProjectApiKey")
	s := bodySchema(t, op)
	cases := bodyCases(t, s)
	requireKinds(t, cases, kindWrongType, kindNull, kindNotInEnum, kindEmpty, kindTooLong, kindInvalidUTF8,
		kindOtherCase, kindUnknown, kindNotObject, kindAbsent, kindValue, kindNullable)
	h := newHarness(t)
	desc := "walk target"
	target := h.addKey(t, keys.CreateInput{Name: "update walk", Description: &desc, Role: spotzee.RoleEditor}).Key
	path := fmt.Sprintf("/keys/%d", target.ID)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := call{method: http.MethodPatch, target: path, header: jsonHeader(h.admin), body: c.body}
			before := h.snapshot(t)
			res := h.do(t, req)
			p := h.check(t, req, res)
			after := h.snapshot(t)
			if !c.valid {
				checkRefused(t, c, res, p)
				require.Equal(t, before, after, "a refused update changed the keys")
				return
			}
			require.Nil(t, p, "%s refused: %s", c.name, res.body)
			require.Equal(t, http.StatusOK, res.status)
			got := map[string]any{}
			require.NoError(t, json.Unmarshal(res.body, &got))
			for name, sent := range c.sent {
				require.Equal(t, jsonValue(t, sent), got[name], "%s", name)
			}
			h.checkUpdated(t, c.body, before.key(t, target.ID), decode[apiKeyJSON](t, res.body))
		})
	}
}

// jsonValue is v as it reads back from JSON.
func jsonValue(tb testing.TB, v any) any {
	tb.Helper()
	var out any
	require.NoError(tb, json.Unmarshal(marshal(tb, v), &out))
	return out
}

// queryCases walks the query parameters of op. opaque supplies a valid value
// for a parameter whose schema cannot produce one (an opaque cursor).
func queryCases(tb testing.TB, op *openapi3.Operation, opaque map[string]string) []specCase {
	tb.Helper()
	var out []specCase
	var params []*openapi3.Parameter
	for _, ref := range op.Parameters {
		if ref.Value.In == openapi3.ParameterInQuery {
			params = append(params, ref.Value)
		}
	}
	require.NotEmpty(tb, params)
	sort.Slice(params, func(i, j int) bool { return params[i].Name < params[j].Name })
	declared := map[string]bool{}
	for _, p := range params {
		declared[p.Name] = true
	}
	add := func(c specCase) {
		if c.name == "" {
			c.name = c.param + "/" + c.kind
		}
		out = append(out, c)
	}
	encode := func(name, value string) string { return url.Values{name: {value}}.Encode() }
	bad := func(p, kind, label, value string, code spotzee.Code) {
		name := p + "/" + kind
		if label != "" {
			name += "/" + label
		}
		add(specCase{name: name, kind: kind, param: p, query: encode(p, value), status: http.StatusBadRequest, code: code, wantParam: p})
	}
	for _, p := range params {
		ps := p.Schema.Value
		for _, w := range wrongQueryValues(ps) {
			bad(p.Name, kindWrongType, w.label, w.value.(string), spotzee.CodeParameterInvalidFormat)
		}
		for _, e := range notInEnum(ps) {
			bad(p.Name, kindNotInEnum, e.label, fmt.Sprint(e.value), spotzee.CodeParameterInvalidFormat)
		}
		if isType(ps, "integer") || isType(ps, "number") {
			if ps.Min != nil {
				bad(p.Name, kindBelowMin, "", strconv.FormatInt(int64(*ps.Min)-1, 10), spotzee.CodeParameterInvalidFormat)
			}
			if ps.Max != nil {
				bad(p.Name, kindAboveMax, "", strconv.FormatInt(int64(*ps.Max)+1, 10), spotzee.CodeParameterInvalidFormat)
			}
		}
		okValue, hasOK := opaque[p.Name]
		if vals := validValues(ps); !hasOK && len(vals) > 0 {
			okValue, hasOK = fmt.Sprint(vals[0].value), true
		}
		if isType(ps, "string") {
			if ps.MinLength >= 1 {
				bad(p.Name, kindEmpty, "", "", spotzee.CodeParameterInvalidEmpty)
			}
			if ps.MinLength >= 2 {
				bad(p.Name, kindTooShort, "", strings.Repeat("a", int(ps.MinLength)-1), spotzee.CodeParameterInvalidFormat)
			}
			if ps.MaxLength != nil {
				bad(p.Name, kindTooLong, "", strings.Repeat("a", int(*ps.MaxLength)+1), spotzee.CodeParameterInvalidFormat)
			}
			for _, m := range notMatching(ps) {
				bad(p.Name, kindPattern, m.label, m.value.(string), spotzee.CodeParameterInvalidFormat)
			}
			if hasOK {
				bad(p.Name, kindInvalidUTF8, "", okValue+"\xff", spotzee.CodeParameterInvalidFormat)
			}
		}
		for _, other := range otherCases(p.Name) {
			if declared[other] || !hasOK {
				continue
			}
			add(specCase{name: p.Name + "/" + kindOtherCase + "/" + other, kind: kindOtherCase, param: p.Name,
				query: encode(other, okValue), status: http.StatusBadRequest, code: spotzee.CodeParameterUnknown, wantParam: other})
		}
		// Valid: each parameter present with each documented value, alone.
		vals := validValues(ps)
		if v, ok := opaque[p.Name]; ok {
			vals = []labelled{{"opaque", v}}
		}
		for _, v := range vals {
			add(specCase{name: p.Name + "/" + kindValue + "/" + v.label, kind: kindValue, param: p.Name, valid: true,
				query: encode(p.Name, fmt.Sprint(v.value)), sent: map[string]any{p.Name: v.value}})
		}
	}
	add(specCase{name: "(query)/" + kindUnknown, kind: kindUnknown, param: "x_unknown", query: "x_unknown=1",
		status: http.StatusBadRequest, code: spotzee.CodeParameterUnknown, wantParam: "x_unknown"})
	add(specCase{name: "(query)/" + kindAbsent, kind: kindAbsent, valid: true, query: ""})
	return out
}

func TestSpecWalkListQuery(t *testing.T) {
	t.Parallel()
	op := specOperation(t, "listProjectApiKeys")
	h := newHarness(t)
	revoked := listFixture(t, h)
	first := h.do(t, call{method: http.MethodGet, target: "/keys?limit=5", header: jsonHeader(h.admin)})
	require.Equal(t, http.StatusOK, first.status)
	page := decode[pageJSON](t, first.body)
	require.NotNil(t, page.NextCursor)
	// A cursor is opaque: the schema cannot produce a valid one, a page can.
	cases := queryCases(t, op, map[string]string{"cursor": *page.NextCursor})
	// Documented exception: limit=0 lies in the schema's range but is not a
	// page size (see the listApiKeys description).
	cases = append(cases, specCase{name: "limit/documented-exception/zero", kind: "documented-exception", param: "limit", query: "limit=0",
		status: http.StatusBadRequest, code: spotzee.CodeParameterInvalidFormat, wantParam: "limit"})
	requireKinds(t, cases, kindWrongType, kindNotInEnum, kindBelowMin, kindAboveMax, kindEmpty, kindTooLong,
		kindPattern, kindInvalidUTF8, kindOtherCase, kindUnknown, kindValue, kindAbsent)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := url.ParseQuery(c.query)
			require.NoError(t, err)
			// listAndFollow checks the page (limit, order, q) and that the
			// request changed nothing.
			res, p := h.listAndFollow(t, v, revoked)
			if !c.valid {
				checkRefused(t, c, res, p)
				return
			}
			require.Nil(t, p, "%s refused: %s", c.name, res.body)
		})
	}
}
