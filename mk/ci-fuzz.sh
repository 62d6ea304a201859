#!/usr/bin/env bash
# CI: run each robustness fuzz target for 3,000 executions, one at a time,
# after the tests (which already run every seed corpus), so the run stays
# bounded: 7 targets, 1–8 s each on the 2-core machine (365–4,900 execs/s).
# The budgets are counts, not durations: with a duration (-fuzztime=5s) Go
# 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" and no input when a worker is mid-execution at the deadline
# (golang/go#75804, fixed in Go 1.27; it failed FuzzSpotzeeVersion once on
# 2026-11-29 and passed on five reruns). A count has no deadline to race.
# -fuzzminimizetime=200x keeps Go's minimization of new inputs (60 s by
# default) short, by count too. A failure leaves its input in
# robustness/testdata/fuzz/<target>/ and fails the build.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' robustness/*_test.go | sed 's/^func //' | sort -u)
if [ -z "$targets" ]; then
  echo "ci-fuzz: no Fuzz* targets in robustness/" >&2
  exit 1
fi
for t in $targets; do
  echo "ci-fuzz: $t"
  go test -run=NONE -fuzz="^${t}\$" -fuzztime=3000x -fuzzminimizetime=200x ./robustness/
done
echo "ci-fuzz: all fuzz targets passed"
