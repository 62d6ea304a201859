package authcache

import (
	"encoding/binary"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
)

// textUnit is the length of record one unit of an entry's weight pays for:
// an entry weighs 1 plus len(record)/textUnit, so that the bound on the
// weight of a generation is also one on its bytes.
const textUnit = 64

// The values a record names by index; 0 is the empty string. A key or tier
// outside them is not kept.
var (
	scopes   = [...]spotzee.Scope{"", spotzee.ScopePublic, spotzee.ScopeSecret}
	roles    = [...]spotzee.Role{"", spotzee.RoleSupport, spotzee.RoleSMTPProxy, spotzee.RoleEditor, spotzee.RolePublisher, spotzee.RoleAdmin}
	prefixes = [...]string{"", "sk_", "pk_"}
	tiers    = [...]spotzee.Tier{"", spotzee.TierStarter, spotzee.TierProfessional, spotzee.TierEnterprise}
)

// The first byte of a record: flags, and the tier's index in its top bits.
const (
	flagSystem  = 1 << iota // IsSystem
	flagDesc                // Description is set (its text may be empty)
	flagRevoked             // RevokedAt is set
	flagTier                // the tier was read with the key
	flagID                  // the record holds the key's ID
	tierShift   = iota      // the tier's index: bits 5 and 6
)

// The second byte of a record: the indexes of Scope (bits 0-1), Role (bits
// 2-4) and ValuePrefix (bits 5-6).
const (
	roleShift   = 2
	prefixShift = 5
)

// record is a key and its project's tier in the compact form the cache
// keeps: one string, the only allocation an entry makes, holding no
// pointer a request could change (strings read from it are substrings of
// it, which no one can change, and every pointer of the key it gives is
// new). It is, in order:
//
//   - the flags and the tier's index, one byte; the indexes of Scope, Role
//     and ValuePrefix in the tables above, one byte;
//   - ID when flagID is set (the keys map holds records by ID, without
//     it), then ProjectID (zigzag varints);
//   - CreatedAt as time.Time.Unix (zigzag varint) and time.Time.Nanosecond
//     (uvarint); UpdatedAt likewise, its seconds less CreatedAt's; then
//     *RevokedAt when flagRevoked is set, as CreatedAt — all UTC times;
//   - len(Name), then len(*Description) when flagDesc is set (uvarints);
//   - Name, *Description when set, Last4 (the rest).
//
// A key as seeded (a short name, no description, updated when created)
// takes about 30 bytes: with the string's header and the map slot, about
// 70 bytes of heap per entry.
type record string

// encode returns k and tier as a record, with k.ID when withID is set, and
// ok=false when a record cannot give them back exactly: a scope, role,
// prefix or tier it has no index for, or a time that is not a UTC time
// without a monotonic reading (the SQLite store returns only those).
// hasTier says whether tier was read (KeyByHash reads none).
func encode(k spotzee.APIKey, tier spotzee.Tier, hasTier, withID bool) (r record, ok bool) {
	scope, okScope := index(scopes[:], k.Scope)
	role, okRole := index(roles[:], k.Role)
	prefix, okPrefix := index(prefixes[:], k.ValuePrefix)
	tierIx, okTier := index(tiers[:], tier)
	if !okScope || !okRole || !okPrefix || !okTier {
		return "", false
	}
	flags := tierIx << tierShift
	times := []time.Time{k.CreatedAt, k.UpdatedAt}
	if k.IsSystem {
		flags |= flagSystem
	}
	if k.Description != nil {
		flags |= flagDesc
	}
	if k.RevokedAt != nil {
		flags |= flagRevoked
		times = append(times, *k.RevokedAt)
	}
	if hasTier {
		flags |= flagTier
	}
	if withID {
		flags |= flagID
	}
	n := 2 + 2*binary.MaxVarintLen64 + len(times)*(binary.MaxVarintLen64+binary.MaxVarintLen32) +
		2*binary.MaxVarintLen64 + len(k.Name) + len(k.Last4)
	if k.Description != nil {
		n += len(*k.Description)
	}
	b := make([]byte, 0, n)
	b = append(b, flags, scope|role<<roleShift|prefix<<prefixShift)
	if withID {
		b = binary.AppendVarint(b, k.ID)
	}
	b = binary.AppendVarint(b, k.ProjectID)
	created := k.CreatedAt.Unix()
	for i, t := range times {
		sec, nsec := t.Unix(), uint32(t.Nanosecond())
		// == on time.Time compares the representation (location and
		// monotonic reading too): only what comes back identical is kept.
		if unix(sec, nsec) != t {
			return "", false
		}
		if i == 1 {
			sec -= created
		}
		b = binary.AppendVarint(b, sec)
		b = binary.AppendUvarint(b, uint64(nsec))
	}
	b = binary.AppendUvarint(b, uint64(len(k.Name)))
	if k.Description != nil {
		b = binary.AppendUvarint(b, uint64(len(*k.Description)))
	}
	b = append(b, k.Name...)
	if k.Description != nil {
		b = append(b, *k.Description...)
	}
	b = append(b, k.Last4...)
	return record(b), true
}

