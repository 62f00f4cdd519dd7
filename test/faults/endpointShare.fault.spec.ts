import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { withReadModel } from '../support/readModel';
import { eventually } from '../support/wait';

jest.setTimeout(150_000);

// In the fault tier, which runs alone: it compares two latency percentiles, and other test files running beside
// it on two cores moved the healthy p99 from ~30 ms to 274 ms in one CI run (the e2e tier runs two at a time).

/**
 * One tarpit endpoint (it holds every request until the client's timeout) must not starve the others: with
 * 300 webhooks sent to it, 8 healthy endpoints keep their p99 first-attempt latency within 2× of the same
 * traffic without the tarpit. Load is modest for a 2-core machine: 20/s healthy, plus the tarpit's 20/s.
 *
 * The dispatcher runs with 64 slots per source (a quarter of the default), so its default shares are 16 in
 * flight and 16 waiting per endpoint: the tarpit's 20/s × 10 s of hanging demand (200 slots) would take every
 * slot without them, and the healthy endpoints would wait seconds for one.
 */
const HEALTHY = 8;
const HEALTHY_PER_SECOND = 2.5; // per endpoint: 20/s in all
const PHASE_MS = 20_000;
const TARPIT_WEBHOOKS = 300;
const TARPIT_SECONDS = 15;
const TARPIT_TIMEOUT_MS = 10_000;
const SLOTS = 64;
const SHARE = SLOTS / 4;

let stack: Stack;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack({
    env: {
      DISPATCHER_CONCURRENCY: String(SLOTS),
      // Longer than the tarpit's timeout: an attempt still hanging is not yet overdue (with the test stack's
      // 3 s the reconciler would copy every deferred webhook whose attempt is under way).
      HOOKPOST_RETRY_RECONCILE_GRACE_MS: '30000',
    },
  });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function subscribe(receiver: Receiver, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await stack.api('POST', '/subscriptions', { name: 'fair-share', target_url: receiver.url, ...extra });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

type Sent = { deliveryId: string; sentAt: number };

/** Sends `count` webhooks to `subscriptionId`, evenly over `ms`, without waiting for one answer to send the next. */
async function steadily(subscriptionId: string, count: number, ms: number): Promise<Sent[]> {
  const start = Date.now();
  const answers: Promise<Sent>[] = [];
  for (let n = 0; n < count; n += 1) {
    const due = start + (n * ms) / count;
    if (due > Date.now()) await sleep(due - Date.now());
    const sentAt = Date.now();
    answers.push(
      stack.api('POST', `/ingest/${subscriptionId}`, { event_type: 'fair.share', data: { n } }).then((answer) => {
        if (answer.status !== 202) throw new Error(`ingest answered ${answer.status}`);
        return { deliveryId: answer.body.delivery_id as string, sentAt };
      }),
    );
  }
  return Promise.all(answers);
}

/** Healthy traffic for one phase: each endpoint at its steady rate, all at once. */
async function healthyPhase(subscriptions: string[]): Promise<Sent[][]> {
  return Promise.all(subscriptions.map((id) => steadily(id, (HEALTHY_PER_SECOND * PHASE_MS) / 1_000, PHASE_MS)));
}

/** Milliseconds from sending each webhook to its receiver reading the first attempt (all must have arrived). */
async function firstAttemptLatencies(sent: Sent[][]): Promise<number[]> {
  const arrivals = new Map<string, number>();
  await eventually(
    async () => {
      for (const receiver of receivers) for (const request of receiver.requests) {
        const id = request.headers['webhook-id'] as string;
        if (!arrivals.has(id)) arrivals.set(id, request.at);
      }
      return sent.flat().every(({ deliveryId }) => arrivals.has(deliveryId)) ? true : undefined;
    },
    { what: 'every healthy webhook at its receiver', timeoutMs: 30_000, intervalMs: 200 },
  );
  return sent.flat().map(({ deliveryId, sentAt }) => arrivals.get(deliveryId)! - sentAt);
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1]!;
}

