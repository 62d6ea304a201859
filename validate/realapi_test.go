package validate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// upstream answers every request with one canned response, the way the
// real API might: no reference-server conventions around it.
func upstream(t *testing.T, status int, header map[string]string, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func clientFor(t *testing.T, url string, v *validate.Validator) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(url+"/api/client",
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil)}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", bearer)
			return nil
		}))
	require.NoError(t, err)
	return c
}

const (
	jsonCT    = "application/json"
	problemCT = "application/problem+json"
	// realKey is a key as a guide shows one: another value format, an
	// unknown field, a timestamp without sub-seconds.
	realKey = `{"id":7,"project_id":3,"name":"n","scope":"secret","role":"admin","value":"sk_a1b2...","created_at":"2026-04-28 09:30:00","updated_at":null,"last_used_at":"2026-05-01"}`
)

// TestFaithfulContractAcceptsRealAPIShapes: responses shaped like Spotzee's
// live API pass the default (faithful) contract and fail the reference
// profile where they break one of this project's own decisions.
func TestFaithfulContractAcceptsRealAPIShapes(t *testing.T) {
	t.Parallel()
	faithful, err := validate.Default()
	require.NoError(t, err)
	reference, err := validate.Reference()
	require.NoError(t, err)
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		call   call
		// referenceFails: the reference profile reports a violation.
		referenceFails bool
	}{
		{"200 create", 200, map[string]string{"Content-Type": jsonCT}, `{"id":7,"project_id":3,"name":"n","scope":"secret","role":"admin","value":"sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2","created_at":null,"updated_at":null}`, callCreate, true},
		{"error with error and without title, type, request_id", 429, map[string]string{"Content-Type": problemCT, "Retry-After": "3"},
			`{"status":"error","code":"rate_limited","message":"Too many requests","error":"Too many requests"}`, callList, true},
		{"key with an unknown field and another value format", 200, map[string]string{"Content-Type": jsonCT}, realKey, callGet, true},
		{"list of such keys", 200, map[string]string{"Content-Type": jsonCT},
			`{"results":[` + realKey + `],"nextCursor":null,"prevCursor":null,"limit":25,"total":1}`, callList, true},
		{"revoke acknowledgement of another shape", 200, map[string]string{"Content-Type": jsonCT}, `{"success":true}`, callRevoke, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := upstream(t, tt.status, tt.header, tt.body)
			status, err := tt.call(t.Context(), clientFor(t, url, faithful))
			require.NoError(t, err, "the faithful contract accepts what the real API sends")
			assert.Equal(t, tt.status, status)

			_, err = tt.call(t.Context(), clientFor(t, url, reference))
			var rv *validate.ResponseViolation
			assert.Equal(t, tt.referenceFails, err != nil && assert.ErrorAs(t, err, &rv), "reference profile: %v", err)
		})
	}
}

// TestReferenceProfileCatchesLeaks: against the reference profile, the
// reference server's own responses pass, and a full value on a read, an
// unknown (leaked) field and a malformed request id fail; the faithful
// contract lets the last two through.
func TestReferenceProfileCatchesLeaks(t *testing.T) {
	t.Parallel()
	reference, err := validate.Reference()
	require.NoError(t, err)
	faithful, err := validate.Default()
	require.NoError(t, err)

	// The reference server passes, through the reference profile.
	srv := spotzeetest.NewServer(t)
	ref, err := client.NewClientWithResponses(srv.URL,
		client.WithHTTPClient(&http.Client{Transport: reference.Transport(nil)}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+srv.AdminKey)
			return nil
		}))
	require.NoError(t, err)
	for _, c := range []call{callCreate, callList, callGet, callUpdate, callRevoke} {
		_, err := c(t.Context(), ref)
		require.NoError(t, err, "the reference server's responses pass the reference profile")
	}

	goodID := map[string]string{"Content-Type": jsonCT, "X-Request-Id": "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "Spotzee-Version": "2026-04-28"}
	badID := map[string]string{"Content-Type": jsonCT, "X-Request-Id": "request-42", "Spotzee-Version": "2026-04-28"}
	key := func(value, extra string) string {
		return `{"id":7,"project_id":3,"name":"n","scope":"secret","role":"admin","value":"` + value +
			`","created_at":"2026-04-28T09:30:00Z","updated_at":"2026-04-28T09:30:00Z"` + extra + `}`
	}
	tests := []struct {
		name           string
		header         map[string]string
		body           string
		faithfulPasses bool
	}{
		{"masked read passes", goodID, key("sk_****S1T2", ""), true},
		{"full value on a read", goodID, key("sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", ""), true},
		{"unknown field", goodID, key("sk_****S1T2", `,"key_hash":"9f2c"`), true},
		{"malformed request id", badID, key("sk_****S1T2", ""), true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := upstream(t, 200, tt.header, tt.body)
			_, err := callGet(t.Context(), clientFor(t, url, faithful))
			assert.Equal(t, tt.faithfulPasses, err == nil, "faithful: %v", err)
			_, err = callGet(t.Context(), clientFor(t, url, reference))
			if i == 0 {
				assert.NoError(t, err)
				return
			}
			var rv *validate.ResponseViolation
			require.ErrorAs(t, err, &rv)
			assert.NotContains(t, err.Error(), "01HXY7Z9K8M5J2N4P6Q8R0S1T2", "a violation never echoes a key value")
		})
	}
}
