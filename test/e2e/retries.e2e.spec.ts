import { Receiver, refusedUrl } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';
import { snapshotReadModel } from '../support/readModel';
import { createLogger } from '@hookpost/platform';
import { readProjectorEnv } from '../../services/projector/src/env';
import { rebuildReadModel } from '../../services/projector/src/rebuild';

jest.setTimeout(90_000);

// The stack's schedule: attempts at 0, +200 ms, +400 ms, +600 ms (4 attempts), ±10 % jitter; timeout 2 s.
let stack: Stack;
let api: Stack['api'];
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack();
  api = stack.api;
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

async function receiverReplying(reply: Receiver['reply']): Promise<Receiver> {
  const receiver = await Receiver.start();
  receiver.reply = reply;
  receivers.push(receiver);
  return receiver;
}

async function subscribe(targetUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', '/subscriptions', { name: 'retry-test', target_url: targetUrl, ...extra });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function ingest(subscriptionId: string): Promise<string> {
  const answer = await api('POST', `/ingest/${subscriptionId}`, { event_type: 'order.created', data: { n: 1 } });
  expect(answer.status).toBe(202);
  return answer.body.delivery_id as string;
}

async function finished(deliveryId: string, status: string) {
  return eventually(
    async () => {
      const answer = await api('GET', `/deliveries/${deliveryId}`);
      return answer.status === 200 && answer.body.status === status ? answer.body : undefined;
    },
    { what: `delivery ${deliveryId} to be ${status}`, timeoutMs: 30_000 },
  );
}

