package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/client"
	"github.com/spotzeekit/spotzee-keys/spotzeetest"
)

// errLine is the one line a failed API call prints on stderr.
var errLine = regexp.MustCompile(`^spotzee-keys: (\d{3}) ([a-z_]+): [^\n]+ \(request_id req_[0-9A-HJKMNP-TV-Z]{26}\)\n$`)

// fullValue is a full key value as create returns it.
var fullValue = regexp.MustCompile(`(sk|pk)_[0-9A-HJKMNP-TV-Z]{26}`)

// cliResult is what one in-process run of the binary produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cliEnv is a reference server, a file holding its admin key, and the base
// URL the CLI is pointed at (the server, or a recording proxy in front of
// it).
type cliEnv struct {
	srv     *spotzeetest.Server
	baseURL string
	keyFile string
	// secrets must never appear in any output.
	secrets []string
	proxy   *recorder
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	srv := spotzeetest.NewServer(t)
	return &cliEnv{srv: srv, baseURL: srv.URL, keyFile: writeKeyFile(t, srv.AdminKey), secrets: []string{srv.AdminKey}}
}

// newProxiedCLIEnv is newCLIEnv with a proxy that records every request the
// CLI sends.
func newProxiedCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	e := newCLIEnv(t)
	e.proxy = newRecorder(t, e.srv.RootURL)
	e.baseURL = e.proxy.URL + "/api/client"
	return e
}

// writeKeyFile writes key to a fresh file the way a user would (0600, with
// a trailing newline) and returns its path.
func writeKeyFile(t *testing.T, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spotzee.key")
	require.NoError(t, os.WriteFile(path, []byte(key+"\n"), 0o600))
	return path
}

// runCLI runs the binary in-process with args.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// keys runs "spotzee-keys keys --base-url ... --api-key-file ... args" and
// checks that no secret shows in the output.
func (e *cliEnv) keys(t *testing.T, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, append([]string{"keys", "--base-url", e.baseURL, "--api-key-file", e.keyFile}, args...)...)
	for _, s := range e.secrets {
		require.NotContains(t, r.stdout, s, "a secret leaked on stdout")
		require.NotContains(t, r.stderr, s, "a secret leaked on stderr")
	}
	return r
}

// ok runs keys and requires success with nothing on stderr.
func (e *cliEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := e.keys(t, args...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	require.Empty(t, r.stderr)
	return r.stdout
}

// create makes a key through the CLI and returns it, full value included.
func (e *cliEnv) create(t *testing.T, args ...string) client.ProjectAPIKeyCreated {
	t.Helper()
	r := e.keys(t, append([]string{"--json", "create"}, args...)...)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	var k client.ProjectAPIKeyCreated
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &k))
	return k
}

// systemKeyID finds the project's system key.
func (e *cliEnv) systemKeyID(t *testing.T) int64 {
	t.Helper()
	for _, k := range decodeKeys(t, e.ok(t, "list", "--json", "--all")) {
		if k.IsSystemKey != nil && *k.IsSystemKey {
			return k.ID
		}
	}
	t.Fatal("no system key")
	return 0
}

// decodeKeys decodes list --json output strictly: an array of key objects.
func decodeKeys(t *testing.T, out string) []client.ProjectAPIKey {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var keys []client.ProjectAPIKey
	require.NoError(t, dec.Decode(&keys), "output: %s", out)
	require.NotNil(t, keys, "an empty list is [], not null")
	return keys
}

// decodeStrict decodes one JSON object into v, refusing unknown members.
func decodeStrict(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), "output: %s", out)
	require.False(t, dec.More(), "one JSON value only")
}

func names(keys []client.ProjectAPIKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

// masked is how every read shows a full value.
func masked(value string) string { return value[:3] + "****" + value[len(value)-4:] }

// recorded is one request seen by a recorder.
type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
}

// recorder is a reverse proxy to the reference server that records
// requests.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(body)})
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// take returns the requests recorded so far and forgets them.
func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

