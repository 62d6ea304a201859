package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/client"
)

// The keys the fake API expects; neither may ever be printed.
const (
	fakeOrgKey     = "ok_01HXY7Z9K8M5J2N4P6Q8R0ORG1"
	fakeProjectKey = "sk_01HXY7Z9K8M5J2N4P6Q8R0PRJ1"
	// fakeNewOrgKey is the full value a create returns, printed once.
	fakeNewOrgKey = "ok_01HXY7Z9K8M5J2N4P6Q8R0NEW1"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// JSON bodies the fake API answers with.
const (
	fakeOrgMe = `{"organization":{"id":7,"username":"acme","domain":"acme.example",` +
		`"created_at":"2026-04-28T09:30:00Z","updated_at":null},"role":"owner"}`
	fakeOrgKey31 = `{"id":31,"organization_id":7,"name":"terraform","description":"provisions",` +
		`"role":"admin","value":"ok_****ORG1","created_at":"2026-04-28T09:30:00Z","updated_at":"2026-04-29T10:00:00+02:00"}`
	fakeOrgKeyCreated = `{"id":32,"organization_id":7,"name":"ci","description":"deploys","role":"member",` +
		`"value":"` + fakeNewOrgKey + `","created_at":"2026-04-28T09:30:00Z","updated_at":null}`
	fakeRevoked = `{"id":31,"revoked":true,"revoked_at":"2026-04-28T09:30:00Z"}`
	fakeProject = `{"id":123,"organization_id":7,"name":"Newsletter","description":"weekly","locale":"en-GB",` +
		`"timezone":"Europe/London","website_url":"https://acme.example","deeplink_mirror_url":null,"link_wrap_email":true,` +
		`"link_wrap_push":false,"text_help_message":"Reply HELP","role":"admin","has_provider":false,` +
		`"created_at":"2026-04-28T09:30:00Z","updated_at":null}`
	fakeCurrentProject = `{"id":123,"organization_id":7,"name":"Newsletter","locale":"en-GB","timezone":"Europe/London",` +
		`"role":"editor","has_provider":false,"track_opens_email":true,"created_at":"2026-04-28T09:30:00Z","updated_at":null}`
)

// fakeReply is one answer of the fake API.
type fakeReply struct {
	status int // 0 means 200
	body   string
}

// fakeAPI stands in for Spotzee's admin (/api/admin) and client
// (/api/client) surfaces, which the reference server does not implement
// yet: it answers from routes keyed "METHOD /path" (a 404 problem for any
// other) with a request id per request, and records every request.
type fakeAPI struct {
	*httptest.Server
	routes map[string]func(r *http.Request) fakeReply

	mu   sync.Mutex
	reqs []recorded

	orgKeyFile, projectKeyFile string
}

func newFakeAPI(t *testing.T, routes map[string]func(r *http.Request) fakeReply) *fakeAPI {
	t.Helper()
	f := &fakeAPI{routes: routes, orgKeyFile: writeKeyFile(t, fakeOrgKey), projectKeyFile: writeKeyFile(t, fakeProjectKey)}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Close)
	return f
}

