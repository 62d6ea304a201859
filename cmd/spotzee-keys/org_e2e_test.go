package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/validate"
)

var (
	serveOwnerLine = regexp.MustCompile(`(?m)^  (ok_[0-9A-HJKMNP-TV-Z]{26})$`)
	orgKeyValue    = regexp.MustCompile(`^ok_[0-9A-HJKMNP-TV-Z]{26}$`)
)

// adminServeClient returns a generated client of root's admin surface with
// key, validated against the spec with the reference profile.
func adminServeClient(t *testing.T, root, key string) *client.ClientWithResponses {
	t.Helper()
	v, err := validate.Reference()
	require.NoError(t, err)
	c, err := client.NewClientWithResponses(root+"/api/admin",
		client.WithHTTPClient(&http.Client{Transport: v.Transport(nil)}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	require.NoError(t, err)
	return c
}

// runBin runs the built binary with args and returns its exit code, stdout
// and stderr.
func runBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), SecretEnv+"=", EnvOrgAPIKey+"=", EnvAPIKey+"=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errOut.String()
}

// TestBootstrapOrganizationAndCLI builds the binary; `bootstrap
// --organization` prints an owner key and a project admin key, one a line;
// serve on that database accepts the owner key on /api/admin and the admin
// key on /api/client; the org, projects and me commands work against it;
// serve's first start on an empty database prints an owner key too.
func TestBootstrapOrganizationAndCLI(t *testing.T) {
	t.Parallel()
	bin := buildServeBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "keys.db")

	code, out, stderr := runBin(t, bin, "bootstrap", "--db", db, "--organization", "acme", "--project", "Shop")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2, "owner key, then project admin key: %q", out)
	owner, admin := lines[0], lines[1]
	assert.Regexp(t, orgKeyValue, owner)
	assert.Regexp(t, serveKeyValue, admin)

	code, _, stderr = runBin(t, bin, "bootstrap", "--db", db, "--organization", "acme")
	assert.Equal(t, 1, code, "a taken username")
	assert.Contains(t, stderr, "acme")
	code, _, stderr = runBin(t, bin, "bootstrap", "--db", db, "--project-id", "1", "--organization", "x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--organization")

	addr := freePort(t)
	root := "http://" + addr
	p := startServe(t, bin, dir, "serve", "--addr", addr, "--db", db, "--validate-responses")
	waitHealthy(t, root)
	assert.NotRegexp(t, serveOwnerLine, p.stdout.String(), "an existing database is not bootstrapped again")

	me, err := adminServeClient(t, root, owner).GetCurrentOrganizationWithResponse(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), "%s", me.Body)
	assert.Equal(t, "acme", me.JSON200.Organization.Username)
	assert.Equal(t, client.OrganizationCallerRole("owner"), me.JSON200.Role)
	keys := serveList(t, serveClient(t, root, admin))
	assert.Len(t, keys, 2, "the project's system key and admin key")

	// The CLI against the running server.
	orgKeyFile := filepath.Join(dir, "org.key")
	require.NoError(t, os.WriteFile(orgKeyFile, []byte(owner+"\n"), 0o600))
	projectKeyFile := filepath.Join(dir, "project.key")
	require.NoError(t, os.WriteFile(projectKeyFile, []byte(admin+"\n"), 0o600))
	adminFlags := []string{"--admin-url", root + "/api/admin", "--org-api-key-file", orgKeyFile}
	cli := func(args ...string) string {
		t.Helper()
		if args[0] != "me" {
			args = append(args, adminFlags...)
		} else {
			args = append(args, "--base-url", root+"/api/client", "--api-key-file", projectKeyFile)
		}
		code, out, stderr := runBin(t, bin, args...)
		require.Equal(t, 0, code, "%v: %s", args, stderr)
		assert.NotContains(t, out+stderr, owner[3:], "the owner key is never printed")
		assert.NotContains(t, out+stderr, admin[3:], "the project key is never printed")
		return out
	}
	var orgMe client.OrgMeResponse
	require.NoError(t, json.Unmarshal([]byte(cli("org", "me", "--json")), &orgMe))
	assert.Equal(t, "acme", orgMe.Organization.Username)
	assert.Contains(t, cli("org", "me"), "acme")

	var made client.OrganizationAPIKeyCreated
	require.NoError(t, json.Unmarshal([]byte(cli("org", "keys", "create", "--name", "ci", "--role", "member", "--json")), &made))
	assert.Regexp(t, orgKeyValue, made.Value)
	assert.Equal(t, client.OrganizationRole("member"), made.Role)
	listed := cli("org", "keys", "list")
	assert.Contains(t, listed, "ci")
	assert.NotContains(t, listed, made.Value[3:], "lists are masked")

	var proj client.OrgProject
	require.NoError(t, json.Unmarshal([]byte(cli("projects", "create", "--name", "Blog", "--locale", "en-GB",
		"--timezone", "Europe/London", "--json")), &proj))
	assert.Equal(t, "Blog", proj.Name)
	assert.Equal(t, me.JSON200.Organization.ID, proj.OrganizationID)
	projects := cli("projects", "list")
	assert.Contains(t, projects, "Blog")
	assert.Contains(t, projects, "Shop")

	var cur client.Project
	require.NoError(t, json.Unmarshal([]byte(cli("me", "--json")), &cur))
	assert.Equal(t, "Shop", cur.Name)
	assert.Equal(t, client.ProjectRole("admin"), cur.Role)

	// The new project's first key: bootstrap --project-id, against the
	// database the server is using.
	code, out, stderr = runBin(t, bin, "bootstrap", "--db", db, "--project-id", jsonInt(proj.ID))
	require.Equal(t, 0, code, stderr)
	first := strings.TrimSpace(out)
	assert.Regexp(t, serveKeyValue, first)
	cr, err := serveClient(t, root, first).GetCurrentProjectWithResponse(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cr.StatusCode(), "%s", cr.Body)
	assert.Equal(t, proj.ID, cr.JSON200.ID)

	p.stop(t)
	assertAccessLogs(t, p.stderr.String(), owner, admin, made.Value, first)

	// First start on an empty database: project key and owner key printed once.
	p2 := startServe(t, bin, t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--db", ":memory:", "--validate-responses")
	projectKey := p2.waitFor(t, serveKeyLine)
	ownerKey := p2.waitFor(t, serveOwnerLine)
	root2 := "http://" + p2.waitFor(t, serveServingLine)
	waitHealthy(t, root2)
	me2, err := adminServeClient(t, root2, ownerKey).GetCurrentOrganizationWithResponse(t.Context(), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me2.StatusCode(), "%s", me2.Body)
	assert.Equal(t, int64(1), me2.JSON200.Organization.ID)
	assert.Len(t, serveList(t, serveClient(t, root2, projectKey)), 2)
	p2.stop(t)
	assert.Equal(t, 1, strings.Count(p2.stdout.String(), ownerKey), "the owner key is printed once")
	assertAccessLogs(t, p2.stderr.String(), projectKey, ownerKey)
}

