# syntax=docker/dockerfile:1
# One image for every ddq component: `ddq scheduler|operator|worker|...` (the first argument).
# Build: docker build -t ghcr.io/ddq-io/ddq:0.1.0 .

# --- build: compile TypeScript, then keep only production dependencies -----------------------
FROM node:24-bookworm-slim AS build
WORKDIR /src
ENV NODE_ENV=development npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN npm ci --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY scheduler/ scheduler/
COPY operator/ operator/
COPY worker/ worker/
COPY client/ client/
COPY cli/ cli/
COPY proto/ proto/
RUN npm run build && npm prune --omit=dev --loglevel=error

# --- runtime: Node.js 24 and nothing else (no shell, no package manager), uid 65532 -------------
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# gRPC API, plaintext gRPC health, Prometheus metrics.
EXPOSE 7070 7071 9464
# `node /app/dist/cli/ddq.js`: node is /nodejs/bin/node in the distroless image.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/ddq.js"]
