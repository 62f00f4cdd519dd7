import amqp from 'amqplib';
import { createLogger } from '@hookpost/platform';
import { defaultRetryQueueLimits, RabbitRetryQueue, RetryQueueFull, retryTiers, type UnreadableRetry } from '../src/adapters/rabbitRetryQueue';
import type { DeliveryJob } from '../src/delivery/deliveryJob';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;
const log = createLogger('test', 'warn');
let queue: RabbitRetryQueue;
const parked: UnreadableRetry[] = [];
const park = async (unreadable: UnreadableRetry) => {
  parked.push(unreadable);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
/** What the dispatcher does with a failed publish: tries again (it goes through once the adapter is back). */
async function retrying(step: () => Promise<void>): Promise<void> {
  for (let tries = 0; ; tries += 1) {
    try {
      return await step();
    } catch (error) {
      if (tries > 100) throw error;
      await sleep(100);
    }
  }
}
/** Another client, as an operator (or a broken script) would be: deletes and publishes behind the adapter's back. */
async function asOperator<T>(work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const result = await work(channel);
    await channel.close();
    return result;
  } finally {
    await connection.close();
  }
}

const job = (n: number): DeliveryJob => ({
  delivery_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  subscription_id: '11111111-1111-4111-8111-111111111111',
  event_type: 'a.b',
  payload: { n },
  received_at: '2026-01-01T00:00:00.000Z',
  attempt_number: 2,
  last_status_code: 500,
  last_error: 'HTTP 500',
});

beforeAll(async () => {
  queue = await RabbitRetryQueue.connect({ url: AMQP_URL, prefix, tiers: retryTiers([0, 300], 1_000), log });
});

afterAll(async () => {
  await queue.deleteAll();
  await queue.close();
});