func TestKeysListTable(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	ci := e.create(t, "--name", "ci bot", "--description", "deploys from CI", "--role", "editor")
	web := e.create(t, "--name", "web", "--scope", "public")

	out := e.ok(t, "list")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 5, "header, two new keys, the admin and the system key:\n%s", out)
	assert.Equal(t, []string{"ID", "NAME", "SCOPE", "ROLE", "VALUE", "CREATED", "DESCRIPTION"}, strings.Fields(lines[0]))
	// Newest first by default.
	assert.Equal(t, []string{strconv.FormatInt(web.ID, 10), "web", "public", "support", masked(web.Value)},
		strings.Fields(lines[1])[:5])
	assert.Equal(t, "-", strings.Fields(lines[1])[6], "no description")
	ciRow := strings.Fields(lines[2])
	assert.Equal(t, []string{strconv.FormatInt(ci.ID, 10), "ci", "bot", "secret", "editor", masked(ci.Value)}, ciRow[:6])
	assert.Equal(t, mustTime(t, ci.CreatedAt).UTC().Format(time.RFC3339), ciRow[6])
	assert.True(t, strings.HasSuffix(lines[2], "deploys from CI"))
	// The columns line up: every row starts its VALUE cell where the header does.
	col := strings.Index(lines[0], "VALUE")
	for _, l := range lines[1:] {
		assert.Regexp(t, `^(sk|pk)_\*{4}`, l[col:], "row %q", l)
	}
	assert.NotRegexp(t, fullValue, out, "list shows values masked")
}

func TestKeysListJSON(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	created := e.create(t, "--name", "billing", "--description", "invoices")

	for _, args := range [][]string{{"--json", "list"}, {"list", "--json"}} {
		keys := decodeKeys(t, e.ok(t, args...))
		require.Len(t, keys, 3)
		k := keys[0]
		assert.Equal(t, created.ID, k.ID)
		assert.Equal(t, e.srv.ProjectID, k.ProjectID)
		assert.Equal(t, "billing", k.Name)
		assert.Equal(t, "invoices", k.Description.MustGet())
		assert.Equal(t, client.APIKeyScopeSecret, k.Scope)
		assert.Equal(t, client.ProjectRoleSupport, k.Role)
		assert.Equal(t, masked(created.Value), k.Value)
	}
}

func TestKeysListFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := newProxiedCLIEnv(t)
	for _, n := range []string{"delta billing", "alpha billing", "gamma", "charlie billing", "echo billing", "bravo billing", "foxtrot"} {
		e.create(t, "--name", n)
	}
	e.proxy.take()

	tests := []struct {
		name       string
		args       []string
		want       []string
		wantMore   bool
		wantPages  int
		wantFilter url.Values
	}{
		{
			name:       "one page, filtered and sorted",
			args:       []string{"list", "--json", "--q", "billing", "--sort", "name", "--limit", "3"},
			want:       []string{"alpha billing", "bravo billing", "charlie billing"},
			wantMore:   true,
			wantPages:  1,
			wantFilter: url.Values{"q": {"billing"}, "sort": {"name"}, "limit": {"3"}},
		},
		{
			name:       "every page keeps the filters",
			args:       []string{"list", "--json", "--all", "--q", "billing", "--sort", "-name", "--limit", "2"},
			want:       []string{"echo billing", "delta billing", "charlie billing", "bravo billing", "alpha billing"},
			wantPages:  3,
			wantFilter: url.Values{"q": {"billing"}, "sort": {"-name"}, "limit": {"2"}},
		},
		{
			name:       "every key",
			args:       []string{"list", "--json", "--all", "--limit", "4", "--sort", "id"},
			want:       []string{"SMTP proxy", "Bootstrap admin key", "delta billing", "alpha billing", "gamma", "charlie billing", "echo billing", "bravo billing", "foxtrot"},
			wantPages:  3,
			wantFilter: url.Values{"sort": {"id"}, "limit": {"4"}},
		},
		{
			name:       "nothing matches",
			args:       []string{"list", "--json", "--q", "zulu"},
			want:       []string{},
			wantPages:  1,
			wantFilter: url.Values{"q": {"zulu"}},
		},
	}
	for _, tt := range tests {
		r := e.keys(t, tt.args...)
		require.Equal(t, 0, r.code, "%s: %s", tt.name, r.stderr)
		assert.Equal(t, tt.want, names(decodeKeys(t, r.stdout)), tt.name)
		if tt.wantMore {
			assert.Equal(t, "spotzee-keys: more keys follow; use --all to list every key\n", r.stderr, tt.name)
		} else {
			assert.Empty(t, r.stderr, tt.name)
		}
		reqs := e.proxy.take()
		require.Len(t, reqs, tt.wantPages, tt.name)
		for i, req := range reqs {
			assert.Equal(t, "GET", req.method)
			assert.Equal(t, "/api/client/keys", req.path)
			for name := range tt.wantFilter {
				assert.Equal(t, tt.wantFilter.Get(name), req.query.Get(name), "%s: page %d, %s", tt.name, i+1, name)
			}
			for _, name := range []string{"q", "sort", "limit"} {
				if _, want := tt.wantFilter[name]; !want {
					assert.NotContains(t, req.query, name, "%s: unset flags are not sent", tt.name)
				}
			}
			assert.Equal(t, i > 0, req.query.Has("cursor"), "%s: page %d", tt.name, i+1)
		}
	}
}

