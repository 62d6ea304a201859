package validate_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/validate"
)

// pairs is a validate.Recorder that keeps every call in order.
type pairs struct {
	mu  sync.Mutex
	got []string
}

func (p *pairs) Record(op string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, op+" "+http.StatusText(status))
}

func (p *pairs) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

const validKey = `{"id":1,"project_id":1,"name":"a","value":"sk_****S1T2","scope":"secret","role":"admin","created_at":"2026-04-28T00:00:00Z","updated_at":"2026-04-28T00:00:00Z"}`

func TestTransportRecordsEveryMatchedResponse(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/client/keys/1":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(validKey))
		case "/api/client/keys/2":
			w.WriteHeader(http.StatusTeapot) // undocumented: a violation, still recorded
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(upstream.Close)
	v, err := validate.Default()
	require.NoError(t, err)

	tests := []struct {
		name      string
		method    string
		path      string
		auth      bool
		violation bool
		want      []string
	}{
		{name: "valid 200", method: http.MethodGet, path: "/api/client/keys/1", auth: true, want: []string{"getProjectApiKey OK"}},
		{name: "undocumented status", method: http.MethodGet, path: "/api/client/keys/2", auth: true, violation: true, want: []string{"getProjectApiKey I'm a teapot"}},
		{name: "refused request is not sent", method: http.MethodGet, path: "/api/client/keys/1", auth: false, violation: true, want: nil},
		{name: "unknown path is not recorded", method: http.MethodGet, path: "/api/client/nothing", auth: true, violation: true, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &pairs{}
			hc := &http.Client{Transport: v.Transport(nil, validate.WithRecorder(rec))}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, upstream.URL+tt.path, nil)
			require.NoError(t, err)
			if tt.auth {
				req.Header.Set("Authorization", bearer)
			}
			resp, err := hc.Do(req)
			if tt.violation {
				assert.Error(t, err)
			} else if assert.NoError(t, err) {
				_ = resp.Body.Close()
			}
			assert.Equal(t, tt.want, rec.list())
		})
	}
}

func TestMiddlewareAndObserverRecord(t *testing.T) {
	t.Parallel()
	v, err := validate.Default()
	require.NoError(t, err)
	inner := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(validKey))
	})

	tests := []struct {
		name string
		wrap func(validate.Recorder) http.Handler
		auth bool
		path string
		want []string
	}{
		{name: "middleware 200", wrap: func(r validate.Recorder) http.Handler { return v.Middleware(validate.RecordTo(r))(inner) },
			auth: true, path: "/api/client/keys/1", want: []string{"getProjectApiKey OK"}},
		{name: "middleware's own 401", wrap: func(r validate.Recorder) http.Handler { return v.Middleware(validate.RecordTo(r))(inner) },
			auth: false, path: "/api/client/keys/1", want: []string{"getProjectApiKey Unauthorized"}},
		{name: "middleware unknown path", wrap: func(r validate.Recorder) http.Handler { return v.Middleware(validate.RecordTo(r))(inner) },
			auth: true, path: "/api/client/other", want: nil},
		{name: "observer 200", wrap: func(r validate.Recorder) http.Handler { return v.Observer(r)(inner) },
			auth: true, path: "/api/client/keys/1", want: []string{"getProjectApiKey OK"}},
		{name: "observer validates nothing", wrap: func(r validate.Recorder) http.Handler { return v.Observer(r)(inner) },
			auth: false, path: "/api/client/keys/1", want: []string{"getProjectApiKey OK"}},
		{name: "observer unknown path", wrap: func(r validate.Recorder) http.Handler { return v.Observer(r)(inner) },
			auth: true, path: "/api/client/other", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &pairs{}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, tt.path, nil)
			if tt.auth {
				req.Header.Set("Authorization", bearer)
			}
			w := httptest.NewRecorder()
			tt.wrap(rec).ServeHTTP(w, req)
			assert.Equal(t, tt.want, rec.list())
		})
	}
}

func TestObserverKeepsHijackerAndRecordsNoResponse(t *testing.T) {
	t.Parallel()
	v, err := validate.Default()
	require.NoError(t, err)
	rec := &pairs{}
	srv := httptest.NewServer(v.Observer(rec)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if assert.NoError(t, err) {
			_ = conn.Close()
		}
	})))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/api/client/keys/1")
	if err == nil {
		_ = resp.Body.Close()
	}
	assert.Error(t, err, "the connection was hijacked and closed")
	assert.Empty(t, rec.list(), "no response, nothing recorded")
}

func TestRecordersOnPanics(t *testing.T) {
	t.Parallel()
	v, err := validate.Default()
	require.NoError(t, err)
	abort := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	lateAbort := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic(http.ErrAbortHandler)
	})
	wraps := map[string]func(validate.Recorder, http.Handler) http.Handler{
		"middleware": func(r validate.Recorder, h http.Handler) http.Handler { return v.Middleware(validate.RecordTo(r))(h) },
		"observer":   func(r validate.Recorder, h http.Handler) http.Handler { return v.Observer(r)(h) },
	}
	tests := []struct {
		name    string
		handler http.Handler
		want    []string
	}{
		{name: "ErrAbortHandler before a status: no response, nothing recorded", handler: abort, want: nil},
		{name: "other panic: the recovery's 500", handler: boom, want: []string{"getProjectApiKey Internal Server Error"}},
		{name: "ErrAbortHandler after a status: that status", handler: lateAbort, want: []string{"getProjectApiKey Accepted"}},
	}
	for wname, wrap := range wraps {
		for _, tt := range tests {
			t.Run(wname+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				rec := &pairs{}
				req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/client/keys/1", nil)
				req.Header.Set("Authorization", bearer)
				h := wrap(rec, tt.handler)
				assert.Panics(t, func() { h.ServeHTTP(httptest.NewRecorder(), req) }, "the panic reaches the server")
				assert.Equal(t, tt.want, rec.list())
			})
		}
	}
}
