#!/usr/bin/env bash
# Throwaway test servers for tickflow's connector tests, on fixed loopback ports.
#
#   scripts/services.sh up              install what is missing (apt), start every server, wait until ready
#   scripts/services.sh down            stop the servers this script started (never one it found running)
#   scripts/services.sh status          print each server up/down (and whether this script started it)
#   scripts/services.sh env             print `export` lines for the tests' environment variables
#   scripts/services.sh restart NAME    stop and start one server (postgres|redis|clickhouse|prometheus),
#                                       keeping its data (outage tests)
#
# Ports: PostgreSQL 55432 (user postgres, trust auth, database `tickflow`), Redis 56379, ClickHouse HTTP
# 58123 / native 59000, Prometheus 59090. All state (data, logs, pidfiles, configs) lives under
# ${TICKFLOW_SERVICES_DIR:-$HOME/.cache/tickflow-services}; delete it after `down` for a fresh start.
# `up` is idempotent: a server this script started and that still runs is reused, and so is any server
# already listening on that port (it is then never stopped by `down`). PostgreSQL and ClickHouse run as
# their own users, so the state directory's parents get the traverse bit (o+x) when they lack it.
# Fails (exit 1) naming the service and its log when a server is not ready within
# ${TICKFLOW_SERVICES_TIMEOUT_S:-60} seconds.
set -euo pipefail

STATE="${TICKFLOW_SERVICES_DIR:-$HOME/.cache/tickflow-services}"
TIMEOUT_S="${TICKFLOW_SERVICES_TIMEOUT_S:-60}"
PG_PORT=55432
REDIS_PORT=56379
CH_HTTP_PORT=58123
CH_TCP_PORT=59000
PROM_PORT=59090
ALL="postgres redis clickhouse prometheus"
# `prometheus` brings `promtool` (monitoring tests: promtool check/test rules, a private Prometheus).
PACKAGES="postgresql redis-server clickhouse-server clickhouse-client prometheus cmake libcurl4-openssl-dev libssl-dev pkg-config curl"

say() { echo "services: $*"; }
die() { echo "services: $*" >&2; exit 1; }

# --- installation -----------------------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

