#!/usr/bin/env bash
# `make sam-local`: the API as it is deployed, on this machine. `sam build` compiles the functions
# for this machine's architecture into .aws-sam/local, DynamoDB Local starts (data in .dynamodb/,
# as with `make dev`) with the table, and `sam local start-api` serves every route of
# template.yaml on http://127.0.0.1:$SAM_PORT, each request run by the Lambda Runtime Interface
# Emulator in a container, with the environment of local/env.json. Ctrl-C (or SIGTERM) stops
# everything this started, containers included.
#
#   scripts/sam-local.sh              build, start, serve until stopped
#   scripts/sam-local.sh exec CMD...  run CMD (e.g. `sam local invoke ...`) against the container
#                                     engine of the running `make sam-local` on $SAM_PORT
#
# The container engine:
#   - Docker (or anything `docker info` answers for, DOCKER_HOST included) when one runs: SAM's
#     own images are pulled as usual.
#   - Otherwise a private one: Debian's docker.io, started in a network namespace of its own, so
#     the machine's network is never changed (its bridge and firewall rules exist only inside
#     the namespace). socat relays the API port out of it and DynamoDB Local into it. If its
#     packages are missing, root on Debian or Ubuntu installs them (docker.io, socat,
#     busybox-static); anyone else is told how to get an engine.
#   - Where SAM's base image (public.ecr.aws/lambda/provided:al2023-<arch>) cannot be pulled, a
#     stand-in is made: busybox and the C libraries the functions link, nothing else. It proves
#     the template, the routing, the emulator and the binaries; it is not Amazon Linux.
#
#   SAM_PORT (3000), DYNAMODB_PORT (8000)   ports on 127.0.0.1
#   DEV_IN_MEMORY=1      DynamoDB Local keeps nothing on disk
#   SAM_BUILD_MODE=debug debug binaries (faster to build, slower to run)
#   SAM_SKIP_BUILD=1     serve what .aws-sam/local already holds
#   SAM_LOG_LEVEL        the functions' log level (the template's LogLevel parameter, default INFO)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

SAM_PORT=${SAM_PORT:-3000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
build_dir=.aws-sam/local
env_file=local/env.json
state=.run/sam-$SAM_PORT
# The endpoint local/env.json names: DynamoDB Local as the containers see it.
container_dynamodb_port=8000
standin_repo=payments-local/lambda-standin

say() { echo "sam-local: $*" >&2; }
die() {
  echo "sam-local: error: $*" >&2
  exit 1
}

case "$(uname -m)" in
x86_64 | amd64) arch=x86_64 ;;
aarch64 | arm64) arch=arm64 ;;
*) die "unsupported machine architecture $(uname -m)" ;;
esac
base_image=public.ecr.aws/lambda/provided:al2023-$arch

