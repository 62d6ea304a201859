package bench

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// TestVariants checks, quickly and without timing anything, that every
// operation the benchmarks send succeeds through every handler variant and
// that no response breaks the spec, so the benchmarks measure successes.
func TestVariants(t *testing.T) {
	e := newEnv(t, ":memory:", 5)
	for _, op := range operations {
		for _, name := range handlerVariants {
			req, err := op.request(noTimer{}, e, inProcessBase)
			if err != nil {
				t.Fatal(err)
			}
			w := serveHTTP(e.handlers[name], req)
			if w.Code != op.status {
				t.Errorf("%s through %s: status %d, want %d: %s", op.name, name, w.Code, op.status, w.Body)
			}
			if got := w.Header().Get("X-Request-Id"); len(got) != len(testRequestID) {
				t.Errorf("%s through %s: X-Request-Id %q", op.name, name, got)
			}
		}
	}
	if n := e.violations.Load(); n > 0 {
		t.Errorf("%d responses broke the spec", n)
	}
}

// TestSeedKeysFile checks that keys seeded in bulk read back through the
// store and the server like keys made by CreateKey: listed in creation
// order, counted, fetched by id — and indexed for search, none left in the
// search queue (SQLite migrations 0011 and 0012).
func TestSeedKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	e := newEnv(t, path, 50)
	if len(e.seeded) != 50 {
		t.Fatalf("seeded %d keys", len(e.seeded))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The index (contentless, without per-row sizes since migration 0012)
	// cannot be scanned: count the keys it finds for "seed".
	var queued, indexed int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM api_keys_search_pending),
		(SELECT count(*) FROM api_keys_search WHERE api_keys_search MATCH '"seed"')`).
		Scan(&queued, &indexed); err != nil {
		t.Fatal(err)
	}
	if queued != 0 || indexed != 50 {
		t.Errorf("search queue %d keys, index finds %d for \"seed\", want 0 and 50", queued, indexed)
	}
	w := serveHTTP(e.handlers[varFull], e.newRequest(http.MethodGet, inProcessBase+"/keys?sort=id&limit=100", ""))
	var page struct {
		Results []struct {
			ID    int64  `json:"id"`
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"results"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &page) != nil {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	if got := w.Header().Get("X-Total-Count"); got != "52" {
		t.Errorf("X-Total-Count %s, want 52 (50 seeded, the system key, the admin key)", got)
	}
	if len(page.Results) != 52 || page.Results[2].ID != e.seeded[0] || page.Results[2].Name != "seed 0" ||
		page.Results[2].Value != "sk_****0000" {
		t.Errorf("list: %+v", page.Results[:min(3, len(page.Results))])
	}
	for _, op := range operations {
		req, err := op.request(noTimer{}, e, inProcessBase)
		if err != nil {
			t.Fatal(err)
		}
		if w := serveHTTP(e.handlers[varFullResp], req); w.Code != op.status {
			t.Errorf("%s: status %d: %s", op.name, w.Code, w.Body)
		}
	}
}

func TestBareHandler(t *testing.T) {
	w := httptest.NewRecorder()
	BareHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/anything", nil))
	var v map[string]any
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" || json.Unmarshal(w.Body.Bytes(), &v) != nil {
		t.Fatalf("bare handler: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i))
	}
	SortDurations(d)
	for p, want := range map[float64]time.Duration{50: 50, 99: 99, 100: 100, 1: 1, 0.1: 1} {
		if got := Percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

func TestProcessMemory(t *testing.T) {
	m, err := ProcessMemory(0)
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.Peak < m.Current || m.Current <= 0 {
		t.Errorf("implausible memory %+v", m)
	}
}
