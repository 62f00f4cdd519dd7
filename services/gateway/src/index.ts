import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { topicNames } from '@hookpost/contracts';
import { generateSecret, generateSigningKeyPair } from '@hookpost/signing';
import {
  apiKeysFrom,
  cachedReadiness,
  serviceCredentials,
  serviceHeaders,
  createLogger,
  closeServer,
  createMetricsRegistry,
  kafkaAnswers,
  within,
  ServiceUnavailable,
  connectEventLog,
  connectSubscriptionCache,
  listen,
  runService,
  SecretBox,
  PayloadKeyring,
  payloadNodeContext,
  projectorPayloadKeys,
  settingsOrExit,
  ShutdownManager,
  SubscriptionDirectory,
  SubscriptionWriter,
  TargetPolicy,
  ApplicationWriter,
  EntityDirectory,
  EventTypeWriter,
  idempotency,
  RedisIdempotencyStore,
  bearerToken,
  AppTokens,
  ConfiguredAppKeys,
  RedisTokenDenylist,
  type EventRecord,
  type Logger,
} from '@hookpost/platform';
import { SvixResolver } from './svix/resolve';
import { svixValidators } from './svix/validators';
import { payloadSchemaProblems } from './svix/payloadSchemas';
import { buildGatewayApp } from './app';
import { readGatewayEnv, type GatewayEnv } from './env';
import { ProjectorForwarder } from './adapters/projectorForwarder';
import { RedisSignInFailures } from './adapters/redisSignInFailures';
import { RedisUiSessions } from './adapters/redisUiSessions';
import { RedisLiveDeliveries } from './adapters/redisLiveDeliveries';
import { uiSettings, type TraceSource } from './ui/uiRoutes';
import { JaegerQuery } from './adapters/jaegerQuery';
import { PayloadSealer } from './retention';

export type RunningGateway = { port: number; stop: () => Promise<void> };

