package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeSQLiteTwoProcessesAuthCache runs two serve processes on one
// SQLite file with their authenticated-key caches on (the default) and off:
// a key warmed on B (its caller, tier and GET's key cached) and then
// revoked or demoted through A is refused on B's very next request, because
// A's commit changes the WAL-index header both processes read.
func TestServeSQLiteTwoProcessesAuthCache(t *testing.T) {
	t.Parallel()
	bin := buildServeBinary(t)
	for _, cache := range []string{"on", "off"} {
		t.Run("auth cache "+cache, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(dir, "shared.db")
			start := func() *serveProc {
				return startServe(t, bin, dir, "serve", "--addr", "127.0.0.1:0", "--db", db, "--auth-cache", cache)
			}
			pa := start()
			admin := pa.waitFor(t, serveKeyLine)
			a := "http://" + pa.waitFor(t, serveServingLine)
			pb := start()
			b := "http://" + pb.waitFor(t, serveServingLine)
			waitHealthy(t, a)
			waitHealthy(t, b)

			tests := []struct {
				name   string
				change func(id int64) (*http.Response, []byte)
				want   int
			}{
				{"revoke", func(id int64) (*http.Response, []byte) {
					return serveDo(t, a, admin, http.MethodDelete, fmt.Sprintf("/api/client/keys/%d", id), "")
				}, http.StatusUnauthorized},
				{"demote", func(id int64) (*http.Response, []byte) {
					return serveDo(t, a, admin, http.MethodPatch, fmt.Sprintf("/api/client/keys/%d", id), `{"role":"support"}`)
				}, http.StatusForbidden},
			}
			for _, tc := range tests {
				status, k, body := createOn(t, a, admin, tc.name)
				require.Equal(t, http.StatusOK, status, "%s", body)
				path := fmt.Sprintf("/api/client/keys/%d", k.ID)
				for range 3 {
					resp, body := serveDo(t, b, k.Value, http.MethodGet, path, "")
					require.Equal(t, http.StatusOK, resp.StatusCode, "%s: warm on B: %s", tc.name, body)
				}
				resp, body := tc.change(k.ID)
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s on A: %s", tc.name, body)
				resp, body = serveDo(t, b, k.Value, http.MethodGet, path, "")
				assert.Equal(t, tc.want, resp.StatusCode, "%s: B's very next request: %s", tc.name, body)
			}
			pa.stop(t)
			pb.stop(t)
		})
	}
}
