package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      nullable.Nullable[string]
		want    time.Time
		wantErr error
	}{
		{"rfc3339", nullable.NewNullableWithValue("2026-04-28T09:30:00Z"), time.Date(2026, 4, 28, 9, 30, 0, 0, time.UTC), nil},
		{"nanoseconds", nullable.NewNullableWithValue("2026-04-28T09:30:00.5Z"), time.Date(2026, 4, 28, 9, 30, 0, 5e8, time.UTC), nil},
		{"null", nullable.NewNullNullable[string](), time.Time{}, client.ErrNoTimestamp},
		{"absent", nullable.Nullable[string]{}, time.Time{}, client.ErrNoTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := client.ParseTimestamp(tt.in)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %v", got)
		})
	}
	_, err := client.ParseTimestamp(nullable.NewNullableWithValue("yesterday"))
	var pe *time.ParseError
	assert.True(t, errors.As(err, &pe), "a non-RFC 3339 value is a *time.ParseError: %v", err)
}
