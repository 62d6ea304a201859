package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

var profiles = []refserver.Profile{refserver.ProfileRollout, refserver.ProfileCurrent}

// profileServer is a reference server in profile p with 3 reads and 2 writes
// per 10 s window per key (which ProfileCurrent ignores), on a frozen clock.
func profileServer(t testing.TB, p refserver.Profile) *spotzeetest.Server {
	t.Helper()
	clock := newFakeClock()
	return spotzeetest.NewServer(t, spotzeetest.WithProfile(p), spotzeetest.WithClock(clock.Now),
		spotzeetest.WithRateLimits(ratelimit.Config{
			Override: &ratelimit.Limits{ReadPerWindow: 3, WritePerWindow: 2},
			Now:      clock.Now,
		}))
}

// outcome summarises a response for the profile table: the status, the
// code of an error, and the headers a scenario names.
func outcome(t testing.TB, resp response, headers ...string) string {
	t.Helper()
	s := fmt.Sprint(resp.Status)
	if resp.Status >= 400 {
		s += " " + string(requireProblem(t, resp, resp.Status, spotzee.Code(resp.json(t)["code"].(string))).Code)
	}
	for _, h := range headers {
		s += fmt.Sprintf(" %s=%s", h, strings.Join(resp.Header.Values(h), ","))
	}
	return s
}

// countNamed returns how many live keys of the server's project are named name.
func countNamed(t testing.TB, srv *spotzeetest.Server, name string) int {
	t.Helper()
	n := 0
	for _, k := range liveKeys(t, srv.Ref().Store(), srv.ProjectID) {
		if k.Name == name {
			n++
		}
	}
	return n
}

// TestProfilesDiffer runs one scenario table under both profiles: each row
// says what rollout (everything Spotzee documents) and current (production
// today) answer.
func TestProfilesDiffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, srv *spotzeetest.Server) string
		want map[refserver.Profile]string
	}{
		{
			name: "create retried with one Idempotency-Key",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				h := hdr("Idempotency-Key", "retry-1")
				first := do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"retried"}`, Header: h})
				second := do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"retried"}`, Header: h})
				require.Equal(t, http.StatusOK, first.Status, "body: %s", first.Body)
				sameID := first.json(t)["id"] == second.json(t)["id"]
				return fmt.Sprintf("%s; same id %v; keys %d", outcome(t, second, "Idempotent-Replayed"), sameID, countNamed(t, srv, "retried"))
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "200 Idempotent-Replayed=true; same id true; keys 1",
				refserver.ProfileCurrent: "200 Idempotent-Replayed=; same id false; keys 2",
			},
		},
		{
			name: "one Idempotency-Key, another body",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				h := hdr("Idempotency-Key", "retry-2")
				do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"a"}`, Header: h})
				return outcome(t, do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"b"}`, Header: h}))
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "409 idempotency_key_mismatch",
				refserver.ProfileCurrent: "200",
			},
		},
		{
			name: "over-long Idempotency-Key",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				return outcome(t, do(t, srv, call{Method: http.MethodPost, Path: "/keys", Body: `{"name":"long"}`,
					Header: hdr("Idempotency-Key", strings.Repeat("k", 256))}))
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "400 idempotency_key_invalid",
				refserver.ProfileCurrent: "200",
			},
		},
		{
			name: "unknown version date",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				return outcome(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: hdr("Spotzee-Version", "2031-01-01")}), "Spotzee-Version")
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "400 version_unsupported Spotzee-Version=" + httpapi.CurrentVersion,
				refserver.ProfileCurrent: "200 Spotzee-Version=2031-01-01",
			},
		},
		{
			name: "version that is not a date",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				return outcome(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: hdr("Spotzee-Version", "latest")}), "Spotzee-Version")
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "400 parameter_invalid_format Spotzee-Version=" + httpapi.CurrentVersion,
				refserver.ProfileCurrent: "400 parameter_invalid_format Spotzee-Version=" + httpapi.CurrentVersion,
			},
		},
		{
			name: "X-RateLimit-* headers",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				return outcome(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}), rateHeaders...)
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "200 X-RateLimit-Limit=3 X-RateLimit-Remaining=2 X-RateLimit-Reset=10 X-RateLimit-Tier=starter",
				refserver.ProfileCurrent: "200 X-RateLimit-Limit= X-RateLimit-Remaining= X-RateLimit-Reset= X-RateLimit-Tier=",
			},
		},
		{
			name: "mcp client type",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				return outcome(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys", Header: hdr("x-spotzee-client-type", "mcp")}), "X-RateLimit-Limit")
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "200 X-RateLimit-Limit=6",
				refserver.ProfileCurrent: "200 X-RateLimit-Limit=",
			},
		},
		{
			name: "burst past the per-key limit",
			run: func(t *testing.T, srv *spotzeetest.Server) string {
				var got []string
				for range 5 {
					got = append(got, outcome(t, do(t, srv, call{Method: http.MethodGet, Path: "/keys"}), "Retry-After"))
				}
				return strings.Join(got, "; ")
			},
			want: map[refserver.Profile]string{
				refserver.ProfileRollout: "200 Retry-After=; 200 Retry-After=; 200 Retry-After=; 429 rate_limited Retry-After=10; 429 rate_limited Retry-After=10",
				refserver.ProfileCurrent: "200 Retry-After=; 200 Retry-After=; 200 Retry-After=; 200 Retry-After=; 200 Retry-After=",
			},
		},
	}
	for _, tt := range tests {
		for _, p := range profiles {
			t.Run(tt.name+"/"+string(p), func(t *testing.T) {
				t.Parallel()
				srv := profileServer(t, p)
				assert.Equal(t, tt.want[p], tt.run(t, srv))
			})
		}
	}
}

func TestParseProfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    httpapi.Profile
		wantErr bool
	}{
		{"", httpapi.ProfileRollout, false},
		{"rollout", httpapi.ProfileRollout, false},
		{"current", httpapi.ProfileCurrent, false},
		{"Current", "", true},
		{"today", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := httpapi.ParseProfile(tt.in)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
