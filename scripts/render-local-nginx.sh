#!/usr/bin/env bash
# Renders deploy/nginx/nginx.conf for an nginx running directly on this host: files under
# OUT_DIR instead of /dev/std*, a loopback listen port, and fixed upstream servers instead
# of Docker's `app` name. Everything else (proxying, timeouts, log format) stays identical,
# so the no-Docker topology and `nginx -t` exercise the configuration compose ships.
#
#   render-local-nginx.sh OUT_DIR LISTEN_PORT HOST:PORT [HOST:PORT...]
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 OUT_DIR LISTEN_PORT HOST:PORT [HOST:PORT...]" >&2
  exit 2
fi
out=$(cd "$1" && pwd)
port=$2
shift 2
template="$(dirname "$0")/../deploy/nginx/nginx.conf"
mkdir -p "$out/tmp"

servers=''
for server in "$@"; do
  servers+="        server ${server} max_fails=2 fail_timeout=5s;\n"
done

# Every rewritten line carries a tag; fail if one is missing, rather than render a config
# that silently logs to the wrong place or proxies to the wrong servers.
for tag in '^pid .*# @local$' '^error_log .*# @local$' 'access_log .*# @local$' \
  'listen .*# @local$' '# @upstream$' '# @local-paths$'; do
  grep -Eq "$tag" "$template" || { echo "render: $template lost the line tagged /$tag/" >&2; exit 1; }
done

sed -E \
  -e "s|^pid .*# @local$|pid ${out}/nginx.pid;|" \
  -e "s|^error_log .*# @local$|error_log ${out}/error.log warn;|" \
  -e "s|access_log .*# @local$|access_log ${out}/access.log tally;|" \
  -e "s|listen .*# @local$|listen 127.0.0.1:${port};|" \
  -e "s|^ *# @local-paths$|    client_body_temp_path ${out}/tmp/body;\n    proxy_temp_path ${out}/tmp/proxy;|" \
  -e "s|^ *server .*# @upstream$|${servers%\\n}|" \
  "$template" >"$out/nginx.conf"
