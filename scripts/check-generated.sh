#!/usr/bin/env bash
# Regenerates the code from openapi.yaml and fails if it differs from the
# committed generated files (*.gen.go, *_gen_test.go, *.gen.tmpl), or if
# go.mod/go.sum are not tidy. Works in any
# copy of the module (no git needed). Leaves the regenerated files in place.
set -euo pipefail
cd "$(dirname "$0")/.."
generated() {
  find . \( -name '*.gen.go' -o -name '*_gen_test.go' -o -name '*.gen.tmpl' \) -not -path './.git/*' | sort
}
mapfile -t files < <(generated)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${files[@]}"; do
  mkdir -p "$tmp/$(dirname "$f")"
  cp "$f" "$tmp/$f"
done
go generate ./...
status=0
for f in "${files[@]}"; do
  if ! cmp -s "$f" "$tmp/$f"; then
    echo "check-generated: $f differs from what openapi.yaml generates:" >&2
    diff -u "$tmp/$f" "$f" | head -40 >&2 || true
    status=1
  fi
done
if [ "$(generated)" != "$(printf '%s\n' "${files[@]}")" ]; then
  echo "check-generated: go generate produced a different set of generated files" >&2
  status=1
fi
if ! go mod tidy -diff >&2; then
  echo "check-generated: go.mod/go.sum are not tidy (run: go mod tidy)" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "check-generated: generated code matches openapi.yaml"
exit "$status"
