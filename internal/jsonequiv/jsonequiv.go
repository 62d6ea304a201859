// Package jsonequiv checks generated MarshalJSON methods (internal/genjson)
// against encoding/json: for random values of a type it compares the
// method's output with what encoding/json writes for the same value through
// a copy of the type without methods. It is for tests only.
package jsonequiv

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
)

// Check fills rounds random values of v's type (a struct with a generated
// MarshalJSON), seeded by seed, and fails t for every value whose
// MarshalJSON output differs from encoding/json's encoding of the same
// value without the method, or is not what json.Marshal returns through the
// method (which compacts and validates it).
func Check(t testing.TB, v any, rounds int, seed uint64) {
	t.Helper()
	typ := reflect.TypeOf(v)
	if _, ok := v.(json.Marshaler); !ok {
		t.Fatalf("%v has no MarshalJSON", typ)
	}
	for round := range rounds {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		val := reflect.New(typ).Elem()
		fill(rng, val, 0)
		got, err := val.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			t.Fatalf("%v.MarshalJSON: %v", typ, err)
		}
		want, err := json.Marshal(Mirror(val).Interface())
		if err != nil {
			t.Fatalf("json.Marshal of the method-less %v: %v", typ, err)
		}
		if string(got) != string(want) {
			t.Fatalf("%v.MarshalJSON (seed %d, round %d):\n got %s\nwant %s", typ, seed, round, got, want)
		}
		through, err := json.Marshal(val.Interface())
		if err != nil {
			t.Fatalf("json.Marshal through %v.MarshalJSON: %v", typ, err)
		}
		if string(through) != string(want) {
			t.Fatalf("json.Marshal through %v.MarshalJSON:\n got %s\nwant %s", typ, through, want)
		}
	}
}

// Mirror returns a copy of v whose struct types (at any depth, through
// pointers and slices) are replaced by struct types with the same fields
// and tags but no methods, so encoding/json encodes them by reflection.
func Mirror(v reflect.Value) reflect.Value {
	mt := mirrorType(v.Type())
	out := reflect.New(mt).Elem()
	copyInto(out, v)
	return out
}

var mirrors sync.Map // reflect.Type → reflect.Type

func mirrorType(t reflect.Type) reflect.Type {
	if m, ok := mirrors.Load(t); ok {
		return m.(reflect.Type)
	}
	var m reflect.Type
	switch t.Kind() {
	case reflect.Struct:
		fields := make([]reflect.StructField, t.NumField())
		for i := range fields {
			f := t.Field(i)
			fields[i] = reflect.StructField{Name: f.Name, Type: mirrorType(f.Type), Tag: f.Tag}
		}
		m = reflect.StructOf(fields)
	case reflect.Pointer:
		m = reflect.PointerTo(mirrorType(t.Elem()))
	case reflect.Slice:
		if mirrorType(t.Elem()) == t.Elem() {
			m = t
		} else {
			m = reflect.SliceOf(mirrorType(t.Elem()))
		}
	default:
		m = t
	}
	mirrors.Store(t, m)
	return m
}

// copyInto copies src into dst, a value of mirrorType(src.Type()).
func copyInto(dst, src reflect.Value) {
	if dst.Type() == src.Type() {
		dst.Set(src)
		return
	}
	switch src.Kind() {
	case reflect.Struct:
		for i := range src.NumField() {
			copyInto(dst.Field(i), src.Field(i))
		}
	case reflect.Pointer:
		if !src.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
			copyInto(dst.Elem(), src.Elem())
		}
	case reflect.Slice:
		if !src.IsNil() {
			dst.Set(reflect.MakeSlice(dst.Type(), src.Len(), src.Len()))
			for i := range src.Len() {
				copyInto(dst.Index(i), src.Index(i))
			}
		}
	default:
		dst.Set(src)
	}
}

// strings are the texts fill draws from besides random ones: escapes,
// HTML-sensitive characters, invalid UTF-8, the JavaScript line separators.
var texts = []string{
	"", "a", "Production server", `quote " and \ backslash`, "<script>&amp;</script>",
	"\b\f\n\r\t\x00\x01\x1f\x7f", "ünïcødé 鍵 🔑", "\u2028\u2029", "bad \xff\xfe utf8", "\xed\xa0\x80",
	"trailing \xe2\x82", "sk_****ABCD", "2026-04-28T09:30:00Z",
}

