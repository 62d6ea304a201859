#!/usr/bin/env bash
# Shows that check-generated catches a hand edit: copies the module, edits a
# *.gen.go file in the copy, and expects check-generated to fail there.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar --exclude=./.git --exclude=./bin -cf - . | tar -xf - -C "$tmp"
sed -i 's/^package client$/package client\n\n\/\/ a hand edit/' "$tmp/client/client.gen.go"
if (cd "$tmp" && bash scripts/check-generated.sh >/dev/null 2>&1); then
  echo "check-generated-negative: a hand edit of client.gen.go was NOT detected" >&2
  exit 1
fi
echo "check-generated-negative: a hand edit of client.gen.go is detected"
