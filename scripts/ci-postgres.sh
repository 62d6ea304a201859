# shellcheck shell=bash
# Sourced by .ci/run: makes a PostgreSQL server available to the tests and
# exports SPOTZEE_TEST_POSTGRES_DSN. When the variable is already set it does
# nothing. Otherwise it installs PostgreSQL from Debian's packages when no
# pg_ctl is found (as root, in CI), then starts (or reuses) a throwaway
# cluster in $SPOTZEE_PG_DIR (default /tmp/spotzee-keys-pg), owned by the
# postgres user, listening on 127.0.0.1:$SPOTZEE_PG_PORT (default 55432) and
# a socket in /tmp. Sourced, so the exported DSN reaches `make test`; it
# neither sets nor resets shell options of the caller.

spotzee_pg_setup() {
  if [ -n "${SPOTZEE_TEST_POSTGRES_DSN:-}" ]; then
    echo "ci-postgres: using SPOTZEE_TEST_POSTGRES_DSN from the environment"
    return 0
  fi
  local dir="${SPOTZEE_PG_DIR:-/tmp/spotzee-keys-pg}"
  local port="${SPOTZEE_PG_PORT:-55432}"
  local bin=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && bin="$d"
  done
  if [ -z "$bin" ] && ! command -v pg_ctl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "ci-postgres: installing postgresql from Debian's packages"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
      for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && bin="$d"
      done
    else
      echo "ci-postgres: no PostgreSQL and not root: the PostgreSQL tests will skip"
      return 0
    fi
  fi
  [ -z "$bin" ] && bin="$(dirname "$(command -v pg_ctl)")"
  # spotzee_pg_as runs a command as the cluster owner: postgres when we are root (initdb
  # refuses root), ourselves otherwise.
  spotzee_pg_as() {
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$@"
    else
      "$@"
    fi
  }
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$dir" && chown postgres: "$dir" && chmod 700 "$dir"
  else
    mkdir -p "$dir" && chmod 700 "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    spotzee_pg_as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      spotzee_pg_as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log"
      return 1
    }
  fi
  if spotzee_pg_as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "ci-postgres: cluster in $dir already running"
  else
    spotzee_pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-k /tmp -p $port -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start || {
      cat "$dir/server.log"
      return 1
    }
  fi
  spotzee_pg_as "$bin/psql" -h /tmp -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'spotzee_test'" | grep -q 1 ||
    spotzee_pg_as "$bin/createdb" -h /tmp -p "$port" -U postgres spotzee_test || return 1
  export SPOTZEE_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/spotzee_test?sslmode=disable"
  echo "ci-postgres: SPOTZEE_TEST_POSTGRES_DSN=$SPOTZEE_TEST_POSTGRES_DSN"
}

spotzee_pg_setup