func jsonInt(i int64) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestBootstrapEmptyDatabasePrintsAnOwnerKey: the plain `bootstrap` on an
// empty database keeps stdout to the project's admin key and prints the new
// organisation's owner key on stderr, once; it works on the admin surface.
func TestBootstrapEmptyDatabasePrintsAnOwnerKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "keys.db")
	r := runCLI(t, "bootstrap", "--db", db)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, serveKeyValue, strings.TrimSuffix(r.stdout, "\n"))
	owner := serveOwnerLine.FindStringSubmatch(r.stderr)
	require.Len(t, owner, 2, "stderr: %s", r.stderr)
	assert.Equal(t, 1, strings.Count(r.stderr, owner[1]))
	srv, err := refserver.Open(t.Context(), refserver.Config{DBPath: db, RateLimits: ratelimit.Config{Disabled: true}})
	require.NoError(t, err)
	k, err := srv.Orgs().Authenticate(t.Context(), owner[1])
	require.NoError(t, err)
	assert.Equal(t, spotzee.OrgRoleOwner, k.Role)
	assert.Equal(t, int64(1), k.OrganizationID)
	require.NoError(t, srv.Close())

	// A second project on the same database: no new organisation.
	r2 := runCLI(t, "bootstrap", "--db", db, "--project", "B")
	require.Equal(t, 0, r2.code, r2.stderr)
	assert.Empty(t, r2.stderr)
}
