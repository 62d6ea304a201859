package spotzee

// The rules every store applies to key writes, in the store's write
// transaction; the stores read what the rules need and call these.

// IsAdmin reports whether k can manage its project's keys: a secret (sk_)
// key with the admin role. The last live one of a project may not be
// revoked, demoted or made public (LastAdminError).
func (k APIKey) IsAdmin() bool {
	return k.Scope == ScopeSecret && k.ValuePrefix == "sk_" && k.Role == RoleAdmin
}

// DemotesAdmin reports whether u takes away the admin standing (IsAdmin)
// of cur: a role or scope change of an admin key. The store must then make
// sure another live admin key remains.
func (u KeyUpdate) DemotesAdmin(cur APIKey) bool {
	after := cur
	if u.Role != nil {
		after.Role = *u.Role
	}
	if u.Scope != nil {
		after.Scope = *u.Scope
	}
	return cur.IsAdmin() && !after.IsAdmin()
}

// SystemUpdateError returns a CodeStateConflict *Error when u would change
// the role or the scope of the system key cur (its name and description
// are labels and may change, and restating the current role or scope is no
// change), and nil otherwise.
func (u KeyUpdate) SystemUpdateError(cur APIKey) error {
	if !cur.IsSystem {
		return nil
	}
	roleChange := u.Role != nil && *u.Role != cur.Role
	if !roleChange && (u.Scope == nil || *u.Scope == cur.Scope) {
		return nil
	}
	e := Errorf(CodeStateConflict,
		"API key %d is a system key: its role and scope cannot change (its name and description can).", cur.ID)
	e.Param = "scope"
	if roleChange {
		e.Param = "role"
	}
	return e
}

// LastAdminError is the CodeStateConflict *Error a store returns when a
// revoke, demotion or scope change would leave project of key id without a
// live admin key (IsAdmin).
func LastAdminError(id int64) *Error {
	return Errorf(CodeStateConflict,
		"API key %d is the project's last admin secret key; create another admin key first.", id)
}
