# Fuzzing of the reference server (robustness/, see its package doc): every
# Fuzz* target in turn, each for FUZZTIME. A failing input is written to
# robustness/testdata/fuzz/<target>/: keep it, it becomes a regression seed
# that plain `go test ./robustness/` runs.
#
# FUZZFLAGS caps the minimization of each new interesting input at 1 s: one
# input costs about 1 ms, and Go's default (60 s, quadratic in the input's
# length) can spend a whole short run minimizing a single cursor or body.
# FUZZFLAGS= restores the default. FUZZTIME may be a count (FUZZTIME=20000x):
# Go 1.26 can fail a duration-bounded run with a bare "context deadline
# exceeded" and no input (golang/go#75804, fixed in Go 1.27); a count cannot.
GO ?= go
FUZZTIME ?= 10s
FUZZFLAGS ?= -fuzzminimizetime=1s
FUZZ_TARGETS = $(shell grep -ho '^func Fuzz[A-Za-z0-9_]*' robustness/*_test.go | sed 's/^func //' | sort -u)

.PHONY: fuzz

fuzz: ## run every robustness fuzz target for FUZZTIME each (default 10s; go test flags in FUZZFLAGS)
	@test -n '$(FUZZ_TARGETS)' || { echo 'fuzz: no Fuzz* targets in robustness/' >&2; exit 1; }
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test -run=NONE -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) $(FUZZFLAGS) ./robustness/; \
	done