// fakeRequestID is the request id of the n-th request (1-based).
func fakeRequestID(n int) string { return fmt.Sprintf("req_01HXY7Z9K8M5J2N4P6Q8R%05d", n) }

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(body)})
	n := len(f.reqs)
	f.mu.Unlock()
	rep := fakeReply{status: 404, body: fakeProblem("resource_missing", "No such route.", n)}
	if route, ok := f.routes[r.Method+" "+r.URL.Path]; ok {
		rep = route(r)
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	ct := "application/json"
	if rep.status >= 300 {
		ct = "application/problem+json"
		rep.body = strings.ReplaceAll(rep.body, "{{request_id}}", fakeRequestID(n))
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Request-Id", fakeRequestID(n))
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// take returns the requests recorded so far and forgets them.
func (f *fakeAPI) take() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.reqs
	f.reqs = nil
	return out
}

// fakeProblem renders a problem+json body; n is the request's number, 0 to
// fill in the request id when served.
func fakeProblem(code, message string, n int) string {
	id := "{{request_id}}"
	if n > 0 {
		id = fakeRequestID(n)
	}
	b, _ := json.Marshal(map[string]any{"status": "error", "code": code, "title": "Title", "message": message,
		"error": message, "type": "https://docs.spotzee.com/main-api/errors#" + code, "request_id": id})
	return string(b)
}

// answer is a route answering body with status 200.
func answer(body string) func(*http.Request) fakeReply {
	return func(*http.Request) fakeReply { return fakeReply{body: body} }
}

// problemRoute is a route answering a problem.
func problemRoute(status int, code, message string) func(*http.Request) fakeReply {
	return func(*http.Request) fakeReply {
		return fakeReply{status: status, body: fakeProblem(code, message, 0)}
	}
}

// adminRoutes answers every admin and client operation successfully; the
// org key list and the project list have three pages (cursors c2, c3).
func adminRoutes() map[string]func(*http.Request) fakeReply {
	paged := func(item func(id int) string) func(*http.Request) fakeReply {
		return func(r *http.Request) fakeReply {
			pages := map[string]struct {
				ids  []int
				next string
			}{"": {[]int{1, 2}, `"c2"`}, "c2": {[]int{3, 4}, `"c3"`}, "c3": {[]int{5}, "null"}}
			p, ok := pages[r.URL.Query().Get("cursor")]
			if !ok {
				return fakeReply{status: 400, body: fakeProblem("parameter_invalid_format", "bad cursor", 0)}
			}
			items := make([]string, len(p.ids))
			for i, id := range p.ids {
				items[i] = item(id)
			}
			return fakeReply{body: `{"results":[` + strings.Join(items, ",") + `],"nextCursor":` + p.next + `,"prevCursor":null,"limit":2}`}
		}
	}
	return map[string]func(*http.Request) fakeReply{
		"GET /api/admin/organizations/me": answer(fakeOrgMe),
		"GET /api/admin/organizations/api-keys": paged(func(id int) string {
			return fmt.Sprintf(`{"id":%d,"organization_id":7,"name":"key %d","role":"admin","value":"ok_****%04d","created_at":"2026-04-28T09:30:00Z","updated_at":null}`, id, id, id)
		}),
		"POST /api/admin/organizations/api-keys":      answer(fakeOrgKeyCreated),
		"GET /api/admin/organizations/api-keys/31":    answer(fakeOrgKey31),
		"PATCH /api/admin/organizations/api-keys/31":  answer(fakeOrgKey31),
		"DELETE /api/admin/organizations/api-keys/31": answer(fakeRevoked),
		"GET /api/admin/projects": paged(func(id int) string {
			return fmt.Sprintf(`{"id":%d,"organization_id":7,"name":"project %d","locale":"en-GB","timezone":"UTC","created_at":"2026-04-28T09:30:00Z","updated_at":null}`, id, id)
		}),
		"POST /api/admin/projects":      answer(fakeProject),
		"PATCH /api/admin/projects/123": answer(fakeProject),
		"GET /api/client/me":            answer(fakeCurrentProject),
	}
}

// cli runs the binary with group (the first words, "org keys") followed by
// the connection flags of that group and args, and checks that no key
// leaked into the output.
func (f *fakeAPI) cli(t *testing.T, group string, args ...string) cliResult {
	t.Helper()
	line := strings.Fields(group)
	if line[0] == "me" {
		line = append(line, "--base-url", f.URL+"/api/client", "--api-key-file", f.projectKeyFile)
	} else {
		line = append(line, "--admin-url", f.URL+"/api/admin", "--org-api-key-file", f.orgKeyFile)
	}
	r := runCLI(t, append(line, args...)...)
	for _, s := range []string{fakeOrgKey, fakeProjectKey} {
		require.NotContains(t, r.stdout, s, "a key leaked on stdout")
		require.NotContains(t, r.stderr, s, "a key leaked on stderr")
	}
	return r
}

// ok runs cli and requires success with nothing on stderr.
func (f *fakeAPI) ok(t *testing.T, group string, args ...string) string {
	t.Helper()
	r := f.cli(t, group, args...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	require.Empty(t, r.stderr)
	return r.stdout
}

// assertAdminRequest checks one request: method, path, body ("" for none),
// the organisation key and the CLI's client type, and an Idempotency-Key
// (a UUID unless wantIdem names the caller's) exactly when wantIdem != "".
func assertAdminRequest(t *testing.T, r recorded, method, path, body, wantIdem string) {
	t.Helper()
	assert.Equal(t, method, r.method)
	assert.Equal(t, path, r.path)
	assert.True(t, strings.HasPrefix(r.path, "/api/admin/"), "under the admin base URL: %s", r.path)
	if body == "" {
		assert.Empty(t, r.body)
	} else {
		assert.JSONEq(t, body, r.body)
	}
	assert.Equal(t, "Bearer "+fakeOrgKey, r.header.Get("Authorization"))
	assert.Equal(t, "cli", r.header.Get("X-Spotzee-Client-Type"))
	switch wantIdem {
	case "":
		assert.Empty(t, r.header.Values("Idempotency-Key"))
	case "uuid":
		assert.Regexp(t, uuidV4, r.header.Get("Idempotency-Key"))
	default:
		assert.Equal(t, wantIdem, r.header.Get("Idempotency-Key"))
	}
}

func TestOrgMe(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, adminRoutes())

	out := f.ok(t, "org", "me")
	assert.Equal(t, `ID        7
USERNAME  acme
DOMAIN    acme.example
ROLE      owner
CREATED   2026-04-28T09:30:00Z
UPDATED   -
`, out)

	var me client.OrgMeResponse
	decodeStrict(t, f.ok(t, "org", "me", "--json"), &me)
	assert.Equal(t, "acme", me.Organization.Username)
	assert.Equal(t, client.OrganizationCallerRoleOwner, me.Role)

	reqs := f.take()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assertAdminRequest(t, r, "GET", "/api/admin/organizations/me", "", "")
		assert.Empty(t, r.query)
	}
}

