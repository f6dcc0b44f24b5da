#!/usr/bin/env bash
# Tally's local stack: real processes on this machine, for development and the demo.
#
#   deploy/local/stack.sh up       start Kafka (KRaft), valkey-server, PostgreSQL, Flink JM + TM,
#                                  Prometheus (scraping Flink's reporter, with Tally's alert rules)
#   deploy/local/stack.sh down     stop exactly what `up` started (by recorded pid)
#   deploy/local/stack.sh status   what runs, its pid, its address
#   deploy/local/stack.sh serve    also start `tally serve` (the views over HTTP) on the stack
#   deploy/local/stack.sh kill SERVICE     kill -9 one service (a crash: make faults uses it)
#   deploy/local/stack.sh restart SERVICE  stop one service (SIGTERM) and start it again
#   deploy/local/stack.sh env      the CLI's environment for this stack (as the operator):
#                                  eval "$(deploy/local/stack.sh env)"
#   deploy/local/stack.sh valkey-cli ARGS…  valkey-cli against the stack's Valkey, as the operator
#   deploy/local/stack.sh job-args the projection job's store options (its own least-privilege
#                                  users, passwords as files), one per line
#
# Credentials (docs/security.md), TALLY_STACK_AUTH=1 (the default): Valkey runs with ACLs (the
#   default user off; tally-job and tally-reader from deploy/valkey/acl-rules.txt; tally-admin for
#   operators), PostgreSQL with password logins (owner tally; tally_job in tally_writer, tally_api
#   in tally_reader, from deploy/postgres/roles.sql); generated passwords in $STATE/secrets (mode
#   600). The projection job writes as tally-job / tally_job (--no-migrate: `up` migrates as the
#   owner), `tally serve` reads as tally-reader / tally_api. TALLY_STACK_AUTH=0: no passwords, no
#   ACLs (make bench: it measures the job, not the logins).
#
# Ports (override with the environment variables):
#   TALLY_KAFKA_PORT=9092  TALLY_KAFKA_CONTROLLER_PORT=9093  TALLY_VALKEY_PORT=6380
#   TALLY_PG_PORT=5433     TALLY_FLINK_REST_PORT=8081        TALLY_FLINK_RPC_PORT=6123
#   TALLY_SERVE_PORT=8090  TALLY_PROMETHEUS_PORT=9090  TALLY_FLINK_METRICS_PORTS=9249-9251
#   TALLY_PG_EXPORTER_PORT=9187  TALLY_VALKEY_EXPORTER_PORT=9121  TALLY_ZOOKEEPER_PORT=2181
# Other settings: TALLY_STATE_DIR (default .local in the repo), TALLY_FLINK_SLOTS=4 (per
#   TaskManager), TALLY_FLINK_TASKMANAGERS=1 (2 or more: jobs spread over several TaskManager
#   processes, services flink-taskmanager, flink-taskmanager-2, …),
#   TALLY_KAFKA_BROKERS=3 (three KRaft nodes in one quorum, services kafka, kafka-2, kafka-3 on
#   ports 9092/9094/9096, controllers 9093/9095/9097, one rack each, replication 3 with
#   min.insync.replicas=2; clients bootstrap from all three: stack.sh env),
#   TALLY_VALKEY_NODES=3 (a Valkey cluster of three masters, services valkey, valkey-2, valkey-3 on
#   ports 6380/6381/6382, cluster bus +10000; every --valkey URL the stack prints names all three,
#   which Tally takes as a cluster; the exporter reads node 1),
#   TALLY_FLINK_HA=1 (JobManager high availability: a ZooKeeper, service zookeeper, holds the leader
#   and the jobs' pointers, HA data under the state dir; a killed or restarted JobManager recovers
#   its running jobs from their last checkpoint; make faults uses it; later commands on the same
#   stack keep it while ZooKeeper's pid file exists, i.e. until down or kill zookeeper), TALLY_FLINK_TM_MEMORY=3072m, TALLY_FLINK_JM_MEMORY=1536m, TALLY_KAFKA_HEAP=1g,
#   TALLY_FLINK_CHANGELOG=1 (0: checkpoints without the state changelog, each pausing the job while
#   RocksDB flushes), TALLY_PG_SHARED_BUFFERS=128MB and TALLY_PG_MAX_WAL_SIZE=1GB (PostgreSQL's own
#   defaults; sizing experiments), TALLY_FLINK_EXTRA_CONFIG (YAML lines appended to Flink's config.yaml), TALLY_PROMETHEUS=0 to
#   leave Prometheus and the exporters out (make bench does: its scrapes would cost the job CPU it measures).
# Kafka and Flink run from the jars Maven resolves (modules stack/kafka and stack/flink).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${TALLY_STATE_DIR:-$ROOT/.local}"
KAFKA_PORT="${TALLY_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${TALLY_KAFKA_CONTROLLER_PORT:-9093}"
VALKEY_PORT="${TALLY_VALKEY_PORT:-6380}"
PG_PORT="${TALLY_PG_PORT:-5433}"
FLINK_REST_PORT="${TALLY_FLINK_REST_PORT:-8081}"
FLINK_RPC_PORT="${TALLY_FLINK_RPC_PORT:-6123}"
SERVE_PORT="${TALLY_SERVE_PORT:-8090}"
PROMETHEUS_PORT="${TALLY_PROMETHEUS_PORT:-9090}"
PG_EXPORTER_PORT="${TALLY_PG_EXPORTER_PORT:-9187}"
VALKEY_EXPORTER_PORT="${TALLY_VALKEY_EXPORTER_PORT:-9121}"
ZOOKEEPER_PORT="${TALLY_ZOOKEEPER_PORT:-2181}"
# Flink's Prometheus reporter: the JobManager takes the first free port, the TaskManager the next.
FLINK_METRICS_PORTS="${TALLY_FLINK_METRICS_PORTS:-9249-9251}"
FLINK_SLOTS="${TALLY_FLINK_SLOTS:-4}"
FLINK_TASKMANAGERS="${TALLY_FLINK_TASKMANAGERS:-1}"
[[ "$FLINK_TASKMANAGERS" =~ ^[1-9][0-9]*$ ]] \
  || { echo "stack: TALLY_FLINK_TASKMANAGERS must be a number >= 1, got '$FLINK_TASKMANAGERS'" >&2; exit 2; }