// hasTier reports whether the record was read with its project's tier.
func (r record) hasTier() bool { return r[0]&flagTier != 0 }

// tier returns the project's tier ("" when not read).
func (r record) tier() spotzee.Tier { return tiers[r[0]>>tierShift&3] }

// weight is what the record counts against the bound.
func (r record) weight() int { return 1 + len(r)/textUnit }

// project returns the key's ProjectID.
func (r record) project() int64 {
	i := 2
	if r[0]&flagID != 0 {
		_, i = varint(r, i)
	}
	project, _ := varint(r, i)
	return project
}

// key returns the key r holds, with the ID it holds, or id when it holds
// none; its Description and RevokedAt are new pointers on every call.
func (r record) key(id int64) spotzee.APIKey {
	flags, enums := r[0], r[1]
	k := spotzee.APIKey{
		ID:          id,
		Scope:       scopes[enums&3],
		Role:        roles[enums>>roleShift&7],
		ValuePrefix: prefixes[enums>>prefixShift&3],
		IsSystem:    flags&flagSystem != 0,
	}
	i := 2
	if flags&flagID != 0 {
		k.ID, i = varint(r, i)
	}
	k.ProjectID, i = varint(r, i)
	k.CreatedAt, i = r.time(i, 0)
	k.UpdatedAt, i = r.time(i, k.CreatedAt.Unix())
	if flags&flagRevoked != 0 {
		var t time.Time
		t, i = r.time(i, 0)
		k.RevokedAt = &t
	}
	nameLen, i := uvarint(r, i)
	descLen := uint64(0)
	if flags&flagDesc != 0 {
		descLen, i = uvarint(r, i)
	}
	text := string(r[i:])
	k.Name = text[:nameLen]
	if flags&flagDesc != 0 {
		d := text[nameLen : nameLen+descLen]
		k.Description = &d
	}
	k.Last4 = text[nameLen+descLen:]
	return k
}

// time reads a time at r[i:], its seconds less base, and returns it and
// the index after it.
func (r record) time(i int, base int64) (time.Time, int) {
	sec, i := varint(r, i)
	nsec, i := uvarint(r, i)
	return unix(base+sec, uint32(nsec)), i
}

// uvarint reads what binary.AppendUvarint wrote at s[i:] and returns it
// and the index after it.
func uvarint(s record, i int) (uint64, int) {
	var x uint64
	var shift uint
	for ; i < len(s); i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return x, i
}

// varint reads what binary.AppendVarint wrote at s[i:] and returns it and
// the index after it.
func varint(s record, i int) (int64, int) {
	ux, i := uvarint(s, i)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, i
}

// unix is the UTC time sec and nsec name.
func unix(sec int64, nsec uint32) time.Time { return time.Unix(sec, int64(nsec)).UTC() }

// index returns the index of v in table.
func index[T comparable](table []T, v T) (uint8, bool) {
	for i, x := range table {
		if x == v {
			return uint8(i), true
		}
	}
	return 0, false
}
