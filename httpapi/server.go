// Package httpapi serves the keys domain over HTTP: an implementation of the
// generated strict server interface, and the middleware that carries
// Spotzee's conventions (request ids, versions, authentication, rate limits,
// idempotency, problem+json errors). NewHandler assembles them.
package httpapi

import (
	"context"
	"time"

	"github.com/oapi-codegen/nullable"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/server"
)

// Server implements the generated strict server interface over the keys
// service. Requests reach it validated and authenticated (see NewHandler).
type Server struct {
	svc *keys.Service
}

var _ server.StrictServerInterface = (*Server)(nil)

// NewServer returns the strict handler implementation over svc.
func NewServer(svc *keys.Service) *Server { return &Server{svc: svc} }

func ts(t time.Time) nullable.Nullable[time.Time] { return nullable.NewNullableWithValue(t.UTC()) }

func optString(s *string) nullable.Nullable[string] {
	if s == nil {
		return nullable.NewNullNullable[string]()
	}
	return nullable.NewNullableWithValue(*s)
}

// toAPI renders a key as every read shows it: value masked.
func toAPI(k spotzee.APIKey) server.ApiKey {
	out := server.ApiKey{
		Id:          k.ID,
		ProjectId:   k.ProjectID,
		Name:        k.Name,
		Scope:       server.ApiKeyScope(k.Scope),
		Role:        server.ProjectRole(k.Role),
		Value:       k.MaskedValue(),
		CreatedAt:   ts(k.CreatedAt),
		UpdatedAt:   ts(k.UpdatedAt),
		Description: optString(k.Description),
	}
	if k.IsSystem {
		system := true
		out.IsSystemKey = &system
	}
	return out
}

// ListApiKeys implements server.StrictServerInterface.
func (s *Server) ListApiKeys(ctx context.Context, req server.ListApiKeysRequestObject) (server.ListApiKeysResponseObject, error) {
	st := stateFrom(ctx)
	p := req.Params
	in := keys.ListInput{Limit: p.Limit}
	if p.Cursor != nil {
		in.Cursor = *p.Cursor
	}
	if p.Page != nil {
		in.Prev = *p.Page == server.ListApiKeysParamsPagePrev
	}
	if p.Sort != nil {
		in.Sort = *p.Sort
	}
	if p.Direction != nil {
		in.Direction = string(*p.Direction)
	}
	if p.Q != nil {
		in.Query = *p.Q
	}
	page, err := s.svc.List(ctx, st.caller, in)
	if err != nil {
		return nil, err
	}
	body := server.ApiKeyPage{
		Results:    make([]server.ApiKey, 0, len(page.Keys)),
		Limit:      page.Limit,
		NextCursor: optString(page.NextCursor),
		PrevCursor: optString(page.PrevCursor),
	}
	for _, k := range page.Keys {
		body.Results = append(body.Results, toAPI(k))
	}
	total, limit := page.Total, page.Limit
	return server.ListApiKeys200JSONResponse{Body: body, Headers: server.ListApiKeys200ResponseHeaders{
		XRequestId: st.requestID, SpotzeeVersion: st.version, XTotalCount: &total, XLimit: &limit,
	}}, nil
}

// CreateApiKey implements server.StrictServerInterface.
func (s *Server) CreateApiKey(ctx context.Context, req server.CreateApiKeyRequestObject) (server.CreateApiKeyResponseObject, error) {
	st := stateFrom(ctx)
	in := keys.CreateInput{Name: req.Body.Name}
	if req.Body.Description.IsSpecified() && !req.Body.Description.IsNull() {
		d := req.Body.Description.MustGet()
		in.Description = &d
	}
	if req.Body.Scope != nil {
		in.Scope = spotzee.Scope(*req.Body.Scope)
	}
	if req.Body.Role != nil {
		in.Role = spotzee.Role(*req.Body.Role)
	}
	created, err := s.svc.Create(ctx, st.caller, in)
	if err != nil {
		return nil, err
	}
	k := toAPI(created.Key)
	return server.CreateApiKey201JSONResponse{
		Body: server.ApiKeyCreated{
			Id: k.Id, ProjectId: k.ProjectId, Name: k.Name, Scope: k.Scope, Role: k.Role,
			Value: created.Value, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt,
			Description: k.Description, IsSystemKey: k.IsSystemKey,
		},
		Headers: server.CreateApiKey201ResponseHeaders{XRequestId: st.requestID, SpotzeeVersion: st.version},
	}, nil
}

// GetApiKey implements server.StrictServerInterface.
func (s *Server) GetApiKey(ctx context.Context, req server.GetApiKeyRequestObject) (server.GetApiKeyResponseObject, error) {
	st := stateFrom(ctx)
	k, err := s.svc.Get(ctx, st.caller, req.KeyId)
	if err != nil {
		return nil, err
	}
	return server.GetApiKey200JSONResponse{Body: toAPI(k),
		Headers: server.GetApiKey200ResponseHeaders{XRequestId: st.requestID, SpotzeeVersion: st.version}}, nil
}

// UpdateApiKey implements server.StrictServerInterface.
func (s *Server) UpdateApiKey(ctx context.Context, req server.UpdateApiKeyRequestObject) (server.UpdateApiKeyResponseObject, error) {
	st := stateFrom(ctx)
	var u spotzee.KeyUpdate
	u.Name = req.Body.Name
	if req.Body.Description.IsSpecified() {
		u.SetDescription = true
		if !req.Body.Description.IsNull() {
			d := req.Body.Description.MustGet()
			u.Description = &d
		}
	}
	if req.Body.Scope != nil {
		sc := spotzee.Scope(*req.Body.Scope)
		u.Scope = &sc
	}
	if req.Body.Role != nil {
		r := spotzee.Role(*req.Body.Role)
		u.Role = &r
	}
	k, err := s.svc.Update(ctx, st.caller, req.KeyId, u)
	if err != nil {
		return nil, err
	}
	return server.UpdateApiKey200JSONResponse{Body: toAPI(k),
		Headers: server.UpdateApiKey200ResponseHeaders{XRequestId: st.requestID, SpotzeeVersion: st.version}}, nil
}

// RevokeApiKey implements server.StrictServerInterface.
func (s *Server) RevokeApiKey(ctx context.Context, req server.RevokeApiKeyRequestObject) (server.RevokeApiKeyResponseObject, error) {
	st := stateFrom(ctx)
	k, err := s.svc.Revoke(ctx, st.caller, req.KeyId)
	if err != nil {
		return nil, err
	}
	revokedAt := k.UpdatedAt
	if k.RevokedAt != nil {
		revokedAt = *k.RevokedAt
	}
	return server.RevokeApiKey200JSONResponse{
		Body:    server.ApiKeyRevocation{Id: k.ID, Revoked: true, RevokedAt: revokedAt.UTC()},
		Headers: server.RevokeApiKey200ResponseHeaders{XRequestId: st.requestID, SpotzeeVersion: st.version},
	}, nil
}
