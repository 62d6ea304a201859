#!/usr/bin/env bash
# CI: breaking-change gate of openapi.yaml against the previous commit.
# (The lint runs inside `make test`.) Needs history: without a previous commit
# (first commit, shallow clone, no .git) the gate is skipped, never failed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v git >/dev/null 2>&1; then
  echo "ci-spec: git not installed: breaking-change check skipped"
  exit 0
fi
if ! git rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null 2>&1; then
  echo "ci-spec: no previous commit available (first commit or shallow clone): breaking-change check skipped"
  exit 0
fi
make --no-print-directory breaking BASE=HEAD~1
echo "ci-spec: breaking-change check passed"