func TestOrgKeysList(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, adminRoutes())

	tests := []struct {
		name      string
		args      []string
		wantIDs   []int64
		wantMore  bool
		wantPages int
		wantQuery url.Values
	}{
		{name: "one page", args: []string{"list", "--json"}, wantIDs: []int64{1, 2}, wantMore: true, wantPages: 1, wantQuery: url.Values{}},
		{name: "every page keeps the filters", args: []string{"list", "--all", "--json", "--q", "key", "--sort", "-name", "--limit", "2"},
			wantIDs: []int64{1, 2, 3, 4, 5}, wantPages: 3, wantQuery: url.Values{"q": {"key"}, "sort": {"-name"}, "limit": {"2"}}},
	}
	for _, tt := range tests {
		r := f.cli(t, "org keys", tt.args...)
		require.Equal(t, 0, r.code, "%s: %s", tt.name, r.stderr)
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		var keys []client.OrganizationAPIKey
		require.NoError(t, dec.Decode(&keys), tt.name)
		var ids []int64
		for _, k := range keys {
			ids = append(ids, k.ID)
			assert.Regexp(t, `^ok_\*{4}`, k.Value, "masked")
		}
		assert.Equal(t, tt.wantIDs, ids, tt.name)
		if tt.wantMore {
			assert.Equal(t, "spotzee-keys: more keys follow; use --all to list every key\n", r.stderr, tt.name)
		} else {
			assert.Empty(t, r.stderr, tt.name)
		}
		reqs := f.take()
		require.Len(t, reqs, tt.wantPages, tt.name)
		for i, req := range reqs {
			assertAdminRequest(t, req, "GET", "/api/admin/organizations/api-keys", "", "")
			for k := range tt.wantQuery {
				assert.Equal(t, tt.wantQuery.Get(k), req.query.Get(k), "%s: page %d, %s", tt.name, i+1, k)
			}
			for _, k := range []string{"q", "sort", "limit"} {
				if !tt.wantQuery.Has(k) {
					assert.False(t, req.query.Has(k), "%s: unset flag %s not sent", tt.name, k)
				}
			}
			assert.Equal(t, i > 0, req.query.Has("cursor"), "%s: page %d", tt.name, i+1)
		}
	}

	out := f.ok(t, "org keys", "list", "--all")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 6, out)
	assert.Equal(t, []string{"ID", "NAME", "ROLE", "VALUE", "CREATED", "DESCRIPTION"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"1", "key", "1", "admin", "ok_****0001", "2026-04-28T09:30:00Z", "-"}, strings.Fields(lines[1]))
	col := strings.Index(lines[0], "VALUE")
	for _, l := range lines[1:] {
		assert.Regexp(t, `^ok_\*{4}`, l[col:], "columns line up: %q", l)
	}

	// An empty organisation lists as [] in JSON.
	empty := newFakeAPI(t, map[string]func(*http.Request) fakeReply{
		"GET /api/admin/organizations/api-keys": answer(`{"results":[],"nextCursor":null,"prevCursor":null,"limit":25}`),
	})
	assert.Equal(t, "[]\n", empty.ok(t, "org keys", "list", "--json"))
}

func TestOrgKeysCreateShowsTheValueOnce(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, adminRoutes())

	r := f.cli(t, "org keys", "create", "--name", "ci", "--description", "deploys", "--role", "member")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `ID            32
ORGANIZATION  7
NAME          ci
ROLE          member
VALUE         `+fakeNewOrgKey+`
CREATED       2026-04-28T09:30:00Z
UPDATED       -
DESCRIPTION   deploys
`, r.stdout)
	assert.Equal(t, 1, strings.Count(r.stdout, fakeNewOrgKey), "the full value is printed exactly once")
	assert.Equal(t, "spotzee-keys: WARNING: this is the only time the full value of organisation key 32 is shown. "+
		"Store it now (in a secret manager); it cannot be retrieved again.\n", r.stderr)
	reqs := f.take()
	require.Len(t, reqs, 1)
	assertAdminRequest(t, reqs[0], "POST", "/api/admin/organizations/api-keys", `{"name":"ci","description":"deploys","role":"member"}`, "uuid")

	r = f.cli(t, "org keys", "create", "--json", "--name", "ci", "--idempotency-key", "deploy-7")
	require.Equal(t, 0, r.code, r.stderr)
	var k client.OrganizationAPIKeyCreated
	decodeStrict(t, r.stdout, &k)
	assert.Equal(t, fakeNewOrgKey, k.Value, "JSON has the full value")
	assert.Contains(t, r.stderr, "WARNING: this is the only time the full value of organisation key 32")
	reqs = f.take()
	require.Len(t, reqs, 1)
	assertAdminRequest(t, reqs[0], "POST", "/api/admin/organizations/api-keys", `{"name":"ci"}`, "deploy-7")
}

