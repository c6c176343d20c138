#!/usr/bin/env bash
# `make capacity`: DynamoDB capacity per API operation, measured on the repository's own calls
# against DynamoDB Local (a free port, stopped on exit), index writes included, and the
# capacity model: where the write units of a workload land (the busiest table and list-index
# partition keys) and what a page of the list costs, for organisations with and without
# shards. Prints figures; never fails on one.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh
cargo build --locked -p bench --bin bench
dynamodb_port=$(scripts/free-port.sh)
trap 'scripts/dynamodb-local.sh stop "$dynamodb_port"' EXIT
scripts/dynamodb-local.sh start "$dynamodb_port"
target/debug/bench capacity --endpoint "http://127.0.0.1:$dynamodb_port"
