package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/spotzeekit/spotzee-keys/client"
)

// usageError is a command line that cannot be run; it exits with status 2.
type usageError struct{ msg string }

// Error returns the message, without the pointer to the help.
func (e usageError) Error() string { return e.msg }

// usagef returns a usageError with the formatted message.
func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// fail reports err on stderr and returns its exit code: 2 and a pointer to
// the help for a usageError, otherwise 1 and exactly one line (status,
// code, message and request id for an *APIError).
func (c *apiCLI) fail(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "%s: %s\n", c.prog, c.scrub(ue.msg))
		fmt.Fprintf(c.stderr, "Run \"%s -h\" for usage.\n", c.prog)
		return 2
	}
	fmt.Fprintf(c.stderr, "spotzee-keys: %s\n", c.scrub(describeError(err)))
	return 1
}

// scrub makes s one line of printable text without the key.
func (c *apiCLI) scrub(s string) string {
	if c.key != "" {
		s = strings.ReplaceAll(s, c.key, "[REDACTED]")
	}
	return oneLine(s)
}

// describeError renders err for the one error line: for an *APIError the
// status, code, message, per-field failures, Retry-After and request id, as
// in "404 resource_missing: No API key with id 99 in this project.
// (request_id req_…)"; otherwise the error text.
func describeError(err error) string {
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(apiErr.StatusCode))
	if apiErr.Code != "" {
		b.WriteString(" " + string(apiErr.Code))
	}
	if msg := oneLine(apiErr.Message); msg != "" {
		b.WriteString(": " + msg)
	}
	if len(apiErr.Errors) > 1 {
		fields := make([]string, 0, len(apiErr.Errors))
		for _, f := range apiErr.Errors {
			fields = append(fields, f.Param+": "+f.Message)
		}
		b.WriteString(" [" + strings.Join(fields, "; ") + "]")
	}
	if apiErr.RetryAfter > 0 {
		b.WriteString(" (retry after " + apiErr.RetryAfter.String() + ")")
	}
	if apiErr.RequestID != "" {
		b.WriteString(" (request_id " + apiErr.RequestID + ")")
	}
	return b.String()
}

// oneLine replaces control characters (newlines, escapes) with spaces and
// collapses runs of white space, so server-sent text can neither break the
// one-line error format nor drive the terminal.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