func TestOrgKeysGetUpdateRevoke(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, adminRoutes())
	keyText := `ID            31
ORGANIZATION  7
NAME          terraform
ROLE          admin
VALUE         ok_****ORG1
CREATED       2026-04-28T09:30:00Z
UPDATED       2026-04-29T08:00:00Z
DESCRIPTION   provisions
`
	tests := []struct {
		name               string
		args               []string
		method, path, body string
		idem               string
		wantOut            string // exact text output; "" to decode JSON
	}{
		{name: "get", args: []string{"get", "31"}, method: "GET", path: "/api/admin/organizations/api-keys/31", wantOut: keyText},
		{name: "get json", args: []string{"--json", "get", "31"}, method: "GET", path: "/api/admin/organizations/api-keys/31"},
		{name: "update name and role", args: []string{"update", "31", "--name", "tf", "--role", "owner"}, method: "PATCH",
			path: "/api/admin/organizations/api-keys/31", body: `{"name":"tf","role":"owner"}`, idem: "uuid", wantOut: keyText},
		{name: "update, flags before the ID", args: []string{"update", "--description", "", "31", "--json"}, method: "PATCH",
			path: "/api/admin/organizations/api-keys/31", body: `{"description":""}`, idem: "uuid"},
		{name: "clear the description", args: []string{"update", "31", "--clear-description"}, method: "PATCH",
			path: "/api/admin/organizations/api-keys/31", body: `{"description":null}`, idem: "uuid", wantOut: keyText},
		{name: "revoke", args: []string{"revoke", "31"}, method: "DELETE", path: "/api/admin/organizations/api-keys/31",
			wantOut: "Revoked organisation key 31 at 2026-04-28T09:30:00Z.\n"},
	}
	for _, tt := range tests {
		out := f.ok(t, "org keys", tt.args...)
		if tt.wantOut != "" {
			assert.Equal(t, tt.wantOut, out, tt.name)
		} else {
			var k client.OrganizationAPIKey
			decodeStrict(t, out, &k)
			assert.Equal(t, int64(31), k.ID, tt.name)
			assert.Equal(t, "ok_****ORG1", k.Value, tt.name)
		}
		reqs := f.take()
		require.Len(t, reqs, 1, tt.name)
		assertAdminRequest(t, reqs[0], tt.method, tt.path, tt.body, tt.idem)
	}

	var rev client.OrganizationAPIKeyRevokeResponse
	decodeStrict(t, f.ok(t, "org keys", "revoke", "31", "--json"), &rev)
	require.NotNil(t, rev.Revoked)
	assert.True(t, *rev.Revoked)
}

func TestProjectsList(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, adminRoutes())

	r := f.cli(t, "projects", "list", "--limit", "2", "--sort", "name")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `ID  NAME       LOCALE  TIMEZONE  CREATED               DESCRIPTION
1   project 1  en-GB   UTC       2026-04-28T09:30:00Z  -
2   project 2  en-GB   UTC       2026-04-28T09:30:00Z  -
`, r.stdout)
	assert.Equal(t, "spotzee-keys: more projects follow; use --all to list every project\n", r.stderr)
	reqs := f.take()
	require.Len(t, reqs, 1)
	assertAdminRequest(t, reqs[0], "GET", "/api/admin/projects", "", "")
	assert.Equal(t, url.Values{"limit": {"2"}, "sort": {"name"}}, reqs[0].query)

	var projects []client.OrgProject
	decodeStrict(t, f.ok(t, "projects", "--json", "list", "--all", "--q", "project"), &projects)
	require.Len(t, projects, 5)
	assert.Equal(t, "project 5", projects[4].Name)
	reqs = f.take()
	require.Len(t, reqs, 3)
	for i, req := range reqs {
		assert.Equal(t, "project", req.query.Get("q"), "page %d keeps the filter", i+1)
		assert.Equal(t, i > 0, req.query.Has("cursor"))
	}
}

