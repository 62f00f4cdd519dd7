#!/usr/bin/env bash
# Local infrastructure without Docker: PostgreSQL 15, Redis 7 and RabbitMQ 3.10 from Debian's packages,
# Apache Kafka 3.9 (KRaft, single broker+controller) from its Maven Central jars.
#
#   infra/local.sh up      install what is missing, start what is not running, wait until each answers
#   infra/local.sh down    stop only what `up` started (services found running are left alone)
#   infra/local.sh status  say what answers
#
# State, logs and caches live in one git-ignored folder: $HOOKPOST_STATE_DIR (default <repo>/.hookpost).
# Ports match docker-compose.yml: 5432, 6379, 5672, 9092 (controller 9093), all on 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${HOOKPOST_STATE_DIR:-$ROOT/.hookpost}
PG_PORT=${HOOKPOST_PG_PORT:-5432}
REDIS_PORT=${HOOKPOST_REDIS_PORT:-6379}
AMQP_PORT=${HOOKPOST_AMQP_PORT:-5672}
KAFKA_PORT=${HOOKPOST_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${HOOKPOST_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_VERSION=3.9.1
PG_BIN=/usr/lib/postgresql/15/bin
DB_USER=hookpost
DB_NAME=hookpost
RABBIT_USER=hookpost

LOGS=$STATE/logs
RUN=$STATE/run
# Passwords made for this checkout, and the connection URLs with them (what scripts/lib.sh gives the services).
CREDENTIALS=$STATE/credentials.env

# Everything made here (state, logs, Kafka's data files, passwords) is readable by its owner only.
umask 077

log() { printf '[infra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# secret NAME: a random password kept in $STATE/NAME (0600), made once for this checkout.
secret() {
  local file=$STATE/$1
  if [[ ! -s $file ]]; then
    mkdir -p "$STATE"
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$file.new.$$" && mv "$file.new.$$" "$file"
  fi
  chmod 600 "$file"
  cat "$file"
}

# wait_for NAME TIMEOUT_S LOGFILE COMMAND...: poll COMMAND until it succeeds; on timeout print the log's end.
wait_for() {
  local name=$1 timeout=$2 logfile=$3; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$name did not become ready within ${timeout}s; end of $logfile:"
      tail -n 60 "$logfile" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.5
  done
}

ensure_packages() {
  local missing=()
  dpkg -s postgresql-15 >/dev/null 2>&1 || missing+=(postgresql-15 postgresql-client-15)
  dpkg -s redis-server >/dev/null 2>&1 || missing+=(redis-server)
  dpkg -s rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing packages ${missing[*]}; run as root or install them"
  log "installing ${missing[*]}"
  # Keep the packages' init scripts from starting a second copy of each service: we start our own.
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -q >"$LOGS/apt.log" 2>&1 || { tail -n 30 "$LOGS/apt.log" >&2; die "apt-get update failed"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$LOGS/apt.log" 2>&1 \
    || { tail -n 30 "$LOGS/apt.log" >&2; ((made_policy)) && rm -f /usr/sbin/policy-rc.d; die "apt-get install failed"; }
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  return 0
}

# PostgreSQL and RabbitMQ run as their own users, so their data must be in a folder they can reach. When the
# checkout sits under a private home (mode 700), their part of the state moves to /var/lib/hookpost/<hash>.
SVC_STATE=$STATE
choose_service_state() {
  local user
  for user in postgres rabbitmq; do
    id "$user" >/dev/null 2>&1 || continue
    if ! su -s /bin/sh "$user" -c "cd / && test -x '$STATE'" 2>/dev/null; then
      SVC_STATE=/var/lib/hookpost/$(printf '%s' "$STATE" | md5sum | cut -c1-12)
      mkdir -p "$SVC_STATE" && chmod 755 /var/lib/hookpost "$SVC_STATE"
      log "$user cannot reach $STATE; keeping PostgreSQL and RabbitMQ data in $SVC_STATE"
      return
    fi
  done
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start_postgres() {
  if pg_ready; then
    log "postgres: reusing the server on :$PG_PORT"
  else
    local data=$SVC_STATE/postgres/data sock=$SVC_STATE/postgres/run pglog=$SVC_STATE/postgres/postgres.log
    mkdir -p "$data" "$sock"
    touch "$pglog"
    chown -R postgres:postgres "$SVC_STATE/postgres"
    chmod 700 "$data"
    if [[ ! -s $data/PG_VERSION ]]; then
      log "postgres: initdb"
      su -s /bin/sh postgres -c "cd / && '$PG_BIN/initdb' -D '$data' -U postgres -E UTF8 --auth-local=peer --auth-host=scram-sha-256" \
        >>"$pglog" 2>&1 || { tail -n 30 "$pglog" >&2; die "initdb failed"; }
    fi
    # Clusters made before local logins needed a matching OS user: no more "trust" on the socket.
    sed -i -E 's/^(local[[:space:]]+all[[:space:]]+all[[:space:]]+)trust/\1peer/' "$data/pg_hba.conf"
    chmod 700 "$sock"
    log "postgres: starting on 127.0.0.1:$PG_PORT"
    # The socket is the postgres user's alone (0700, peer logins); TCP on loopback needs a password.
    su -s /bin/sh postgres -c "cd / && '$PG_BIN/pg_ctl' -D '$data' -l '$pglog' -w -t 60 start \
      -o \"-p $PG_PORT -k '$sock' -c unix_socket_permissions=0700 -c listen_addresses=127.0.0.1 -c max_connections=300\"" >/dev/null \
      || { tail -n 40 "$pglog" >&2; die "postgres failed to start"; }
    echo "$data" >"$RUN/postgres.started"
    wait_for postgres 60 "$pglog" pg_ready
  fi
  # The services' role and database, with this checkout's password. Over our own socket when we started it,
  # else Debian's peer socket.
  local DB_PASSWORD; DB_PASSWORD=$(secret db-password)
  if ! PGPASSWORD=$DB_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" -Atqc 'select 1' >/dev/null 2>&1; then
    local host=/var/run/postgresql
    [[ -f $RUN/postgres.started ]] && host=$(dirname "$(cat "$RUN/postgres.started")")/run
    log "postgres: creating role and database $DB_NAME"
    su -s /bin/sh postgres -c "cd / && psql -h '$host' -p $PG_PORT -v ON_ERROR_STOP=1 -Atq" <<SQL || die "could not create the hookpost role"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME')\gexec
SQL
  fi
}

redis_cli() { REDISCLI_AUTH=$(secret redis-password) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_ready() { [[ $(redis_cli ping 2>/dev/null) == PONG ]]; }
REDIS_AUTH=1

start_redis() {
  if redis_ready; then log "redis: reusing the server on :$REDIS_PORT"; return; fi
  if [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; then
    # Someone else's Redis without a password: use it as it is, and say so.
    log "redis: reusing the server on :$REDIS_PORT, which has no password (one we start has)"
    REDIS_AUTH=0
    return
  fi
  mkdir -p "$STATE/redis"
  log "redis: starting on 127.0.0.1:$REDIS_PORT"
  # The password goes in through a config on stdin, not the command line (which every local user can read).
  printf 'requirepass %s\n' "$(secret redis-password)" | redis-server - --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save '' --appendonly no --dir "$STATE/redis" --pidfile "$RUN/redis.pid" --logfile "$LOGS/redis.log" \
    >/dev/null || die "redis-server failed to start"
  echo "$REDIS_PORT" >"$RUN/redis.started"
  wait_for redis 30 "$LOGS/redis.log" redis_ready
}

rabbit_env() {
  export RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$AMQP_PORT
  export RABBITMQ_MNESIA_BASE=$SVC_STATE/rabbitmq/mnesia RABBITMQ_LOG_BASE=$SVC_STATE/rabbitmq/log
  export RABBITMQ_PID_FILE=$SVC_STATE/rabbitmq/rabbit.pid ERL_EPMD_ADDRESS=127.0.0.1
  # Erlang distribution (25672, how rabbitmqctl talks to the node) on loopback only, like epmd.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# Our user with this checkout's password, and no guest: the broker takes only what we configured.
rabbit_user() {
  local password; password=$(secret rabbitmq-password)
  if rabbitmqctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$RABBIT_USER"; then
    rabbitmqctl -q change_password "$RABBIT_USER" "$password" >/dev/null
  else
    rabbitmqctl -q add_user "$RABBIT_USER" "$password" >/dev/null
  fi
  rabbitmqctl -q set_permissions -p / "$RABBIT_USER" '.*' '.*' '.*' >/dev/null
  if [[ -f $RUN/rabbitmq.started ]]; then rabbitmqctl -q delete_user guest >/dev/null 2>&1 || true; fi
}

# `rabbitmq-diagnostics ping` answers before the broker is ready; check_running waits for the real thing.
rabbit_ready() { port_open "$AMQP_PORT" && rabbitmq-diagnostics -q check_running; }

start_rabbitmq() {
  rabbit_env
  if port_open "$AMQP_PORT"; then
    log "rabbitmq: reusing the broker on :$AMQP_PORT"
    rabbit_user || log "rabbitmq: could not set up user $RABBIT_USER on a broker we did not start"
    return
  fi
  mkdir -p "$SVC_STATE/rabbitmq/mnesia" "$SVC_STATE/rabbitmq/log"
  chown -R rabbitmq:rabbitmq "$SVC_STATE/rabbitmq"
  log "rabbitmq: starting rabbit@localhost on 127.0.0.1:$AMQP_PORT"
  # The Debian wrapper re-runs itself as user rabbitmq and keeps the RABBITMQ_* variables.
  setsid rabbitmq-server >"$LOGS/rabbitmq.out" 2>&1 </dev/null &
  echo "rabbit@localhost" >"$RUN/rabbitmq.started"
  local logfile=$LOGS/rabbitmq.out
  rabbitmqctl -q wait --timeout 90 "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
  wait_for rabbitmq 90 "$logfile" rabbit_ready || {
    tail -n 40 "$SVC_STATE"/rabbitmq/log/*.log >&2 2>/dev/null || true
    die "rabbitmq failed to start"
  }
  rabbit_user
}

kafka_libs() {
  local libs=$STATE/cache/kafka-$KAFKA_VERSION
  if [[ ! -f $libs/.complete ]]; then
    log "kafka: fetching kafka_2.13 $KAFKA_VERSION jars from Maven Central"
    mkdir -p "$libs"
    mvn -q -B -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$libs" -DincludeScope=runtime >"$LOGS/kafka-fetch.log" 2>&1 \
      || { tail -n 30 "$LOGS/kafka-fetch.log" >&2; die "could not fetch the Kafka jars"; }
    touch "$libs/.complete"
  fi
  echo "$libs"
}

kafka_ready() { port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$LOGS/kafka.log"; }

start_kafka() {
  if port_open "$KAFKA_PORT"; then log "kafka: reusing the broker on :$KAFKA_PORT"; return; fi
  local libs; libs=$(kafka_libs)
  local dir=$STATE/kafka
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
# One broker, no replicas: our event topics fsync every append before it is acknowledged (the services set
# flush.messages=1 on them: HOOKPOST_TOPIC_FLUSH_MESSAGES); the broker-wide default is left alone, so consumer
# offset commits are not fsynced one by one. HOOKPOST_KAFKA_FLUSH_MESSAGES sets the broker-wide value.
log.flush.interval.messages=${HOOKPOST_KAFKA_FLUSH_MESSAGES:-9223372036854775807}
EOF
  cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$LOGS/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.state.change.logger=WARN
EOF
  # One cluster id for the life of the data folder: a new id on old data breaks start-up.
  if [[ ! -s $dir/cluster.id ]]; then
    java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$dir/cluster.id.new"
    mv "$dir/cluster.id.new" "$dir/cluster.id"
  fi
  java -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$libs/*" kafka.tools.StorageTool format \
    -t "$(cat "$dir/cluster.id")" -c "$dir/server.properties" --ignore-formatted >"$LOGS/kafka-format.log" 2>&1 \
    || { tail -n 30 "$LOGS/kafka-format.log" >&2; die "kafka storage format failed"; }
  : >"$LOGS/kafka.log"
  log "kafka: starting KRaft broker on 127.0.0.1:$KAFKA_PORT"
  rm -f "$RUN/kafka.started"
  # The new session's shell writes its own pid, then becomes the JVM: the pid file names Kafka itself.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/kafka.started" \
    java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
    >"$LOGS/kafka.out" 2>&1 </dev/null &
  wait_for kafka 120 "$LOGS/kafka.log" kafka_ready || { tail -n 20 "$LOGS/kafka.out" >&2; die "kafka failed to start"; }
}

up() {
  mkdir -p "$LOGS" "$RUN"
  # Private, including what an earlier version made readable (Kafka's data files were 0644).
  chmod -R go-rwx "$STATE" 2>/dev/null || true
  ensure_packages
  choose_service_state
  # Kafka's JVM takes longest; start it while the others come up.
  start_kafka &
  local kafka_job=$!
  start_postgres
  start_redis
  start_rabbitmq
  wait "$kafka_job" || die "kafka did not start"
  write_credentials
  log "ready: postgres :$PG_PORT, redis :$REDIS_PORT, rabbitmq :$AMQP_PORT, kafka :$KAFKA_PORT"
}

# The URLs the services and tests connect with, passwords included (0600; scripts/lib.sh exports them).
write_credentials() {
  local redis_auth=''
  ((REDIS_AUTH)) && redis_auth=":$(secret redis-password)@"
  {
    echo "DATABASE_URL=postgres://$DB_USER:$(secret db-password)@127.0.0.1:$PG_PORT/$DB_NAME"
    echo "REDIS_URL=redis://${redis_auth}127.0.0.1:$REDIS_PORT"
    echo "AMQP_URL=amqp://$RABBIT_USER:$(secret rabbitmq-password)@127.0.0.1:$AMQP_PORT"
  } >"$CREDENTIALS.new"
  mv "$CREDENTIALS.new" "$CREDENTIALS"
}

down() {
  if [[ -f $RUN/kafka.started ]]; then
    local pid; pid=$(cat "$RUN/kafka.started")
    log "kafka: stopping (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$RUN/kafka.started"
  fi
  if [[ -f $RUN/rabbitmq.started ]]; then
    rabbit_env
    log "rabbitmq: stopping"
    rabbitmqctl -q shutdown >/dev/null 2>&1 || true
    rm -f "$RUN/rabbitmq.started"
  fi
  if [[ -f $RUN/redis.started ]]; then
    log "redis: stopping"
    redis_cli shutdown nosave >/dev/null 2>&1 || true
    rm -f "$RUN/redis.started"
  fi
  if [[ -f $RUN/postgres.started ]]; then
    log "postgres: stopping"
    su -s /bin/sh postgres -c "cd / && '$PG_BIN/pg_ctl' -D '$(cat "$RUN/postgres.started")' -m fast -w stop" >/dev/null 2>&1 || true
    rm -f "$RUN/postgres.started"
  fi
}

status() {
  pg_ready && echo "postgres: up" || echo "postgres: down"
  redis_ready && echo "redis: up" || echo "redis: down"
  port_open "$AMQP_PORT" && echo "rabbitmq: up" || echo "rabbitmq: down"
  port_open "$KAFKA_PORT" && echo "kafka: up" || echo "kafka: down"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
