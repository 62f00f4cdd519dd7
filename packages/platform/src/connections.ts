import type { Server } from 'node:http';
import type { Express } from 'express';
import { createClient } from 'redis';
import { topicNames, type Topics } from '@hookpost/contracts';
import { createKafka, ensureTopics, KafkaEventLog, type KafkaPatience } from './kafka';
import type { Logger } from './logger';
import { RedisApplicationCache, RedisEventTypeCache, RedisSubscriptionCache, type RedisClient } from './subscriptionDirectory';
import { within } from './within';

/** Kafka with the event topics in place and a connected event log: what every command-side service needs. */
export async function connectEventLog(
  clientId: string,
  env: { KAFKA_BROKERS: string[]; HOOKPOST_TOPIC_PREFIX: string; HOOKPOST_TOPIC_PARTITIONS: number; HOOKPOST_TOPIC_FLUSH_MESSAGES: number },
  log: Logger,
  patience: KafkaPatience = 'persistent',
): Promise<{ kafka: ReturnType<typeof createKafka>; topics: Topics; eventLog: KafkaEventLog }> {
  const topics = topicNames(env.HOOKPOST_TOPIC_PREFIX);
  const kafka = createKafka(clientId, env.KAFKA_BROKERS, log, patience);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [topics.subscriptions, topics.webhooks, topics.deliveries, topics.deadLetters], env.HOOKPOST_TOPIC_PARTITIONS, env.HOOKPOST_TOPIC_FLUSH_MESSAGES);
  } finally {
    await admin.disconnect();
  }
  const eventLog = new KafkaEventLog(kafka, undefined, patience);
  await eventLog.connect();
  return { kafka, topics, eventLog };
}

/** A connected Redis client and the caches on it: subscriptions (endpoints), applications, event types. */
export async function connectSubscriptionCache(
  env: { REDIS_URL: string; HOOKPOST_REDIS_PREFIX: string },
  log: Logger,
): Promise<{ redis: RedisClient; cache: RedisSubscriptionCache; applications: RedisApplicationCache; eventTypes: RedisEventTypeCache }> {
  const redis = createClient({ url: env.REDIS_URL });
  redis.on('error', (error) => log.warn({ err: error }, 'redis error'));
  await redis.connect();
  return {
    redis,
    cache: new RedisSubscriptionCache(redis, env.HOOKPOST_REDIS_PREFIX),
    applications: new RedisApplicationCache(redis, env.HOOKPOST_REDIS_PREFIX),
    eventTypes: new RedisEventTypeCache(redis, env.HOOKPOST_REDIS_PREFIX),
  };
}

/** Serves `app` on `host` (HOOKPOST_BIND_HOST: loopback by default, nothing reachable from outside unasked). */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}

/** Readiness of Kafka: the cluster answers a metadata request. */
export async function kafkaAnswers(admin: import('kafkajs').Admin): Promise<boolean> {
  const cluster = await within(2_000, admin.describeCluster());
  return cluster.brokers.length > 0;
}
