package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

var sentinels = map[string]error{
	"ErrNotFound":     client.ErrNotFound,
	"ErrUnauthorized": client.ErrUnauthorized,
	"ErrForbidden":    client.ErrForbidden,
	"ErrRateLimited":  client.ErrRateLimited,
	"ErrConflict":     client.ErrConflict,
	"ErrValidation":   client.ErrValidation,
}

// TestAPIErrorCatalogue checks every catalogue code, at its usual status,
// becomes an *APIError with the envelope's fields and matches exactly the
// sentinels of its family.
func TestAPIErrorCatalogue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code     client.Code
		status   int
		sentinel string // "" when no sentinel matches
	}{
		{client.ErrorCodeResourceMissing, 404, "ErrNotFound"},
		{client.ErrorCodeResourceAlreadyExists, 409, "ErrConflict"},
		{client.ErrorCodeStateConflict, 409, "ErrConflict"},
		{client.ErrorCodeParameterMissing, 400, "ErrValidation"},
		{client.ErrorCodeParameterInvalidEmpty, 400, "ErrValidation"},
		{client.ErrorCodeParameterInvalidFormat, 400, "ErrValidation"},
		{client.ErrorCodeParameterUnknown, 400, "ErrValidation"},
		{client.ErrorCodeValidationFailed, 422, "ErrValidation"},
		{client.ErrorCodeAuthenticationRequired, 401, "ErrUnauthorized"},
		{client.ErrorCodePermissionDenied, 403, "ErrForbidden"},
		{client.ErrorCodeIdempotencyKeyMismatch, 409, "ErrConflict"},
		{client.ErrorCodeIdempotencyKeyInvalid, 400, ""},
		{client.ErrorCodeIdempotencyInProgress, 409, "ErrConflict"},
		{client.ErrorCodeRateLimited, 429, "ErrRateLimited"},
		{client.ErrorCodeVersionUnsupported, 400, ""},
		{client.ErrorCodeVersionRequired, 400, ""},
		{client.ErrorCodeWebhookSignatureInvalid, 400, ""},
		{client.ErrorCodeQuotaExceeded, 402, ""},
		{client.ErrorCodeServiceUnavailable, 503, ""},
		{client.ErrorCodeInternalError, 500, ""},
	}
	require.Len(t, tests, 20, "the catalogue has 20 codes")
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			t.Parallel()
			require.True(t, tt.code.Valid())
			srv := newFaultServer(t, reply{
				status: tt.status,
				body:   problemJSON(tt.status, tt.code, "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2", "name"),
				header: map[string]string{"Retry-After": "3"},
			})
			c, _ := newTestAPI(t, srv.Server, client.WithMaxAttempts(1))

			_, err := c.CreateKey(t.Context(), client.ProjectAPIKeyCreate{Name: "x"})

			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.code, apiErr.Code)
			assert.Equal(t, "Title of "+string(tt.code), apiErr.Title)
			assert.Equal(t, "https://docs.spotzee.com/main-api/errors#"+string(tt.code), apiErr.Type)
			assert.Equal(t, "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2", apiErr.RequestID)
			assert.Equal(t, "name", apiErr.Param)
			assert.Equal(t, 3*time.Second, apiErr.RetryAfter)
			assert.Equal(t, "POST", apiErr.Method)
			assert.Equal(t, "/keys", apiErr.Path)
			assert.Equal(t, 1, apiErr.Attempts)
			for name, s := range sentinels {
				assert.Equal(t, name == tt.sentinel, errors.Is(err, s), "errors.Is(err, %s)", name)
			}
			if tt.code == client.ErrorCodeValidationFailed {
				require.Len(t, apiErr.Errors, 1)
				assert.Equal(t, client.FieldError{Param: "role", Code: client.ErrorCodeValidationFailed,
					Message: "value must be one of support, smtpproxy, editor, publisher, admin"}, apiErr.Errors[0])
			}
			msg := err.Error()
			assert.NotContains(t, msg, "\n")
			for _, part := range []string{"POST /keys", string(tt.code), apiErr.Message, apiErr.RequestID} {
				assert.Contains(t, msg, part)
			}
		})
	}
}

func TestAPIErrorMessageFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *client.APIError
		want string
	}{
		{
			name: "full",
			err: &client.APIError{StatusCode: 404, Code: client.ErrorCodeResourceMissing, Message: "No API key with id 12 in this project.",
				RequestID: "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2", Param: "keyId", Method: "GET", Path: "/keys/12"},
			want: "spotzee: GET /keys/12: 404 resource_missing (param keyId): No API key with id 12 in this project. [request_id req_01HXY7Z9K8M5J2N4P6Q8R0S1T2]",
		},
		{
			name: "bare",
			err:  &client.APIError{StatusCode: 502},
			want: "spotzee: 502",
		},
		{
			name: "multi-line message",
			err:  &client.APIError{StatusCode: 500, Code: client.ErrorCodeInternalError, Message: "boom\n\tat line 3\r\n"},
			want: "spotzee: 500 internal_error: boom at line 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.err.Error())
		})
	}
}

// TestAPIErrorStatusFallback: without a code, sentinels match on status.
func TestAPIErrorStatusFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   string
	}{
		{404, "ErrNotFound"},
		{401, "ErrUnauthorized"},
		{403, "ErrForbidden"},
		{429, "ErrRateLimited"},
		{409, "ErrConflict"},
		{422, "ErrValidation"},
		{400, ""},
		{500, ""},
	}
	for _, tt := range tests {
		e := &client.APIError{StatusCode: tt.status}
		for name, s := range sentinels {
			assert.Equal(t, name == tt.want, errors.Is(e, s), "%d vs %s", tt.status, name)
		}
	}
	// A code wins over the status.
	assert.False(t, errors.Is(&client.APIError{StatusCode: 404, Code: client.ErrorCodeStateConflict}, client.ErrNotFound))
	assert.True(t, errors.Is(&client.APIError{StatusCode: 409, Code: "some_future_code"}, client.ErrConflict))
}