/** Composition root: connect Kafka and Redis, make sure the topics exist, serve the public API. */
export async function startGateway(env: GatewayEnv, log: Logger = createLogger('gateway', env.LOG_LEVEL)): Promise<RunningGateway> {
  const shutdown = new ShutdownManager(log);
  const secretBox = SecretBox.fromConfig(env.HOOKPOST_SECRET_KEYS);
  const apiKeys = apiKeysFrom(env);
  const appKeys = ConfiguredAppKeys.parse(env.HOOKPOST_APP_API_KEYS, apiKeys);
  const targetPolicy = new TargetPolicy(env.HOOKPOST_ALLOWED_TARGET_CIDRS);

  const { kafka, eventLog } = await connectEventLog('hookpost-gateway', env, log, 'answeringRequests');
  const admin = kafka.admin();
  await admin.connect();

  const { redis, cache, applications, eventTypes } = await connectSubscriptionCache(env, log);
  const projector = new ProjectorForwarder(env.PROJECTOR_URL, log);

  const projectorHeaders = serviceHeaders(serviceCredentials(env.HOOKPOST_SECRET_KEYS).send);
  const directory = new SubscriptionDirectory(cache, env.PROJECTOR_URL, projectorHeaders);
  const applicationDirectory = new EntityDirectory(applications, env.PROJECTOR_URL, projectorHeaders, 'applications');
  const eventTypeDirectory = new EntityDirectory(eventTypes, env.PROJECTOR_URL, projectorHeaders, 'event-types');
  // Every writer decides under its entity's lock and appends with the same bound as any command.
  const writerOptions = {
    redis,
    prefix: env.HOOKPOST_REDIS_PREFIX,
    append: (records: EventRecord[]) => eventLog.append(records, { timeoutMs: env.HOOKPOST_APPEND_TIMEOUT_MS }),
    topics: topicNames(env.HOOKPOST_TOPIC_PREFIX),
    log,
    lockTtlMs: env.HOOKPOST_APPEND_TIMEOUT_MS + 20_000,
  };
  const writer = new SubscriptionWriter({ ...writerOptions, directory, cache });
  const svix = {
    redis,
    prefix: env.HOOKPOST_REDIS_PREFIX,
    resolve: new SvixResolver({
      redis,
      prefix: env.HOOKPOST_REDIS_PREFIX,
      applications: applicationDirectory,
      endpoints: directory,
      eventTypes: eventTypeDirectory,
      projectorUrl: env.PROJECTOR_URL,
      projectorHeaders,
    }),
    endpoints: writer,
    applications: new ApplicationWriter({ ...writerOptions, directory: applicationDirectory, cache: applications }),
    eventTypes: new EventTypeWriter({ ...writerOptions, directory: eventTypeDirectory, cache: eventTypes }),
    endpointCache: cache,
    applicationCache: applications,
    eventTypeCache: eventTypes,
    secrets: secretBox,
    validators: svixValidators,
    payloadProblems: payloadSchemaProblems,
    eventIdTtlMs: env.HOOKPOST_EVENT_ID_TTL_MS,
    retention: env.payloadRetention,
  };
  // Payload keys from the key store (through the projector), kept per bucket until it expires.
  const payloadKeyring = new PayloadKeyring(
    projectorPayloadKeys(env.PROJECTOR_URL, projectorHeaders, (sealed, bucketId, prefix) => Buffer.from(secretBox.open(sealed, payloadNodeContext(bucketId, prefix)), 'base64')),
    { cacheMs: 0, now: () => new Date() },
  );
  const denylist = new RedisTokenDenylist(redis, env.HOOKPOST_REDIS_PREFIX);
  const tokens = AppTokens.fromConfig(env.HOOKPOST_SECRET_KEYS);
  const auth = {
    scopes: {
      tokens,
      configured: appKeys,
      denylist,
      applicationIdByUid: async (uid: string) => (await svix.resolve.findApplication(uid))?.id,
      now: Date.now,
    },
    tokens,
    denylist,
    application: (text: string) => svix.resolve.application(text),
    publicUrl: env.HOOKPOST_PUBLIC_URL || undefined,
    now: Date.now,
  };
  const ui = uiSettings(env);
  const liveDeliveries = new RedisLiveDeliveries(redis, env.HOOKPOST_REDIS_PREFIX, log);
  let closeLiveStreams = () => undefined as void;
  const readiness = await cachedReadiness(async () => (await within(2_000, redis.ping())) === 'PONG' && (await kafkaAnswers(admin)));
  const app = buildGatewayApp({
    log,
    eventLog,
    cache,
    directory,
    writer,
    projector,
    decide: {
      now: () => new Date(),
      newId: randomUUID,
      secrets: secretBox,
      generateSecret: () => generateSecret(32),
      generateSigningKeyPair,
      rotationOverlapMs: env.HOOKPOST_SECRET_ROTATION_OVERLAP_MS,
      refuseTarget: (url) => targetPolicy.literalRefusal(url),
    },
    topicPrefix: env.HOOKPOST_TOPIC_PREFIX,
    maxBodyBytes: env.HOOKPOST_MAX_BODY_BYTES,
    appendTimeoutMs: env.HOOKPOST_APPEND_TIMEOUT_MS,
    ready: readiness.ready,
    metricsToken: env.HOOKPOST_METRICS_TOKEN || undefined,
    apiKeys,
    metrics: createMetricsRegistry('gateway'),
    svix,
    auth,
    ui: {
      pages: {
        log,
        // (dist/ui beside the bundle; from the sources, as the tests run it, the same folder)
        dir: path.resolve(__dirname, '..', 'dist', 'ui'),
        sessions: new RedisUiSessions(redis, env.HOOKPOST_REDIS_PREFIX),
        apiKeys,
        sessionTtlMs: env.HOOKPOST_UI_SESSION_TTL_MS,
        signInFailures: new RedisSignInFailures(redis, env.HOOKPOST_REDIS_PREFIX),
        signInLimit: { maxFailures: env.HOOKPOST_UI_SIGN_IN_MAX_FAILURES, windowMs: env.HOOKPOST_UI_SIGN_IN_WINDOW_MS },
        publicUrl: env.HOOKPOST_PUBLIC_URL || undefined,
        ...ui,
        now: Date.now,
      },
      live: { live: liveDeliveries, tokens, denylist, now: Date.now },
      overview: {
        figures: async (window) => {
          const answer = await fetch(`${env.PROJECTOR_URL}/internal/overview?window=${window}`, { headers: projectorHeaders, signal: AbortSignal.timeout(10_000) });
          if (!answer.ok) throw new ServiceUnavailable('The read model cannot answer the overview right now; try again shortly.');
          return answer.json();
        },
        health: async () => {
          const projectorReady = await fetch(`${env.PROJECTOR_URL}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((answer) => answer.ok, () => false);
          const redisUp = await within(2_000, redis.ping()).then((pong) => pong === 'PONG', () => false);
          const kafkaUp = await kafkaAnswers(admin).catch(() => false);
          // (the projector is ready when PostgreSQL and Kafka answer it; the dispatcher when Kafka and RabbitMQ do)
          const dispatcher: Record<string, boolean> = env.HOOKPOST_DISPATCHER_URL
            ? { 'dispatcher (RabbitMQ, Kafka)': await fetch(`${env.HOOKPOST_DISPATCHER_URL}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((answer) => answer.ok, () => false) }
            : {};
          return { gateway: true, redis: redisUp, kafka: kafkaUp, 'projector (PostgreSQL, Kafka)': projectorReady, ...dispatcher };
        },
      },
      trace: env.HOOKPOST_JAEGER_URL ? traceSource(env.HOOKPOST_JAEGER_URL, env.HOOKPOST_JAEGER_UI_URL || env.HOOKPOST_JAEGER_URL, env.HOOKPOST_JAEGER_TIMEOUT_MS) : undefined,
      forwardAs: serviceCredentials(env.HOOKPOST_SECRET_KEYS).send,
      registerClose: (close) => {
        closeLiveStreams = close;
      },
    },
    trustProxy: env.trustProxy,
    payloads: new PayloadSealer(payloadKeyring, env.payloadRetention),
    idempotent: idempotency({
      store: new RedisIdempotencyStore(redis, env.HOOKPOST_REDIS_PREFIX),
      // The key's identity (a digest: never the key itself), so one caller's keys never answer another's.
      principal: (req) => createHash('sha256').update(bearerToken(req.headers.authorization) ?? '').digest('hex'),
      log,
      ttlMs: env.HOOKPOST_IDEMPOTENCY_TTL_MS,
    }),
  });
  const server = await listen(app, env.GATEWAY_PORT, env.HOOKPOST_BIND_HOST);

  // (a live stream never ends by itself: ended first, or closing the server would wait for it)
  shutdown.add('live streams', async () => {
    closeLiveStreams();
    await liveDeliveries.close();
  });
  shutdown.add('http', () => closeServer(server));
  shutdown.add('readiness checks', async () => readiness.stop());
  shutdown.add('kafka producer', () => eventLog.disconnect());
  shutdown.add('projector pool', () => projector.close());
  shutdown.add('kafka admin', () => admin.disconnect());
  shutdown.add('redis', async () => {
    await redis.quit();
  });

  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'gateway ready');
  return { port, stop: () => shutdown.stop() };
}

function traceSource(jaegerUrl: string, jaegerUiUrl: string, timeoutMs: number): TraceSource {
  const jaeger = new JaegerQuery(jaegerUrl, timeoutMs);
  return { jaegerUiUrl, lookup: (deliveryId) => jaeger.tracesOfDelivery(deliveryId) };
}

if (require.main === module) {
  const env = settingsOrExit('gateway', () => readGatewayEnv());
  const log = createLogger('gateway', env.LOG_LEVEL);
  runService(log, () => startGateway(env, log));
}
