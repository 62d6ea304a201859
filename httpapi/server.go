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
// service (the client surface) and the organisation service (the admin
// surface). Requests reach it validated and authenticated (see NewHandler).
type Server struct {
	svc  *keys.Service
	orgs OrgService
}

var _ server.StrictServerInterface = (*Server)(nil)

// NewServer returns the strict handler implementation over svc and, for the
// admin surface, o (nil: no admin surface; NewHandler's authenticator then
// refuses every admin request). It cannot fail.
func NewServer(svc *keys.Service, o OrgService) *Server { return &Server{svc: svc, orgs: o} }

// ts renders a time as the reference server always does: RFC 3339 in UTC,
// with sub-second digits when there are any.
func ts(t time.Time) nullable.Nullable[string] { return nullable.NewNullableWithValue(rfc3339(t)) }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optString(s *string) nullable.Nullable[string] {
	if s == nil {
		return nullable.NewNullNullable[string]()
	}
	return nullable.NewNullableWithValue(*s)
}

// toAPI renders a key as every read shows it: value masked.
func toAPI(k spotzee.APIKey) server.ProjectAPIKey {
	out := server.ProjectAPIKey{
		ID:          k.ID,
		ProjectID:   k.ProjectID,
		Name:        k.Name,
		Scope:       server.APIKeyScope(k.Scope),
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

// ListProjectAPIKeys implements server.StrictServerInterface.
func (s *Server) ListProjectAPIKeys(ctx context.Context, req server.ListProjectAPIKeysRequestObject) (server.ListProjectAPIKeysResponseObject, error) {
	st := stateFrom(ctx)
	p := req.Params
	in := listInput(p.Cursor, p.Page, p.Limit, p.Sort, p.Direction, p.Q)
	page, err := s.svc.List(ctx, st.caller, in)
	if err != nil {
		return nil, err
	}
	body := server.ProjectAPIKeyList{
		Results:    make([]server.ProjectAPIKey, 0, len(page.Keys)),
		Limit:      page.Limit,
		NextCursor: optString(page.NextCursor),
		PrevCursor: optString(page.PrevCursor),
	}
	for _, k := range page.Keys {
		body.Results = append(body.Results, toAPI(k))
	}
	total, limit := page.Total, page.Limit
	return server.ListProjectAPIKeys200JSONResponse{Body: body, Headers: server.ListProjectAPIKeys200ResponseHeaders{
		XRequestID: &st.requestID, SpotzeeVersion: &st.version, XTotalCount: &total, XLimit: &limit,
	}}, nil
}

// CreateProjectAPIKey implements server.StrictServerInterface.
func (s *Server) CreateProjectAPIKey(ctx context.Context, req server.CreateProjectAPIKeyRequestObject) (server.CreateProjectAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	body := req.Body
	if body == nil { // absent body: the same as {}
		body = &server.CreateProjectAPIKeyJSONRequestBody{}
	}
	in := keys.CreateInput{Name: body.Name}
	in.Description = valueOf(body.Description)
	if body.Scope != nil {
		in.Scope = spotzee.Scope(*body.Scope)
	}
	if body.Role != nil {
		in.Role = spotzee.Role(*body.Role)
	}
	if run := st.idem; run != nil {
		// The key and its replayable response commit together.
		in.Idempotent = &keys.Idempotent{APIKeyID: st.principal(), Key: run.key, Begun: run.begun, Response: func(c keys.Created) ([]byte, error) {
			return run.sealJSON(createdBody(c))
		}}
	}
	created, err := s.svc.Create(ctx, st.caller, in)
	if in.Idempotent != nil && (err == nil || spotzee.ErrorCode(err) == spotzee.CodeIdempotencyInProgress) {
		st.idem.settled = true
	}
	if err != nil {
		return nil, err
	}
	return server.CreateProjectAPIKey200JSONResponse{
		Body:    createdBody(created),
		Headers: server.CreateProjectAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version},
	}, nil
}

// createdBody is the body of a project key create's response.
func createdBody(c keys.Created) server.ProjectAPIKeyCreated {
	k := toAPI(c.Key)
	return server.ProjectAPIKeyCreated{
		ID: k.ID, ProjectID: k.ProjectID, Name: k.Name, Scope: k.Scope, Role: k.Role,
		Value: c.Value, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt,
		Description: k.Description, IsSystemKey: k.IsSystemKey,
	}
}

// GetProjectAPIKey implements server.StrictServerInterface.
func (s *Server) GetProjectAPIKey(ctx context.Context, req server.GetProjectAPIKeyRequestObject) (server.GetProjectAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	var (
		k   spotzee.APIKey
		err error
	)
	if st.got != nil && st.gotID == req.KeyID {
		k, err = st.got.Key, st.got.KeyErr // read with the bearer key
	} else {
		k, err = s.svc.Get(ctx, st.caller, req.KeyID)
	}
	if err != nil {
		return nil, err
	}
	return server.GetProjectAPIKey200JSONResponse{Body: toAPI(k),
		Headers: server.GetProjectAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version}}, nil
}

// UpdateProjectAPIKey implements server.StrictServerInterface.
func (s *Server) UpdateProjectAPIKey(ctx context.Context, req server.UpdateProjectAPIKeyRequestObject) (server.UpdateProjectAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	body := req.Body
	if body == nil { // absent body: the same as {}
		body = &server.UpdateProjectAPIKeyJSONRequestBody{}
	}
	var u spotzee.KeyUpdate
	u.Name = body.Name
	if body.Description.IsSpecified() {
		u.SetDescription = true
		if !body.Description.IsNull() {
			d := body.Description.MustGet()
			u.Description = &d
		}
	}
	if body.Scope != nil {
		sc := spotzee.Scope(*body.Scope)
		u.Scope = &sc
	}
	if body.Role != nil {
		r := spotzee.Role(*body.Role)
		u.Role = &r
	}
	// The update and its replayable response commit together.
	u.Finish = finishInTx(st, func(k spotzee.APIKey) any { return toAPI(k) })
	k, err := s.svc.Update(ctx, st.caller, req.KeyID, u)
	settleInTx(st, u.Finish != nil, err)
	if err != nil {
		return nil, err
	}
	return server.UpdateProjectAPIKey200JSONResponse{Body: toAPI(k),
		Headers: server.UpdateProjectAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version}}, nil
}

// RevokeProjectAPIKey implements server.StrictServerInterface.
func (s *Server) RevokeProjectAPIKey(ctx context.Context, req server.RevokeProjectAPIKeyRequestObject) (server.RevokeProjectAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	k, err := s.svc.Revoke(ctx, st.caller, req.KeyID)
	if err != nil {
		return nil, err
	}
	revokedAt := k.UpdatedAt
	if k.RevokedAt != nil {
		revokedAt = *k.RevokedAt
	}
	revoked, at := true, rfc3339(revokedAt)
	return server.RevokeProjectAPIKey200JSONResponse{
		Body:    server.APIKeyRevokeResponse{ID: &k.ID, Revoked: &revoked, RevokedAt: &at},
		Headers: server.RevokeProjectAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version},
	}, nil
}

// valueOf returns a nullable field's value, nil when it is null or absent.
func valueOf(n nullable.Nullable[string]) *string {
	v, err := n.Get()
	if err != nil {
		return nil
	}
	return &v
}