FLINK_TM_MEMORY="${TALLY_FLINK_TM_MEMORY:-3072m}"
FLINK_JM_MEMORY="${TALLY_FLINK_JM_MEMORY:-1536m}"
KAFKA_HEAP="${TALLY_KAFKA_HEAP:-1g}"
KAFKA_BROKERS="${TALLY_KAFKA_BROKERS:-1}"
[[ "$KAFKA_BROKERS" =~ ^(1|3)$ ]] \
  || { echo "stack: TALLY_KAFKA_BROKERS must be 1 or 3, got '$KAFKA_BROKERS'" >&2; exit 2; }
# A stack keeps the brokers it was created with.
if [ -d "$STATE/kafka-3" ]; then KAFKA_BROKERS=3; fi
VALKEY_NODES="${TALLY_VALKEY_NODES:-1}"
[[ "$VALKEY_NODES" =~ ^(1|3)$ ]] \
  || { echo "stack: TALLY_VALKEY_NODES must be 1 or 3, got '$VALKEY_NODES'" >&2; exit 2; }
# A stack keeps the Valkey it was created with.
if [ -d "$STATE/valkey-3" ]; then VALKEY_NODES=3; fi
FLINK_CHANGELOG="${TALLY_FLINK_CHANGELOG:-1}"
PG_SHARED_BUFFERS="${TALLY_PG_SHARED_BUFFERS:-128MB}"
PG_MAX_WAL_SIZE="${TALLY_PG_MAX_WAL_SIZE:-1GB}"
[[ "$FLINK_CHANGELOG" =~ ^[01]$ ]] \
  || { echo "stack: TALLY_FLINK_CHANGELOG must be 1 (on) or 0 (off), got '$FLINK_CHANGELOG'" >&2; exit 2; }
PG_USER=tally
PG_DATABASE=tally
STACK_AUTH="${TALLY_STACK_AUTH:-1}"
[[ "$STACK_AUTH" =~ ^[01]$ ]] \
  || { echo "stack: TALLY_STACK_AUTH must be 1 (credentials on) or 0 (off), got '$STACK_AUTH'" >&2; exit 2; }
SECRETS="$STATE/secrets"
# A stack keeps the credentials it was created with: an existing data directory decides.
if [ -e "$STATE/valkey/users.acl" ]; then STACK_AUTH=1
elif [ -e "$STATE/postgres/data/PG_VERSION" ]; then STACK_AUTH=0; fi

PIDS="$STATE/pids"
# HA stays on for a stack whose ZooKeeper was started by an earlier `up` with TALLY_FLINK_HA=1, so a
# `restart flink-jobmanager` without the variable writes the same Flink configuration.
FLINK_HA="${TALLY_FLINK_HA:-}"
if [ -z "$FLINK_HA" ]; then
  if [ -e "$PIDS/zookeeper.pid" ]; then FLINK_HA=1; else FLINK_HA=0; fi
fi
[[ "$FLINK_HA" =~ ^[01]$ ]] \
  || { echo "stack: TALLY_FLINK_HA must be 1 (on) or 0 (off), got '$FLINK_HA'" >&2; exit 2; }
LOGS="$STATE/logs"
# Start order; `down` goes the other way. tally-serve starts only with `serve`.
TASKMANAGERS=(flink-taskmanager)
for ((tm = 2; tm <= FLINK_TASKMANAGERS; tm++)); do TASKMANAGERS+=("flink-taskmanager-$tm"); done
# Also those an earlier `up` started with a larger TALLY_FLINK_TASKMANAGERS: down and status see them.
for pidfile in "$STATE"/pids/flink-taskmanager-*.pid; do
  [ -e "$pidfile" ] || continue
  tm="$(basename "$pidfile" .pid)"
  [[ " ${TASKMANAGERS[*]} " == *" $tm "* ]] || TASKMANAGERS+=("$tm")
done
HA_SERVICES=()
[ "$FLINK_HA" = 1 ] && HA_SERVICES=(zookeeper)
KAFKA_SERVICES=(kafka)
[ "$KAFKA_BROKERS" = 3 ] && KAFKA_SERVICES=(kafka kafka-2 kafka-3)
VALKEY_SERVICES=(valkey)
[ "$VALKEY_NODES" = 3 ] && VALKEY_SERVICES=(valkey valkey-2 valkey-3)
SERVICES=("${KAFKA_SERVICES[@]}" "${VALKEY_SERVICES[@]}" postgres "${HA_SERVICES[@]}" flink-jobmanager "${TASKMANAGERS[@]}" postgres-exporter valkey-exporter
  prometheus tally-serve)

# Java 17 opens Flink needs (from Flink's default config, env.java.opts.all).
JAVA_OPENS=(
  --add-exports=java.base/sun.net.util=ALL-UNNAMED
  --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.time=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)

log() { echo "stack: $*"; }
die() { echo "stack: error: $*" >&2; exit 1; }

pid_of() { cat "$PIDS/$1.pid" 2>/dev/null || true; }

