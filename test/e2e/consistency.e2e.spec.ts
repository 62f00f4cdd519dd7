import { Client } from 'pg';
import { createClient } from 'redis';
import { apiClient } from '../support/api';
import { spawnService, type ServiceProcess } from '../support/processes';
import { Receiver } from '../support/receiver';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(240_000);

// Two gateways on one log: the stack's own, and a second one as its own process.
let stack: Stack;
let second: ServiceProcess;
let gateways: ReturnType<typeof apiClient>[];
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack();
  second = await spawnService('gateway', { ...stack.env, GATEWAY_PORT: '0', LOG_LEVEL: 'warn' });
  gateways = [stack.api, apiClient(`http://127.0.0.1:${second.port}`, { authorization: `Bearer ${TEST_API_KEY}` })];
  receiver = await Receiver.start();
});

afterAll(async () => {
  await second?.stop();
  await receiver?.stop();
  await stack?.stop();
});

type Pair = { kind: string; ok: boolean; detail: string };

describe('read your writes', () => {
  it('1,000 write-then-read pairs of every write kind, across two gateways, find no stale or missing read', async () => {
    // Given two gateways; each pair writes through one and reads through the other at once, alternating.
    const pairs: Pair[] = [];
    let n = 0;
    const next = () => {
      const index = n++;
      return { writer: gateways[index % 2]!, reader: gateways[(index + 1) % 2]!, index };
    };
    const check = (kind: string, ok: boolean, detail: string) => pairs.push({ kind, ok, detail });

    // One chain: create → patch → put → rotate → ingest → ingest (listed) → delete: 7 pairs.
    const chain = async (c: number) => {
      let step = next();
      const created = await step.writer('POST', '/subscriptions', { name: `rw-${c}`, target_url: receiver.url });
      const id = created.body.id as string;
      if (c % 2 === 0) {
        const read = await step.reader('GET', `/subscriptions/${id}`);
        check('create→get', read.status === 200 && read.body.name === `rw-${c}`, `${read.status}`);
      } else {
        const read = await step.reader('GET', '/subscriptions?limit=100');
        check('create→list', read.status === 200 && read.body.data.some((row: { id: string }) => row.id === id), `${read.status}`);
      }

      step = next();
      const patched = await step.writer('PATCH', `/subscriptions/${id}`, { description: `patched-${c}` });
      let read = await step.reader('GET', `/subscriptions/${id}`);
      check('patch→get', read.body.description === `patched-${c}` && read.headers.get('etag') === patched.headers.get('etag'), `${read.status} ${read.headers.get('etag')}`);

      step = next();
      const replaced = await step.writer('PUT', `/subscriptions/${id}`, { name: `replaced-${c}`, target_url: receiver.url });
      read = await step.reader('GET', `/subscriptions/${id}`);
      check('put→get', read.body.name === `replaced-${c}` && read.body.description === null && read.headers.get('etag') === replaced.headers.get('etag'), `${read.status}`);

      step = next();
      const rotated = await step.writer('POST', `/subscriptions/${id}/secret/rotate`, {});
      read = await step.reader('GET', `/subscriptions/${id}`);
      check('rotate→get', rotated.status === 200 && read.headers.get('etag') === rotated.headers.get('etag'), `${rotated.status} ${read.headers.get('etag')} ${rotated.headers.get('etag')}`);

      step = next();
      let ingested = await step.writer('POST', `/ingest/${id}`, { event_type: 'order.created', n: c });
      read = await step.reader('GET', `/deliveries/${ingested.body.delivery_id}`);
      check('ingest→get', read.status === 200 && read.body.subscription_id === id, `${ingested.status} ${read.status}`);

      step = next();
      ingested = await step.writer('POST', `/ingest/${id}`, { event_type: 'order.created', n: c });
      read = await step.reader('GET', `/subscriptions/${id}/deliveries`);
      check('ingest→list', read.status === 200 && read.body.data.some((row: { id: string }) => row.id === ingested.body.delivery_id), `${read.status}`);

      step = next();
      const deleted = await step.writer('DELETE', `/subscriptions/${id}`);
      read = await step.reader('GET', `/subscriptions/${id}`);
      check('delete→get', deleted.status === 204 && read.status === 404, `${deleted.status} ${read.status}`);
    };

    // When 143 chains (1,001 pairs) run, 8 at a time
    const chains = Array.from({ length: 143 }, (_, c) => c);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let c = chains.shift(); c !== undefined; c = chains.shift()) await chain(c);
      }),
    );

    // Then every read reflected the write answered before it
    expect(pairs.length).toBeGreaterThanOrEqual(1_000);
    const stale = pairs.filter((pair) => !pair.ok);
    expect(stale).toEqual([]);
  });
});