func TestProjectsCreateAndUpdate(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, adminRoutes())
	projectText := `ID                 123
ORGANIZATION       7
NAME               Newsletter
LOCALE             en-GB
TIMEZONE           Europe/London
WEBSITE            https://acme.example
DEEPLINK MIRROR    -
LINK WRAP EMAIL    yes
LINK WRAP PUSH     no
TRACK OPENS EMAIL  -
TEXT HELP          Reply HELP
TEXT OPT-OUT       -
ROLE               admin
PROVIDER           no
CREATED            2026-04-28T09:30:00Z
UPDATED            -
DESCRIPTION        weekly
`
	tests := []struct {
		name         string
		args         []string
		method, path string
		body, idem   string
	}{
		{
			name: "create, required flags only", args: []string{"create", "--name", "Newsletter", "--locale", "en-GB", "--timezone", "Europe/London"},
			method: "POST", path: "/api/admin/projects", body: `{"name":"Newsletter","locale":"en-GB","timezone":"Europe/London"}`, idem: "uuid",
		},
		{
			name: "create, every field",
			args: []string{"create", "--name", "Newsletter", "--locale", "en-GB", "--timezone", "Europe/London", "--description", "weekly",
				"--website-url", "https://acme.example", "--deeplink-mirror-url", "https://links.acme.example", "--link-wrap-email", "true",
				"--link-wrap-push", "false", "--track-opens-email", "true", "--text-help-message", "Reply HELP", "--text-opt-out-message", "Reply STOP",
				"--idempotency-key", "proj-1"},
			method: "POST", path: "/api/admin/projects",
			body: `{"name":"Newsletter","locale":"en-GB","timezone":"Europe/London","description":"weekly","website_url":"https://acme.example",
				"deeplink_mirror_url":"https://links.acme.example","link_wrap_email":true,"link_wrap_push":false,"track_opens_email":true,
				"text_help_message":"Reply HELP","text_opt_out_message":"Reply STOP"}`,
			idem: "proj-1",
		},
		{
			name: "update some fields", args: []string{"update", "123", "--timezone", "UTC", "--link-wrap-email", "false", "--description", ""},
			method: "PATCH", path: "/api/admin/projects/123", body: `{"timezone":"UTC","link_wrap_email":false,"description":""}`, idem: "uuid",
		},
		{
			name: "update, clear nullable fields", args: []string{"update", "--clear", "website-url,link-wrap-push", "--clear", "description", "123", "--name", "Weekly"},
			method: "PATCH", path: "/api/admin/projects/123", body: `{"name":"Weekly","website_url":null,"link_wrap_push":null,"description":null}`, idem: "uuid",
		},
		{
			name: "update with a caller's idempotency key", args: []string{"update", "123", "--clear", "text-opt-out-message", "--idempotency-key", "upd-9"},
			method: "PATCH", path: "/api/admin/projects/123", body: `{"text_opt_out_message":null}`, idem: "upd-9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, projectText, f.ok(t, "projects", tt.args...))
			reqs := f.take()
			require.Len(t, reqs, 1)
			assertAdminRequest(t, reqs[0], tt.method, tt.path, tt.body, tt.idem)
		})
	}

	var p client.OrgProject
	decodeStrict(t, f.ok(t, "projects", "update", "123", "--name", "x", "--json"), &p)
	assert.Equal(t, int64(123), p.ID)
	assert.Equal(t, "weekly", p.Description.MustGet())
}

func TestMe(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, adminRoutes())

	out := f.ok(t, "me")
	assert.Contains(t, out, "ID                 123\n")
	assert.Contains(t, out, "ORGANIZATION       7\n")
	assert.Contains(t, out, "ROLE               editor\n")
	assert.Contains(t, out, "TRACK OPENS EMAIL  yes\n")
	assert.Contains(t, out, "PROVIDER           no\n")

	var p client.Project
	decodeStrict(t, f.ok(t, "me", "--json"), &p)
	assert.Equal(t, client.ProjectRoleEditor, p.Role)
	assert.Equal(t, "Europe/London", p.Timezone)

	for _, r := range f.take() {
		assert.Equal(t, "GET", r.method)
		assert.Equal(t, "/api/client/me", r.path)
		assert.Equal(t, "Bearer "+fakeProjectKey, r.header.Get("Authorization"), "me uses the project key")
		assert.Equal(t, "cli", r.header.Get("X-Spotzee-Client-Type"))
		assert.Empty(t, r.body)
	}
}

