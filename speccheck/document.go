package speccheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// genericDoc is an OpenAPI document as decoded JSON, with local $ref lookup.
type genericDoc struct {
	root map[string]any
}

func newGenericDoc(data []byte) (*genericDoc, error) {
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if _, ok := root["paths"].(map[string]any); !ok {
		return nil, errors.New("not an OpenAPI document: no paths object")
	}
	return &genericDoc{root: root}, nil
}

// lookup resolves a local JSON-pointer reference such as
// "#/components/schemas/ApiKey".
func (d *genericDoc) lookup(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#") {
		return nil, fmt.Errorf("unsupported non-local $ref %q", ref)
	}
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil, fmt.Errorf("bad $ref %q: %w", ref, err)
	}
	var node any = d.root
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if frag == "" {
			break
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch n := node.(type) {
		case map[string]any:
			node = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, fmt.Errorf("$ref %q: no element %q", ref, tok)
			}
			node = n[i]
		default:
			node = nil
		}
		if node == nil {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return node, nil
}

// object follows $ref chains (of non-schema objects: parameters, responses…)
// and returns the object, or nil.
func (d *genericDoc) object(node any) map[string]any {
	for range 32 {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := d.lookup(ref)
		if err != nil {
			return nil
		}
		node = target
	}
	return nil
}
