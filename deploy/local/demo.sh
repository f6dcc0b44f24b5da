#!/usr/bin/env bash
# `make demo`: Tally end to end on the local stack, from a clean state.
#   1. resets and starts the local stack (Kafka, Valkey, PostgreSQL, Flink session cluster),
#   2. applies the topics and produces a deterministic sample (duplicates, out-of-order, late and
#      malformed records mixed in),
#   3. submits the projection job to the Flink session cluster over its REST API,
#   4. waits until the job has caught up, then prints what it did and what the views say.
# The job keeps running afterwards; `make down` stops everything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$ROOT/deploy/local/stack.sh"
TALLY="$ROOT/bin/tally"
STATE="${TALLY_STATE_DIR:-$ROOT/.local}"
JAR="$ROOT/jobs/target/tally-jobs.jar"
REST="http://127.0.0.1:${TALLY_FLINK_REST_PORT:-8081}"
VALKEY_PORT="${TALLY_VALKEY_PORT:-6380}"
PG_PORT="${TALLY_PG_PORT:-5433}"
EVENTS="${TALLY_DEMO_EVENTS:-500000}"
GROUP=tally-demo

say() { printf '\n== %s\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }
[ -f "$JAR" ] || fail "$JAR not found; run: make build"

say "Resetting the local stack ($STATE) so the demo always starts from the same state"
"$STACK" down >/dev/null
rm -rf "$STATE"
"$STACK" up
# The CLI works as the stack's operator; the job gets its own least-privilege logins (stack.sh --help).
eval "$("$STACK" env)"
mapfile -t stores < <("$STACK" job-args)

say "Topics: one per lane, plus dead-letter (never compacted, kept for good)"
"$TALLY" topics apply

say "Producing $EVENTS records (seed 2026): 5% duplicates, 5% out of order, 1% late, 1% malformed"
"$TALLY" produce --events "$EVENTS" --seed 2026 --duplicates 0.05 --out-of-order 0.05 --late 0.01 \
  --malformed 0.01 --progress-seconds 2

say "Submitting the projection job to the Flink session cluster over REST ($REST)"
args=(--bootstrap-servers "$TALLY_BOOTSTRAP_SERVERS" "${stores[@]}"
  --group-id "$GROUP" --start earliest --checkpoint-interval 5s --parallelism 2)
# POST /jars/upload, then /jars/<id>/run: `tally flink submit` prints the job id.
job_id="$("$TALLY" flink submit --rest "$REST" --jar "$JAR" --class dev.tally.jobs.projection.ProjectionJob \
  -- "${args[@]}")" || fail "the job did not start"
echo "job $job_id: $REST/#/job/running/$job_id/overview"

say "Waiting until the job has caught up (offsets committed on each 5 s checkpoint)"
started=$SECONDS
"$TALLY" lag --group "$GROUP" --wait --timeout 170s
echo "caught up in $((SECONDS - started)) s after submission"

# Sums a job metric over every operator and subtask that reports it, via Flink's REST API.
metric_sum() { "$TALLY" flink metric --rest "$REST" "$job_id" "$1"; }

say "What the job did (Flink metrics, summed over lanes and subtasks)"
# The REST API answers from a cache and refreshes it in the background: ask once, then read.
metric_sum '\.tally\.duplicatesDropped$' >/dev/null
sleep 2
decoded="$(metric_sum '\.tally\.lane\.p[0-9]\.eventsIn$')"
undecodable="$(metric_sum '\.tally\.reason\.(bad-header|corrupt|unknown-schema|invalid)\.deadLettered$')"
printf '%-28s %12s\n' "records read" "$((decoded + undecodable))"
printf '%-28s %12s\n' "  events decoded" "$decoded"
printf '%-28s %12s\n' "duplicates dropped" "$(metric_sum '\.tally\.duplicatesDropped$')"
for reason in bad-header corrupt unknown-schema late; do
  printf '%-28s %12s\n' "dead-lettered: $reason" "$(metric_sum "\\.tally\\.reason\\.$reason\\.deadLettered\$")"
done

say "Leaderboard of hunt-0, top 10 (Valkey)"
"$TALLY" view leaderboard hunt-0 --top 10

say "Score of user-0"
"$TALLY" view user-score user-0

say "The views over HTTP (tally serve, docs/serving.md)"
bash "$ROOT/deploy/local/stack.sh" serve
SERVE="http://127.0.0.1:${TALLY_SERVE_PORT:-8090}"
curl -sS "$SERVE/v1/views/user_score/entries/user-0"
echo

say "Checking every view and dead letter against an independent fold of the log (tally verify)"
# The last writes reach the stores within a checkpoint of catching up: a few tries, 5 s apart.
for try in 1 2 3 4; do
  if "$TALLY" verify --jdbc-url "$TALLY_JDBC_URL" >"$STATE/logs/demo-verify.txt" 2>&1; then break; fi
  [ "$try" = 4 ] && { cat "$STATE/logs/demo-verify.txt" >&2; fail "the views differ from the log (above)"; }
  sleep 5
done
grep -E '^(log:|summary |verify:)' "$STATE/logs/demo-verify.txt"

rank_key="$("$TALLY" view leaderboard hunt-0 --top 1 | head -n 1 | sed -E 's/.*sorted set ([^)]*)\)/\1/')"
say "Look for yourself"
cat <<EOF2
  eval "\$(deploy/local/stack.sh env)"    (the operator's credentials: docs/security.md)
  deploy/local/stack.sh valkey-cli ZREVRANGE '$rank_key' 0 9 WITHSCORES
  deploy/local/stack.sh valkey-cli --scan --pattern 'tally:*:g1:user_score:user-0'
  psql -h 127.0.0.1 -p $PG_PORT -U tally tally -c "SELECT entry_key, value FROM served_view_value WHERE view = 'user_score' ORDER BY (value->>'points')::numeric DESC LIMIT 5"
  bin/tally view activity CHECKIN 2026-01-01T00:03:00Z --valkey $TALLY_VALKEY --jdbc-url $TALLY_JDBC_URL
  curl -s $SERVE/v1/leaderboards/hunt-0?top=5
  curl -s $SERVE/v1/leaderboards/hunt-0/members/user-7?around=2
  curl -s "$SERVE/v1/activity/CHECKIN?from=2026-01-01T00:00:00Z&to=2026-01-01T00:05:00Z"
  curl -s $SERVE/v1/openapi.json      (the whole API)
  Flink dashboard: $REST   (the job and tally serve keep running; make down stops the stack)

  Replay (docs/runbook.md): export TALLY_BOOTSTRAP_SERVERS=$TALLY_BOOTSTRAP_SERVERS, then
  bin/tally replay status
  bin/tally replay plan --from earliest
  bin/tally replay rebuild --from earliest && bin/tally replay cutover
    (a rebuild equals the live generation, late events included: docs/guarantees.md §7)
EOF2
