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
  # --omit=optional too: @nestjs/swagger declares `typescript`, and @nestjs/terminus
  # `@grpc/grpc-js` and `@grpc/proto-loader`, as optional peers. Since our devDependencies
  # put them in the lockfile (typescript directly, gRPC through testcontainers' dockerode),
  # npm marks them devOptional and --omit=dev alone keeps them: ~25 MB nothing loads
  # (npm/cli#5203, #7772: npm's answer is to omit optional as well). The production tree's
  # only true optional dependency is pg-cloudflare, which pg loads on Cloudflare Workers only.
  production) omit='--omit=dev --omit=optional' ;;
  *) echo "usage: $0 build|production" >&2; exit 2 ;;
esac

# shellcheck disable=SC2086 # $omit is empty or flags
npm ci $omit --no-audit --no-fund

if [ "$1" = production ]; then
  # The runtime image's size budget (docs/operations.md): source maps, type declarations,
  # docs and TypeORM's browser bundle are never loaded by `node dist/src/main.js`.
  find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' \
    -o -name '*.d.cts' -o -name '*.md' -o -name '*.markdown' \) -delete
  rm -rf node_modules/typeorm/browser
  # What must never reach the runtime: the devDependency `node` (a second Node binary) and
  # the optional peers above.
  for absent in node typescript @grpc/grpc-js @grpc/proto-loader; do
    if [ -e "node_modules/$absent" ]; then
      echo "install-deps: node_modules/$absent present in the production install" >&2
      exit 1
    fi
  done
fi
