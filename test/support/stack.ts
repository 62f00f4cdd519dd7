import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { createClient } from 'redis';
import { topicNames } from '@hookpost/contracts';
import { createLogger } from '@hookpost/platform';
import { startGateway, type RunningGateway } from '../../services/gateway/src/index';
import { readGatewayEnv } from '../../services/gateway/src/env';
import { startDispatcher, type RunningDispatcher } from '../../services/dispatcher/src/index';
import { readDispatcherEnv } from '../../services/dispatcher/src/env';
import { retryTiers } from '../../services/dispatcher/src/adapters/rabbitRetryQueue';
import { startProjector, type RunningProjector } from '../../services/projector/src/index';
import { readProjectorEnv } from '../../services/projector/src/env';
import { uniqueRunId } from './wait';
import { apiClient } from './api';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

/** A master key made for one run (no key is built in, and a key written here would be a published one). */
export function testMasterKey(id = 'run'): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/**
 * The three services, in this process, on real Kafka, RabbitMQ, PostgreSQL and Redis, isolated from every
 * other run by a unique topic prefix, database schema, queue names and Redis prefix (all removed by stop()).
 */
export type Stack = {
  runId: string;
  baseUrl: string;
  schema: string;
  topicPrefix: string;
  projector: RunningProjector;
  gateway: RunningGateway;
  dispatcher: RunningDispatcher;
  env: Record<string, string>;
  /** The public API as a user calls it, with the run's API key. */
  api: ReturnType<typeof apiClient>;
  /** Resolves when the read model has applied every event in the log. */
  projectionCaughtUp: (timeoutMs?: number) => Promise<void>;
  /** Stops one service and starts it again on the same port, with `env` over the run's settings. */
  restart: (service: 'gateway' | 'dispatcher' | 'projector', env?: Record<string, string>) => Promise<void>;
  stop: () => Promise<void>;
};

export type StackOptions = { env?: Record<string, string>; /** Collects every log line of the three services. */ logLines?: string[] };

