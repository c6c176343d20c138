#!/usr/bin/env bash
# `make test-sam`: the service as deployed, tested on this machine. Builds the functions with
# `sam build` for this machine's architecture, starts `make sam-local` (sam local start-api, the
# Lambda Runtime Interface Emulator, DynamoDB Local in memory) on free ports, and runs against it:
#   - the end-to-end suite in tests/ (hostile bodies included),
#   - Schemathesis (scripts/schemathesis.sh), excusing only SAM's own 502 to a body that is not
#     UTF-8 (counted in its summary),
#   - the README's `sam local invoke` replays and one fixture per function through
#     `sam local invoke` (scripts/replay-check.py), expected status, headers and body checked,
# then stops the stack and checks that nothing it started is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
stage() { echo "== test-sam: $* ($(($(date +%s) - started)) s)"; }

scripts/tools.sh
mkdir -p .run
export PATH="$PWD/.venv/bin:$PATH"

case "$(uname -m)" in
aarch64 | arm64) arch=arm64 ;;
*) arch=x86_64 ;;
esac

stage "sam build for $arch into .aws-sam/local"
SAM_BUILD_DIR=.aws-sam/local LAMBDA_ARCHITECTURE=$arch scripts/sam-build.sh

sam_port=$(scripts/free-port.sh)
dynamodb_port=$(scripts/free-port.sh)
base_url=http://127.0.0.1:$sam_port
log=.run/test-sam-stack.log
stack_pid=
cleanup() {
  if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

stage "make sam-local on $base_url (DynamoDB Local in memory on $dynamodb_port; log: $log)"
SAM_PORT=$sam_port DYNAMODB_PORT=$dynamodb_port DEV_IN_MEMORY=1 SAM_SKIP_BUILD=1 \
  SAM_LOG_LEVEL=${SAM_LOG_LEVEL:-WARN} scripts/sam-local.sh >"$log" 2>&1 &
stack_pid=$!
scripts/wait-for-stack.sh "$stack_pid" "$base_url" "$log"
cat "$log"

stage "end-to-end suite against $base_url"
BASE_URL=$base_url E2E_STACK=sam-local cargo test --locked -p e2e

stage "sam local invoke: the README's replays and one fixture per function"
# The README writes its walkthrough for make dev (API_PORT) and its invokes for make sam-local.
API_PORT=$sam_port SAM_PORT=$sam_port DYNAMODB_PORT=$dynamodb_port .venv/bin/python scripts/replay-check.py sam-local

stage "Schemathesis against $base_url"
SCHEMATHESIS_STACK=sam-local scripts/schemathesis.sh "$base_url"

stage "stopping the stack"
kill -TERM "$stack_pid"
wait "$stack_pid" || true
stack_pid=
tail -n 3 "$log"
# What sam-local started names one of these ports, or its private engine's directory.
engine_dir=$(grep -o '/tmp/payments-engine\.[A-Za-z0-9]*' "$log" | head -n 1 || true)
left=$(pgrep -af "port $sam_port|:$sam_port|port $dynamodb_port|:$dynamodb_port${engine_dir:+|$engine_dir}" | grep -v pgrep || true)
if [ -n "$engine_dir" ] && { [ -e "$engine_dir" ] || grep -q "$engine_dir" /proc/mounts; }; then
  left+="${left:+$'\n'}$engine_dir (still there, or mounted)"
fi
if [ -n "$left" ] || (exec 3<>"/dev/tcp/127.0.0.1/$sam_port") 2>/dev/null ||
  (exec 3<>"/dev/tcp/127.0.0.1/$dynamodb_port") 2>/dev/null; then
  echo "error: the stack left something running:" >&2
  echo "$left" >&2
  exit 1
fi
stage "passed; nothing left running"