describe('no lost update', () => {
  async function storedEverywhere(id: string) {
    const api = await stack.api('GET', `/subscriptions/${id}`);
    const redis = createClient({ url: stack.env.REDIS_URL });
    await redis.connect();
    const cached = JSON.parse((await redis.get(`${stack.env.HOOKPOST_REDIS_PREFIX}subscription:${id}`))!);
    await redis.quit();
    const pg = new Client({ connectionString: stack.env.DATABASE_URL });
    await pg.connect();
    const row = (await pg.query(`SELECT row_to_json(s) AS row FROM "${stack.schema}".subscriptions s WHERE id = $1`, [id])).rows[0].row;
    await pg.end();
    return { api, cached, row };
  }

  it('keeps concurrent changes of different fields, a rotation and a 410 disable, identical in the API, Redis and PostgreSQL', async () => {
    // Given a subscription whose endpoint answers 410 Gone
    const gone = await Receiver.start();
    gone.reply = () => ({ status: 410 });
    try {
      const created = await stack.api('POST', '/subscriptions', { name: 'contended', target_url: gone.url });
      const id = created.body.id as string;
      const firstSecret = created.body.secret_key as string;

      // When five PATCHes of different fields, a rotation and an ingest (→ 410 → disable) run at once through both gateways
      const answers = await Promise.all([
        gateways[0]!('PATCH', `/subscriptions/${id}`, { name: 'renamed' }),
        gateways[1]!('PATCH', `/subscriptions/${id}`, { description: 'described' }),
        gateways[0]!('PATCH', `/subscriptions/${id}`, { max_attempts: 7 }),
        gateways[1]!('PATCH', `/subscriptions/${id}`, { timeout_ms: 5_000 }),
        gateways[0]!('PATCH', `/subscriptions/${id}`, { event_types: ['order.created', 'order.paid'] }),
        gateways[1]!('POST', `/subscriptions/${id}/secret/rotate`, {}),
        gateways[0]!('POST', `/ingest/${id}`, { event_type: 'order.created' }),
      ]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200, 202]);
      await eventually(async () => ((await stack.api('GET', `/deliveries/${answers[6]!.body.delivery_id}`)).body.status === 'failed' ? true : undefined), {
        what: 'the 410 delivery to fail',
      });
      await eventually(async () => ((await stack.api('GET', `/subscriptions/${id}`)).body.is_active === false ? true : undefined), {
        what: 'the subscription to be disabled',
      });

      // Then every change is there, and the API, Redis and PostgreSQL agree
      const { api, cached, row } = await storedEverywhere(id);
      expect(api.body).toMatchObject({
        name: 'renamed',
        description: 'described',
        max_attempts: 7,
        timeout_ms: 5_000,
        event_types: ['order.created', 'order.paid'],
        is_active: false,
      });
      expect(api.headers.get('etag')).toBe('"8"');
      for (const field of ['name', 'description', 'max_attempts', 'timeout_ms', 'event_types', 'is_active', 'version', 'secret', 'previous_secret', 'target_url']) {
        expect({ field, value: cached[field] }).toEqual({ field, value: row[field] });
      }
      expect(cached.version).toBe(8);
      expect(row.previous_secret).not.toBeNull();
      expect(row.secret).not.toBe(row.previous_secret);
      expect(firstSecret).toMatch(/^whsec_/);
    } finally {
      await gone.stop();
    }
  });

  it('answers a stale If-Match with 412 and changes nothing; of concurrent writers holding one ETag exactly one wins', async () => {
    // Given a subscription at version 1
    const created = await stack.api('POST', '/subscriptions', { name: 'conditional', target_url: receiver.url });
    const id = created.body.id as string;
    expect(created.headers.get('etag')).toBe('"1"');

    // When four writers send If-Match "1" at once
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name, i) => gateways[i % 2]!('PATCH', `/subscriptions/${id}`, { name }, { 'if-match': '"1"' })),
    );
    // Then one wins and three get 412
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412, 412, 412]);
    const winner = answers.find((answer) => answer.status === 200)!;
    expect(answers.find((answer) => answer.status === 412)!.headers.get('content-type')).toMatch(/problem\+json/);

    // And a stale If-Match on PUT, DELETE and rotate is refused too, leaving the winner's state
    expect((await stack.api('PUT', `/subscriptions/${id}`, { name: 'x', target_url: receiver.url }, { 'if-match': '"1"' })).status).toBe(412);
    expect((await stack.api('POST', `/subscriptions/${id}/secret/rotate`, {}, { 'if-match': '"1"' })).status).toBe(412);
    expect((await stack.api('DELETE', `/subscriptions/${id}`, undefined, { 'if-match': '"1"' })).status).toBe(412);
    const read = await stack.api('GET', `/subscriptions/${id}`);
    expect(read.body.name).toBe(winner.body.name);
    expect(read.headers.get('etag')).toBe('"2"');

    // And the current ETag is accepted
    expect((await stack.api('DELETE', `/subscriptions/${id}`, undefined, { 'if-match': '"2"' })).status).toBe(204);
  });
});