func TestKeysCreateShowsTheValueOnce(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)

	r := e.keys(t, "create", "--name", "ci bot", "--description", "deploys", "--role", "publisher")
	require.Equal(t, 0, r.code, r.stderr)
	values := fullValue.FindAllString(r.stdout, -1)
	require.Len(t, values, 1, "the full value is printed exactly once:\n%s", r.stdout)
	value := values[0]
	assert.True(t, strings.HasPrefix(value, "sk_"), "secret by default")
	assert.Contains(t, r.stdout, "VALUE        "+value+"\n")
	assert.Contains(t, r.stdout, "NAME         ci bot\n")
	assert.Contains(t, r.stdout, "ROLE         publisher\n")
	assert.Contains(t, r.stdout, "SCOPE        secret\n")
	assert.Contains(t, r.stdout, "DESCRIPTION  deploys\n")
	assert.Contains(t, r.stderr, "WARNING: this is the only time the full value of key")
	assert.Contains(t, r.stderr, "cannot be retrieved again")
	assert.NotContains(t, r.stderr, value, "the warning does not repeat the value")
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"))

	id := regexp.MustCompile(`(?m)^ID +(\d+)$`).FindStringSubmatch(r.stdout)
	require.NotNil(t, id)
	got := e.ok(t, "get", id[1])
	assert.Contains(t, got, "VALUE        "+masked(value)+"\n", "later reads are masked")
	assert.NotContains(t, got, value)
}

func TestKeysCreateJSON(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)

	r := e.keys(t, "create", "--json", "--name", "browser", "--scope", "public", "--role", "editor", "--description", "")
	require.Equal(t, 0, r.code, r.stderr)
	var k client.ProjectAPIKeyCreated
	decodeStrict(t, r.stdout, &k)
	assert.Regexp(t, `^pk_[0-9A-HJKMNP-TV-Z]{26}$`, k.Value, "the full value")
	assert.Equal(t, "browser", k.Name)
	assert.Equal(t, client.APIKeyScopePublic, k.Scope)
	assert.Equal(t, client.ProjectRoleEditor, k.Role)
	assert.Equal(t, "", k.Description.MustGet(), "an explicit empty description is sent")
	assert.Equal(t, e.srv.ProjectID, k.ProjectID)
	assert.Contains(t, r.stderr, "WARNING: this is the only time the full value of key "+strconv.FormatInt(k.ID, 10)+" is shown")
}

func TestKeysCreateIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newProxiedCLIEnv(t)

	first := e.create(t, "--name", "once", "--idempotency-key", "deploy-42")
	again := e.create(t, "--name", "once", "--idempotency-key", "deploy-42")
	assert.Equal(t, first, again, "the same key, replayed")
	reqs := e.proxy.take()
	require.Len(t, reqs, 2)
	for _, req := range reqs {
		assert.Equal(t, "deploy-42", req.header.Get("Idempotency-Key"))
	}
	assert.Len(t, decodeKeys(t, e.ok(t, "list", "--json", "--q", "once")), 1, "one key created")

	r := e.keys(t, "create", "--name", "twice", "--idempotency-key", "deploy-42")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	m := errLine.FindStringSubmatch(r.stderr)
	require.NotNil(t, m, "stderr: %q", r.stderr)
	assert.Equal(t, []string{"409", "idempotency_key_mismatch"}, m[1:])
}

