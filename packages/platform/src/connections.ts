import type { Server } from 'node:http';
import type { Express } from 'express';
import { createClient, TimeoutError } from 'redis';
import { topicNames, type Topics } from '@hookpost/contracts';
import { createKafka, ensureTopics, KafkaEventLog, type KafkaPatience } from './kafka';
import type { Logger } from './logger';
import { RedisApplicationCache, RedisEventTypeCache, RedisSubscriptionCache, type RedisClient } from './subscriptionDirectory';
import { within } from './within';

/** Kafka with the event topics in place and a connected event log: what every command-side service needs. */
export async function connectEventLog(
  clientId: string,
  env: { KAFKA_BROKERS: string[]; HOOKPOST_TOPIC_PREFIX: string; HOOKPOST_TOPIC_PARTITIONS: number; HOOKPOST_TOPIC_FLUSH_MESSAGES: number; HOOKPOST_TOPIC_REPLICATION_FACTOR: number },
  log: Logger,
  patience: KafkaPatience = 'persistent',
): Promise<{ kafka: ReturnType<typeof createKafka>; topics: Topics; eventLog: KafkaEventLog }> {
  const topics = topicNames(env.HOOKPOST_TOPIC_PREFIX);
  const kafka = createKafka(clientId, env.KAFKA_BROKERS, log, patience);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [topics.subscriptions, topics.webhooks, topics.deliveries, topics.deadLetters], env.HOOKPOST_TOPIC_PARTITIONS, env.HOOKPOST_TOPIC_FLUSH_MESSAGES, env.HOOKPOST_TOPIC_REPLICATION_FACTOR);
  } finally {
    await admin.disconnect();
  }
  const eventLog = new KafkaEventLog(kafka, undefined, patience);
  await eventLog.connect();
  return { kafka, topics, eventLog };
}

/**
 * At most this many Redis commands wait at once; past it a call fails at once ("The queue is full") instead of
 * piling up behind a Redis that does not answer. Far above what the services keep in flight (a reply takes well
 * under a millisecond, and the dispatcher runs at most DISPATCHER_CONCURRENCY attempts).
 */
const REDIS_MAX_PENDING_COMMANDS = 10_000;

/** Calls that are not bounded: `connect` waits for Redis to come up (as the services wait for Kafka at start). */
const UNBOUNDED_CALLS = new Set<string | symbol>(['connect']);

/**
 * `client` with every call that returns a promise settling within `ms`. node-redis 5 has no bound on waiting for
 * a reply: `commandOptions.timeout` and abort signals only hold while a command waits to be written and are
 * dropped once it is on the socket (redis/node-redis#3008), and `socket.socketTimeout` is an idle timeout that
 * every new write resets. So a Redis that accepts the connection and never answers would hold every request
 * forever. Commands and scripts are covered (transactions' `exec` and iterators are not; nothing here uses them).
 * A reply that comes after its caller gave up still arrives in order and is dropped: later replies stay matched.
 */
export function withReplyDeadline(client: RedisClient, ms: number): RedisClient {
  return new Proxy(client, {
    get(target, property) {
      // (bound to the client itself: node-redis reaches its private fields through `this`)
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || UNBOUNDED_CALLS.has(property)) return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        const call = `Redis ${String(property)}`;
        // (node-redis's own timeout, for a command it never wrote, comes without a message: say what happened)
        const named = result.catch((error: unknown) => {
          throw error instanceof TimeoutError ? new Error(`${call}: not sent within ${ms} ms (no connection ready)`) : error;
        });
        return within(ms, named, `${call}: no answer`);
      };
    },
  });
}

/** A Redis client (not yet connected) whose calls each settle within HOOKPOST_REDIS_REPLY_TIMEOUT_MS. */
export function createRedis(env: { REDIS_URL: string; HOOKPOST_REDIS_REPLY_TIMEOUT_MS: number }, log: Logger): RedisClient {
  const redis = createClient({
    url: env.REDIS_URL,
    // A command still unwritten when its caller gives up (Redis reconnecting) is dropped, not sent later: a
    // lease or lock taken for nobody would block others until it expires.
    commandOptions: { timeout: env.HOOKPOST_REDIS_REPLY_TIMEOUT_MS },
    commandsQueueMaxLength: REDIS_MAX_PENDING_COMMANDS,
  });
  redis.on('error', (error) => log.warn({ err: error }, 'redis error'));
  return withReplyDeadline(redis, env.HOOKPOST_REDIS_REPLY_TIMEOUT_MS);
}

/** A connected Redis client and the caches on it: subscriptions (endpoints), applications, event types. */
export async function connectSubscriptionCache(
  env: { REDIS_URL: string; HOOKPOST_REDIS_PREFIX: string; HOOKPOST_REDIS_REPLY_TIMEOUT_MS: number },
  log: Logger,
): Promise<{ redis: RedisClient; cache: RedisSubscriptionCache; applications: RedisApplicationCache; eventTypes: RedisEventTypeCache }> {
  const redis = createRedis(env, log);
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