describe('fair sharing between endpoints', () => {
  it('keeps 8 healthy endpoints within 2× of their p99 (or 100 ms) while 300 webhooks hang at a tarpit, and accounts for every webhook', async () => {
    // Given 8 healthy endpoints that answer at once, and a tarpit that never answers
    for (let n = 0; n < HEALTHY; n += 1) receivers.push(await Receiver.start());
    const tarpit = await Receiver.start();
    tarpit.reply = () => 'hang';
    receivers.push(tarpit);
    const healthy = [];
    for (const receiver of receivers.slice(0, HEALTHY)) healthy.push(await subscribe(receiver));
    const tarpitSubscription = await subscribe(tarpit, { timeout_ms: TARPIT_TIMEOUT_MS });
    // (a short warm-up, not measured)
    await Promise.all(healthy.map((id) => steadily(id, 8, 2_000)));

    // When the healthy endpoints get steady traffic alone
    const alone = await healthyPhase(healthy);
    const aloneP99 = p99(await firstAttemptLatencies(alone));

    // and then the same traffic while 300 webhooks go to the tarpit in its first seconds
    const [withTarpit, tarpitSent] = await Promise.all([healthyPhase(healthy), steadily(tarpitSubscription, TARPIT_WEBHOOKS, TARPIT_SECONDS * 1_000)]);
    const withTarpitP99 = p99(await firstAttemptLatencies(withTarpit));
    const tarpitFirstAttempts = new Set(tarpit.requests.map((request) => request.headers['webhook-id'])).size;
    const metrics = await (await fetch(`http://127.0.0.1:${stack.dispatcher.port}/metrics`)).text();
    const deferrals = Number(/^hookpost_attempts_deferred_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    console.log(
      `healthy p99 first-attempt latency: ${aloneP99} ms alone, ${withTarpitP99} ms with the tarpit; ` +
        `tarpit: ${tarpitFirstAttempts} of ${TARPIT_WEBHOOKS} attempted so far, at most ${tarpit.mostHanging} hanging at once, ${deferrals} deferrals`,
    );

    // Then the healthy endpoints' p99 stays within 2× of the run without the tarpit, or 100 ms more where 2× is
    // less: the p99 of 400 first attempts is their 4th slowest, and at ~30 ms alone a few garbage collections
    // on 2 shared cores moved it to 68 ms (clean-clone CI). A tarpit that took the healthy endpoints' slots
    // would cost them seconds (its requests hang for 10 s), which either bound catches.
    expect(withTarpitP99).toBeLessThanOrEqual(Math.max(2 * aloneP99, aloneP99 + 100));
    // and the tarpit never had more than its share in flight, though it was kept busy
    expect(tarpit.mostHanging).toBeLessThanOrEqual(SHARE);
    expect(tarpit.mostHanging).toBeGreaterThan(0);
    expect(deferrals).toBeGreaterThan(0);

    // and every webhook is accounted for: each healthy one delivered, each tarpit one waiting its turn,
    // retrying after a timeout, or failed by the timeout schedule; none succeeded, none missing
    await stack.projectionCaughtUp(30_000);
    const rows = await withReadModel(stack.schema, async (client) =>
      (await client.query<{ id: string; subscription_id: string; status: string; last_error: string | null }>(
        'SELECT id, subscription_id, status, last_error FROM webhook_deliveries WHERE payload IS NOT NULL',
      )).rows,
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const { deliveryId } of [...alone.flat(), ...withTarpit.flat()]) expect(byId.get(deliveryId)?.status).toBe('succeeded');
    const tarpitRows = tarpitSent.map(({ deliveryId }) => byId.get(deliveryId));
    expect(tarpitRows.every((row) => row !== undefined && row.subscription_id === tarpitSubscription)).toBe(true);
    const statuses = new Set(tarpitRows.map((row) => row!.status));
    expect([...statuses].every((status) => ['pending', 'retrying', 'failed'].includes(status))).toBe(true);
    for (const row of tarpitRows) if (row!.status !== 'pending') expect(row!.last_error).toBe(`timed out after ${TARPIT_TIMEOUT_MS} ms`);
    expect(tarpitRows.filter((row) => row!.status !== 'pending').length).toBeGreaterThan(0);
  });
});
