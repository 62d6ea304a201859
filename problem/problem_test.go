package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/problem"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	limited := spotzee.Errorf(spotzee.CodeRateLimited, "slow down")
	limited.RetryAfter = 3
	notAllowed := spotzee.Errorf(spotzee.CodeResourceMissing, "no PUT")
	notAllowed.Status = http.StatusMethodNotAllowed
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   spotzee.Code
		wantMsg    string
		retryAfter string
	}{
		{"catalogue error", spotzee.ParamErrorf(spotzee.CodeParameterMissing, "name", "name is required"), 400, spotzee.CodeParameterMissing, "name is required", ""},
		{"wrapped catalogue error", fmt.Errorf("create: %w", spotzee.Errorf(spotzee.CodeResourceMissing, "gone")), 404, spotzee.CodeResourceMissing, "gone", ""},
		{"plain error hides internals", errors.New("sql: database is locked at /var/db"), 500, spotzee.CodeInternalError, "An unexpected error occurred.", ""},
		{"unknown code", &spotzee.Error{Code: "made_up", Message: "x"}, 500, spotzee.CodeInternalError, "An unexpected error occurred.", ""},
		{"retry after", limited, 429, spotzee.CodeRateLimited, "slow down", "3"},
		{"status override", notAllowed, 405, spotzee.CodeResourceMissing, "no PUT", ""},
		{"empty message gets the title", &spotzee.Error{Code: spotzee.CodeStateConflict}, 409, spotzee.CodeStateConflict, "State conflict.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			rec.Header().Set("X-Request-Id", "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
			problem.Write(rec, tt.err)
			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"))
			assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
			var body problem.Body
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, "error", body.Status)
			assert.Equal(t, tt.wantCode, body.Code)
			assert.Equal(t, tt.wantCode.Title(), body.Title)
			assert.Equal(t, tt.wantMsg, body.Message)
			assert.Equal(t, "https://docs.spotzee.com/main-api/errors#"+string(tt.wantCode), body.Type)
			assert.Equal(t, "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2", body.RequestID)
		})
	}
}

func TestCatalogue(t *testing.T) {
	t.Parallel()
	require.Len(t, spotzee.Codes(), 20)
	titles := map[string]bool{}
	for _, c := range spotzee.Codes() {
		assert.True(t, c.Known(), c)
		assert.Equal(t, c == spotzee.CodeInternalError, c.Status() == http.StatusInternalServerError, c)
		assert.False(t, titles[c.Title()], "title %q is not unique", c.Title())
		titles[c.Title()] = true
	}
	assert.Equal(t, http.StatusUnprocessableEntity, spotzee.CodeValidationFailed.Status())
	assert.Equal(t, http.StatusPaymentRequired, spotzee.CodeQuotaExceeded.Status())
	assert.False(t, spotzee.Code("nope").Known())
}

func TestWriteEdge(t *testing.T) {
	t.Parallel()
	limited := spotzee.Errorf(spotzee.CodeRateLimited, "Too many requests from this IP address.")
	limited.RetryAfter = 7
	tests := []struct {
		name      string
		write     func(http.ResponseWriter, error)
		requestID bool // body carries request_id
	}{
		{"Write", problem.Write, true},
		{"WriteEdge", problem.WriteEdge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			rec.Header().Set("X-Request-Id", "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
			tt.write(rec, limited)
			assert.Equal(t, http.StatusTooManyRequests, rec.Code)
			assert.Equal(t, "7", rec.Header().Get("Retry-After"))
			assert.Equal(t, problem.ContentType, rec.Header().Get("Content-Type"))
			var body map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			for _, f := range []string{"status", "code", "message", "error", "title", "type"} {
				assert.Contains(t, body, f)
			}
			assert.Equal(t, "rate_limited", body["code"])
			assert.Equal(t, body["message"], body["error"])
			_, has := body["request_id"]
			assert.Equal(t, tt.requestID, has)
		})
	}
}

func TestFieldErrorsAreCapped(t *testing.T) {
	t.Parallel()
	fields := func(n int) []spotzee.FieldError {
		out := make([]spotzee.FieldError, n)
		for i := range out {
			out[i] = spotzee.FieldError{Param: fmt.Sprintf("field%d", i), Code: spotzee.CodeParameterUnknown, Message: "unknown field"}
		}
		return out
	}
	tests := []struct {
		name       string
		n          int
		wantLen    int
		wantSuffix string
	}{
		{"none", 0, 0, ""},
		{"one", 1, 1, ""},
		{"at the cap", problem.MaxFieldErrors, problem.MaxFieldErrors, ""},
		{"one over", problem.MaxFieldErrors + 1, problem.MaxFieldErrors, fmt.Sprintf(" errors lists the first %d of %d.", problem.MaxFieldErrors, problem.MaxFieldErrors+1)},
		{"thousands", 5000, problem.MaxFieldErrors, fmt.Sprintf(" errors lists the first %d of 5000.", problem.MaxFieldErrors)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &spotzee.Error{Code: spotzee.CodeParameterUnknown, Message: "Unknown fields.", Fields: fields(tt.n)}
			rec := httptest.NewRecorder()
			problem.Write(rec, e)
			var body problem.Body
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Len(t, body.Errors, tt.wantLen)
			assert.Equal(t, "Unknown fields."+tt.wantSuffix, body.Message)
			assert.Equal(t, body.Message, body.Error)
			assert.Less(t, rec.Body.Len(), 4096, "the body stays small")
			if tt.wantLen > 0 {
				assert.Equal(t, "field0", body.Errors[0].Param, "the first ones are kept")
			}
			assert.Len(t, e.Fields, tt.n, "the error itself is not changed")
		})
	}
}
