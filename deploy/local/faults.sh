#!/usr/bin/env bash
# `make faults` / `make faults-quick`: faults on the real local stack while the projection job
# runs, each checked against an independent fold of the log (`tally verify`).
#   deploy/local/faults.sh full|quick|brokers
# full: TaskManager kill -9 three times during one catch-up; Valkey restarted with its data saved
# first, and killed without persistence; PostgreSQL down 30 s; the broker restarted; the JobManager
# killed with -9 and started again (the stack runs with JobManager HA: TALLY_FLINK_HA=1). quick: one
# TaskManager kill during a catch-up (CI runs it). brokers: a 3-broker Kafka cluster
# (TALLY_KAFKA_BROKERS=3: replication 3, min.insync.replicas=2), one broker killed with -9 during a
# catch-up while events stream in, restarted 20 s later. Prints a table: events in, lost, double-counted,
# other mismatches, dead-letter mismatches, seconds until the job had caught up again. Exit 1 if
# any scenario lost or double-counted anything.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="$ROOT/deploy/local/stack.sh"
TALLY="$ROOT/bin/tally"
JAR="$ROOT/jobs/target/tally-jobs.jar"
PROFILE="${1:-quick}"
case "$PROFILE" in
  full) EVENTS=400000 ;;
  quick) EVENTS=200000 ;;
  brokers) EVENTS=300000; export TALLY_KAFKA_BROKERS=3 ;;
  *) echo "faults: profile '$PROFILE' is not one of: full, quick, brokers" >&2; exit 2 ;;
esac
for needed in "$JAR" "$ROOT/cli/target/tally.jar"; do
  [ -f "$needed" ] || { echo "faults: $needed not found; run: make build" >&2; exit 1; }
done

REST="http://127.0.0.1:${TALLY_FLINK_REST_PORT:-8081}"
GROUP="tally-faults"
SEED=7

say() { printf '\n== %s\n' "$*"; }
fail() { echo "faults: FAILED: $*" >&2; exit 1; }

say "Resetting the local stack (.local)"
"$STACK" down >/dev/null
rm -rf "${TALLY_STATE_DIR:-$ROOT/.local}"
trap '"$STACK" down >/dev/null || true' EXIT
# JobManager HA (a ZooKeeper in the stack): a restarted JobManager recovers the running job.
export TALLY_FLINK_HA="${TALLY_FLINK_HA:-1}"
TALLY_PROMETHEUS=0 "$STACK" up
# The CLI as the stack's operator; the job with its own least-privilege logins (stack.sh --help).
eval "$("$STACK" env)"
mapfile -t stores < <("$STACK" job-args)
"$TALLY" topics apply >/dev/null

produce() { # events, seed, rate (0: as fast as possible), then more produce options
  "$TALLY" produce --events "$1" --seed "$2" --duplicates 0.05 --out-of-order 0.05 --late 0.01 \
    --malformed 0.01 --rate "$3" --progress-seconds 3600 "${@:4}" >/dev/null
}

say "Producing $EVENTS records, then starting the job (checkpoints every 5 s)"
produce "$EVENTS" "$SEED" 0
job_id="$("$TALLY" flink submit --rest "$REST" --jar "$JAR" \
  --class dev.tally.jobs.projection.ProjectionJob -- \
  --bootstrap-servers "$TALLY_BOOTSTRAP_SERVERS" "${stores[@]}" --group-id "$GROUP" --start earliest \
  --checkpoint-interval 5s --parallelism 2)"
"$TALLY" flink wait --rest "$REST" "$job_id" --state RUNNING --timeout 120s >/dev/null

ROWS=()
FAILED=0
# Waits for the job to catch up, then verifies; adds a row. $1: scenario, $2: when the fault began.
check() {
  local scenario="$1" began="$2" summary recovered
  "$TALLY" lag --group "$GROUP" --wait --timeout 300s >/dev/null \
    || fail "$scenario: the job did not catch up within 300 s"
  recovered=$((SECONDS - began))
  # The last writes of a caught-up job reach the stores within a checkpoint; and a refilled Valkey
  # must be complete before it is compared.
  local tries=0
  until "$TALLY" cache status >/dev/null 2>&1 || [ $tries -ge 60 ]; do sleep 1; tries=$((tries + 1)); done
  sleep 6
  summary="$("$TALLY" verify --jdbc-url "$TALLY_JDBC_URL" | sed -n 's/^summary //p')" || true
  [ -n "$summary" ] || fail "$scenario: tally verify printed no summary"
  local records=0 lost=0 double=0 different=0 deadletters=0 kv
  for kv in $summary; do
    case "$kv" in
      records=*) records="${kv#*=}" ;;
      lost=*) lost="${kv#*=}" ;;
      double=*) double="${kv#*=}" ;;
      different=*) different="${kv#*=}" ;;
      deadletters=*) deadletters="${kv#*=}" ;;
    esac
  done
  if [ "$lost" != 0 ] || [ "$double" != 0 ] || [ "$different" != 0 ] || [ "$deadletters" != 0 ]; then
    FAILED=1
  fi
  ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s | %s |' "$scenario" "$records" "$lost" "$double" \
    "$different" "$deadletters" "$recovered")")
  echo "  $scenario: records=$records lost=$lost double=$double different=$different dead-letter mismatches=$deadletters, caught up $recovered s after the fault"
}

