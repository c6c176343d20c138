#!/usr/bin/env bash
# Build the seven functions with `sam build` (BuildMethod rust-cargolambda: `cargo lambda build
# --release` per function, in the workspace, into the workspace's target/), then check that
# .aws-sam/build/<Function>/bootstrap exists for every function and is an ELF binary for the
# architecture built for.
#
#   scripts/sam-build.sh [extra sam build options]
#
# SAM_BUILD_DIR (default .aws-sam/build, what sam deploy deploys) builds elsewhere: make sam-local
# builds for this machine's architecture into .aws-sam/local, so it never replaces the build a
# deploy would ship. SAM_BUILD_MODE=debug (read by sam build itself) builds without --release.
#
# Architecture: arm64 when this machine's Rust toolchain has (or can fetch) the
# aarch64-unknown-linux-gnu target, else x86_64 (scripts/tools.sh arch; LAMBDA_ARCHITECTURE=x86_64
# forces it). The template's Architecture parameter is passed to sam build, which honours it,
# and the built template (.aws-sam/build/template.yaml, what sam deploy deploys) is then pinned to
# that architecture, so a later `sam deploy` cannot pair these binaries with another one (sam
# deploy would otherwise reuse the stack's previous Architecture value).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh
arch=$(scripts/tools.sh arch)

# sam, cargo-lambda and python3 (with the ziglang package, which cargo-lambda runs as
# `python3 -m ziglang` to link for Lambda's glibc) come from the repo's venv.
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0

build_dir=${SAM_BUILD_DIR:-.aws-sam/build}
profile="release, fat LTO: a clean build takes a while"
if [ "${SAM_BUILD_MODE:-}" = debug ]; then profile="debug"; fi

expected=$(grep -c 'BuildMethod: rust-cargolambda' template.yaml)
echo "sam build: $expected functions for $arch into $build_dir ($profile)" >&2

start=$(date +%s)
sam build --build-dir "$build_dir" --parameter-overrides "Architecture=$arch" "$@"
elapsed=$(($(date +%s) - start))

# Pin the built template to the architecture just built.
.venv/bin/python - "$arch" "$build_dir/template.yaml" <<'EOF'
import sys
from samcli.yamlhelper import yaml_dump, yaml_parse

arch, path = sys.argv[1:]
with open(path) as f:
    template = yaml_parse(f.read())
template.setdefault("Globals", {}).setdefault("Function", {})["Architectures"] = [arch]
for resource in template.get("Resources", {}).values():
    if resource.get("Type") == "AWS::Serverless::Function":
        # Globals lists are appended to, not replaced by, a function's own list.
        resource.get("Properties", {}).pop("Architectures", None)
with open(path, "w") as f:
    f.write(yaml_dump(template))
EOF

case "$arch" in
arm64) want_machine=183 ;; # EM_AARCH64
x86_64) want_machine=62 ;; # EM_X86_64
esac

shopt -s nullglob
binaries=("$build_dir"/*/bootstrap)
status=0
echo "built in ${elapsed}s:"
for bin in "${binaries[@]}"; do
  magic=$(od -An -tx1 -N4 "$bin" | tr -d ' \n')
  machine=$(od -An -tu2 -j18 -N2 "$bin" | tr -d ' \n')
  size=$(stat -c %s "$bin")
  printf '  %-50s %9d bytes (%s KiB)\n' "$bin" "$size" "$((size / 1024))"
  if [ "$magic" != 7f454c46 ] || [ "$machine" != "$want_machine" ]; then
    echo "error: $bin is not an ELF binary for $arch (e_machine $machine)" >&2
    status=1
  fi
done
if [ "${#binaries[@]}" -ne "$expected" ]; then
  echo "error: expected $expected bootstrap files under $build_dir/*/, found ${#binaries[@]}" >&2
  status=1
fi
if [ "$arch" = x86_64 ]; then
  echo "note: built for x86_64; $build_dir/template.yaml is pinned to x86_64" >&2
fi
exit "$status"
