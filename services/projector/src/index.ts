import type { AddressInfo } from 'node:net';
import { topicNames } from '@hookpost/contracts';
import { apiKeysFrom, AppTokens, ConfiguredAppKeys, RedisTokenDenylist, atMostEvery, cachedReadiness, serviceCredentials, closeServer, createMetricsRegistry, KafkaEventLog, kafkaAnswers, kafkaLagGauge, poisonMessagesCounter, prometheus, ServiceUnavailable, within, connectSubscriptionCache, createKafka, SecretBox, createLogger, ensureTopics, listen, runService, settingsOrExit, ShutdownManager, type FetchSettings, type Logger } from '@hookpost/platform';
import { PgSvixQueries } from './svix/svixQueries';
import { buildProjectorApp, type ReadScope } from './app';
import { AppliedPositions, KafkaLogHead } from './adapters/kafkaReadFence';
import { readProjectorEnv, type ProjectorEnv } from './env';
import { createPool, migrate } from './adapters/pgPool';
import { PgProjectionWriter } from './adapters/pgProjectionWriter';
import { RedisLiveChanges } from './adapters/redisLiveChanges';
import { PgOverview } from './adapters/pgOverview';
import { projectorPayloadKeyring, sweepExpiredPayloads } from './adapters/pgPayloadKeyStore';
import { PgReadQueries } from './adapters/pgReadQueries';
import { projectionBacklog, startProjectionConsumer, storedOffsets } from './adapters/kafkaProjectionConsumer';

export type RunningProjector = {
  port: number;
  /** Events in the log that the read model has not applied yet. */
  backlog: () => Promise<bigint>;
  stop: () => Promise<void>;
};

