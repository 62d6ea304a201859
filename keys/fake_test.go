package keys

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// fakeStore is an in-memory spotzee.Store for unit tests of the service. It
// keeps keys by id; ListKeys records the query it got and answers with page
// (or, when page is nil, every live key of the project, unpaged).
type fakeStore struct {
	mu       sync.Mutex
	projects map[int64]spotzee.Project
	keys     map[int64]spotzee.APIKey
	hashes   map[int64][]byte
	nextID   int64

	// fault, when set, is returned by every method.
	fault error

	lastList *spotzee.ListQuery
	page     *spotzee.KeyPage
}

func newFakeStore() *fakeStore {
	return &fakeStore{projects: map[int64]spotzee.Project{}, keys: map[int64]spotzee.APIKey{}, hashes: map[int64][]byte{}}
}

func missing() error { return spotzee.Errorf(spotzee.CodeResourceMissing, "missing") }

func (f *fakeStore) CreateProject(_ context.Context, name string, tier spotzee.Tier, now time.Time) (spotzee.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fault != nil {
		return spotzee.Project{}, f.fault
	}
	id := int64(len(f.projects) + 1)
	p := spotzee.Project{ID: id, Name: name, Tier: tier, CreatedAt: now}
	f.projects[id] = p
	return p, nil
}

func (f *fakeStore) Project(_ context.Context, id int64) (spotzee.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.projects[id]
	if !ok {
		return spotzee.Project{}, missing()
	}
	return p, nil
}

func (f *fakeStore) SetProjectTier(context.Context, int64, spotzee.Tier) error {
	return errors.New("not implemented")
}

func (f *fakeStore) CreateKey(_ context.Context, k spotzee.NewKey) (spotzee.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fault != nil {
		return spotzee.APIKey{}, f.fault
	}
	f.nextID++
	key := spotzee.APIKey{
		ID: f.nextID, ProjectID: k.ProjectID, Name: k.Name, Description: k.Description,
		Scope: k.Scope, Role: k.Role, ValuePrefix: k.ValuePrefix, Last4: k.Last4,
		IsSystem: k.IsSystem, CreatedAt: k.CreatedAt, UpdatedAt: k.CreatedAt,
	}
	f.keys[key.ID] = key
	f.hashes[key.ID] = bytes.Clone(k.Hash)
	return key, nil
}

func (f *fakeStore) KeyByHash(_ context.Context, hash []byte) (spotzee.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fault != nil {
		return spotzee.APIKey{}, f.fault
	}
	for id, h := range f.hashes {
		if bytes.Equal(h, hash) {
			return f.keys[id], nil
		}
	}
	return spotzee.APIKey{}, missing()
}

func (f *fakeStore) Key(_ context.Context, projectID, id int64) (spotzee.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok || k.ProjectID != projectID || k.RevokedAt != nil {
		return spotzee.APIKey{}, missing()
	}
	return k, nil
}

func (f *fakeStore) UpdateKey(_ context.Context, _, projectID, id int64, u spotzee.KeyUpdate, now time.Time) (spotzee.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok || k.ProjectID != projectID || k.RevokedAt != nil {
		return spotzee.APIKey{}, missing()
	}
	if u.Empty() {
		return k, nil
	}
	if k.IsSystem && ((u.Role != nil && *u.Role != k.Role) || (u.Scope != nil && *u.Scope != k.Scope)) {
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeStateConflict, "system key")
	}
	if u.Name != nil {
		k.Name = *u.Name
	}
	if u.SetDescription {
		k.Description = u.Description
	}
	if u.Scope != nil {
		k.Scope = *u.Scope
	}
	if u.Role != nil {
		k.Role = *u.Role
	}
	k.UpdatedAt = now
	f.keys[id] = k
	return k, nil
}

func (f *fakeStore) RevokeKey(_ context.Context, _, projectID, id int64, now time.Time) (spotzee.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok || k.ProjectID != projectID || k.RevokedAt != nil {
		return spotzee.APIKey{}, missing()
	}
	if k.IsSystem {
		return spotzee.APIKey{}, spotzee.Errorf(spotzee.CodeStateConflict, "system key")
	}
	k.RevokedAt, k.UpdatedAt = &now, now
	f.keys[id] = k
	return k, nil
}

func (f *fakeStore) ListKeys(_ context.Context, q spotzee.ListQuery) (spotzee.KeyPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fault != nil {
		return spotzee.KeyPage{}, f.fault
	}
	f.lastList = &q
	if f.page != nil {
		return *f.page, nil
	}
	page := spotzee.KeyPage{Keys: []spotzee.APIKey{}}
	for _, k := range f.keys {
		if k.ProjectID == q.ProjectID && k.RevokedAt == nil {
			page.Keys = append(page.Keys, k)
		}
	}
	page.Total = len(page.Keys)
	return page, nil
}
