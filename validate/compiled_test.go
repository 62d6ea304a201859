package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// TestFastResponseCheckNeverMoreLenient mutates valid responses in every
// way the fast check's keywords cover and checks that whatever it accepts
// kin-openapi accepts too, and that it does accept the valid ones (so the
// fast path is taken).
func TestFastResponseCheckNeverMoreLenient(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithReferenceProfile()}} {
		v, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		fastResponseCases(t, v)
	}
}

func fastResponseCases(t *testing.T, v *Validator) {
	key := map[string]any{"id": 12, "project_id": 1, "name": "n", "description": nil, "scope": "secret",
		"role": "admin", "value": "sk_****ABCD", "is_system_key": false,
		"created_at": "2026-04-28T09:30:00Z", "updated_at": nil}
	list := map[string]any{"results": []any{key}, "nextCursor": nil, "prevCursor": nil, "limit": 25}
	cases := []struct {
		method, path string
		valid        map[string]any
	}{
		{http.MethodGet, "/api/client/keys/12", key},
		{http.MethodPatch, "/api/client/keys/12", key},
		{http.MethodGet, "/api/client/keys", list},
	}
	bad := []any{nil, "x", 1.5, -1, float64(1 << 60), true, []any{}, map[string]any{}, "", "unknown-enum", "sk_" + string(make([]byte, 600))}
	for _, c := range cases {
		ex, err := v.Match(httptest.NewRequest(c.method, c.path, nil))
		if err != nil {
			t.Fatal(err)
		}
		header := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_01HXY7Z9K8M5J2N4P6Q8R0S1T2"}, "Spotzee-Version": {"2026-04-28"}}
		check := func(what string, body map[string]any, h http.Header, wantFast bool) {
			data, _ := json.Marshal(body)
			fast := v.responseOK(ex, http.StatusOK, h, data)
			in := &openapi3filter.ResponseValidationInput{RequestValidationInput: ex.input, Status: http.StatusOK, Header: h, Options: v.options}
			in.SetBodyBytes(data)
			kinErr := openapi3filter.ValidateResponse(context.Background(), in)
			if fast && kinErr != nil {
				t.Errorf("%s %s %s: fast check accepts what kin-openapi refuses: %v", c.method, c.path, what, kinErr)
			}
			if wantFast && !fast {
				t.Errorf("%s %s %s: fast check refuses a valid response (kin-openapi: %v)", c.method, c.path, what, kinErr)
			}
		}
		check("valid", c.valid, header, true)
		for name := range c.valid {
			for _, b := range bad {
				m := map[string]any{}
				for k, val := range c.valid {
					m[k] = val
				}
				m[name] = b
				check(name+" changed", m, header, false)
				delete(m, name)
				check(name+" removed", m, header, false)
			}
		}
		for _, name := range []string{"X-RateLimit-Limit", "X-Request-Id", "Spotzee-Version"} {
			for _, val := range []string{"", "x", "1.5", "12", "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "2026-04-28", "2026-4-28"} {
				h := header.Clone()
				h.Set(name, val)
				check(name+"="+val, c.valid, h, false)
			}
		}
		h := header.Clone()
		h.Set("Content-Type", "text/plain")
		check("text/plain", c.valid, h, false)
		// Raw bodies: what an encoder might write, and what it should not.
		data, _ := json.Marshal(c.valid)
		raws := []string{string(data), string(data) + " ", string(data) + "x", string(data) + "{}", " " + string(data),
			strings.Replace(string(data), `"name":"n"`, `"name":"\u006e"`, 1),
			strings.Replace(string(data), `"name":"n"`, `"name":"n","name":5`, 1),
			strings.Replace(string(data), `"name":"n"`, `"name":5,"name":"n"`, 1),
			strings.Replace(string(data), `"limit":25`, `"limit":25.0`, 1),
			strings.Replace(string(data), `"limit":25`, `"limit":2.5e1`, 1),
			strings.Replace(string(data), `"limit":25`, `"limit":1e400`, 1),
			strings.Replace(string(data), `"limit":25`, `"limit":025`, 1),
			strings.Replace(string(data), `"id":12`, `"id":-0`, 1),
			strings.Replace(string(data), `"id":12`, `"id":1.5`, 1),
			strings.Replace(string(data), `"scope":"secret"`, `"scope":"secret\u0000"`, 1),
			strings.Replace(string(data), `"value":"sk_****ABCD"`, "\"value\":\"sk_\xff\"", 1),
			strings.Replace(string(data), `"results":[`, `"results":[1,`, 1),
			strings.Replace(string(data), `"results":[`, `"results":[ ],"x":[`, 1),
			`[]`, `null`, `{}`, ``, `{"id":}`, `{"id":12,}`, `[1,]`,
		}
		for i, raw := range raws {
			fast := v.responseOK(ex, http.StatusOK, header, []byte(raw))
			in := &openapi3filter.ResponseValidationInput{RequestValidationInput: ex.input, Status: http.StatusOK, Header: header, Options: v.options}
			in.SetBodyBytes([]byte(raw))
			if kinErr := openapi3filter.ValidateResponse(context.Background(), in); fast && kinErr != nil {
				t.Errorf("%s %s raw body #%d %q: fast check accepts what kin-openapi refuses: %v", c.method, c.path, i, raw, kinErr)
			}
			if i == 0 && !fast {
				t.Errorf("%s %s: the fast check refuses the encoder's own bytes", c.method, c.path)
			}
		}
	}
}

