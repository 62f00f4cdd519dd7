import { verify } from '@hookpost/signing';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(90_000);

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
  api = stack.api;
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

let api: Stack['api'];

describe('walking skeleton: subscription → ingest → signed POST → recorded attempt', () => {
  it('delivers a signed webhook and shows the delivery succeeded with its attempt', async () => {
    // Given a subscription pointing at a real receiver (the seed's first curl example)
    const secret = 'testsecretkey123456789012345678901234';
    const created = await api('POST', '/subscriptions/', { name: 'test-subscription', target_url: receiver.url, secret_key: secret });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'test-subscription', target_url: receiver.url, is_active: true, secret_key: secret });
    const subscriptionId = created.body.id as string;

    // When an event is ingested right away (read-your-writes through the cache)
    const ingested = await api('POST', `/ingest/${subscriptionId}`, { event_type: 'test_event', data: { key: 'value' } });
    expect(ingested.status).toBe(202);
    expect(ingested.body).toEqual({ delivery_id: expect.any(String), status: 'pending' });
    const deliveryId = ingested.body.delivery_id as string;
    expect(ingested.headers.get('location')).toBe(`/deliveries/${deliveryId}`);

    // Then the receiver gets one POST whose Standard Webhooks signature verifies with the secret
    const request = await eventually(async () => receiver.requests[0], { what: 'the webhook POST' });
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(deliveryId);
    expect(verify(secret, request.body, request.headers as Record<string, string>)).toEqual({ event_type: 'test_event', data: { key: 'value' } });
    expect(() => verify('some-other-secret-value', request.body, request.headers as Record<string, string>)).toThrow('no matching signature');

    // And the delivery, read through the gateway's base URL, has succeeded with its one attempt
    const delivery = await eventually(async () => {
      const answer = await api('GET', `/deliveries/${deliveryId}`);
      return answer.status === 200 && answer.body.status === 'succeeded' ? answer.body : undefined;
    }, { what: 'the delivery to succeed' });
    expect(delivery).toMatchObject({
      id: deliveryId,
      subscription_id: subscriptionId,
      event_type: 'test_event',
      payload: { event_type: 'test_event', data: { key: 'value' } },
      status: 'succeeded',
      attempt_count: 1,
      last_status_code: 200,
      next_attempt_at: null,
    });
    expect(delivery!.attempts).toEqual([
      expect.objectContaining({ attempt_number: 1, status_code: 200, error: null, response_body: 'ok', duration_ms: expect.any(Number) }),
    ]);
    expect(receiver.requests).toHaveLength(1);

    // And the subscription is listed (without its secret) with its deliveries
    const listed = await api('GET', `/subscriptions/${subscriptionId}/deliveries`);
    expect(listed.body.data.map((d: { id: string }) => d.id)).toEqual([deliveryId]);
    const shown = await eventually(async () => {
      const answer = await api('GET', `/subscriptions/${subscriptionId}`);
      return answer.status === 200 ? answer : undefined;
    });
    expect(shown.body).not.toHaveProperty('secret_key');
    expect(JSON.stringify(shown.body)).not.toContain(secret);
  });

  it.each([
    ['POST', '/subscriptions'],
    ['PUT', '/subscriptions/00000000-0000-4000-8000-000000000000'],
    ['PATCH', '/subscriptions/00000000-0000-4000-8000-000000000000'],
    ['POST', '/ingest/00000000-0000-4000-8000-000000000000'],
  ])('answers malformed JSON to %s %s with 400 problem+json', async (method, path) => {
    const answer = await api(method, path, '{"name": "broken",');
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status: 400, title: 'Bad Request' });
  });

  it('answers 404 for ingest to an unknown subscription and 409 for an inactive one', async () => {
    const unknown = await api('POST', '/ingest/00000000-0000-4000-8000-000000000000', { event_type: 'a.b' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const created = await api('POST', '/subscriptions', { name: 'paused', target_url: receiver.url, is_active: false });
    expect(created.status).toBe(201);
    expect(created.body.secret_key).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const inactive = await api('POST', `/ingest/${created.body.id}`, { event_type: 'a.b' });
    expect(inactive.status).toBe(409);
  });

  it('answers 422 with the offending fields for a schema violation, and 415 for a body that is not JSON', async () => {
    const invalid = await api('POST', '/subscriptions', { name: '', target_url: 'ftp://example.com', extra: 1 });
    expect(invalid.status).toBe(422);
    const fields = (invalid.body.errors as { field: string }[]).map((error) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'target_url', 'extra']));

    const notJson = await api('POST', '/subscriptions', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(notJson.status).toBe(415);
  });
});
