#!/usr/bin/env bash
# The OpenAPI document and the typed client's types, from the code, without Postgres, Redis
# or a running server (src/write-openapi.ts): checks that the committed
# openapi/openapi.json and openapi/tally-api.d.ts (openapi-typescript) are what the code
# generates, then lints the document with Redocly CLI (redocly.yaml): any error fails.
#
#   check-openapi.sh           check (CI: .ci/run)
#   check-openapi.sh --write   regenerate both after changing a route, then lint
set -euo pipefail
cd "$(dirname "$0")/.."

write=0
case ${1:-} in
  --write) write=1 ;;
  '') ;;
  *) echo "usage: $0 [--write]" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm run build --silent
node_modules/.bin/node dist/src/write-openapi.js "$work/openapi.json"
node_modules/.bin/openapi-typescript "$work/openapi.json" -o "$work/tally-api.d.ts" --silent

status=0
for file in openapi.json tally-api.d.ts; do
  if ((write)); then
    cp "$work/$file" "openapi/$file"
    echo "wrote openapi/$file"
  elif ! diff -u "openapi/$file" "$work/$file" >"$work/$file.diff"; then
    head -n 40 "$work/$file.diff"
    echo "FAIL: openapi/$file is not what the code generates: run scripts/check-openapi.sh --write"
    status=1
  else
    echo "ok: openapi/$file is what the code generates"
  fi
done

node_modules/.bin/redocly lint openapi/openapi.json --format=summary || status=1
exit "$status"
