package main

import (
	"context"
	"flag"
	"io"
	"slices"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/spotzeekit/spotzee-keys/client"
)

const projectsUsage = `usage: spotzee-keys projects [flags] <subcommand> [flags] [ID]

Manage the organisation's projects through the admin API (organisation key).

subcommands:
  list    [--limit N] [--sort F] [--q TEXT] [--all]
          print the projects as a table: ID, NAME, LOCALE, TIMEZONE, CREATED,
          DESCRIPTION. Without --all, one page (a note on stderr says when
          there are more); with --all, every project.
  create  --name N --locale L --timezone Z [optional fields] [--idempotency-key K]
          create a project and print it.
  update  ID [--name N] [--locale L] [--timezone Z] [optional fields] [--clear F[,F...]] [--idempotency-key K]
          change only the fields given and print the project. --clear (which
          may be repeated) sets optional fields to null: ` + clearableList + `.

optional fields:
  --description D  --website-url U  --deeplink-mirror-url U
  --link-wrap-email true|false  --link-wrap-push true|false  --track-opens-email true|false
  --text-help-message M  --text-opt-out-message M

Locales are BCP 47 tags (en-GB), time zones IANA names (Europe/London).
` + adminFlagsUsage

// projectsCommands are the subcommands of "spotzee-keys projects".
var projectsCommands = map[string]command[*client.Admin]{
	"list":   projectsList.command(),
	"create": {synopsis: "create --name N --locale L --timezone Z [optional fields] [--idempotency-key K]", setup: projectsCreateFlags},
	"update": {synopsis: "update ID [--name N] [--locale L] [--timezone Z] [optional fields] [--clear F[,F...]] [--idempotency-key K]", arg: "project ID", setup: projectsUpdateFlags},
}

// runProjects runs "spotzee-keys projects ..." and returns the exit code: 0
// on success, 1 when the API call fails, 2 on a usage error.
func runProjects(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newAPICLI(stdout, stderr, "spotzee-keys projects", projectsUsage, adminConn)
	return runGroup(ctx, c, args, projectsCommands, newAdminClient)
}

// projectsList is "projects list": one page, or every page with --all, as
// a table or a JSON array.
var projectsList = listing[*client.Admin, *client.ListProjectsParams, client.OrgProjectList, client.OrgProject]{
	nouns: "projects", noun: "project", every: "every one",
	all: (*client.Admin).AllProjects, list: (*client.Admin).ListProjects, table: printProjectTable,
	page: func(l *client.OrgProjectList) ([]client.OrgProject, nullable.Nullable[string]) {
		return l.Results, l.NextCursor
	},
}

// projectStringField is an optional, nullable text field of a project.
type projectStringField struct {
	flag, help string
	create     func(*client.OrgProjectCreate) *nullable.Nullable[string]
	update     func(*client.OrgProjectUpdate) *nullable.Nullable[string]
}

// projectBoolField is an optional, nullable true|false field of a project.
type projectBoolField struct {
	flag, help string
	create     func(*client.OrgProjectCreate) *nullable.Nullable[bool]
	update     func(*client.OrgProjectUpdate) *nullable.Nullable[bool]
}

var projectStringFields = []projectStringField{
	{"description", "description of the project",
		func(b *client.OrgProjectCreate) *nullable.Nullable[string] { return &b.Description },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[string] { return &b.Description }},
	{"website-url", "the project's website, http(s)",
		func(b *client.OrgProjectCreate) *nullable.Nullable[string] { return &b.WebsiteURL },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[string] { return &b.WebsiteURL }},
	{"deeplink-mirror-url", "the https URL deep links are mirrored at",
		func(b *client.OrgProjectCreate) *nullable.Nullable[string] { return &b.DeeplinkMirrorURL },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[string] { return &b.DeeplinkMirrorURL }},
	{"text-help-message", "the SMS help message",
		func(b *client.OrgProjectCreate) *nullable.Nullable[string] { return &b.TextHelpMessage },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[string] { return &b.TextHelpMessage }},
	{"text-opt-out-message", "the SMS opt-out message",
		func(b *client.OrgProjectCreate) *nullable.Nullable[string] { return &b.TextOptOutMessage },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[string] { return &b.TextOptOutMessage }},
}