/** The environment of one isolated run: unique topic prefix, schema, Redis prefix; fast retries. */
export function runEnv(overrides: Record<string, string> = {}): { runId: string; topicPrefix: string; schema: string; env: Record<string, string> } {
  const runId = uniqueRunId();
  const topicPrefix = `${runId}.`;
  const schema = `${runId}`.toLowerCase();
  const env: Record<string, string> = {
    KAFKA_BROKERS,
    REDIS_URL,
    AMQP_URL,
    DATABASE_URL,
    HOOKPOST_TOPIC_PREFIX: topicPrefix,
    HOOKPOST_REDIS_PREFIX: `${runId}:`,
    HOOKPOST_DB_SCHEMA: schema,
    HOOKPOST_TOPIC_PARTITIONS: '4',
    LOG_LEVEL: process.env.HOOKPOST_TEST_LOG_LEVEL ?? 'warn',
    GATEWAY_PORT: '0',
    PROJECTOR_PORT: '0',
    DISPATCHER_PORT: '0',
    HOOKPOST_RETRY_SCHEDULE_MS: '0,200,400,600',
    HOOKPOST_RETRY_AFTER_MAX_MS: '3000',
    HOOKPOST_DELIVERY_TIMEOUT_MS: '2000',
    // The retry reconciler at test speed: a retry RabbitMQ lost is re-scheduled 3 s after its time.
    HOOKPOST_RETRY_RECONCILE_INTERVAL_MS: '500',
    HOOKPOST_RETRY_RECONCILE_GRACE_MS: '3000',
    HOOKPOST_ATTEMPT_LEASE_MS: '1500',
    HOOKPOST_ATTEMPT_DONE_TTL_MS: '60000',
    HOOKPOST_API_KEYS: TEST_API_KEY,
    HOOKPOST_SECRET_KEYS: testMasterKey(),
    // Test receivers listen on loopback; the SSRF tests start a stack with this emptied.
    HOOKPOST_ALLOWED_TARGET_CIDRS: '127.0.0.0/8,::1/128',
    ...overrides,
  };
  return { runId, topicPrefix, schema, env };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { runId, topicPrefix, schema, env } = runEnv(options.env);
  const source = { ...process.env, ...env };
  const lines = options.logLines;
  const destination = lines ? { write: (line: string) => void lines.push(line) } : undefined;
  const logger = (service: string) => createLogger(service, env.LOG_LEVEL, destination);
  const projector = await startProjector(readProjectorEnv(source), logger('projector'));
  const withProjector = { ...source, PROJECTOR_URL: `http://127.0.0.1:${projector.port}` };
  const dispatcher = await startDispatcher(readDispatcherEnv(withProjector), logger('dispatcher'));
  const gateway = await startGateway(readGatewayEnv(withProjector), logger('gateway'));

  const projectionCaughtUp = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while ((await stack.projector.backlog()) > 0n) {
      if (Date.now() > deadline) throw new Error('projection did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const restart = async (service: 'gateway' | 'dispatcher' | 'projector', overrides: Record<string, string> = {}) => {
    const at = (port: number) => ({ ...withProjector, ...overrides, [`${service.toUpperCase()}_PORT`]: String(port) });
    switch (service) {
      case 'gateway':
        await stack.gateway.stop();
        stack.gateway = await startGateway(readGatewayEnv(at(stack.gateway.port)), logger('gateway'));
        return;
      case 'dispatcher':
        await stack.dispatcher.stop();
        stack.dispatcher = await startDispatcher(readDispatcherEnv(at(stack.dispatcher.port)), logger('dispatcher'));
        return;
      case 'projector':
        await stack.projector.stop();
        stack.projector = await startProjector(readProjectorEnv(at(stack.projector.port)), logger('projector'));
        return;
      default: {
        const unknown: never = service;
        throw new Error(`no service ${String(unknown)}`);
      }
    }
  };

  const stack: Stack = {
    runId,
    baseUrl: `http://127.0.0.1:${gateway.port}`,
    api: apiClient(`http://127.0.0.1:${gateway.port}`, { authorization: `Bearer ${TEST_API_KEY}` }),
    schema,
    topicPrefix,
    projector,
    gateway,
    dispatcher,
    env: { ...env, PROJECTOR_URL: withProjector.PROJECTOR_URL },
    projectionCaughtUp,
    restart,
    stop: async () => {
      await stack.gateway.stop();
      await stack.dispatcher.stop();
      await stack.projector.stop();
      await removeRunResources({ topicPrefix, schema, redisPrefix: env.HOOKPOST_REDIS_PREFIX!, env });
    },
  };
  return stack;
}

/** Deletes what one run created: its topics, schema, queues and Redis keys. */
export async function removeRunResources(run: { topicPrefix: string; schema: string; redisPrefix: string; env: Record<string, string> }): Promise<void> {
  const kafka = new Kafka({ clientId: 'hookpost-test-cleanup', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = Object.values(topicNames(run.topicPrefix));
  const existing = new Set(await admin.listTopics());
  await admin.deleteTopics({ topics: topics.filter((topic) => existing.has(topic)) }).catch(() => undefined);
  const groups = await admin.listGroups();
  const ours = groups.groups.map((group) => group.groupId).filter((id) => id.startsWith(run.topicPrefix));
  if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
  await admin.disconnect();

  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  // (ordered endpoints' lanes are named after the endpoints: read them before the schema goes)
  const laned = await pg
    .query<{ id: string }>(`SELECT DISTINCT subscription_id AS id FROM "${run.schema}".webhook_deliveries WHERE ordered`)
    .then((result) => result.rows.map((row) => String(row.id)), () => [] as string[]);
  await pg.query(`DROP SCHEMA IF EXISTS "${run.schema}" CASCADE`);
  await pg.end();

  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  for (const id of laned) await channel.deleteQueue(`${run.topicPrefix}hookpost.lane.${id}`);
  const schedule = (run.env.HOOKPOST_RETRY_SCHEDULE_MS ?? '').split(',').map(Number);
  const tiers = retryTiers(schedule, Math.max(Number(run.env.HOOKPOST_RETRY_AFTER_MAX_MS ?? 0), ...schedule));
  for (const ms of tiers) await channel.deleteQueue(`${run.topicPrefix}hookpost.retry.tier.${ms}ms`);
  await channel.deleteQueue(`${run.topicPrefix}hookpost.retry.ready`);
  await channel.deleteExchange(`${run.topicPrefix}hookpost.retry`);
  await channel.close();
  await connection.close();

  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${run.redisPrefix}*`, COUNT: 500 })) {
    const batch = Array.isArray(keys) ? keys : [keys];
    if (batch.length > 0) await redis.del(batch);
  }
  await redis.quit();
}
