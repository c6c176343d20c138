#!/usr/bin/env bash
# `make dev`: the whole API on this machine, without Docker. DynamoDB Local keeps its data in
# .dynamodb/ (payments survive a restart), the table is created if absent, and
# `cargo lambda watch` serves every route of the workspace router on http://127.0.0.1:$API_PORT,
# rebuilding a function when its code changes. Ctrl-C (or SIGTERM) stops everything this started.
#
# DEV_IN_MEMORY=1 keeps nothing on disk, and DEV_IGNORE_CHANGES=1 keeps functions running when
# files change: `make test` and `make load` run against such a stack, on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

API_PORT=${API_PORT:-9000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
TABLE_NAME=${TABLE_NAME:-payments}
# A fixed development organisation, so data made in one session is listed in the next.
DEV_ORGANISATION_ID=${DEV_ORGANISATION_ID:-00000000-0000-4000-8000-000000000001}
lock=.run/dev-$API_PORT.pid

mkdir -p .run
if [ -f "$lock" ] && kill -0 "$(cat "$lock")" 2>/dev/null; then
  echo "error: make dev is already running (pid $(cat "$lock")). Stop it with Ctrl-C first," >&2
  echo "       or run a second stack on other ports: API_PORT=9100 DYNAMODB_PORT=8100 make dev" >&2
  exit 1
fi
for port in "$API_PORT" "$DYNAMODB_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is already in use. Choose others: API_PORT=... DYNAMODB_PORT=... make dev" >&2
    exit 1
  fi
done
echo $$ >"$lock"

scripts/tools.sh
# shellcheck disable=SC1091
source .venv/bin/activate

watch_pid=
stop() {
  trap - EXIT INT TERM
  if [ -n "$watch_pid" ]; then
    # cargo lambda watch runs the functions as its children: stop the whole group.
    kill -TERM -- "-$watch_pid" 2>/dev/null || kill -TERM "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  scripts/dynamodb-local.sh stop "$DYNAMODB_PORT"
  rm -f "$lock"
  echo "make dev: stopped"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

data_in=.dynamodb/
if [ -n "${DEV_IN_MEMORY:-}" ]; then
  data_in="memory only"
  scripts/dynamodb-local.sh start "$DYNAMODB_PORT"
else
  scripts/dynamodb-local.sh start "$DYNAMODB_PORT" .dynamodb
fi
export TABLE_NAME DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"
cargo run --quiet -p dev-tools --bin create-table

cat <<MSG

  Payments API: http://127.0.0.1:$API_PORT   (AUTH_MODE=none, organisation $DEV_ORGANISATION_ID)
  DynamoDB Local: $DYNAMODB_ENDPOINT, table $TABLE_NAME, data in $data_in

  Try:
    curl -s http://127.0.0.1:$API_PORT/payments -H 'Content-Type: application/json' \\
      -d @docs/payment-request.json

  Functions compile on their first request. Ctrl-C stops everything.

MSG

# set -m gives cargo lambda watch its own process group, so stop() reaches its children.
set -m
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT" ${DEV_IGNORE_CHANGES:+--ignore-changes} \
  --env-var "TABLE_NAME=$TABLE_NAME" \
  --env-var "DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT" \
  --env-var "AUTH_MODE=none" \
  --env-var "DEFAULT_ORGANISATION_ID=$DEV_ORGANISATION_ID" \
  --env-var "RUST_LOG=${RUST_LOG:-info}" &
watch_pid=$!
set +m
wait "$watch_pid"
