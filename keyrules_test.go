package spotzee_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

func TestKeyRules(t *testing.T) {
	t.Parallel()
	role := func(r spotzee.Role) *spotzee.Role { return &r }
	scope := func(s spotzee.Scope) *spotzee.Scope { return &s }
	name := "renamed"
	admin := spotzee.APIKey{ID: 7, Scope: spotzee.ScopeSecret, ValuePrefix: "sk_", Role: spotzee.RoleAdmin}
	system := admin
	system.IsSystem = true
	support := admin
	support.Role = spotzee.RoleSupport

	tests := []struct {
		name      string
		cur       spotzee.APIKey
		u         spotzee.KeyUpdate
		demotes   bool
		systemErr string // the Param of the system-key error, "" for none
	}{
		{"rename an admin", admin, spotzee.KeyUpdate{Name: &name}, false, ""},
		{"demote an admin", admin, spotzee.KeyUpdate{Role: role(spotzee.RoleSupport)}, true, ""},
		{"make an admin public", admin, spotzee.KeyUpdate{Scope: scope(spotzee.ScopePublic)}, true, ""},
		{"restate an admin's role", admin, spotzee.KeyUpdate{Role: role(spotzee.RoleAdmin)}, false, ""},
		{"promote a support key", support, spotzee.KeyUpdate{Role: role(spotzee.RoleAdmin)}, false, ""},
		{"rename the system key", system, spotzee.KeyUpdate{Name: &name}, false, ""},
		{"restate the system key's scope", system, spotzee.KeyUpdate{Scope: scope(spotzee.ScopeSecret)}, false, ""},
		{"demote the system key", system, spotzee.KeyUpdate{Role: role(spotzee.RoleSupport)}, true, "role"},
		{"make the system key public", system, spotzee.KeyUpdate{Scope: scope(spotzee.ScopePublic)}, true, "scope"},
		{"both on the system key: role first", system,
			spotzee.KeyUpdate{Role: role(spotzee.RoleSupport), Scope: scope(spotzee.ScopePublic)}, true, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.demotes, tt.u.DemotesAdmin(tt.cur))
			err := tt.u.SystemUpdateError(tt.cur)
			if tt.systemErr == "" {
				assert.NoError(t, err)
				return
			}
			var e *spotzee.Error
			if assert.True(t, errors.As(err, &e)) {
				assert.Equal(t, spotzee.CodeStateConflict, e.Code)
				assert.Equal(t, tt.systemErr, e.Param)
			}
		})
	}
	assert.True(t, admin.IsAdmin())
	assert.False(t, support.IsAdmin())
	pk := admin
	pk.ValuePrefix = "pk_"
	assert.False(t, pk.IsAdmin(), "a publishable value is never admin")
	assert.Equal(t, spotzee.CodeStateConflict, spotzee.LastAdminError(7).Code)
}