func TestAdminCommandErrors(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, map[string]func(*http.Request) fakeReply{
		"GET /api/admin/organizations/me":             problemRoute(401, "authentication_required", "A valid organisation key is required."),
		"GET /api/admin/organizations/api-keys":       problemRoute(400, "parameter_invalid_format", "limit must be at most 100."),
		"POST /api/admin/organizations/api-keys":      problemRoute(403, "permission_denied", "Creating an owner key needs the owner role."),
		"DELETE /api/admin/organizations/api-keys/31": problemRoute(409, "state_conflict", "You cannot revoke the key you call with."),
		"POST /api/admin/projects":                    problemRoute(422, "validation_failed", "timezone is not an IANA zone."),
		"PATCH /api/admin/projects/123":               problemRoute(404, "resource_missing", "No project with id 123."),
		"GET /api/client/me":                          problemRoute(401, "authentication_required", "A secret key is required."),
	})
	tests := []struct {
		group, status, code, text string
		args                      []string
	}{
		{"org", "401", "authentication_required", "A valid organisation key is required.", []string{"me"}},
		{"org", "401", "authentication_required", "", []string{"--json", "me"}},
		{"org keys", "400", "parameter_invalid_format", "limit must be at most 100.", []string{"list", "--limit", "101"}},
		{"org keys", "400", "parameter_invalid_format", "", []string{"list", "--all", "--json"}},
		{"org keys", "403", "permission_denied", "needs the owner role", []string{"create", "--name", "x", "--role", "owner"}},
		{"org keys", "404", "resource_missing", "No such route.", []string{"get", "99"}},
		{"org keys", "409", "state_conflict", "", []string{"revoke", "31"}},
		{"projects", "422", "validation_failed", "IANA", []string{"create", "--name", "x", "--locale", "en", "--timezone", "Mars/Base"}},
		{"projects", "404", "resource_missing", "No project with id 123.", []string{"update", "123", "--name", "x"}},
		{"me", "401", "authentication_required", "A secret key is required.", nil},
	}
	for _, tt := range tests {
		r := f.cli(t, tt.group, tt.args...)
		name := tt.group + " " + strings.Join(tt.args, " ")
		assert.Equal(t, 1, r.code, name)
		assert.Empty(t, r.stdout, name)
		m := errLine.FindStringSubmatch(r.stderr)
		require.NotNil(t, m, "%s: one line with status, code and request id; got %q", name, r.stderr)
		assert.Equal(t, []string{tt.status, tt.code}, m[1:], name)
		assert.Contains(t, r.stderr, tt.text, name)
		reqs := f.take()
		require.Len(t, reqs, 1, "%s: a 4xx is not retried", name)
		assert.Contains(t, r.stderr, "(request_id "+fakeRequestID(1)+")", name)
	}
}

