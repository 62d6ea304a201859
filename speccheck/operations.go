package speccheck

import (
	"slices"
	"strings"
)

// operation is one operation of a generic document.
type operation struct {
	method   string   // upper case
	path     string   // as written
	segments []string // path segments, parameters as "{}"
	params   []string // path parameter names in order
	node     map[string]any
	item     map[string]any
	tags     []string
}

func (o *operation) name() string { return o.method + " " + o.path }

var genericMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func (d *genericDoc) operations() []*operation {
	paths, _ := d.root["paths"].(map[string]any)
	var ops []*operation
	for _, path := range sortedKeys(paths) {
		item := d.object(paths[path])
		if item == nil {
			continue
		}
		segments, params := splitPath(path)
		for _, method := range genericMethods {
			node, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			op := &operation{method: strings.ToUpper(method), path: path, segments: segments, params: params, node: node, item: item}
			if tags, ok := node["tags"].([]any); ok {
				for _, t := range tags {
					if s, ok := t.(string); ok {
						op.tags = append(op.tags, s)
					}
				}
			}
			ops = append(ops, op)
		}
	}
	return ops
}

func splitPath(path string) (segments, params []string) {
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if seg == "" {
			continue
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			params = append(params, strings.Trim(seg, "{}"))
			seg = "{}"
		}
		segments = append(segments, seg)
	}
	return segments, params
}

func hasSuffix(long, short []string) bool {
	return len(long) >= len(short) && slices.Equal(long[len(long)-len(short):], short)
}

// pathMapping holds the leading path segments (parameters as "{}") that one
// side's paths carry and the other's do not; at most one side is non-empty.
type pathMapping struct {
	upstream, ours []string // template segments
}

// bestMapping picks the single prefix under which the most of our operations
// find an upstream operation with the same method; ties go to the shortest
// prefix.
func bestMapping(ours, up []*operation) pathMapping {
	type candidate struct {
		m       pathMapping
		matched map[string]bool
	}
	candidates := map[string]*candidate{}
	for _, o := range ours {
		for _, u := range up {
			if o.method != u.method {
				continue
			}
			var m pathMapping
			switch {
			case hasSuffix(u.segments, o.segments):
				m.upstream = u.segments[:len(u.segments)-len(o.segments)]
			case hasSuffix(o.segments, u.segments):
				m.ours = o.segments[:len(o.segments)-len(u.segments)]
			default:
				continue
			}
			key := strings.Join(m.upstream, "/") + "|" + strings.Join(m.ours, "/")
			if candidates[key] == nil {
				candidates[key] = &candidate{m: m, matched: map[string]bool{}}
			}
			candidates[key].matched[o.name()] = true
		}
	}
	var best *candidate
	for _, key := range sortedKeys(candidates) {
		c := candidates[key]
		switch {
		case best == nil,
			len(c.matched) > len(best.matched),
			len(c.matched) == len(best.matched) && len(c.m.upstream)+len(c.m.ours) < len(best.m.upstream)+len(best.m.ours):
			best = c
		}
	}
	if best == nil {
		return pathMapping{}
	}
	return best.m
}

// key returns the operation's method and path with prefix removed, and
// whether it carries the prefix.
func (o *operation) key(prefix []string) (string, bool) {
	if len(o.segments) < len(prefix) || !slices.Equal(o.segments[:len(prefix)], prefix) {
		return "", false
	}
	return o.method + " /" + strings.Join(o.segments[len(prefix):], "/"), true
}

// pathKey is key without the method.
func (o *operation) pathKey(prefix []string) (string, bool) {
	k, ok := o.key(prefix)
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(k, o.method+" "), true
}

// prefixParams is the number of path parameters inside the first n segments.
func prefixParams(segments []string, n int) int {
	count := 0
	for _, s := range segments[:n] {
		if s == "{}" {
			count++
		}
	}
	return count
}

func prefixString(segments, params []string, n int) string {
	var parts []string
	p := 0
	for _, s := range segments[:n] {
		if s == "{}" {
			s = "{" + params[p] + "}"
			p++
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return "/" + strings.Join(parts, "/")
}
