import amqp from 'amqplib';
import { createLogger } from '@hookpost/platform';
import { RabbitRetryQueue, retryTiers } from '../src/adapters/rabbitRetryQueue';
import type { DeliveryJob } from '../src/delivery/deliveryJob';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;
const log = createLogger('test', 'warn');
let queue: RabbitRetryQueue;

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
  it('declares quorum tier queues with TTL and at-least-once dead-lettering into the ready queue', async () => {
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    // Re-declaring with the same arguments succeeds only if they match what the adapter declared.
    await channel.assertQueue(`${prefix}hookpost.retry.tier.300ms`, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum', 'x-message-ttl': 300, 'x-dead-letter-exchange': `${prefix}hookpost.retry`,
        'x-dead-letter-routing-key': 'ready', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish',
      },
    });
    await channel.close();
    await connection.close();
    expect(queue.tiers).toEqual([50, 100, 200, 300, 400, 800]);
  });

  it('brings each job back after its delay (hopping tiers for odd delays), with its attempt number', async () => {
    const arrivals: { job: DeliveryJob; at: number }[] = [];
    await queue.consume(10, async (arrived) => {
      arrivals.push({ job: arrived, at: Date.now() });
    });
    const start = Date.now();
    await Promise.all([queue.schedule(job(1), 300), queue.schedule(job(2), 650), queue.schedule(job(3), 0)]);

    const deadline = Date.now() + 10_000;
    while (arrivals.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(arrivals.map((arrival) => arrival.job.payload.n)).toEqual([3, 1, 2]);
    const after = (n: number) => arrivals.find((arrival) => arrival.job.payload.n === n)!.at - start;
    expect(after(3)).toBeLessThan(200);
    expect(after(1)).toBeGreaterThanOrEqual(300 - 50);
    expect(after(1)).toBeLessThan(300 + 400);
    expect(after(2)).toBeGreaterThanOrEqual(650 - 50);
    expect(after(2)).toBeLessThan(650 + 600);
    expect(arrivals[1]!.job).toEqual(job(1));
  });
});
