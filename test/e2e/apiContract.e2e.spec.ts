import { ajv, attemptSchema, deliverySchema, subscriptionSchema } from '@hookpost/contracts';
import { apiClient } from '../support/api';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(90_000);

let stack: Stack;
let receiver: Receiver;
let api: ReturnType<typeof apiClient>;

// Response bodies are checked against the same schemas the OpenAPI document publishes.
const strip = ({ $id: _id, ...schema }: Record<string, unknown>) => JSON.parse(JSON.stringify(schema, (key, value) => (key === '$id' ? undefined : value)));
const isSubscription = ajv.compile(strip(subscriptionSchema));
const isDelivery = ajv.compile(strip(deliverySchema));
const isAttempt = ajv.compile(strip(attemptSchema));

beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
  api = stack.api;
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

describe('the public API contract', () => {
  it('publishes an OpenAPI 3.1 document whose every operation is served, and a docs page', async () => {
    const doc = await api('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    // Each component compiles, with the others beside it for its references (JsonValue refers to itself).
    const components = doc.body.components.schemas as Record<string, object>;
    const local = (schema: object) => JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/', '#/$defs/'));
    const $defs = Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, local(schema)]));
    for (const schema of Object.values(components)) expect(() => ajv.compile({ ...local(schema), $defs })).not.toThrow();

    const placeholder = '00000000-0000-4000-8000-000000000000';
    let operations = 0;
    for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete'].filter((m) => m in item)) {
        operations += 1;
        const url = path.replace(/\{[^}]+\}/g, placeholder);
        const answer = await api(method.toUpperCase(), url, ['post', 'put', 'patch'].includes(method) ? {} : undefined);
        expect({ method, path, status: answer.status < 500 }).toEqual({ method, path, status: true });
        expect(String(answer.body?.detail ?? '')).not.toMatch(/^No route/);
      }
    }
    expect(operations).toBeGreaterThanOrEqual(12);

    const docs = await fetch(`${stack.baseUrl}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('SwaggerUIBundle');
    expect((await fetch(`${stack.baseUrl}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });

  it('asks for an API key on every operation except health and the API description', async () => {
    const doc = await api('GET', '/openapi.json');
    const anonymous = apiClient(stack.baseUrl);
    const wrongKey = apiClient(stack.baseUrl, { authorization: 'Bearer not-the-right-key-at-all' });
    const placeholder = '00000000-0000-4000-8000-000000000000';
    let protectedOperations = 0;
    for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      for (const [method, operation] of Object.entries(item).filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))) {
        const url = path.replace(/\{[^}]+\}/g, placeholder);
        const body = ['post', 'put', 'patch'].includes(method) ? { name: 'x' } : undefined;
        const isOpen = Array.isArray(operation.security) && operation.security.length === 0;
        for (const client of [anonymous, wrongKey]) {
          const answer = await client(method.toUpperCase(), url, body);
          if (isOpen) {
            expect({ path, status: answer.status }).not.toEqual({ path, status: 401 });
          } else {
            expect({ method, path, status: answer.status }).toEqual({ method, path, status: 401 });
            // (the Svix API answers in Svix's error shape, which its clients parse)
            expect(answer.headers.get('content-type')).toMatch(path.startsWith('/api/v1/') ? /^application\/json/ : /^application\/problem\+json/);
          }
        }
        if (!isOpen) protectedOperations += 1;
      }
    }
    expect(protectedOperations).toBeGreaterThanOrEqual(10);
    expect((await anonymous('GET', '/openapi.json')).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/docs`)).status).toBe(200);
    // The projector's read API, behind the gateway, asks too.
    expect((await fetch(`${stack.env.PROJECTOR_URL}/subscriptions`)).status).toBe(401);
  });

  it('answers create, get, list, update, deliveries and attempts with bodies that match the schemas', async () => {
    const created = await api('POST', '/subscriptions', { name: 'contract orders', description: 'all order events', target_url: receiver.url, event_types: ['order.created'] });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/subscriptions/${created.body.id}`);
    expect(isSubscription(created.body)).toBe(true);
    const id = created.body.id as string;

    const patched = await api('PATCH', `/subscriptions/${id}`, { description: null, timeout_ms: 5_000 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'contract orders', description: null, timeout_ms: 5_000, event_types: ['order.created'] });
    expect(isSubscription(patched.body)).toBe(true);
    expect(patched.body).not.toHaveProperty('secret_key');

    const replaced = await api('PUT', `/subscriptions/${id}`, { name: 'contract orders v2', target_url: receiver.url });
    expect(replaced.body).toMatchObject({ name: 'contract orders v2', event_types: null, timeout_ms: null, is_active: true });

    expect((await api('POST', `/ingest/${id}`, { event_type: 'order.created', data: { id: 7 } })).status).toBe(202);
    const delivery = await eventually(async () => {
      const answer = await api('GET', `/subscriptions/${id}/deliveries?status=succeeded`);
      return answer.body.data.length === 1 ? answer.body.data[0] : undefined;
    });
    expect(isDelivery(delivery)).toBe(true);
    const full = await api('GET', `/deliveries/${delivery.id}`);
    expect(isDelivery(full.body)).toBe(true);
    const attempts = await api('GET', `/deliveries/${delivery.id}/attempts`);
    expect(attempts.body.data.every((attempt: unknown) => isAttempt(attempt))).toBe(true);

    const listed = await eventually(async () => {
      const answer = await api('GET', `/subscriptions?q=${encodeURIComponent('contract')}`);
      return answer.body.data.some((s: { name: string }) => s.name === 'contract orders v2') ? answer.body : undefined;
    });
    expect(listed.data.every((s: unknown) => isSubscription(s))).toBe(true);

    const searched = await api('GET', `/deliveries?payload_contains=${encodeURIComponent(JSON.stringify({ data: { id: 7 } }))}&subscription_id=${id}`);
    expect(searched.body.data.map((d: { id: string }) => d.id)).toEqual([delivery.id]);
  });

  it('pages subscriptions with next_cursor', async () => {
    for (let n = 0; n < 5; n += 1) expect((await api('POST', '/subscriptions', { name: `pager ${n}`, target_url: receiver.url })).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    await eventually(async () => ((await api('GET', '/subscriptions?q=pager')).body.data.length === 5 ? true : undefined));
    do {
      const page = await api('GET', `/subscriptions?q=pager&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((s: { name: string }) => s.name));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['pager 4', 'pager 3', 'pager 2', 'pager 1', 'pager 0']);
  });

  it.each([
    ['GET', '/subscriptions?limit=0', 400],
    ['GET', '/subscriptions?limit=-1', 400],
    ['GET', '/subscriptions?limit=100000', 400],
    ['GET', '/subscriptions?cursor=forged', 400],
    ['GET', '/deliveries?status=lost', 400],
    ['GET', '/deliveries?payload_contains=%7Bnot-json', 400],
    ['GET', '/deliveries?created_after=yesterday', 400],
    ['GET', '/deliveries?subscription_id=1', 400],
    // An empty value is a value, refused where the schema does not allow it.
    ['GET', '/deliveries?created_before=', 400],
    ['GET', '/deliveries?status=', 400],
    ['GET', '/deliveries?payload_contains=', 400],
    ['GET', '/subscriptions?cursor=', 400],
    ['GET', '/deliveries?created_after=2024-02-30T00:00:00Z', 400],
    ['GET', '/deliveries/1', 404],
    ['GET', '/subscriptions/not-a-uuid', 404],
    ['POST', '/ingest/not-a-uuid', 404],
    ['DELETE', '/subscriptions/00000000-0000-4000-8000-000000000000', 404],
    ['GET', '/nowhere', 404],
  ])('answers %s %s with %i problem+json', async (method, path, status) => {
    const answer = await api(method, path, method === 'POST' ? { event_type: 'a.b' } : undefined);
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers a method a path does not serve with 405 and Allow, and OPTIONS with Allow', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [method, path, allow] of [
      ['PUT', '/subscriptions', 'GET, HEAD, OPTIONS, POST'],
      ['POST', `/subscriptions/${id}`, 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT'],
      ['GET', `/ingest/${id}`, 'OPTIONS, POST'],
      ['DELETE', '/deliveries', 'GET, HEAD, OPTIONS'],
    ] as const) {
      const answer = await api(method, path);
      expect({ method, path, status: answer.status, allow: answer.headers.get('allow') }).toEqual({ method, path, status: 405, allow });
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const options = await api('OPTIONS', `/subscriptions/${id}/secret/rotate`);
    expect({ status: options.status, allow: options.headers.get('allow') }).toEqual({ status: 204, allow: 'OPTIONS, POST' });
    expect((await api('GET', '/nowhere')).status).toBe(404);
  });

  it('answers a valid request that the subscription refuses with 409', async () => {
    const picky = await api('POST', '/subscriptions', { name: 'picky', target_url: receiver.url, event_types: ['order.created'] });
    expect((await api('POST', `/ingest/${picky.body.id}`, { event_type: 'order.deleted' })).status).toBe(409);
    const ed = await api('POST', '/subscriptions', { name: 'ed', target_url: receiver.url, signature_scheme: 'ed25519' });
    expect((await api('POST', `/subscriptions/${ed.body.id}/secret/rotate`, { secret_key: 'a-chosen-secret-key-here' })).status).toBe(409);
    // Named together in one body, the two cannot go: 422.
    const both = await api('POST', '/subscriptions', { name: 'ed', target_url: receiver.url, signature_scheme: 'ed25519', secret_key: 'a-chosen-secret-key-here' });
    expect(both.status).toBe(422);
    expect(both.body.errors).toEqual([{ field: 'secret_key', message: 'does not apply with the other fields given' }]);
  });

  it('answers 413 past the body limit and refuses NUL in payloads', async () => {
    const created = await api('POST', '/subscriptions', { name: 'limits', target_url: receiver.url });
    const big = await api('POST', `/ingest/${created.body.id}`, { event_type: 'a.b', data: 'x'.repeat(300_000) });
    expect(big.status).toBe(413);
    const nul = await api('POST', `/ingest/${created.body.id}`, { event_type: 'a.b', data: 'nul\u0000here' });
    expect(nul.status).toBe(422);
    const array = await api('POST', `/ingest/${created.body.id}`, [1, 2]);
    expect(array.status).toBe(422);
    const deep = await api('POST', `/ingest/${created.body.id}`, `{"event_type":"a.b","data":${'['.repeat(40)}${']'.repeat(40)}}`);
    expect(deep.status).toBe(400);
    expect(deep.body.detail).toMatch(/nested deeper than 32/);
  });
});
