# Performance: benchmarks and the load generator (see docs/performance.md).
# The figures are ratios measured within one run: on a shared, noisy
# machine absolute times vary from run to run.

BENCH ?= .
BENCHTIME ?= 1s
BENCHCOUNT ?= 1
LOAD_CONNS ?= 16

.PHONY: bench load

bench: ## run the benchmarks with -benchmem; prints ratio tables and targets (~2 min)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -timeout 30m ./bench/

load: ## load-test the reference server: 1000 keys, then 100,000 keys (~70 s on 2 cores)
	$(GO) run ./cmd/spotzee-load -c $(LOAD_CONNS) -d 7s -keys 1000
	$(GO) run ./cmd/spotzee-load -c $(LOAD_CONNS) -d 4s -keys 100000 -bare=false
