// Package ulid makes ULIDs (26 characters of Crockford base32: a 48-bit
// millisecond timestamp and 80 random bits) from crypto/rand.
package ulid

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Make returns a ULID for time t with 80 random bits from crypto/rand.
func Make(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	return Encode(b)
}

// Random returns 128 random bits from crypto/rand encoded as a valid ULID
// string (the top two bits are cleared so the first character is 0-7).
func Random() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[0] &= 0x3f
	return Encode(b)
}

// Encode encodes 16 bytes as 26 Crockford base32 characters.
func Encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&0x1f]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
