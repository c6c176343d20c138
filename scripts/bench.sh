#!/usr/bin/env bash
# `make bench`: the performance budget of DESIGN.md section 8, measured and printed; it never
# fails on a time. Builds what it needs (release, reusing target/), then:
#   - sizes: stripped binaries for the host (x86_64) and, where the Rust target is installed,
#     arm64 (cargo lambda build --arm64, as sam build does), and zip -9 of each bootstrap;
#   - warm CPU per request through each handler, DynamoDB and EventBridge answered in-process
#     (criterion);
#   - against DynamoDB Local on a free port (stopped on exit), and an EventBridge in the driver
#     for payment-events: cold starts beside the two floors, peak RSS over warm invocations,
#     DynamoDB capacity per operation;
#   - one summary table, also written to .run/bench/summary.md.
#
# BENCH_RUNS (50) cold starts per binary, BENCH_RSS_INVOCATIONS (1000),
# BENCH_ARM64=0 skips the arm64 build, BENCH_CRITERION=0 skips criterion.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh
export PATH="$PWD/.venv/bin:$PATH"

functions=(create-payment delete-payment get-payment health list-payments payment-events update-payment)
floors=(floor-hello floor-getitem)
out=.run/bench
mkdir -p "$out"
started=$(date +%s)

package_args=()
for f in "${functions[@]}"; do package_args+=(-p "$f"); done

echo "== build (release, host)" >&2
# The functions in one cargo invocation, the bench crate in another, so the functions are
# built with exactly their own features, as cargo lambda builds them.
cargo build --release --locked "${package_args[@]}"
cargo build --release --locked -p bench --bins

arm64=0
if [ "${BENCH_ARM64:-1}" != 0 ] && rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  echo "== build (release, arm64, cargo lambda)" >&2
  cargo lambda build --release --arm64 --locked "${package_args[@]}"
  cargo lambda build --release --arm64 --locked -p bench --bin floor-hello --bin floor-getitem
  arm64=1
fi

echo "== sizes" >&2
sizes() { # arch name binary
  python3 - "$@" <<'PY'
import io, os, sys, zipfile
arch, name, path = sys.argv[1:]
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(path, "rb") as binary:
        archive.writestr(info, binary.read(), compresslevel=9)
print(f"{arch}\t{name}\t{os.path.getsize(path)}\t{len(buffer.getvalue())}")
PY
}
: >"$out/sizes.tsv"
for name in "${floors[@]}" "${functions[@]}"; do
  sizes x86_64 "$name" "target/release/$name" >>"$out/sizes.tsv"
  if [ "$arm64" = 1 ]; then
    sizes arm64 "$name" "target/lambda/$name/bootstrap" >>"$out/sizes.tsv"
  fi
done

if [ "${BENCH_CRITERION:-1}" != 0 ]; then
  echo "== warm CPU per request (criterion)" >&2
  rm -rf target/criterion/handlers
  # The release profile, so that the bench shares its build with the floors and the driver.
  cargo bench --profile release --locked -p bench --bench handlers -- --warm-up-time 1 --measurement-time 3
fi

dynamodb_port=$(scripts/free-port.sh)
trap 'scripts/dynamodb-local.sh stop "$dynamodb_port"' EXIT
scripts/dynamodb-local.sh start "$dynamodb_port"

echo "== cold start, peak RSS, capacity (DynamoDB Local)" >&2
target/release/bench run --endpoint "http://127.0.0.1:$dynamodb_port" \
  --runs "${BENCH_RUNS:-50}" --rss-invocations "${BENCH_RSS_INVOCATIONS:-1000}" \
  --out "$out/results.json"

{
  echo "# make bench, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  target/release/bench report --results "$out/results.json" --sizes "$out/sizes.tsv" \
    --criterion target/criterion/handlers
  echo
  echo "make bench took $(($(date +%s) - started)) s"
} | tee "$out/summary.md"
