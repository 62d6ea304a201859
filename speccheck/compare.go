package speccheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Difference is one way Spotzee's published spec differs from ours on an
// operation we cover.
type Difference struct {
	// Operation is our method and path, e.g. "GET /keys/{keyId}"; for an
	// operation only upstream has, upstream's method and path.
	Operation string
	// Where is the part of the operation: "operation", "parameter query limit",
	// "request body", "response 200", followed by ": field.path" for a field.
	Where   string
	Message string
}

// String formats the difference as "where: message" (without the operation).
func (d Difference) String() string {
	return d.Where + ": " + d.Message
}

// Comparison is the result of CompareUpstream.
type Comparison struct {
	// UpstreamPrefix is the leading path that upstream's paths carry and ours
	// do not (e.g. "/api/client"); OursPrefix the reverse. At most one is set.
	UpstreamPrefix, OursPrefix string
	// Matched lists our operations found upstream, as "GET /keys".
	Matched []string
	// Ignored counts upstream operations outside what we cover: on other paths
	// and without any of our tags.
	Ignored int
	// Differences is empty when upstream agrees with ours on every covered
	// operation.
	Differences []Difference
}

// CompareUpstream compares ours with upstream, Spotzee's published OpenAPI
// document (3.1 JSON as published, or any OpenAPI JSON/YAML), restricted to
// the operations ours covers. Operations are matched by method and path,
// tolerating a leading path prefix on either side (server path differences
// such as /api/client/keys vs /keys) and differently named path parameters.
// For each operation it compares parameters (in, name, required, type,
// nullability, enum, default), request and response bodies by status and
// media type, and their fields recursively (presence, type, required,
// nullability, enum, default). OpenAPI 3.0 `nullable: true` and 3.1
// `type: [T, "null"]` (or a null branch of anyOf/oneOf) are the same thing;
// nullability of path parameters is ignored, since a path segment cannot be
// null. Upstream operations on our paths, or carrying one of our tags, that we
// do not have are reported as extra. Descriptions, examples, formats and
// length/range constraints are not compared. It returns an error, and no
// comparison, when either document cannot be read as OpenAPI.
func CompareUpstream(ctx context.Context, ours *openapi3.T, upstream []byte) (*Comparison, error) {
	oursRaw, err := json.Marshal(ours)
	if err != nil {
		return nil, fmt.Errorf("encode our spec: %w", err)
	}
	o, err := newGenericDoc(oursRaw)
	if err != nil {
		return nil, fmt.Errorf("our spec: %w", err)
	}
	if !looksLikeJSON(upstream) {
		doc, err := LoadData(ctx, upstream, "upstream")
		if err != nil {
			return nil, err
		}
		if upstream, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("encode upstream spec: %w", err)
		}
	}
	u, err := newGenericDoc(upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream spec: %w", err)
	}
	return compareDocs(o, u), nil
}

