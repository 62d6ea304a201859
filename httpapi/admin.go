package httpapi

import (
	"context"

	"github.com/oapi-codegen/nullable"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keymaterial"
	"github.com/spotzeekit/spotzee-keys/orgs"
	"github.com/spotzeekit/spotzee-keys/server"
)

// AdminPrefix is where the admin surface (organisation keys) is mounted, as
// on the real service.
const AdminPrefix = "/api/admin"

// OrgService is what the admin surface needs of the organisation service
// (*orgs.Service implements it): the seam handlers are tested across.
type OrgService interface {
	// Authenticate returns the live organisation key of a bearer token, or
	// authentication_required.
	Authenticate(ctx context.Context, token string) (spotzee.OrgKey, error)
	// Me returns the caller's organisation.
	Me(ctx context.Context, caller spotzee.OrgKey) (spotzee.Organization, error)
	// ListKeys, CreateKey, GetKey, UpdateKey and RevokeKey manage the
	// caller's organisation's keys.
	ListKeys(ctx context.Context, caller spotzee.OrgKey, in keymaterial.ListInput) (orgs.KeyPage, error)
	CreateKey(ctx context.Context, caller spotzee.OrgKey, in orgs.KeyInput) (orgs.Created, error)
	GetKey(ctx context.Context, caller spotzee.OrgKey, id int64) (spotzee.OrgKey, error)
	UpdateKey(ctx context.Context, caller spotzee.OrgKey, id int64, u spotzee.OrgKeyUpdate) (spotzee.OrgKey, error)
	RevokeKey(ctx context.Context, caller spotzee.OrgKey, id int64) (spotzee.OrgKey, error)
	// ListProjects, CreateProject and UpdateProject manage the caller's
	// organisation's projects.
	ListProjects(ctx context.Context, caller spotzee.OrgKey, in keymaterial.ListInput) (orgs.ProjectPage, error)
	CreateProject(ctx context.Context, caller spotzee.OrgKey, in orgs.ProjectInput) (spotzee.Project, error)
	UpdateProject(ctx context.Context, caller spotzee.OrgKey, id int64, u spotzee.ProjectUpdate) (spotzee.Project, error)
}

var _ OrgService = (*orgs.Service)(nil)

func nullableString(s *string) nullable.Nullable[string] {
	if s == nil {
		return nullable.Nullable[string]{}
	}
	return nullable.NewNullableWithValue(*s)
}

func nullableBool(b *bool) nullable.Nullable[bool] {
	if b == nil {
		return nullable.Nullable[bool]{}
	}
	return nullable.NewNullableWithValue(*b)
}

// toOrgKey renders an organisation key as every read shows it: value masked.
func toOrgKey(k spotzee.OrgKey) server.OrganizationAPIKey {
	return server.OrganizationAPIKey{
		ID:             k.ID,
		OrganizationID: k.OrganizationID,
		Name:           k.Name,
		Description:    optString(k.Description),
		Role:           server.OrganizationRole(k.Role),
		Value:          k.MaskedValue(),
		CreatedAt:      ts(k.CreatedAt),
		UpdatedAt:      ts(k.UpdatedAt),
	}
}

// toOrgProject renders a project of the admin surface; unset optional
// settings are left out.
func toOrgProject(p spotzee.Project) server.OrgProject {
	return server.OrgProject{
		ID:                p.ID,
		OrganizationID:    p.OrganizationID,
		Name:              p.Name,
		Locale:            p.Locale,
		Timezone:          p.Timezone,
		Description:       nullableString(p.Description),
		WebsiteURL:        nullableString(p.WebsiteURL),
		TextOptOutMessage: nullableString(p.TextOptOutMessage),
		TextHelpMessage:   nullableString(p.TextHelpMessage),
		LinkWrapEmail:     nullableBool(p.LinkWrapEmail),
		LinkWrapPush:      nullableBool(p.LinkWrapPush),
		TrackOpensEmail:   nullableBool(p.TrackOpensEmail),
		DeeplinkMirrorURL: nullableString(p.DeeplinkMirrorURL),
		CreatedAt:         ts(p.CreatedAt),
		UpdatedAt:         ts(p.UpdatedAt),
	}
}

// single adds what single-project create and update responses carry: the
// caller's effective project role and has_provider.
func single(p spotzee.Project) server.OrgProject {
	out := toOrgProject(p)
	role, provider := server.OrgProjectRole(orgs.EffectiveProjectRole), false
	out.Role, out.HasProvider = &role, &provider
	return out
}

