# The front door (compose service caddy): the official Caddy image with the repository's
# Caddyfile and the web app, built here by Vite. Build context: the repository root.
#
#   docker build -f deploy/docker/caddy.Dockerfile -t zeus-caddy:local .

ARG NODE_IMAGE=node:24.19.0-trixie-slim
ARG CADDY_IMAGE=caddy:2.10.2-alpine

FROM ${NODE_IMAGE} AS web
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY schema/package.json schema/
COPY core/package.json core/
COPY models/package.json models/
COPY inference/package.json inference/
COPY server/package.json server/
COPY client/package.json client/
COPY cli/package.json cli/
# The web app's dependencies, Vite included (a development dependency).
RUN npm ci --ignore-scripts --no-audit --no-fund -w @zeus/client
COPY client client
RUN npm run build -w @zeus/client

FROM ${CADDY_IMAGE}
COPY Caddyfile /etc/caddy/Caddyfile
COPY --from=web /app/client/dist /srv/client
# Caddy keeps its (small) state in XDG_DATA_HOME and XDG_CONFIG_HOME: folders its user owns
# (the base image's /data and /config are root's volumes).
RUN mkdir -p /srv/generated /var/lib/zeus-caddy/data /var/lib/zeus-caddy/config \
  && chown -R 10001:10001 /var/lib/zeus-caddy
ENV ZEUS_PORT=8080 \
    ZEUS_CLIENT_DIR=/srv/client \
    ZEUS_GENERATED_DIR=/srv/generated \
    XDG_DATA_HOME=/var/lib/zeus-caddy/data \
    XDG_CONFIG_HOME=/var/lib/zeus-caddy/config
USER 10001:10001
EXPOSE 8080
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
