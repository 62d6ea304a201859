package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spotzeekit/spotzee-keys/bench/ogenpeer/api"
)

// store keeps one project's keys in memory.
type store struct {
	api.UnimplementedHandler
	mu   sync.Mutex
	keys map[int64]api.ProjectApiKey
}

func newStore(n int) *store {
	s := &store{keys: make(map[int64]api.ProjectApiKey, n)}
	now := api.NewNilString(time.Now().UTC().Format(time.RFC3339))
	for i := int64(1); i <= int64(n); i++ {
		s.keys[i] = api.ProjectApiKey{ID: i, ProjectID: 1, Name: "key " + strconv.FormatInt(i, 10),
			Scope: api.ApiKeyScopeSecret, Role: api.ProjectRoleSupport, Value: "sk_****ABCD",
			CreatedAt: now, UpdatedAt: now}
	}
	return s
}

func notFound(id int64) api.ErrorResponseHeaders {
	msg := "No API key with id " + strconv.FormatInt(id, 10) + "."
	return api.ErrorResponseHeaders{Response: api.ErrorResponse{Status: api.ErrorResponseStatusError, Code: api.ErrorCodeResourceMissing,
		Message: msg, Error: msg}}
}

// GetProjectApiKey returns a key or 404.
func (s *store) GetProjectApiKey(_ context.Context, p api.GetProjectApiKeyParams) (api.GetProjectApiKeyRes, error) {
	s.mu.Lock()
	k, ok := s.keys[p.KeyId]
	s.mu.Unlock()
	if !ok {
		nf := api.GetProjectApiKeyNotFound(notFound(p.KeyId))
		return &nf, nil
	}
	return &api.ProjectApiKeyHeaders{Response: k}, nil
}

// UpdateProjectApiKey changes the fields sent and returns the key, or 404.
func (s *store) UpdateProjectApiKey(_ context.Context, req api.OptProjectApiKeyUpdate, p api.UpdateProjectApiKeyParams) (api.UpdateProjectApiKeyRes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[p.KeyId]
	if !ok {
		return &api.UpdateProjectApiKeyNotFound{Response: notFound(p.KeyId).Response}, nil
	}
	if u, set := req.Get(); set {
		if v, ok := u.Name.Get(); ok {
			k.Name = v
		}
		if u.Description.Set {
			k.Description = u.Description
		}
		if v, ok := u.Scope.Get(); ok {
			k.Scope = v
		}
		if v, ok := u.Role.Get(); ok {
			k.Role = v
		}
	}
	k.UpdatedAt = api.NewNilString(time.Now().UTC().Format(time.RFC3339))
	s.keys[k.ID] = k
	return &api.UpdateProjectApiKeyOKHeaders{Response: k}, nil
}

// bearer accepts any token: like the embedding stack without an
// Authenticator, it checks the scheme only (ogen has parsed it).
type bearer struct{}

func (bearer) HandleBearerAuth(ctx context.Context, _ api.OperationName, t api.BearerAuth) (context.Context, error) {
	if t.Token == "" {
		return ctx, errors.New("no token")
	}
	return ctx, nil
}

func main() {
	n := 1000
	if s := os.Getenv("SPOTZEE_LOAD_KEYS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "ogenpeer: bad SPOTZEE_LOAD_KEYS")
			os.Exit(1)
		}
	}
	lifetime := 10 * time.Minute
	if s := os.Getenv("SPOTZEE_LOAD_LIFETIME"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs > 0 {
			lifetime = time.Duration(secs) * time.Second
		}
	}
	srv, err := api.NewServer(newStore(n), bearer{}, api.WithPathPrefix("/api/client"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ogenpeer:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ogenpeer:", err)
		os.Exit(1)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	line, _ := json.Marshal(map[string]any{"addr": ln.Addr().String(), "first_id": 1, "keys": n})
	fmt.Printf("%s\n", line)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(lifetime):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
}
