package main

import (
	"context"
	"errors"

	"github.com/spotzeekit/spotzee-keys/postgres"
)

// errNoSharedSecret refuses a PostgreSQL database without a configured
// secret. Replicas must share the server secret (cursors issued by one are
// read by another; responses cached by one are replayed by another), and it
// is kept out of the database on purpose: it encrypts cached responses that
// hold full key values, so a dump of the database alone must not open them.
var errNoSharedSecret = errors.New("with a PostgreSQL database, give every replica the same server secret: set " +
	SecretEnv + " (64 hex characters) or pass --secret-file (created with a random secret if absent)")

// postgresHoldsData reports whether the PostgreSQL database dsn holds a
// project; it returns an error when it cannot be opened or read.
func postgresHoldsData(ctx context.Context, dsn string) (bool, error) {
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return false, err
	}
	defer db.Close()
	return db.HasProjects(ctx)
}