var projectBoolFields = []projectBoolField{
	{"link-wrap-email", "wrap links in emails for tracking: true or false",
		func(b *client.OrgProjectCreate) *nullable.Nullable[bool] { return &b.LinkWrapEmail },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[bool] { return &b.LinkWrapEmail }},
	{"link-wrap-push", "wrap links in push notifications for tracking: true or false",
		func(b *client.OrgProjectCreate) *nullable.Nullable[bool] { return &b.LinkWrapPush },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[bool] { return &b.LinkWrapPush }},
	{"track-opens-email", "track email opens: true or false",
		func(b *client.OrgProjectCreate) *nullable.Nullable[bool] { return &b.TrackOpensEmail },
		func(b *client.OrgProjectUpdate) *nullable.Nullable[bool] { return &b.TrackOpensEmail }},
}

// clearableList names the fields --clear takes, for the usage text.
const clearableList = "description, website-url, deeplink-mirror-url, link-wrap-email, link-wrap-push, track-opens-email, text-help-message, text-opt-out-message"

// projectFieldFlags are a project's field flags registered on one flag set.
type projectFieldFlags struct {
	fs                     *flag.FlagSet
	name, locale, timezone *string
	strs                   []*string // parallel to projectStringFields
	bools                  []*string // parallel to projectBoolFields
}

func newProjectFieldFlags(fs *flag.FlagSet, required bool) *projectFieldFlags {
	req := ""
	if required {
		req = " (required)"
	}
	f := &projectFieldFlags{
		fs:       fs,
		name:     fs.String("name", "", "name of the project"+req),
		locale:   fs.String("locale", "", "default locale, a BCP 47 tag such as en-GB"+req),
		timezone: fs.String("timezone", "", "time zone, an IANA name such as Europe/London"+req),
	}
	for _, sf := range projectStringFields {
		f.strs = append(f.strs, fs.String(sf.flag, "", sf.help))
	}
	for _, bf := range projectBoolFields {
		f.bools = append(f.bools, fs.String(bf.flag, "", bf.help))
	}
	return f
}

// requiredText checks a --name, --locale or --timezone value given on the
// command line: it must not be blank.
func requiredText(flagName, v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", usagef("--%s must not be empty", flagName)
	}
	return v, nil
}

// optionals applies the optional field flags given, through str and bool,
// and reports whether any was given.
func (f *projectFieldFlags) optionals(str func(i int, v string), boolean func(i int, v bool)) (bool, error) {
	changed := false
	for i, sf := range projectStringFields {
		if isSet(f.fs, sf.flag) {
			str(i, *f.strs[i])
			changed = true
		}
	}
	for i, bf := range projectBoolFields {
		if isSet(f.fs, bf.flag) {
			v, err := parseBool(bf.flag, *f.bools[i])
			if err != nil {
				return false, err
			}
			boolean(i, v)
			changed = true
		}
	}
	return changed, nil
}

