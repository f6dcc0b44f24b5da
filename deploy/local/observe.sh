#!/usr/bin/env bash
# `make observe`: the dashboard and the alert rules checked against real series. Resets and starts
# the local stack (Prometheus scraping Flink's reporter and the PostgreSQL and Valkey exporters,
# with deploy/prometheus/alerts.yml loaded), produces events with duplicates, late and malformed
# records, runs the projection job live until it has caught up, then runs
#   tally metrics check --dashboard deploy/grafana/tally.json --wait …
# against the stack's Prometheus: every panel query and every recording rule must return series,
# every alert must evaluate without error and each series it reads must exist. Exit 1 if any does
# not (each listed). CI runs it (.ci/run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$ROOT/deploy/local/stack.sh"
TALLY="$ROOT/bin/tally"
STATE="${TALLY_STATE_DIR:-$ROOT/.local}"
JAR="$ROOT/jobs/target/tally-jobs.jar"
REST="http://127.0.0.1:${TALLY_FLINK_REST_PORT:-8081}"
PROMETHEUS="http://127.0.0.1:${TALLY_PROMETHEUS_PORT:-9090}"
EVENTS="${TALLY_OBSERVE_EVENTS:-50000}"
WAIT="${TALLY_OBSERVE_WAIT:-180s}"
GROUP=tally-observe

say() { printf '\n== observe: %s\n' "$*"; }
fail() { echo "observe: FAILED: $*" >&2; exit 1; }
for needed in "$JAR" "$ROOT/cli/target/tally.jar"; do
  [ -f "$needed" ] || fail "$needed not found; run: make build"
done
if [ "${TALLY_PROMETHEUS:-1}" = 0 ]; then
  fail "TALLY_PROMETHEUS=0 leaves Prometheus out of the stack; this check needs it"
fi

say "Resetting the local stack ($STATE)"
"$STACK" down >/dev/null
rm -rf "$STATE"
trap 'status=$?; "$STACK" down >/dev/null || status=1; [ "$status" -eq 0 ] && echo "observe: PASSED"; exit "$status"' EXIT
"$STACK" up
eval "$("$STACK" env)"
mapfile -t stores < <("$STACK" job-args)

"$TALLY" topics apply >/dev/null
say "Producing $EVENTS events: duplicates, out of order, late and malformed records among them"
"$TALLY" produce --events "$EVENTS" --seed 7 --duplicates 0.05 --out-of-order 0.05 --late 0.01 \
  --malformed 0.01 --progress-seconds 5

say "Running the projection job live (checkpoints every 5 s) until it has caught up"
job_id="$("$TALLY" flink submit --rest "$REST" --jar "$JAR" --class dev.tally.jobs.projection.ProjectionJob \
  -- --bootstrap-servers "$TALLY_BOOTSTRAP_SERVERS" "${stores[@]}" \
  --group-id "$GROUP" --start earliest --checkpoint-interval 5s --parallelism 2)" \
  || fail "the job did not start"
"$TALLY" lag --group "$GROUP" --wait --timeout 180s >/dev/null || fail "job $job_id did not catch up"

say "Every dashboard query and every rule against $PROMETHEUS (waiting up to $WAIT for series)"
"$TALLY" metrics check --prometheus "$PROMETHEUS" --dashboard "$ROOT/deploy/grafana/tally.json" \
  --wait "$WAIT" --poll 10s
