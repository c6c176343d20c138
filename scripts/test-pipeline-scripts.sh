#!/usr/bin/env bash
# The pipeline's own scripts, tested where make test can: scripts/smoke.sh against the local
# stack (it passes) and against nothing (it fails), and scripts/mint-token.sh against a token
# endpoint on loopback (the right client gets its token, a wrong secret an error).
#
#   scripts/test-pipeline-scripts.sh BASE_URL    (scripts/test.sh, with the make dev stack)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/test-pipeline-scripts.sh BASE_URL}

scripts/smoke.sh "$base"
if scripts/smoke.sh "http://127.0.0.1:9" 2>/dev/null; then
  echo "test-pipeline-scripts: smoke.sh passed against nothing" >&2
  exit 1
fi

port=$(scripts/free-port.sh)
python3 - "$port" <<'PY' &
import base64, json, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

class TokenEndpoint(BaseHTTPRequestHandler):
    def do_POST(self):
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        good = self.headers.get("Authorization") == "Basic " + base64.b64encode(b"client:secret").decode()
        if good and form.get("grant_type") == ["client_credentials"]:
            body = {"access_token": "token-for " + form["scope"][0], "token_type": "Bearer"}
            self.send_response(200)
        else:
            body = {"error": "invalid_client"}
            self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), TokenEndpoint).serve_forever()
PY
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

export TOKEN_URL="http://127.0.0.1:$port/oauth2/token" CLIENT_ID=client
token=$(CLIENT_SECRET=secret scripts/mint-token.sh "payments/read payments/write")
if [ "$token" != "token-for payments/read payments/write" ]; then
  echo "test-pipeline-scripts: mint-token.sh printed $token" >&2
  exit 1
fi
if CLIENT_SECRET=wrong scripts/mint-token.sh payments/read >/dev/null 2>&1; then
  echo "test-pipeline-scripts: mint-token.sh succeeded with a wrong secret" >&2
  exit 1
fi
echo "test-pipeline-scripts: smoke.sh and mint-token.sh behave"
