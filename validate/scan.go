package validate

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// jsonScan checks JSON bytes against a compiled schema without decoding
// them into an any tree first: the same verdicts as schemaNode.ok on the
// decoded value, and, like it, it only accepts — anything unusual (an
// escaped string, a syntax it does not take, deep nesting) is "no", and the
// caller asks kin-openapi. A node with a delegate gets its value decoded
// and checked by kin-openapi's schema code.
type jsonScan struct {
	b     []byte
	i     int
	depth int
	opts  []openapi3.SchemaValidationOption
	// strict is set for request bodies handed on as they are (scanRequestOK).
	strict bool
}

// maxScanMembers bounds the members of one object a strict scan tracks
// for duplicates; an object with more goes to the decoded path.
const maxScanMembers = 16

// maxScanDepth bounds nesting; deeper bodies go to kin-openapi.
const maxScanDepth = 32

// whole reports whether b is one JSON value that n accepts.
func (n *schemaNode) scanOK(b []byte, opts []openapi3.SchemaValidationOption) bool {
	s := jsonScan{b: b, opts: opts}
	if !s.value(n) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// scanRequestOK reports whether b is one JSON value that n accepts and
// that a handler can be given as it is, with the same meaning as the
// decoded value re-encoded: besides scanOK's checks it says "no" to a
// duplicate member in any object, to a member that differs only in case
// from a declared property (encoding/json would bind it to that field),
// and to null for a top-level property whose schema is not nullable (the
// null check of CheckRequest). n must not be a delegate, so that the top
// level is walked here. Like scanOK, it only accepts.
func (n *schemaNode) scanRequestOK(b []byte, opts []openapi3.SchemaValidationOption) bool {
	if n.delegate != nil {
		return false
	}
	s := jsonScan{b: b, opts: opts, strict: true}
	if !s.value(n) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// nullableSchema reports whether the schema n was compiled from allows null.
func (n *schemaNode) nullableSchema() bool {
	if n.delegate != nil {
		return n.delegate.Nullable
	}
	return n.nullable
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// value checks the value at s.i against n (nil: any valid JSON).
func (s *jsonScan) value(n *schemaNode) bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	if n != nil && n.delegate != nil {
		start := s.i
		if !s.value(nil) {
			return false
		}
		var v any
		if s.strict {
			// As CheckRequest decodes a request body.
			dec := json.NewDecoder(bytes.NewReader(s.b[start:s.i]))
			dec.UseNumber()
			if dec.Decode(&v) != nil {
				return false
			}
		} else if json.Unmarshal(s.b[start:s.i], &v) != nil {
			return false
		}
		return n.delegate.VisitJSON(v, s.opts...) == nil
	}
	if n != nil && len(n.allOf) > 0 {
		start := s.i
		for _, sub := range n.allOf {
			s.i = start
			if !s.value(sub) {
				return false
			}
		}
		s.i = start
	}
	switch c := s.b[s.i]; {
	case c == '"':
		raw, ok := s.str()
		return ok && (n == nil || n.okString(raw))
	case c == '{':
		return s.object(n)
	case c == '[':
		return s.array(n)
	case c == 't':
		return s.lit("true") && (n == nil || n.okBool())
	case c == 'f':
		return s.lit("false") && (n == nil || n.okBool())
	case c == 'n':
		return s.lit("null") && (n == nil || (n.nullable && n.enum == nil))
	case c == '-' || (c >= '0' && c <= '9'):
		f, ok := s.num()
		return ok && (n == nil || n.okNumber(f))
	}
	return false
}

// null reports whether the next value is the literal null.
func (s *jsonScan) null() bool {
	j := s.i
	for j < len(s.b) && (s.b[j] == ' ' || s.b[j] == '\t' || s.b[j] == '\r' || s.b[j] == '\n') {
		j++
	}
	return j < len(s.b) && s.b[j] == 'n'
}

func (s *jsonScan) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// str reads a string without escapes and returns its bytes; a string with
// an escape, a control character or invalid UTF-8 is "no".
func (s *jsonScan) str() ([]byte, bool) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			raw := s.b[start:j]
			return raw, utf8.Valid(raw)
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// num reads a number in JSON's grammar.
func (s *jsonScan) num() (float64, bool) {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return 0, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return 0, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	return f, err == nil
}

func (s *jsonScan) array(n *schemaNode) bool {
	if n != nil && (n.typ != "array" || n.props != nil || len(n.required) > 0 || n.enum != nil) {
		return false
	}
	if s.depth++; s.depth > maxScanDepth {
		return false
	}
	defer func() { s.depth-- }()
	var items *schemaNode
	if n != nil {
		items = n.items
	}
	s.i++ // [
	count := uint64(0)
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
	} else {
		for {
			if !s.value(items) {
				return false
			}
			count++
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == ']' {
				s.i++
				break
			}
			if s.b[s.i] != ',' {
				return false
			}
			s.i++
		}
	}
	return n == nil || (count >= n.minItems && count <= n.maxItems)
}

func (s *jsonScan) object(n *schemaNode) bool {
	if n != nil && (n.typ != "object" || n.items != nil || n.enum != nil || len(n.required) > 64) {
		return false
	}
	if s.depth++; s.depth > maxScanDepth {
		return false
	}
	defer func() { s.depth-- }()
	s.i++ // {
	var seen uint64
	var keys [maxScanMembers][]byte // strict: the members so far
	members := 0
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return false
			}
			key, ok := s.str()
			if !ok {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			if s.strict {
				if members == maxScanMembers {
					return false
				}
				for _, k := range keys[:members] {
					if string(k) == string(key) {
						return false
					}
				}
				keys[members] = key
				members++
			}
			var sub *schemaNode
			if n != nil {
				if f := n.field(key); f != nil {
					sub = f.node
					seen |= f.required
					if s.strict && s.depth == 1 && !sub.nullableSchema() && s.null() {
						return false
					}
				} else if n.noExtra {
					return false
				} else {
					if s.strict {
						for name := range n.props {
							if strings.EqualFold(name, string(key)) {
								return false
							}
						}
					}
					sub = n.extra
					for k, name := range n.required {
						if name == string(key) {
							seen |= 1 << k
						}
					}
				}
			}
			if !s.value(sub) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == '}' {
				s.i++
				break
			}
			if s.b[s.i] != ',' {
				return false
			}
			s.i++
		}
	}
	return n == nil || seen == 1<<len(n.required)-1
}

