package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/server"
)

// patchBodyNode returns v's compiled body schema of PATCH /keys/{keyId}
// (no default anywhere, so the byte path applies) and its operation.
func patchBodyNode(t testing.TB, v *Validator) (*schemaNode, *openapi3.Operation) {
	t.Helper()
	route, _, _, err := v.route(http.MethodPatch, "/api/client/keys/12")
	require.NoError(t, err)
	node := v.bodyNode(route.Operation, "application/json")
	require.NotNil(t, node, "PATCH /keys/{keyId} has no compiled body schema")
	return node, route.Operation
}

// decodedVerdict is today's path for a request body: decoded as readBody
// decodes it (one value, numbers as json.Number), the null check, then
// kin-openapi's ValidateRequest. It returns the decoded value and nil when
// all of them accept data.
func decodedVerdict(t testing.TB, v *Validator, data []byte) (any, error) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return nil, err
	}
	if dec.InputOffset() != int64(len(bytes.TrimRight(data, " \t\r\n"))) {
		return nil, assert.AnError
	}
	r := httptest.NewRequest(http.MethodPatch, "/api/client/keys/12", bytes.NewReader(data))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer sk_test")
	route, params, _, err := v.route(r.Method, r.URL.Path)
	require.NoError(t, err)
	if err := v.checkNulls(route.Operation, requestBody{data: data, value: value, decoded: true}); err != nil {
		return nil, err
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.options}
	return value, openapi3filter.ValidateRequest(context.Background(), in)
}

// checkScanRequest fails t when scanRequestOK accepts data that today's
// decoded path refuses, or that does not bind to the handler's struct
// exactly as the decoded value re-encoded does.
func checkScanRequest(t testing.TB, v *Validator, node *schemaNode, data []byte) bool {
	t.Helper()
	if !node.scanRequestOK(data, v.reqOpts) {
		return false
	}
	value, err := decodedVerdict(t, v, data)
	if err != nil {
		t.Errorf("scan accepts %q, which today's path refuses: %v", data, err)
		return true
	}
	canonical, err := json.Marshal(value)
	require.NoError(t, err)
	var fromBytes, fromCanonical server.UpdateProjectAPIKeyJSONRequestBody
	require.NoError(t, json.Unmarshal(data, &fromBytes))
	require.NoError(t, json.Unmarshal(canonical, &fromCanonical))
	assert.Equal(t, fromCanonical, fromBytes, "%q binds differently from its re-encoding %q", data, canonical)
	var anyBytes any
	require.NoError(t, json.Unmarshal(data, &anyBytes))
	var anyCanonical any
	require.NoError(t, json.Unmarshal(canonical, &anyCanonical))
	assert.Equal(t, anyCanonical, anyBytes, "%q decodes differently from its re-encoding %q", data, canonical)
	return true
}

// TestFastRequestBodyScanNeverMoreLenient checks that the byte check of
// request bodies (scanRequestOK) accepts only bodies today's decoded path
// accepts and that bind to the handler's struct as their re-encoding does,
// that it accepts the plain valid ones, and that it hands everything
// unusual (duplicates, case variants, escapes, refused nulls, trailing
// bytes, deep or huge input) to the decoded path.
func TestFastRequestBodyScanNeverMoreLenient(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40)
	huge := `{"name":"` + strings.Repeat("é", 70000) + `"}`
	many := `{"name":"n"` + strings.Repeat(`,"description":"d"`, 20) + `}`
	tests := []struct {
		name, body string
		accept     bool // the byte check must accept it
		either     bool // it may accept it (the profiles differ)
	}{
		{"all fields", `{"name":"renamed","description":null,"role":"editor","scope":"public"}`, true, false},
		{"bench body", `{"name":"renamed","description":null,"role":"editor"}`, true, false},
		{"empty object", `{}`, true, false},
		{"whitespace", " \t\r\n{ \"name\" : \"n\" ,\n\"role\":\t\"admin\" } \n", true, false},
		{"unicode text", `{"name":"clé 🔑","description":"日本語"}`, true, false},
		{"description string", `{"description":"d"}`, true, false},
		{"duplicate member", `{"name":"a","name":"b"}`, false, false},
		{"duplicate null then value", `{"description":null,"description":"x"}`, false, false},
		{"duplicate valid and invalid", `{"role":"editor","role":"root"}`, false, false},
		{"case variant", `{"Name":"a"}`, false, false},
		{"case variant upper", `{"NAME":"a","name":"b"}`, false, false},
		{"null name", `{"name":null}`, false, false},
		{"null role", `{"role":null}`, false, false},
		{"null scope", `{"scope":null}`, false, false},
		{"null with spaces", `{"role" :  null}`, false, false},
		{"null body", `null`, false, false},
		{"escaped string", `{"name":"a\u0062"}`, false, false},
		{"escaped quote", `{"name":"a\"b"}`, false, false},
		{"escaped key", `{"n\u0061me":"a"}`, false, false},
		{"surrogate escape", `{"name":"\ud83d\udd11"}`, false, false},
		{"number name", `{"name":1}`, false, false},
		{"float name", `{"name":1.5e3}`, false, false},
		{"bool role", `{"role":true}`, false, false},
		{"bad enum", `{"role":"Editor"}`, false, false},
		{"unknown member", `{"extra":1}`, false, false},
		{"nested object", `{"name":{"a":{"b":[1,2,{"c":null}]}}}`, false, false},
		{"array body", `[]`, false, false},
		{"string body", `"x"`, false, false},
		{"number body", `-0.5e-3`, false, false},
		{"trailing garbage", `{"name":"a"}x`, false, false},
		{"trailing value", `{"name":"a"}{}`, false, false},
		{"trailing comma", `{"name":"a",}`, false, false},
		{"missing colon", `{"name" "a"}`, false, false},
		{"unterminated", `{"name":"a"`, false, false},
		{"control character", "{\"name\":\"a\tb\"}", false, false},
		{"deep", deep, false, false},
		{name: "huge", body: huge, either: true},
		{"many members", many, false, false},
		{"empty", ``, false, false},
		{"spaces only", `   `, false, false},
	}
	for _, opts := range [][]Option{nil, {WithReferenceProfile()}} {
		v, err := New(opts...)
		require.NoError(t, err)
		node, _ := patchBodyNode(t, v)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				accepted := checkScanRequest(t, v, node, []byte(tt.body))
				if !tt.either {
					assert.Equal(t, tt.accept, accepted, "scanRequestOK(%.80q)", tt.body)
				}
			})
		}
	}
}

