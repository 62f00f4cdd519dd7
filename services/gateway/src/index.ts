import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
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
  connectEventLog,
  connectSubscriptionCache,
  listen,
  runService,
  SecretBox,
  settingsOrExit,
  ShutdownManager,
  SubscriptionDirectory,
  SubscriptionWriter,
  TargetPolicy,
  type Logger,
} from '@hookpost/platform';
import { buildGatewayApp } from './app';
import { readGatewayEnv, type GatewayEnv } from './env';
import { ProjectorForwarder } from './adapters/projectorForwarder';

export type RunningGateway = { port: number; stop: () => Promise<void> };

/** Composition root: connect Kafka and Redis, make sure the topics exist, serve the public API. */
export async function startGateway(env: GatewayEnv, log: Logger = createLogger('gateway', env.LOG_LEVEL)): Promise<RunningGateway> {
  const shutdown = new ShutdownManager(log);
  const secretBox = SecretBox.fromConfig(env.HOOKPOST_SECRET_KEYS);
  const apiKeys = apiKeysFrom(env);
  const targetPolicy = new TargetPolicy(env.HOOKPOST_ALLOWED_TARGET_CIDRS);

  const { kafka, eventLog } = await connectEventLog('hookpost-gateway', env, log, 'answeringRequests');
  const admin = kafka.admin();
  await admin.connect();

  const { redis, cache } = await connectSubscriptionCache(env, log);
  const projector = new ProjectorForwarder(env.PROJECTOR_URL, log);

  const directory = new SubscriptionDirectory(cache, env.PROJECTOR_URL, serviceHeaders(serviceCredentials(env.HOOKPOST_SECRET_KEYS).send));
  const writer = new SubscriptionWriter({
    redis,
    prefix: env.HOOKPOST_REDIS_PREFIX,
    directory,
    cache,
    append: (records) => eventLog.append(records, { timeoutMs: env.HOOKPOST_APPEND_TIMEOUT_MS }),
    topics: topicNames(env.HOOKPOST_TOPIC_PREFIX),
    log,
    lockTtlMs: env.HOOKPOST_APPEND_TIMEOUT_MS + 20_000,
  });
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
  });
  const server = await listen(app, env.GATEWAY_PORT, env.HOOKPOST_BIND_HOST);

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

if (require.main === module) {
  const env = settingsOrExit('gateway', () => readGatewayEnv());
  const log = createLogger('gateway', env.LOG_LEVEL);
  runService(log, () => startGateway(env, log));
}
