import amqp from 'amqplib';
import { topicNames, type HookpostEvent } from '@hookpost/contracts';
import { createLogger } from '@hookpost/platform';
import { RabbitRetryQueue, retryTiers } from '../../services/dispatcher/src/adapters/rabbitRetryQueue';
import type { DeliveryJob } from '../../services/dispatcher/src/delivery/deliveryJob';
import { readTopic } from '../support/eventLog';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

// RabbitMQ is the timer, the log the truth: a retry RabbitMQ loses is still made, a retry job that exists
// twice is attempted once, an unreadable job is parked, and a delivery is cancelled once.
jest.setTimeout(90_000);

// One retry, 5 s after the first attempt, without jitter: the job sits in the 5000 ms tier queue all that time.
const SCHEDULE = [0, 5_000];
const GRACE_MS = 3_000;
let stack: Stack;
let api: Stack['api'];
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack({
    env: { HOOKPOST_RETRY_SCHEDULE_MS: SCHEDULE.join(','), HOOKPOST_RETRY_JITTER_PERCENT: '0', HOOKPOST_RETRY_AFTER_MAX_MS: '5000', HOOKPOST_RETRY_RECONCILE_GRACE_MS: String(GRACE_MS) },
  });
  api = stack.api;
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const queueNames = () => [...retryTiers(SCHEDULE, 5_000).map((ms) => `${stack.topicPrefix}hookpost.retry.tier.${ms}ms`), `${stack.topicPrefix}hookpost.retry.ready`];

async function receiverReplying(reply: Receiver['reply']): Promise<Receiver> {
  const receiver = await Receiver.start();
  receiver.reply = reply;
  receivers.push(receiver);
  return receiver;
}

/** A delivery whose first attempt failed and whose retry waits in RabbitMQ. */
async function retryingDelivery(receiver: Receiver): Promise<{ subscriptionId: string; delivery: Record<string, any> }> {
  const created = await api('POST', '/subscriptions', { name: 'reconciled', target_url: receiver.url });
  const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'order.created', data: { n: 1 } });
  expect(ingested.status).toBe(202);
  const delivery = await eventually(async () => {
    const answer = await api('GET', `/deliveries/${ingested.body.delivery_id}`);
    return answer.body?.status === 'retrying' ? answer.body : undefined;
  });
  return { subscriptionId: created.body.id as string, delivery };
}

async function finished(deliveryId: string, status: string) {
  return eventually(
    async () => {
      const answer = await api('GET', `/deliveries/${deliveryId}`);
      return answer.body?.status === status ? answer.body : undefined;
    },
    { what: `delivery ${deliveryId} ${status}`, timeoutMs: 30_000 },
  );
}

async function dispatcherMetric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.dispatcher.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#') && pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

const requestsFor = (receiver: Receiver, deliveryId: string) => receiver.requests.filter((request) => request.headers['webhook-id'] === deliveryId);