// fill sets v (settable) to a random value of its type.
func fill(rng *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		if rng.IntN(2) == 0 {
			v.SetString(texts[rng.IntN(len(texts))])
			return
		}
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		v.SetString(string(b))
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		choices := []int64{0, 1, -1, rng.Int64(), -rng.Int64(), math.MaxInt64, math.MinInt64}
		n := choices[rng.IntN(len(choices))]
		if v.OverflowInt(n) {
			n = int64(int8(n))
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n := rng.Uint64() >> rng.IntN(64)
		if v.OverflowUint(n) {
			n = uint64(uint8(n))
		}
		v.SetUint(n)
	case reflect.Pointer:
		if rng.IntN(3) == 0 || depth > 4 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(rng, v.Elem(), depth+1)
	case reflect.Slice:
		switch n := rng.IntN(5); {
		case n == 0 || depth > 4:
			return // nil
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range n - 1 {
				fill(rng, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		// nullable.Nullable[T] (map[bool]T): unset, null or a value.
		if v.Type().Key().Kind() != reflect.Bool {
			return
		}
		switch rng.IntN(3) {
		case 0:
			return
		case 1:
			m := reflect.MakeMap(v.Type())
			m.SetMapIndex(reflect.ValueOf(false), reflect.Zero(v.Type().Elem()))
			v.Set(m)
		default:
			m := reflect.MakeMap(v.Type())
			e := reflect.New(v.Type().Elem()).Elem()
			fill(rng, e, depth+1)
			m.SetMapIndex(reflect.ValueOf(true), e)
			v.Set(m)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i), depth+1)
			}
		}
	}
}

// Decoder is a type with a generated decodeJSONFast method: Value is a
// value of the type, Fast decodes data into a new one through the method
// and reports whether the method accepted data.
type Decoder struct {
	Value any
	Fast  func(data []byte) (any, bool)
}

// CheckDecode checks d on rounds random documents seeded by seed: plain
// encodings of random values, which the method must accept, and variants
// of them (whitespace, nulls, unknown, duplicate and case-changed members,
// escapes, trailing text, wrong types) on which CheckDecodeInput must hold.
// It fails t when the method accepts none of the plain documents.
func CheckDecode(t testing.TB, d Decoder, rounds int, seed uint64) {
	t.Helper()
	typ := reflect.TypeOf(d.Value)
	accepted := 0
	for round := range rounds {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		val := reflect.New(typ).Elem()
		fill(rng, val, 0)
		plain, err := json.Marshal(Mirror(val).Interface())
		if err != nil {
			t.Fatalf("json.Marshal of the method-less %v: %v", typ, err)
		}
		if _, ok := d.Fast(plain); ok {
			accepted++
		}
		CheckDecodeInput(t, d, plain)
		for _, doc := range variants(rng, plain) {
			CheckDecodeInput(t, d, doc)
		}
	}
	if accepted == 0 {
		t.Fatalf("%v.decodeJSONFast accepted none of %d plain documents", typ, rounds)
	}
}

// CheckDecodeInput fails t when d's method accepts data but json.Unmarshal
// rejects it or decodes a different value, or when it rejects a document
// json.Unmarshal decodes and genjson's plain form covers (no escapes,
// exact unique member names, integers without fraction).
func CheckDecodeInput(t testing.TB, d Decoder, data []byte) {
	t.Helper()
	typ := reflect.TypeOf(d.Value)
	got, ok := d.Fast(data)
	want := reflect.New(typ)
	err := json.Unmarshal(data, want.Interface())
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("%v.decodeJSONFast accepted %q, json.Unmarshal rejects it: %v", typ, data, err)
	}
	if !reflect.DeepEqual(got, want.Elem().Interface()) {
		t.Fatalf("%v.decodeJSONFast(%q):\n got %#v\nwant %#v", typ, data, got, want.Elem().Interface())
	}
}

// variants returns documents derived from the plain one.
func variants(rng *rand.Rand, plain []byte) [][]byte {
	s := string(plain)
	out := []string{
		" \n\t" + s + " \r\n",
		s + "x",
		s + "{}",
		`{"unknown":1,` + s[1:],
		`{"Name":"x",` + s[1:],
		`{"name":"a\u00e9",` + s[1:],
		`{"name":"\u00e9",` + s[1:],
		`{"name":1,` + s[1:],
		`{"name":null,` + s[1:],
		`{"description":null,` + s[1:],
		`{"description":true,` + s[1:],
		`{"role":null,` + s[1:],
		`{"id":1.5,` + s[1:],
		`{"id":-0,` + s[1:],
		`{"id":9223372036854775808,` + s[1:],
		`{"id":-9223372036854775808,` + s[1:],
		`{"id":01,` + s[1:],
		`{"revoked":false,` + s[1:],
		`{"revoked":nul,` + s[1:],
		"{}",
		"{ }",
		"null",
		"[]",
		"",
		`{"name":"x",}`,
		`{"name" : "x" , "name":"y"}`,
	}
	// A member cut at a random point, and a random byte replaced.
	if len(s) > 2 {
		out = append(out, s[:rng.IntN(len(s))])
		b := []byte(s)
		const junk = "\"{}[],:\\ 0an"
		b[rng.IntN(len(b))] = junk[rng.IntN(len(junk))]
		out = append(out, string(b))
	}
	docs := make([][]byte, len(out))
	for i, d := range out {
		docs[i] = []byte(d)
	}
	return docs
}