// TestAPIErrorFromUnusableBodies: bodies that are not a problem document
// still give a useful error, and never a panic.
func TestAPIErrorFromUnusableBodies(t *testing.T) {
	t.Parallel()
	const hdrID = "req_01HXY7Z9K8M5J2N4P6Q8R0HDR1"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantCode    client.Code
		wantReqID   string
		wantInMsg   []string
		sentinel    error
	}{
		{
			name: "HTML from a proxy", status: 404, contentType: "text/html",
			body:      "<html><body><h1>404 Not Found</h1></body></html>",
			wantReqID: hdrID, wantInMsg: []string{"Not Found", "non-JSON", "text/html", "<h1>404 Not Found</h1>"}, sentinel: client.ErrNotFound,
		},
		{
			name: "truncated JSON, code complete", status: 429, contentType: "application/problem+json",
			body:     `{"status":"error","code":"rate_limited","title":"Rate limited","request_id":"req_01HXY7Z9K8M5J2N4P6Q8R0BODY","message":"Too many req`,
			wantCode: client.ErrorCodeRateLimited, wantReqID: "req_01HXY7Z9K8M5J2N4P6Q8R0BODY", wantInMsg: []string{"malformed JSON", `"code":"rate_limited"`}, sentinel: client.ErrRateLimited,
		},
		{
			name: "truncated JSON before the code", status: 409, contentType: "application/problem+json",
			body:      `{"status":"error","co`,
			wantReqID: hdrID, wantInMsg: []string{"Conflict", "malformed JSON", `{"status":"error","co`}, sentinel: client.ErrConflict,
		},
		{
			name: "empty body", status: 503,
			wantReqID: hdrID, wantInMsg: []string{"Service Unavailable", "empty body"},
		},
		{
			name: "JSON that is not a problem", status: 401, contentType: "application/json",
			body:      `{"error":"unauthorized"}`,
			wantReqID: hdrID, wantInMsg: []string{"unrecognised JSON", `{"error":"unauthorized"}`}, sentinel: client.ErrUnauthorized,
		},
		{
			name: "fields of the wrong type", status: 422, contentType: "application/problem+json",
			body:     `{"code":"validation_failed","message":"bad","errors":"not a list"}`,
			wantCode: client.ErrorCodeValidationFailed, wantReqID: hdrID, wantInMsg: []string{"bad"}, sentinel: client.ErrValidation,
		},
		{
			name: "binary garbage", status: 500, contentType: "application/octet-stream",
			body:      "\x00\xff\xfe\x01garbage",
			wantReqID: hdrID, wantInMsg: []string{"Internal Server Error", "garbage"},
		},
		{
			name: "plain text with newlines", status: 400, contentType: "text/plain",
			body:      "bad\nrequest\r\n",
			wantReqID: hdrID, wantInMsg: []string{"bad request"},
		},
		{
			name: "huge body is cut", status: 502, contentType: "text/html",
			body:      strings.Repeat("é", 5000),
			wantReqID: hdrID, wantInMsg: []string{"…"},
		},
		{
			name: "unknown status", status: 599, contentType: "text/plain",
			body:      "?",
			wantReqID: hdrID, wantInMsg: []string{"HTTP 599"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := tt.body
			if body == "" {
				body = " "
			}
			srv := newFaultServer(t, reply{status: tt.status, body: body, header: map[string]string{
				"Content-Type": tt.contentType, "X-Request-Id": hdrID,
			}})
			c, _ := newTestAPI(t, srv.Server, client.WithMaxAttempts(1))

			_, err := c.GetKey(t.Context(), 12)

			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantCode, apiErr.Code)
			assert.Equal(t, tt.wantReqID, apiErr.RequestID)
			for _, part := range tt.wantInMsg {
				assert.Contains(t, apiErr.Message, part)
			}
			if tt.sentinel != nil {
				assert.ErrorIs(t, err, tt.sentinel)
			}
			msg := err.Error()
			assert.NotContains(t, msg, "\n")
			assert.Less(t, len(msg), 600, "the error stays short")
			assert.True(t, strings.Contains(msg, apiErr.RequestID))
		})
	}
}

// TestAPIErrorNeverShowsTheKey: even a server that echoes the key does not
// get it into the error.
func TestAPIErrorNeverShowsTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rep  reply
	}{
		{"problem message", reply{status: 401, body: `{"code":"authentication_required","title":"t","message":"key ` + testKey + ` is revoked","param":"` + testKey + `"}`}},
		{"field error", reply{status: 422, body: `{"code":"validation_failed","message":"m","errors":[{"param":"x","code":"validation_failed","message":"saw ` + testKey + `"}]}`}},
		{"proxy echoing headers", reply{status: 400, body: "Authorization: Bearer " + testKey, header: map[string]string{"Content-Type": "text/plain"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFaultServer(t, tt.rep)
			c, _ := newTestAPI(t, srv.Server)

			_, err := c.GetKey(t.Context(), 1)

			var apiErr *client.APIError
			require.ErrorAs(t, err, &apiErr)
			all := []string{err.Error(), apiErr.Message, apiErr.Param, apiErr.Title}
			for _, f := range apiErr.Errors {
				all = append(all, f.Message)
			}
			text := strings.Join(all, " | ")
			assertNoKey(t, text)
			assert.Contains(t, text, "[REDACTED]")
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 28, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999", 365 * 24 * time.Hour, true},
		{"Tue, 28 Apr 2026 09:30:10 GMT", 10 * time.Second, true},
		{"Tue, 28 Apr 2026 09:29:00 GMT", 0, true},
	}
	for _, tt := range tests {
		got, ok := client.ParseRetryAfter(tt.in, now)
		assert.Equal(t, tt.wantOK, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}
