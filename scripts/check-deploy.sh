#!/usr/bin/env bash
# Checks the deployment files on a machine without a container engine (CI included):
# compose syntax, Dockerfile lint, nginx syntax, monitoring configs and alert rules (promtool),
# and a dry run of the
# image's own steps (clean install, build, production install, start, health, drain),
# with the image-size estimate of docs/operations.md. Exit status 1 if any check fails.
#
# Needs: Postgres and Redis (DATABASE_SERVER_URL, REDIS_URL), nginx, curl, psql, python3-yaml;
# the project's node_modules (for Node 24). docker-compose and promtool are optional (skipped
# if absent) except under CI: with --ci, or CI=true / CI=1 in the environment, a missing one
# fails like any other check, so CI cannot quietly stop checking the compose file or the rules.
#
#   check-deploy.sh [--ci]
set -euo pipefail

strict=0
[[ ${CI:-} == true || ${CI:-} == 1 ]] && strict=1
for arg in "$@"; do
  case $arg in
    --ci) strict=1 ;;
    *) echo "usage: $0 [--ci]" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
root=$PWD
node="$root/node_modules/.bin/node"
dockerfilelint_version=1.8.0
pg_server=${DATABASE_SERVER_URL:-postgres://postgres@127.0.0.1:5432}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
# Names of this run only, so two runs on one Postgres and Redis never share state.
run_id=$$_$RANDOM
check_db=tally_deploycheck_$run_id
check_prefix=deploycheck:$run_id:
db_created=0
admin_token=deploy-check-admin-token
# Budget and the parts of the runtime image this machine cannot measure (docs/operations.md).
budget_mb=250
alpine_base_mb=9  # alpine:3.2x rootfs is about 8.5 MB unpacked
libstdcxx_mb=3    # libstdc++ and libgcc from apk

work=$(mktemp -d)
app_pid=''
stage_pids=()
cleanup() {
  if [[ -n $app_pid ]] && kill -0 "$app_pid" 2>/dev/null; then kill -TERM "$app_pid"; wait "$app_pid" || true; fi
  for pid in "${stage_pids[@]}"; do kill -- "$pid" 2>/dev/null && wait "$pid" || true; done
  if ((db_created)); then
    psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $check_db WITH (FORCE)" || true
    REDIS_URL=$redis_url PREFIX=$check_prefix "$node" -e '
      const Redis = require("ioredis");
      const r = new Redis(process.env.REDIS_URL);
      (async () => {
        let cursor = "0";
        do {
          const [next, keys] = await r.scan(cursor, "MATCH", process.env.PREFIX + "*", "COUNT", 1000);
          if (keys.length) await r.del(...keys);
          cursor = next;
        } while (cursor !== "0");
        await r.quit();
      })();' || true
  fi
  if [[ -f $work/tls/nginx.pid ]]; then kill -QUIT "$(cat "$work/tls/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

failed=()
step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; failed+=("$1"); }
skip() { printf 'SKIP: %s\n' "$*"; }
# A tool that is missing: a failure under CI (which installs it), a skip elsewhere.
absent() { if ((strict)); then fail "$1 (absent under --ci/CI)"; else skip "$1"; fi; }

# --- compose ----------------------------------------------------------------------------
step "docker-compose.yml"
# An empty env file: check the file itself, not whatever a developer's .env substitutes.
: >"$work/empty.env"
compose=()
if command -v docker-compose >/dev/null; then
  compose=(docker-compose --env-file "$work/empty.env")
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose --env-file "$work/empty.env")
fi
if ((${#compose[@]} == 0)); then
  absent "neither docker-compose nor the docker compose plugin is installed; compose file not checked"
else
  for profiles in "" "--profile seed --profile monitoring --profile load --profile local --profile tls"; do
    # shellcheck disable=SC2086 # word splitting of $profiles is intended
    if "${compose[@]}" -f docker-compose.yml $profiles config -q; then
      ok "${compose[*]} ${profiles:-(default profile)} config -q"
    else
      fail "compose config ${profiles:-default}"
    fi
  done
fi

# --- Dockerfile -------------------------------------------------------------------------
step "Dockerfile"
# dockerfilelint 1.8 reads `--start-period` as an unknown `--start` option (its regex stops
# at the hyphen), so it lints a copy without that one option; every rule stays on.
sed -E 's/ --start-period=[0-9a-z]+//' Dockerfile >"$work/Dockerfile"
if (cd "$work" && npm exec --yes --package="dockerfilelint@$dockerfilelint_version" -- \
  dockerfilelint "$work/Dockerfile"); then
  ok "dockerfilelint@$dockerfilelint_version"
else
  fail "dockerfilelint"
fi
if command -v hadolint >/dev/null; then
  if hadolint Dockerfile; then ok hadolint; else fail hadolint; fi
fi
# What a linter cannot know: the promises docs/operations.md makes about the image.
for must in '^USER tally$' '^CMD \["node", "dist/src/main.js"\]$' 'install-deps.sh production' \
  '^FROM node:\$\{NODE_VERSION\}-alpine' 'chown tally:tally /var/lib/tally/spool$' \
  'SPOOL_DIR=/var/lib/tally/spool$'; do
  grep -Eq "$must" Dockerfile && ok "Dockerfile has /$must/" || fail "Dockerfile lacks /$must/"
done
# -z: the HEALTHCHECK instruction spans two lines.
grep -Ezq 'HEALTHCHECK [^"]*CMD \["node", "-e", "[^"]*/health/live' Dockerfile &&
  ok "Dockerfile HEALTHCHECK probes /health/live with node" || fail "Dockerfile HEALTHCHECK"

grep -qx "ARG NODE_VERSION=$(cat .nvmrc)" Dockerfile && ok "NODE_VERSION matches .nvmrc" ||
  fail "Dockerfile NODE_VERSION differs from .nvmrc"

# --- nginx ------------------------------------------------------------------------------
step "deploy/nginx/nginx.conf"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x $nginx_bin ]]; then
  fail "nginx is not installed (apt-get install -y nginx-light)"
else
  mkdir -p "$work/nginx"
  scripts/render-local-nginx.sh "$work/nginx" 18080 127.0.0.1:13001 127.0.0.1:13002
  if "$nginx_bin" -t -q -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf"; then
    ok "nginx -t on the local rendering (upstreams on 127.0.0.1)"
  else
    fail "nginx -t"
  fi
  # `server app:3000 resolve` itself needs nginx >= 1.27.3 (the compose image is 1.28).
  version=$("$nginx_bin" -v 2>&1 | sed -E 's|.*nginx/([0-9.]+).*|\1|')
  if printf '1.27.3\n%s\n' "$version" | sort -V -C; then
    if "$nginx_bin" -t -q -p "$work/nginx" -e "$work/nginx/error.log" -c "$root/deploy/nginx/nginx.conf"; then
      ok "nginx -t on the compose file as-is"
    else
      fail "nginx -t (as-is)"
    fi
  else
    skip "nginx $version predates the upstream 'resolve' parameter; the compose file as-is is checked only by its rendering"
  fi
fi

# --- TLS ----------------------------------------------------------------------------------
step "deploy/nginx/tls.conf"
if [[ -x $nginx_bin ]]; then
  mkdir -p "$work/tls"
  scripts/make-local-cert.sh "$work/tls/certs" >/dev/null
  # The upstream is a placeholder here; the run against the started app is below.
  scripts/render-local-tls.sh "$work/tls" 18443 127.0.0.1:13001
  if "$nginx_bin" -t -q -p "$work/tls" -e "$work/tls/error.log" -c "$work/tls/nginx.conf"; then
    ok "nginx -t on the TLS terminator's local rendering, with a certificate from make-local-cert.sh"
  else
    fail "nginx -t (tls.conf)"
  fi
fi

# --- monitoring and load ----------------------------------------------------------------
step "Prometheus, Grafana, k6 files"
# promtool: prometheus.yml, the alert rules it loads, and their unit tests.
if command -v promtool >/dev/null; then
  if scripts/check-prometheus.sh files; then
    ok "promtool check config (with the alert rules) and test rules"
  else
    fail "promtool check config / test rules"
  fi
else
  absent "promtool is not installed (apt-get install -y --no-install-recommends prometheus); alert rules not checked"
fi
if python3 -c 'import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]' \
  deploy/prometheus/prometheus.yml deploy/grafana/provisioning/*/*.yml 2>/dev/null; then
  ok "YAML parses"
else
  fail "YAML (or python3-yaml missing)"
fi
if "$node" -e '
  const d = JSON.parse(require("fs").readFileSync("deploy/grafana/dashboards/tally.json", "utf8"));
  const exprs = d.panels.flatMap((p) => p.targets.map((t) => t.expr)).join(" ");
  const missing = ["tally_events_total", "tally_stream_backlog_entries", "tally_window_flushes_total",
    "tally_lock_wait_seconds", "tally_quota_decisions_total", "tally_http_request_duration_seconds"]
    .filter((m) => !exprs.includes(m));
  if (missing.length) { console.error("dashboard lacks " + missing); process.exit(1); }'; then
  ok "dashboard JSON parses and charts the six metrics"
else
  fail "dashboard"
fi
parsed=1
for f in load/*.js; do "$node" --check "$f" || { fail "node --check $f"; parsed=0; }; done
((parsed)) && ok "load/*.js parse"

# --- configuration table ----------------------------------------------------------------
step "docs/operations.md lists every variable of src/config/env.schema.ts"
missing=()
for var in $(sed -nE 's/^ +([A-Z][A-Z0-9_]+): \{.*/\1/p' src/config/env.schema.ts); do
  grep -q "^| \`$var\`" docs/operations.md || missing+=("$var")
done
((${#missing[@]} == 0)) && ok "all documented" || fail "undocumented: ${missing[*]}"

# --- dry run of the image ---------------------------------------------------------------
step "dry run of the Dockerfile's steps"
# The build context is what .dockerignore lets through (its `!` lines): copy just that.
mkdir -p "$work/build" "$work/runtime"
for path in $(sed -n 's/^!//p' .dockerignore); do
  [[ -e $path ]] && cp -r --parents "$path" "$work/build/"
done
find "$work/build" -name '*.spec.ts' -delete
# The image's Node is 24.21; put the project's (same version) first, as the image has it.
export PATH="$(dirname "$(readlink -f "$node")"):$PATH"
cp package.json package-lock.json "$work/runtime/"
cp --parents scripts/install-deps.sh "$work/runtime/"
# The two stages are independent until dist/ is copied (as in a BuildKit build), so they
# run side by side: each is a clean install, mostly unpacking on a warm npm cache. Measured
# on a loaded 2-core machine: 69-103 s side by side, 82-113 s one after the other.
started=$SECONDS
(cd "$work/build" && sh scripts/install-deps.sh build >"$work/build.log" 2>&1 && npm run build >>"$work/build.log" 2>&1) &
stage_pids+=($!)
(cd "$work/runtime" && sh scripts/install-deps.sh production >"$work/deps.log" 2>&1) &
stage_pids+=($!)
if wait "${stage_pids[0]}"; then
  ok "build stage: install-deps.sh build && npm run build from the .dockerignore context ($((SECONDS - started)) s)"
else
  tail -n 30 "$work/build.log"
  fail "build stage"
fi
if wait "${stage_pids[1]}"; then
  ok "deps stage: install-deps.sh production (no devDependency 'node' in node_modules)"
else
  tail -n 30 "$work/deps.log"
  fail "deps stage"
fi
stage_pids=()
cp -r "$work/build/dist" "$work/runtime/dist" 2>/dev/null || fail "no dist/ from the build stage"

# Size: measured node_modules + dist, plus the parts of the runtime image named above.
nm_kb=$(du -sk "$work/runtime/node_modules" | cut -f1)
dist_kb=$(du -sk "$work/runtime/dist" | cut -f1)
node_kb=$(du -sk "$(readlink -f "$node")" | cut -f1)
# du's kilobytes are KiB; Docker reports decimal MB. Disk usage rounds every file up to a
# block, so this over-states what the layers hold (docs/operations.md gives both figures).
mb() { echo $(($1 * 1024 / 1000000)); }
total_mb=$(($(mb $((nm_kb + dist_kb + node_kb))) + alpine_base_mb + libstdcxx_mb))
printf 'size (MB): node_modules %s + dist %s + node binary %s + alpine ~%s + libstdc++ ~%s = ~%s\n' \
  "$(mb "$nm_kb")" "$(mb "$dist_kb")" "$(mb "$node_kb")" "$alpine_base_mb" "$libstdcxx_mb" "$total_mb"
apparent_mb=$(($(du -sb "$work/runtime/node_modules" "$work/runtime/dist" "$(readlink -f "$node")" |
  awk '{ s += $1 } END { print int(s / 1000000) }') + alpine_base_mb + libstdcxx_mb))
echo "size (MB): ~$apparent_mb counting file bytes only (du -sb), closer to what Docker reports"
((total_mb < budget_mb)) && ok "estimated image ~${total_mb} MB < ${budget_mb} MB" ||
  fail "estimated image ${total_mb} MB exceeds ${budget_mb} MB"

# Start it as the image would: production env, unprivileged, read-only code.
# A fresh database each run, so the start also proves the migrations apply from nothing.
psql "$pg_server/postgres" -qc "CREATE DATABASE $check_db"
db_created=1
port=$("$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_user=()
# The image's SPOOL_DIR, writable by the service user only, as the Dockerfile makes it.
spool_dir=$work/spool
mkdir -p "$spool_dir"
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  chmod -R a+rX "$work"
  chown 65534:65534 "$spool_dir"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
# Only what the image sets plus what compose passes; nothing leaks in from this shell.
image_env=(PATH="$PATH" NODE_ENV=production APP_PROFILE=prod HOST=127.0.0.1 SPOOL_DIR="$spool_dir"
  DATABASE_URL="$pg_server/$check_db" REDIS_URL="$redis_url" REDIS_KEY_PREFIX="$check_prefix"
  ADMIN_TOKEN="$admin_token" API_KEY_SECRET=deploy-check-api-key-secret-000000000000
  JWT_SECRET=deploy-check-jwt-secret-00000000000000000 ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)")
# The compose `seed` service's command, against production dependencies only.
if [[ -e seeds/seed.ts ]]; then
  if (cd "$work/runtime" && env -i "${image_env[@]}" APP_PROFILE=dev node dist/seeds/seed.js) >"$work/seed.log" 2>&1; then
    ok "seed service command: node dist/seeds/seed.js ($(tail -n1 "$work/seed.log"))"
  else
    tail -n 20 "$work/seed.log"
    fail "seed service command"
  fi
fi
(cd "$work/runtime" && exec env -i "${image_env[@]}" PORT="$port" "${as_user[@]}" node dist/src/main.js) \
  >"$work/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 60); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/health/ready" && break
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 1
done
if curl -fs -o /dev/null "http://127.0.0.1:$port/health/ready"; then
  ok "node dist/src/main.js started${as_user:+ as uid 65534} and is ready"
  # The HEALTHCHECK command exactly as the Dockerfile writes it.
  healthcheck=$(sed -nE 's/^ +CMD (\["node", "-e", .*\])$/\1/p' Dockerfile)
  if PORT=$port "$node" -e "$(echo "$healthcheck" | "$node" -e 'console.log(JSON.parse(require("fs").readFileSync(0))[2])')"; then
    ok "Dockerfile HEALTHCHECK command passes"
  else
    fail "HEALTHCHECK command"
  fi
  # The dashboard's metric names against what the app exports (missing ones are not an
  # error: a panel may wait for its feature, but the list should shrink, never surprise).
  metrics=$(curl -fs "http://127.0.0.1:$port/metrics" || true)
  for name in tally_events_total tally_stream_backlog_entries tally_window_flushes_total \
    tally_lock_wait_seconds tally_quota_decisions_total tally_http_request_duration_seconds; do
    grep -q "^# TYPE $name " <<<"$metrics" && ok "/metrics exports $name" ||
      echo "   note: /metrics does not export $name yet; its dashboard panel stays empty"
  done
  if BASE_URL="http://127.0.0.1:$port" ADMIN_TOKEN=$admin_token "$node" load/k6-smoke.mjs; then
    ok "load/*.js scenarios run once each under the k6 stand-in"
  else
    fail "k6 scenarios"
  fi
  # The TLS terminator for real, in front of this instance: HTTPS answers, with HSTS.
  if [[ -x $nginx_bin ]]; then
    tls_port=$("$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    scripts/render-local-tls.sh "$work/tls" "$tls_port" "127.0.0.1:$port"
    tls_nginx=("$nginx_bin" -p "$work/tls" -e "$work/tls/error.log" -c "$work/tls/nginx.conf")
    if "${tls_nginx[@]}"; then
      headers=$(curl -fsS --cacert "$work/tls/certs/tls.crt" -D - -o /dev/null \
        "https://localhost:$tls_port/health/live" || true)
      if grep -q '^HTTP/[0-9.]* 200' <<<"$headers" &&
        grep -qi '^strict-transport-security: max-age=31536000' <<<"$headers"; then
        ok "TLS terminator: https://localhost/health/live 200 with HSTS, certificate verified"
      else
        echo "$headers"
        fail "TLS terminator answer"
      fi
      "${tls_nginx[@]}" -s quit || true
    else
      fail "TLS terminator did not start"
    fi
  fi
  # A scrape after that short load, as Prometheus would take it: no promtool warning at all.
  if command -v promtool >/dev/null; then
    if scripts/check-prometheus.sh metrics "http://127.0.0.1:$port/metrics"; then
      ok "promtool check metrics on a scrape after the k6 scenarios: no warnings"
    else
      fail "promtool check metrics"
    fi
  else
    absent "promtool is not installed; the scrape was not checked"
  fi
  kill -TERM "$app_pid"
  if wait "$app_pid"; then ok "SIGTERM: drained and exited 0"; else fail "exit status $? after SIGTERM"; fi
  app_pid=''
else
  tail -n 30 "$work/app.log"
  fail "node dist/src/main.js did not become ready"
fi

echo
if ((${#failed[@]} > 0)); then
  echo "check-deploy: ${#failed[@]} check(s) failed: ${failed[*]}"
  exit 1
fi
echo "check-deploy: all checks passed"
