#!/usr/bin/env bash
# Scripted smoke check of the local stack, as an SRE would do it by hand:
#   1. bring the stack up (deploy/local/stack.sh up),
#   2. upload the job jar over Flink's REST API (POST /jars/upload; `tally flink submit`),
#   3. run the smoke job (POST /jars/<id>/run with programArgsList),
#   4. wait for it to finish and check that its sink read every record,
#   5. tear the stack down and check that no process of it is left.
# Needs jobs/target/tally-jobs.jar (make smoke builds it first).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$ROOT/deploy/local/stack.sh"
STATE="${TALLY_STATE_DIR:-$ROOT/.local}"
REST="http://127.0.0.1:${TALLY_FLINK_REST_PORT:-8081}"
JAR="${TALLY_JOBS_JAR:-$ROOT/jobs/target/tally-jobs.jar}"
# The REST calls go through `tally flink` (FlinkRestClient: JSON with Jackson, not by hand).
TALLY="$ROOT/bin/tally"
COUNT="${TALLY_SMOKE_COUNT:-500000}"
TIMEOUT_S="${TALLY_SMOKE_TIMEOUT:-180}"

say() { echo "smoke: $*"; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

[ -f "$JAR" ] || fail "job jar $JAR not found; build it with: mvn -DskipTests package"
[ -f "$ROOT/cli/target/tally.jar" ] || fail "cli/target/tally.jar not found; build it with: make build"

# Pids the stack records, captured after `up`, so the final check looks at exactly those.
started_pids() { cat "$STATE"/pids/*.pid 2>/dev/null || true; }

teardown() {
  local status=$?
  local pids
  pids="$(started_pids)"
  say "tearing the stack down"
  "$STACK" down || status=1
  local left=()
  for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null; then left+=("$pid"); fi
  done
  if [ "${#left[@]}" -gt 0 ]; then
    echo "smoke: FAILED: processes left after down: ${left[*]}" >&2
    status=1
  else
    say "no stack process left ($(echo $pids | wc -w) stopped)"
  fi
  if [ "$status" -eq 0 ]; then say "PASSED"; fi
  exit "$status"
}
trap teardown EXIT

"$STACK" up

say "uploading $(basename "$JAR") to $REST/jars/upload and running SmokeJob (tally flink submit)"
job_id="$("$TALLY" flink submit --rest "$REST" --jar "$JAR" --class dev.tally.jobs.smoke.SmokeJob \
  --parallelism 2 -- --count "$COUNT")" || fail "the job did not start"
say "job $job_id submitted; waiting for it to finish (up to ${TIMEOUT_S}s)"
"$TALLY" flink wait --rest "$REST" "$job_id" --state FINISHED --timeout "${TIMEOUT_S}s" \
  || fail "job $job_id did not finish"

read_by_sink="$("$TALLY" flink records --rest "$REST" "$job_id")"
say "job FINISHED; the sink read $read_by_sink of $COUNT records"
[ "$read_by_sink" = "$COUNT" ] || fail "expected the sink to read $COUNT records, it read $read_by_sink"
