package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/edgelimit"
	"github.com/spotzeekit/spotzee-keys/faults"
	"github.com/spotzeekit/spotzee-keys/httpapi"
	"github.com/spotzeekit/spotzee-keys/keys"
	"github.com/spotzeekit/spotzee-keys/postgres"
	"github.com/spotzeekit/spotzee-keys/ratelimit"
	"github.com/spotzeekit/spotzee-keys/refserver"
	"github.com/spotzeekit/spotzee-keys/sqlite"
)

// SecretEnv names the environment variable that may hold the server secret
// as 64 hex characters.
const SecretEnv = "SPOTZEE_KEYS_SECRET"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dbPath := fs.String("db", "spotzee-keys.db", `SQLite database file, ":memory:", or a PostgreSQL DSN (postgres://… or postgresql://…) shared by replicas`)
	secretFile := fs.String("secret-file", "", "file holding the server secret (default: DB path + \".secret\"; created if absent; env "+SecretEnv+" overrides; with PostgreSQL one of the two is required, the same on every replica)")
	keyFile := fs.String("bootstrap-key-file", "", "also write the first admin key to this file on first start (mode 0600; an existing file's looser mode is tightened, with a warning)")
	rateLimits := fs.String("rate-limits", "on", `"on" (the tiers) or "off"`)
	rateRead := fs.Int("rate-limit-read", 0, "override: read requests allowed per window for every key (0: by tier)")
	rateWrite := fs.Int("rate-limit-write", 0, "override: write requests allowed per window for every key (0: by tier)")
	rateWindow := fs.Duration("rate-window", 10*time.Second, "rate-limit sliding window")
	profileName := fs.String("profile", string(refserver.ProfileRollout), `behaviour profile: "rollout" (everything Spotzee documents) or "current" (production today: Idempotency-Key ignored, any well-formed Spotzee-Version accepted, no per-key limits)`)
	edgeLimits := fs.String("edge-limits", "on", `per-IP edge limits, in both profiles: "on" or "off"`)
	edgeClientLimit := fs.Int("edge-client-limit", edgelimit.ClientRule.Limit, "edge limit: requests per -edge-client-window per IP under /api/client/")
	edgeClientWindow := fs.Duration("edge-client-window", edgelimit.ClientRule.Window, "edge limit: window of -edge-client-limit")
	edgeAPILimit := fs.Int("edge-api-limit", edgelimit.APIRule.Limit, "edge limit: requests per -edge-api-window per IP under /api/")
	edgeAPIWindow := fs.Duration("edge-api-window", edgelimit.APIRule.Window, "edge limit: window of -edge-api-limit")
	trustedProxyHeader := fs.String("trusted-proxy-header", "", "count edge limits by the right-most address of this header (e.g. X-Forwarded-For) set by a proxy you trust; default: the connection's address")
	validateResponses := fs.Bool("validate-responses", false, "validate every response against the spec (a violation becomes a 500 and an error log)")
	logFormat := fs.String("log-format", "text", `access log format: "text" or "json"`)
	faultEndpoint := fs.Bool("fault-endpoint", false, "enable POST "+faults.EndpointPath+" to script injected faults (test environments only)")
	maxKeys := fs.Int("max-keys-per-project", keys.DefaultKeyQuota, "most live keys a project may hold for the API to create one (402 quota_exceeded beyond); 0 or less: no cap")
	maxConns := fs.Int("max-connections", refserver.DefaultMaxConnections, "most connections handled at once (more wait in the listen backlog); 0 or less: no cap")
	authFailures := fs.Int("auth-failures", httpapi.DefaultAuthFailures, "failed authentications one client address may make per --auth-failure-window before its requests get 429; 0 or less: no throttle")
	authWindow := fs.Duration("auth-failure-window", httpapi.DefaultAuthFailureWindow, "window of --auth-failures")
	authCache := fs.String("auth-cache", "on", `authenticated-key cache, SQLite only: "on" (callers, tiers and GET's key kept until the next commit to the database by any process) or "off" (every request reads its caller); never with PostgreSQL`)
	purgeEvery := fs.Duration("purge-interval", refserver.DefaultPurgeInterval, "how often expired idempotency records are deleted")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	profile, err := refserver.ParseProfile(*profileName)
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys serve: --profile: %v\n", err)
		return 2
	}
	for _, c := range []struct {
		flag, value string
		allowed     []string
	}{
		{"--rate-limits", *rateLimits, []string{"on", "off"}},
		{"--log-format", *logFormat, []string{"text", "json"}},
	} {
		if !slices.Contains(c.allowed, c.value) {
			fmt.Fprintf(stderr, "spotzee-keys serve: %s must be %s, got %q\n", c.flag, strings.Join(c.allowed, " or "), c.value)
			return 2
		}
	}
	var edge *edgelimit.Config
	switch *edgeLimits {
	case "on":
		edge = &edgelimit.Config{
			Rules: []edgelimit.Rule{
				{Prefix: edgelimit.ClientRule.Prefix, Limit: *edgeClientLimit, Window: *edgeClientWindow},
				{Prefix: edgelimit.APIRule.Prefix, Limit: *edgeAPILimit, Window: *edgeAPIWindow},
			},
			TrustedProxyHeader: *trustedProxyHeader,
		}
		if err := edge.Validate(); err != nil {
			fmt.Fprintf(stderr, "spotzee-keys serve: edge limits: %v\n", err)
			return 2
		}
	case "off":
	default:
		fmt.Fprintf(stderr, "spotzee-keys serve: --edge-limits must be on or off, got %q\n", *edgeLimits)
		return 2
	}
	if *authCache != "on" && *authCache != "off" {
		fmt.Fprintf(stderr, "spotzee-keys serve: --auth-cache must be on or off, got %q\n", *authCache)
		return 2
	}
	log := newLogger(stderr, *logFormat)
	secret, err := loadSecret(ctx, *dbPath, *secretFile)
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys serve: %v\n", err)
		return 1
	}
	rl := ratelimit.Config{Window: *rateWindow, Disabled: *rateLimits == "off"}
	if *rateRead > 0 || *rateWrite > 0 {
		rl.Override = &ratelimit.Limits{ReadPerWindow: *rateRead, WritePerWindow: *rateWrite}
	}
	srv, err := refserver.Open(ctx, refserver.Config{
		DBPath: *dbPath, Secret: secret, Profile: profile, RateLimits: rl, EdgeLimits: edge,
		ValidateResponses: *validateResponses, Logger: log,
		MaxKeysPerProject: quotaConfig(*maxKeys),
		AuthFailures:      *authFailures, AuthFailureWindow: *authWindow,
		DisableAuthCache: *authCache == "off",
	})
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys serve: %v\n", err)
		return 1
	}
	defer srv.Close()
	b, created, err := srv.BootstrapIfEmpty(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys serve: bootstrap: %v\n", err)
		return 1
	}
	if created {
		fmt.Fprintf(stdout, "Created project %d with an admin secret key. It is shown once; store it now:\n\n  %s\n\n", b.Project.ID, b.Admin.Value)
		fmt.Fprintf(stdout, "Created organisation %d (%s) with an owner organisation key, for %s. It is shown once; store it now:\n\n  %s\n\n",
			b.Organization.ID, b.Organization.Username, httpapi.AdminPrefix, b.Owner.Value)
		if *keyFile != "" {
			if err := writeBootstrapKeyFile(*keyFile, b.Admin.Value, log); err != nil {
				fmt.Fprintf(stderr, "spotzee-keys serve: %v\n", err)
				return 1
			}
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys serve: %v\n", err)
		return 1
	}
	handler, err := withFaultEndpoint(srv.Handler(), *faultEndpoint, log)
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys serve: %v\n", err)
		return 1
	}
	ln = refserver.LimitListener(ln, *maxConns)
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	purgeCtx, stopPurge := context.WithCancel(ctx)
	purged := make(chan struct{})
	go func() {
		defer close(purged)
		srv.RunPurger(purgeCtx, *purgeEvery)
	}()
	defer func() { // before srv.Close
		stopPurge()
		<-purged
	}()
	fmt.Fprintf(stdout, "Serving the Spotzee API-keys reference server on http://%s/api/client (admin surface: /api/admin; spec: /api/openapi.json)\n", ln.Addr())
	log.Info("serving", slog.String("profile", string(profile)), slog.Bool("edge_limits", edge != nil))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "spotzee-keys serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "spotzee-keys serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}

