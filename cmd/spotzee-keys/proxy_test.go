package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/proxy"
)

var proxyListening = regexp.MustCompile(`Proxying http://(\S+) to `)

func TestProxyCommand(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot) // undocumented for every operation
	}))
	t.Cleanup(upstream.Close)

	tests := []struct {
		name     string
		args     []string
		request  bool
		wantCode int
	}{
		{name: "violation fails the run", args: []string{"--fail-on-violation"}, request: true, wantCode: 1},
		{name: "violation reported only", request: true, wantCode: 0},
		{name: "no traffic", args: []string{"--fail-on-violation", "--profile", "reference"}, wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			jsonPath, junitPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stdout, stderr := &serveBuffer{}, &serveBuffer{}
			args := append([]string{"proxy", "--upstream", upstream.URL, "--addr", "127.0.0.1:0",
				"--report-json", jsonPath, "--report-junit", junitPath, "--log-format", "json"}, tt.args...)
			done := make(chan int, 1)
			go func() { done <- run(ctx, args, stdout, stderr) }()

			var addr string
			require.Eventually(t, func() bool {
				m := proxyListening.FindStringSubmatch(stdout.String())
				if m != nil {
					addr = m[1]
				}
				return m != nil
			}, serveWait, 10*time.Millisecond, stderr.String())
			if tt.request {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/client/keys/1", nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				assert.Equal(t, http.StatusTeapot, resp.StatusCode)
			}
			cancel()
			select {
			case code := <-done:
				assert.Equal(t, tt.wantCode, code, stderr.String())
			case <-time.After(serveWait):
				t.Fatal("the proxy did not stop")
			}

			data, err := os.ReadFile(jsonPath)
			require.NoError(t, err)
			var rep proxy.Report
			require.NoError(t, json.Unmarshal(data, &rep))
			data, err = os.ReadFile(junitPath)
			require.NoError(t, err)
			var junit proxy.JUnitSuites
			require.NoError(t, xml.Unmarshal(data, &junit))
			if tt.request {
				assert.Len(t, rep.Violations, 1)
				assert.Equal(t, 1, junit.Failures)
				assert.Contains(t, stderr.String(), `"msg":"contract violation"`)
				assert.NotContains(t, stderr.String(), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
			} else {
				assert.Empty(t, rep.Violations)
				assert.Equal(t, 0, junit.Tests)
			}
		})
	}
}

func TestProxyCommandUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"proxy"},
		{"proxy", "--upstream", "http://127.0.0.1:1", "--profile", "strict"},
		{"proxy", "--upstream", "not a url"},
	} {
		stdout, stderr := &serveBuffer{}, &serveBuffer{}
		assert.Equal(t, 2, run(t.Context(), args, stdout, stderr), args)
	}
}
