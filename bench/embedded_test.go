package bench

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/spotzeekit/spotzee-keys/examples/embedded"
)

// embeddedBase is the URL prefix of in-process requests to the embedding
// stack (examples/embedded, mounted at /api/client).
const embeddedBase = "http://127.0.0.1/api/client"

// embeddedBearer is a well-formed key: the embedding stack checks the
// scheme's format only (no Authenticator).
const embeddedBearer = "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"

// Embedding-stack variants: the generated router and strict server over
// the in-memory store of examples/embedded, behind the conventions layer,
// without validation (noval), with validate.Middleware (req) and with
// response validation too (req+resp).
const (
	embNoval   = "noval"
	embReq     = "req"
	embReqResp = "req+resp"
)

// embeddedHandlers returns the three embedding-stack variants, each holding
// one key (id 1).
func embeddedHandlers(tb testing.TB) map[string]http.Handler {
	tb.Helper()
	req, err := embedded.NewHandler(false)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := embedded.NewHandler(true)
	if err != nil {
		tb.Fatal(err)
	}
	hs := map[string]http.Handler{embNoval: embedded.NewUnvalidatedHandler(), embReq: req, embReqResp: resp}
	for name, h := range hs {
		r := embeddedRequest(http.MethodPost, "/keys", `{"name":"bench"}`)
		if w := serveHTTP(h, r); w.Code != http.StatusOK {
			tb.Fatalf("%s: create: status %d: %s", name, w.Code, w.Body)
		}
	}
	return hs
}

// embeddedRequest makes an authenticated request to the embedding stack.
func embeddedRequest(method, path, body string) *http.Request {
	var r *http.Request
	if body == "" {
		r, _ = http.NewRequest(method, embeddedBase+path, nil)
	} else {
		r, _ = http.NewRequest(method, embeddedBase+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", embeddedBearer)
	return r
}

// embeddedOps are the operations the throughput targets name.
var embeddedOps = []struct {
	name, method, path, body string
}{
	{"get", http.MethodGet, "/keys/1", ""},
	{"patch", http.MethodPatch, "/keys/1", `{"name":"renamed","description":null,"role":"editor"}`},
}

// BenchmarkEmbeddedValidation measures what request and response
// validation cost the embedding stack (examples/embedded: generated strict
// server, in-memory store, conventions.NewHandler) per operation,
// in-process (httptest.ResponseRecorder): the time of noval and each
// variant's ratio to it (see compare).
func BenchmarkEmbeddedValidation(b *testing.B) {
	for _, op := range embeddedOps {
		b.Run(op.name, func(b *testing.B) {
			hs := embeddedHandlers(b)
			var vs []variant
			for _, name := range []string{embNoval, embReq, embReqResp} {
				h := hs[name]
				vs = append(vs, variant{name: name, call: func(timer) error {
					if w := serveHTTP(h, embeddedRequest(op.method, op.path, op.body)); w.Code != http.StatusOK {
						return fmt.Errorf("%s %s: status %d: %s", op.method, op.path, w.Code, w.Body)
					}
					return nil
				}})
			}
			c := compare(b, vs)
			report(c.summary(fmt.Sprintf("EmbeddedValidation %s: examples/embedded in-process, in-memory store", op.name)))
		})
	}
}

// TestEmbeddedRequestsSucceed checks, quickly, that every request the
// embedding benchmark sends is answered 200 by every variant.
func TestEmbeddedRequestsSucceed(t *testing.T) {
	hs := embeddedHandlers(t)
	for _, op := range embeddedOps {
		for name, h := range hs {
			if w := serveHTTP(h, embeddedRequest(op.method, op.path, op.body)); w.Code != http.StatusOK {
				t.Errorf("%s %s %s: status %d: %s", name, op.method, op.path, w.Code, w.Body)
			}
		}
	}
}
