# Performance: benchmarks and the load generator (see docs/performance.md).
# The figures are ratios measured within one run: on a shared, noisy
# machine absolute times vary from run to run.

BENCH ?= .
BENCHTIME ?= 1s
BENCHCOUNT ?= 1
LOAD_CONNS ?= 16
# The comparison's load generator: auto uses wrk when it is installed (the
# issue's baseline was measured with wrk -t1 -c16), else the Go generator.
LOAD_GEN ?= auto

.PHONY: bench load

bench: ## run the benchmarks with -benchmem; prints ratio tables and targets (~2 min)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -timeout 30m ./bench/

load: ## ratios to a bare handler (reference server, rate limits, embedding stack, ogen peer, Prism), then the 1,000/100,000-key load (~4 min on 2 cores)
	$(GO) run ./cmd/spotzee-load -compare all -gen $(LOAD_GEN) -c $(LOAD_CONNS) -d 4s -keys 1000
	$(GO) run ./cmd/spotzee-load -c $(LOAD_CONNS) -d 7s -keys 1000
	$(GO) run ./cmd/spotzee-load -c $(LOAD_CONNS) -d 4s -keys 100000 -bare=false
