#!/usr/bin/env bash
# Renders deploy/nginx/tls.conf for an nginx running on this host, as render-local-nginx.sh
# does for nginx.conf: files under OUT_DIR, a loopback listen port, and HOST:PORT instead of
# compose's `lb`. The certificate is read from OUT_DIR/certs (make-local-cert.sh writes one).
# On an nginx older than 1.25.1 the `http2 on` line (tagged @http2) is dropped.
#
#   render-local-tls.sh OUT_DIR LISTEN_PORT HOST:PORT
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 OUT_DIR LISTEN_PORT HOST:PORT" >&2
  exit 2
fi
out=$(cd "$1" && pwd)
template="$(dirname "$0")/../deploy/nginx/tls.conf"
for tag in '^pid .*# @local$' '^error_log .*# @local$' 'access_log .*# @local$' \
  'listen .*# @local$' '# @lb$' '# @http2'; do
  grep -Eq "$tag" "$template" || { echo "render: $template lost the line tagged /$tag/" >&2; exit 1; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
version=$("$nginx_bin" -v 2>&1 | sed -E 's|.*nginx/([0-9.]+).*|\1|')
drop_http2=()
printf '1.25.1\n%s\n' "$version" | sort -V -C || drop_http2=(-e '/# @http2/d')

mkdir -p "$out/tmp"
sed -E "${drop_http2[@]}" \
  -e "s|^pid .*# @local$|pid ${out}/nginx.pid;|" \
  -e "s|^error_log .*# @local$|error_log ${out}/error.log warn;|" \
  -e "s|access_log .*# @local$|access_log ${out}/access.log;\n    client_body_temp_path ${out}/tmp/body;\n    proxy_temp_path ${out}/tmp/proxy;|" \
  -e "s|listen [0-9]+ ssl; *# @local$|listen 127.0.0.1:$2 ssl;|" \
  -e "s|set \\\$tally_lb .*# @lb$|set \$tally_lb http://$3;|" \
  "$template" >"$out/nginx.conf"
