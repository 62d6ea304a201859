package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
)

// timeLayout is how timestamps are printed: RFC 3339 in UTC.
const timeLayout = time.RFC3339

// Widest name and description a list table shows; JSON output has them in
// full.
const (
	maxNameCell        = 40
	maxDescriptionCell = 50
)

// printKey prints one key as JSON or as text, per --json.
func (c *apiCLI) printKey(k *client.ProjectAPIKey) error {
	if c.jsonOut {
		return c.printJSON(k)
	}
	return printKeyDetails(c.stdout, *k)
}

// printKeyTable writes keys as a table with a header row: ID, NAME, SCOPE,
// ROLE, VALUE, CREATED, DESCRIPTION; long names and descriptions are cut.
func printKeyTable(w io.Writer, keys []client.ProjectAPIKey) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tROLE\tVALUE\tCREATED\tDESCRIPTION")
	for _, k := range keys {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID,
			cell(k.Name, maxNameCell), cell(string(k.Scope), 0), cell(string(k.Role), 0), cell(k.Value, 0),
			timeCell(k.CreatedAt), cell(optional(k.Description), maxDescriptionCell))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printKeyDetails writes one key as "FIELD  value" lines.
func printKeyDetails(w io.Writer, k client.ProjectAPIKey) error {
	system := "no"
	if k.IsSystemKey != nil && *k.IsSystemKey {
		system = "yes"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range [][2]string{
		{"ID", strconv.FormatInt(k.ID, 10)},
		{"PROJECT", strconv.FormatInt(k.ProjectID, 10)},
		{"NAME", cell(k.Name, 0)},
		{"SCOPE", cell(string(k.Scope), 0)},
		{"ROLE", cell(string(k.Role), 0)},
		{"VALUE", cell(k.Value, 0)},
		{"SYSTEM", system},
		{"CREATED", timeCell(k.CreatedAt)},
		{"UPDATED", timeCell(k.UpdatedAt)},
		{"DESCRIPTION", cell(optional(k.Description), 0)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// optional returns a nullable string's value, "" when null or absent.
func optional(n nullable.Nullable[string]) string {
	v, err := n.Get()
	if err != nil {
		return ""
	}
	return v
}

// cell makes server-sent text safe for one table cell: one line, no control
// characters, at most max runes (0: no limit) with "…" when cut, and "-"
// when empty.
func cell(s string, max int) string {
	s = oneLine(s)
	if max > 0 && utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

// timeCell formats a nullable timestamp, "-" when null or empty. The
// contract types timestamps as strings (Spotzee publishes no format): an
// RFC 3339 value is shown in timeLayout, anything else as it came.
func timeCell(n nullable.Nullable[string]) string {
	s, err := n.Get()
	if err != nil || s == "" {
		return "-"
	}
	return timeText(s)
}

// timeText formats an RFC 3339 timestamp in timeLayout (UTC), or returns s
// unchanged when it is not one.
func timeText(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(timeLayout)
}
