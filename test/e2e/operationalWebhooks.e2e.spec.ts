import { randomUUID } from 'node:crypto';
import { Svix } from 'svix';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { fromExternalId, OPERATIONAL_APPLICATION_ID, toExternalId } from '@hookpost/contracts';
import { apiClient } from '../support/api';
import { Receiver, type ReceivedRequest } from '../support/receiver';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

/**
 * Operational webhooks on the real stack, through Svix's own client: an operator's operational endpoints
 * receive, signed, exactly one event per fact about the applications' endpoints and deliveries, delivered by
 * the same pipeline as any message (an operational endpoint that fails is retried like any endpoint), and
 * nothing about the operational endpoints themselves (no loop).
 */
let stack: Stack;
let svix: Svix;
const receivers: Receiver[] = [];

// Four attempts per delivery (the test schedule 0, 200, 400, 600 ms); `failing` reported after the 2nd.
const env = {
  HOOKPOST_OPERATIONAL_FAILING_ATTEMPT: '2',
  // No probing and no automatic disable for sustained failure here (circuitBreaking.e2e tests them): every
  // attempt goes out, so the facts below are exact.
  HOOKPOST_ENDPOINT_PROBE_AFTER_FAILURES: '0',
  HOOKPOST_ENDPOINT_DISABLE_AFTER_MS: '0',
};

