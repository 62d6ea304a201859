#!/usr/bin/env bash
# CI: run each robustness fuzz target for 5 s, one at a time, after the tests
# (which already run every seed corpus), so the run stays bounded: 7 targets,
# about 50 s once the fuzz build is cached. -fuzzminimizetime=1s keeps Go's
# minimization of new inputs (60 s by default) from eating the 5 s. A
# failure leaves its input in robustness/testdata/fuzz/<target>/ and fails
# the build.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' robustness/*_test.go | sed 's/^func //' | sort -u)
if [ -z "$targets" ]; then
  echo "ci-fuzz: no Fuzz* targets in robustness/" >&2
  exit 1
fi
for t in $targets; do
  echo "ci-fuzz: $t"
  go test -run=NONE -fuzz="^${t}\$" -fuzztime=5s -fuzzminimizetime=1s ./robustness/
done
echo "ci-fuzz: all fuzz targets passed"
