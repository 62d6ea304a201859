package main

import (
	"bytes"
	"fmt"
	"go/ast"
)

// flat reports whether genjson writes decodeJSONFast for struct n: every
// field a scalar, a pointer to one or a Nullable of one (request bodies).
func (m *model) flat(n string) bool {
	for _, f := range m.structs[n].Fields.List {
		e := f.Type
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.Index
		}
		switch m.scalar(e) {
		case "string", "bool", "int":
		default:
			return false
		}
	}
	return true
}

// scalarType returns the Go type name of a scalar field's value type.
func scalarType(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// intBits returns the size of the integer type e resolves to.
func (m *model) intBits(e ast.Expr) int {
	for range 16 {
		id, ok := e.(*ast.Ident)
		if !ok {
			return 64
		}
		switch id.Name {
		case "int8":
			return 8
		case "int16":
			return 16
		case "int32":
			return 32
		case "int64", "int":
			return 64
		}
		next, ok := m.named[id.Name]
		if !ok {
			return 64
		}
		e = next
	}
	return 64
}

// writeDecoder writes the decodeJSONFast method of flat struct n.
func (m *model) writeDecoder(b *bytes.Buffer, n string) {
	fmt.Fprintf(b, `
// decodeJSONFast sets *v to what encoding/json decodes from data and
// reports true when data is a plain document: one object (and whitespace)
// whose members are v's exact field names, each at most once, with values
// of their field's JSON type or null, strings without escapes or invalid
// UTF-8, integers without fraction or exponent. Otherwise it reports false
// and leaves *v alone, for encoding/json to decode (or reject) data.
func (v *%s) decodeJSONFast(data []byte) bool {
	s := jsonScan{data: data}
	var t %s
	var seen uint64
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		*v = t
		return s.end()
	}
	for {
		key, ok := s.key()
		if !ok {
			return false
		}
		switch string(key) {
`, n, n)
	for i, f := range m.structs[n].Fields.List {
		name, _, _ := m.field(f)
		field := "t." + f.Names[0].Name
		fmt.Fprintf(b, "case %q:\nif seen&(1<<%d) != 0 {\nreturn false\n}\nseen |= 1 << %d\n", name, i, i)
		elem := f.Type
		kind := "value"
		switch t := f.Type.(type) {
		case *ast.StarExpr:
			elem, kind = t.X, "pointer"
		case *ast.IndexExpr:
			elem, kind = t.Index, "nullable"
		}
		typ := scalarType(elem)
		var read string
		switch m.scalar(elem) {
		case "string":
			read = "s.str()"
		case "bool":
			read = "s.boolean()"
		case "int":
			read = fmt.Sprintf("s.integer(%d)", m.intBits(elem))
		}
		switch kind {
		case "pointer":
			fmt.Fprintf(b, "if s.null() {\n%s = nil\n} else {\nx, ok := %s\nif !ok {\nreturn false\n}\ny := %s(x)\n%s = &y\n}\n", field, read, typ, field)
		case "nullable":
			fmt.Fprintf(b, "if s.null() {\nvar zero %s\n%s = map[bool]%s{false: zero}\n} else {\nx, ok := %s\nif !ok {\nreturn false\n}\n%s = map[bool]%s{true: %s(x)}\n}\n", typ, field, typ, read, field, typ, typ)
		default:
			fmt.Fprintf(b, "if !s.null() {\nx, ok := %s\nif !ok {\nreturn false\n}\n%s = %s(x)\n}\n", read, field, typ)
		}
	}
	b.WriteString(`default:
return false
}
if s.next('}') {
break
}
if !s.next(',') {
return false
}
}
*v = t
return s.end()
}
`)
}
