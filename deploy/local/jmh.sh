#!/usr/bin/env bash
# `make jmh`: the JMH microbenchmarks (bench/src/main/java/dev/tally/bench/jmh) with JMH's own
# runner; extra arguments go to JMH (e.g. `deploy/local/jmh.sh Dedup -f 1 -i 5`).
# Results also go to bench/results/jmh-<date>.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
[ -f bench/target/classpath.txt ] || { echo "jmh: bench/target/classpath.txt not found; run: make build" >&2; exit 1; }
mkdir -p bench/results bench/target/jmh-work
CP="bench/target/classes:$(cat bench/target/classpath.txt)"
exec java -Dtally.test.dir="$ROOT/bench/target/jmh-work" -cp "$CP" org.openjdk.jmh.Main \
  -jvmArgsAppend "-Dtally.test.dir=$ROOT/bench/target/jmh-work" \
  -rf json -rff "bench/results/jmh-$(date -u +%Y-%m-%dT%H%M%SZ).json" "$@"
