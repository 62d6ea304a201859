// Package embedded is the smallest Spotzee-compatible service built on the
// generated stubs: the strict server interface over an in-memory store,
// behind conventions.NewHandler (the generated router, validate.Middleware
// and the conventions layer). Copy it to start your own.
package embedded

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"time"

	"github.com/oapi-codegen/nullable"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/conventions"
	"github.com/spotzeekit/spotzee-keys/server"
)

// Service keeps one project's keys in memory. Operations it does not
// implement answer 501 through the embedded server.Unimplemented.
type Service struct {
	server.Unimplemented
	mu   sync.Mutex
	keys map[int64]server.ProjectAPIKey
	next int64
}

// NewHandler returns the service behind the generated router, request (and,
// with validateResponses, response) validation and the conventions layer,
// mounted at /api/client. It returns an error if the stack cannot be built.
func NewHandler(validateResponses bool) (http.Handler, error) {
	return conventions.NewHandler(conventions.HandlerConfig{
		Server:            &Service{keys: map[int64]server.ProjectAPIKey{}},
		ValidateResponses: validateResponses,
	})
}

// CreateProjectAPIKey stores a key and returns it with its full value.
func (s *Service) CreateProjectAPIKey(_ context.Context, req server.CreateProjectAPIKeyRequestObject) (server.CreateProjectAPIKeyResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	now := nullable.NewNullableWithValue(time.Now().UTC().Format(time.RFC3339))
	k := server.ProjectAPIKey{ID: s.next, ProjectID: 1, Name: req.Body.Name, Description: req.Body.Description,
		Scope: server.APIKeyScopeSecret, Role: server.ProjectRoleSupport, CreatedAt: now, UpdatedAt: now}
	if req.Body.Scope != nil {
		k.Scope = *req.Body.Scope
	}
	if req.Body.Role != nil {
		k.Role = *req.Body.Role
	}
	prefix := map[server.APIKeyScope]string{server.APIKeyScopeSecret: "sk_", server.APIKeyScopePublic: "pk_"}[k.Scope]
	value := prefix + randomText()
	k.Value = value[:3] + "****" + value[len(value)-4:]
	s.keys[k.ID] = k
	return server.CreateProjectAPIKey200JSONResponse{Body: server.ProjectAPIKeyCreated{ID: k.ID, ProjectID: k.ProjectID,
		Name: k.Name, Description: k.Description, Scope: k.Scope, Role: k.Role, Value: value,
		CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}}, nil
}

// GetProjectAPIKey returns a key, value masked, or 404 resource_missing.
func (s *Service) GetProjectAPIKey(_ context.Context, req server.GetProjectAPIKeyRequestObject) (server.GetProjectAPIKeyResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[req.KeyID]
	if !ok {
		return nil, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with id %d.", req.KeyID)
	}
	return server.GetProjectAPIKey200JSONResponse{Body: k}, nil
}

// RevokeProjectAPIKey deletes a key, or answers 404 resource_missing.
func (s *Service) RevokeProjectAPIKey(_ context.Context, req server.RevokeProjectAPIKeyRequestObject) (server.RevokeProjectAPIKeyResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[req.KeyID]; !ok {
		return nil, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with id %d.", req.KeyID)
	}
	delete(s.keys, req.KeyID)
	revoked, at := true, time.Now().UTC().Format(time.RFC3339)
	return server.RevokeProjectAPIKey200JSONResponse{Body: server.APIKeyRevokeResponse{ID: &req.KeyID, Revoked: &revoked, RevokedAt: &at}}, nil
}

// randomText returns 26 random Crockford base32 characters.
func randomText() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 26)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return string(b)
}
