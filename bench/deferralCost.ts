/**
 * What one deferral round trip costs, against waiting in-process (docs/design-notes.md, "Endpoint rate limits").
 * Run against the shared brokers with their URLs exported (set -a; source .hookpost/credentials.env; set +a):
 *   node --import tsx bench/deferralCost.ts            one at a time (N=300)
 *   N=500 CONCURRENT=32 node --import tsx bench/deferralCost.ts
 * A round trip is what the dispatcher does to defer an attempt and take it up again: give the attempt's claim
 * back, record DeliveryDeferred in Kafka, publish the job to the retry queue (delay 0), receive it from the ready
 * queue, claim the attempt again, ask the rate limiter again. Topics, queues and keys are this run's own
 * (a prefix) and removed after. The CPU figure is this process's only (the brokers' and the projector's come on top).
 */
import { randomUUID } from 'node:crypto';
import { topicFor, topicNames, makeEvent } from '@hookpost/contracts';
import { connectEventLog, createLogger, createRedis } from '@hookpost/platform';
import { RabbitRetryQueue, retryTiers } from '../services/dispatcher/src/adapters/rabbitRetryQueue';
import { RedisAttemptGuard } from '../services/dispatcher/src/adapters/redisAttemptGuard';
import { RedisRateLimiter } from '../services/dispatcher/src/adapters/redisRateLimiter';
import { decideDeferral } from '../services/dispatcher/src/delivery/deferral';
import type { DeliveryJob } from '../services/dispatcher/src/delivery/deliveryJob';

const log = createLogger('measure', 'warn');
const prefix = `deferralcost${Date.now().toString(36)}.`;
const N = Number(process.env.N ?? 300);
const CONCURRENT = Number(process.env.CONCURRENT ?? 1);

async function main() {
  const env = { KAFKA_BROKERS: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), HOOKPOST_TOPIC_PREFIX: prefix, HOOKPOST_TOPIC_PARTITIONS: 1, HOOKPOST_TOPIC_FLUSH_MESSAGES: 0, HOOKPOST_TOPIC_REPLICATION_FACTOR: 1 };
  const { eventLog, kafka } = await connectEventLog('measure', env, log);
  const topics = topicNames(prefix);
  const queue = await RabbitRetryQueue.connect({ url: process.env.AMQP_URL!, prefix, tiers: retryTiers([0], 1_000), log });
  const redis = createRedis({ REDIS_URL: process.env.REDIS_URL!, HOOKPOST_REDIS_REPLY_TIMEOUT_MS: 5_000 }, log);
  await redis.connect();
  const guard = new RedisAttemptGuard(redis, prefix, { leaseMs: 5_000, doneTtlMs: 60_000 });
  const limiter = new RedisRateLimiter(redis, prefix);
  const back = new Map<string, () => void>();
  await queue.consume(256, async (job) => back.get(job.delivery_id)?.(), async () => undefined);
  const deps = { now: () => new Date(), newId: randomUUID, random: Math.random };
  const job = (): DeliveryJob => ({ delivery_id: randomUUID(), subscription_id: randomUUID(), event_type: 'a.b', payload: { n: 1, text: 'x'.repeat(200) }, received_at: new Date().toISOString(), attempt_number: 1, last_status_code: null, last_error: null });

  const roundTrip = async () => {
    const j = job();
    const claim = await guard.claim(j.delivery_id, 1);
    const started = performance.now();
    await guard.release(j.delivery_id, 1, (claim as { token: string }).token);
    const deferral = decideDeferral(j, deps, { kind: 'rate limited', perSecond: 5, delayMs: 0 });
    await eventLog.append(deferral.events.map((event) => ({ ...topicFor(topics, event), event })));
    const returned = new Promise<void>((resolve) => back.set(j.delivery_id, resolve));
    await queue.schedule(deferral.job, 0);
    await returned;
    await guard.claim(j.delivery_id, 1);
    await limiter.take(j.subscription_id, { perSecond: 1_000_000, windowMs: 250, queued: true });
    return performance.now() - started;
  };
  for (let n = 0; n < 20; n += 1) await roundTrip(); // warm-up
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      while (next++ < N) times.push(await roundTrip());
    }),
  );
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
  console.log(JSON.stringify({ N, CONCURRENT, p50_ms: p(0.5), p99_ms: p(0.99), per_s: Math.round((N / wall) * 1000), cpu_us_per_round_trip: Math.round((used.user + used.system) / N) }));

  // The in-process alternative: a timer.
  const cpu2 = process.cpuUsage();
  await Promise.all(Array.from({ length: 1000 }, () => new Promise((resolve) => setTimeout(resolve, 100))));
  const used2 = process.cpuUsage(cpu2);
  console.log(JSON.stringify({ cpu_us_per_in_process_wait: Math.round((used2.user + used2.system) / 1000) }));

  await queue.deleteAll();
  await queue.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
  await eventLog.disconnect();
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
  await redis.quit();
}
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
