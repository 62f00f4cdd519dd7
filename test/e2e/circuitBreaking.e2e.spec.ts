import { Svix } from 'svix';
import { fromExternalId } from '@hookpost/contracts';
import { Receiver, type ReceivedRequest } from '../support/receiver';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

/**
 * Circuit breaking on the real stack: a failing endpoint is probed (at most one attempt per probe interval,
 * the other due attempts deferred, not counted) until it answers again; an endpoint whose every attempt
 * failed for HOOKPOST_ENDPOINT_DISABLE_AFTER_MS is disabled, its waiting deliveries cancelled, and the
 * operational endpoints told; enabling it again resumes delivery.
 */
const stacks: Stack[] = [];
const receivers: Receiver[] = [];

async function stackWith(env: Record<string, string>): Promise<{ stack: Stack; svix: Svix }> {
  const stack = await startStack({ env });
  stacks.push(stack);
  return { stack, svix: new Svix(TEST_API_KEY, { serverUrl: stack.baseUrl }) };
}
async function receiver(): Promise<Receiver> {
  const started = await Receiver.start();
  receivers.push(started);
  return started;
}

afterAll(async () => {
  for (const started of receivers) await started.stop();
  for (const stack of stacks) await stack.stop();
});

const nOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { n: number }).n;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('circuit breaking', () => {
  it('probes a failing endpoint once per interval instead of sending every retry, and delivers everything once it answers', async () => {
    // Given a probe after 3 failures in a row, one probe per second, and ten attempts 100 ms apart per delivery
    const { stack, svix } = await stackWith({
      HOOKPOST_ENDPOINT_PROBE_AFTER_FAILURES: '3',
      HOOKPOST_ENDPOINT_PROBE_INTERVAL_MS: '1000',
      HOOKPOST_ENDPOINT_DISABLE_AFTER_MS: '0',
      HOOKPOST_RETRY_SCHEDULE_MS: '0,100,100,100,100,100,100,100,100,100',
      HOOKPOST_RETRY_JITTER_PERCENT: '0',
    });
    const endpoint = await receiver();
    let healthy = false;
    endpoint.reply = () => (healthy ? { status: 200 } : { status: 503 });
    const app = await svix.application.create({ name: 'Probed' });
    const created = await svix.endpoint.create(app.id, { url: endpoint.url });

    // When twenty messages are sent to it while it answers 503
    const messages = [];
    for (let n = 1; n <= 20; n += 1) messages.push(await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n } }));
    // (at full rate, 20 deliveries × 10 attempts 100 ms apart would be ~200 requests in about a second)
    await sleep(1_500);
    const settled = Date.now();
    await sleep(4_000);

    // Then, once the first attempts are out, at most one request a second reaches it
    const probes = endpoint.requests.filter((request) => request.at >= settled).map((request) => request.at);
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(probes.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < probes.length; i += 1) expect(probes[i]! - probes[i - 1]!).toBeGreaterThanOrEqual(900);
    expect(endpoint.requests.length).toBeLessThan(80);

    // When it answers again, the next probe closes the circuit and every message is delivered
    healthy = true;
    await eventually(async () => {
      const delivered = new Set(endpoint.requests.filter((request) => request.answered === 200).map(nOf));
      return delivered.size === 20 ? true : undefined;
    }, { what: 'every message delivered after the endpoint recovered', timeoutMs: 90_000 });
    // And the ledger is exact: every delivery succeeded, none failed or was lost, deferrals cost no attempt
    const deliveries = await eventually(async () => {
      const page = await stack.api('GET', `/deliveries?subscription_id=${fromExternalId('ep', created.id)}&limit=100`);
      return page.body.data.length === 20 && page.body.data.every((delivery: { status: string }) => delivery.status === 'succeeded') ? page.body.data : undefined;
    }, { what: 'twenty succeeded deliveries in the read model' });
    const attempts = deliveries.reduce((sum: number, delivery: { attempt_count: number }) => sum + delivery.attempt_count, 0);
    expect(attempts).toBe(endpoint.requests.length);
  });

  it('disables an endpoint whose every attempt failed for the period, stops its deliveries, tells the operator, and resumes when enabled again', async () => {
    // Given a 2 s period, no probing, fifteen attempts 300 ms apart (4.2 s: none runs out before the period
    // does), and an operational endpoint
    const { stack, svix } = await stackWith({
      HOOKPOST_ENDPOINT_PROBE_AFTER_FAILURES: '0',
      HOOKPOST_ENDPOINT_DISABLE_AFTER_MS: '2000',
      HOOKPOST_RETRY_SCHEDULE_MS: ['0', ...Array(14).fill('300')].join(','),
      HOOKPOST_RETRY_JITTER_PERCENT: '0',
      HOOKPOST_OPERATIONAL_FAILING_ATTEMPT: '1000',
    });
    const operator = await receiver();
    await svix.operationalWebhookEndpoint.create({ url: operator.url });
    const endpoint = await receiver();
    let healthy = false;
    endpoint.reply = () => (healthy ? { status: 200 } : { status: 500 });
    const app = await svix.application.create({ name: 'Failing' });
    const created = await svix.endpoint.create(app.id, { url: endpoint.url });

    // When it fails every attempt of five messages for longer than the period
    for (let n = 1; n <= 5; n += 1) await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n } });
    const firstFailure = await eventually(async () => endpoint.requests[0]?.at, { what: 'the first attempt' });

    // Then it is disabled, about 2 s after its first failure
    await eventually(async () => ((await svix.endpoint.get(app.id, created.id)).disabled ? true : undefined), { what: 'the endpoint disabled', timeoutMs: 20_000 });
    const disabledBy = Date.now();
    expect(disabledBy - firstFailure).toBeGreaterThanOrEqual(2_000);
    // And its waiting deliveries end cancelled as they come due: no request reaches it after a moment
    const deliveries = await eventually(async () => {
      const page = await stack.api('GET', `/deliveries?subscription_id=${fromExternalId('ep', created.id)}&limit=100`);
      return page.body.data.length === 5 && page.body.data.every((delivery: { status: string }) => delivery.status === 'cancelled') ? page.body.data : undefined;
    }, { what: 'five cancelled deliveries' });
    expect(deliveries.every((delivery: { attempt_count: number }) => delivery.attempt_count >= 1 && delivery.attempt_count < 15)).toBe(true);
    const seen = endpoint.requests.length;
    await sleep(1_500);
    expect(endpoint.requests.length).toBe(seen);

    // And the operator was told: created, then disabled automatically, since the first failure, with the reason
    const events = await eventually(async () => (operator.requests.length >= 2 ? operator.requests.map((request) => JSON.parse(request.body)) : undefined), { what: 'two operational events' });
    expect(events.map((event) => event.type).sort()).toEqual(['endpoint.created', 'endpoint.disabled']);
    const disabled = events.find((event) => event.type === 'endpoint.disabled')!;
    expect(disabled.data).toMatchObject({ endpointId: created.id, trigger: 'automatic', reason: expect.stringContaining('every attempt failed since') });
    expect(Math.abs(Date.parse(disabled.data.failSince) - firstFailure)).toBeLessThan(1_000);

    // When it is enabled again (and answers), delivery resumes at once: the failing record of before is gone
    healthy = true;
    await svix.endpoint.patch(app.id, created.id, { disabled: false });
    await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n: 6 } });
    await eventually(async () => (endpoint.requests.some((request) => nOf(request) === 6 && request.answered === 200) ? true : undefined), { what: 'the message after re-enabling' });
    expect((await svix.endpoint.get(app.id, created.id)).disabled).toBe(false);
    await eventually(async () => (operator.requests.length >= 4 ? true : undefined), { what: 'the enable reported' });
    expect(operator.requests.map((request) => JSON.parse(request.body).type).sort()).toEqual(['endpoint.created', 'endpoint.disabled', 'endpoint.enabled', 'endpoint.updated']);
  });
});