func TestKeysGet(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	k := e.create(t, "--name", "reader", "--description", "reads", "--role", "support")
	id := strconv.FormatInt(k.ID, 10)

	out := e.ok(t, "get", id)
	want := fmt.Sprintf(`ID           %d
PROJECT      %d
NAME         reader
SCOPE        secret
ROLE         support
VALUE        %s
SYSTEM       no
CREATED      %s
UPDATED      %s
DESCRIPTION  reads
`, k.ID, e.srv.ProjectID, masked(k.Value),
		mustTime(t, k.CreatedAt).UTC().Format(time.RFC3339), mustTime(t, k.UpdatedAt).UTC().Format(time.RFC3339))
	assert.Equal(t, want, out)

	var got client.ProjectAPIKey
	decodeStrict(t, e.ok(t, "get", "--json", id), &got)
	assert.Equal(t, k.ID, got.ID)
	assert.Equal(t, masked(k.Value), got.Value)
	assert.Equal(t, "reads", got.Description.MustGet())

	var system client.ProjectAPIKey
	decodeStrict(t, e.ok(t, "--json", "get", strconv.FormatInt(e.systemKeyID(t), 10)), &system)
	require.NotNil(t, system.IsSystemKey)
	assert.True(t, *system.IsSystemKey)
	assert.Contains(t, e.ok(t, "get", strconv.FormatInt(system.ID, 10)), "SYSTEM       yes\n")
}

func TestKeysUpdateSendsOnlyTheFlagsGiven(t *testing.T) {
	t.Parallel()
	e := newProxiedCLIEnv(t)
	k := e.create(t, "--name", "svc", "--description", "first", "--role", "support")
	id := strconv.FormatInt(k.ID, 10)
	e.proxy.take()

	tests := []struct {
		name     string
		args     []string
		wantBody string
		check    func(t *testing.T, got client.ProjectAPIKey)
	}{
		{
			name: "name only", args: []string{"update", id, "--name", "svc-renamed"},
			wantBody: `{"name":"svc-renamed"}`,
			check: func(t *testing.T, got client.ProjectAPIKey) {
				assert.Equal(t, "svc-renamed", got.Name)
				assert.Equal(t, "first", got.Description.MustGet(), "kept")
				assert.Equal(t, client.ProjectRoleSupport, got.Role, "kept")
			},
		},
		{
			name: "flags before the ID", args: []string{"update", "--role", "editor", "--scope", "public", id},
			wantBody: `{"role":"editor","scope":"public"}`,
			check: func(t *testing.T, got client.ProjectAPIKey) {
				assert.Equal(t, client.ProjectRoleEditor, got.Role)
				assert.Equal(t, client.APIKeyScopePublic, got.Scope)
				assert.Equal(t, masked(k.Value), got.Value, "the value and its prefix never change")
				assert.Equal(t, "svc-renamed", got.Name, "kept")
			},
		},
		{
			name: "description", args: []string{"update", id, "--description", "second"},
			wantBody: `{"description":"second"}`,
			check: func(t *testing.T, got client.ProjectAPIKey) {
				assert.Equal(t, "second", got.Description.MustGet())
			},
		},
		{
			name: "clear the description", args: []string{"update", id, "--clear-description"},
			wantBody: `{"description":null}`,
			check: func(t *testing.T, got client.ProjectAPIKey) {
				assert.True(t, got.Description.IsNull() || !got.Description.IsSpecified(), "cleared")
				assert.Equal(t, "svc-renamed", got.Name, "kept")
			},
		},
	}
	for _, tt := range tests {
		var got client.ProjectAPIKey
		decodeStrict(t, e.ok(t, append(tt.args, "--json")...), &got)
		assert.Equal(t, k.ID, got.ID, tt.name)
		tt.check(t, got)

		reqs := e.proxy.take()
		require.Len(t, reqs, 1, tt.name)
		assert.Equal(t, "PATCH", reqs[0].method, tt.name)
		assert.Equal(t, "/api/client/keys/"+id, reqs[0].path, tt.name)
		assert.JSONEq(t, tt.wantBody, reqs[0].body, tt.name)
		assert.Equal(t, "cli", reqs[0].header.Get("X-Spotzee-Client-Type"), tt.name)
		assert.Equal(t, "Bearer "+e.srv.AdminKey, reqs[0].header.Get("Authorization"), tt.name)
	}

	// The text output of update is the key, and a cleared description reads "-".
	out := e.ok(t, "update", id, "--name", "svc")
	assert.Contains(t, out, "NAME         svc\n")
	assert.Contains(t, out, "DESCRIPTION  -\n")
	var after client.ProjectAPIKey
	decodeStrict(t, e.ok(t, "get", id, "--json"), &after)
	assert.True(t, after.Description.IsNull() || !after.Description.IsSpecified(), "the clear stuck")
}

