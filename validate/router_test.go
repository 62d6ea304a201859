package validate

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/getkin/kin-openapi/routers/legacy"
)

// TestRouterAgreesWithLegacy checks that the validator's own router finds
// the same operation and path parameters as kin-openapi's legacy router,
// which it replaced, for every kind of path: each template, trailing
// slashes, empty and doubled segments, other letter case, unknown paths,
// and every method.
func TestRouterAgreesWithLegacy(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithReferenceProfile()}} {
		v, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		old, err := legacy.NewRouter(v.doc)
		if err != nil {
			t.Fatal(err)
		}
		paths := []string{
			"/", "", "/keys", "/keys/", "/keys//", "/keys/12", "/keys/12/", "/keys/12/x", "/keys//12",
			"/Keys", "/keys/abc", "/me", "/me/", "/organizations/me", "/organizations/api-keys",
			"/organizations/api-keys/7", "/organizations/api-keys/7/", "/organizations/x/7",
			"/projects", "/projects/3", "/projects/3/keys", "/nope", "keys", "/keys/{keyId}",
		}
		for _, p := range paths {
			for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "get"} {
				want, wantParams, wantErr := old.FindRoute(&http.Request{Method: m, URL: &url.URL{Path: p}})
				for _, value := range wantParams {
					if value == "" { // the validator refused these before too
						want, wantErr = nil, errNoBearer
					}
				}
				got, gotParams, _, gotErr := v.route(m, p)
				if (wantErr == nil) != (gotErr == nil) {
					t.Errorf("%s %q: legacy err %v, ours %v", m, p, wantErr, gotErr)
					continue
				}
				if wantErr != nil {
					continue
				}
				if got.Operation != want.Operation || got.Path != want.Path {
					t.Errorf("%s %q: legacy %s, ours %s", m, p, want.Path, got.Path)
				}
				if len(gotParams) != len(wantParams) {
					t.Errorf("%s %q: params %v, legacy %v", m, p, gotParams, wantParams)
				}
				for k, val := range wantParams {
					if gotParams[k] != val {
						t.Errorf("%s %q: param %s = %q, legacy %q", m, p, k, gotParams[k], val)
					}
				}
			}
		}
	}
}
