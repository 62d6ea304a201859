package keys

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

var (
	secretValue = regexp.MustCompile(`^sk_[0-9A-HJKMNP-TV-Z]{26}$`)
	publicValue = regexp.MustCompile(`^pk_[0-9A-HJKMNP-TV-Z]{26}$`)
)

// testKey is 32 bytes of cursor-signing key.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// fixedClock returns a clock at t with nanoseconds and a non-UTC zone, so
// that Now's normalisation is observable.
func fixedClock() func() time.Time {
	t := time.Date(2026, 4, 28, 11, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	return func() time.Time { return t }
}

func newService(t *testing.T) (*Service, *fakeStore) {
	t.Helper()
	st := newFakeStore()
	return New(st, testKey, WithClock(fixedClock())), st
}

func TestNowIsUTCMicroseconds(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	now := svc.Now()
	assert.Equal(t, time.UTC, now.Location())
	assert.Equal(t, 123456000, now.Nanosecond())
	assert.Equal(t, 9, now.Hour())
}

func TestHashValue(t *testing.T) {
	t.Parallel()
	a, b := HashValue("sk_A"), HashValue("sk_B")
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, HashValue("sk_A"))
	assert.NotContains(t, string(a), "sk_A")
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, st := newService(t)
	p, err := st.CreateProject(ctx, "P", spotzee.TierStarter, svc.Now())
	require.NoError(t, err)

	add := func(scope spotzee.Scope, role spotzee.Role) Created {
		c, err := svc.AddKey(ctx, p.ID, CreateInput{Name: "k", Scope: scope, Role: role})
		require.NoError(t, err)
		return c
	}
	admin := add(spotzee.ScopeSecret, spotzee.RoleAdmin)
	support := add(spotzee.ScopeSecret, spotzee.RoleSupport)
	public := add(spotzee.ScopePublic, spotzee.RoleAdmin)
	revoked := add(spotzee.ScopeSecret, spotzee.RoleAdmin)
	_, err = svc.Revoke(ctx, admin.Key, revoked.Key.ID)
	require.NoError(t, err)
	// A secret key whose scope was PATCHed to public stops authenticating.
	demoted := add(spotzee.ScopeSecret, spotzee.RoleAdmin)
	pub := spotzee.ScopePublic
	_, err = svc.Update(ctx, admin.Key, demoted.Key.ID, spotzee.KeyUpdate{Scope: &pub})
	require.NoError(t, err)

	tests := []struct {
		name   string
		token  string
		wantID int64 // 0: refused with authentication_required
	}{
		{"admin secret key", admin.Value, admin.Key.ID},
		{"support secret key authenticates (authorisation is separate)", support.Value, support.Key.ID},
		{"publishable key", public.Value, 0},
		{"publishable prefix, unknown", "pk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", 0},
		{"organisation key", "ok_01HXY7Z9K8M5J2N4P6Q8R0S1T2", 0},
		{"unknown secret key", "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2", 0},
		{"revoked key", revoked.Value, 0},
		{"secret key with public scope", demoted.Value, 0},
		{"no prefix", strings.TrimPrefix(admin.Value, "sk_"), 0},
		{"upper-case prefix", "SK_" + strings.TrimPrefix(admin.Value, "sk_"), 0},
		{"other prefix", "rk_" + strings.TrimPrefix(admin.Value, "sk_"), 0},
		{"empty", "", 0},
		{"prefix only", "sk_", 0},
		{"value with trailing space", admin.Value + " ", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := svc.Authenticate(t.Context(), tt.token)
			if tt.wantID != 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.wantID, key.ID)
				assert.Equal(t, p.ID, key.ProjectID)
				return
			}
			require.Error(t, err)
			assert.Equal(t, spotzee.CodeAuthenticationRequired, spotzee.ErrorCode(err))
			assert.Zero(t, key)
			if len(tt.token) > 3 {
				assert.NotContains(t, err.Error(), tt.token, "the error must never hold the token")
			}
		})
	}
}