func listInput(cursor *string, page *server.PageDirection, limit *int, sort *string, direction *server.SortDirection, q *string) keymaterial.ListInput {
	in := keymaterial.ListInput{Limit: limit}
	if cursor != nil {
		in.Cursor = *cursor
	}
	if page != nil {
		in.Prev = *page == server.PageDirectionPrev
	}
	if sort != nil {
		in.Sort = *sort
	}
	if direction != nil {
		in.Direction = string(*direction)
	}
	if q != nil {
		in.Query = *q
	}
	return in
}

// GetCurrentProject implements server.StrictServerInterface.
func (s *Server) GetCurrentProject(ctx context.Context, _ server.GetCurrentProjectRequestObject) (server.GetCurrentProjectResponseObject, error) {
	st := stateFrom(ctx)
	p, err := s.svc.CurrentProject(ctx, st.caller)
	if err != nil {
		return nil, err
	}
	o := toOrgProject(p)
	return server.GetCurrentProject200JSONResponse{
		Body: server.Project{
			ID: o.ID, OrganizationID: o.OrganizationID, Name: o.Name, Locale: o.Locale, Timezone: o.Timezone,
			Description: o.Description, WebsiteURL: o.WebsiteURL, TextOptOutMessage: o.TextOptOutMessage,
			TextHelpMessage: o.TextHelpMessage, LinkWrapEmail: o.LinkWrapEmail, LinkWrapPush: o.LinkWrapPush,
			TrackOpensEmail: o.TrackOpensEmail, DeeplinkMirrorURL: o.DeeplinkMirrorURL,
			CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
			Role: server.ProjectRole(st.caller.Role), HasProvider: false,
		},
		Headers: server.GetCurrentProject200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version},
	}, nil
}

// GetCurrentOrganization implements server.StrictServerInterface.
func (s *Server) GetCurrentOrganization(ctx context.Context, _ server.GetCurrentOrganizationRequestObject) (server.GetCurrentOrganizationResponseObject, error) {
	st := stateFrom(ctx)
	o, err := s.orgs.Me(ctx, st.org)
	if err != nil {
		return nil, err
	}
	return server.GetCurrentOrganization200JSONResponse{
		Body: server.OrgMeResponse{
			Organization: server.Organization{ID: o.ID, Username: o.Username, Domain: nullableString(o.Domain),
				CreatedAt: ts(o.CreatedAt), UpdatedAt: ts(o.UpdatedAt)},
			Role: server.OrganizationCallerRole(st.org.Role),
		},
		Headers: server.GetCurrentOrganization200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version},
	}, nil
}

// ListOrganizationAPIKeys implements server.StrictServerInterface.
func (s *Server) ListOrganizationAPIKeys(ctx context.Context, req server.ListOrganizationAPIKeysRequestObject) (server.ListOrganizationAPIKeysResponseObject, error) {
	st := stateFrom(ctx)
	p := req.Params
	page, err := s.orgs.ListKeys(ctx, st.org, listInput(p.Cursor, p.Page, p.Limit, p.Sort, p.Direction, p.Q))
	if err != nil {
		return nil, err
	}
	body := server.OrganizationAPIKeyList{
		Results:    make([]server.OrganizationAPIKey, 0, len(page.Keys)),
		Limit:      page.Limit,
		NextCursor: optString(page.NextCursor),
		PrevCursor: optString(page.PrevCursor),
	}
	for _, k := range page.Keys {
		body.Results = append(body.Results, toOrgKey(k))
	}
	total, limit := page.Total, page.Limit
	return server.ListOrganizationAPIKeys200JSONResponse{Body: body, Headers: server.ListOrganizationAPIKeys200ResponseHeaders{
		XRequestID: &st.requestID, SpotzeeVersion: &st.version, XTotalCount: &total, XLimit: &limit,
	}}, nil
}

// CreateOrganizationAPIKey implements server.StrictServerInterface.
func (s *Server) CreateOrganizationAPIKey(ctx context.Context, req server.CreateOrganizationAPIKeyRequestObject) (server.CreateOrganizationAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	body := req.Body
	if body == nil { // absent body: the same as {}
		body = &server.CreateOrganizationAPIKeyJSONRequestBody{}
	}
	in := orgs.KeyInput{Name: body.Name}
	in.Description = valueOf(body.Description)
	if body.Role != nil {
		in.Role = spotzee.OrgRole(*body.Role)
	}
	if run := st.idem; run != nil {
		// The key and its replayable response commit together.
		in.Idempotent = &orgs.Idempotent{APIKeyID: st.principal(), Key: run.key, Begun: run.begun, Response: func(c orgs.Created) ([]byte, error) {
			return run.sealJSON(orgCreatedBody(c))
		}}
	}
	c, err := s.orgs.CreateKey(ctx, st.org, in)
	if in.Idempotent != nil && (err == nil || spotzee.ErrorCode(err) == spotzee.CodeIdempotencyInProgress) {
		st.idem.settled = true
	}
	if err != nil {
		return nil, err
	}
	return server.CreateOrganizationAPIKey200JSONResponse{
		Body:    orgCreatedBody(c),
		Headers: server.CreateOrganizationAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version},
	}, nil
}