func TestKeysRevoke(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	a := e.create(t, "--name", "a")
	b := e.create(t, "--name", "b")

	out := e.ok(t, "revoke", strconv.FormatInt(a.ID, 10))
	assert.Regexp(t, `^Revoked key `+strconv.FormatInt(a.ID, 10)+` at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.\n$`, out)

	var rev client.APIKeyRevokeResponse
	decodeStrict(t, e.ok(t, "revoke", "--json", strconv.FormatInt(b.ID, 10)), &rev)
	require.NotNil(t, rev.ID)
	assert.Equal(t, b.ID, *rev.ID)
	require.NotNil(t, rev.Revoked)
	assert.True(t, *rev.Revoked)
	require.NotNil(t, rev.RevokedAt)
	assert.NotEmpty(t, *rev.RevokedAt)

	for _, k := range decodeKeys(t, e.ok(t, "list", "--json")) {
		assert.NotContains(t, []int64{a.ID, b.ID}, k.ID, "revoked keys leave the list")
	}
	r := e.keys(t, "get", strconv.FormatInt(a.ID, 10))
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, errLine, r.stderr)
}

func TestKeysAPIErrors(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	editorKey := e.srv.AddKey(e.srv.ProjectID, "editor", spotzee.ScopeSecret, spotzee.RoleEditor)
	unknownKey := "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
	e.secrets = append(e.secrets, editorKey, unknownKey)
	system := strconv.FormatInt(e.systemKeyID(t), 10)

	tests := []struct {
		name       string
		keyFile    string // "" for the admin key
		args       []string
		wantStatus string
		wantCode   string
		wantText   string
	}{
		{name: "unknown id", args: []string{"get", "999999"}, wantStatus: "404", wantCode: "resource_missing",
			wantText: "No API key with id 999999 in this project."},
		{name: "unknown id, update", args: []string{"update", "999999", "--name", "x"}, wantStatus: "404", wantCode: "resource_missing"},
		{name: "unknown id, revoke", args: []string{"revoke", "999999"}, wantStatus: "404", wantCode: "resource_missing"},
		{name: "system key", args: []string{"revoke", system}, wantStatus: "409", wantCode: "state_conflict"},
		{name: "limit out of range", args: []string{"list", "--limit", "101"}, wantStatus: "400", wantCode: "parameter_invalid_format", wantText: "limit"},
		{name: "unknown key", keyFile: writeKeyFile(t, unknownKey), args: []string{"list"}, wantStatus: "401", wantCode: "authentication_required"},
		{name: "not an admin", keyFile: writeKeyFile(t, editorKey), args: []string{"create", "--name", "x"}, wantStatus: "403", wantCode: "permission_denied",
			wantText: "admin role"},
		{name: "json mode errors the same way", args: []string{"--json", "get", "999999"}, wantStatus: "404", wantCode: "resource_missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := *e
			if tt.keyFile != "" {
				env.keyFile = tt.keyFile
			}
			r := env.keys(t, tt.args...)
			assert.Equal(t, 1, r.code)
			assert.Empty(t, r.stdout)
			m := errLine.FindStringSubmatch(r.stderr)
			require.NotNil(t, m, "one line with status, code and request id; got %q", r.stderr)
			assert.Equal(t, []string{tt.wantStatus, tt.wantCode}, m[1:])
			assert.Contains(t, r.stderr, tt.wantText)
		})
	}
}