func TestAuthenticateStorageFaultIsNotABadKey(t *testing.T) {
	t.Parallel()
	svc, st := newService(t)
	st.fault = errors.New("disk on fire")
	_, err := svc.Authenticate(t.Context(), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	require.Error(t, err)
	assert.Equal(t, spotzee.CodeInternalError, spotzee.ErrorCode(err))
	assert.NotContains(t, err.Error(), "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	for _, role := range []spotzee.Role{spotzee.RoleSupport, spotzee.RoleSMTPProxy, spotzee.RoleEditor, spotzee.RolePublisher, "", "owner"} {
		err := Authorize(spotzee.APIKey{Role: role})
		assert.Equal(t, spotzee.CodePermissionDenied, spotzee.ErrorCode(err), "role %q", role)
	}
	assert.NoError(t, Authorize(spotzee.APIKey{Role: spotzee.RoleAdmin}))
}

func TestCreate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, st := newService(t)
	p, err := st.CreateProject(ctx, "P", spotzee.TierStarter, svc.Now())
	require.NoError(t, err)
	caller := spotzee.APIKey{ID: 99, ProjectID: p.ID, Role: spotzee.RoleAdmin}

	t.Run("defaults", func(t *testing.T) {
		c, err := svc.Create(ctx, caller, CreateInput{Name: "CI"})
		require.NoError(t, err)
		assert.Regexp(t, secretValue, c.Value)
		assert.Equal(t, spotzee.ScopeSecret, c.Key.Scope)
		assert.Equal(t, spotzee.RoleSupport, c.Key.Role)
		assert.Equal(t, "sk_", c.Key.ValuePrefix)
		assert.Equal(t, c.Value[len(c.Value)-4:], c.Key.Last4)
		assert.Equal(t, "sk_****"+c.Value[len(c.Value)-4:], c.Key.MaskedValue())
		assert.Equal(t, p.ID, c.Key.ProjectID)
		assert.False(t, c.Key.IsSystem)
		assert.Equal(t, svc.Now(), c.Key.CreatedAt)
		assert.Equal(t, HashValue(c.Value), st.hashes[c.Key.ID], "only the hash reaches the store")
	})
	t.Run("public scope", func(t *testing.T) {
		desc := "browser"
		c, err := svc.Create(ctx, caller, CreateInput{Name: "web", Description: &desc, Scope: spotzee.ScopePublic, Role: spotzee.RoleEditor})
		require.NoError(t, err)
		assert.Regexp(t, publicValue, c.Value)
		assert.Equal(t, "pk_", c.Key.ValuePrefix)
		assert.Equal(t, spotzee.RoleEditor, c.Key.Role)
		require.NotNil(t, c.Key.Description)
		assert.Equal(t, desc, *c.Key.Description)
	})
	t.Run("values are unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 50 {
			c, err := svc.Create(ctx, caller, CreateInput{Name: "n"})
			require.NoError(t, err)
			assert.False(t, seen[c.Value])
			seen[c.Value] = true
		}
	})
	t.Run("bad fields", func(t *testing.T) {
		tests := []struct {
			name  string
			in    CreateInput
			code  spotzee.Code
			param string
		}{
			{"empty name", CreateInput{Name: ""}, spotzee.CodeParameterInvalidEmpty, "name"},
			{"blank name", CreateInput{Name: " \t "}, spotzee.CodeParameterInvalidEmpty, "name"},
			{"bad scope", CreateInput{Name: "n", Scope: "private"}, spotzee.CodeParameterInvalidFormat, "scope"},
			{"bad role", CreateInput{Name: "n", Role: "owner"}, spotzee.CodeParameterInvalidFormat, "role"},
		}
		for _, tt := range tests {
			before := len(st.keys)
			_, err := svc.Create(ctx, caller, tt.in)
			var e *spotzee.Error
			require.ErrorAs(t, err, &e, tt.name)
			assert.Equal(t, tt.code, e.Code, tt.name)
			assert.Equal(t, tt.param, e.Param, tt.name)
			assert.Len(t, st.keys, before, "%s: nothing stored", tt.name)
		}
	})
}

func TestUpdateChecksFields(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, st := newService(t)
	p, err := st.CreateProject(ctx, "P", spotzee.TierStarter, svc.Now())
	require.NoError(t, err)
	c, err := svc.AddKey(ctx, p.ID, CreateInput{Name: "k"})
	require.NoError(t, err)
	caller := spotzee.APIKey{ProjectID: p.ID, Role: spotzee.RoleAdmin}
	empty, blank := "", "  "
	badScope, badRole := spotzee.Scope("x"), spotzee.Role("x")
	tests := []struct {
		name string
		u    spotzee.KeyUpdate
		code spotzee.Code
	}{
		{"empty name", spotzee.KeyUpdate{Name: &empty}, spotzee.CodeParameterInvalidEmpty},
		{"blank name", spotzee.KeyUpdate{Name: &blank}, spotzee.CodeParameterInvalidEmpty},
		{"bad scope", spotzee.KeyUpdate{Scope: &badScope}, spotzee.CodeParameterInvalidFormat},
		{"bad role", spotzee.KeyUpdate{Role: &badRole}, spotzee.CodeParameterInvalidFormat},
	}
	for _, tt := range tests {
		_, err := svc.Update(ctx, caller, c.Key.ID, tt.u)
		assert.Equal(t, tt.code, spotzee.ErrorCode(err), tt.name)
	}
	assert.Equal(t, c.Key, st.keys[c.Key.ID], "rejected updates change nothing")

	other := spotzee.APIKey{ProjectID: p.ID + 1, Role: spotzee.RoleAdmin}
	_, err = svc.Get(ctx, other, c.Key.ID)
	assert.Equal(t, spotzee.CodeResourceMissing, spotzee.ErrorCode(err))
	_, err = svc.Revoke(ctx, other, c.Key.ID)
	assert.Equal(t, spotzee.CodeResourceMissing, spotzee.ErrorCode(err))
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc, st := newService(t)

	_, err := svc.Bootstrap(ctx, "P", "gold")
	assert.Equal(t, spotzee.CodeParameterInvalidFormat, spotzee.ErrorCode(err))
	assert.Empty(t, st.projects, "a bad tier creates nothing")

	b, err := svc.Bootstrap(ctx, "P", spotzee.TierProfessional)
	require.NoError(t, err)
	assert.Equal(t, spotzee.TierProfessional, b.Project.Tier)
	assert.True(t, b.SystemKey.IsSystem)
	assert.Equal(t, spotzee.RoleSMTPProxy, b.SystemKey.Role)
	assert.Equal(t, spotzee.ScopeSecret, b.SystemKey.Scope)
	assert.False(t, b.Admin.Key.IsSystem)
	assert.Equal(t, spotzee.RoleAdmin, b.Admin.Key.Role)
	assert.Regexp(t, secretValue, b.Admin.Value)

	caller, err := svc.Authenticate(ctx, b.Admin.Value)
	require.NoError(t, err)
	require.NoError(t, Authorize(caller))
	_, err = svc.Revoke(ctx, caller, b.SystemKey.ID)
	assert.Equal(t, spotzee.CodeStateConflict, spotzee.ErrorCode(err))

	st.fault = errors.New("boom")
	_, err = svc.Bootstrap(context.Background(), "Q", spotzee.TierStarter)
	assert.Equal(t, spotzee.CodeInternalError, spotzee.ErrorCode(err))
}