# A recorded pid counts as ours only while that process works inside our state dir (every
# service is started there, and valkey/postgres rename their process titles, so the command line
# can't tell): a pid reused by another program after a crash is never signalled.
is_ours() {
  local pid="$1" cwd
  [ -n "$pid" ] || return 1
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || return 1
  case "$cwd" in "$STATE" | "$STATE"/*) return 0 ;; *) return 1 ;; esac
}

running() { is_ours "$(pid_of "$1")"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local what="$1" timeout="$2" service="$3"; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    # Exited: its recorded process is gone. (Only the pid, not is_ours' working-directory check: a
    # clean-clone CI once saw that check fail for a Kafka that went on running, not reproduced.)
    if ! kill -0 "$(pid_of "$service")" 2>/dev/null; then
      echo "--- last lines of $LOGS/$service.log ---" >&2
      tail -n 30 "$LOGS/$service.log" >&2 || true
      die "$service exited while starting"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$LOGS/$service.log" >&2 || true
      die "$what not ready within ${timeout}s; see $LOGS/$service.log"
    fi
    sleep 0.5
  done
}

require_port_free() {
  local service="$1" port="$2" variable="$3"
  if port_open "$port"; then
    die "port $port (for $service) is taken by another process; stop it or set $variable"
  fi
}

# Start a command in the background, in its own session and working directory
# ($STATE/<service>), logging to $LOGS/<service>.log.
launch() {
  local service="$1"; shift
  mkdir -p "$STATE/$service"
  (cd "$STATE/$service" && exec nohup setsid "$@" >>"$LOGS/$service.log" 2>&1 </dev/null) &
  local pid=$! tries=0
  echo "$pid" >"$PIDS/$service.pid"
  # The pid counts as ours once the subshell has entered the state dir (is_ours). Wait for that, so
  # a check right after the launch cannot take a service still starting for one that exited.
  while ! is_ours "$pid" && kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 100 ]; do
    sleep 0.05
    tries=$((tries + 1))
  done
}

classpath() {
  local module="$1" file="$ROOT/stack/$1/target/classpath.txt"
  if [ ! -s "$file" ] || [ "$ROOT/pom.xml" -nt "$file" ] || [ "$ROOT/stack/$module/pom.xml" -nt "$file" ]; then
    log "resolving the $module jars with Maven" >&2
    (cd "$ROOT" && mvn -q -pl "stack/$module" generate-resources) >&2
  fi
  cat "$file"
}

postgres_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] || die "PostgreSQL server not found under /usr/lib/postgresql; run: make deps"
  echo "$dir"
}

# PostgreSQL refuses to run as root: as root, run it in a user namespace where it is not.
as_unprivileged() {
  if [ "$(id -u)" -eq 0 ]; then unshare -U "$@"; else "$@"; fi
}

# A password per login, generated once per stack (a reset stack gets new ones).
secret() {
  local file="$SECRETS/$1"
  if [ ! -s "$file" ]; then
    mkdir -p "$SECRETS"
    chmod 700 "$SECRETS"
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$file")
  fi
  echo "$SECRETS/$1"
}

# The ACL file Valkey loads: the repository's least-privilege users with their passwords, an
# operator user, and the default user switched off (so nothing reaches the views unauthenticated).
valkey_acl_file() {
  local file="$STATE/valkey/users.acl" name rules
  (
    umask 077
    echo "user default off resetkeys -@all"
    echo "user tally-admin on >$(cat "$(secret valkey-admin)") ~* &* +@all"
    grep -v '^[[:space:]]*\(#\|$\)' "$ROOT/deploy/valkey/acl-rules.txt" | while read -r name rules; do
      echo "user $name $rules >$(cat "$(secret "valkey-${name#tally-}")")"
    done
  ) >"$file"
  echo "$file"
}

# valkey-cli as the operator against node 1 (-c: following a cluster's redirections).
valkey_cli() { valkey_cli_on "$VALKEY_PORT" "$@"; }

valkey_cli_on() {
  local port="$1" follow=()
  shift
  [ "$VALKEY_NODES" = 3 ] && follow=(-c)
  if [ "$STACK_AUTH" = 1 ]; then
    REDISCLI_AUTH="$(cat "$(secret valkey-admin)")" valkey-cli --user tally-admin -p "$port" "${follow[@]}" "$@"
  else
    valkey-cli -p "$port" "${follow[@]}" "$@"
  fi
}

# Node i of Valkey: service valkey (1), valkey-2, valkey-3; port TALLY_VALKEY_PORT + i - 1.
valkey_service() { if [ "$1" = 1 ]; then echo valkey; else echo "valkey-$1"; fi; }
valkey_port() { echo $((VALKEY_PORT + $1 - 1)); }
# host:port of every node, comma-separated: several nodes in a --valkey URL mean a cluster.
valkey_nodes() {
  local i out=""
  for ((i = 1; i <= VALKEY_NODES; i++)); do out+="${out:+,}127.0.0.1:$(valkey_port "$i")"; done
  echo "$out"
}

pg_password_env() {
  if [ "$STACK_AUTH" = 1 ]; then echo "PGPASSWORD=$(cat "$(secret postgres-owner)")"; else echo "PGPASSWORD="; fi
}

psql_owner() {
  local bin
  bin="$(postgres_bin)"
  env "$(pg_password_env)" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$@"
}

# A Log4j 2 configuration to the console (the service's log file) at root level $2, with the
# logger lines read from stdin appended.
console_log4j2() {
  {
    cat <<PROPS
rootLogger.level = $2
rootLogger.appenderRef.out.ref = out
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
PROPS
    cat
  } >"$1"
}

# Kafka node i (1-based): service kafka (i = 1) or kafka-<i>; broker port KAFKA_PORT + 2(i-1),
# controller port KAFKA_CONTROLLER_PORT + 2(i-1).
kafka_service() { if [ "$1" = 1 ]; then echo kafka; else echo "kafka-$1"; fi; }
kafka_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
kafka_controller_port() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }
kafka_bootstrap() {
  local i list=""
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do list+="${list:+,}127.0.0.1:$(kafka_port "$i")"; done
  echo "$list"
}

# One KRaft node (broker and controller in one) and a single-node quorum; or, with
# TALLY_KAFKA_BROKERS=3, three such nodes in one quorum (static voters), topics replicated 3 times
# with min.insync.replicas=2, one rack per node. All nodes start before any is waited for: a
# broker listens only once the controllers have a leader, which takes a majority.
start_kafka() {
  local i started=()
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do
    if running "$(kafka_service "$i")"; then
      log "$(kafka_service "$i") already running (pid $(pid_of "$(kafka_service "$i")"))"
    else
      launch_kafka_node "$i"
      started+=("$i")
    fi
  done
  for i in "${started[@]}"; do
    wait_for "Kafka on :$(kafka_port "$i")" 120 "$(kafka_service "$i")" port_open "$(kafka_port "$i")"
    log "$(printf '%-10s' "$(kafka_service "$i")") pid $(pid_of "$(kafka_service "$i")")  bootstrap 127.0.0.1:$(kafka_port "$i")"
  done
}

start_kafka_node() {
  running "$(kafka_service "$1")" && { log "$(kafka_service "$1") already running"; return; }
  launch_kafka_node "$1"
  wait_for "Kafka on :$(kafka_port "$1")" 120 "$(kafka_service "$1")" port_open "$(kafka_port "$1")"
  log "$(kafka_service "$1") pid $(pid_of "$(kafka_service "$1")")  bootstrap 127.0.0.1:$(kafka_port "$1")"
}

launch_kafka_node() {
  local node="$1" service port controller_port cp dir quorum replication isr voters="" v
  service="$(kafka_service "$node")"
  port="$(kafka_port "$node")"
  controller_port="$(kafka_controller_port "$node")"
  require_port_free "$service" "$port" TALLY_KAFKA_PORT
  require_port_free "$service-controller" "$controller_port" TALLY_KAFKA_CONTROLLER_PORT
  dir="$STATE/$service"
  cp="$(classpath kafka)"
  mkdir -p "$dir/data"
  if [ "$KAFKA_BROKERS" = 1 ]; then
    quorum="controller.quorum.bootstrap.servers=127.0.0.1:$controller_port"
    replication=1
    isr=1
  else
    for ((v = 1; v <= KAFKA_BROKERS; v++)); do
      voters+="${voters:+,}$v@127.0.0.1:$(kafka_controller_port "$v")"
    done
    quorum="controller.quorum.voters=$voters"
    replication=3
    isr=2
  fi
  cat >"$dir/server.properties" <<PROPS
# Generated by deploy/local/stack.sh: KRaft node $node of $KAFKA_BROKERS, broker and controller in one.
process.roles=broker,controller
node.id=$node
broker.rack=rack-$node
$quorum
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
default.replication.factor=$replication
min.insync.replicas=$isr
offsets.topic.replication.factor=$replication
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
PROPS
  console_log4j2 "$dir/log4j2.properties" INFO <<PROPS
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
PROPS
  local java_opts=("-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=file:$dir/log4j2.properties" "-Dtally.stack=$STATE")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster_id standalone=()
    # One cluster id for every node of the stack.
    if [ ! -s "$STATE/kafka-cluster-id" ]; then
      java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$STATE/kafka-cluster-id"
    fi
    cluster_id="$(cat "$STATE/kafka-cluster-id")"
    [ "$KAFKA_BROKERS" = 1 ] && standalone=(--standalone)
    log "formatting Kafka storage of $service (cluster $cluster_id)"
    java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool format "${standalone[@]}" \
      -t "$cluster_id" -c "$dir/server.properties" >>"$LOGS/$service.log" 2>&1 \
      || die "formatting Kafka storage failed; see $LOGS/$service.log"
  fi
  launch "$service" java "${java_opts[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties"
}


# One valkey-server, or with TALLY_VALKEY_NODES=3 three masters of one cluster (16384 slots split
# by valkey-cli --cluster create, no replicas; a node restarted keeps its slots from nodes.conf).
start_valkey() {
  local i started=()
  command -v valkey-server >/dev/null || die "valkey-server not found; run: make deps"
  for ((i = 1; i <= VALKEY_NODES; i++)); do
    if running "$(valkey_service "$i")"; then
      log "$(valkey_service "$i") already running (pid $(pid_of "$(valkey_service "$i")"))"
    else
      launch_valkey_node "$i"
      started+=("$i")
    fi
  done
  for i in "${started[@]}"; do
    wait_for "valkey on :$(valkey_port "$i")" 30 "$(valkey_service "$i")" valkey_ready "$(valkey_port "$i")"
    log "$(printf '%-10s' "$(valkey_service "$i")") pid $(pid_of "$(valkey_service "$i")")  redis://127.0.0.1:$(valkey_port "$i")"
  done
  [ "$VALKEY_NODES" = 3 ] && form_valkey_cluster
  return 0
}

launch_valkey_node() {
  local node="$1" service port dir acl=() cluster=()
  service="$(valkey_service "$node")"
  port="$(valkey_port "$node")"
  dir="$STATE/$service"
  require_port_free "$service" "$port" TALLY_VALKEY_PORT
  mkdir -p "$dir" "$STATE/valkey"
  if [ "$STACK_AUTH" = 1 ]; then
    # Written at every start, as before the cluster: rules changed in the repository take effect.
    acl=(--aclfile "$(valkey_acl_file)")
  fi
  if [ "$VALKEY_NODES" = 3 ]; then
    require_port_free "$service-bus" $((port + 10000)) TALLY_VALKEY_PORT
    cluster=(--cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000)
  fi
  # No persistence: Valkey is a cache of views; Kafka is the truth and PostgreSQL the durable copy.
  launch "$service" valkey-server --port "$port" --bind 127.0.0.1 --dir "$dir" \
    --save "" --appendonly no --daemonize no --protected-mode no "${acl[@]}" "${cluster[@]}"
}

form_valkey_cluster() {
  local i
  if ! valkey_cli_on "$VALKEY_PORT" cluster info 2>/dev/null | grep -q '^cluster_slots_assigned:16384'; then
    local create=()
    for ((i = 1; i <= VALKEY_NODES; i++)); do create+=("127.0.0.1:$(valkey_port "$i")"); done
    log "forming the Valkey cluster of ${create[*]}"
    valkey_cli_on "$VALKEY_PORT" --cluster create "${create[@]}" --cluster-replicas 0 --cluster-yes \
      >>"$LOGS/valkey.log" 2>&1 || die "valkey-cli --cluster create failed; see $LOGS/valkey.log"
  fi
  wait_for "the Valkey cluster" 60 valkey valkey_cluster_ok
  log "valkey     cluster of $VALKEY_NODES masters: $(valkey_nodes)"
}

valkey_cluster_ok() {
  local i
  for ((i = 1; i <= VALKEY_NODES; i++)); do
    valkey_cli_on "$(valkey_port "$i")" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

valkey_ready() { [ "$(valkey_cli_on "${1:-$VALKEY_PORT}" ping 2>/dev/null)" = "PONG" ]; }

start_postgres() {
  running postgres && { log "postgres already running (pid $(pid_of postgres))"; return; }
  require_port_free postgres "$PG_PORT" TALLY_PG_PORT
  local bin dir="$STATE/postgres"
  bin="$(postgres_bin)"
  mkdir -p "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising PostgreSQL data directory"
    local auth=(--auth=trust)
    if [ "$STACK_AUTH" = 1 ]; then
      # The password file must be readable inside the user namespace initdb runs in.
      cp "$(secret postgres-owner)" "$dir/owner.pw" && chmod 644 "$dir/owner.pw"
      auth=(--auth=scram-sha-256 "--pwfile=$dir/owner.pw")
    fi
    as_unprivileged "$bin/initdb" -D "$dir/data" -U "$PG_USER" "${auth[@]}" --encoding=UTF8 \
      --locale=C >>"$LOGS/postgres.log" 2>&1 || die "initdb failed; see $LOGS/postgres.log"
    rm -f "$dir/owner.pw"
  fi
  local wrap=()
  if [ "$(id -u)" -eq 0 ]; then wrap=(unshare -U); fi
  launch postgres "${wrap[@]}" "$bin/postgres" -D "$dir/data" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
    -c shared_preload_libraries=pg_stat_statements \
    -c shared_buffers="$PG_SHARED_BUFFERS" -c max_wal_size="$PG_MAX_WAL_SIZE"
  wait_for "PostgreSQL on :$PG_PORT" 60 postgres "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
  if [ "$(psql_owner -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]; then
    psql_owner -q -d postgres -c "CREATE DATABASE $PG_DATABASE"
  fi
  [ "$STACK_AUTH" = 1 ] && postgres_roles
  log "postgres   pid $(pid_of postgres)  postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DATABASE"
}

# The schema migrated as its owner, then the least-privilege roles (deploy/postgres/roles.sql) and
# their logins: tally_job (the projection job, --no-migrate) and tally_api (readers).
postgres_roles() {
  local cli="$ROOT/cli/target/tally.jar"
  if [ ! -f "$cli" ]; then
    log "postgres: $cli not built, so the schema and the job's roles are not set up yet (make build, then: $0 restart postgres)"
    return 0
  fi
  env "$(pg_password_env)" TALLY_PG_PASSWORD="$(cat "$(secret postgres-owner)")" java -jar "$cli" db migrate \
    --jdbc-url "jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DATABASE" --jdbc-user "$PG_USER" \
    --roles-file "$ROOT/deploy/postgres/roles.sql" >>"$LOGS/postgres.log" 2>&1 \
    || die "migrating the schema failed; see $LOGS/postgres.log"
  local login group
  for login in tally_job:tally_writer tally_api:tally_reader; do
    group="${login#*:}"
    login="${login%%:*}"
    psql_owner -q -d "$PG_DATABASE" -v ON_ERROR_STOP=1 -v login="$login" -v group="$group" \
      -v password="$(cat "$(secret "postgres-${login#tally_}")")" >>"$LOGS/postgres.log" 2>&1 <<'SQL' \
      || die "creating the PostgreSQL login $login failed; see $LOGS/postgres.log"
SELECT format('CREATE ROLE %I LOGIN IN ROLE %I', :'login', :'group')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'login') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'login', :'password') \gexec
SQL
  done
}

# ZooKeeper for Flink's JobManager HA, run from the ZooKeeper server inside Flink's own shaded
# ZooKeeper jar (on the Flink classpath): no other download. Standalone, one node, no admin server.
start_zookeeper() {
  running zookeeper && { log "zookeeper already running (pid $(pid_of zookeeper))"; return; }
  require_port_free zookeeper "$ZOOKEEPER_PORT" TALLY_ZOOKEEPER_PORT
  local cp dir="$STATE/zookeeper"
  cp="$(classpath flink)"
  mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<CFG
# Generated by deploy/local/stack.sh: one ZooKeeper node for Flink's JobManager HA.
tickTime=1000
minSessionTimeout=2000
dataDir=$dir/data
clientPort=$ZOOKEEPER_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
  console_log4j2 "$dir/log4j2.properties" WARN </dev/null
  launch zookeeper java -Xmx256m -Djava.awt.headless=true \
    "-Dlog4j.configurationFile=file:$dir/log4j2.properties" "-Dtally.stack=$STATE" -cp "$cp" \
    org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg"
  wait_for "ZooKeeper on :$ZOOKEEPER_PORT" 60 zookeeper zookeeper_ready
  log "zookeeper  pid $(pid_of zookeeper)  127.0.0.1:$ZOOKEEPER_PORT (Flink HA)"
}

zookeeper_ready() {
  local reply
  reply="$( { exec 3<>"/dev/tcp/127.0.0.1/$ZOOKEEPER_PORT" && printf 'ruok' >&3 && timeout 2 cat <&3; } 2>/dev/null)" || true
  [ "$reply" = imok ]
}

# The state changelog (docs/operations.md, "Checkpoints"): a checkpoint's synchronous part is then a
# note of the log's position, not a RocksDB flush. Measured here at 5k events/s: the job's pause per
# checkpoint 140-760 ms -> 2-17 ms, Kafka append -> Valkey p99 414 -> 94 ms (BENCHMARKS.md).
flink_changelog_conf() {
  [ "$FLINK_CHANGELOG" = 1 ] || { echo "state.changelog.enabled: false"; return; }
  cat <<YAML
state.changelog.enabled: true
state.changelog.storage: filesystem
state.changelog.dstl.dfs.base-path: file://$STATE/flink/changelog
YAML
}

# JobManager high availability (TALLY_FLINK_HA=1): the leader, the submitted jobs and their latest
# checkpoints are found through ZooKeeper; job graphs, jars and checkpoint pointers lie in storageDir.
# A short session timeout: a JobManager killed with -9 leaves its leadership when its ZooKeeper
# session expires, and a restarted one waits that long before it recovers the jobs.
flink_ha_conf() {
  [ "$FLINK_HA" = 1 ] || return 0
  cat <<YAML
high-availability.type: zookeeper
high-availability.zookeeper.quorum: 127.0.0.1:$ZOOKEEPER_PORT
high-availability.zookeeper.path.root: /tally
high-availability.cluster-id: /local
high-availability.storageDir: file://$STATE/flink/ha
high-availability.zookeeper.client.session-timeout: 6000
YAML
}

flink_conf() {
  local conf="$STATE/flink/conf"
  mkdir -p "$conf" "$STATE/flink/checkpoints" "$STATE/flink/savepoints" "$STATE/flink/tmp" \
    "$STATE/flink/rocksdb" "$STATE/flink/upload" "$STATE/flink/changelog" "$STATE/flink/ha"
  cat >"$conf/config.yaml" <<YAML
# Generated by deploy/local/stack.sh (Flink 2 reads config.yaml). Edit the script, not this file.
jobmanager.rpc.address: 127.0.0.1
jobmanager.rpc.port: $FLINK_RPC_PORT
jobmanager.bind-host: 127.0.0.1
jobmanager.memory.process.size: $FLINK_JM_MEMORY
# Each job submitted over REST runs its main() in the JobManager in a class loader of its own, and
# Flink 2.2 keeps ~2-10 MB of those classes after the job ends (measured: one ChildFirstClassLoader
# per finished job stays reachable); with the default 256 MB, a dozen submissions exhaust the
# metaspace and the JobManager exits. A session cluster that takes many submissions needs room.
jobmanager.memory.jvm-metaspace.size: 512m
taskmanager.bind-host: 127.0.0.1
taskmanager.host: 127.0.0.1
taskmanager.numberOfTaskSlots: $FLINK_SLOTS
taskmanager.memory.process.size: $FLINK_TM_MEMORY
parallelism.default: 2
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: $FLINK_REST_PORT
web.upload.dir: $STATE/flink/upload
state.backend.type: rocksdb
execution.checkpointing.incremental: true
execution.checkpointing.dir: file://$STATE/flink/checkpoints
execution.checkpointing.savepoint-dir: file://$STATE/flink/savepoints
state.backend.rocksdb.localdir: $STATE/flink/rocksdb
$(flink_changelog_conf)
$(flink_ha_conf)
io.tmp.dirs: $STATE/flink/tmp
restart-strategy.type: exponential-delay
# The REST API serves metrics at most this stale (the demo and SREs read them there).
metrics.fetcher.update-interval: 1000
# Every metric, Tally's included, in Prometheus' format (docs/metrics.md); Prometheus scrapes it.
metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
metrics.reporter.prom.port: $FLINK_METRICS_PORTS
${TALLY_FLINK_EXTRA_CONFIG:-}
YAML
  cat >"$conf/log4j.properties" <<PROPS
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = \${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.akka.name = org.apache.pekko
logger.akka.level = WARN
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = ERROR
PROPS
  echo "$conf"
}

# BashJavaUtils derives the JVM memory flags and dynamic options from config.yaml, exactly as
# Flink's own jobmanager.sh / taskmanager.sh do. Prints two lines: JVM flags, then -D options.
flink_resource_params() {
  local cp="$1" conf="$2" which="$3" out
  out="$(java -cp "$cp" org.apache.flink.runtime.util.bash.BashJavaUtils "$which" --configDir "$conf" 2>&1)" \
    || die "BashJavaUtils $which failed: $out"
  echo "$out" | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://' | tail -n 2
}

start_flink() {
  local cp conf params jvm dynamic tm count=0
  if running flink-jobmanager && all_taskmanagers_running; then
    log "flink already running (jobmanager pid $(pid_of flink-jobmanager), taskmanager pids $(taskmanager_pids))"
    return
  fi
  cp="$(classpath flink)"
  conf="$(flink_conf)"
  if ! running flink-jobmanager; then
    require_port_free flink-rest "$FLINK_REST_PORT" TALLY_FLINK_REST_PORT
    require_port_free flink-rpc "$FLINK_RPC_PORT" TALLY_FLINK_RPC_PORT
    params="$(flink_resource_params "$cp" "$conf" GET_JM_RESOURCE_PARAMS)"
    jvm="$(echo "$params" | head -n 1)"
    dynamic="$(echo "$params" | tail -n 1)"
    # shellcheck disable=SC2086 # the flags are whitespace-separated on purpose
    launch flink-jobmanager java $jvm "${JAVA_OPENS[@]}" "-Dlog.file=$LOGS/flink-jobmanager.log" \
      "-Dlog4j.configurationFile=file:$conf/log4j.properties" "-Dtally.stack=$STATE" -cp "$cp" \
      org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
      --configDir "$conf" --executionMode cluster $dynamic
    wait_for "Flink REST API on :$FLINK_REST_PORT" 90 flink-jobmanager flink_rest_up
  fi
  for tm in "${TASKMANAGERS[@]}"; do
    count=$((count + 1))
    running "$tm" && continue
    params="$(flink_resource_params "$cp" "$conf" GET_TM_RESOURCE_PARAMS)"
    jvm="$(echo "$params" | head -n 1)"
    dynamic="$(echo "$params" | tail -n 1)"
    # shellcheck disable=SC2086
    launch "$tm" java $jvm "${JAVA_OPENS[@]}" "-Dlog.file=$LOGS/$tm.log" \
      "-Dlog4j.configurationFile=file:$conf/log4j.properties" "-Dtally.stack=$STATE" -cp "$cp" \
      org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$conf" $dynamic
    wait_for "$count registered TaskManager(s)" 90 "$tm" flink_taskmanagers_registered "$cp" "$count"
  done
  log "flink      jobmanager pid $(pid_of flink-jobmanager), taskmanager pids $(taskmanager_pids)  http://127.0.0.1:$FLINK_REST_PORT"
}

all_taskmanagers_running() {
  local tm
  for tm in "${TASKMANAGERS[@]}"; do running "$tm" || return 1; done
}

taskmanager_pids() {
  local tm pids=""
  for tm in "${TASKMANAGERS[@]}"; do pids+="${pids:+ }$(pid_of "$tm")"; done
  echo "$pids"
}

start_prometheus() {
  running prometheus && { log "prometheus already running (pid $(pid_of prometheus))"; return; }
  command -v prometheus >/dev/null || die "prometheus not found; run: make deps"
  require_port_free prometheus "$PROMETHEUS_PORT" TALLY_PROMETHEUS_PORT
  local dir="$STATE/prometheus" first last targets port
  mkdir -p "$dir/data"
  first="${FLINK_METRICS_PORTS%-*}"
  last="${FLINK_METRICS_PORTS#*-}"
  targets=""
  for ((port = first; port <= last; port++)); do targets+="'127.0.0.1:$port', "; done
  cat >"$dir/prometheus.yml" <<YAML
# Generated by deploy/local/stack.sh; the alert rules are the repository's own.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $ROOT/deploy/prometheus/alerts.yml
scrape_configs:
  - job_name: flink
    static_configs:
      - targets: [${targets%, }]
  - job_name: tally-serve
    static_configs:
      - targets: ['127.0.0.1:$SERVE_PORT']
  - job_name: postgres
    static_configs:
      - targets: ['127.0.0.1:$PG_EXPORTER_PORT']
  - job_name: valkey
    static_configs:
      - targets: ['127.0.0.1:$VALKEY_EXPORTER_PORT']
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROMETHEUS_PORT']
YAML
  launch prometheus prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --storage.tsdb.retention.time=2d
  wait_for "Prometheus on :$PROMETHEUS_PORT" 60 prometheus prometheus_ready
  log "prometheus pid $(pid_of prometheus)  http://127.0.0.1:$PROMETHEUS_PORT"
}

# Debian's exporters for PostgreSQL and Valkey (the Redis exporter speaks to Valkey), scraped by
# the stack's Prometheus: connections, transactions, locks, memory, commands (docs/metrics.md).
start_exporters() {
  command -v prometheus-postgres-exporter >/dev/null && command -v prometheus-redis-exporter \
    >/dev/null || die "the Prometheus exporters are not installed; run: make deps"
  if ! running postgres-exporter; then
    require_port_free postgres-exporter "$PG_EXPORTER_PORT" TALLY_PG_EXPORTER_PORT
    mkdir -p "$STATE/postgres-exporter"
    local pg_login="$PG_USER"
    [ "$STACK_AUTH" = 1 ] && pg_login="$PG_USER:$(cat "$(secret postgres-owner)")"
    DATA_SOURCE_NAME="postgresql://$pg_login@127.0.0.1:$PG_PORT/$PG_DATABASE?sslmode=disable" \
      launch postgres-exporter prometheus-postgres-exporter \
      --web.listen-address="127.0.0.1:$PG_EXPORTER_PORT"
    wait_for "the PostgreSQL exporter on :$PG_EXPORTER_PORT" 30 postgres-exporter \
      port_open "$PG_EXPORTER_PORT"
  fi
  if ! running valkey-exporter; then
    require_port_free valkey-exporter "$VALKEY_EXPORTER_PORT" TALLY_VALKEY_EXPORTER_PORT
    mkdir -p "$STATE/valkey-exporter"
    local login=()
    [ "$STACK_AUTH" = 1 ] && login=(-redis.user tally-admin -redis.password-file "$(valkey_exporter_passwords)")
    launch valkey-exporter prometheus-redis-exporter -redis.addr "redis://127.0.0.1:$VALKEY_PORT" \
      "${login[@]}" -web.listen-address "127.0.0.1:$VALKEY_EXPORTER_PORT"
    wait_for "the Valkey exporter on :$VALKEY_EXPORTER_PORT" 30 valkey-exporter \
      port_open "$VALKEY_EXPORTER_PORT"
  fi
  log "exporters  postgres pid $(pid_of postgres-exporter) :$PG_EXPORTER_PORT, valkey pid $(pid_of valkey-exporter) :$VALKEY_EXPORTER_PORT"
}

# The exporter's password file maps an address to its password (JSON).
valkey_exporter_passwords() {
  local file="$SECRETS/valkey-exporter.json"
  (umask 077 && printf '{"redis://127.0.0.1:%s": "%s"}\n' "$VALKEY_PORT" "$(cat "$(secret valkey-admin)")" >"$file")
  echo "$file"
}

prometheus_ready() { curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1; }

flink_rest_up() { curl -sf "http://127.0.0.1:$FLINK_REST_PORT/overview" >/dev/null 2>&1; }
# At least $2 TaskManagers registered with the JobManager ($1: the Flink classpath; the REST reply is
# parsed as JSON by deploy/local/tools/RegisteredTaskManagers.java).
flink_taskmanagers_registered() {
  local registered
  registered="$(java -cp "$1" "$ROOT/deploy/local/tools/RegisteredTaskManagers.java" \
    "http://127.0.0.1:$FLINK_REST_PORT" 2>/dev/null)" || return 1
  [ "${registered:-0}" -ge "$2" ]
}

stop_service() {
  local service="$1" pid
  pid="$(pid_of "$service")"
  if [ -z "$pid" ]; then return; fi
  if [ -n "${2:-}" ] && ! kill -0 "$pid" 2>/dev/null; then
    # $2: the caller signalled it already (stop_kafka_nodes) and it has ended
    log "stopped $service (pid $pid)"
  elif is_ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$service (pid $pid) did not stop within 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    fi
    log "stopped $service (pid $pid)"
  else
    log "$service: recorded pid $pid is not running (or not ours); nothing to stop"
  fi
  rm -f "$PIDS/$service.pid"
}

address_of() {
  case "$1" in
    kafka) echo "127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)" ;;
    kafka-*) echo "127.0.0.1:$(kafka_port "${1#kafka-}") (controller :$(kafka_controller_port "${1#kafka-}"))" ;;
    zookeeper) echo "127.0.0.1:$ZOOKEEPER_PORT (Flink HA, state $STATE/flink/ha)" ;;
    valkey) echo "redis://127.0.0.1:$VALKEY_PORT$([ "$VALKEY_NODES" = 3 ] && echo " (cluster of $(valkey_nodes))")" ;;
    valkey-[0-9]*) echo "redis://127.0.0.1:$(valkey_port "${1#valkey-}")" ;;
    postgres) echo "postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DATABASE" ;;
    flink-jobmanager) echo "http://127.0.0.1:$FLINK_REST_PORT (rpc :$FLINK_RPC_PORT)" ;;
    flink-taskmanager*) echo "$FLINK_SLOTS slots, $FLINK_TM_MEMORY" ;;
    prometheus) echo "http://127.0.0.1:$PROMETHEUS_PORT (scrapes Flink on :$FLINK_METRICS_PORTS)" ;;
    postgres-exporter) echo "http://127.0.0.1:$PG_EXPORTER_PORT/metrics" ;;
    valkey-exporter) echo "http://127.0.0.1:$VALKEY_EXPORTER_PORT/metrics" ;;
    tally-serve) echo "http://127.0.0.1:$SERVE_PORT/v1/ (only after: stack.sh serve)" ;;
  esac
}

cmd_up() {
  mkdir -p "$PIDS" "$LOGS"
  command -v curl >/dev/null || die "curl not found; run: make deps"
  start_kafka
  start_valkey
  start_postgres
  if [ "$FLINK_HA" = 1 ]; then start_zookeeper; fi
  start_flink
  if [ "${TALLY_PROMETHEUS:-1}" != 0 ]; then
    start_exporters
    start_prometheus
  fi
  log "up; state and logs under $STATE"
}

cmd_serve() {
  mkdir -p "$PIDS" "$LOGS"
  running tally-serve && { log "tally-serve already running (pid $(pid_of tally-serve))"; return; }
  [ -f "$ROOT/cli/target/tally.jar" ] || die "cli/target/tally.jar not found; run: make build"
  require_port_free tally-serve "$SERVE_PORT" TALLY_SERVE_PORT
  local valkey pg_user="$PG_USER" credentials=()
  valkey="redis://$(valkey_nodes)"
  if [ "$STACK_AUTH" = 1 ]; then
    valkey="redis://tally-reader@$(valkey_nodes)"
    pg_user=tally_api
    credentials=(TALLY_VALKEY_PASSWORD="$(cat "$(secret valkey-reader)")"
      TALLY_PG_PASSWORD="$(cat "$(secret postgres-api)")")
  fi
  # env hands the passwords to the server through its environment, then execs it.
  launch tally-serve env "${credentials[@]}" java -jar "$ROOT/cli/target/tally.jar" serve \
    --port "$SERVE_PORT" --valkey "$valkey" \
    --jdbc-url "jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DATABASE" --jdbc-user "$pg_user"
  wait_for "tally serve" 30 tally-serve port_open "$SERVE_PORT"
  log "tally-serve pid $(pid_of tally-serve)  http://127.0.0.1:$SERVE_PORT/v1/"
}

start_service() {
  case "$1" in
    kafka) start_kafka_node 1 ;;
    kafka-*) start_kafka_node "${1#kafka-}" ;;
    valkey | valkey-[0-9]*) start_valkey ;;
    postgres) start_postgres ;;
    zookeeper) start_zookeeper ;;
    flink-jobmanager | flink-taskmanager*) start_flink ;;
    prometheus) start_prometheus ;;
    postgres-exporter | valkey-exporter) start_exporters ;;
    tally-serve) cmd_serve ;;
  esac
}

known_service() {
  local service
  for service in "${SERVICES[@]}"; do [ "$service" = "$1" ] && return 0; done
  echo "usage: $0 kill|restart SERVICE; SERVICE is one of: ${SERVICES[*]} (got: '${1:-}')" >&2
  exit 2
}

cmd_kill() {
  known_service "${1:-}"
  local pid
  pid="$(pid_of "$1")"
  is_ours "$pid" || die "$1 is not running"
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$PIDS/$1.pid"
  log "killed $1 (pid $pid, SIGKILL)"
}

cmd_restart() {
  known_service "${1:-}"
  stop_service "$1"
  start_service "$1"
}

cmd_down() {
  local i service kafka_stopped=0
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    service="${SERVICES[$i]}"
    if [ "$service" = kafka ] || [[ "$service" == kafka-* ]]; then
      [ "$kafka_stopped" = 1 ] || stop_kafka_nodes
      kafka_stopped=1
    else
      stop_service "$service"
    fi
  done
}

# The Kafka nodes get the signal together: stopped one after the other, the last nodes of a 3-node
# quorum have no quorum left to shut down through and wait out the 30 s before a kill.
stop_kafka_nodes() {
  local node pid signalled=" "
  for node in "${KAFKA_SERVICES[@]}"; do
    pid="$(pid_of "$node")"
    if [ -n "$pid" ] && is_ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      signalled+="$node "
    fi
  done
  for ((node = ${#KAFKA_SERVICES[@]} - 1; node >= 0; node--)); do
    local service="${KAFKA_SERVICES[$node]}"
    stop_service "$service" "$([[ "$signalled" == *" $service "* ]] && echo signalled)"
  done
}

# The CLI's environment for this stack, as its operator (tally replay, cache warm, verify need the
# owner's rights): eval "$(deploy/local/stack.sh env)".
cmd_env() {
  echo "export TALLY_BOOTSTRAP_SERVERS=$(kafka_bootstrap)"
  echo "export TALLY_FLINK_REST=http://127.0.0.1:$FLINK_REST_PORT"
  echo "export TALLY_JDBC_URL=jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DATABASE"
  echo "export TALLY_JDBC_USER=$PG_USER"
  if [ "$STACK_AUTH" = 1 ]; then
    echo "export TALLY_VALKEY=redis://tally-admin@$(valkey_nodes)"
    echo "export TALLY_VALKEY_PASSWORD=$(cat "$(secret valkey-admin)")"
    echo "export TALLY_PG_PASSWORD=$(cat "$(secret postgres-owner)")"
    echo "export PGPASSWORD=$(cat "$(secret postgres-owner)")"
    echo "export REDISCLI_AUTH=$(cat "$(secret valkey-admin)")"
  else
    echo "export TALLY_VALKEY=redis://$(valkey_nodes)"
  fi
}

# The projection job's store options on this stack, one per line (mapfile -t args < <(… job-args)):
# with credentials, its own ACL user and PostgreSQL login, passwords as files (what the job
# publishes names the files, not the secrets, so tally replay can restart it).
cmd_job_args() {
  if [ "$STACK_AUTH" = 1 ]; then
    printf '%s\n' --valkey "redis://tally-job@$(valkey_nodes)" \
      --valkey-password-file "$(secret valkey-job)" \
      --jdbc-url "jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DATABASE" --jdbc-user tally_job \
      --jdbc-password-file "$(secret postgres-job)" --no-migrate
  else
    printf '%s\n' --valkey "redis://$(valkey_nodes)" \
      --jdbc-url "jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DATABASE"
  fi
}

cmd_status() {
  local service pid state any_down=0
  printf '%-18s %-8s %-8s %s\n' SERVICE STATE PID ADDRESS
  for service in "${SERVICES[@]}"; do
    pid="$(pid_of "$service")"
    if is_ours "$pid"; then state=running; else state=stopped; pid="-"; any_down=1; fi
    printf '%-18s %-8s %-8s %s\n' "$service" "$state" "$pid" "$(address_of "$service")"
  done
  echo "state and logs: $STATE"
  return "$any_down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  serve) cmd_serve ;;
  kill) cmd_kill "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  env) cmd_env ;;
  valkey-cli) shift; valkey_cli "$@" ;;
  job-args) cmd_job_args ;;
  -h | --help | help)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
  *)
    echo "usage: $0 up|down|status|serve|env|job-args|kill SERVICE|restart SERVICE|--help (got: '${1:-}')" >&2
    exit 2 ;;
esac
