#!/usr/bin/env bash
# Scripted smoke check of the local stack, as an SRE would do it by hand:
#   1. bring the stack up (deploy/local/stack.sh up),
#   2. upload the job jar over Flink's REST API (POST /jars/upload),
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
COUNT="${TALLY_SMOKE_COUNT:-500000}"
TIMEOUT_S="${TALLY_SMOKE_TIMEOUT:-180}"

say() { echo "smoke: $*"; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

[ -f "$JAR" ] || fail "job jar $JAR not found; build it with: mvn -DskipTests package"

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

say "uploading $(basename "$JAR") to $REST/jars/upload"
upload="$(curl -sS -f -X POST -H "Expect:" -F "jarfile=@$JAR" "$REST/jars/upload")" \
  || fail "jar upload failed"
jar_id="$(basename "$(echo "$upload" | grep -o '"filename":"[^"]*"' | cut -d'"' -f4)")"
[ -n "$jar_id" ] || fail "no jar id in the upload response: $upload"
say "jar id $jar_id"

run_body="{\"entryClass\":\"dev.tally.jobs.smoke.SmokeJob\",\"programArgsList\":[\"--count\",\"$COUNT\"],\"parallelism\":2}"
run="$(curl -sS -f -X POST -H 'Content-Type: application/json' -d "$run_body" "$REST/jars/$jar_id/run")" \
  || fail "job run request failed"
job_id="$(echo "$run" | grep -o '"jobid":"[^"]*"' | cut -d'"' -f4)"
[ -n "$job_id" ] || fail "no job id in the run response: $run"
say "job $job_id submitted; waiting for it to finish (up to ${TIMEOUT_S}s)"

deadline=$((SECONDS + TIMEOUT_S))
state=""
while [ "$SECONDS" -lt "$deadline" ]; do
  details="$(curl -sS -f "$REST/jobs/$job_id")" || fail "cannot read job $job_id"
  state="$(echo "$details" | grep -o '"state":"[A-Z]*"' | head -n 1 | cut -d'"' -f4)"
  case "$state" in
    FINISHED) break ;;
    FAILED | CANCELED) fail "job $job_id ended $state; exceptions: $(curl -sS "$REST/jobs/$job_id/exceptions" | head -c 2000)" ;;
  esac
  sleep 1
done
[ "$state" = "FINISHED" ] || fail "job $job_id still $state after ${TIMEOUT_S}s"

read_by_sink="$(echo "$details" | grep -o '"read-records":[0-9]*' | cut -d: -f2 | sort -n | tail -n 1)"
say "job FINISHED; the sink read $read_by_sink of $COUNT records"
[ "$read_by_sink" = "$COUNT" ] || fail "expected the sink to read $COUNT records, it read $read_by_sink"
curl -sS -f -X DELETE "$REST/jars/$jar_id" >/dev/null || true
