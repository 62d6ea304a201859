#!/usr/bin/env bash
# CI: the README's CLI session, run for real (about 10 s once the build is
# cached): `go install` into a temporary GOBIN put first on PATH, `spotzee-keys
# --help`, a `serve --db :memory:` on a free port, then the README's `keys`
# commands against it, each one's exit status and output checked. Last,
# `make run` is stopped with SIGTERM to make, and the server must be gone
# with it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "ci-readme: $*" >&2
  for f in "$work"/*.out "$work"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }; done
  exit 1
}

# wait_for FILE ERE: waits up to 30 s for a line of FILE matching ERE and
# prints the first match.
wait_for() {
  for _ in $(seq 300); do
    if grep -Eo "$2" "$1" 2>/dev/null | head -n1 | grep .; then return 0; fi
    sleep 0.1
  done
  fail "no /$2/ in $1"
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# On your PATH.
export GOBIN="$work/bin"
go install ./cmd/spotzee-keys
export PATH="$GOBIN:$PATH"
[ "$(command -v spotzee-keys)" = "$GOBIN/spotzee-keys" ] || fail "spotzee-keys is not the one go install wrote"
spotzee-keys --help >help.out 2>&1 || fail "spotzee-keys --help failed"
grep -q '^commands:' help.out || fail "--help prints no commands"
rm -f help.out

# A throw-away reference server.
cd "$work"
spotzee-keys serve --addr 127.0.0.1:0 --db :memory: --bootstrap-key-file admin.key >serve.out 2>serve.err &
pids+=($!)
base=$(wait_for serve.out 'http://127\.0\.0\.1:[0-9]+/api/client')
export SPOTZEE_BASE_URL=$base
SPOTZEE_API_KEY="$(cat admin.key)"
export SPOTZEE_API_KEY
[ -z "$(ls "$work" | grep -v -x -e bin -e admin.key -e serve.out -e serve.err)" ] || fail "serve --db :memory: wrote files"

spotzee-keys keys list >list.out 2>list.err || fail "keys list failed"
grep -Eq '^ID +NAME +SCOPE +ROLE +VALUE +CREATED +DESCRIPTION$' list.out || fail "keys list: no table header"
grep -Eq '^2 +Bootstrap admin key +secret +admin +sk_\*\*\*\*' list.out || fail "keys list: no admin key"
grep -Eq '^1 +SMTP proxy +secret +smtpproxy +sk_\*\*\*\*' list.out || fail "keys list: no system key"

spotzee-keys keys create --name billing --role editor >create.out 2>create.err || fail "keys create failed"
grep -q 'WARNING: this is the only time the full value of key 3 is shown' create.err || fail "keys create: no warning"
grep -Eq '^VALUE +sk_[0-9A-HJKMNP-TV-Z]{26}$' create.out || fail "keys create: no full value"
grep -Eq '^ROLE +editor$' create.out || fail "keys create: wrong role"

spotzee-keys keys update 3 --description "invoices job" >update.out 2>update.err || fail "keys update failed"
grep -Eq '^DESCRIPTION +invoices job$' update.out || fail "keys update: description not set"
grep -Eq '^VALUE +sk_\*\*\*\*' update.out || fail "keys update: value not masked"

spotzee-keys keys revoke 3 >revoke.out 2>revoke.err || fail "keys revoke failed"
grep -Eq '^Revoked key 3 at ' revoke.out || fail "keys revoke: unexpected output"

set +e
spotzee-keys keys get 3 >get.out 2>get.err
rc=$?
set -e
[ "$rc" = 1 ] || fail "keys get of a revoked key: exit $rc, want 1"
grep -Eq '^spotzee-keys: 404 resource_missing: .*\(request_id req_' get.err || fail "keys get: unexpected error line"

# make run: SIGTERM to make stops the server it started.
cd "$repo"
make --no-print-directory run ADDR=127.0.0.1:0 DB="$work/run.db" >"$work/run.out" 2>"$work/run.err" &
make_pid=$!
pids+=("$make_pid")
port=$(wait_for "$work/run.out" 'http://127\.0\.0\.1:[0-9]+/api/client' | sed -E 's|.*:([0-9]+)/.*|\1|')
port_open "$port" || fail "make run: nothing listens on $port"
kill -TERM "$make_pid"
wait "$make_pid" 2>/dev/null || true
for _ in $(seq 100); do
  port_open "$port" || break
  sleep 0.1
done
port_open "$port" && fail "make run: the server still listens on $port after SIGTERM to make"
echo "ci-readme: README commands passed"