// orgCreatedBody is the body of an organisation key create's response.
func orgCreatedBody(c orgs.Created) server.OrganizationAPIKeyCreated {
	k := toOrgKey(c.Key)
	return server.OrganizationAPIKeyCreated{
		ID: k.ID, OrganizationID: k.OrganizationID, Name: k.Name, Description: k.Description, Role: k.Role,
		Value: c.Value, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt,
	}
}

// GetOrganizationAPIKey implements server.StrictServerInterface.
func (s *Server) GetOrganizationAPIKey(ctx context.Context, req server.GetOrganizationAPIKeyRequestObject) (server.GetOrganizationAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	k, err := s.orgs.GetKey(ctx, st.org, req.KeyID)
	if err != nil {
		return nil, err
	}
	return server.GetOrganizationAPIKey200JSONResponse{Body: toOrgKey(k),
		Headers: server.GetOrganizationAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version}}, nil
}

// UpdateOrganizationAPIKey implements server.StrictServerInterface.
func (s *Server) UpdateOrganizationAPIKey(ctx context.Context, req server.UpdateOrganizationAPIKeyRequestObject) (server.UpdateOrganizationAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	body := req.Body
	if body == nil {
		body = &server.UpdateOrganizationAPIKeyJSONRequestBody{}
	}
	var u spotzee.OrgKeyUpdate
	if body.Name.IsSpecified() {
		if body.Name.IsNull() {
			return nil, nullRefused("name")
		}
		n := body.Name.MustGet()
		u.Name = &n
	}
	if body.Description.IsSpecified() {
		u.SetDescription = true
		if !body.Description.IsNull() {
			d := body.Description.MustGet()
			u.Description = &d
		}
	}
	if body.Role != nil {
		r := spotzee.OrgRole(*body.Role)
		u.Role = &r
	}
	// The update and its replayable response commit together.
	u.Finish = finishInTx(st, func(k spotzee.OrgKey) any { return toOrgKey(k) })
	k, err := s.orgs.UpdateKey(ctx, st.org, req.KeyID, u)
	settleInTx(st, u.Finish != nil, err)
	if err != nil {
		return nil, err
	}
	return server.UpdateOrganizationAPIKey200JSONResponse{Body: toOrgKey(k),
		Headers: server.UpdateOrganizationAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version}}, nil
}

// nullRefused is the validation error of null for a field that has a value
// always (the reference profile refuses it before the handler runs).
func nullRefused(field string) error {
	e := spotzee.Errorf(spotzee.CodeValidationFailed, "%s cannot be null.", field)
	e.Fields = []spotzee.FieldError{{Param: field, Code: spotzee.CodeValidationFailed, Message: field + " cannot be null."}}
	return e
}

// RevokeOrganizationAPIKey implements server.StrictServerInterface.
func (s *Server) RevokeOrganizationAPIKey(ctx context.Context, req server.RevokeOrganizationAPIKeyRequestObject) (server.RevokeOrganizationAPIKeyResponseObject, error) {
	st := stateFrom(ctx)
	k, err := s.orgs.RevokeKey(ctx, st.org, req.KeyID)
	if err != nil {
		return nil, err
	}
	revokedAt := k.UpdatedAt
	if k.RevokedAt != nil {
		revokedAt = *k.RevokedAt
	}
	revoked, at := true, rfc3339(revokedAt)
	return server.RevokeOrganizationAPIKey200JSONResponse{
		Body:    server.OrganizationAPIKeyRevokeResponse{ID: &k.ID, Revoked: &revoked, RevokedAt: &at},
		Headers: server.RevokeOrganizationAPIKey200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version},
	}, nil
}

