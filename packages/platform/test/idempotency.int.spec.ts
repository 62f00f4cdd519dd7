import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { createClient } from 'redis';
import { listen } from '../src/connections';
import { jsonBody } from '../src/http';
import { idempotency, idempotencyScope, requestFingerprint } from '../src/idempotency';
import { problemMiddleware, sendProblem, ServiceUnavailable } from '../src/problem';
import { encodeIdempotencyRecord, RedisIdempotencyStore } from '../src/redisIdempotencyStore';
import { closeServer } from '../src/runService';
import type { RedisClient } from '../src/subscriptionDirectory';

// Two "gateway processes": each its own Express app, middleware instance and Redis connection. The only thing
// they share is what two gateways share: Redis (and the handlers' executions, the stand-in for Kafka).
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `int${Date.now().toString(36)}:`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How often each handler ran, per Idempotency-Key (every test uses fresh keys). */
const executions = new Map<string, number>();
const ran = (key: string) => executions.get(key) ?? 0;
const warnings: string[] = [];
const log = { warn: (_: object, message: string) => void warnings.push(message), error: () => undefined };

function buildApp(redis: RedisClient, options: { leaseMs?: number; waitMs?: number } = {}) {
  const app = express();
  app.set('etag', false);
  app.use(...jsonBody(1_000_000));
  app.use(idempotency({ store: new RedisIdempotencyStore(redis, prefix), principal: (req) => req.get('x-principal') ?? '', log, ...options }));
  const executed = (req: express.Request) => {
    const key = req.get('idempotency-key') ?? '(none)';
    executions.set(key, ran(key) + 1);
    return ran(key);
  };
  app.post('/things', async (req, res) => {
    const run = executed(req);
    await sleep(Number(req.query.delay ?? 0));
    const id = randomUUID();
    res.status(201).location(`/things/${id}`).setHeader('ETag', `"${run}"`).setHeader('X-Per-Response', randomUUID()).json({ id, name: req.body?.name, run });
  });
  app.post('/flaky', (req, res) => {
    // The first run fails before anything is recorded, as the gateway's 503 when Kafka refuses the append.
    if (executed(req) === 1) return sendProblem(res, new ServiceUnavailable('The event log cannot take the write right now.'));
    res.status(202).json({ id: randomUUID() });
  });
  app.post('/empty', (req, res) => {
    executed(req);
    res.status(204).end();
  });
  app.post('/stream', (req, res) => {
    executed(req);
    res.status(200).type('text/plain');
    res.write('first ');
    res.write(Buffer.from(randomUUID()));
    res.end(' last');
  });
  app.get('/things', (req, res) => {
    executed(req);
    res.json({ ok: true });
  });
  app.use(problemMiddleware(log));
  return app;
}

type Gateway = { redis: RedisClient; server: Server; base: string };
const gateways: Gateway[] = [];

async function startGateway(options: { leaseMs?: number; waitMs?: number } = {}): Promise<Gateway> {
  const redis = createClient({ url });
  await redis.connect();
  const server = await listen(buildApp(redis, options), 0, '127.0.0.1');
  const gateway = { redis, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  gateways.push(gateway);
  return gateway;
}

afterAll(async () => {
  const [first] = gateways;
  if (first) {
    const keys = await first.redis.keys(`${prefix}*`);
    if (keys.length > 0) await first.redis.del(keys);
  }
  for (const { redis, server } of gateways) {
    await closeServer(server);
    await redis.quit();
  }
});

type Sent = { status: number; body: string; headers: Headers };
async function post(base: string, path: string, options: { key?: string; principal?: string; body?: unknown } = {}): Promise<Sent> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-principal': options.principal ?? 'alice' };
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(options.body ?? { name: 'a' }) });
  return { status: response.status, body: await response.text(), headers: response.headers };
}
const newKey = () => `auto_${randomUUID()}`;

