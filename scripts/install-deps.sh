#!/bin/sh
# Installs node_modules exactly as package-lock.json pins them. Used by the Dockerfile and
# by scripts/check-deploy.sh (which dry-runs the image's install), so both run the same steps.
#
#   install-deps.sh build       everything (the build stage needs TypeScript)
#   install-deps.sh production  runtime dependencies only, then drop files Node never loads
#
# POSIX sh on purpose: it runs in node:*-alpine (busybox) as well as on Debian.
set -eu

case "${1:-}" in
  build) omit='' ;;
  production) omit='--omit=dev' ;;
  *) echo "usage: $0 build|production" >&2; exit 2 ;;
esac

# shellcheck disable=SC2086 # $omit is empty or one flag
npm ci $omit --no-audit --no-fund

if [ "$1" = production ]; then
  # The runtime image's size budget (docs/operations.md): source maps, type declarations,
  # docs and TypeORM's browser bundle are never loaded by `node dist/src/main.js`.
  find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' \
    -o -name '*.d.cts' -o -name '*.md' -o -name '*.markdown' \) -delete
  rm -rf node_modules/typeorm/browser
  # The devDependency `node` (a second Node binary) must never reach the runtime.
  if [ -e node_modules/node ]; then
    echo "install-deps: node_modules/node present after --omit=dev" >&2
    exit 1
  fi
fi
