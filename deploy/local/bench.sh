#!/usr/bin/env bash
# `make bench` / `make bench-quick` / `make bench-ladder`: resets and starts the local stack, runs the benchmark
# (bench/src/main/java/dev/tally/bench/BenchMain.java), stops the stack.
#   deploy/local/bench.sh full|quick|ladder [extra BenchMain options…]
# Writes bench/results/<date>.json and .png and adds a row to BENCHMARKS.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$ROOT/deploy/local/stack.sh"
PROFILE="${1:-quick}"; shift || true
case "$PROFILE" in
  full) COMMAND="make bench" ;;
  quick) COMMAND="make bench-quick" ;;
  ladder) COMMAND="make bench-ladder" ;;
  *) echo "bench: profile '$PROFILE' is not one of: full, quick, ladder" >&2; exit 2 ;;
esac
for needed in "$ROOT/jobs/target/tally-jobs.jar" "$ROOT/bench/target/classpath.txt"; do
  [ -f "$needed" ] || { echo "bench: $needed not found; run: make build" >&2; exit 1; }
done

echo "== Resetting the local stack (.local) so every run starts from the same, empty state"
"$STACK" down >/dev/null
rm -rf "${TALLY_STATE_DIR:-$ROOT/.local}"
trap '"$STACK" down >/dev/null || true' EXIT
# Without Prometheus: its scrapes of Flink's reporter would cost the job CPU the bench measures;
# without credentials (TALLY_STACK_AUTH=0): the bench measures the job, not the logins.
TALLY_STACK_AUTH=0 TALLY_PROMETHEUS=0 "$STACK" up

cd "$ROOT"
java -Xmx2g -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.tally.bench.BenchMain \
  --profile "$PROFILE" --command "$COMMAND" \
  --bootstrap-servers "127.0.0.1:${TALLY_KAFKA_PORT:-9092}" \
  --valkey "redis://127.0.0.1:${TALLY_VALKEY_PORT:-6380}" \
  --jdbc-url "jdbc:postgresql://127.0.0.1:${TALLY_PG_PORT:-5433}/tally" \
  --flink-rest "http://127.0.0.1:${TALLY_FLINK_REST_PORT:-8081}" "$@"
