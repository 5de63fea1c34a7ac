#!/usr/bin/env bash
# The docker-compose topology without Docker: three app instances on 127.0.0.1:3001-3003
# behind nginx on :8080, sharing this machine's Postgres (database tally_topology) and
# Redis (key prefix topo:). For machines with no container engine; docs/operations.md.
# test/topology.int-spec.ts runs start, smoke and stop on ports and names of its own.
#
#   scripts/local-topology.sh start    build, start, wait until ready through the LB
#   scripts/local-topology.sh smoke    tenant + events through the LB; checks spread and totals
#   scripts/local-topology.sh status
#   scripts/local-topology.sh stop     SIGTERM (the apps drain), then nginx quits
#
# Overrides: TOPOLOGY_DIR (state, logs), APP_PORTS ("3001 3002 3003": one instance per
# port), LB_PORT, TOPOLOGY_PG (server URL without a database), TOPOLOGY_DATABASE,
# TOPOLOGY_REDIS, TOPOLOGY_REDIS_PREFIX, TOPOLOGY_SKIP_BUILD=1 (dist/ is already built),
# SPOOL_DIR (default TOPOLOGY_DIR/spool, one root the instances share as compose's replicas
# share a volume: each claims a directory of its own in it),
# ADMIN_TOKEN, API_KEY_SECRET, JWT_SECRET, ENCRYPTION_KEY; other app variables pass through.
# `start` records the ports in TOPOLOGY_DIR, so smoke, status and stop use what it started.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
state=${TOPOLOGY_DIR:-${TMPDIR:-/tmp}/tally-topology}
lb_port=${LB_PORT:-8080}
read -r -a app_ports <<<"${APP_PORTS:-3001 3002 3003}"
pg_server=${TOPOLOGY_PG:-postgres://postgres@127.0.0.1:5432}
database=${TOPOLOGY_DATABASE:-tally_topology}
redis_prefix=${TOPOLOGY_REDIS_PREFIX:-topo:}
node="$root/node_modules/.bin/node" # the project's Node 24; the system node is too old
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

# Local-only secrets, as in docker-compose.yml; a real deployment sets its own. With them
# the instances run as APP_PROFILE=dev (compose's default too): prod refuses to start on
# these values, so APP_PROFILE=prod needs ADMIN_TOKEN, API_KEY_SECRET, JWT_SECRET and
# ENCRYPTION_KEY of its own.
export ADMIN_TOKEN=${ADMIN_TOKEN:-local-admin-token-change-me}
export API_KEY_SECRET=${API_KEY_SECRET:-local-api-key-secret-change-me-0000000000}
export JWT_SECRET=${JWT_SECRET:-local-jwt-secret-change-me-0000000000000}
export ENCRYPTION_KEY=${ENCRYPTION_KEY:-bG9jYWwtb25seS1lbmNyeXB0aW9uLWtleS0zMi1ieXQ=}

log() { printf 'topology: %s\n' "$*"; }
die() { printf 'topology: %s\n' "$*" >&2; exit 1; }

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$1/health/ready"; }
nginx_cmd() { "$nginx_bin" -p "$state/nginx" -e "$state/nginx/error.log" -c "$state/nginx/nginx.conf" "$@"; }
# Instance numbers 1..N, one per app port.
instances() { seq 1 "${#app_ports[@]}"; }

# What `start` ran with; later commands read it back, whatever their own environment says.
ports_file=$state/ports
if [[ ${1:-} != start && -f $ports_file ]]; then
  # shellcheck disable=SC1090 # written by start() below
  source "$ports_file"
fi

start() {
  for i in $(instances); do alive "$state/app-$i.pid" && die "already running (see status)"; done
  alive "$state/nginx/nginx.pid" && die "nginx already running (see status)"
  [[ -x $node ]] || die "node_modules/.bin/node missing: run npm install"
  [[ -x $nginx_bin ]] || die "nginx not found: apt-get install -y nginx-light"
  ((${#app_ports[@]} > 0)) || die "APP_PORTS is empty"
  [[ $database =~ ^[a-z_][a-z0-9_]*$ ]] || die "TOPOLOGY_DATABASE must be a plain lower-case name"
  for port in "${app_ports[@]}" "$lb_port"; do
    port_open "$port" && die "port $port is already in use"
  done

  mkdir -p "$state/nginx"
  # Started as root, nginx's workers run as nobody and write request bodies over 16 KB (an
  # event batch) under $state/nginx/tmp: they must be able to reach it (mktemp -d is 0700).
  [[ $(id -u) != 0 ]] || chmod a+x "$state" "$state/nginx"
  printf 'app_ports=(%s)\nlb_port=%s\n' "${app_ports[*]}" "$lb_port" >"$ports_file"

  if [[ ${TOPOLOGY_SKIP_BUILD:-} == 1 ]]; then
    [[ -f dist/src/main.js ]] || die "TOPOLOGY_SKIP_BUILD=1 but dist/src/main.js is missing: npm run build"
  else
    log "building"
    npm run --silent build
  fi

  if [[ -z $(psql "$pg_server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'") ]]; then
    log "creating database $database"
    psql "$pg_server/postgres" -qc "CREATE DATABASE $database"
  fi

  # All of them start at once on purpose: migrations must serialise on the advisory lock.
  for i in $(instances); do
    local port=${app_ports[$((i - 1))]}
    APP_PROFILE=${APP_PROFILE:-dev} APP_ROLE=${APP_ROLE:-all} HOST=127.0.0.1 PORT=$port \
      INSTANCE_ID=topo-$i REDIS_KEY_PREFIX=$redis_prefix SPOOL_DIR=${SPOOL_DIR:-$state/spool} \
      DATABASE_URL="$pg_server/$database" REDIS_URL=${TOPOLOGY_REDIS:-redis://127.0.0.1:6379} \
      nohup "$node" dist/src/main.js >"$state/app-$i.log" 2>&1 </dev/null &
    echo $! >"$state/app-$i.pid"
    log "app $i (topo-$i) pid $! on 127.0.0.1:$port, log $state/app-$i.log"
  done

  local upstreams=()
  for port in "${app_ports[@]}"; do upstreams+=("127.0.0.1:$port"); done
  scripts/render-local-nginx.sh "$state/nginx" "$lb_port" "${upstreams[@]}"
  : >"$state/nginx/access.log"
  nginx_cmd
  log "nginx pid $(cat "$state/nginx/nginx.pid") on 127.0.0.1:$lb_port, config $state/nginx/nginx.conf"

  log "waiting for /health/ready on every instance and through the LB"
  local deadline=$((SECONDS + ${READY_TIMEOUT:-90}))
  until all_ready; do
    if ((SECONDS > deadline)); then
      for i in $(instances); do echo "--- app-$i.log"; tail -n 20 "$state/app-$i.log"; done
      stop
      die "not ready within ${READY_TIMEOUT:-90}s; stopped"
    fi
    for i in $(instances); do alive "$state/app-$i.pid" || { tail -n 20 "$state/app-$i.log"; stop; die "app $i exited"; }; done
    sleep 1
  done
  log "ready: http://127.0.0.1:$lb_port"
}

all_ready() {
  for port in "${app_ports[@]}" "$lb_port"; do ready "$port" || return 1; done
}

stop() {
  local pids=()
  for i in $(instances); do
    if alive "$state/app-$i.pid"; then
      pids+=("$(cat "$state/app-$i.pid")")
      kill -TERM "${pids[-1]}"
    fi
    rm -f "$state/app-$i.pid"
  done
  # Wait for the drain (SHUTDOWN_TIMEOUT_MS, 10 s by default) before forcing anything.
  local deadline=$((SECONDS + 15))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS > deadline)); then log "pid $pid did not drain; SIGKILL"; kill -KILL "$pid"; fi
      sleep 0.2
    done
    log "app pid $pid stopped"
  done
  if alive "$state/nginx/nginx.pid"; then
    local npid
    npid=$(cat "$state/nginx/nginx.pid")
    nginx_cmd -s quit
    while kill -0 "$npid" 2>/dev/null; do sleep 0.2; done
    log "nginx pid $npid stopped"
  fi
  log "stopped (logs kept in $state)"
}

status() {
  local rc=0
  for i in $(instances); do
    local port=${app_ports[$((i - 1))]}
    if alive "$state/app-$i.pid"; then
      if ready "$port"; then log "app $i pid $(cat "$state/app-$i.pid") :$port ready"; else log "app $i pid $(cat "$state/app-$i.pid") :$port NOT ready"; rc=1; fi
    else
      log "app $i not running"; rc=1
    fi
  done
  if alive "$state/nginx/nginx.pid"; then
    if ready "$lb_port"; then log "nginx :$lb_port ready"; else log "nginx :$lb_port NOT ready"; rc=1; fi
  else
    log "nginx not running"; rc=1
  fi
  return $rc
}

smoke() {
  status >/dev/null || die "not running: start it first"
  LB_URL="http://127.0.0.1:$lb_port" ACCESS_LOG="$state/nginx/access.log" \
    UPSTREAMS="${#app_ports[@]}" "$node" load/topology-smoke.mjs
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  smoke) smoke ;;
  *) echo "usage: $0 start|stop|status|smoke" >&2; exit 2 ;;
esac