describe('retries through RabbitMQ delay tiers', () => {
  it('retries a receiver that fails twice, then records three attempts and success, spaced by the schedule', async () => {
    // Given a receiver that answers 500 twice, then 200
    const receiver = await receiverReplying((_request, n) => (n <= 2 ? { status: 500, body: 'not yet' } : { status: 200, body: 'ok' }));
    const deliveryId = await ingest(await subscribe(receiver.url));

    // When the delivery runs its course
    const delivery = await finished(deliveryId, 'succeeded');

    // Then the receiver saw three POSTs of the same webhook-id
    expect(receiver.requests).toHaveLength(3);
    expect(new Set(receiver.requests.map((request) => request.headers['webhook-id']))).toEqual(new Set([deliveryId]));
    // spaced 200 ms and 400 ms apart, within jitter (±10 %), tier granularity (50 ms early) and pipeline latency
    const [first, second, third] = receiver.requests.map((request) => request.at);
    expect(second! - first!).toBeGreaterThanOrEqual(200 * 0.9 - 50);
    expect(second! - first!).toBeLessThanOrEqual(200 * 1.1 + 400);
    expect(third! - second!).toBeGreaterThanOrEqual(400 * 0.9 - 50);
    expect(third! - second!).toBeLessThanOrEqual(400 * 1.1 + 400);
    // and three attempts are recorded, numbered 1..3
    expect(delivery.attempt_count).toBe(3);
    expect(delivery.last_status_code).toBe(200);
    expect(delivery.attempts.map((attempt: { attempt_number: number; status_code: number }) => [attempt.attempt_number, attempt.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(delivery.attempts[0].response_body).toBe('not yet');
    const attempts = await api('GET', `/deliveries/${deliveryId}/attempts`);
    expect(attempts.body.data).toHaveLength(3);
  });

  it('on 410 Gone ends the delivery, disables the subscription and makes no more attempts', async () => {
    const receiver = await receiverReplying(() => ({ status: 410 }));
    const subscriptionId = await subscribe(receiver.url);
    const deliveryId = await ingest(subscriptionId);

    const delivery = await finished(deliveryId, 'failed');
    expect(delivery.attempt_count).toBe(1);
    expect(delivery.last_status_code).toBe(410);

    await eventually(async () => ((await api('GET', `/subscriptions/${subscriptionId}`)).body.is_active === false ? true : undefined), {
      what: 'the subscription to be disabled',
    });
    expect((await api('POST', `/ingest/${subscriptionId}`, { event_type: 'a.b' })).status).toBe(409);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.requests).toHaveLength(1);
  });

  it('honours Retry-After on 429', async () => {
    const receiver = await receiverReplying((_request, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const deliveryId = await ingest(await subscribe(receiver.url));

    const delivery = await finished(deliveryId, 'succeeded');
    const gap = receiver.requests[1]!.at - receiver.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(1_000 - 50);
    expect(gap).toBeLessThanOrEqual(1_000 + 500);
    expect(delivery.attempts[0]).toMatchObject({ status_code: 429, error: 'HTTP 429' });
  });

  it('times out a receiver that hangs past timeout_ms and retries', async () => {
    const receiver = await receiverReplying((_request, n) => (n === 1 ? 'hang' : { status: 200 }));
    const deliveryId = await ingest(await subscribe(receiver.url, { timeout_ms: 300 }));

    const delivery = await finished(deliveryId, 'succeeded');
    expect(delivery.attempts[0]).toMatchObject({ attempt_number: 1, status_code: null, error: 'timed out after 300 ms' });
    expect(delivery.attempts[0].duration_ms).toBeGreaterThanOrEqual(290);
    expect(delivery.attempts[1]).toMatchObject({ attempt_number: 2, status_code: 200 });
  });

  it('retries after the receiver resets the connection', async () => {
    const receiver = await receiverReplying((_request, n) => (n === 1 ? 'reset' : { status: 200 }));
    const deliveryId = await ingest(await subscribe(receiver.url));

    const delivery = await finished(deliveryId, 'succeeded');
    expect(delivery.attempts[0]).toMatchObject({ status_code: null, error: 'connection reset' });
    expect(receiver.requests).toHaveLength(2);
  });

  it('ends failed after the last attempt, counting refused connections as failures', async () => {
    const deliveryId = await ingest(await subscribe(await refusedUrl(), { max_attempts: 3 }));

    const delivery = await finished(deliveryId, 'failed');
    expect(delivery.attempt_count).toBe(3);
    expect(delivery.next_attempt_at).toBeNull();
    expect(delivery.attempts.map((attempt: { attempt_number: number; error: string }) => [attempt.attempt_number, attempt.error])).toEqual([
      [1, 'connection refused'],
      [2, 'connection refused'],
      [3, 'connection refused'],
    ]);
  });

  it('cancels pending retries as soon as the subscription is deleted', async () => {
    // Given a delivery waiting 3 s (the Retry-After bound) for its retry
    const receiver = await receiverReplying(() => ({ status: 503, headers: { 'retry-after': '60' } }));
    const subscriptionId = await subscribe(receiver.url);
    const deliveryId = await ingest(subscriptionId);
    const retrying = await finished(deliveryId, 'retrying');
    expect(retrying.next_attempt_at).not.toBeNull();

    // When the subscription is deleted
    expect((await api('DELETE', `/subscriptions/${subscriptionId}`)).status).toBe(204);

    // Then the delivery ends cancelled before the retry was due, without another POST
    const deletedAt = Date.now();
    const cancelled = await finished(deliveryId, 'cancelled');
    expect(Date.now() - deletedAt).toBeLessThan(2_500);
    expect(Date.parse(retrying.next_attempt_at)).toBeGreaterThan(Date.now());
    expect(cancelled.attempt_count).toBe(1);
    // and the retry, when it comes due, is not attempted; the subscription is gone everywhere
    await new Promise((resolve) => setTimeout(resolve, Date.parse(retrying.next_attempt_at) - Date.now() + 500));
    expect(receiver.requests).toHaveLength(1);
    expect((await finished(deliveryId, 'cancelled')).attempt_count).toBe(1);
    expect((await api('GET', `/subscriptions/${subscriptionId}`)).status).toBe(404);
    expect((await api('GET', `/subscriptions/${subscriptionId}/deliveries`)).status).toBe(404);
    expect((await api('POST', `/ingest/${subscriptionId}`, { event_type: 'a.b' })).status).toBe(404);
    expect((await api('PATCH', `/subscriptions/${subscriptionId}`, { name: 'x' })).status).toBe(404);
  });

  it('shows the pipeline in each service\'s /metrics, with non-zero values after the runs above', async () => {
    const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();
    const value = (text: string, pattern: RegExp) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('#') && pattern.test(line))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);

    const gateway = await scrape(stack.baseUrl);
    expect(value(gateway, /^hookpost_http_requests_total\{.*route="\/ingest\/:subscriptionId".*status="202"/)).toBeGreaterThan(0);
    expect(value(gateway, /^hookpost_http_requests_total\{.*status="404"/)).toBeGreaterThan(0);
    expect(gateway).toMatch(/^nodejs_eventloop_lag_seconds\{/m);

    const dispatcher = await scrape(`http://127.0.0.1:${stack.dispatcher.port}`);
    for (const outcome of ['succeeded', 'failed', 'cancelled']) expect(value(dispatcher, new RegExp(`^hookpost_deliveries_total\\{.*outcome="${outcome}"`))).toBeGreaterThan(0);
    expect(value(dispatcher, /^hookpost_attempt_duration_seconds_count\{.*result="5xx"/)).toBeGreaterThan(0);
    expect(value(dispatcher, /^hookpost_attempt_duration_seconds_count\{.*result="error"/)).toBeGreaterThan(0);
    expect(value(dispatcher, /^hookpost_retries_scheduled_total\{/)).toBeGreaterThan(0);
    expect(dispatcher).toMatch(/^hookpost_retry_ready_messages\{/m);
    expect(dispatcher).toMatch(/^hookpost_kafka_consumer_lag_messages\{.*partition="0"/m);

    const projector = await scrape(stack.env.PROJECTOR_URL!);
    expect(value(projector, /^hookpost_projection_lag_seconds_count\{/)).toBeGreaterThan(0);
    expect(value(projector, /^hookpost_projected_events_total\{.*type="DeliveryAttempted"/)).toBeGreaterThan(0);
    expect(projector).toMatch(/^hookpost_kafka_consumer_lag_messages\{/m);
  });

  it('rebuilds the same tables, row for row, by replaying the log after all of the above', async () => {
    // Given every delivery above has settled and the projection has caught up
    await new Promise((resolve) => setTimeout(resolve, 500));
    await stack.projectionCaughtUp();
    const before = await snapshotReadModel(stack.schema);
    expect(before.webhook_deliveries!.length).toBeGreaterThanOrEqual(7);
    expect(before.delivery_attempts!.length).toBeGreaterThanOrEqual(13);

    // When the projector is stopped and the read model rebuilt from the log
    await stack.projector.stop();
    const { events } = await rebuildReadModel(readProjectorEnv({ ...process.env, ...stack.env }), createLogger('rebuild', 'warn'));

    // Then every table holds the same rows
    expect(events).toBeGreaterThan(0n);
    expect(await snapshotReadModel(stack.schema)).toEqual(before);
  });
});
