// Package keymaterial is what project keys (package keys) and organisation
// keys (package orgs) share: making key values, hashing them, masking them,
// and signed list cursors with the list parameters they encode. It stores
// nothing and knows nothing of HTTP.
package keymaterial

import (
	"crypto/sha256"

	"github.com/spotzeekit/spotzee-keys/internal/ulid"
)

// Hash returns the SHA-256 of a key value: the only form a value is stored or
// looked up in. It cannot fail.
func Hash(value string) []byte {
	sum := sha256.Sum256([]byte(value))
	return sum[:]
}

// NewValue returns a new random key value: prefix followed by a 26-character
// ULID. It cannot fail.
func NewValue(prefix string) string { return prefix + ulid.Random() }

// Last4 returns the last four characters of value (all of it when shorter):
// with the prefix, the only part of a value ever stored. It cannot fail.
func Last4(value string) string {
	if len(value) < 4 {
		return value
	}
	return value[len(value)-4:]
}

// Mask returns the masked form every read shows: prefix, four asterisks,
// last four characters. It cannot fail.
func Mask(prefix, last4 string) string { return prefix + "****" + last4 }