// TestCheckRequestHandsOnScannedBytes checks that a body accepted on its
// bytes reaches the handler as sent, and that one sent unusually (here a
// duplicate member) still reaches it re-encoded from the decoded value.
func TestCheckRequestHandsOnScannedBytes(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	tests := []struct {
		name, body, want string
		header           http.Header // more request headers
	}{
		{"canonical", `{ "role":"editor", "name":"n" }`, `{ "role":"editor", "name":"n" }`, nil},
		{"duplicate", `{"name":"a","name":"b"}`, `{"name":"b"}`, nil},
		// A header sent twice: the plan leaves the request to kin-openapi,
		// which accepts it and reads the body in its security check.
		{"kin-openapi checks the rest", `{ "name":"n" }`, `{ "name":"n" }`,
			http.Header{"X-Spotzee-Client-Type": {"cli", "cli"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPatch, "/api/client/keys/12", strings.NewReader(tt.body))
			for k, vals := range tt.header {
				r.Header[k] = vals
			}
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer sk_test")
			ctx := context.Background()
			if tt.header != nil {
				route, params, _, err := v.route(r.Method, r.URL.Path)
				require.NoError(t, err)
				in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.options}
				require.False(t, v.fastRequest(ctx, in, r.URL.Query(), true), "the plan accepts it")
			}
			_, err := v.CheckRequest(ctx, r)
			require.NoError(t, err)
			var got bytes.Buffer
			_, err = got.ReadFrom(r.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
			assert.Equal(t, int64(len(tt.want)), r.ContentLength)
		})
	}
}

// FuzzScanRequestAgreesWithDecoded checks that the request-body byte check
// never accepts a body today's decoded path refuses, or one that binds to
// the handler's struct differently from its re-encoding. go test runs the
// seeds; go test -fuzz explores.
func FuzzScanRequestAgreesWithDecoded(f *testing.F) {
	v, err := New()
	if err != nil {
		f.Fatal(err)
	}
	node, _ := patchBodyNode(f, v)
	for _, seed := range []string{
		`{"name":"renamed","description":null,"role":"editor","scope":"public"}`,
		`{"name":"a","name":"b"}`, `{"Name":"a"}`, `{"role":null}`, `{"name":"\u0061"}`,
		`{"name":1e2}`, `{"name":{"a":[1,{"b":null}]}}`, " {\"name\" : \"n\" } ", `{"name":"a"}x`,
		`{}`, `null`, `[]`, `{"description":"é🔑"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScanRequest(t, v, node, data)
	})
}

// TestReadAtMost checks that readAtMost reads what
// io.ReadAll(io.LimitReader(body, limit)) reads, whatever the announced
// size says.
func TestReadAtMost(t *testing.T) {
	const limit = 10
	tests := []struct {
		name string
		body string
		size int64
	}{
		{"exact", "abcde", 5},
		{"unknown", "abcde", -1},
		{"shorter than announced", "abc", 5},
		{"longer than announced", "abcdefgh", 3},
		{"empty", "", 0},
		{"at the limit", "0123456789", 9},
		{"over the limit", "0123456789abc", 5},
		{"announced over the limit", "0123456789abc", 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, wantErr := io.ReadAll(io.LimitReader(iotest.OneByteReader(strings.NewReader(tt.body)), limit))
			got, err := readAtMost(iotest.OneByteReader(strings.NewReader(tt.body)), tt.size, limit)
			assert.Equal(t, wantErr, err)
			assert.Equal(t, string(want), string(got))
			got, err = readAtMost(strings.NewReader(tt.body), tt.size, limit)
			assert.Equal(t, wantErr, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

// TestScanRequestRefusesCaseVariants checks, on a schema that allows
// other members, that a member encoding/json would bind to a declared
// property by case folding (Unicode's included: ſ folds to s, K to k) is
// left to the decoded path, and that other members are not.
func TestScanRequestRefusesCaseVariants(t *testing.T) {
	schema := openapi3.NewObjectSchema().
		WithProperty("scope", openapi3.NewStringSchema()).
		WithProperty("kind", openapi3.NewStringSchema())
	node := compileSchema(schema, map[*openapi3.Schema]*schemaNode{})
	tests := []struct {
		body   string
		accept bool
	}{
		{`{"scope":"a","kind":"b"}`, true},
		{`{"other":1,"nested":{"x":[1,"y",null]}}`, true},
		{`{"Scope":"a"}`, false},
		{`{"SCOPE":"a"}`, false},
		{`{"ſcope":"a"}`, false},
		{`{"\u017fcope":"a"}`, false},
		{`{"Kind":"a"}`, false},
		{`{"Kind":"a"}`, false},
		{`{"other":1,"other":2}`, false},
		{`{"nested":{"x":1,"x":2}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			assert.Equal(t, tt.accept, node.scanRequestOK([]byte(tt.body), nil))
		})
	}
}

