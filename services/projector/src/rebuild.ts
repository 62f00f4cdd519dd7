import { topicNames } from '@hookpost/contracts';
import { connectSubscriptionCache, createKafka, SecretBox, createLogger, runService, settingsOrExit, type Logger, type RedisClient } from '@hookpost/platform';
import { createPool, migrate } from './adapters/pgPool';
import { PgProjectionWriter } from './adapters/pgProjectionWriter';
import { projectorPayloadKeyring } from './adapters/pgPayloadKeyStore';
import { projectionBacklog, startProjectionConsumer, storedOffsets } from './adapters/kafkaProjectionConsumer';
import { readProjectorEnv, type ProjectorEnv } from './env';

/**
 * Empties the read model and replays the whole log into it: the tables are a projection, so this gives the
 * same rows. The projector must be stopped first (its consumer group must have no members).
 */
export async function rebuildReadModel(env: ProjectorEnv, log: Logger): Promise<{ events: bigint }> {
  const topics = topicNames(env.HOOKPOST_TOPIC_PREFIX);
  const topicList = [topics.subscriptions, topics.webhooks, topics.deliveries];
  const groupId = `${env.HOOKPOST_TOPIC_PREFIX}${env.PROJECTOR_GROUP_ID}`;
  const kafka = createKafka('hookpost-projector-rebuild', env.KAFKA_BROKERS, log);
  const admin = kafka.admin();
  await admin.connect();
  const pool = createPool(env.DATABASE_URL, env.HOOKPOST_DB_SCHEMA);
  let redis: RedisClient | undefined;
  try {
    // The projector's two groups: deliveries and webhooks, and subscriptions (see index.ts).
    const { groups } = await admin.describeGroups([groupId, `${groupId}.subscriptions`]);
    const members = groups.reduce((sum, group) => sum + group.members.length, 0);
    if (members > 0) throw new Error(`the projector is running (${members} member(s) in consumer group ${groupId}); stop it first`);

    await migrate(env.DATABASE_URL, env.HOOKPOST_DB_SCHEMA);
    // The consumer resumes from the offsets stored with the rows, so emptying both replays from the start.
    await pool.query('TRUNCATE subscriptions, webhook_deliveries, delivery_attempts, message_filtered_endpoints, background_tasks, projector_offsets');
    log.info({ groupId }, 'read model emptied; replaying the log');

    let total = 0n;
    for (const topic of topicList) for (const { high, low } of await admin.fetchTopicOffsets(topic)) total += BigInt(high) - BigInt(low);

    // (with an error listener: a Redis blip must not end the rebuild with an unhandled 'error' event)
    const connected = await connectSubscriptionCache(env, log);
    redis = connected.redis;
    const consumer = await startProjectionConsumer({
      kafka,
      groupId,
      topics: topicList,
      writer: new PgProjectionWriter(pool, projectorPayloadKeyring(pool, SecretBox.fromConfig(env.HOOKPOST_SECRET_KEYS), env.HOOKPOST_PAYLOAD_KEY_CACHE_MS)),
      cache: connected.cache,
      log,
      storedOffsets: () => storedOffsets(pool),
      // Already parked when first met; a replay only skips it again.
      park: async () => undefined,
    });
    try {
      for (;;) {
        if ((await projectionBacklog(admin, topicList, await storedOffsets(pool))) === 0n) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await consumer.stop();
    }
    log.info({ events: total.toString() }, 'read model rebuilt');
    return { events: total };
  } finally {
    await admin.disconnect();
    await pool.end();
    if (redis?.isOpen) await redis.quit();
  }
}

if (require.main === module) {
  const env = settingsOrExit('rebuild', () => readProjectorEnv());
  const log = createLogger('projector-rebuild', env.LOG_LEVEL);
  runService(log, async () => {
    await rebuildReadModel(env, log);
    process.exit(0);
  });
}
