#!/usr/bin/env bash
# Waits until the local stack started by scripts/dev.sh (process PID, log LOG) answers
# GET BASE_URL/alive. The first request to a function compiles it, so this allows 10 minutes.
# Fails, printing the stack's log, if the stack exits or never answers.
#
#   scripts/wait-for-stack.sh PID BASE_URL LOG
set -euo pipefail
pid=${1:?usage: wait-for-stack.sh PID BASE_URL LOG}
base_url=${2:?usage: wait-for-stack.sh PID BASE_URL LOG}
log=${3:?usage: wait-for-stack.sh PID BASE_URL LOG}

for _ in $(seq 1 600); do
  if curl -sf -o /dev/null "$base_url/alive"; then exit 0; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "error: the local stack exited; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 1
done
echo "error: the local stack did not answer $base_url/alive within 10 minutes; its log:" >&2
cat "$log" >&2
exit 1
