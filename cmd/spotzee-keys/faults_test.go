package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/faults"
)

// TestServeFaultEndpoint runs serve in-process with and without
// --fault-endpoint, scripts faults through the operator endpoint and checks
// what the Go client sees.
func TestServeFaultEndpoint(t *testing.T) {
	t.Parallel()
	const script = `{"rules":[
		{"operation":"createProjectApiKey","times":1,"fault":{"kind":"lose_response"}},
		{"operation":"listProjectApiKeys","times":1,"fault":{"kind":"error","code":"rate_limited","retry_after":"1s"}}]}`
	tests := []struct {
		name       string
		enabled    bool
		wantStatus int
	}{
		{name: "enabled", enabled: true, wantStatus: http.StatusOK},
		{name: "off by default", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			args := []string{"serve", "--db", ":memory:", "--addr", "127.0.0.1:0", "--rate-limits", "off"}
			if tt.enabled {
				args = append(args, "--fault-endpoint")
			}
			stdout, stderr := &serveBuffer{}, &serveBuffer{}
			done := make(chan int, 1)
			go func() { done <- run(ctx, args, stdout, stderr) }()
			var addr, key string
			require.Eventually(t, func() bool {
				out := stdout.String()
				m, k := serveServingLine.FindStringSubmatch(out), serveKeyLine.FindStringSubmatch(out)
				if m == nil || k == nil {
					return false
				}
				addr, key = m[1], k[1]
				return true
			}, serveWait, 10*time.Millisecond, stderr.String())
			base := "http://" + addr

			resp, err := http.Post(base+faults.EndpointPath, "application/json", strings.NewReader(script))
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode)

			if tt.enabled {
				var mu sync.Mutex
				var waits []time.Duration
				c, err := client.New(base+"/api/client", key, client.WithSleep(func(_ context.Context, d time.Duration) error {
					mu.Lock()
					defer mu.Unlock()
					waits = append(waits, d)
					return nil
				}))
				require.NoError(t, err)
				_, err = c.CreateKey(ctx, client.ProjectAPIKeyCreate{Name: "lost once"})
				require.NoError(t, err, "the lost response is recovered by the idempotent replay")
				list, err := c.ListKeys(ctx, nil)
				require.NoError(t, err)
				n := 0
				for _, k := range list.Results {
					if k.Name == "lost once" {
						n++
					}
				}
				assert.Equal(t, 1, n, "exactly one key created")
				mu.Lock()
				assert.Contains(t, waits, time.Second, "Retry-After honoured")
				mu.Unlock()
				assert.Contains(t, stderr.String(), "fault injected")
				assert.NotContains(t, stderr.String(), key)
			}
			cancel()
			select {
			case code := <-done:
				assert.Equal(t, 0, code, stderr.String())
			case <-time.After(serveWait):
				t.Fatal("serve did not stop")
			}
		})
	}
}