func looksLikeJSON(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

type comparer struct {
	ours, up *genericDoc
	result   *Comparison
	op       string // operation being compared, for Difference.Operation
}

func (c *comparer) add(where, format string, args ...any) {
	c.result.Differences = append(c.result.Differences, Difference{Operation: c.op, Where: where, Message: fmt.Sprintf(format, args...)})
}

func compareDocs(ours, up *genericDoc) *Comparison {
	c := &comparer{ours: ours, up: up, result: &Comparison{}}
	oursOps, upOps := ours.operations(), up.operations()
	sort.SliceStable(oursOps, func(i, j int) bool {
		if oursOps[i].path != oursOps[j].path {
			return oursOps[i].path < oursOps[j].path
		}
		return slices.Index(methodOrder, oursOps[i].method) < slices.Index(methodOrder, oursOps[j].method)
	})
	m := bestMapping(oursOps, upOps)
	for _, o := range oursOps {
		if len(m.ours) > 0 {
			c.result.OursPrefix = prefixString(o.segments, o.params, len(m.ours))
			break
		}
	}
	byKey := map[string]*operation{}
	ourPaths, ourTags := map[string]bool{}, map[string]bool{}
	for _, o := range oursOps {
		if k, ok := o.key(m.ours); ok {
			byKey[k] = o
			p, _ := o.pathKey(m.ours)
			ourPaths[p] = true
		}
		for _, t := range o.tags {
			ourTags[t] = true
		}
	}
	matched := map[*operation]*operation{}
	var extra []*operation
	for _, u := range upOps {
		k, inScope := u.key(m.upstream)
		if inScope && len(m.upstream) > 0 && c.result.UpstreamPrefix == "" {
			c.result.UpstreamPrefix = prefixString(u.segments, u.params, len(m.upstream))
		}
		if o := byKey[k]; inScope && o != nil && matched[o] == nil {
			matched[o] = u
			continue
		}
		p, _ := u.pathKey(m.upstream)
		sharesTag := slices.ContainsFunc(u.tags, func(t string) bool { return ourTags[t] })
		if (inScope && ourPaths[p]) || sharesTag {
			extra = append(extra, u)
		} else {
			c.result.Ignored++
		}
	}
	for _, o := range oursOps {
		c.op = o.name()
		u := matched[o]
		if u == nil {
			c.add("operation", "missing upstream")
			continue
		}
		c.result.Matched = append(c.result.Matched, o.name())
		c.operation(o, u, len(m.ours), len(m.upstream))
	}
	for _, u := range extra {
		c.op = u.name()
		c.add("operation", "only upstream")
	}
	return c.result
}

func (c *comparer) operation(o, u *operation, oursPrefixLen, upPrefixLen int) {
	c.parameters(o, u, oursPrefixLen, upPrefixLen)
	c.requestBody(c.ours.object(o.node["requestBody"]), c.up.object(u.node["requestBody"]))
	c.responses(c.ours.object(o.node["responses"]), c.up.object(u.node["responses"]))
}

type param struct {
	name     string
	in       string
	required bool
	schema   *shape
}

// parameters collects an operation's parameters (path-item ones overridden by
// the operation's) keyed by location and name; path parameters are keyed by
// position after the prefix, so that their names do not matter.
func (d *genericDoc) parameters(op *operation, prefixLen int) map[string]*param {
	pos := map[string]int{}
	skip := prefixParams(op.segments, prefixLen)
	for i, name := range op.params {
		pos[name] = i - skip
	}
	out := map[string]*param{}
	for _, list := range []any{op.item["parameters"], op.node["parameters"]} {
		items, _ := list.([]any)
		for _, raw := range items {
			p := d.object(raw)
			if p == nil {
				continue
			}
			pr := &param{}
			pr.name, _ = p["name"].(string)
			pr.in, _ = p["in"].(string)
			pr.required, _ = p["required"].(bool)
			if s, ok := p["schema"]; ok {
				pr.schema = d.shape(s, nil)
			} else if content, ok := p["content"].(map[string]any); ok {
				for _, mt := range sortedKeys(content) {
					if media, ok := content[mt].(map[string]any); ok {
						pr.schema = d.shape(media["schema"], nil)
						break
					}
				}
			}
			if pr.schema == nil {
				pr.schema = d.shape(nil, nil)
			}
			key := pr.in + " " + pr.name
			switch pr.in {
			case "header":
				key = pr.in + " " + strings.ToLower(pr.name)
			case "path":
				if i, ok := pos[pr.name]; ok && i >= 0 {
					key = fmt.Sprintf("path #%d", i)
				}
			}
			out[key] = pr
		}
	}
	return out
}

func (c *comparer) parameters(o, u *operation, oursPrefixLen, upPrefixLen int) {
	ours, up := c.ours.parameters(o, oursPrefixLen), c.up.parameters(u, upPrefixLen)
	keys := sortedKeys(ours)
	for _, k := range sortedKeys(up) {
		if ours[k] == nil {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		op, upp := ours[k], up[k]
		if op == nil {
			c.add("parameter "+upp.in+" "+upp.name, "only upstream (%s)", requiredWord(upp.required))
			continue
		}
		where := "parameter " + op.in + " " + op.name
		if upp == nil {
			c.add(where, "missing upstream")
			continue
		}
		if op.required != upp.required {
			c.add(where, "required: ours %s, upstream %s", yesNo(op.required), yesNo(upp.required))
		}
		c.shapes(where, "", op.schema, upp.schema, op.in == "path")
	}
}

func (c *comparer) requestBody(o, u map[string]any) {
	const where = "request body"
	switch {
	case o == nil && u == nil:
		return
	case o == nil:
		c.add(where, "only upstream")
		return
	case u == nil:
		c.add(where, "missing upstream")
		return
	}
	or, _ := o["required"].(bool)
	ur, _ := u["required"].(bool)
	if or != ur {
		c.add(where, "required: ours %s, upstream %s", yesNo(or), yesNo(ur))
	}
	c.content(where, o["content"], u["content"])
}

func (c *comparer) responses(o, u map[string]any) {
	statuses := sortedKeys(o)
	for _, s := range sortedKeys(u) {
		if _, ok := o[s]; !ok {
			statuses = append(statuses, s)
		}
	}
	sort.Strings(statuses)
	for _, status := range statuses {
		if strings.HasPrefix(status, "x-") {
			continue
		}
		where := "response " + status
		ours, inOurs := o[status]
		up, inUp := u[status]
		switch {
		case !inOurs:
			c.add(where, "only upstream")
		case !inUp:
			c.add(where, "missing upstream")
		default:
			c.content(where, c.ours.object(ours)["content"], c.up.object(up)["content"])
		}
	}
}

// content compares the media types offered, then the schemas of the JSON
// media type both sides use (or, failing that, each side's own).
func (c *comparer) content(where string, o, u any) {
	om, _ := o.(map[string]any)
	um, _ := u.(map[string]any)
	ok, uk := sortedKeys(om), sortedKeys(um)
	if !slices.Equal(ok, uk) {
		c.add(where, "content types: ours [%s], upstream [%s]", strings.Join(ok, ", "), strings.Join(uk, ", "))
	}
	omt, umt := pickJSON(ok, uk), pickJSON(uk, ok)
	if omt == "" || umt == "" {
		return
	}
	oursMedia, _ := om[omt].(map[string]any)
	upMedia, _ := um[umt].(map[string]any)
	c.shapes(where, "", c.ours.shape(oursMedia["schema"], nil), c.up.shape(upMedia["schema"], nil), false)
}

// pickJSON returns the JSON media type of mine to compare: one the other
// side has too if possible, application/json first.
func pickJSON(mine, other []string) string {
	isJSON := func(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }
	var first string
	for _, mt := range append([]string{"application/json"}, mine...) {
		if !slices.Contains(mine, mt) || !isJSON(mt) {
			continue
		}
		if slices.Contains(other, mt) {
			return mt
		}
		if first == "" {
			first = mt
		}
	}
	return first
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func requiredWord(b bool) string {
	if b {
		return "required"
	}
	return "optional"
}

func fieldWhere(where, field string) string {
	if field == "" {
		return where
	}
	return where + ": " + field
}

func describeTypes(s *shape) string {
	if len(s.types) == 0 {
		return "any"
	}
	return strings.Join(s.types, "|")
}

func describeDefault(d *string) string {
	if d == nil {
		return "none"
	}
	return *d
}

// shapes reports how upstream's schema u differs from ours o; ignoreNull
// skips nullability (path parameters).
func (c *comparer) shapes(where, field string, o, u *shape, ignoreNull bool) {
	if o.recursive != "" || u.recursive != "" {
		return
	}
	at := fieldWhere(where, field)
	if !slices.Equal(o.types, u.types) {
		c.add(at, "type: ours %s, upstream %s", describeTypes(o), describeTypes(u))
	}
	if !ignoreNull && o.nullable != u.nullable {
		c.add(at, "nullable: ours %s, upstream %s", yesNo(o.nullable), yesNo(u.nullable))
	}
	switch {
	case o.enum == nil && u.enum != nil:
		c.add(at, "enum: ours none, upstream [%s]", strings.Join(u.enum, ", "))
	case o.enum != nil && u.enum == nil:
		c.add(at, "enum: ours [%s], upstream none", strings.Join(o.enum, ", "))
	case o.enum != nil:
		if added := minus(u.enum, o.enum); len(added) > 0 {
			c.add(at, "enum: upstream also allows [%s]", strings.Join(added, ", "))
		}
		if removed := minus(o.enum, u.enum); len(removed) > 0 {
			c.add(at, "enum: upstream lacks [%s]", strings.Join(removed, ", "))
		}
	}
	if describeDefault(o.def) != describeDefault(u.def) {
		c.add(at, "default: ours %s, upstream %s", describeDefault(o.def), describeDefault(u.def))
	}
	names := sortedKeys(o.props)
	for _, n := range sortedKeys(u.props) {
		if o.props[n] == nil {
			names = append(names, n)
		}
	}
	for _, n := range names {
		sub := n
		if field != "" {
			sub = field + "." + n
		}
		op, up := o.props[n], u.props[n]
		switch {
		case op == nil:
			c.add(fieldWhere(where, sub), "only upstream (%s)", requiredWord(u.required[n]))
		case up == nil:
			c.add(fieldWhere(where, sub), "missing upstream (%s in ours)", requiredWord(o.required[n]))
		default:
			if o.required[n] != u.required[n] {
				c.add(fieldWhere(where, sub), "required: ours %s, upstream %s", yesNo(o.required[n]), yesNo(u.required[n]))
			}
			c.shapes(where, sub, op, up, false)
		}
	}
	switch items := field + "[]"; {
	case o.items != nil && u.items != nil:
		c.shapes(where, items, o.items, u.items, false)
	case o.items != nil:
		c.add(fieldWhere(where, items), "item schema missing upstream")
	case u.items != nil:
		c.add(fieldWhere(where, items), "item schema only upstream")
	}
	if len(o.variants) != len(u.variants) {
		c.add(at, "anyOf/oneOf branches: ours %d, upstream %d", len(o.variants), len(u.variants))
		return
	}
	for i := range o.variants {
		c.shapes(where, fmt.Sprintf("%s|%d", field, i), o.variants[i], u.variants[i], false)
	}
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