kill_taskmanager() {
  "$STACK" kill flink-taskmanager
  sleep 2
  "$STACK" restart flink-taskmanager >/dev/null
}

valkey_restart_saved() {
  "$STACK" valkey-cli SAVE >/dev/null
  "$STACK" restart valkey >/dev/null
}

valkey_kill_empty() {
  "$STACK" kill valkey
  rm -f "${TALLY_STATE_DIR:-$ROOT/.local}/valkey/dump.rdb"
  "$STACK" restart valkey >/dev/null
}

postgres_down_30s() {
  "$STACK" kill postgres
  sleep 30
  "$STACK" restart postgres >/dev/null
}

broker_restart() { "$STACK" restart kafka >/dev/null; }

# kill -9, then a new JobManager process: it takes the leadership once the dead one's ZooKeeper
# session has expired and recovers the job from its last completed checkpoint (Flink HA).
jobmanager_kill() {
  "$STACK" kill flink-jobmanager
  sleep 2
  "$STACK" restart flink-jobmanager >/dev/null
  # Until the new JobManager leads and has recovered the job, the REST API does not know it.
  local deadline=$((SECONDS + 180))
  until "$TALLY" flink wait --rest "$REST" "$job_id" --state RUNNING --timeout 5s >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the job was not RUNNING again within 180 s of the JobManager's restart"
    sleep 1
  done
}

# A fault while 50k more records stream in. $1: scenario, $2: seed offset, $3: rate, $4: the fault.
under_load() {
  local scenario="$1" producing began
  say "$scenario, while events stream in"
  produce 50000 $((SEED + $2)) "$3" &
  producing=$!
  sleep 3
  began=$SECONDS
  "$4"
  wait "$producing" || true
  check "$scenario" "$began"
}

# kill -9 one of three brokers, 20 s later a new process for it: the partitions it led move to
# the others (min.insync.replicas=2 still met), the job's sources and the producer follow them.
broker_kill() {
  "$STACK" kill kafka-2
  sleep 20
  "$STACK" restart kafka-2 >/dev/null
}

if [ "$PROFILE" = brokers ]; then
  say "One broker of three killed with -9 during the catch-up, while events stream in"
  sleep 8
  # The producer retries a record up to 5 minutes (Kafka's default, 2, was too short once on a
  # loaded 2-core CI machine: the run of 83057f0 gave up on 3 records after 120 s; a later run gave
  # up within 10 minutes, cause not recorded). Acks stay "all", so nothing it counts as sent is lost.
  # If it still gives up, the same records are sent again, as any upstream that delivers at least
  # once does: a fixed --start makes them the same events with the same ids, so the job must drop
  # the repeats (the fold does too). Either way the check below compares what the log holds, and
  # the producer's client log (warnings and info) is printed when it gave up.
  producer_log="${TALLY_STATE_DIR:-$ROOT/.local}/logs/faults-producer.log"
  mkdir -p "$(dirname "$producer_log")"
  stream_start="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  stream() {
    TALLY_JAVA_OPTS="${TALLY_JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.producer=info -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient=warn" \
      produce 50000 $((SEED + 9)) 5000 --start "$stream_start" --delivery-timeout 5min 2>>"$producer_log"
  }
  stream &
  producing=$!
  sleep 3
  began=$SECONDS
  broker_kill
  if ! wait "$producing"; then
    "$TALLY" topics describe --partitions >&2 || true
    echo "-- the producer gave up on some records; its last log lines ($producer_log):" >&2
    grep -v -e 'ProducerConfig values' -e '^[[:space:]]' "$producer_log" | tail -25 >&2 || true
    echo "  the producer gave up on some records (above); sending the same 50,000 events again"
    stream || fail "the producer could not write the records even when sent again (its log: $producer_log)"
  fi
  echo "  every record acknowledged $((SECONDS - began)) s after the kill"
  check "broker kill -9 (1 of 3) during catch-up" "$began"
elif [ "$PROFILE" = quick ]; then
  say "TaskManager kill -9 during the catch-up"
  sleep 8
  began=$SECONDS
  kill_taskmanager
  check "TaskManager kill -9 during catch-up" "$began"
else
  say "TaskManager kill -9, three times during one catch-up"
  sleep 8
  began=$SECONDS
  for _ in 1 2 3; do kill_taskmanager; sleep 15; done
  check "TaskManager kill -9 x3 during catch-up" "$began"

  under_load "Valkey restart (data saved)" 1 5000 valkey_restart_saved
  under_load "Valkey kill -9, back empty" 2 5000 valkey_kill_empty
  under_load "PostgreSQL down 30 s" 3 2000 postgres_down_30s
  under_load "broker restart" 4 5000 broker_restart
  under_load "JobManager kill -9 (HA)" 5 5000 jobmanager_kill
fi

say "Faults ($PROFILE, $(date -u +%Y-%m-%dT%H:%MZ)); every row against an independent fold of the log"
echo "| scenario | records in the log | lost | double-counted | other mismatches | dead-letter mismatches | caught up after (s) |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if [ "$FAILED" != 0 ]; then fail "a scenario lost, double-counted or mismatched something (above)"; fi
echo "faults: PASSED"