install_missing() {
  local missing=()
  for p in $PACKAGES; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt)"
  local apt=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  DEBIAN_FRONTEND=noninteractive apt-get "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] || die "postgres: no /usr/lib/postgresql/*/bin/initdb (is postgresql installed?)"
  echo "$d"
}

# --- helpers ----------------------------------------------------------------------------------

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# The program each service runs as (/proc/PID/comm, at most 15 characters).
comm_of() {
  case "$1" in
    postgres) echo postgres ;; redis) echo redis-server ;;
    clickhouse) echo clickhouse-serv ;; prometheus) echo prometheus ;;
  esac
}
# True when PID is alive and runs NAME's program (a recycled pid from a stale pidfile is not ours).
running() { alive "$2" && [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$(comm_of "$1")" ]; }
pidfile() { echo "$STATE/run/$1.pid"; }
our_pid() { local f; f=$(pidfile "$1"); [ -s "$f" ] && cat "$f"; return 0; }
log_of() {
  case "$1" in
    postgres) echo "$STATE/postgres/postgres.log" ;;
    redis) echo "$STATE/redis/redis.log" ;;
    clickhouse) echo "$STATE/clickhouse/log/server.log" ;;
    prometheus) echo "$STATE/prometheus/prometheus.log" ;;
  esac
}
port_of() {
  case "$1" in
    postgres) echo $PG_PORT ;; redis) echo $REDIS_PORT ;;
    clickhouse) echo $CH_HTTP_PORT ;; prometheus) echo $PROM_PORT ;;
    *) die "unknown service '$1' (postgres|redis|clickhouse|prometheus)" ;;
  esac
}

ready() {
  case "$1" in
    postgres) "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p $PG_PORT ;;
    redis) [ "$(redis-cli -h 127.0.0.1 -p $REDIS_PORT ping 2>/dev/null)" = PONG ] ;;
    clickhouse) curl -sf -m 2 "http://127.0.0.1:$CH_HTTP_PORT/ping" >/dev/null ;;
    prometheus) curl -sf -m 2 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null ;;
  esac
}

wait_ready() {
  local name=$1 deadline=$((SECONDS + TIMEOUT_S)) pid
  until ready "$name"; do
    pid=$(our_pid "$name")
    if [ -n "$pid" ] && ! alive "$pid" && [ "$name" != postgres ]; then
      tail -n 20 "$(log_of "$name")" >&2 2>/dev/null || true
      die "$name exited while starting on 127.0.0.1:$(port_of "$name"); see $(log_of "$name")"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$(log_of "$name")" >&2 2>/dev/null || true
      die "$name not ready on 127.0.0.1:$(port_of "$name") within ${TIMEOUT_S}s; see $(log_of "$name")"
    fi
    sleep 0.1
  done
}

# Lets a service user reach its directory under $STATE (e.g. /root is 0700): add o+x to each parent.
traversable() {
  local user=$1 dir=$2 d="" part
  runuser -u "$user" -- test -x "$dir" 2>/dev/null && return 0
  # From the root down: a parent is judged only once every directory above it is reachable.
  IFS=/ read -ra parts <<<"${dir#/}"
  for part in "${parts[@]}"; do
    d="$d/$part"
    if ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
      say "granting traverse (o+x) on $d so $user can reach $dir"
      chmod o+x "$d"
    fi
  done
}

# Stops a process we started: TERM, then KILL after 30 s.
stop_pid() {
  local name=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 300); do alive "$pid" || return 0; sleep 0.1; done
  say "$name (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# --- PostgreSQL -------------------------------------------------------------------------------

start_postgres() {
  local bin dir=$STATE/postgres
  bin=$(pg_bin)
  mkdir -p "$dir/run"
  chown postgres: "$dir" "$dir/run"
  traversable postgres "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1 || die "postgres: initdb failed; see $dir/initdb.log"
    cat >>"$dir/data/postgresql.conf" <<EOF
# tickflow throwaway test server (scripts/services.sh)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir/run'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
ssl = off
EOF
  fi
  # A postmaster.pid left by a killed server whose pid is now another program's: remove it.
  local old
  old=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  if [ -n "$old" ] && ! running postgres "$old"; then rm -f "$dir/data/postmaster.pid"; fi
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -s start 9>&- \
    || die "postgres: pg_ctl start failed; see $dir/postgres.log"
  wait_ready postgres
  head -n 1 "$dir/data/postmaster.pid" >"$(pidfile postgres)"
}

stop_postgres() {
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$STATE/postgres/data" -m fast -s -w stop || true
}

# The database tests use (also on a server found running on the port).
ensure_pg_database() {
  local psql=("$(pg_bin)/psql" -h 127.0.0.1 -p $PG_PORT -U postgres -d postgres -tAq)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'tickflow'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE tickflow" >/dev/null 2>&1 \
      || [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'tickflow'")" = 1 ] \
      || die "postgres: cannot create database tickflow on 127.0.0.1:$PG_PORT"
  fi
}

# --- Redis ------------------------------------------------------------------------------------

start_redis() {
  local dir=$STATE/redis
  mkdir -p "$dir"
  # `--save ''`: no background snapshots; `stop_redis` saves once so a restart keeps the data.
  redis-server --bind 127.0.0.1 --port $REDIS_PORT --daemonize yes --pidfile "$(pidfile redis)" \
    --dir "$dir" --logfile "$dir/redis.log" --save '' --appendonly no 9>&- \
    || die "redis: redis-server failed to start; see $dir/redis.log"
  wait_ready redis
}

stop_redis() {
  local pid
  pid=$(our_pid redis)
  redis-cli -h 127.0.0.1 -p $REDIS_PORT shutdown save >/dev/null 2>&1 || true
  running redis "$pid" && stop_pid redis "$pid"
  return 0
}

# --- ClickHouse -------------------------------------------------------------------------------

start_clickhouse() {
  local dir=$STATE/clickhouse
  mkdir -p "$dir"/{data,tmp,log,user_files,format_schemas}
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<!-- tickflow throwaway test server (scripts/services.sh) -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>536870912</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
EOF
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default><max_memory_usage>4000000000</max_memory_usage></default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
            <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
        </interval></default>
    </quotas>
</yandex>
EOF
  mkdir -p "$dir/run"
  chown -R clickhouse: "$dir"
  traversable clickhouse "$dir"
  rm -f "$dir/run/clickhouse.pid"
  # ClickHouse writes its pidfile only as a daemon (it forks and runuser returns).
  runuser -u clickhouse -- clickhouse-server --daemon --config-file="$dir/config.xml" \
    --pid-file="$dir/run/clickhouse.pid" >/dev/null 2>&1 </dev/null 9>&- \
    || die "clickhouse: clickhouse-server failed to start; see $dir/log/"
  local deadline=$((SECONDS + TIMEOUT_S))
  until [ -s "$dir/run/clickhouse.pid" ]; do
    if [ $SECONDS -ge $deadline ] || ! pgrep -u clickhouse -f -- "--config-file=$dir/config.xml" >/dev/null; then
      cat "$dir"/log/*.log >&2 2>/dev/null || true
      die "clickhouse: the server did not start (no pidfile); see $dir/log/"
    fi
    sleep 0.1
  done
  cp "$dir/run/clickhouse.pid" "$(pidfile clickhouse)"
  wait_ready clickhouse
}

stop_clickhouse() {
  local pid
  pid=$(our_pid clickhouse)
  running clickhouse "$pid" && stop_pid clickhouse "$pid"
  return 0
}

# --- Prometheus -------------------------------------------------------------------------------

start_prometheus() {
  local dir=$STATE/prometheus
  mkdir -p "$dir/data" "$dir/targets"
  # Tests add scrape targets by dropping `*.json` file_sd files into $dir/targets.
  cat >"$dir/prometheus.yml" <<EOF
# tickflow throwaway test server (scripts/services.sh)
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROM_PORT']
  - job_name: tickflow
    file_sd_configs:
      - files: ['$dir/targets/*.json']
        refresh_interval: 1s
EOF
  setsid nohup prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$PROM_PORT" \
    --web.enable-lifecycle >>"$dir/prometheus.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile prometheus)"
  wait_ready prometheus
}

stop_prometheus() {
  local pid
  pid=$(our_pid prometheus)
  running prometheus "$pid" && stop_pid prometheus "$pid"
  return 0
}

# --- commands ---------------------------------------------------------------------------------

# Starts one service unless ours is running or another server holds the port.
up_one() {
  local name=$1 port pid
  port=$(port_of "$name")
  pid=$(our_pid "$name")
  if running "$name" "$pid"; then
    wait_ready "$name"
    say "$name: running (pid $pid, 127.0.0.1:$port)"
  elif listening "$port"; then
    rm -f "$(pidfile "$name")"
    wait_ready "$name"
    say "$name: reusing the server already listening on 127.0.0.1:$port (not ours: never stopped here)"
  else
    rm -f "$(pidfile "$name")"
    local t0=$SECONDS
    "start_$name"
    say "$name: started (pid $(our_pid "$name"), 127.0.0.1:$port, $((SECONDS - t0))s)"
  fi
  [ "$name" = postgres ] && ensure_pg_database
  return 0
}

down_one() {
  local name=$1 pid
  pid=$(our_pid "$name")
  if running "$name" "$pid"; then
    "stop_$name"
    say "$name: stopped (pid $pid)"
  fi
  rm -f "$(pidfile "$name")"
}

status_one() {
  local name=$1 port pid
  port=$(port_of "$name")
  pid=$(our_pid "$name")
  if ready "$name"; then
    if running "$name" "$pid"; then echo "$name up 127.0.0.1:$port (pid $pid, started by services.sh)"
    else echo "$name up 127.0.0.1:$port (not started by services.sh)"; fi
  else
    echo "$name down 127.0.0.1:$port"
  fi
}

print_env() {
  cat <<EOF
export TICKFLOW_TEST_PG_DSN='host=127.0.0.1 port=$PG_PORT user=postgres dbname=tickflow sslmode=disable'
export TICKFLOW_TEST_REDIS_URL='redis://127.0.0.1:$REDIS_PORT/'
export TICKFLOW_TEST_CLICKHOUSE_URL='http://127.0.0.1:$CH_HTTP_PORT'
export TICKFLOW_TEST_CLICKHOUSE_NATIVE='127.0.0.1:$CH_TCP_PORT'
export TICKFLOW_TEST_PROMETHEUS_URL='http://127.0.0.1:$PROM_PORT'
export TICKFLOW_TEST_PROMETHEUS_TARGETS='$STATE/prometheus/targets'
EOF
}

# One `up`/`down`/`restart` at a time (several test runs may start together). Servers are started
# with fd 9 closed so they never hold this lock.
locked() {
  mkdir -p "$STATE/run"
  exec 9>"$STATE/run/lock"
  flock 9
}

cmd=${1:-}
case "$cmd" in
  up)
    [ "$(id -u)" = 0 ] || die "run as root (installs packages and starts servers as their users)"
    locked
    install_missing
    for s in $ALL; do up_one "$s"; done
    ;;
  down)
    locked
    for s in $ALL; do down_one "$s"; done
    ;;
  status)
    for s in $ALL; do status_one "$s"; done
    ;;
  env)
    print_env
    ;;
  restart)
    name=${2:-}
    port_of "$name" >/dev/null
    locked
    pid=$(our_pid "$name")
    running "$name" "$pid" || die "$name: not started by services.sh (no live pidfile): will not restart it"
    "stop_$name"
    rm -f "$(pidfile "$name")"
    "start_$name"
    say "$name: restarted (pid $(our_pid "$name"))"
    ;;
  *)
    echo "usage: $0 up|down|status|env|restart NAME" >&2
    exit 2
    ;;
esac