// projectsCreateFlags sets up "projects create".
func projectsCreateFlags(fs *flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
	f := newProjectFieldFlags(fs, true)
	idemKey := fs.String("idempotency-key", "", "Idempotency-Key (1 to 255 characters): rerunning with the same key and flags returns the same project, not a second one")
	return func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
		var body client.OrgProjectCreate
		for _, r := range []struct {
			flag string
			dst  *string
			v    string
		}{{"name", &body.Name, *f.name}, {"locale", &body.Locale, *f.locale}, {"timezone", &body.Timezone, *f.timezone}} {
			if !isSet(fs, r.flag) {
				return nil, usagef("--%s is required", r.flag)
			}
			v, err := requiredText(r.flag, r.v)
			if err != nil {
				return nil, err
			}
			*r.dst = v
		}
		_, err := f.optionals(
			func(i int, v string) { *projectStringFields[i].create(&body) = nullable.NewNullableWithValue(v) },
			func(i int, v bool) { *projectBoolFields[i].create(&body) = nullable.NewNullableWithValue(v) })
		if err != nil {
			return nil, err
		}
		opts, err := idempotencyOption(fs, *idemKey)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, a *client.Admin) error {
			p, err := a.CreateProject(ctx, body, opts...)
			if err != nil {
				return err
			}
			return c.printProject(p)
		}, nil
	}
}

// clearFlag collects --clear values: field names, repeated or
// comma-separated.
type clearFlag []string

func (c *clearFlag) String() string { return strings.Join(*c, ",") }

func (c *clearFlag) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*c = append(*c, f)
		}
	}
	return nil
}

// projectsUpdateFlags sets up "projects update ID": only the flags given
// are sent; --clear sends null.
func projectsUpdateFlags(fs *flag.FlagSet) func([]string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
	f := newProjectFieldFlags(fs, false)
	var clear clearFlag
	fs.Var(&clear, "clear", "set optional fields to null (repeatable, or comma-separated): "+clearableList)
	idemKey := fs.String("idempotency-key", "", "Idempotency-Key (1 to 255 characters) to send instead of a generated one")
	return func(pos []string) (func(context.Context, *apiCLI, *client.Admin) error, error) {
		id, err := parseNamedID("project", pos[0])
		if err != nil {
			return nil, err
		}
		var body client.OrgProjectUpdate
		changed := false
		for _, r := range []struct {
			flag string
			dst  *nullable.Nullable[string]
			v    string
		}{{"name", &body.Name, *f.name}, {"locale", &body.Locale, *f.locale}, {"timezone", &body.Timezone, *f.timezone}} {
			if !isSet(fs, r.flag) {
				continue
			}
			v, err := requiredText(r.flag, r.v)
			if err != nil {
				return nil, err
			}
			*r.dst, changed = nullable.NewNullableWithValue(v), true
		}
		set, err := f.optionals(
			func(i int, v string) { *projectStringFields[i].update(&body) = nullable.NewNullableWithValue(v) },
			func(i int, v bool) { *projectBoolFields[i].update(&body) = nullable.NewNullableWithValue(v) })
		if err != nil {
			return nil, err
		}
		changed = changed || set
		for _, name := range clear {
			if isSet(fs, name) {
				return nil, usagef("give --%s or --clear %s, not both", name, name)
			}
			si := slices.IndexFunc(projectStringFields, func(sf projectStringField) bool { return sf.flag == name })
			bi := slices.IndexFunc(projectBoolFields, func(bf projectBoolField) bool { return bf.flag == name })
			switch {
			case si >= 0:
				*projectStringFields[si].update(&body) = nullable.NewNullNullable[string]()
			case bi >= 0:
				*projectBoolFields[bi].update(&body) = nullable.NewNullNullable[bool]()
			default:
				return nil, usagef("--clear %q: want one of %s", name, clearableList)
			}
			changed = true
		}
		if !changed {
			return nil, usagef("nothing to change: give a field flag or --clear")
		}
		opts, err := idempotencyOption(fs, *idemKey)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *apiCLI, a *client.Admin) error {
			p, err := a.UpdateProject(ctx, id, body, opts...)
			if err != nil {
				return err
			}
			return c.printProject(p)
		}, nil
	}
}

// printProject prints one project as JSON or as text, per --json.
func (c *apiCLI) printProject(p *client.OrgProject) error {
	if c.jsonOut {
		return c.printJSON(p)
	}
	return printProjectDetails(c.stdout, *p)
}
