# roomgate: multi-stage build on Node 24 LTS. The image needs DATABASE_URL and
# ROOMGATE_KEY_ENCRYPTION_KEY; it never starts an embedded database.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The console workspace's manifest, so that npm ci installs Vite and React for its build.
COPY console/package.json ./console/
# Dependency install scripts only fetch or link tools the build doesn't use.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json
# The console (console/dist): static files, served at /console/ by the HTTP listener.
COPY scripts/build-console.mjs ./scripts/
COPY console ./console
RUN node scripts/build-console.mjs --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    ROOMGATE_GRPC_ADDRESS=0.0.0.0:50051 \
    ROOMGATE_METRICS_ADDRESS=0.0.0.0:9464 \
    ROOMGATE_HTTP_ADDRESS=0.0.0.0:8080 \
    ROOMGATE_EMBEDDED_POSTGRES=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/dist ./console/dist
COPY src/store/migrations ./src/store/migrations
COPY bin ./bin
USER node
EXPOSE 50051 8080 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["node", "bin/roomgate.js", "health"]
ENTRYPOINT ["node", "bin/roomgate.js"]
CMD ["serve"]
