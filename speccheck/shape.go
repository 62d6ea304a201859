package speccheck

import (
	"encoding/json"
	"fmt"
	"slices"
)

// shape is a schema normalised for comparison.
type shape struct {
	types     []string // sorted, without "null"; empty means any type
	nullable  bool
	enum      []string // canonical JSON of the non-null values, sorted; nil: no enum
	def       *string  // canonical JSON of the default; nil: none
	props     map[string]*shape
	required  map[string]bool
	items     *shape
	variants  []*shape // anyOf/oneOf branches, bar a null branch
	recursive string   // a $ref met again while expanding itself
}

func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// shape normalises the schema node; stack holds the $refs being expanded.
func (d *genericDoc) shape(node any, stack []string) *shape {
	s := &shape{props: map[string]*shape{}, required: map[string]bool{}}
	m, ok := node.(map[string]any)
	if !ok {
		return s // a boolean schema or none: any value
	}
	addType := func(t string) {
		if t == "null" {
			s.nullable = true
		} else {
			s.types = append(s.types, t)
		}
	}
	switch t := m["type"].(type) {
	case string:
		addType(t)
	case []any:
		for _, x := range t {
			if str, ok := x.(string); ok {
				addType(str)
			}
		}
	}
	if m["nullable"] == true {
		s.nullable = true
	}
	if values, ok := m["enum"].([]any); ok {
		s.enum = []string{}
		for _, v := range values {
			if v == nil {
				s.nullable = true
			} else {
				s.enum = append(s.enum, canonical(v))
			}
		}
	}
	if c, ok := m["const"]; ok {
		if c == nil {
			s.nullable = true
		} else {
			s.enum = []string{canonical(c)}
		}
	}
	if def, ok := m["default"]; ok {
		c := canonical(def)
		s.def = &c
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for name, p := range props {
			s.props[name] = d.shape(p, stack)
		}
	}
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				s.required[name] = true
			}
		}
	}
	if items, ok := m["items"]; ok {
		s.items = d.shape(items, stack)
	}
	if ref, ok := m["$ref"].(string); ok {
		switch target, err := d.lookup(ref); {
		case slices.Contains(stack, ref) || len(stack) > 64:
			s.recursive = ref
		case err != nil:
			s.merge(&shape{types: []string{"unresolved " + ref}})
		default:
			s.merge(d.shape(target, append(slices.Clone(stack), ref)))
		}
	}
	if all, ok := m["allOf"].([]any); ok {
		for _, member := range all {
			s.merge(d.shape(member, stack))
		}
	}
	var branches []*shape
	for _, key := range []string{"anyOf", "oneOf"} {
		list, _ := m[key].([]any)
		for _, b := range list {
			if branch := d.shape(b, stack); branch.isNull() {
				s.nullable = true
			} else {
				branches = append(branches, branch)
			}
		}
	}
	if len(branches) == 1 {
		s.merge(branches[0])
	} else {
		s.variants = append(s.variants, branches...)
	}
	if len(s.types) == 0 && len(s.props) > 0 {
		s.types = []string{"object"}
	}
	if len(s.types) == 0 && s.items != nil {
		s.types = []string{"array"}
	}
	slices.Sort(s.types)
	s.types = slices.Compact(s.types)
	slices.Sort(s.enum)
	s.enum = slices.Compact(s.enum)
	return s
}

func (s *shape) isNull() bool {
	return s.nullable && len(s.types) == 0 && len(s.props) == 0 && s.items == nil &&
		s.enum == nil && len(s.variants) == 0 && s.recursive == ""
}

// merge adds what o says and s does not (allOf members, $ref targets,
// a single non-null anyOf/oneOf branch).
func (s *shape) merge(o *shape) {
	if len(s.types) == 0 {
		s.types = o.types
	}
	s.nullable = s.nullable || o.nullable
	if s.enum == nil {
		s.enum = o.enum
	}
	if s.def == nil {
		s.def = o.def
	}
	for name, p := range o.props {
		if mine, ok := s.props[name]; ok {
			mine.merge(p)
		} else {
			s.props[name] = p
		}
	}
	for name := range o.required {
		s.required[name] = true
	}
	if s.items == nil {
		s.items = o.items
	} else if o.items != nil {
		s.items.merge(o.items)
	}
	s.variants = append(s.variants, o.variants...)
	if s.recursive == "" {
		s.recursive = o.recursive
	}
}
