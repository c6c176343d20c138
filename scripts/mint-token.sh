#!/usr/bin/env bash
# Prints a fresh access token from an OAuth 2.0 token endpoint (client credentials grant), for
# the pipeline's end-to-end and smoke tests: tokens expire (Cognito's within a day), so a stored
# one would make those steps fail on their own.
#
#   TOKEN_URL=https://<domain>.auth.<region>.amazoncognito.com/oauth2/token \
#   CLIENT_ID=... CLIENT_SECRET=... scripts/mint-token.sh "payments/read payments/write"
#
# The client must be allowed the scopes asked for, and its tokens must carry the organisation
# claim (README, "Deploying": with Cognito, a pre token generation trigger adds it).
set -euo pipefail
scopes=${1:?usage: scripts/mint-token.sh "<scope> [<scope>...]"}
: "${TOKEN_URL:?TOKEN_URL: the token endpoint}" "${CLIENT_ID:?CLIENT_ID}" "${CLIENT_SECRET:?CLIENT_SECRET}"

answer=$(curl --silent --show-error --fail-with-body --max-time 20 \
  --user "$CLIENT_ID:$CLIENT_SECRET" \
  --data grant_type=client_credentials --data-urlencode "scope=$scopes" \
  "$TOKEN_URL") || { echo "mint-token: $TOKEN_URL refused: $answer" >&2; exit 1; }
python3 -c '
import json, sys
answer = json.loads(sys.argv[1])
token = answer.get("access_token")
if not token:
    sys.exit("mint-token: no access_token in the answer: " + ", ".join(sorted(answer)))
print(token)
' "$answer"