func TestAdminCommandsNeverPrintTheKey(t *testing.T) {
	t.Parallel()
	// A broken server echoing the bearer token back in its error bodies.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "bad token %s", token)
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"status":"error","code":"permission_denied","title":"t","message":"key %s\nmay not","request_id":"req_01HXY7Z9K8M5J2N4P6Q8R0AAAA"}`, token)
	}))
	t.Cleanup(echo.Close)
	orgFile, projectFile := writeKeyFile(t, fakeOrgKey), writeKeyFile(t, fakeProjectKey)

	for _, args := range [][]string{
		{"org", "--admin-url", echo.URL, "--org-api-key-file", orgFile, "me"},
		{"org", "--admin-url", echo.URL, "--org-api-key-file", orgFile, "keys", "revoke", "31"},
		{"projects", "--admin-url", echo.URL, "--org-api-key-file", orgFile, "create", "--name", "n", "--locale", "en", "--timezone", "UTC"},
		{"me", "--base-url", echo.URL, "--api-key-file", projectFile},
	} {
		r := runCLI(t, args...)
		assert.Equal(t, 1, r.code, args)
		for _, key := range []string{fakeOrgKey, fakeProjectKey} {
			assert.NotContains(t, r.stderr, key, args)
			assert.NotContains(t, r.stdout, key, args)
		}
		assert.Contains(t, r.stderr, "[REDACTED]", args)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	}
}

func TestAdminCommandUsageErrors(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	never := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(func() {
		never.Close()
		assert.Zero(t, calls.Load(), "a usage error sent a request")
	})
	orgFile, projectFile := writeKeyFile(t, fakeOrgKey), writeKeyFile(t, fakeProjectKey)
	admin := func(group string, args ...string) []string {
		return append(append(strings.Fields(group), "--admin-url", never.URL, "--org-api-key-file", orgFile), args...)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"org without subcommand", admin("org"), "usage: spotzee-keys org"},
		{"org unknown subcommand", admin("org", "frob"), `unknown subcommand "frob" (want me or keys)`},
		{"org keys without subcommand", admin("org keys"), "usage: spotzee-keys org keys"},
		{"org keys unknown subcommand", admin("org keys", "frob"), `unknown subcommand "frob" (want create, get, list, revoke, update)`},
		{"no flag takes the key", []string{"org", "--org-api-key", fakeOrgKey, "me"}, "flag provided but not defined: -org-api-key"},
		{"org me takes no argument", admin("org", "me", "extra"), `org me: unexpected argument "extra"`},
		{"list takes no argument", admin("org keys", "list", "extra"), `unexpected argument "extra"`},
		{"bad limit", admin("org keys", "list", "--limit", "ten"), "invalid value"},
		{"negative timeout", admin("org keys", "list", "--timeout", "-1s"), "--timeout must not be negative"},
		{"create without name", admin("org keys", "create"), "--name is required"},
		{"create with blank name", admin("org keys", "create", "--name", " "), "--name must not be empty"},
		{"create with a project role", admin("org keys", "create", "--name", "x", "--role", "editor"), `--role "editor": want member, admin or owner`},
		{"create with empty idempotency key", admin("org keys", "create", "--name", "x", "--idempotency-key", ""), "--idempotency-key must be 1 to 255 characters"},
		{"get without ID", admin("org keys", "get"), "want exactly one key ID, got 0"},
		{"get with two IDs", admin("org keys", "get", "1", "2"), "want exactly one key ID, got 2"},
		{"ID not a number", admin("org keys", "revoke", "abc"), `key ID "abc" is not a positive integer`},
		{"update nothing", admin("org keys", "update", "1"), "nothing to change"},
		{"update both descriptions", admin("org keys", "update", "1", "--description", "d", "--clear-description"), "not both"},
		{"update bad role", admin("org keys", "update", "1", "--role", "root"), `--role "root"`},
		{"projects without subcommand", admin("projects"), "usage: spotzee-keys projects"},
		{"projects get is not a command", admin("projects", "get", "1"), `unknown subcommand "get" (want create, list, update)`},
		{"project create without timezone", admin("projects", "create", "--name", "n", "--locale", "en"), "--timezone is required"},
		{"project create without locale", admin("projects", "create", "--name", "n", "--timezone", "UTC"), "--locale is required"},
		{"project create with blank locale", admin("projects", "create", "--name", "n", "--locale", "", "--timezone", "UTC"), "--locale must not be empty"},
		{"project bool not true or false", admin("projects", "create", "--name", "n", "--locale", "en", "--timezone", "UTC", "--link-wrap-email", "yes"), `--link-wrap-email "yes": want true or false`},
		{"project update nothing", admin("projects", "update", "123"), "nothing to change"},
		{"project update ID", admin("projects", "update", "0", "--name", "x"), `project ID "0" is not a positive integer`},
		{"project update without ID", admin("projects", "update", "--name", "x"), "want exactly one project ID, got 0"},
		{"clear a required field", admin("projects", "update", "1", "--clear", "name"), `--clear "name": want one of description`},
		{"set and clear", admin("projects", "update", "1", "--website-url", "https://x", "--clear", "website-url"), "give --website-url or --clear website-url, not both"},
		{"bad admin URL", admin("org", "--admin-url", "apix.spotzee.com/api/admin", "me"), `base URL "apix.spotzee.com/api/admin" (--admin-url or SPOTZEE_ADMIN_URL) is not an absolute http or https URL`},
		{"me takes no argument", []string{"me", "--base-url", never.URL, "--api-key-file", projectFile, "extra"}, `unexpected argument "extra"`},
		{"me unknown flag", []string{"me", "--api-key", fakeProjectKey}, "flag provided but not defined: -api-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, tt.args...)
			assert.Equal(t, 2, r.code)
			assert.Empty(t, r.stdout)
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stderr, fakeOrgKey)
			assert.NotContains(t, r.stderr, fakeProjectKey)
		})
	}
}

func TestAdminHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"org", "-h"}, []string{"usage: spotzee-keys org", "me", "keys", "--admin-url", "SPOTZEE_ADMIN_URL",
			"--org-api-key-file", "SPOTZEE_ORG_API_KEY", client.DefaultAdminBaseURL}},
		{[]string{"org", "help"}, []string{"usage: spotzee-keys org"}},
		{[]string{"org", "keys", "--help"}, []string{"usage: spotzee-keys org keys", "list", "create", "get", "update", "revoke",
			"--clear-description", "--idempotency-key", "member|admin|owner"}},
		{[]string{"org", "keys", "create", "-h"}, []string{"usage: spotzee-keys org keys create --name N", "-role", "-org-api-key-file"}},
		{[]string{"org", "me", "-h"}, []string{"usage: spotzee-keys org me", "-json"}},
		{[]string{"projects", "-h"}, []string{"usage: spotzee-keys projects", "--clear", "--link-wrap-email true|false", "--deeplink-mirror-url"}},
		{[]string{"projects", "update", "--help"}, []string{"usage: spotzee-keys projects update ID", "-clear", "-text-opt-out-message"}},
		{[]string{"me", "-h"}, []string{"usage: spotzee-keys me", "--base-url", "--api-key-file", "SPOTZEE_API_KEY", client.DefaultBaseURL}},
		{[]string{"-h"}, []string{"org ", "projects ", "me "}},
	}
	for _, tt := range tests {
		r := runCLI(t, tt.args...)
		assert.Equal(t, 0, r.code, tt.args)
		assert.Empty(t, r.stderr, tt.args)
		for _, w := range tt.want {
			assert.Contains(t, r.stdout, w, tt.args)
		}
	}
}

func TestAdminSubcommandsAreListedInTheUsage(t *testing.T) {
	t.Parallel()
	for usage, subs := range map[string]map[string]command[*client.Admin]{
		orgKeysUsage: orgKeysCommands, projectsUsage: projectsCommands, orgUsage: orgCommands,
	} {
		var got []string
		for name := range subs {
			got = append(got, name)
			assert.Contains(t, usage, "\n  "+name+" ", name)
		}
		slices.Sort(got)
		assert.NotEmpty(t, got)
	}
	for name := range orgGroups {
		assert.Contains(t, orgUsage, "\n  "+name+" ", name)
	}
}

// TestAdminKeySources cannot run in parallel: it sets environment
// variables. The organisation key comes from SPOTZEE_ORG_API_KEY or
// --org-api-key-file, read with the rules "keys" applies to --api-key-file
// (trimmed; empty is a usage error; unreadable exits 1), never from
// SPOTZEE_API_KEY; the admin URL from --admin-url, SPOTZEE_ADMIN_URL or
// client.DefaultAdminBaseURL.
func TestAdminKeySources(t *testing.T) {
	f := newFakeAPI(t, adminRoutes())
	lastAuth := func() string {
		reqs := f.take()
		require.Len(t, reqs, 1)
		assert.Equal(t, "/api/admin/organizations/me", reqs[0].path)
		return reqs[0].header.Get("Authorization")
	}
	t.Setenv(EnvAPIKey, fakeProjectKey)
	t.Setenv(EnvBaseURL, f.URL+"/api/client")

	// The default admin URL, when neither flag nor environment sets one.
	t.Setenv(EnvAdminURL, "")
	r := runCLI(t, "org", "me", "-h")
	assert.Contains(t, r.stdout, `(default "`+client.DefaultAdminBaseURL+`")`)

	// From the environment.
	t.Setenv(EnvAdminURL, f.URL+"/api/admin")
	t.Setenv(EnvOrgAPIKey, fakeOrgKey)
	r = runCLI(t, "org", "me", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Bearer "+fakeOrgKey, lastAuth())

	// --org-api-key-file wins over the environment, trimmed.
	other := "ok_01HXY7Z9K8M5J2N4P6Q8R0FILE"
	path := filepath.Join(t.TempDir(), "org.key")
	require.NoError(t, os.WriteFile(path, []byte("  "+other+"\n\n"), 0o600))
	r = runCLI(t, "org", "--org-api-key-file", path, "me")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Bearer "+other, lastAuth())

	// --admin-url wins over the environment.
	t.Setenv(EnvAdminURL, "http://127.0.0.1:1/api/admin")
	r = runCLI(t, "org", "me", "--admin-url", f.URL+"/api/admin")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Bearer "+fakeOrgKey, lastAuth())
	t.Setenv(EnvAdminURL, f.URL+"/api/admin")

	// me keeps to the project key and the client URL.
	r = runCLI(t, "me")
	require.Equal(t, 0, r.code, r.stderr)
	reqs := f.take()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/api/client/me", reqs[0].path)
	assert.Equal(t, "Bearer "+fakeProjectKey, reqs[0].header.Get("Authorization"))

	// No organisation key: a usage error, and the project key is not used
	// in its place.
	t.Setenv(EnvOrgAPIKey, "")
	r = runCLI(t, "projects", "list")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "no organisation key: set SPOTZEE_ORG_API_KEY or pass --org-api-key-file PATH")
	assert.Empty(t, f.take())

	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	r = runCLI(t, "org", "keys", "list", "--org-api-key-file", empty)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "organisation key file "+empty+" is empty")

	r = runCLI(t, "org", "keys", "list", "--org-api-key-file", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `^spotzee-keys: read organisation key file: [^\n]+\n$`, r.stderr)

	// A key that cannot be a header value is refused without being shown.
	r = runCLI(t, "org", "me", "--org-api-key-file", writeKeyFile(t, "ok_bad\x01key"))
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "spotzee-keys: spotzee: new client: API key contains white space or control characters\n", r.stderr)

	t.Setenv(EnvAdminURL, "ftp://example.com")
	r = runCLI(t, "org", "me", "--org-api-key-file", writeKeyFile(t, fakeOrgKey))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `base URL "ftp://example.com" (--admin-url or SPOTZEE_ADMIN_URL)`)
	assert.Empty(t, f.take())
}