// TestFastRequestAtAgreesWithPathParams checks that the plan reading path
// parameters from the path (fastRequestAt, as CheckRequest calls it) gives
// fastRequest's verdict with the map of path parameters, and that
// pathTemplate.value agrees with values.
func TestFastRequestAtAgreesWithPathParams(t *testing.T) {
	v, err := New()
	require.NoError(t, err)
	paths := []string{"/api/client/keys/12", "/api/client/keys/12/", "/api/client/keys/-1", "/api/client/keys/abc",
		"/api/client/keys/1e3", "/api/client/keys/99999999999999999999", "/api/client/keys", "/api/client/keys?limit=5"}
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
			t.Run(method+" "+p, func(t *testing.T) {
				r := httptest.NewRequest(method, p, nil)
				r.Header.Set("Authorization", "Bearer sk_test")
				tmpl, route, stripped, err := v.find(r.Method, r.URL.Path)
				if err != nil {
					return
				}
				params := tmpl.values(stripped)
				for name, want := range params {
					got, ok := tmpl.value(stripped, name)
					assert.True(t, ok)
					assert.Equal(t, want, got, name)
				}
				in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.options}
				want := v.fastRequest(context.Background(), in, r.URL.Query(), true)
				in.PathParams = nil
				assert.Equal(t, want, v.fastRequestAt(context.Background(), in, tmpl, stripped, r.URL.Query(), true))
			})
		}
	}
}

// TestResponseForAgreesWithStatus checks responseFor against kin-openapi's
// Responses.Status, ranges included.
func TestResponseForAgreesWithStatus(t *testing.T) {
	responses := openapi3.NewResponses(
		openapi3.WithStatus(200, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("ok")}),
		openapi3.WithName("4XX", openapi3.NewResponse().WithDescription("client")),
		openapi3.WithName("default", openapi3.NewResponse().WithDescription("default")),
	)
	for _, status := range []int{0, 99, 100, 200, 201, 299, 404, 499, 500, 599, 600, 1000, -1} {
		assert.Same(t, responses.Status(status), responseFor(responses, status), "status %d", status)
	}
}

// TestScanFieldsAgreeWithDecoded checks the scanner's property lookup on
// objects with few (compared one by one) and many (indexed) properties,
// required ones included, against the decoded check.
func TestScanFieldsAgreeWithDecoded(t *testing.T) {
	for _, count := range []int{3, maxLinearFields, maxLinearFields + 5} {
		schema := openapi3.NewObjectSchema()
		for i := range count {
			schema.WithProperty(fmt.Sprintf("p%d", i), openapi3.NewStringSchema())
		}
		schema.Required = []string{"p0", fmt.Sprintf("p%d", count-1), "undeclared"}
		node := compileSchema(schema, map[*openapi3.Schema]*schemaNode{})
		last := fmt.Sprintf(`"p%d":"x"`, count-1)
		for _, body := range []string{
			`{"p0":"a",` + last + `,"undeclared":1}`,
			`{"p0":"a",` + last + `}`,
			`{` + last + `,"undeclared":1}`,
			`{"p0":"a",` + last + `,"undeclared":1,"p1":"b","other":true}`,
			`{"p0":"a",` + last + `,"undeclared":1,"p1":2}`,
			`{"p0":"a",` + last + `,"undeclared":1,"P1":"b"}`,
		} {
			t.Run(fmt.Sprintf("%d %s", count, body), func(t *testing.T) {
				var value any
				require.NoError(t, json.Unmarshal([]byte(body), &value))
				assert.Equal(t, node.ok(value, nil), node.scanOK([]byte(body), nil))
			})
		}
	}
}
