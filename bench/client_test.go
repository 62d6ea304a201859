package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spotzeekit/spotzee-keys/client"
)

// BenchmarkClient measures GET /keys/{id} from the caller's side against
// one reference server (varFull on in-memory SQLite, 100 keys, served by an
// httptest.Server on 127.0.0.1), three ways, each over its own keep-alive
// connection:
//
//   - plain: net/http — NewRequest, the Authorization header, Do,
//     io.ReadAll and json.Unmarshal into client.ProjectAPIKey;
//   - generated: client.ClientWithResponses.GetProjectAPIKeyWithResponse, which
//     decodes into the same type;
//   - wrapper: client.API.GetKey from client.New (SDK headers, retry loop
//     with per-attempt timeout, error mapping) — a success needs no retry.
//
// It compares them (see compare) with plain as the baseline; as the server
// is the same, the differences are the client libraries' own cost.
func BenchmarkClient(b *testing.B) {
	e := newEnv(b, ":memory:", 100)
	srv := httptest.NewServer(e.handlers[varFull])
	defer srv.Close()
	base := srv.URL + "/api/client"
	id := e.middleKey()
	ctx := context.Background()
	newHTTPClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}
	}

	plain := newHTTPClient()
	gen, err := client.NewClientWithResponses(base, client.WithHTTPClient(newHTTPClient()),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+e.adminKey)
			return nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	sdk, err := client.New(base, e.adminKey, client.WithHTTPClient(newHTTPClient()))
	if err != nil {
		b.Fatal(err)
	}

	ways := []variant{
		{"plain", func(timer) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/keys/%d", base, id), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+e.adminKey)
			resp, err := plain.Do(req)
			if err != nil {
				return err
			}
			data, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			var k client.ProjectAPIKey
			if err := json.Unmarshal(data, &k); err != nil {
				return err
			}
			return wantID(k.ID, id)
		}},
		{"generated", func(timer) error {
			resp, err := gen.GetProjectAPIKeyWithResponse(ctx, id, nil)
			if err != nil {
				return err
			}
			if resp.JSON200 == nil {
				return fmt.Errorf("status %d", resp.StatusCode())
			}
			return wantID(resp.JSON200.ID, id)
		}},
		{"wrapper", func(timer) error {
			k, err := sdk.GetKey(ctx, id)
			if err != nil {
				return err
			}
			return wantID(k.ID, id)
		}},
	}
	c := compare(b, ways)
	report(c.summary("Client: GET /keys/{id} from the caller's side, loopback HTTP, same server (full stack, in-memory SQLite)"))
}

func wantID(got, want int64) error {
	if got != want {
		return fmt.Errorf("got key %d, want %d", got, want)
	}
	return nil
}
