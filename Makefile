# ddq developer entry points. `make test` is what CI runs (.ci/run); `make demo` is the local demo.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

DDQ_CACHE ?= $(HOME)/.cache/ddq
export DDQ_CACHE

.PHONY: help setup tools fmt lint typecheck test unit build proto crd-docs demo bench chart-crds kind-e2e clean distclean

help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install Debian packages, npm dependencies and the pinned Kubernetes tools (cached).
	tools/setup.sh

tools: ## Build (or reuse) only the pinned kube-apiserver, kubectl, etcd, helm and actionlint.
	tools/k8s/build.sh

fmt: setup ## Format all sources (prettier, eslint --fix).
	npm run --silent fmt

lint: setup ## ESLint (type-aware), prettier --check, tsc --noEmit, buf lint + breaking + generated code fresh.
	npm run --silent lint
	tools/proto.sh check

proto: setup ## Regenerate proto/gen (TypeScript for the gRPC contract) and check it: lint, breaking changes.
	tools/proto.sh generate
	tools/proto.sh check

test: setup lint ## Everything CI checks: set-up, lint, then all tests against real Redis and Kubernetes.
	npx vitest run

build: setup ## Compile TypeScript to dist/ (the `ddq` CLI).
	npm run --silent build

crd-docs: setup ## Regenerate docs/CRD_REFERENCE.md from the CRD schemas in crds/ (a test checks it is current).
	npx tsx tools/crd-docs.ts

demo: setup ## Local demo: Redis + control plane + ddq with real custom resources firing (DEMO_ARGS="--cycles 3" to stop on its own).
	node --import tsx tools/demo/demo.ts $(DEMO_ARGS)

bench: setup ## Engine, cron and end-to-end (gRPC) benchmarks vs BullMQ on fresh local redis-servers (bench/results/*.json).
	npx tsx bench/engine.ts
	npx tsx bench/cron.ts
	npx tsx bench/e2e.ts

chart-crds: ## Copy crds/*.yaml into the Helm chart's crds/ (a test fails when they differ).
	rm -f charts/ddq/crds/*.yaml
	shopt -s nullglob; files=(crds/*.yaml); [ $${#files[@]} -eq 0 ] || cp "$${files[@]}" charts/ddq/crds/

kind-e2e: ## End to end on kind (needs Docker and kind): build the image, install the chart, run a DelayedTask.
	tools/kind-e2e.sh

clean: ## Remove build output (keeps node_modules and the tool cache).
	rm -rf dist coverage

distclean: clean ## Also remove node_modules and the cached Kubernetes tools.
	rm -rf node_modules "$(DDQ_CACHE)"
