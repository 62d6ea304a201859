package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keymaterial"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/orgs"
	"github.com/spotzeekit/spotzee-keys/sqlite"
	"github.com/spotzeekit/spotzee-keys/validate"
)

// fakeOrgs is a small httpapi.OrgService: one organisation key per token,
// and a scripted error for every other call.
type fakeOrgs struct {
	mu     sync.Mutex
	keys   map[string]spotzee.OrgKey
	err    error // returned by every call but Authenticate and Me
	called []string
}

func (f *fakeOrgs) record(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called = append(f.called, name)
	return f.err
}

func (f *fakeOrgs) Authenticate(_ context.Context, token string) (spotzee.OrgKey, error) {
	if k, ok := f.keys[token]; ok {
		return k, nil
	}
	return spotzee.OrgKey{}, spotzee.Errorf(spotzee.CodeAuthenticationRequired, "unknown")
}

func (f *fakeOrgs) Me(context.Context, spotzee.OrgKey) (spotzee.Organization, error) {
	now := time.Date(2026, 4, 28, 9, 30, 0, 0, time.UTC)
	return spotzee.Organization{ID: 7, Username: "acme", CreatedAt: now, UpdatedAt: now}, f.record("Me")
}

func (f *fakeOrgs) ListKeys(context.Context, spotzee.OrgKey, keymaterial.ListInput) (orgs.KeyPage, error) {
	return orgs.KeyPage{Limit: 25}, f.record("ListKeys")
}

func (f *fakeOrgs) CreateKey(context.Context, spotzee.OrgKey, orgs.KeyInput) (orgs.Created, error) {
	return orgs.Created{}, f.record("CreateKey")
}

func (f *fakeOrgs) GetKey(context.Context, spotzee.OrgKey, int64) (spotzee.OrgKey, error) {
	return spotzee.OrgKey{}, f.record("GetKey")
}

func (f *fakeOrgs) UpdateKey(context.Context, spotzee.OrgKey, int64, spotzee.OrgKeyUpdate) (spotzee.OrgKey, error) {
	return spotzee.OrgKey{}, f.record("UpdateKey")
}

func (f *fakeOrgs) RevokeKey(context.Context, spotzee.OrgKey, int64) (spotzee.OrgKey, error) {
	return spotzee.OrgKey{}, f.record("RevokeKey")
}

func (f *fakeOrgs) ListProjects(context.Context, spotzee.OrgKey, keymaterial.ListInput) (orgs.ProjectPage, error) {
	return orgs.ProjectPage{Limit: 25}, f.record("ListProjects")
}

func (f *fakeOrgs) CreateProject(context.Context, spotzee.OrgKey, orgs.ProjectInput) (spotzee.Project, error) {
	return spotzee.Project{}, f.record("CreateProject")
}

func (f *fakeOrgs) UpdateProject(context.Context, spotzee.OrgKey, int64, spotzee.ProjectUpdate) (spotzee.Project, error) {
	return spotzee.Project{}, f.record("UpdateProject")
}

func (f *fakeOrgs) wasCalled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.called) > 0
}

var _ httpapi.OrgService = (*fakeOrgs)(nil)

// TestAdminHandlersOverAFake: the admin handlers map the service's
// catalogue errors to problem+json and a storage fault to a logged 500
// whose body says nothing of it; the per-operation roles are checked
// before the service is called.
func TestAdminHandlersOverAFake(t *testing.T) {
	t.Parallel()
	const ownerToken, memberToken = "ok_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "ok_01HXY7Z9K8M5J2N4P6Q8R0S1T3"
	tests := []struct {
		name       string
		err        error
		token      string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
		wantCalled bool
	}{
		{"storage fault", errors.New("disk on fire at /var/db"), ownerToken, "GET", "/organizations/api-keys", "", 500, "internal_error", true},
		{"missing", spotzee.Errorf(spotzee.CodeResourceMissing, "no"), ownerToken, "GET", "/organizations/api-keys/5", "", 404, "resource_missing", true},
		{"conflict", spotzee.Errorf(spotzee.CodeStateConflict, "last owner"), ownerToken, "DELETE", "/organizations/api-keys/5", "", 409, "state_conflict", true},
		{"validation", &spotzee.Error{Code: spotzee.CodeValidationFailed, Message: "bad",
			Fields: []spotzee.FieldError{{Param: "locale", Code: spotzee.CodeValidationFailed, Message: "bad"}}},
			ownerToken, "POST", "/projects", `{"name":"P","locale":"x","timezone":"UTC"}`, 422, "validation_failed", true},
		{"member may not create", nil, memberToken, "POST", "/organizations/api-keys", `{"name":"k"}`, 403, "permission_denied", false},
		{"member may not update projects", nil, memberToken, "PATCH", "/projects/3", `{}`, 403, "permission_denied", false},
		{"member lists projects", nil, memberToken, "GET", "/projects", "", 200, "", true},
		{"unknown org key", nil, "ok_01HXY7Z9K8M5J2N4P6Q8R0S1T4", "GET", "/organizations/me", "", 401, "authentication_required", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := sqlite.Open(t.Context(), ":memory:")
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			fake := &fakeOrgs{err: tt.err, keys: map[string]spotzee.OrgKey{
				ownerToken:  {ID: 1, OrganizationID: 7, Role: spotzee.OrgRoleOwner},
				memberToken: {ID: 2, OrganizationID: 7, Role: spotzee.OrgRoleMember},
			}}
			var logs syncBuffer
			h, err := httpapi.NewHandler(httpapi.Config{
				Service: keys.New(db, bytes.Repeat([]byte{1}, 32)), Orgs: fake,
				ValidateResponses: true, Logger: newJSONLogger(&logs),
				OnResponseViolation: func(_ *http.Request, v *validate.ResponseViolation) { t.Errorf("response breaks the spec: %v", v) },
			})
			require.NoError(t, err)
			hs := httptest.NewServer(h)
			t.Cleanup(hs.Close)
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, hs.URL+httpapi.AdminPrefix+tt.path, body)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			data, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.Equal(t, tt.wantStatus, resp.StatusCode, "%s", data)
			if tt.wantCode != "" {
				assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
				assert.Contains(t, string(data), `"code":"`+tt.wantCode+`"`)
			}
			assert.NotContains(t, string(data), "disk on fire", "a fault's details stay in the log")
			assert.Equal(t, tt.wantCalled, fake.wasCalled(), "service called")
			if tt.wantStatus == 500 {
				require.Eventually(t, func() bool { return strings.Contains(logs.String(), "disk on fire") }, waitFor, tick)
			}
			assert.NotContains(t, logs.String(), tt.token[3:], "no key in the log")
		})
	}
}
