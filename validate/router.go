package validate

import (
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// pathRouter matches a request path to the spec's path templates. It is
// built once per Validator and does what kin-openapi's legacy router did
// for this project's paths — trailing slashes are ignored, a parameter is
// one whole segment, a literal segment wins over a parameter — without a
// request copy, a trie walk over "METHOD path" strings, or a slice of
// values per match.
type pathRouter struct {
	// templates is ordered so that literal segments are tried before
	// parameters at the same depth.
	templates []*pathTemplate
	// bySegs holds templates grouped by their number of segments (the
	// index), in the same order: a path is only tried against its group.
	bySegs [][]*pathTemplate
}

// pathTemplate is one path of the spec, split into segments.
type pathTemplate struct {
	path string
	// segs holds each segment's literal text; a parameter's is "" and its
	// name is in params at the same index.
	segs   []string
	params []string
	// nParams is how many segments are parameters.
	nParams int
	// routes maps a method to its route (the *routers.Route kin-openapi
	// validates with, built once).
	routes map[string]*routers.Route
}

func newPathRouter(doc *openapi3.T) *pathRouter {
	pr := &pathRouter{}
	for path, item := range doc.Paths.Map() {
		t := &pathTemplate{path: path, routes: map[string]*routers.Route{}}
		for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				t.segs = append(t.segs, "")
				t.params = append(t.params, strings.TrimSuffix(s[1:len(s)-1], "*"))
				t.nParams++
			} else {
				t.segs = append(t.segs, s)
				t.params = append(t.params, "")
			}
		}
		for method, op := range item.Operations() {
			t.routes[method] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
		pr.templates = append(pr.templates, t)
	}
	// Literal before parameter, segment by segment; then by path, so the
	// order does not depend on map iteration.
	slices.SortFunc(pr.templates, func(a, b *pathTemplate) int {
		for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
			al, bl := a.params[i] == "", b.params[i] == ""
			if al != bl {
				if al {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(a.path, b.path)
	})
	for _, t := range pr.templates {
		for len(pr.bySegs) <= len(t.segs) {
			pr.bySegs = append(pr.bySegs, nil)
		}
		pr.bySegs[len(t.segs)] = append(pr.bySegs[len(t.segs)], t)
	}
	return pr
}

// match returns the template path matches, or nil. A parameter segment
// must not be empty.
func (pr *pathRouter) match(path string) *pathTemplate {
	path = strings.TrimRight(path, "/")
	if path == "" || path[0] != '/' {
		return nil
	}
	rest := path[1:]
	n := strings.Count(rest, "/") + 1
	if n >= len(pr.bySegs) {
		return nil
	}
	for _, t := range pr.bySegs[n] {
		if t.matches(rest) {
			return t
		}
	}
	return nil
}

func (t *pathTemplate) matches(rest string) bool {
	for i, lit := range t.segs {
		seg, tail, _ := strings.Cut(rest, "/")
		rest = tail
		if t.params[i] != "" {
			if seg == "" {
				return false
			}
		} else if seg != lit {
			return false
		}
	}
	return true
}

// values returns the path parameters of path, which t matches.
func (t *pathTemplate) values(path string) map[string]string {
	params := make(map[string]string, t.nParams)
	if t.nParams == 0 {
		return params
	}
	rest := strings.TrimRight(path, "/")[1:]
	for i := range t.segs {
		seg, tail, _ := strings.Cut(rest, "/")
		rest = tail
		if t.params[i] != "" {
			params[t.params[i]] = seg
		}
	}
	return params
}

// value returns the value of path parameter name in path, which t
// matches, as values(path)[name] does.
func (t *pathTemplate) value(path, name string) (string, bool) {
	rest := strings.TrimRight(path, "/")[1:]
	for i := range t.segs {
		seg, tail, _ := strings.Cut(rest, "/")
		rest = tail
		if t.params[i] == name {
			return seg, true
		}
	}
	return "", false
}

// stripBase returns path without the base path of the surface it starts
// with, and that base ("" when it starts with none: it is then routed as it
// is).
func (v *Validator) stripBase(path string) (string, string) {
	for _, base := range v.prefixes {
		if strings.HasPrefix(path, base+"/") {
			return path[len(base):], base
		}
	}
	return path, ""
}

// route finds the operation of method on path (the request's path, base
// included) and its path parameters. It refuses a path of another surface
// (an admin path under /api/client, say) and an empty path parameter, so
// /keys is never /keys/{keyId} with keyId "". The error is a
// *routers.RouteError.
func (v *Validator) route(method, path string) (*routers.Route, map[string]string, string, error) {
	t, route, stripped, err := v.find(method, path)
	if err != nil {
		return nil, nil, stripped, err
	}
	return route, t.values(stripped), stripped, nil
}

// find is route without the map of path parameters: it returns the
// matched template, from which they can be read (value, values).
func (v *Validator) find(method, path string) (*pathTemplate, *routers.Route, string, error) {
	stripped, base := v.stripBase(path)
	t := v.paths.match(stripped)
	if t == nil || (base != "" && v.surface[t.path] != base) {
		return nil, nil, stripped, &routers.RouteError{Reason: routers.ErrPathNotFound.Error()}
	}
	route := t.routes[method]
	if route == nil {
		return nil, nil, stripped, &routers.RouteError{Reason: routers.ErrMethodNotAllowed.Error()}
	}
	return t, route, stripped, nil
}

// allowedMethods lists the methods the spec defines on path, for Allow.
func (v *Validator) allowedMethods(path string) []string {
	var methods []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if _, _, _, err := v.route(m, path); err == nil {
			methods = append(methods, m)
		}
	}
	return methods
}