// A propField is one declared property of an object schema, for the
// scanner: its compiled schema and its bits in the scanner's mask of
// required properties seen (1<<k for each k with required[k] == name).
type propField struct {
	name     string
	node     *schemaNode
	required uint64
}

// maxLinearFields is how many properties field looks up by comparing
// names one by one, faster than hashing for a few short names.
const maxLinearFields = 16

// field returns the declared property named key, or nil.
func (n *schemaNode) field(key []byte) *propField {
	if len(n.fields) <= maxLinearFields {
		for i := range n.fields {
			if n.fields[i].name == string(key) {
				return &n.fields[i]
			}
		}
		return nil
	}
	if i, ok := n.fieldIndex[string(key)]; ok {
		return &n.fields[i]
	}
	return nil
}

// compileFields lists n's properties for field, sorted by name.
func (n *schemaNode) compileFields() {
	if len(n.props) == 0 {
		return
	}
	for name, node := range n.props {
		f := propField{name: name, node: node}
		for k, r := range n.required {
			if r == name && k < 64 {
				f.required |= 1 << k
			}
		}
		n.fields = append(n.fields, f)
	}
	slices.SortFunc(n.fields, func(a, b propField) int { return strings.Compare(a.name, b.name) })
	if len(n.fields) > maxLinearFields {
		n.fieldIndex = map[string]int{}
		for i, f := range n.fields {
			n.fieldIndex[f.name] = i
		}
	}
}

// okString, okNumber and okBool are schemaNode.ok's cases for a string, a
// number and a boolean (allOf and delegate are handled by the caller).
func (n *schemaNode) okString(raw []byte) bool {
	if n.typ != "string" && (n.typ != "" || n.hasContent) {
		return false
	}
	if n.enum != nil && !n.enum[string(raw)] {
		return false
	}
	if n.minLength > 0 || n.maxLength != math.MaxUint64 {
		l := uint64(utf8.RuneCount(raw))
		return l >= n.minLength && l <= n.maxLength
	}
	return true
}

func (n *schemaNode) okNumber(v float64) bool {
	switch n.typ {
	case "integer":
		return v == math.Trunc(v) && v >= n.lo && v <= n.hi && !n.hasContent
	case "number", "":
		return !n.hasContent
	}
	return false
}

func (n *schemaNode) okBool() bool { return (n.typ == "boolean" || n.typ == "") && !n.hasContent }