/** Composition root: migrate, build adapters, consume the log, serve reads. */
export async function startProjector(env: ProjectorEnv, log: Logger = createLogger('projector', env.LOG_LEVEL)): Promise<RunningProjector> {
  const shutdown = new ShutdownManager(log);
  const apiKeys = apiKeysFrom(env);
  const appKeys = ConfiguredAppKeys.parse(env.HOOKPOST_APP_API_KEYS, apiKeys);
  const topics = topicNames(env.HOOKPOST_TOPIC_PREFIX);
  const topicList = [topics.subscriptions, topics.webhooks, topics.deliveries];

  await migrate(env.DATABASE_URL, env.HOOKPOST_DB_SCHEMA, (message) => log.debug({ migration: message }, 'migrate'));
  const pool = createPool(env.DATABASE_URL, env.HOOKPOST_DB_SCHEMA, 10, (error) => log.warn({ err: error }, 'idle PostgreSQL client failed'));
  const { redis, cache, applications, eventTypes } = await connectSubscriptionCache(env, log);

  const kafka = createKafka('hookpost-projector', env.KAFKA_BROKERS, log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [...topicList, topics.deadLetters], env.HOOKPOST_TOPIC_PARTITIONS, env.HOOKPOST_TOPIC_FLUSH_MESSAGES, env.HOOKPOST_TOPIC_REPLICATION_FACTOR);
  const deadLetters = new KafkaEventLog(kafka);
  await deadLetters.connect();

  const queries = new PgReadQueries(pool);
  const payloadKeys = projectorPayloadKeyring(pool, SecretBox.fromConfig(env.HOOKPOST_SECRET_KEYS), env.HOOKPOST_PAYLOAD_KEY_CACHE_MS);
  // Payload keys sealed under a master key other than the first are sealed again before anything is served:
  // restarting with a new key first (docs/master-keys.md) is then enough for the old one to be retired.
  for (let page = 1; page > 0; ) {
    page = await payloadKeys.store.resealStale();
    if (page > 0) log.info({ resealed: page }, 'payload keys resealed under the first master key');
    if (page < 1_000) break;
  }
  const metrics = createMetricsRegistry('projector');
  const groupId = `${env.HOOKPOST_TOPIC_PREFIX}${env.PROJECTOR_GROUP_ID}`;
  // Subscription changes have a consumer of their own that the broker answers as soon as one arrives, so a read
  // right after a subscription write waits milliseconds, not a delivery-sized fetch wait; they are rare, so
  // its idle long-polls cost next to nothing.
  const subscriptionGroupId = `${groupId}.subscriptions`;
  const deliveryTopics = [topics.webhooks, topics.deliveries];
  kafkaLagGauge(metrics, admin, { [groupId]: deliveryTopics, [subscriptionGroupId]: [topics.subscriptions] });
  const projected = new prometheus.Counter({ name: 'hookpost_projected_events_total', help: 'Events applied to the read model', labelNames: ['type'], registers: [metrics] });
  const rowsWritten = new prometheus.Counter({ name: 'hookpost_projected_rows_total', help: 'Read-model rows inserted or updated', registers: [metrics] });
  const poison = poisonMessagesCounter(metrics);
  const lag = new prometheus.Histogram({
    name: 'hookpost_projection_lag_seconds',
    help: 'From an event being recorded to its row being committed in the read model',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [metrics],
  });
  const head = new KafkaLogHead(admin);
  const applied = new AppliedPositions(() => storedOffsets(pool));
  const scopes: Record<ReadScope, string[]> = {
    subscriptions: [topics.subscriptions],
    deliveries: [topics.subscriptions, topics.webhooks],
    everything: [topics.subscriptions, topics.webhooks, topics.deliveries],
  };
  const readWaits = new prometheus.Histogram({
    name: 'hookpost_read_consistency_wait_seconds',
    help: 'How long a read waited for the read model to apply the writes acknowledged before it',
    labelNames: ['outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics],
  });
  const behind = () => new ServiceUnavailable('The read model has not caught up with the latest writes yet; try again shortly.', 1);
  const readAfterWrites = async (scope: ReadScope) => {
    const started = performance.now();
    const budget = env.HOOKPOST_READ_WAIT_MS;
    let caughtUp = false;
    try {
      const required = await within(budget, head.of(scopes[scope]), 'no log positions from Kafka');
      caughtUp = await applied.waitFor(required, budget - (performance.now() - started));
    } catch (error) {
      log.warn({ err: error }, 'read could not be fenced');
    }
    readWaits.observe({ outcome: caughtUp ? 'caught_up' : 'timed_out' }, (performance.now() - started) / 1000);
    if (!caughtUp) throw behind();
  };
  const oldestUnfinished = new prometheus.Gauge({
    name: 'hookpost_oldest_unfinished_delivery_age_seconds',
    help: 'Age of the oldest delivery still pending or retrying (0 when none): grows when deliveries get stuck',
    registers: [metrics],
    collect: () => refreshOldestUnfinished(),
  });
  const refreshOldestUnfinished = atMostEvery(1_000, async () => {
    const age = await within(2_000, queries.oldestUnfinishedDeliveryAgeSeconds()).catch(() => undefined);
    // PostgreSQL unreachable: keep the last value; readiness says the rest.
    if (age !== undefined) oldestUnfinished.set(age);
  });
  const readiness = await cachedReadiness(async () => {
    await within(2_000, pool.query('SELECT 1'));
    return kafkaAnswers(admin);
  });
  const svixQueries = new PgSvixQueries(pool);
  const app = buildProjectorApp({
    queries,
    svixQueries,
    overview: new PgOverview(pool),
    readAfterWrites,
    log,
    apiKeys,
    metrics,
    ready: readiness.ready,
    metricsToken: env.HOOKPOST_METRICS_TOKEN || undefined,
    serviceCredentials: serviceCredentials(env.HOOKPOST_SECRET_KEYS).accepted,
    applicationScopes: {
      tokens: AppTokens.fromConfig(env.HOOKPOST_SECRET_KEYS),
      configured: appKeys,
      denylist: new RedisTokenDenylist(redis, env.HOOKPOST_REDIS_PREFIX),
      // (after the writes before the request, as the route's own lookup will be)
      applicationIdByUid: async (uid) => {
        await readAfterWrites('subscriptions');
        return (await svixQueries.application({ kind: 'uid', uid }))?.id;
      },
      now: Date.now,
    },
    payloadKeys: payloadKeys.store,
  });
  const server = await listen(app, env.PROJECTOR_PORT, env.HOOKPOST_BIND_HOST);

  const live = new RedisLiveChanges(redis, env.HOOKPOST_REDIS_PREFIX, log);
  live.start();
  const consume = (group: string, consumed: string[], fetch: FetchSettings) => startProjectionConsumer({
    kafka,
    groupId: group,
    topics: consumed,
    writer: new PgProjectionWriter(pool, payloadKeys, live),
    cache,
    entityCaches: { applications, eventTypes },
    log,
    onApplied: (events, rows) => {
      const now = Date.now();
      rowsWritten.inc(rows);
      for (const event of events) {
        projected.inc({ type: event.type });
        lag.observe(Math.max(0, now - Date.parse(event.occurred_at)) / 1000);
      }
    },
    storedOffsets: () => storedOffsets(pool),
    onCommitted: (topic, partition, next) => applied.advance(topic, partition, next),
    fetch,
    park: async (from, reason) => {
      await deadLetters.park(topics.deadLetters, from, reason);
      poison.inc({ topic: from.topic });
    },
  });
  const consumer = await consume(groupId, deliveryTopics, { minBytes: env.PROJECTOR_FETCH_MIN_BYTES, maxWaitMs: env.PROJECTOR_FETCH_MAX_WAIT_MS, lingerMs: env.PROJECTOR_FETCH_LINGER_MS });
  const subscriptionConsumer = await consume(subscriptionGroupId, [topics.subscriptions], { minBytes: 1, maxWaitMs: 1_000 });

  // Retention: expired payloads leave the read model and their keys are shredded (every projector runs it; idempotent).
  let sweeping = Promise.resolve();
  const sweep = setInterval(() => {
    sweeping = sweepExpiredPayloads(pool, payloadKeys.store, new Date()).then(
      (swept) => {
        if (swept.shredded.length > 0 || swept.messages + swept.deliveries + swept.resealed > 0) log.info(swept, 'retention sweep: expired payloads removed, their keys shredded, stale node keys resealed');
      },
      (error: unknown) => log.warn({ err: error }, 'retention sweep failed; tried again next round'),
    );
  }, env.HOOKPOST_RETENTION_SWEEP_MS);

  shutdown.add('retention sweep', async () => {
    clearInterval(sweep);
    await sweeping;
  });
  shutdown.add('http', () => closeServer(server));
  shutdown.add('readiness checks', async () => readiness.stop());
  shutdown.add('kafka consumer', () => consumer.stop());
  shutdown.add('kafka subscription consumer', () => subscriptionConsumer.stop());
  shutdown.add('read waits', async () => applied.close());
  shutdown.add('live changes', async () => live.stop());
  shutdown.add('kafka admin', () => admin.disconnect());
  shutdown.add('dead-letter producer', () => deadLetters.disconnect());
  shutdown.add('redis', async () => {
    await redis.quit();
  });
  shutdown.add('postgres', () => pool.end());

  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'projector ready');
  return {
    port,
    backlog: async () => projectionBacklog(admin, topicList, await storedOffsets(pool)),
    stop: () => shutdown.stop(),
  };
}

if (require.main === module) {
  const env = settingsOrExit('projector', () => readProjectorEnv());
  const log = createLogger('projector', env.LOG_LEVEL);
  runService(log, () => startProjector(env, log));
}
