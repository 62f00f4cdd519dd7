# One image for the three services; the command names the one to run:
#   docker build -f infra/docker/service.Dockerfile -t hookpost .
#   docker run hookpost gateway        (or dispatcher, or projector)
#
# Build stage: every dependency, the type check and the bundles (scripts/build.mjs), then the runtime's files
# (scripts/package.sh: the bundles, and the production dependencies only, one copy each).
FROM node:22-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY scripts/build.mjs scripts/package.sh ./scripts/
COPY infra/docker/entrypoint.sh infra/docker/healthcheck.mjs ./infra/docker/
RUN pnpm install --frozen-lockfile
RUN node scripts/build.mjs --typecheck && bash scripts/package.sh /runtime

# Runtime stage: Node and the runtime's files; no compiler, no test tools, no TypeScript sources, not root.
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /runtime /app
USER node
# On SIGTERM each service drains (finishes what it holds, commits, closes; each step at most 10 s): give it
# 30 s before SIGKILL (docker stop -t 30, stop_grace_period in compose, terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["gateway"]
