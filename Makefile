# spotzee-keys: run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
ADDR ?= 127.0.0.1:8080
DB ?= spotzee-keys.db
PROFILE ?= rollout

.PHONY: help generate check-generated test vet build run tidy

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

generate: ## regenerate client/ and server/ from openapi.yaml
	$(GO) generate ./...

check-generated: ## fail if generated code or go.mod/go.sum drift from the spec
	bash scripts/check-generated.sh

test: ## run every test with the race detector
	$(GO) test -race -count=1 ./...

vet: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; exit 1; }
	$(GO) vet ./...

build: ## build the spotzee-keys binary into bin/
	$(GO) build -o bin/spotzee-keys ./cmd/spotzee-keys

# run builds the binary and execs it in the recipe's shell, so the server is
# make's own child: a signal to make (SIGTERM, or SIGINT from the terminal)
# reaches it, and it shuts down instead of being orphaned as `go run`'s
# grandchild was.
run: build ## build, then run the reference server on the embedded SQLite default (PROFILE=current for today's Spotzee)
	exec ./bin/spotzee-keys serve --addr $(ADDR) --db $(DB) --profile $(PROFILE)

tidy: ## go mod tidy
	$(GO) mod tidy

-include mk/*.mk
