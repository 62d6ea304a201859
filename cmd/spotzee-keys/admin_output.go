package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
)

// printRows writes "FIELD  value" lines, aligned; it returns a wrapped
// write error on failure.
func printRows(w io.Writer, rows [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printOrgMe writes the organisation and the caller's role as "FIELD
// value" lines.
func printOrgMe(w io.Writer, me *client.OrgMeResponse) error {
	o := me.Organization
	return printRows(w, [][2]string{
		{"ID", strconv.FormatInt(o.ID, 10)},
		{"USERNAME", cell(o.Username, 0)},
		{"DOMAIN", cell(optional(o.Domain), 0)},
		{"ROLE", cell(string(me.Role), 0)},
		{"CREATED", timeCell(o.CreatedAt)},
		{"UPDATED", timeCell(o.UpdatedAt)},
	})
}

// printOrgKeyTable writes organisation keys as a table with a header row:
// ID, NAME, ROLE, VALUE, CREATED, DESCRIPTION; long names and descriptions
// are cut.
func printOrgKeyTable(w io.Writer, keys []client.OrganizationAPIKey) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tVALUE\tCREATED\tDESCRIPTION")
	for _, k := range keys {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", k.ID,
			cell(k.Name, maxNameCell), cell(string(k.Role), 0), cell(k.Value, 0),
			timeCell(k.CreatedAt), cell(optional(k.Description), maxDescriptionCell))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printOrgKeyDetails writes one organisation key as "FIELD  value" lines.
func printOrgKeyDetails(w io.Writer, k client.OrganizationAPIKey) error {
	return printRows(w, [][2]string{
		{"ID", strconv.FormatInt(k.ID, 10)},
		{"ORGANIZATION", strconv.FormatInt(k.OrganizationID, 10)},
		{"NAME", cell(k.Name, 0)},
		{"ROLE", cell(string(k.Role), 0)},
		{"VALUE", cell(k.Value, 0)},
		{"CREATED", timeCell(k.CreatedAt)},
		{"UPDATED", timeCell(k.UpdatedAt)},
		{"DESCRIPTION", cell(optional(k.Description), 0)},
	})
}

// printProjectTable writes projects as a table with a header row: ID, NAME,
// LOCALE, TIMEZONE, CREATED, DESCRIPTION; long names and descriptions are
// cut.
func printProjectTable(w io.Writer, projects []client.OrgProject) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tLOCALE\tTIMEZONE\tCREATED\tDESCRIPTION")
	for _, p := range projects {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.ID,
			cell(p.Name, maxNameCell), cell(p.Locale, 0), cell(p.Timezone, 0),
			timeCell(p.CreatedAt), cell(optional(p.Description), maxDescriptionCell))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printProjectDetails writes one project as "FIELD  value" lines; ROLE and
// PROVIDER only when the response has them.
func printProjectDetails(w io.Writer, p client.OrgProject) error {
	rows := [][2]string{
		{"ID", strconv.FormatInt(p.ID, 10)},
		{"ORGANIZATION", strconv.FormatInt(p.OrganizationID, 10)},
		{"NAME", cell(p.Name, 0)},
		{"LOCALE", cell(p.Locale, 0)},
		{"TIMEZONE", cell(p.Timezone, 0)},
		{"WEBSITE", cell(optional(p.WebsiteURL), 0)},
		{"DEEPLINK MIRROR", cell(optional(p.DeeplinkMirrorURL), 0)},
		{"LINK WRAP EMAIL", boolCell(p.LinkWrapEmail)},
		{"LINK WRAP PUSH", boolCell(p.LinkWrapPush)},
		{"TRACK OPENS EMAIL", boolCell(p.TrackOpensEmail)},
		{"TEXT HELP", cell(optional(p.TextHelpMessage), 0)},
		{"TEXT OPT-OUT", cell(optional(p.TextOptOutMessage), 0)},
	}
	if p.Role != nil {
		rows = append(rows, [2]string{"ROLE", cell(string(*p.Role), 0)})
	}
	if p.HasProvider != nil {
		rows = append(rows, [2]string{"PROVIDER", yesNo(*p.HasProvider)})
	}
	rows = append(rows,
		[2]string{"CREATED", timeCell(p.CreatedAt)},
		[2]string{"UPDATED", timeCell(p.UpdatedAt)},
		[2]string{"DESCRIPTION", cell(optional(p.Description), 0)},
	)
	return printRows(w, rows)
}

// boolCell shows a nullable flag as yes, no or "-" when null or absent.
func boolCell(n nullable.Nullable[bool]) string {
	v, err := n.Get()
	if err != nil {
		return "-"
	}
	return yesNo(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