func TestKeysNetworkAndTimeoutErrors(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	// Port 1 on loopback: nothing listens there. (A closed httptest server's
	// port was reused by a parallel test's server at times: a flaky test.)
	closedURL := "http://127.0.0.1:1"
	key := "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
	keyFile := writeKeyFile(t, key)

	tests := []struct {
		name, baseURL, want string
	}{
		{"timeout", hang.URL, "context deadline exceeded"},
		{"connection refused", closedURL, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := runCLI(t, "keys", "--base-url", tt.baseURL, "--api-key-file", keyFile, "--timeout", "300ms", "get", "1")
			assert.Less(t, time.Since(start), 5*time.Second)
			assert.Equal(t, 1, r.code)
			assert.Empty(t, r.stdout)
			assert.Regexp(t, `^spotzee-keys: [^\n]+\n$`, r.stderr, "one line")
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stderr, key)
		})
	}
}

func TestKeysNeverPrintTheAPIKey(t *testing.T) {
	t.Parallel()
	key := "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2"
	// A hostile or broken server that echoes the bearer token back, in an
	// error body that is not a problem document and in a problem document.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.Method == http.MethodDelete {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"status":"error","code":"permission_denied","title":"Permission denied","message":"key %s\nmay not","type":"https://docs.spotzee.com/main-api/errors#permission_denied","request_id":"req_01HXY7Z9K8M5J2N4P6Q8R0AAAA","param":"%s"}`, token, token)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad token %s", token)
	}))
	t.Cleanup(echo.Close)
	keyFile := writeKeyFile(t, key)

	for _, args := range [][]string{{"get", "1"}, {"revoke", "1"}, {"list", "--json"}} {
		r := runCLI(t, append([]string{"keys", "--base-url", echo.URL, "--api-key-file", keyFile}, args...)...)
		assert.Equal(t, 1, r.code, args)
		assert.NotContains(t, r.stderr, key, args)
		assert.NotContains(t, r.stdout, key, args)
		assert.Contains(t, r.stderr, "[REDACTED]", args)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line even with a newline in the message: %q", r.stderr)
	}
}

