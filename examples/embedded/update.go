package embedded

import (
	"context"
	"time"

	"github.com/oapi-codegen/nullable"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/server"
)

// UpdateProjectAPIKey changes the fields a PATCH sends (description null
// clears it) and returns the key, value masked, or 404 resource_missing.
func (s *Service) UpdateProjectAPIKey(_ context.Context, req server.UpdateProjectAPIKeyRequestObject) (server.UpdateProjectAPIKeyResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[req.KeyID]
	if !ok {
		return nil, spotzee.Errorf(spotzee.CodeResourceMissing, "No API key with id %d.", req.KeyID)
	}
	if b := req.Body; b != nil {
		if b.Name != nil {
			k.Name = *b.Name
		}
		if b.Description.IsSpecified() {
			k.Description = b.Description
		}
		if b.Scope != nil {
			k.Scope = *b.Scope
		}
		if b.Role != nil {
			k.Role = *b.Role
		}
	}
	k.UpdatedAt = nullable.NewNullableWithValue(time.Now().UTC().Format(time.RFC3339))
	s.keys[k.ID] = k
	return server.UpdateProjectAPIKey200JSONResponse{Body: k}, nil
}
