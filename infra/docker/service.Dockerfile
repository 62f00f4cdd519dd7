# One image recipe for the three services: `docker compose` builds it with SERVICE=gateway|dispatcher|projector.
FROM node:20-bookworm-slim
WORKDIR /app
RUN npm install -g pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json ./
COPY packages ./packages
COPY services ./services
RUN pnpm install --frozen-lockfile
ARG SERVICE
ENV SERVICE=${SERVICE} NODE_ENV=production
USER node
CMD ["sh", "-c", "exec node --enable-source-maps --import tsx --import ./packages/telemetry/src/register.ts services/${SERVICE}/src/index.ts"]
