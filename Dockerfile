# syntax=docker/dockerfile:1
# The workos-sync image: the packed npm package — the same files `npm install workos-sync` gets —
# with its production dependencies at the versions package-lock.json pins (the ones CI tested).
# CI does not build it (no container engine there); test/deploy-files.test.ts checks that it runs
# the package's bin and probes the documented health path.
#
#   docker build -t workos-sync:0.1.0 .
#   docker run --rm workos-sync:0.1.0 demo
#   docker run -d --stop-timeout 20 -e WORKOS_API_KEY -e DATABASE_URL workos-sync:0.1.0

FROM node:22-slim AS build
WORKDIR /src
# Dependencies first: this layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# `npm pack` builds dist/ (prepack) and keeps only the package's `files`.
RUN npm pack --pack-destination /out && mv /out/workos-sync-*.tgz /out/workos-sync.tgz

FROM node:22-slim
WORKDIR /app
COPY --from=build /src/package-lock.json ./
COPY --from=build /out/workos-sync.tgz /tmp/
# The tarball's contents (package.json included) become /app; `npm ci` then installs what that
# package.json needs, as the lockfile pins it. No dev dependencies, no lifecycle scripts.
RUN tar -xzf /tmp/workos-sync.tgz --strip-components=1 -C /app \
  && rm /tmp/workos-sync.tgz \
  && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force \
  && ln -s /app/dist/cli.js /usr/local/bin/workos-sync

# Not root. The embedded database (DATABASE_URL unset: demos, one process) needs a writable folder;
# a real deployment sets DATABASE_URL.
USER node
ENV WORKOS_SYNC_DATA_DIR=/home/node/.workos-sync

# The health server listens on 127.0.0.1:9464 by default. The probe runs inside the container's
# network namespace, so that address answers it; Kubernetes probes come from outside the pod's
# loopback and need WORKOS_SYNC_HTTP_HOST=0.0.0.0 (deploy/kubernetes/). Only `run` serves it: a
# one-shot command (backfill, migrate) ends before the probe matters.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WORKOS_SYNC_HTTP_PORT || 9464) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Exactly the package's bin (package.json "bin": dist/cli.js). `run` stops cleanly on SIGTERM
# within 15 s: give `docker stop` more than that (--stop-timeout 20, compose's stop_grace_period).
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["run"]
