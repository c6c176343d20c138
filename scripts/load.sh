#!/usr/bin/env bash
# `make load`: the load run against a local stack of its own. Starts `make dev` in memory on
# free ports (as `make test` does for its end-to-end step), builds the load tool, runs it, and
# stops the stack however the run ends. Debug functions under `cargo lambda watch` on this
# machine: the figures compare changes to this code, they are not what Lambda would do.
#
#   LOAD_CLIENTS (default 16) and LOAD_SECONDS (default 20) size the run.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=${LOAD_CLIENTS:-16}
seconds=${LOAD_SECONDS:-20}

scripts/tools.sh
mkdir -p .run

echo "== building the load tool"
cargo build --quiet --locked -p dev-tools --bin load

api_port=$(scripts/free-port.sh)
dynamodb_port=$(scripts/free-port.sh)
stack_pid=
stop() {
  if [ -n "$stack_pid" ]; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
}
trap stop EXIT

echo "== local stack on http://127.0.0.1:$api_port (log: .run/load-stack.log)"
API_PORT=$api_port DYNAMODB_PORT=$dynamodb_port DEV_IN_MEMORY=1 DEV_IGNORE_CHANGES=1 RUST_LOG=${RUST_LOG:-warn} \
  scripts/dev.sh >.run/load-stack.log 2>&1 &
stack_pid=$!
scripts/wait-for-stack.sh "$stack_pid" "http://127.0.0.1:$api_port" .run/load-stack.log

echo "== load: $clients clients for $seconds s"
target/debug/load --clients "$clients" --seconds "$seconds" --base-url "http://127.0.0.1:$api_port"
