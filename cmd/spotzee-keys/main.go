// Command spotzee-keys runs the Spotzee API-keys reference server and talks
// to it (or to Spotzee) from the command line.
//
//	spotzee-keys serve [--addr 127.0.0.1:8080] [--db spotzee-keys.db]
//	spotzee-keys bootstrap --db PATH [--project NAME] [--project-id N]
//	spotzee-keys keys list|create|get|update|revoke ...
//	spotzee-keys proxy --upstream URL [--addr] [--profile] [--report-json F] [--report-junit F] [--fail-on-violation]
//	spotzee-keys org me | org keys list|create|get|update|revoke ...
//	spotzee-keys projects list|create|update ...
//	spotzee-keys me
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: spotzee-keys <command> [flags]

commands:
  serve      run the reference server (default: 127.0.0.1:8080, ./spotzee-keys.db)
  bootstrap  create a project with an admin secret key and print the key
             (--project-id N: a new admin key for an existing project)
  keys       list, create, get, update or revoke API keys through the API
  proxy      a reverse proxy that checks every exchange against the contract
  org        the organisation (org me) and its keys (org keys ...), with an organisation key
  projects   list, create or update the organisation's projects, with an organisation key
  me         the project an API key belongs to

Run "spotzee-keys <command> -h" for a command's flags.
`

// run dispatches a command line and returns the exit code: 0 on success, 1
// on failure, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "bootstrap":
		return runBootstrap(ctx, args[1:], stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], stdout, stderr)
	case "proxy":
		return runProxy(ctx, args[1:], stdout, stderr)
	case "org":
		return runOrg(ctx, args[1:], stdout, stderr)
	case "projects":
		return runProjects(ctx, args[1:], stdout, stderr)
	case "me":
		return runMe(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "spotzee-keys: unknown command %q\n\n%s", args[0], usage)
	return 2
}
