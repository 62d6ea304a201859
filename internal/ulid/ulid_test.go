package ulid

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var pattern = regexp.MustCompile(`^[0-7][0-9A-HJKMNP-TV-Z]{25}$`)

func TestFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		for _, id := range []string{Make(time.Now()), Random()} {
			assert.Regexp(t, pattern, id)
			assert.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
		}
	}
}

func TestEncodeKnownValue(t *testing.T) {
	t.Parallel()
	var b [16]byte
	assert.Equal(t, "00000000000000000000000000", Encode(b))
	for i := range b {
		b[i] = 0xff
	}
	assert.Equal(t, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", Encode(b))
}

func TestMakeSortsByTime(t *testing.T) {
	t.Parallel()
	a := Make(time.UnixMilli(1_000_000))
	b := Make(time.UnixMilli(1_000_001))
	assert.Less(t, a[:10], b[:10])
}