describe('idempotency middleware (real Redis, two gateway processes)', () => {
  let a: Gateway;
  let b: Gateway;
  beforeAll(async () => {
    a = await startGateway();
    b = await startGateway();
  });
  beforeEach(() => {
    warnings.length = 0;
  });

  it('answers a repeated key with the first answer, and runs the handler once', async () => {
    const key = newKey();
    const first = await post(a.base, '/things', { key });
    const again = await post(a.base, '/things', { key });
    const elsewhere = await post(b.base, '/things', { key });

    expect(first.status).toBe(201);
    expect(ran(key)).toBe(1);
    for (const replay of [again, elsewhere]) {
      expect(replay.status).toBe(201);
      expect(replay.body).toBe(first.body);
      expect(replay.headers.get('location')).toBe(first.headers.get('location'));
      expect(replay.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(replay.headers.get('content-type')).toBe(first.headers.get('content-type'));
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      // Only the answer's own headers are replayed, not per-response ones.
      expect(replay.headers.get('x-per-response')).toBeNull();
    }
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(JSON.parse(first.body)).toMatchObject({ id: expect.any(String), name: 'a', run: 1 });
  });

  it('keeps principals apart: the same key from another principal is another request', async () => {
    const key = newKey();
    const alice = await post(a.base, '/things', { key, principal: 'alice' });
    const bob = await post(a.base, '/things', { key, principal: 'bob' });
    expect([alice.status, bob.status]).toEqual([201, 201]);
    expect(ran(key)).toBe(2);
    expect(JSON.parse(bob.body).id).not.toBe(JSON.parse(alice.body).id);
  });

  it('refuses a key reused with another body (409) and still replays the original request', async () => {
    const key = newKey();
    const first = await post(a.base, '/things', { key, body: { name: 'a' } });
    const other = await post(b.base, '/things', { key, body: { name: 'b' } });
    expect(other.status).toBe(409);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.parse(other.body).detail).toMatch(/Idempotency-Key was already used for a different request/);
    expect((await post(b.base, '/things', { key, body: { name: 'a' } })).body).toBe(first.body);
    expect(ran(key)).toBe(1);
  });

  it('runs 100 concurrent duplicates on two processes exactly once, and answers all of them alike', async () => {
    const key = newKey();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => post(i % 2 === 0 ? a.base : b.base, '/things?delay=100', { key })));

    expect(ran(key)).toBe(1);
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([201]));
    expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
    expect(new Set(answers.map((answer) => answer.headers.get('location'))).size).toBe(1);
    expect(answers.filter((answer) => answer.headers.get('idempotent-replayed') === 'true')).toHaveLength(99);
  });

  it('does not keep a 503: the retry with the same key runs, and its answer is the one kept', async () => {
    const key = newKey();
    const failed = await post(a.base, '/flaky', { key });
    expect(failed.status).toBe(503);
    const retried = await post(b.base, '/flaky', { key });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    const replayed = await post(a.base, '/flaky', { key });
    expect(replayed.body).toBe(retried.body);
    expect(ran(key)).toBe(2);
  });

  it('replays a 204 without a body', async () => {
    const key = newKey();
    expect((await post(a.base, '/empty', { key })).status).toBe(204);
    const replayed = await post(b.base, '/empty', { key });
    expect(replayed.status).toBe(204);
    expect(replayed.body).toBe('');
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(ran(key)).toBe(1);
  });

  it('replays a streamed answer byte for byte', async () => {
    const key = newKey();
    const first = await post(a.base, '/stream', { key });
    const replayed = await post(b.base, '/stream', { key });
    expect(first.body).toMatch(/^first [0-9a-f-]{36} last$/);
    expect(replayed.body).toBe(first.body);
    expect(replayed.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(ran(key)).toBe(1);
  });

  it('leaves requests without a key, and other methods, alone', async () => {
    await post(a.base, '/things');
    await post(a.base, '/things');
    expect(ran('(none)')).toBe(2);
    const key = newKey();
    for (let i = 0; i < 2; i++) expect((await fetch(`${a.base}/things`, { headers: { 'idempotency-key': key } })).status).toBe(200);
    expect(ran(key)).toBe(2);
  });

  it.each([
    ['too long', 'k'.repeat(257)],
    ['not printable ASCII', 'caf\u00e9'],
  ])('refuses a key that is %s (422) without running the handler', async (_, key) => {
    const answer = await post(a.base, '/things', { key });
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.body).errors).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
    expect(ran(key)).toBe(0);
  });
});

describe('idempotency leases (real Redis)', () => {
  beforeEach(() => {
    warnings.length = 0;
  });

  it('takes over a key whose holder crashed once its lease ends, and runs once', async () => {
    const gateway = await startGateway({ leaseMs: 300, waitMs: 3_000 });
    const key = newKey();
    // A holder that claimed the key and died: its lease is there, nobody renews it.
    const store = new RedisIdempotencyStore(gateway.redis, prefix);
    const crashed = { state: 'running' as const, owner: 'crashed-gateway', fingerprint: requestFingerprint('', { name: 'a' }) };
    expect(await store.claim(idempotencyScope('alice', 'POST', '/things', key), crashed, 300)).toEqual({ kind: 'claimed' });

    const started = Date.now();
    const answer = await post(gateway.base, '/things', { key });
    expect(answer.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(ran(key)).toBe(1);
    expect((await post(gateway.base, '/things', { key })).body).toBe(answer.body);
  });

  it('renews the lease of a holder that is slow but alive, so a duplicate waits instead of running again', async () => {
    const slow = await startGateway({ leaseMs: 150, waitMs: 3_000 });
    const other = await startGateway({ leaseMs: 150, waitMs: 3_000 });
    const key = newKey();
    const first = post(slow.base, '/things?delay=700', { key });
    await sleep(400); // past two lease lengths
    const duplicate = await post(other.base, '/things?delay=700', { key });
    expect(duplicate.body).toBe((await first).body);
    expect(duplicate.headers.get('idempotent-replayed')).toBe('true');
    expect(ran(key)).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('answers 409 to a duplicate still running after the wait, then replays once done', async () => {
    const gateway = await startGateway({ waitMs: 100 });
    const key = newKey();
    const first = post(gateway.base, '/things?delay=600', { key });
    await sleep(50);
    const busy = await post(gateway.base, '/things?delay=600', { key });
    expect(busy.status).toBe(409);
    expect(JSON.parse(busy.body).detail).toMatch(/in progress/);
    const done = await first;
    expect((await post(gateway.base, '/things?delay=600', { key })).body).toBe(done.body);
    expect(ran(key)).toBe(1);
  });

  it('refuses with 503 and Retry-After, without running the handler, when Redis is not connected', async () => {
    const disconnected = createClient({ url }); // never connected: what a gateway sees while Redis is down
    const server = await listen(buildApp(disconnected), 0, '127.0.0.1');
    try {
      const key = newKey();
      const answer = await post(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/things', { key });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(ran(key)).toBe(0);
    } finally {
      await closeServer(server);
    }
  });
});
