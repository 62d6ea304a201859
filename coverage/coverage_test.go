package coverage_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/coverage"
	"github.com/spotzeekit/spotzee-keys/faults"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// documented lists every operation × status pair of the spec as
// "operationId status".
func documented(t *testing.T) []string {
	t.Helper()
	v, err := validate.Default()
	require.NoError(t, err)
	var out []string
	for _, item := range v.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			for code := range op.Responses.Map() {
				out = append(out, op.OperationID+" "+code)
			}
		}
	}
	return out
}

func names(entries []coverage.Entry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.String())
	}
	return out
}

// TestKnownSubsetThroughSpotzeetest exercises four pairs through the
// reference server and expects exactly those seen and every other
// documented pair unseen.
func TestKnownSubsetThroughSpotzeetest(t *testing.T) {
	t.Parallel()
	rec, err := coverage.Default()
	require.NoError(t, err)
	srv := spotzeetest.NewServer(t, spotzeetest.WithCoverage(rec))
	ctx := t.Context()

	created, err := srv.Client.CreateProjectAPIKeyWithResponse(ctx, nil, client.ProjectAPIKeyCreate{Name: "cov"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, created.StatusCode())
	for range 2 {
		got, err := srv.Client.GetProjectAPIKeyWithResponse(ctx, created.JSON200.ID, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode())
	}
	missing, err := srv.Client.GetProjectAPIKeyWithResponse(ctx, 999999, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, missing.StatusCode())
	for _, path := range []string{"/keys", "/nowhere"} { // no Authorization: 401, then an unknown path (not recorded)
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
	}

	rep := rec.Report()
	wantSeen := []string{"createProjectApiKey 200", "getProjectApiKey 200", "getProjectApiKey 404", "listProjectApiKeys 401"}
	assert.Equal(t, wantSeen, names(rep.Seen))
	var wantUnseen []string
	for _, p := range documented(t) {
		if !slices.Contains(wantSeen, p) {
			wantUnseen = append(wantUnseen, p)
		}
	}
	assert.ElementsMatch(t, wantUnseen, names(rep.Unseen))
	assert.Empty(t, rep.Undocumented)
	assert.Equal(t, len(wantSeen)+len(wantUnseen), rep.Documented)
	assert.Equal(t, 4, rep.Covered)
	assert.Equal(t, 2, rep.Seen[1].Count, "two GETs")
	assert.Equal(t, coverage.Entry{OperationID: "getProjectApiKey", Method: "GET", Path: "/keys/{keyId}", Status: 404, Count: 1}, rep.Seen[2])
}

func TestReportCheckTextAndJSON(t *testing.T) {
	t.Parallel()
	rec, err := coverage.Default()
	require.NoError(t, err)
	total := rec.Report().Documented
	require.Positive(t, total)
	rec.Record("listProjectApiKeys", 200)
	rec.Record("listProjectApiKeys", 200)
	rec.Record("listProjectApiKeys", 418)
	rec.Record("unknownOperation", 200)
	rep := rec.Report()
	ratio := 1 / float64(total)

	tests := []struct {
		name    string
		min     float64
		wantErr bool
	}{
		{name: "zero", min: 0},
		{name: "exactly met", min: ratio},
		{name: "missed", min: ratio * 2, wantErr: true},
		{name: "everything", min: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := rep.Check(tt.min)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), fmt.Sprintf("1 of %d", total))
			} else {
				assert.NoError(t, err)
			}
		})
	}

	assert.Equal(t, []string{"listProjectApiKeys 418", "unknownOperation 200"}, names(rep.Undocumented))
	assert.InDelta(t, ratio, rep.Ratio, 1e-12)

	var text bytes.Buffer
	require.NoError(t, rep.WriteText(&text))
	assert.Contains(t, text.String(), fmt.Sprintf("contract coverage: 1/%d", total))
	assert.Regexp(t, `listProjectApiKeys\s+GET\s+/keys\s+200 OK ×2`, text.String())
	assert.Contains(t, text.String(), "never seen (")
	assert.Contains(t, text.String(), "undocumented (2)")

	var buf bytes.Buffer
	require.NoError(t, rep.WriteJSON(&buf))
	var back coverage.Report
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, rep, back)

	rec.Reset()
	assert.Empty(t, rec.Report().Seen)
}

// fakeTB records Errorf calls.
type fakeTB struct {
	errors []string
	logs   []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

var _ coverage.TB = (*testing.T)(nil)

func TestRequire(t *testing.T) {
	t.Parallel()
	rec, err := coverage.Default()
	require.NoError(t, err)
	rec.Record("revokeProjectApiKey", 200)

	tests := []struct {
		name     string
		min      float64
		wantFail bool
	}{
		{name: "met", min: 0.005},
		{name: "missed", min: 0.8, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := &fakeTB{}
			coverage.Require(tb, rec, tt.min)
			if tt.wantFail {
				require.Len(t, tb.errors, 1)
				assert.Contains(t, tb.errors[0], "below the 80.0% required")
				assert.Contains(t, tb.errors[0], "never seen (")
			} else {
				assert.Empty(t, tb.errors)
				assert.Len(t, tb.logs, 1)
			}
		})
	}
}

func TestNewWithoutDocument(t *testing.T) {
	t.Parallel()
	rep := coverage.New(nil).Report()
	assert.Equal(t, 1.0, rep.Ratio)
	assert.NoError(t, rep.Check(1))
}

// TestInjectedFaultsCountAsSeen checks that spotzeetest records the
// injected answers, and nothing for a dropped connection.
func TestInjectedFaultsCountAsSeen(t *testing.T) {
	t.Parallel()
	rec, err := coverage.Default()
	require.NoError(t, err)
	srv := spotzeetest.NewServer(t, spotzeetest.WithCoverage(rec))
	srv.Faults().
		Next("listProjectApiKeys", 1, faults.Error(spotzee.CodeRateLimited, time.Second)).
		Next("listProjectApiKeys", 1, faults.Drop())
	for range 2 {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/keys", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+srv.AdminKey)
		req.Close = true
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
	assert.Equal(t, []string{"listProjectApiKeys 429"}, names(rec.Report().Seen))
}