describe('RabbitRetryQueue (real RabbitMQ)', () => {
  it('declares quorum tier queues with TTL, at-least-once dead-lettering into the ready queue, and length limits that refuse publishes', async () => {
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    // Re-declaring with the same arguments succeeds only if they match what the adapter declared.
    await channel.assertQueue(`${prefix}hookpost.retry.tier.300ms`, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum', 'x-message-ttl': 300, 'x-dead-letter-exchange': `${prefix}hookpost.retry`,
        'x-dead-letter-routing-key': 'ready', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish',
        'x-max-length': defaultRetryQueueLimits.maxMessages, 'x-max-length-bytes': defaultRetryQueueLimits.maxBytes,
      },
    });
    await channel.assertQueue(`${prefix}hookpost.retry.ready`, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum', 'x-overflow': 'reject-publish',
        'x-max-length': defaultRetryQueueLimits.maxMessages, 'x-max-length-bytes': defaultRetryQueueLimits.maxBytes,
      },
    });
    await channel.close();
    await connection.close();
    expect(queue.tiers).toEqual([50, 100, 200, 300, 400, 800]);
  });

  it('brings each job back after its delay (hopping tiers for odd delays), with its attempt number, deferrals and rate-limit turn', async () => {
    const arrivals: { job: DeliveryJob; at: number }[] = [];
    await queue.consume(
      10,
      async (arrived) => {
        arrivals.push({ job: arrived, at: Date.now() });
      },
      park,
    );
    const start = Date.now();
    const deferred = { ...job(2), deferrals: 2, rate_limit_queued: true };
    await Promise.all([queue.schedule(job(1), 300), queue.schedule(deferred, 650), queue.schedule(job(3), 0)]);

    const deadline = Date.now() + 10_000;
    while (arrivals.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(arrivals.map((arrival) => arrival.job.payload!.n)).toEqual([3, 1, 2]);
    const after = (n: number) => arrivals.find((arrival) => arrival.job.payload!.n === n)!.at - start;
    expect(after(3)).toBeLessThan(200);
    expect(after(1)).toBeGreaterThanOrEqual(300 - 50);
    expect(after(1)).toBeLessThan(300 + 400);
    expect(after(2)).toBeGreaterThanOrEqual(650 - 50);
    expect(after(2)).toBeLessThan(650 + 600);
    expect(arrivals[1]!.job).toEqual(job(1));
    expect(arrivals[2]!.job).toEqual(deferred);
  });

  it('parks a message that is not a job, with its reason, and takes it off the queue', async () => {
    const before = parked.length;
    await asOperator(async (channel) => {
      channel.sendToQueue(`${prefix}hookpost.retry.ready`, Buffer.from('not json'), { headers: { 'x-hookpost-attempt': 2 } });
      const { attempt_number: _attempt, ...body } = job(7);
      channel.sendToQueue(`${prefix}hookpost.retry.ready`, Buffer.from(JSON.stringify({ ...body, delivery_id: 'nope' })), { headers: { 'x-hookpost-attempt': 2 } });
      channel.sendToQueue(`${prefix}hookpost.retry.ready`, Buffer.from(JSON.stringify(body)), { headers: { 'x-hookpost-attempt': 'two' } });
    });
    const reasons = await until(() => (parked.length >= before + 3 ? parked.slice(before).map((p) => p.reason) : undefined), 'three parked messages');
    expect(reasons[0]).toBe('body is not JSON');
    expect(reasons[1]).toMatch(/delivery_id/);
    expect(reasons[2]).toMatch(/attempt_number/);
    expect(parked[before]!.content.toString()).toBe('not json');
    expect(parked[before]!.queue).toBe(`${prefix}hookpost.retry.ready`);
    await sleep(200);
    expect(await queue.readyDepth()).toBe(0);
  });

  it('comes back consuming after its ready queue is deleted, and re-declares deleted tier queues instead of losing a publish', async () => {
    const arrivals: DeliveryJob[] = [];
    const fresh = await RabbitRetryQueue.connect({ url: AMQP_URL, prefix: `${prefix}b.`, tiers: retryTiers([0, 300], 1_000), log });
    try {
      await fresh.consume(10, async (arrived) => void arrivals.push(arrived), park);

      // A tier queue goes away behind the adapter's back (an operator, a wiped vhost)...
      await asOperator((channel) => channel.deleteQueue(`${prefix}b.hookpost.retry.tier.200ms`));
      // ...a publish to it is not confirmed as if delivered: it fails, and once re-declared the next goes through.
      await expect(fresh.schedule(job(11), 200)).rejects.toThrow(/no queue took the retry/);
      await retrying(() => fresh.schedule(job(11), 200));
      expect(await until(() => arrivals.find((a) => a.payload!.n === 11), 'the job published after the deletion')).toEqual(job(11));

      // The ready queue goes away: RabbitMQ cancels the consumer, which comes back on a re-declared queue.
      await asOperator((channel) => channel.deleteQueue(`${prefix}b.hookpost.retry.ready`));
      await sleep(100);
      await retrying(() => fresh.schedule(job(12), 0));
      expect(await until(() => arrivals.find((a) => a.payload!.n === 12), 'the job published after the ready queue was deleted')).toEqual(job(12));
    } finally {
      await fresh.deleteAll().catch(() => undefined);
      await fresh.close();
    }
  });

  it('reconnects when RabbitMQ closes its channel (publishing to a deleted exchange), and ensureTopology restores it', async () => {
    const arrivals: DeliveryJob[] = [];
    const fresh = await RabbitRetryQueue.connect({ url: AMQP_URL, prefix: `${prefix}c.`, tiers: retryTiers([0, 300], 1_000), log });
    try {
      await fresh.consume(10, async (arrived) => void arrivals.push(arrived), park);
      await asOperator(async (channel) => {
        await channel.deleteExchange(`${prefix}c.hookpost.retry`);
      });
      // Due now: published through the deleted exchange, which makes RabbitMQ close the channel (404).
      await expect(fresh.schedule(job(21), 0)).rejects.toThrow();
      await until(() => (fresh.connected ? true : undefined), 'reconnected');
      await retrying(() => fresh.schedule(job(22), 0));
      await until(() => arrivals.find((a) => a.payload!.n === 22), 'the job published after the reconnect');

      // ensureTopology alone brings back a deleted tier queue (the reconciler calls it every round).
      await asOperator((channel) => channel.deleteQueue(`${prefix}c.hookpost.retry.tier.300ms`));
      await fresh.ensureTopology();
      await asOperator((channel) => channel.checkQueue(`${prefix}c.hookpost.retry.tier.300ms`));
    } finally {
      await fresh.deleteAll().catch(() => undefined);
      await fresh.close();
    }
  });

  it('refuses publishes to a full queue (back-pressure), keeps what it holds, and takes them once there is room', async () => {
    // Given a retry queue whose queues hold two messages each, and no consumer yet
    const small = `${prefix}small.`;
    const full = await RabbitRetryQueue.connect({ url: AMQP_URL, prefix: small, tiers: retryTiers([0], 50), limits: { maxMessages: 2, maxBytes: 1_048_576 }, log });
    const arrived: number[] = [];
    try {
      // When ten jobs are published one after another
      const refused: number[] = [];
      for (let n = 31; n <= 40; n += 1) {
        try {
          await full.schedule(job(n), 0);
        } catch (error) {
          expect(error).toBeInstanceOf(RetryQueueFull);
          refused.push(n);
        }
      }
      // Then RabbitMQ refuses the ones past the limit (a quorum queue may let one or two past before it notices,
      // and drops nothing from its head to make room)
      expect(refused.length).toBeGreaterThanOrEqual(6);
      const held = await full.readyDepth();
      expect(held).toBe(10 - refused.length);
      expect(held).toBeLessThanOrEqual(4);
      // and once the queue drains, every refused publish tried again is taken: all ten come back
      await full.consume(10, async (arrival) => void arrived.push(arrival.payload!.n as number), park);
      await until(() => (arrived.length === held ? true : undefined), 'the jobs the queue held');
      for (const n of refused) await retrying(() => full.schedule(job(n), 0));
      await until(() => (arrived.length === 10 ? true : undefined), 'every job');
      expect(arrived.sort((a, b) => a - b)).toEqual([31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
    } finally {
      await full.deleteAll();
      await full.close();
    }
  });

  it('keeps working with queues an older version declared without limits', async () => {
    // Given the ready queue and a tier declared as before limits existed
    const older = `${prefix}older.`;
    await asOperator(async (channel) => {
      await channel.assertQueue(`${older}hookpost.retry.ready`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.assertQueue(`${older}hookpost.retry.tier.50ms`, {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum', 'x-message-ttl': 50, 'x-dead-letter-exchange': `${older}hookpost.retry`,
          'x-dead-letter-routing-key': 'ready', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish',
        },
      });
    });
    // When the adapter connects with limits, it keeps them as they are (a warning says so) and delivers through them
    const adapter = await RabbitRetryQueue.connect({ url: AMQP_URL, prefix: older, tiers: retryTiers([0], 100), log });
    const arrived: number[] = [];
    try {
      await adapter.consume(10, async (arrival) => void arrived.push(arrival.payload!.n as number), park);
      await adapter.schedule(job(31), 0);
      await adapter.schedule(job(32), 60);
      await adapter.schedule(job(33), 120);
      await until(() => (arrived.length === 3 ? true : undefined), 'three jobs through old and new queues');
      expect(arrived.sort()).toEqual([31, 32, 33]);
      await adapter.ensureTopology();
      expect(adapter.connected).toBe(true);
    } finally {
      await adapter.deleteAll();
      await adapter.close();
    }
  });
});