// quotaConfig maps the --max-keys-per-project flag (0 or less: no cap) to
// refserver.Config.MaxKeysPerProject (0: the default, negative: no cap).
func quotaConfig(flag int) int {
	if flag <= 0 {
		return -1
	}
	return flag
}

// writeBootstrapKeyFile writes value and a newline to path with mode 0600, whatever
// the umask. A file that already exists with a looser mode is tightened to
// 0600 before the key is written to it, with a warning: the key never sits
// in a file others can read. It returns the error of opening, changing the
// mode of or writing the file (the key is not in the error).
func writeBootstrapKeyFile(path, value string, log *slog.Logger) error {
	before, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("bootstrap key file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return fmt.Errorf("bootstrap key file: make it private (mode 0600): %w", err)
	}
	if statErr == nil && before.Mode().Perm()&^0o600 != 0 {
		log.Warn("bootstrap key file was readable by others; its mode is now 0600",
			slog.String("path", path), slog.String("previous_mode", before.Mode().Perm().String()))
	}
	if _, err := f.WriteString(value + "\n"); err != nil {
		_ = f.Close()
		return fmt.Errorf("bootstrap key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bootstrap key file: %w", err)
	}
	return nil
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// loadSecret returns the server secret: from SPOTZEE_KEYS_SECRET, else from
// the secret file (created with a random secret, mode 0600, when absent). A
// PostgreSQL DSN needs one of the two (errNoSharedSecret otherwise): its
// replicas must share the secret.
// An in-memory database without either gets a random secret. It refuses to
// make a new secret for a database file that already holds data: its
// cursors and cached responses belong to the secret that was lost, and a
// silently new one would hide the loss. It returns an error naming the fix
// then, and when the environment variable or the file is malformed or
// cannot be read or written.
func loadSecret(ctx context.Context, dbPath, secretFile string) ([]byte, error) {
	if env := os.Getenv(SecretEnv); env != "" {
		b, err := hex.DecodeString(strings.TrimSpace(env))
		if err != nil || len(b) != refserver.SecretSize {
			return nil, fmt.Errorf("%s must be %d hex characters", SecretEnv, 2*refserver.SecretSize)
		}
		return b, nil
	}
	if secretFile == "" && postgres.IsDSN(dbPath) {
		return nil, errNoSharedSecret
	}
	if secretFile == "" {
		if dbPath == ":memory:" {
			return nil, nil
		}
		secretFile = dbPath + ".secret"
	}
	data, err := os.ReadFile(secretFile)
	if errors.Is(err, os.ErrNotExist) {
		if dbPath != ":memory:" {
			held, err := holdsData(ctx, dbPath)
			if err != nil {
				return nil, err
			}
			if held {
				return nil, fmt.Errorf("secret file %s is missing, but database %s already holds data: "+
					"restore the secret file (or set %s to its %d hex characters, or pass --secret-file), "+
					"or move the database away to start afresh; a new secret is not made for existing data",
					secretFile, dbPath, SecretEnv, 2*refserver.SecretSize)
			}
		}
		secret := make([]byte, refserver.SecretSize)
		_, _ = rand.Read(secret)
		if err := os.WriteFile(secretFile, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write secret file: %w", err)
		}
		return secret, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secret file: %w", err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(b) != refserver.SecretSize {
		return nil, fmt.Errorf("secret file %s must hold %d hex characters", secretFile, 2*refserver.SecretSize)
	}
	return b, nil
}

// holdsData reports whether the SQLite database file at path exists and
// holds a project (or, for a PostgreSQL DSN, whether that database holds
// one); it returns an error when the database cannot be read.
func holdsData(ctx context.Context, path string) (bool, error) {
	if postgres.IsDSN(path) {
		return postgresHoldsData(ctx, path)
	}
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Size() == 0 {
		return false, nil
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return false, err
	}
	defer db.Close()
	return db.HasProjects(ctx)
}

func runBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "spotzee-keys.db", "SQLite database file")
	project := fs.String("project", "Project", "name of the new project")
	tier := fs.String("tier", "starter", "rate-limit tier: starter, professional or enterprise")
	projectID := fs.Int64("project-id", 0, "add a new admin secret key to this existing project instead of creating a project: a new project's first key (projects created with the admin API have none) or a recovery key")
	organization := fs.String("organization", "", "create an organisation with this username (slug) and an owner key, with the new project as its first; prints the owner key (ok_) and then the project's admin key (sk_), one a line")
	secretFile := fs.String("secret-file", "", "file holding the server secret, created with a new database (default: DB path + \".secret\"; env "+SecretEnv+" overrides)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "spotzee-keys bootstrap: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *projectID < 0 || (*projectID > 0 && (isSet(fs, "project") || isSet(fs, "tier") || isSet(fs, "organization"))) {
		fmt.Fprintln(stderr, "spotzee-keys bootstrap: --project-id takes a positive project id, and not with --project or --tier or --organization")
		return 2
	}
	// A database bootstrap creates gets its secret file too, so that a later
	// serve finds data and its secret together. Bootstrap itself seals and
	// signs nothing: on an existing database it needs no secret.
	if _, err := os.Stat(*dbPath); errors.Is(err, os.ErrNotExist) && *dbPath != ":memory:" && !postgres.IsDSN(*dbPath) {
		if _, err := loadSecret(ctx, *dbPath, *secretFile); err != nil {
			fmt.Fprintf(stderr, "spotzee-keys bootstrap: %v\n", err)
			return 1
		}
	}
	srv, err := refserver.Open(ctx, refserver.Config{DBPath: *dbPath, RateLimits: ratelimit.Config{Disabled: true}})
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys bootstrap: %v\n", err)
		return 1
	}
	defer srv.Close()
	if *projectID > 0 {
		created, err := srv.RecoverAdmin(ctx, *projectID)
		if err != nil {
			fmt.Fprintf(stderr, "spotzee-keys bootstrap: project %d: %v\n", *projectID, err)
			return 1
		}
		fmt.Fprintln(stdout, created.Value)
		return 0
	}
	if *organization != "" {
		b, err := srv.BootstrapOrganization(ctx, *organization, *project, spotzee.Tier(*tier))
		if err != nil {
			fmt.Fprintf(stderr, "spotzee-keys bootstrap: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, b.Owner.Value)
		fmt.Fprintln(stdout, b.Admin.Value)
		return 0
	}
	// On an empty database, the project's organisation (1, "default") is
	// created with an owner key, printed on stderr: stdout keeps its one
	// line, the project's admin key.
	hasProjects, err := srv.Store().HasProjects(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys bootstrap: %v\n", err)
		return 1
	}
	if !hasProjects {
		b, err := srv.BootstrapOrganization(ctx, "default", *project, spotzee.Tier(*tier))
		if err != nil {
			fmt.Fprintf(stderr, "spotzee-keys bootstrap: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "Created organisation %d (%s) with an owner organisation key, shown once; store it now:\n  %s\n",
			b.Organization.ID, b.Organization.Username, b.Owner.Value)
		fmt.Fprintln(stdout, b.Admin.Value)
		return 0
	}
	b, err := srv.Bootstrap(ctx, *project, spotzee.Tier(*tier))
	if err != nil {
		fmt.Fprintf(stderr, "spotzee-keys bootstrap: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, b.Admin.Value)
	return 0
}