# ------------------------------------------------------------------------------------------------
# exec: a command against the running stack's engine
# ------------------------------------------------------------------------------------------------
if [ "${1:-}" = exec ]; then
  shift
  [ $# -gt 0 ] || die "usage: scripts/sam-local.sh exec COMMAND [ARGS...]"
  [ -f "$state/engine.env" ] || die "no make sam-local runs on port $SAM_PORT (start it first, or set SAM_PORT)"
  # shellcheck disable=SC1091
  source "$state/engine.env"
  export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
  if [ -n "$DOCKER_HOST" ]; then export DOCKER_HOST; else unset DOCKER_HOST; fi
  args=("$@")
  # A stand-in image can only be used as it is: never let SAM try to pull it or the base.
  if [ "${1:-}" = sam ] && [ "${2:-}" = local ] && [ -n "$INVOKE_IMAGE" ]; then
    args+=(--skip-pull-image --invoke-image "$INVOKE_IMAGE")
  fi
  if [ -n "$NETNS" ]; then
    exec nsenter --net="$NETNS" "${args[@]}"
  fi
  exec "${args[@]}"
fi
[ $# -eq 0 ] || die "usage: scripts/sam-local.sh [exec COMMAND...]"

# ------------------------------------------------------------------------------------------------
# Before anything starts: ports and the engine's prerequisites
# ------------------------------------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$SAM_PORT" "$DYNAMODB_PORT"; do
  if port_busy "$port"; then
    die "port $port is already in use (another make sam-local or make dev?). Stop it, or choose other ports: SAM_PORT=3100 DYNAMODB_PORT=8100 make sam-local"
  fi
done
mkdir -p .run
if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
  die "make sam-local already runs on port $SAM_PORT (pid $(cat "$state/pid"))"
fi
rm -rf "$state"
mkdir -p "$state"
echo $$ >"$state/pid"

# ------------------------------------------------------------------------------------------------
# Teardown: whatever was started, in reverse order, however this ends
# ------------------------------------------------------------------------------------------------
mode=
docker_cli=docker
sam_pid=
dockerd_pid=
relay_pids=()
netns=
engine_dir=
dynamodb_started=
stop_pid() { # pid signal seconds
  local pid=$1 signal=$2 seconds=$3
  [ -n "$pid" ] || return 0
  kill "-$signal" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}
stop() {
  trap - EXIT INT TERM
  # Everything below is attempted, whatever fails.
  set +e
  say "stopping"
  # SAM removes its containers on SIGINT (Python's KeyboardInterrupt), not on SIGTERM; the
  # engine's own clean-up below covers a SAM that had to be killed.
  stop_pid "$sam_pid" INT 10
  if [ "$mode" = user ]; then
    # Any container SAM left of this build (an interrupted invoke, say).
    local leftovers
    leftovers=$(docker ps -aq --filter label=sam.cli.container.type=lambda \
      --filter "volume=$root/$build_dir" 2>/dev/null || true)
    if [ -n "$leftovers" ]; then
      # shellcheck disable=SC2086
      docker rm -f $leftovers >/dev/null 2>&1 || true
    fi
  fi
  if [ -n "$dockerd_pid" ]; then
    local containers
    containers=$("$docker_cli" ps -aq 2>/dev/null || true)
    if [ -n "$containers" ]; then
      # shellcheck disable=SC2086
      "$docker_cli" rm -f $containers >/dev/null 2>&1 || true
    fi
    stop_pid "$dockerd_pid" TERM 20
  fi
  for pid in "${relay_pids[@]}"; do stop_pid "$pid" TERM 2; done
  if [ -n "$netns" ]; then
    umount "$netns" 2>/dev/null || true
    rm -f "$netns"
  fi
  if [ -n "$engine_dir" ]; then
    # The engine stops its containerd and unmounts what it mounted when it stops; if it had to
    # be killed, end and unmount what is left before deleting.
    pkill -KILL -f "$engine_dir" 2>/dev/null || true
    grep -o " $engine_dir[^ ]*" /proc/mounts | sort -r | while read -r mount; do
      umount -l "$mount"
    done 2>/dev/null
    rm -rf "$engine_dir"
  fi
  if [ -n "$dynamodb_started" ]; then scripts/dynamodb-local.sh stop "$DYNAMODB_PORT"; fi
  rm -rf "$state"
  say "stopped"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


scripts/tools.sh
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0

user_docker() { docker info >/dev/null 2>&1; }

engine_packages_missing() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v socat >/dev/null || missing+=(socat)
  command -v busybox >/dev/null || missing+=(busybox-static)
  command -v unshare >/dev/null && command -v nsenter >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  echo "${missing[@]}"
}

install_engine_packages() {
  local missing=("$@")
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    cat >&2 <<MSG
sam-local: error: no container engine runs here, and one is needed to run the functions as
Lambda does. Either
  - start Docker (https://docs.docker.com/engine/install/; Docker Desktop on macOS and Windows)
    and run this again, or
  - as root on Debian or Ubuntu, run this again: it installs ${missing[*]} from the
    distribution's packages and runs a private engine in a network namespace of its own.
Or use make dev, which needs no container engine.
MSG
    exit 1
  fi
  say "no container engine runs here: installing ${missing[*]} (Debian packages) for a private one"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$state/apt.log" 2>&1; then
    apt-get update >>"$state/apt.log" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$state/apt.log" 2>&1 ||
      die "installing ${missing[*]} failed; see $state/apt.log"
  fi
}

mode=private
if user_docker; then
  mode=user
  say "container engine: the Docker that 'docker info' answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
else
  read -r -a missing <<<"$(engine_packages_missing)"
  if [ "${#missing[@]}" -gt 0 ]; then install_engine_packages "${missing[@]}"; fi
fi

# Background processes get process groups of their own, so that Ctrl-C reaches this script
# alone and stop() ends them in order (SAM first, so that it removes its containers).
set -m

# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------
if [ -n "${SAM_SKIP_BUILD:-}" ] && [ -f "$build_dir/template.yaml" ]; then
  say "SAM_SKIP_BUILD: serving the functions already in $build_dir"
else
  say "building the functions with sam build for $arch into $build_dir (a first build takes minutes)"
  SAM_BUILD_DIR=$build_dir LAMBDA_ARCHITECTURE=$arch scripts/sam-build.sh >"$state/build.log" 2>&1 ||
    {
      cat "$state/build.log" >&2
      die "sam build failed (log above)"
    }
  grep -E '^  \.aws-sam|^built in' "$state/build.log" >&2 || true
fi

# ------------------------------------------------------------------------------------------------
# DynamoDB Local and the table
# ------------------------------------------------------------------------------------------------
dynamodb_started=1
if [ -n "${DEV_IN_MEMORY:-}" ]; then
  say "starting DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data in memory only)"
  scripts/dynamodb-local.sh start "$DYNAMODB_PORT"
else
  say "starting DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data in .dynamodb/)"
  scripts/dynamodb-local.sh start "$DYNAMODB_PORT" .dynamodb
fi
table_name=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["Parameters"]["TABLE_NAME"])' "$env_file")
TABLE_NAME=$table_name DYNAMODB_ENDPOINT=http://127.0.0.1:$DYNAMODB_PORT \
  cargo run --quiet --locked -p dev-tools --bin create-table

# ------------------------------------------------------------------------------------------------
# The container engine
# ------------------------------------------------------------------------------------------------
NETNS=
if [ "$mode" = private ]; then
  # A short path: unix socket paths are limited to 107 bytes.
  engine_dir=$(mktemp -d /tmp/payments-engine.XXXXXX)
  netns=$engine_dir/netns
  say "starting a private container engine (Debian's docker.io) in its own network namespace ($engine_dir)"
  touch "$netns"
  unshare --net="$netns" true || die "cannot create a network namespace (unshare needs CAP_SYS_ADMIN)"
  nsenter --net="$netns" ip link set lo up
  nsenter --net="$netns" dockerd --data-root "$engine_dir/data" --exec-root "$engine_dir/exec" \
    --host "unix://$engine_dir/docker.sock" --pidfile "$engine_dir/docker.pid" \
    --storage-driver overlay2 >"$state/dockerd.log" 2>&1 &
  dockerd_pid=$!
  export DOCKER_HOST=unix://$engine_dir/docker.sock
  # The engine's own client, whatever else is first on PATH.
  docker_cli=/usr/bin/docker
  for _ in $(seq 1 300); do
    "$docker_cli" info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || {
      cat "$state/dockerd.log" >&2
      die "the private container engine exited (log above)"
    }
    sleep 0.1
  done
  "$docker_cli" info >/dev/null 2>&1 || die "the private container engine did not answer within 30 s ($state/dockerd.log)"
  NETNS=$netns
  gateway=$(nsenter --net="$netns" ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)
  # DynamoDB Local into the namespace, on the port local/env.json names, at the address the
  # containers know as host.docker.internal (the bridge's gateway) ...
  nsenter --net="$netns" socat "TCP-LISTEN:$container_dynamodb_port,bind=$gateway,reuseaddr,fork" \
    "UNIX-CONNECT:$engine_dir/dynamodb.sock" 2>>"$state/relay.log" &
  relay_pids+=($!)
  socat "UNIX-LISTEN:$engine_dir/dynamodb.sock,fork" "TCP:127.0.0.1:$DYNAMODB_PORT" 2>>"$state/relay.log" &
  relay_pids+=($!)
  # ... and the API out of it, to 127.0.0.1:$SAM_PORT here.
  nsenter --net="$netns" socat "UNIX-LISTEN:$engine_dir/api.sock,fork" "TCP:127.0.0.1:$SAM_PORT" 2>>"$state/relay.log" &
  relay_pids+=($!)
  socat "TCP-LISTEN:$SAM_PORT,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$engine_dir/api.sock" 2>>"$state/relay.log" &
  relay_pids+=($!)
  env_vars=$env_file
else
  # The user's Docker reaches DynamoDB Local on this machine through host.docker.internal;
  # another port than local/env.json's needs a copy of it that names that port.
  env_vars=$env_file
  if [ "$DYNAMODB_PORT" != "$container_dynamodb_port" ]; then
    env_vars=$state/env.json
    sed "s/host.docker.internal:$container_dynamodb_port/host.docker.internal:$DYNAMODB_PORT/" "$env_file" >"$env_vars"
  fi
fi

# ------------------------------------------------------------------------------------------------
# The image: SAM's, or a stand-in where it cannot be pulled
# ------------------------------------------------------------------------------------------------
INVOKE_IMAGE=
have_base_image() {
  "$docker_cli" image inspect "$base_image" >/dev/null 2>&1 && return 0
  [ "$mode" = user ] || return 1
  say "pulling $base_image"
  timeout 300 "$docker_cli" pull --quiet "$base_image" >/dev/null 2>&1
}
if ! have_base_image; then
  command -v busybox >/dev/null || die "$base_image cannot be pulled here and busybox (Debian: busybox-static) is missing for a stand-in"
  INVOKE_IMAGE=$standin_repo:provided-al2023-$arch
  say "$base_image cannot be pulled here: making a stand-in ($INVOKE_IMAGE), busybox and the C libraries the functions link; not Amazon Linux"
  rootfs=$state/standin
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,etc/pki/tls/certs,etc/ssl/certs,tmp,var/task,var/runtime,opt}
  chmod 1777 "$rootfs/tmp"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for applet in sh mv chmod cp rm ls cat mkdir; do ln -s busybox "$rootfs/bin/$applet"; done
  # The dynamic loader and the libraries of every function, at the paths they are linked with.
  for bootstrap in "$build_dir"/*/bootstrap; do
    ldd "$bootstrap" | grep -oE '/[^ ]+' || true
  done | sort -u | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  [ -d /etc/ssl/certs ] && cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/pki/tls/certs/ca-bundle.crt" 2>/dev/null || true
  ln -s ../../pki/tls/certs/ca-bundle.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
  tar -C "$rootfs" -c . | "$docker_cli" import -c 'WORKDIR /var/task' - "$INVOKE_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

# What `exec` needs to reach this engine.
cat >"$state/engine.env" <<ENV
DOCKER_HOST=${DOCKER_HOST:-}
NETNS=$NETNS
INVOKE_IMAGE=$INVOKE_IMAGE
ENV

# ------------------------------------------------------------------------------------------------
# sam local start-api
# ------------------------------------------------------------------------------------------------
image_args=()
if [ -n "$INVOKE_IMAGE" ]; then image_args=(--skip-pull-image --invoke-image "$INVOKE_IMAGE"); fi
in_engine=()
if [ -n "$NETNS" ]; then in_engine=(nsenter --net="$NETNS"); fi
# A script started in the background (make test-sam starts this one so) inherits SIGINT
# ignored, and passes that on: give SAM the default back, so that it can be stopped cleanly.
if env --default-signal=INT true 2>/dev/null; then in_engine=(env --default-signal=INT "${in_engine[@]}"); fi

say "starting sam local start-api (its log: $state/sam.log)"
"${in_engine[@]}" sam local start-api \
  --template-file "$build_dir/template.yaml" \
  --host 127.0.0.1 --port "$SAM_PORT" \
  --env-vars "$env_vars" \
  --add-host host.docker.internal:host-gateway \
  --parameter-overrides "LogLevel=${SAM_LOG_LEVEL:-INFO}" \
  --warm-containers EAGER \
  "${image_args[@]}" >"$state/sam.log" 2>&1 &
sam_pid=$!

alive() { [ "$(curl -s --max-time 20 "http://127.0.0.1:$SAM_PORT/alive")" = '{"status":"alive"}' ]; }
for _ in $(seq 1 600); do
  alive && break
  kill -0 "$sam_pid" 2>/dev/null || {
    cat "$state/sam.log" >&2
    die "sam local start-api exited (log above)"
  }
  sleep 0.5
done
alive || die "the API did not answer on http://127.0.0.1:$SAM_PORT/alive within 5 minutes ($state/sam.log)"

organisation=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["Parameters"]["DEFAULT_ORGANISATION_ID"])' "$env_file")
cat >&2 <<MSG

  Payments API (sam local start-api): http://127.0.0.1:$SAM_PORT   (AUTH_MODE=none, organisation $organisation)
  DynamoDB Local: http://127.0.0.1:$DYNAMODB_PORT, table $table_name
  Functions: $build_dir (sam build, $arch), environment $env_vars; engine: $mode${INVOKE_IMAGE:+, stand-in image}

  Try:
    curl -s http://127.0.0.1:$SAM_PORT/payments -H 'Content-Type: application/json' -d @docs/payment-request.json
    scripts/sam-local.sh exec sam local invoke GetPaymentFunction -e events/get-payment/not-found.json --env-vars local/env.json

  SAM's log: $state/sam.log. Ctrl-C stops everything.

MSG
wait "$sam_pid" || true
die "sam local start-api exited; its log: $state/sam.log"
