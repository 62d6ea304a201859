package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotzeekit/spotzee-keys/httpapi"
)

// inProcessBase is the URL prefix of in-process requests; nothing is sent
// over a network.
const inProcessBase = "http://127.0.0.1" + httpapi.APIPrefix

// BenchmarkValidationCost measures each operation (list, create, get,
// update, revoke) in-process — httptest.ResponseRecorder, no network — on
// in-memory SQLite holding 100 keys, through every handler variant (see
// varAlone and the constants after it), and reports each variant's time as
// a ratio to the strict handler alone (see compare).
func BenchmarkValidationCost(b *testing.B) {
	for _, op := range operations {
		b.Run(op.name, func(b *testing.B) {
			e := newEnv(b, ":memory:", 100)
			var vs []variant
			for _, name := range handlerVariants {
				h := e.handlers[name]
				vs = append(vs, variant{name: name, call: func(t timer) error {
					req, err := op.request(t, e, inProcessBase)
					if err != nil {
						return err
					}
					if w := serveHTTP(h, req); w.Code != op.status {
						return fmt.Errorf("%s: status %d, want %d: %s", op.name, w.Code, op.status, w.Body)
					}
					return nil
				}})
			}
			c := compare(b, vs)
			report(c.summary(fmt.Sprintf("ValidationCost %s: in-process, in-memory SQLite, 100 keys", op.name)))
		})
	}
}

// BenchmarkHTTPGetKey measures GET /keys/{id} end to end over loopback HTTP
// — an httptest.Server on 127.0.0.1 per variant, one keep-alive connection
// each, one request at a time — against a SQLite file database holding 1000
// keys, for every handler variant and the bare JSON handler, and checks the
// target that request validation adds at most 15% to the end-to-end
// latency (interleaved req/alone ≤ 1.15).
//
// httpapi cannot serve without validation: the bearer key is looked up by
// the validator's Authenticator. So "validation off" is varAlone (no
// conventions, no authentication either) and "on" is varReq, the same
// handler behind validate.Middleware: their difference is the validation
// cost alone. varFull, the server as shipped, adds authentication and the
// conventions middleware on top.
func BenchmarkHTTPGetKey(b *testing.B) {
	e := newEnv(b, filepath.Join(b.TempDir(), "keys.db"), 1000)
	path := fmt.Sprintf("/keys/%d", e.middleKey())
	var vs []variant
	serve := func(name string, h http.Handler, target string) {
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		tr := &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}
		b.Cleanup(tr.CloseIdleConnections)
		client := &http.Client{Transport: tr}
		url := srv.URL + target
		vs = append(vs, variant{name: name, call: func(timer) error {
			return roundTrip(client, e.newRequest(http.MethodGet, url, ""))
		}})
	}
	for _, name := range handlerVariants {
		serve(name, e.handlers[name], httpapi.APIPrefix+path)
	}
	serve("bare", BareHandler(), path)
	c := compare(b, vs)
	var sb strings.Builder
	sb.WriteString(c.summary("HTTPGetKey: GET /keys/{id}, loopback HTTP, SQLite file, 1000 keys, one request at a time"))
	if x, ok := c.ratio(varReq); ok {
		sb.WriteString("  " + verdict("request validation adds ≤ 15% (req/alone)", x, 1.15, true) + "\n")
	}
	if x, ok := c.ratio(varFull); ok {
		fmt.Fprintf(&sb, "  full stack / alone: %.2fx (adds authentication, conventions, access log; not a target)\n", x)
	}
	report(sb.String())
}

// roundTrip sends req, reads the whole body and wants a 200.
func roundTrip(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
