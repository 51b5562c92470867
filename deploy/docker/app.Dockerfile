# The API server image (compose services app1, app2, app3): server/src/main.ts run by Node with
# tsx, exactly as the local stack and the tests run it. Build context: the repository root.
#
#   docker build -f deploy/docker/app.Dockerfile -t zeus-app:local .

ARG NODE_IMAGE=node:24.19.0-trixie-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY schema/package.json schema/
COPY core/package.json core/
COPY models/package.json models/
COPY inference/package.json inference/
COPY server/package.json server/
COPY client/package.json client/
COPY cli/package.json cli/
# The production dependencies of the workspaces the server imports, and tsx. No install scripts:
# none of these needs one (native parts come prebuilt, as optional dependencies).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --include-workspace-root \
      -w @zeus/server -w @zeus/core -w @zeus/schema -w @zeus/models \
  && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    ZEUS_API_HOST=0.0.0.0 \
    ZEUS_API_PORT=4000 \
    ZEUS_MODELS_DIR=/models
WORKDIR /app
# node_modules, and the workspaces' own node_modules next to their package.json files.
COPY --from=deps /app ./
COPY schema schema
COPY core core
COPY models models
COPY server server
# Any user can run it: compose may run it as the user owning the host's folders.
USER 10001:10001
EXPOSE 4000
CMD ["node", "--import", "tsx", "server/src/main.ts"]
