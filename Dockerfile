# Tally API/worker image. docs/operations.md explains the stages and the size budget (< 250 MB).
# Node is pinned to the version of .nvmrc and the devDependency `node`; Alpine to a release
# the official node image is built on, so the Node binary copied below finds its libraries.
ARG NODE_VERSION=24.21.0
ARG ALPINE_VERSION=3.24

# ---- build: compile TypeScript ----------------------------------------------------------
# Debian, not Alpine: `npm run build` puts node_modules/.bin first on PATH, and the
# devDependency `node` installs a glibc binary there that cannot run on musl.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Only the manifests and the install script first, so this layer is reused until they change.
COPY package.json package-lock.json ./
COPY scripts/install-deps.sh scripts/
RUN sh scripts/install-deps.sh build
COPY . .
RUN npm run build

# ---- deps: production dependencies, installed on the runtime's libc -----------------------
FROM node:${NODE_VERSION}-alpine${ALPINE_VERSION} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/install-deps.sh scripts/
RUN sh scripts/install-deps.sh production

# ---- runtime ------------------------------------------------------------------------------
# Plain Alpine plus the node binary: npm, yarn, corepack and the C headers of the node
# image (about 37 MB) have no use at runtime and would push the image past its budget.
FROM alpine:${ALPINE_VERSION} AS runtime
# The spool (events taken while Redis is unreachable) is the one path the service writes:
# owned by tally, and a volume in compose so it outlives the container.
RUN apk add --no-cache libstdc++ \
  && addgroup -S -g 10001 tally \
  && adduser -S -D -H -u 10001 -G tally -s /sbin/nologin tally \
  && mkdir -p /var/lib/tally/spool \
  && chown tally:tally /var/lib/tally/spool
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# Owned by root and read-only to the service user: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
ENV NODE_ENV=production \
    APP_PROFILE=prod \
    PORT=3000 \
    SPOOL_DIR=/var/lib/tally/spool
USER tally
EXPOSE 3000
# Liveness only (ready also needs Postgres and Redis; a restart would not fix those).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live',{signal:AbortSignal.timeout(3000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# main.ts handles SIGTERM itself (drains batches, releases locks), so node runs as PID 1.
CMD ["node", "dist/src/main.js"]
