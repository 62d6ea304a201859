// Package overlay applies an OpenAPI Overlay document to an OpenAPI document.
// It supports the part of Overlay 1.0.0 the reference profile uses: targets
// written as JSONPath of member names ($.a.b['c/d'], unions ['a','b'] and
// `*` wildcards), `update` (objects merge recursively, arrays append,
// scalars replace) and `remove: true`.
package overlay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/oasdiff/yaml"
)

// Document is a parsed Overlay document.
type Document struct {
	Overlay    string         `json:"overlay"`
	Extensions map[string]any `json:"-"`
	Actions    []Action       `json:"actions"`
}

// Action is one overlay action.
type Action struct {
	Target      string `json:"target"`
	Description string `json:"description,omitempty"`
	Update      any    `json:"update,omitempty"`
	Remove      bool   `json:"remove,omitempty"`
}

// Parse reads an Overlay document (YAML or JSON). It returns an error when
// the document does not parse, is not an Overlay 1.x document, or an action
// has an unparseable target or neither update nor remove.
func Parse(data []byte) (*Document, error) {
	raw, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("overlay: parse: %w", err)
	}
	var doc Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("overlay: decode: %w", err)
	}
	if !strings.HasPrefix(doc.Overlay, "1.") {
		return nil, fmt.Errorf("overlay: unsupported overlay version %q", doc.Overlay)
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("overlay: decode: %w", err)
	}
	doc.Extensions = map[string]any{}
	for k, v := range all {
		if strings.HasPrefix(k, "x-") {
			doc.Extensions[k] = v
		}
	}
	for i, a := range doc.Actions {
		if _, err := parsePath(a.Target); err != nil {
			return nil, fmt.Errorf("overlay: action %d: %w", i, err)
		}
		if a.Update == nil && !a.Remove {
			return nil, fmt.Errorf("overlay: action %d (%s): neither update nor remove", i, a.Target)
		}
	}
	return &doc, nil
}

// Apply applies the overlay to spec (YAML or JSON) and returns the result
// as JSON. It returns an error when spec does not parse or an action's
// target matches nothing.
func (d *Document) Apply(spec []byte) ([]byte, error) {
	raw, err := yaml.YAMLToJSON(spec)
	if err != nil {
		return nil, fmt.Errorf("overlay: parse spec: %w", err)
	}
	var root any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("overlay: decode spec: %w", err)
	}
	for i, a := range d.Actions {
		path, _ := parsePath(a.Target) // checked by Parse
		n := 0
		root = walk(root, path, func(node any) (any, bool) {
			n++
			if a.Remove {
				return nil, false
			}
			return merge(node, a.Update), true
		})
		if n == 0 {
			return nil, fmt.Errorf("overlay: action %d: target %s matches nothing", i, a.Target)
		}
	}
	out, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("overlay: encode: %w", err)
	}
	return out, nil
}

// walk applies f to every node path selects below node and returns node
// with the results in place; f's false result removes the node.
func walk(node any, path [][]string, f func(any) (any, bool)) any {
	if len(path) == 0 {
		v, _ := f(node)
		return v
	}
	m, ok := node.(map[string]any)
	if !ok {
		return node
	}
	names := path[0]
	if len(names) == 1 && names[0] == "*" {
		names = names[:0:0]
		for k := range m {
			names = append(names, k)
		}
	}
	for _, name := range names {
		child, ok := m[name]
		if !ok {
			continue
		}
		if len(path) == 1 {
			if v, keep := f(child); keep {
				m[name] = v
			} else {
				delete(m, name)
			}
			continue
		}
		m[name] = walk(child, path[1:], f)
	}
	return m
}

// merge returns target updated with update: objects merge recursively,
// arrays append, anything else is replaced.
func merge(target, update any) any {
	switch u := update.(type) {
	case map[string]any:
		t, ok := target.(map[string]any)
		if !ok {
			return u
		}
		for k, v := range u {
			if old, ok := t[k]; ok {
				t[k] = merge(old, v)
			} else {
				t[k] = v
			}
		}
		return t
	case []any:
		if t, ok := target.([]any); ok {
			return append(t, u...)
		}
		return u
	default:
		return u
	}
}

var errPath = errors.New("target must be a JSONPath of member names starting with $")

// parsePath splits a target into segments, each a list of member names
// (more than one for a union, "*" for every member).
func parsePath(target string) ([][]string, error) {
	if !strings.HasPrefix(target, "$") {
		return nil, fmt.Errorf("%w: %q", errPath, target)
	}
	s := target[1:]
	var path [][]string
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return nil, fmt.Errorf("%w: empty name in %q", errPath, target)
			}
			path = append(path, []string{s[:end]})
			s = s[end:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("%w: unclosed [ in %q", errPath, target)
			}
			var names []string
			for _, part := range strings.Split(s[1:end], ",") {
				part = strings.TrimSpace(part)
				if part == "*" {
					names = append(names, part)
					continue
				}
				if len(part) < 2 || (part[0] != '\'' && part[0] != '"') || part[len(part)-1] != part[0] {
					return nil, fmt.Errorf("%w: %q is not a quoted name in %q", errPath, part, target)
				}
				names = append(names, part[1:len(part)-1])
			}
			path = append(path, names)
			s = s[end+1:]
		default:
			return nil, fmt.Errorf("%w: unexpected %q in %q", errPath, s[0], target)
		}
	}
	return path, nil
}