beforeAll(async () => {
  stack = await startStack({ env });
  svix = new Svix(TEST_API_KEY, { serverUrl: stack.baseUrl });
  for (let i = 0; i < 4; i += 1) receivers.push(await Receiver.start());
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

type OperationalBody = { type: string; timestamp: string; data: Record<string, any> };
const bodyOf = (request: ReceivedRequest) => JSON.parse(request.body) as OperationalBody;
/** The payload's `n` of a delivery to an application endpoint, and how often that n has arrived so far. */
const nOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { n: number }).n;
const arrivalsOf = (receiver: Receiver, n: number) => receiver.requests.filter((request) => nOf(request) === n).length;

describe('operational webhooks', () => {
  it('reports every endpoint change and delivery outcome once, signed, to every operational endpoint, and nothing about themselves', async () => {
    const [operations, brokenOperations, customer, gone] = receivers as [Receiver, Receiver, Receiver, Receiver];
    // Given an operational endpoint that takes everything, and one that answers 500 to everything
    const operational = await svix.operationalWebhookEndpoint.create({ url: operations.url, description: 'on call', uid: `ops-${randomUUID().slice(0, 8)}` });
    expect(operational).toMatchObject({ url: operations.url, description: 'on call', disabled: false, filterTypes: null });
    expect(operational.id).toMatch(/^ep_[A-Za-z0-9]{27}$/);
    brokenOperations.reply = () => ({ status: 500 });
    const broken = await svix.operationalWebhookEndpoint.create({ url: brokenOperations.url });
    const { key } = await svix.operationalWebhookEndpoint.getSecret(operational.id);
    expect(key).toMatch(/^whsec_/);
    expect((await svix.operationalWebhookEndpoint.list()).data.map((endpoint) => endpoint.id)).toEqual([operational.id, broken.id]);
    expect(await svix.operationalWebhookEndpoint.get(operational.uid!)).toMatchObject({ id: operational.id });

    // And an application whose endpoint answers each message as the test says: n 1 always 500; n 2 500 twice, then 200
    const app = await svix.application.create({ name: 'Acme', uid: `acme-${randomUUID().slice(0, 8)}` });
    customer.reply = (request) => {
      const n = nOf(request);
      if (n === 1) return { status: 500 };
      if (n === 2 && arrivalsOf(customer, 2) <= 2) return { status: 500 };
      return { status: 200 };
    };
    gone.reply = () => ({ status: 410 });

    // When the endpoint is created, changed, disabled and enabled again
    const endpoint = await svix.endpoint.create(app.id, { url: customer.url, uid: 'billing' });
    await svix.endpoint.patch(app.id, endpoint.id, { description: 'billing events' });
    await svix.endpoint.patch(app.id, endpoint.id, { disabled: true });
    await svix.endpoint.patch(app.id, endpoint.id, { disabled: false });
    // And a message fails all four attempts, another fails twice and then succeeds
    const first = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n: 1 }, eventId: 'evt-1' });
    await eventually(async () => (arrivalsOf(customer, 1) === 4 ? true : undefined), { what: 'four attempts of the first message' });
    const second = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n: 2 } });
    await eventually(async () => (customer.requests.some((request) => nOf(request) === 2 && request.answered === 200) ? true : undefined), { what: 'the second message delivered' });
    // And a second endpoint answers 410 Gone to a third message (which the first endpoint takes)
    const goneEndpoint = await svix.endpoint.create(app.id, { url: gone.url });
    const third = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n: 3 } });
    await eventually(async () => ((await svix.endpoint.get(app.id, goneEndpoint.id)).disabled ? true : undefined), { what: 'the endpoint that answered 410 disabled' });
    // And the first endpoint is deleted
    await svix.endpoint.delete(app.id, endpoint.id);

    // Then the operational endpoint receives exactly these events (in whatever order), each once
    const ep = endpoint.id;
    const expected = [
      `endpoint.created ${ep}`,
      `endpoint.updated ${ep}`,
      `endpoint.updated ${ep}`,
      `endpoint.disabled ${ep} manual`,
      `endpoint.updated ${ep}`,
      `endpoint.enabled ${ep}`,
      `message.attempt.failing ${ep} ${first.id}`,
      `message.attempt.exhausted ${ep} ${first.id}`,
      `message.attempt.failing ${ep} ${second.id}`,
      `message.attempt.recovered ${ep} ${second.id}`,
      `endpoint.created ${goneEndpoint.id}`,
      `endpoint.disabled ${goneEndpoint.id} automatic`,
      `message.attempt.exhausted ${goneEndpoint.id} ${third.id}`,
      `endpoint.deleted ${ep}`,
    ].sort();
    const summary = (body: OperationalBody) => [body.type, body.data.endpointId, body.data.msgId ?? body.data.trigger].filter(Boolean).join(' ');
    await eventually(async () => (operations.requests.length >= expected.length ? true : undefined), { what: `${expected.length} operational events`, timeoutMs: 30_000 });
    // (nothing more comes: no event twice, none about the operational endpoints' own failures)
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const bodies = operations.requests.map(bodyOf);
    expect(bodies.map(summary).sort()).toEqual(expected);

    // And each is a Standard Webhooks request signed with the operational endpoint's secret, its message's id as webhook-id
    const verifier = new StandardWebhook(key);
    for (const request of operations.requests) expect(verifier.verify(request.body, request.headers as Record<string, string>)).toEqual(JSON.parse(request.body));
    const webhookIds = operations.requests.map((request) => request.headers['webhook-id']);
    expect(new Set(webhookIds).size).toBe(expected.length);
    for (const id of webhookIds) expect(id).toMatch(/^msg_[A-Za-z0-9]{27}$/);

    // And the bodies are Svix's shapes, naming the application, the endpoint, the message and its last attempt
    const of = (type: string, msgId?: string) => bodies.find((body) => body.type === type && (msgId === undefined || body.data.msgId === msgId))!;
    expect(of('endpoint.created')).toEqual({ type: 'endpoint.created', timestamp: expect.any(String), data: { appId: app.id, appUid: app.uid, endpointId: ep, endpointUid: 'billing' } });
    expect(of('endpoint.disabled', undefined).data).toMatchObject({ appId: app.id });
    const automatic = bodies.find((body) => body.type === 'endpoint.disabled' && body.data.trigger === 'automatic')!;
    expect(automatic.data).toMatchObject({ endpointId: goneEndpoint.id, failSince: null, reason: expect.stringContaining('410 Gone') });
    const exhausted = of('message.attempt.exhausted', first.id);
    expect(exhausted.data).toEqual({
      appId: app.id,
      appUid: app.uid,
      endpointId: ep,
      msgId: first.id,
      msgEventId: 'evt-1',
      lastAttempt: { id: expect.stringMatching(/^atmpt_/), responseStatusCode: 500, timestamp: expect.any(String) },
    });
    // (the attempt it names is the fourth, as the API lists it)
    const attempts = await svix.messageAttempt.listByMsg(app.id, first.id);
    expect(attempts.data.map((attempt) => attempt.id)).toContain(exhausted.data.lastAttempt.id);
    expect(of('message.attempt.recovered', second.id).data.lastAttempt).toMatchObject({ responseStatusCode: 200 });
    expect(of('message.attempt.failing', second.id).data.lastAttempt).toMatchObject({ responseStatusCode: 500 });

    // And the failing operational endpoint had every event too, retried four times each, as any endpoint's
    // deliveries are: recorded as deliveries with their attempts, and reported nowhere
    await eventually(async () => (brokenOperations.requests.length >= expected.length * 4 ? true : undefined), { what: 'every attempt at the failing operational endpoint' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(brokenOperations.requests).toHaveLength(expected.length * 4);
    const deliveries = await stack.api('GET', `/deliveries?subscription_id=${fromExternalId('ep', broken.id)}&limit=100`);
    expect(deliveries.body.data).toHaveLength(expected.length);
    expect(deliveries.body.data.every((delivery: { status: string; attempt_count: number }) => delivery.status === 'failed' && delivery.attempt_count === 4)).toBe(true);
    const operationalIds = new Set([operational.id, broken.id]);
    expect(bodies.filter((body) => operationalIds.has(body.data.endpointId))).toEqual([]);
    expect(operations.requests).toHaveLength(expected.length);
  });

  it('answers only admin keys, and keeps the reserved application out of every application path', async () => {
    // Given an application and a token scoped to it
    const app = await svix.application.create({ name: 'Scoped' });
    const { token } = await svix.authentication.appPortalAccess(app.id, {});
    const scoped = apiClient(stack.baseUrl, { authorization: `Bearer ${token}` });
    const listed = await svix.operationalWebhookEndpoint.create({ url: receivers[0]!.url });
    // Then the token reaches no operational-webhook path: 404, as if it did not exist
    expect((await scoped('GET', '/api/v1/operational-webhook/endpoint')).status).toBe(404);
    expect((await scoped('GET', `/api/v1/operational-webhook/endpoint/${listed.id}`)).status).toBe(404);
    expect((await scoped('POST', '/api/v1/operational-webhook/endpoint', { url: receivers[0]!.url })).status).toBe(404);
    expect((await scoped('GET', `/api/v1/operational-webhook/endpoint/${listed.id}/secret`)).status).toBe(404);
    // And the reserved application is no application: not listed, not readable, takes no message or endpoint
    const reserved = toExternalId('app', OPERATIONAL_APPLICATION_ID);
    const apps = await svix.application.list({ limit: 250 });
    expect(apps.data.map((application) => application.id)).not.toContain(reserved);
    expect((await stack.api('GET', `/api/v1/app/${reserved}`)).status).toBe(404);
    expect((await stack.api('GET', `/api/v1/app/${reserved}/endpoint`)).status).toBe(404);
    expect((await stack.api('POST', `/api/v1/app/${reserved}/msg`, { eventType: 'endpoint.created', payload: {} })).status).toBe(404);
    expect((await stack.api('POST', `/api/v1/app/${reserved}/endpoint`, { url: receivers[0]!.url })).status).toBe(404);
    // And an application endpoint is no operational endpoint (nor the reverse)
    const endpoint = await svix.endpoint.create(app.id, { url: receivers[0]!.url });
    expect((await stack.api('GET', `/api/v1/operational-webhook/endpoint/${endpoint.id}`)).status).toBe(404);
    expect((await stack.api('GET', `/api/v1/app/${app.id}/endpoint/${listed.id}`)).status).toBe(404);
  });

  it('updates, rotates, sets headers on and deletes an operational endpoint through the client', async () => {
    const created = await svix.operationalWebhookEndpoint.create({ url: receivers[0]!.url, filterTypes: ['endpoint.disabled'], metadata: { team: 'ops' } });
    expect(created).toMatchObject({ filterTypes: ['endpoint.disabled'], metadata: { team: 'ops' } });
    const before = await svix.operationalWebhookEndpoint.getSecret(created.id);
    await svix.operationalWebhookEndpoint.rotateSecret(created.id, {});
    expect((await svix.operationalWebhookEndpoint.getSecret(created.id)).key).not.toBe(before.key);
    await svix.operationalWebhookEndpoint.updateHeaders(created.id, { headers: { 'X-Team': 'ops' } });
    expect(await svix.operationalWebhookEndpoint.getHeaders(created.id)).toEqual({ headers: { 'X-Team': 'ops' }, sensitive: [] });
    const updated = await svix.operationalWebhookEndpoint.update(created.id, { url: receivers[1]!.url, disabled: true });
    expect(updated).toMatchObject({ url: receivers[1]!.url, disabled: true, filterTypes: null, metadata: {} });
    await svix.operationalWebhookEndpoint.delete(created.id);
    await expect(svix.operationalWebhookEndpoint.get(created.id)).rejects.toMatchObject({ code: 404 });
    await expect(svix.operationalWebhookEndpoint.update(created.id, { url: receivers[1]!.url })).rejects.toMatchObject({ code: 404 });
  });
});
