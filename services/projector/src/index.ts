import type { AddressInfo } from 'node:net';
import { topicNames } from '@hookpost/contracts';
import { apiKeysFrom, closeServer, createMetricsRegistry, KafkaEventLog, kafkaAnswers, kafkaLagGauge, poisonMessagesCounter, prometheus, within, connectSubscriptionCache, createKafka, createLogger, ensureTopics, listen, runService, ShutdownManager, type Logger } from '@hookpost/platform';
import { buildProjectorApp } from './app';
import { readProjectorEnv, type ProjectorEnv } from './env';
import { createPool, migrate } from './adapters/pgPool';
import { PgProjectionWriter } from './adapters/pgProjectionWriter';
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
  const topics = topicNames(env.HOOKPOST_TOPIC_PREFIX);
  const topicList = [topics.subscriptions, topics.webhooks, topics.deliveries];

  await migrate(env.DATABASE_URL, env.HOOKPOST_DB_SCHEMA, (message) => log.debug({ migration: message }, 'migrate'));
  const pool = createPool(env.DATABASE_URL, env.HOOKPOST_DB_SCHEMA, 10, (error) => log.warn({ err: error }, 'idle PostgreSQL client failed'));
  const { redis, cache } = await connectSubscriptionCache(env, log);

  const kafka = createKafka('hookpost-projector', env.KAFKA_BROKERS, log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [...topicList, topics.deadLetters], env.HOOKPOST_TOPIC_PARTITIONS);
  const deadLetters = new KafkaEventLog(kafka);
  await deadLetters.connect();

  const queries = new PgReadQueries(pool);
  const metrics = createMetricsRegistry('projector');
  const groupId = `${env.HOOKPOST_TOPIC_PREFIX}${env.PROJECTOR_GROUP_ID}`;
  kafkaLagGauge(metrics, admin, groupId, topicList);
  const projected = new prometheus.Counter({ name: 'hookpost_projected_events_total', help: 'Events applied to the read model', labelNames: ['type'], registers: [metrics] });
  const rowsWritten = new prometheus.Counter({ name: 'hookpost_projected_rows_total', help: 'Read-model rows inserted or updated', registers: [metrics] });
  const poison = poisonMessagesCounter(metrics);
  const lag = new prometheus.Histogram({
    name: 'hookpost_projection_lag_seconds',
    help: 'From an event being recorded to its row being committed in the read model',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [metrics],
  });
  new prometheus.Gauge({
    name: 'hookpost_oldest_unfinished_delivery_age_seconds',
    help: 'Age of the oldest delivery still pending or retrying (0 when none): grows when deliveries get stuck',
    registers: [metrics],
    async collect() {
      const age = await within(2_000, queries.oldestUnfinishedDeliveryAgeSeconds()).catch(() => undefined);
      // PostgreSQL unreachable: keep the last value; readiness says the rest.
      if (age !== undefined) this.set(age);
    },
  });
  const app = buildProjectorApp({
    queries,
    log,
    apiKeys: apiKeysFrom(env),
    metrics,
    ready: async () => {
      await within(2_000, pool.query('SELECT 1'));
      return kafkaAnswers(admin);
    },
  });
  const server = await listen(app, env.PROJECTOR_PORT);

  const consumer = await startProjectionConsumer({
    kafka,
    groupId,
    topics: topicList,
    writer: new PgProjectionWriter(pool),
    cache,
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
    fetch: { minBytes: env.PROJECTOR_FETCH_MIN_BYTES, maxWaitMs: env.PROJECTOR_FETCH_MAX_WAIT_MS },
    park: async (from, reason) => {
      await deadLetters.park(topics.deadLetters, from, reason);
      poison.inc({ topic: from.topic });
    },
  });

  shutdown.add('http', () => closeServer(server));
  shutdown.add('kafka consumer', () => consumer.stop());
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
  const env = readProjectorEnv();
  const log = createLogger('projector', env.LOG_LEVEL);
  runService(log, () => startProjector(env, log));
}
