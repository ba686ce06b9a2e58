# One image for every Hermes service; the command picks the service (see docker-compose.yml).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY shared ./shared
COPY services ./services
COPY config ./config
COPY bin ./bin
RUN groupadd --system hermes && useradd --system --gid hermes --home /app hermes \
  && mkdir -p /app/data && chown hermes:hermes /app/data
USER hermes
EXPOSE 8080 9464
CMD ["node", "--max-semi-space-size=32", "--single-threaded-gc", "--import", "tsx", "services/ingest/main.ts"]
