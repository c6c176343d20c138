#!/usr/bin/env bash
# The smoke test after a deploy: reads only, and writes nothing even if it fails.
#
#   scripts/smoke.sh BASE_URL [READ_ONLY_TOKEN]
#
# - GET /ready answers 200: the function is up and reaches its table;
# - GET /payments?limit=1 answers 200 with a page (with the token: through the JWT authorizer,
#   which also checks the read scope);
# - with a token, POST /payments with it answers 403: a read-only token cannot move money. The
#   body is empty, so a stack that failed to check the scope would answer 4xx from the
#   function, never create a payment.
set -euo pipefail
base=${1:?usage: scripts/smoke.sh BASE_URL [READ_ONLY_TOKEN]}
token=${2:-}
base=${base%/}
auth=()
if [ -n "$token" ]; then auth=(-H "Authorization: Bearer $token"); fi

body=$(mktemp)
trap 'rm -f "$body"' EXIT
failed=0
check() { # expected-status description curl-args...
  local expected=$1 what=$2
  shift 2
  local status
  status=$(curl --silent --output "$body" --write-out '%{http_code}' --max-time 20 "$@") || status=000
  if [ "$status" = "$expected" ]; then
    echo "smoke: $what: $status"
  else
    echo "smoke: $what: $status, expected $expected: $(head -c 300 "$body")" >&2
    failed=1
  fi
}

check 200 "GET /ready" "$base/ready"
check 200 "GET /payments?limit=1" "${auth[@]}" -H "Accept: application/json" "$base/payments?limit=1"
if ! python3 -c 'import json, sys; assert isinstance(json.load(open(sys.argv[1]))["data"], list)' "$body" 2>/dev/null; then
  echo "smoke: GET /payments?limit=1 did not answer a page" >&2
  failed=1
fi
if [ -n "$token" ]; then
  check 403 "POST /payments with the read-only token" -X POST "${auth[@]}" \
    -H "Content-Type: application/json" --data '' "$base/payments"
fi
exit "$failed"