func TestKeysUsageErrors(t *testing.T) {
	t.Parallel()
	// Usage errors are found before any request: this server fails the test
	// if it is called.
	var calls atomic.Int32
	never := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(func() {
		never.Close()
		assert.Zero(t, calls.Load(), "a usage error sent a request")
	})
	keyFile := writeKeyFile(t, "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "usage: spotzee-keys keys"},
		{"unknown subcommand", []string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{"unknown global flag", []string{"--verbose", "list"}, "flag provided but not defined: -verbose"},
		{"unknown flag", []string{"list", "--verbose"}, "list: flag provided but not defined: -verbose"},
		{"bad limit", []string{"list", "--limit", "ten"}, "invalid value"},
		{"negative timeout", []string{"list", "--timeout", "-1s"}, "--timeout must not be negative"},
		{"list takes no argument", []string{"list", "extra"}, `unexpected argument "extra"`},
		{"unknown sort", []string{"list", "--sort", "value"}, `--sort "value": want id, name, created_at or updated_at`},
		{"empty sort", []string{"list", "--sort", ""}, `--sort "": want id`},
		{"sort with two minus signs", []string{"list", "--sort", "--name"}, `--sort "--name"`},
		{"sort in capitals", []string{"list", "--sort", "NAME"}, `--sort "NAME"`},
		{"get without ID", []string{"get"}, "want exactly one key ID, got 0"},
		{"get with two IDs", []string{"get", "1", "2"}, "want exactly one key ID, got 2"},
		{"ID not a number", []string{"get", "abc"}, `key ID "abc" is not a positive integer`},
		{"ID zero", []string{"revoke", "0"}, `key ID "0" is not a positive integer`},
		{"ID negative after --", []string{"get", "--", "-5"}, `key ID "-5" is not a positive integer`},
		{"create without name", []string{"create"}, "--name is required"},
		{"create with empty name", []string{"create", "--name", " "}, "--name must not be empty"},
		{"create with bad scope", []string{"create", "--name", "x", "--scope", "private"}, `--scope "private": want public or secret`},
		{"create with bad role", []string{"create", "--name", "x", "--role", "owner"}, `--role "owner": want support`},
		{"create with empty idempotency key", []string{"create", "--name", "x", "--idempotency-key", ""}, "--idempotency-key must be 1 to 255 characters"},
		{"create with long idempotency key", []string{"create", "--name", "x", "--idempotency-key", strings.Repeat("k", 256)}, "--idempotency-key must be 1 to 255 characters"},
		{"update nothing", []string{"update", "1"}, "nothing to change"},
		{"update both descriptions", []string{"update", "1", "--description", "d", "--clear-description"}, "not both"},
		{"update empty name", []string{"update", "1", "--name", ""}, "--name must not be empty"},
		{"update bad scope", []string{"update", "1", "--scope", "x"}, `--scope "x"`},
		{"update bad role", []string{"update", "1", "--role", "root"}, `--role "root"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, append([]string{"keys", "--base-url", never.URL, "--api-key-file", keyFile}, tt.args...)...)
			assert.Equal(t, 2, r.code)
			assert.Empty(t, r.stdout)
			assert.Contains(t, r.stderr, tt.want)
		})
	}
}

func TestKeysHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"keys", "-h"}, []string{"list", "create", "get", "update", "revoke", "--base-url", "SPOTZEE_BASE_URL",
			"--api-key-file", "SPOTZEE_API_KEY", "--json", "--timeout", "--all", "--clear-description", "--idempotency-key", client.DefaultBaseURL}},
		{[]string{"keys", "help"}, []string{"usage: spotzee-keys keys"}},
		{[]string{"keys", "--help"}, []string{"usage: spotzee-keys keys"}},
		{[]string{"keys", "get", "-h"}, []string{"usage: spotzee-keys keys get ID", "-base-url", "-json"}},
		{[]string{"keys", "update", "--help"}, []string{"usage: spotzee-keys keys update ID", "-clear-description", "-role"}},
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

// TestKeysEnvironment cannot run in parallel: it sets environment variables.
func TestKeysEnvironment(t *testing.T) {
	srv := spotzeetest.NewServer(t)

	t.Setenv(EnvBaseURL, srv.URL)
	t.Setenv(EnvAPIKey, srv.AdminKey)
	r := runCLI(t, "keys", "list", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, decodeKeys(t, r.stdout), 2)

	// --api-key-file wins over the environment.
	t.Setenv(EnvAPIKey, "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	r = runCLI(t, "keys", "--api-key-file", writeKeyFile(t, srv.AdminKey), "list")
	assert.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, "keys", "list")
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, errLine, r.stderr)
	assert.NotContains(t, r.stderr, "sk_01HXY7Z9K8M5J2N4P6Q8R0S1T2")
	assert.Contains(t, r.stderr, "401 authentication_required")

	// --base-url wins over the environment.
	t.Setenv(EnvBaseURL, "http://127.0.0.1:1/api/client")
	r = runCLI(t, "keys", "--base-url", srv.URL, "--api-key-file", writeKeyFile(t, srv.AdminKey), "list")
	assert.Equal(t, 0, r.code, r.stderr)

	// No key anywhere is a usage error.
	t.Setenv(EnvAPIKey, "")
	r = runCLI(t, "keys", "list")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "no API key: set SPOTZEE_API_KEY or pass --api-key-file PATH")

	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	r = runCLI(t, "keys", "--api-key-file", empty, "list")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "is empty")

	r = runCLI(t, "keys", "--api-key-file", filepath.Join(t.TempDir(), "missing"), "list")
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `^spotzee-keys: read API key file: [^\n]+\n$`, r.stderr)

	// A key that cannot be a header value is refused without being shown.
	bad := "sk_bad\x01key"
	r = runCLI(t, "keys", "--api-key-file", writeKeyFile(t, bad), "list")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "spotzee-keys: spotzee: new client: API key contains white space or control characters\n", r.stderr)

	// A base URL that is not absolute is a usage error, from the flag or
	// the environment.
	r = runCLI(t, "keys", "--base-url", "127.0.0.1:8080/api/client", "--api-key-file", writeKeyFile(t, srv.AdminKey), "list")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `base URL "127.0.0.1:8080/api/client" (--base-url or SPOTZEE_BASE_URL) is not an absolute http or https URL`)
	t.Setenv(EnvBaseURL, "ftp://example.com")
	r = runCLI(t, "keys", "--api-key-file", writeKeyFile(t, srv.AdminKey), "list")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `base URL "ftp://example.com"`)
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantPos  []string
		wantName string
	}{
		{[]string{"12", "--name", "x"}, []string{"12"}, "x"},
		{[]string{"--name", "x", "12"}, []string{"12"}, "x"},
		{[]string{"--name=x", "12", "13"}, []string{"12", "13"}, "x"},
		{[]string{"--", "-5", "--name", "y"}, []string{"-5", "--name", "y"}, ""},
		{[]string{"12", "--", "--name"}, []string{"12", "--name"}, ""},
		{nil, nil, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		name := fs.String("name", "", "")
		pos, err := parseInterspersed(fs, tt.args)
		require.NoError(t, err, tt.args)
		assert.Equal(t, tt.wantPos, pos, tt.args)
		assert.Equal(t, tt.wantName, *name, tt.args)
	}
}

func TestDescribeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "not found",
			err: &client.APIError{StatusCode: 404, Code: client.ErrorCodeResourceMissing, Message: "No API key with id 99 in this project.",
				RequestID: "req_01HXY7Z9K8M5J2N4P6Q8R0S1T2", Param: "keyId"},
			want: "404 resource_missing: No API key with id 99 in this project. (request_id req_01HXY7Z9K8M5J2N4P6Q8R0S1T2)",
		},
		{
			name: "wrapped, several fields, multi-line message",
			err: fmt.Errorf("while listing: %w", &client.APIError{StatusCode: 422, Code: client.ErrorCodeValidationFailed,
				Message: "2 fields failed\nvalidation; see errors.", RequestID: "req_X",
				Errors: []client.FieldError{{Param: "role", Message: "bad role"}, {Param: "scope", Message: "bad scope"}}}),
			want: "422 validation_failed: 2 fields failed validation; see errors. [role: bad role; scope: bad scope] (request_id req_X)",
		},
		{
			name: "rate limited",
			err:  &client.APIError{StatusCode: 429, Code: client.ErrorCodeRateLimited, Message: "Slow down.", RetryAfter: 3 * time.Second, RequestID: "req_Y"},
			want: "429 rate_limited: Slow down. (retry after 3s) (request_id req_Y)",
		},
		{
			name: "no code, no request id",
			err:  &client.APIError{StatusCode: 502, Message: "Bad Gateway, non-JSON error body: <html>"},
			want: "502: Bad Gateway, non-JSON error body: <html>",
		},
		{
			name: "not an API error",
			err:  fmt.Errorf("spotzee: get key 1: %w", io.ErrUnexpectedEOF),
			want: "spotzee: get key 1: unexpected EOF",
		},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, describeError(tt.err), tt.name)
	}
}

func TestTableCellsAreSanitised(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, printKeyTable(&out, []client.ProjectAPIKey{{
		ID: 7, Name: "evil\x1b[31m\tname\nsecond line", Scope: client.APIKeyScopeSecret, Role: client.ProjectRoleAdmin,
		Value: "sk_****S1T2", Description: nullable.NewNullableWithValue(strings.Repeat("d", 80)),
	}}))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 2, "one row, no injected line:\n%s", out.String())
	assert.NotContains(t, out.String(), "\x1b")
	row := lines[1]
	assert.Contains(t, row, "evil [31m name second line")
	assert.Contains(t, row, strings.Repeat("d", maxDescriptionCell-1)+"…")
	assert.NotContains(t, row, strings.Repeat("d", maxDescriptionCell))
	assert.Contains(t, row, "  -  ", "a null created_at reads -")

	assert.Equal(t, "-", cell("", 0))
	assert.Equal(t, "abc", cell("abc", 3))
	assert.Equal(t, "ab…", cell("abcd", 3))
	assert.Equal(t, "héé…", cell("hééllo", 4), "cut on runes, not bytes")
}

func TestSubcommandsAreListedInTheUsage(t *testing.T) {
	t.Parallel()
	var got []string
	for name, sub := range subcommands {
		got = append(got, name)
		assert.Contains(t, keysUsage, "\n  "+name+" ", name)
		assert.Contains(t, keysUsage, strings.TrimPrefix(sub.synopsis, name)+"\n", name)
	}
	slices.Sort(got)
	assert.Equal(t, []string{"create", "get", "list", "revoke", "update"}, got)
}

// mustTime parses a key timestamp, failing the test when it is not RFC 3339.
func mustTime(t *testing.T, n nullable.Nullable[string]) time.Time {
	t.Helper()
	ts, err := client.ParseTimestamp(n)
	require.NoError(t, err)
	return ts
}