describe('retries when RabbitMQ loses, doubles or garbles them', () => {
  it('makes a retry that RabbitMQ lost, from the log, once its time and the grace have passed', async () => {
    // Given a delivery waiting for its retry in RabbitMQ
    const receiver = await receiverReplying((_request, n) => (n === 1 ? { status: 500 } : { status: 200 }));
    const { delivery } = await retryingDelivery(receiver);

    // When RabbitMQ loses every message of this run's retry queues
    const connection = await amqp.connect(stack.env.AMQP_URL!);
    const channel = await connection.createChannel();
    let lost = 0;
    for (const queue of queueNames()) lost += (await channel.purgeQueue(queue)).messageCount;
    await channel.close();
    await connection.close();
    expect(lost).toBe(1);

    // Then the retry is still made, by the reconciler, after its time plus the grace; once, and it succeeds
    const done = await finished(delivery.id, 'succeeded');
    expect(done.attempt_count).toBe(2);
    const [, retry] = requestsFor(receiver, delivery.id);
    expect(retry!.at).toBeGreaterThanOrEqual(Date.parse(delivery.next_attempt_at) + GRACE_MS - 100);
    expect(requestsFor(receiver, delivery.id)).toHaveLength(2);
    expect(await dispatcherMetric(/^hookpost_retries_reconciled_total/)).toBeGreaterThanOrEqual(1);
  });

  it('attempts a retry whose job exists three times once', async () => {
    // Given a delivery waiting for its retry in RabbitMQ, and two more copies of that job due now
    const receiver = await receiverReplying((_request, n) => (n === 1 ? { status: 500 } : { status: 200 }));
    const { delivery } = await retryingDelivery(receiver);
    const job: DeliveryJob = {
      delivery_id: delivery.id,
      subscription_id: delivery.subscription_id,
      event_type: delivery.event_type,
      payload: delivery.payload,
      received_at: delivery.created_at,
      attempt_number: delivery.attempt_count + 1,
      last_status_code: delivery.last_status_code,
      last_error: delivery.last_error,
    };
    const skippedBefore = await dispatcherMetric(/^hookpost_attempts_skipped_total\{.*why="attempted already"/);
    const copies = await RabbitRetryQueue.connect({ url: stack.env.AMQP_URL!, prefix: stack.topicPrefix, tiers: retryTiers(SCHEDULE, 5_000), log: createLogger('copies', 'warn') });
    await Promise.all([copies.schedule(job, 0), copies.schedule(job, 0)]);
    await copies.close();

    // When all three have come due (RabbitMQ's own copy after 5 s)
    await finished(delivery.id, 'succeeded');
    await sleep(Math.max(0, Date.parse(delivery.next_attempt_at) - Date.now()) + 1_500);

    // Then the receiver saw the retry once, and the other two copies were skipped
    expect(requestsFor(receiver, delivery.id)).toHaveLength(2);
    expect((await api('GET', `/deliveries/${delivery.id}`)).body.attempts).toHaveLength(2);
    expect((await dispatcherMetric(/^hookpost_attempts_skipped_total\{.*why="attempted already"/)) - skippedBefore).toBeGreaterThanOrEqual(2);
  });

  it('cancels a deleted subscription’s waiting retry once, not again when its job comes due', async () => {
    // Given a delivery waiting for its retry
    const receiver = await receiverReplying(() => ({ status: 503 }));
    const { subscriptionId, delivery } = await retryingDelivery(receiver);

    // When its subscription is deleted, and the retry's time passes
    expect((await api('DELETE', `/subscriptions/${subscriptionId}`)).status).toBe(204);
    await finished(delivery.id, 'cancelled');
    await sleep(Math.max(0, Date.parse(delivery.next_attempt_at) - Date.now()) + 1_500);

    // Then the log holds one DeliveryCancelled for it, and the receiver saw only the first attempt
    const events = (await readTopic(stack.env.KAFKA_BROKERS!, topicNames(stack.topicPrefix).deliveries)).map((message) => JSON.parse(message.value!) as HookpostEvent);
    const cancels = events.filter((event) => event.type === 'DeliveryCancelled' && event.data.delivery_id === delivery.id);
    expect(cancels).toHaveLength(1);
    expect(requestsFor(receiver, delivery.id)).toHaveLength(1);
    expect((await api('GET', `/deliveries/${delivery.id}`)).body).toMatchObject({ status: 'cancelled', attempt_count: 1 });
  });

  it('parks a retry message that is not a job on the dead-letter topic, counted, and keeps consuming', async () => {
    // Given garbage in the ready queue
    const ready = `${stack.topicPrefix}hookpost.retry.ready`;
    const connection = await amqp.connect(stack.env.AMQP_URL!);
    const channel = await connection.createChannel();
    channel.sendToQueue(ready, Buffer.from('{"not": "a job"}'), { headers: { 'x-hookpost-attempt': 2 } });
    await channel.close();
    await connection.close();

    // Then it is parked with where it came from and why, counted, and off the queue
    const parked = await eventually(async () => {
      const messages = await readTopic(stack.env.KAFKA_BROKERS!, topicNames(stack.topicPrefix).deadLetters);
      return messages.find((message) => message.headers['x-hookpost-source-topic']?.toString() === ready);
    });
    expect(parked.value).toBe('{"not": "a job"}');
    expect(parked.headers['x-hookpost-reason']?.toString()).toMatch(/^job is invalid/);
    expect(await dispatcherMetric(new RegExp(`^hookpost_poison_messages_total\\{.*topic="${ready.replace(/\./g, '\\.')}"`))).toBe(1);

    // and retries keep flowing
    const receiver = await receiverReplying((_request, n) => (n === 1 ? { status: 500 } : { status: 200 }));
    const { delivery } = await retryingDelivery(receiver);
    expect((await finished(delivery.id, 'succeeded')).attempt_count).toBe(2);
  });
});