// TestFastBodyCheckNeverMoreLenient does for request bodies what
// TestFastResponseCheckNeverMoreLenient does for responses, on PATCH
// /keys/{keyId} (whose schema sets no default, so the fast path applies).
func TestFastBodyCheckNeverMoreLenient(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithReferenceProfile()}} {
		v, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		valid := map[string]any{"name": "n", "description": nil, "scope": "public", "role": "editor"}
		bad := []any{nil, "", "x", 1, 1.5, true, []any{}, map[string]any{}, "Editor"}
		check := func(what string, body map[string]any, ct string, wantFast bool) {
			data, _ := json.Marshal(body)
			r := httptest.NewRequest(http.MethodPatch, "/api/client/keys/12", bytes.NewReader(data))
			r.Header.Set("Content-Type", ct)
			r.Header.Set("Authorization", "Bearer sk_test")
			route, params, _, err := v.route(r.Method, r.URL.Path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := v.readBody(r, route.Operation)
			if err != nil {
				return // refused before validation either way
			}
			fast := v.fastBody(route.Operation, ct, b)
			in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.options}
			kinErr := openapi3filter.ValidateRequest(context.Background(), in)
			if fast && kinErr != nil {
				t.Errorf("%s: fast check accepts what kin-openapi refuses: %v", what, kinErr)
			}
			if wantFast && !fast {
				t.Errorf("%s: fast check refuses a valid body (kin-openapi: %v)", what, kinErr)
			}
		}
		check("valid", valid, "application/json", true)
		check("valid; charset", valid, "application/json; charset=utf-8", true)
		check("text/plain", valid, "text/plain", false)
		for name := range valid {
			for _, x := range bad {
				m := map[string]any{}
				for k, val := range valid {
					m[k] = val
				}
				m[name] = x
				check(fmt.Sprintf("%s=%v", name, x), m, "application/json", false)
				delete(m, name)
				check(name+" removed", m, "application/json", false)
				m["NAME"] = "x"
				check(name+" removed, NAME added", m, "application/json", false)
			}
		}
	}
}

// TestFastRequestCheckNeverMoreLenient checks that whatever request the
// fast parameter and security check accepts, kin-openapi accepts too, and
// that it accepts a plain valid one.
func TestFastRequestCheckNeverMoreLenient(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithReferenceProfile()}} {
		v, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		paths := []string{"/api/client/keys/12", "/api/client/keys/-1", "/api/client/keys/abc", "/api/client/keys/1e3",
			"/api/client/keys/99999999999999999999", "/api/client/keys/012", "/api/client/keys",
			"/api/client/keys?limit=5", "/api/client/keys?limit=x", "/api/client/keys?limit=1000000", "/api/client/keys?q="}
		headers := []map[string]string{
			{"Authorization": "Bearer sk_test"},
			{},
			{"Authorization": "Basic x"},
			{"Authorization": "Bearer sk_test", "Spotzee-Version": "2026-04-28"},
			{"Authorization": "Bearer sk_test", "Spotzee-Version": "yesterday"},
			{"Authorization": "Bearer sk_test", "X-Spotzee-Client-Type": "cli"},
			{"Authorization": "Bearer sk_test", "Idempotency-Key": string(make([]byte, 300))},
		}
		for _, p := range paths {
			for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
				for i, h := range headers {
					r := httptest.NewRequest(method, p, nil)
					for k, val := range h {
						r.Header.Set(k, val)
					}
					route, params, _, err := v.route(r.Method, r.URL.Path)
					if err != nil {
						continue
					}
					if route.Operation.RequestBody != nil {
						r.Body = http.NoBody
					}
					in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.options}
					fast := v.fastRequest(context.Background(), in, r.URL.Query(), true)
					if !fast {
						continue
					}
					kin := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.optionsNoBody}
					if err := openapi3filter.ValidateRequest(context.Background(), kin); err != nil {
						t.Errorf("%s %s headers #%d: fast check accepts what kin-openapi refuses: %v", method, p, i, err)
					}
				}
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/api/client/keys/12", nil)
		r.Header.Set("Authorization", "Bearer sk_test")
		route, params, _, _ := v.route(r.Method, r.URL.Path)
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.options}
		if !v.fastRequest(context.Background(), in, r.URL.Query(), true) {
			t.Error("GET /keys/12: the fast check refuses a valid request")
		}
	}
}

// FuzzScanAgreesWithDecoded checks that the byte scanner never accepts a
// body that schemaNode.ok refuses once decoded (or that does not decode),
// on the key schema. go test runs the seeds; go test -fuzz explores.
func FuzzScanAgreesWithDecoded(f *testing.F) {
	v, err := New()
	if err != nil {
		f.Fatal(err)
	}
	ex, err := v.Match(httptest.NewRequest(http.MethodGet, "/api/client/keys/12", nil))
	if err != nil {
		f.Fatal(err)
	}
	media := ex.input.Route.Operation.Responses.Status(http.StatusOK).Value.Content.Get("application/json")
	node := v.compiled[media.Schema.Value]
	for _, seed := range []string{
		`{"id":12,"project_id":1,"name":"n","description":null,"scope":"secret","role":"admin","value":"v","created_at":null,"updated_at":null}`,
		`{"id":12,"project_id":1,"name":"n","scope":"public","role":"admin","value":"v","created_at":"x","updated_at":null,"extra":[1,{"a":true}]}`,
		`{"id":1e2,"project_id":-0,"name":"","scope":"secret","role":"admin","value":"v","created_at":null,"updated_at":null}`,
		`{"id":12}`, `[]`, `null`, `"x"`, `{"id":12,"id":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !node.scanOK(data, v.respOpts) {
			return
		}
		var value any
		if err := json.Unmarshal(data, &value); err != nil {
			t.Fatalf("scan accepts %q, which does not decode: %v", data, err)
		}
		if !node.ok(value, v.respOpts) {
			t.Fatalf("scan accepts %q, which the decoded check refuses", data)
		}
	})
}