// ListProjects implements server.StrictServerInterface.
func (s *Server) ListProjects(ctx context.Context, req server.ListProjectsRequestObject) (server.ListProjectsResponseObject, error) {
	st := stateFrom(ctx)
	p := req.Params
	page, err := s.orgs.ListProjects(ctx, st.org, listInput(p.Cursor, p.Page, p.Limit, p.Sort, p.Direction, p.Q))
	if err != nil {
		return nil, err
	}
	body := server.OrgProjectList{
		Results:    make([]server.OrgProject, 0, len(page.Projects)),
		Limit:      page.Limit,
		NextCursor: optString(page.NextCursor),
		PrevCursor: optString(page.PrevCursor),
	}
	for _, pr := range page.Projects {
		body.Results = append(body.Results, toOrgProject(pr))
	}
	total, limit := page.Total, page.Limit
	return server.ListProjects200JSONResponse{Body: body, Headers: server.ListProjects200ResponseHeaders{
		XRequestID: &st.requestID, SpotzeeVersion: &st.version, XTotalCount: &total, XLimit: &limit,
	}}, nil
}

func optValue[T any](n nullable.Nullable[T]) *T {
	if !n.IsSpecified() || n.IsNull() {
		return nil
	}
	v := n.MustGet()
	return &v
}

// CreateProject implements server.StrictServerInterface.
func (s *Server) CreateProject(ctx context.Context, req server.CreateProjectRequestObject) (server.CreateProjectResponseObject, error) {
	st := stateFrom(ctx)
	b := req.Body
	if b == nil {
		b = &server.CreateProjectJSONRequestBody{}
	}
	in := orgs.ProjectInput{Name: b.Name, ProjectSettings: spotzee.ProjectSettings{
		Locale: b.Locale, Timezone: b.Timezone,
		Description: optValue(b.Description), WebsiteURL: optValue(b.WebsiteURL),
		TextOptOutMessage: optValue(b.TextOptOutMessage), TextHelpMessage: optValue(b.TextHelpMessage),
		LinkWrapEmail: optValue(b.LinkWrapEmail), LinkWrapPush: optValue(b.LinkWrapPush),
		TrackOpensEmail: optValue(b.TrackOpensEmail), DeeplinkMirrorURL: optValue(b.DeeplinkMirrorURL),
	}}
	// The project and its replayable response commit together.
	in.Finish = finishInTx(st, func(p spotzee.Project) any { return single(p) })
	p, err := s.orgs.CreateProject(ctx, st.org, in)
	settleInTx(st, in.Finish != nil, err)
	if err != nil {
		return nil, err
	}
	return server.CreateProject200JSONResponse{Body: single(p),
		Headers: server.CreateProject200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version}}, nil
}

// setField reads an optional nullable field of a PATCH: whether it was sent,
// and its value (nil for null).
func setField[T any](n nullable.Nullable[T]) (bool, *T) {
	return n.IsSpecified(), optValue(n)
}

// UpdateProject implements server.StrictServerInterface.
func (s *Server) UpdateProject(ctx context.Context, req server.UpdateProjectRequestObject) (server.UpdateProjectResponseObject, error) {
	st := stateFrom(ctx)
	b := req.Body
	if b == nil {
		b = &server.UpdateProjectJSONRequestBody{}
	}
	var u spotzee.ProjectUpdate
	for _, f := range []struct {
		name string
		n    nullable.Nullable[string]
		dst  **string
	}{{"name", b.Name, &u.Name}, {"locale", b.Locale, &u.Locale}, {"timezone", b.Timezone, &u.Timezone}} {
		if f.n.IsSpecified() {
			if f.n.IsNull() {
				return nil, nullRefused(f.name)
			}
			*f.dst = optValue(f.n)
		}
	}
	u.SetDescription, u.Description = setField(b.Description)
	u.SetWebsiteURL, u.WebsiteURL = setField(b.WebsiteURL)
	u.SetTextOptOutMessage, u.TextOptOutMessage = setField(b.TextOptOutMessage)
	u.SetTextHelpMessage, u.TextHelpMessage = setField(b.TextHelpMessage)
	u.SetLinkWrapEmail, u.LinkWrapEmail = setField(b.LinkWrapEmail)
	u.SetLinkWrapPush, u.LinkWrapPush = setField(b.LinkWrapPush)
	u.SetTrackOpensEmail, u.TrackOpensEmail = setField(b.TrackOpensEmail)
	u.SetDeeplinkMirrorURL, u.DeeplinkMirrorURL = setField(b.DeeplinkMirrorURL)
	// The update and its replayable response commit together.
	u.Finish = finishInTx(st, func(p spotzee.Project) any { return single(p) })
	p, err := s.orgs.UpdateProject(ctx, st.org, req.ProjectID, u)
	settleInTx(st, u.Finish != nil, err)
	if err != nil {
		return nil, err
	}
	return server.UpdateProject200JSONResponse{Body: single(p),
		Headers: server.UpdateProject200ResponseHeaders{XRequestID: &st.requestID, SpotzeeVersion: &st.version}}, nil
}
