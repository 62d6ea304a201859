# Spec change workflow (see docs/spec-changes.md): lint openapi.yaml, gate
# breaking changes against a git ref, compare with Spotzee's published spec.
SPEC_CLI = $(GO) run ./cmd/spotzee-spec
BASE ?= HEAD~1

.PHONY: lint-spec breaking compare-upstream

lint-spec: ## lint openapi.yaml: kin-openapi validation plus the house rules
	$(SPEC_CLI) lint openapi.yaml

breaking: ## breaking changes of openapi.yaml against git ref BASE (default HEAD~1)
	$(SPEC_CLI) breaking --base '$(BASE)' --spec openapi.yaml --changelog CHANGELOG.md

compare-upstream: ## diff openapi.yaml against Spotzee's published spec: SPEC=openapi.json
	@if [ -z '$(SPEC)' ]; then \
		echo 'compare-upstream: set SPEC to a download of https://apix.spotzee.com/api/openapi.json, e.g. make compare-upstream SPEC=openapi.json' >&2; \
		exit 2; \
	fi
	$(SPEC_CLI) compare-upstream --spec '$(SPEC)' --ours openapi.yaml
