package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"strconv"
)

// writeStruct writes the MarshalJSON and appendJSON methods of struct n.
func (m *model) writeStruct(b *bytes.Buffer, n string) error {
	fmt.Fprintf(b, `
// MarshalJSON returns v as encoding/json encodes it without this method
// (field order, omitempty, escaping), without reflection. It never fails.
func (v %s) MarshalJSON() ([]byte, error) {
	return v.appendJSON(make([]byte, 0, 256)), nil
}

// appendJSON appends v's JSON to b.
func (v %s) appendJSON(b []byte) []byte {
	b = append(b, '{')
`, n, n)
	for _, f := range m.structs[n].Fields.List {
		name, omit, _ := m.field(f)
		key := strconv.Quote(`"` + name + `":`)
		access := "v." + f.Names[0].Name
		if omit {
			cond, err := m.nonEmpty(access, f.Type)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", n, f.Names[0].Name, err)
			}
			fmt.Fprintf(b, "if %s {\n", cond)
		}
		fmt.Fprintf(b, "b = jsonKey(b, %s)\n", key)
		if err := m.writeValue(b, access, f.Type, 0); err != nil {
			return fmt.Errorf("%s.%s: %w", n, f.Names[0].Name, err)
		}
		if omit {
			b.WriteString("}\n")
		}
	}
	b.WriteString("return append(b, '}')\n}\n")
	return nil
}

// nonEmpty returns the condition under which encoding/json writes a field
// tagged omitempty: not false, 0, "", a nil pointer or an empty slice or
// map (a Nullable is a map).
func (m *model) nonEmpty(access string, e ast.Expr) (string, error) {
	switch t := e.(type) {
	case *ast.StarExpr:
		return access + " != nil", nil
	case *ast.ArrayType, *ast.IndexExpr:
		return "len(" + access + ") != 0", nil
	case *ast.Ident:
		switch m.scalar(t) {
		case "string":
			return access + ` != ""`, nil
		case "bool":
			return access, nil
		case "int", "uint":
			return access + " != 0", nil
		}
		return "true", nil // a struct is never empty
	}
	return "", fmt.Errorf("no omitempty rule for %T", e)
}

// writeValue writes the statements appending the JSON of access, of type e,
// to b; depth names loop variables.
func (m *model) writeValue(b *bytes.Buffer, access string, e ast.Expr, depth int) error {
	switch t := e.(type) {
	case *ast.StarExpr:
		fmt.Fprintf(b, "if %s == nil {\nb = append(b, \"null\"...)\n} else {\n", access)
		if err := m.writeValue(b, "(*"+access+")", t.X, depth); err != nil {
			return err
		}
		b.WriteString("}\n")
		return nil
	case *ast.ArrayType:
		v := fmt.Sprintf("e%d", depth)
		fmt.Fprintf(b, "if %s == nil {\nb = append(b, \"null\"...)\n} else {\nb = append(b, '[')\nfor i, %s := range %s {\nif i > 0 {\nb = append(b, ',')\n}\n", access, v, access)
		if err := m.writeValue(b, v, t.Elt, depth+1); err != nil {
			return err
		}
		b.WriteString("}\nb = append(b, ']')\n}\n")
		return nil
	case *ast.IndexExpr:
		// Nullable: null when set to null, else the value (the zero value
		// when unset, as nullable.Nullable's own MarshalJSON writes).
		fmt.Fprintf(b, "if _, null := %s[false]; null {\nb = append(b, \"null\"...)\n} else {\n", access)
		if err := m.writeValue(b, access+"[true]", t.Index, depth); err != nil {
			return err
		}
		b.WriteString("}\n")
		return nil
	case *ast.Ident:
		switch m.scalar(t) {
		case "string":
			fmt.Fprintf(b, "b = jsonString(b, string(%s))\n", access)
		case "bool":
			fmt.Fprintf(b, "b = strconv.AppendBool(b, bool(%s))\n", access)
		case "int":
			fmt.Fprintf(b, "b = strconv.AppendInt(b, int64(%s), 10)\n", access)
		case "uint":
			fmt.Fprintf(b, "b = strconv.AppendUint(b, uint64(%s), 10)\n", access)
		default:
			name := t.Name
			if next, ok := m.named[name]; ok {
				if id, ok := next.(*ast.Ident); ok {
					name = id.Name
				}
			}
			if !m.covered[name] {
				return fmt.Errorf("type %s is not covered", t.Name)
			}
			fmt.Fprintf(b, "b = %s(%s).appendJSON(b)\n", name, access)
		}
		return nil
	}
	return fmt.Errorf("cannot encode %T", e)
}
