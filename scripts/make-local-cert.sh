#!/usr/bin/env bash
# A self-signed certificate for local TLS runs (docker compose --profile tls): valid 30 days
# for localhost and 127.0.0.1, written as tls.crt and tls.key where compose's `tls` service
# reads them. Never for anything reachable: browsers and clients rightly distrust it.
#
#   make-local-cert.sh [DIR]      DIR defaults to deploy/nginx/certs (git-ignored)
set -euo pipefail

dir=${1:-"$(dirname "$0")/../deploy/nginx/certs"}
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj '/CN=localhost' -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
  -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
# Readable by nginx's workers in the container; the key is for local use only.
chmod 644 "$dir/tls.key" "$dir/tls.crt"
echo "wrote $dir/tls.crt and $dir/tls.key (self-signed, localhost, 30 days)"
