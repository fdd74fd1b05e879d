# syntax=docker/dockerfile:1
# The Annals API. Build stage: full toolchain (better-sqlite3 may compile natively), tests
# and dev dependencies stay behind. Runtime stage: the same Debian release, slim, non-root.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY events ./events
COPY projections ./projections
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    ANNALS_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The bundled example is read at runtime from src/example (see src/example/facts.ts).
COPY --from=build /app/src/example/*.ndjson ./src/example/
# The embedded store's directory (used when ANNALS_EVENT_STORE=sqlite), owned by the app user.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=6 --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/server.js"]
