import { Kafka, logLevel } from 'kafkajs';
import { topicNames } from '@hookpost/contracts';
import { forgedCursors } from '../support/forgedCursors';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';

jest.setTimeout(120_000);

/**
 * A corpus of bad requests against every endpoint: each must get a clear 4xx problem+json, never a 5xx;
 * the services stay up; and nothing reaches Kafka for a rejected request.
 */
let stack: Stack;
let subscriptionId: string;
const auth = { authorization: `Bearer ${TEST_API_KEY}` };

type Case = { name: string; method: string; path: string; body?: string | Buffer; contentType?: string | null };

async function send(c: Case) {
  const headers: Record<string, string> = { ...auth };
  if (c.body !== undefined && c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
  const response = await fetch(`${stack.baseUrl}${c.path}`, { method: c.method, headers, body: c.body });
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

async function logEnds(): Promise<number> {
  const kafka = new Kafka({ clientId: 'bad-input', brokers: stack.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  for (const topic of Object.values(topicNames(stack.topicPrefix))) for (const { high } of await admin.fetchTopicOffsets(topic)) total += Number(high);
  await admin.disconnect();
  return total;
}

/** Secrets no HMAC subscription can sign with: ed25519 key formats, and whsec_ secrets outside 24-64 bytes or not base64. */
const unsignableSecrets = [
  'whsk_AAAAAAAAAAAAAAAAAAAAAAAA',
  'whpk_' + Buffer.alloc(32, 9).toString('base64'),
  'whsec_' + Buffer.alloc(16, 1).toString('base64'),
  'whsec_' + Buffer.alloc(65, 1).toString('base64'),
  'whsec_this is not base64 at all!',
];

/**
 * Target URLs whose IPv6 literal carries a non-public IPv4 address (6to4, Teredo, NAT64, IPv4-mapped,
 * -translated and -compatible): refused like the IPv4 address itself, although this stack allows loopback
 * (as 127.0.0.0/8, which does not reach into IPv6 forms). Nothing connects to them: the gateway refuses them.
 */
const embeddedAddressTargets = [
  'http://[2002:a00:1::1]/hook', // 6to4 of 10.0.0.1
  'http://[2002:7f00:1::1]:8080/hook', // 6to4 of 127.0.0.1
  'http://[2002:a9fe:a9fe::1]/latest/meta-data', // 6to4 of 169.254.169.254
  'http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/hook', // Teredo, client 10.0.0.1
  'http://[2001:0:a00:1:8000:63bf:f7f7:f7f7]/hook', // Teredo, server 10.0.0.1
  'http://[64:ff9b::10.0.0.1]/hook', // NAT64
  'http://[64:ff9b::a9fe:a9fe]/latest/meta-data', // NAT64 of 169.254.169.254
  'http://[64:ff9b:1::c0a8:1]/hook', // local-use NAT64 of 192.168.0.1
  'http://[64:ff9b:1:ab::1]/hook', // local-use NAT64 in an unreadable layout
  'http://[::ffff:10.0.0.1]/hook', // IPv4-mapped
  'http://[::ffff:0:a00:1]/hook', // IPv4-translated
  'http://[::10.0.0.1]/hook', // IPv4-compatible
];

function corpus(): Case[] {
  const cases: Case[] = [];
  const sub = `/subscriptions/${subscriptionId}`;
  const bodyEndpoints: [string, string][] = [
    ['POST', '/subscriptions'],
    ['PUT', sub],
    ['PATCH', sub],
    ['POST', `${sub}/secret/rotate`],
    ['POST', `/ingest/${subscriptionId}`],
  ];
  const malformed = ['{', '{"name":}', '{"name": "a",}', "{'name': 'a'}", '[1,', '{"a":1}}', 'nul', 'undefined', '{"a":"\\x"}', '\u0000', '{"a":NaN}', '{"a":Infinity}'];
  const deep = (n: number) => `{"event_type":"a.b","data":${'['.repeat(n)}${']'.repeat(n)}}`;
  const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]);
  const oversized = JSON.stringify({ event_type: 'a.b', name: 'x', target_url: 'https://example.com', data: 'x'.repeat(300_000) });
  for (const [method, path] of bodyEndpoints) {
    for (const body of malformed) cases.push({ name: `malformed ${JSON.stringify(body)}`, method, path, body });
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      cases.push({ name: `content type ${type}`, method, path, body: '{"name":"x"}', contentType: type });
    }
    cases.push({ name: 'no content type', method, path, body: '{"name":"x"}', contentType: null });
    cases.push({ name: 'charset latin1', method, path, body: '{"name":"x"}', contentType: 'application/json; charset=latin1' });
    cases.push({ name: 'oversized', method, path, body: oversized });
    cases.push({ name: 'nested 40', method, path, body: deep(40) });
    cases.push({ name: 'nested 5000', method, path, body: deep(5_000) });
    cases.push({ name: 'invalid UTF-8', method, path, body: invalidUtf8 });
  }

  const long = 'x'.repeat(10_000);
  const subscriptionBodies: Record<string, unknown>[] = [
    {},
    { name: 'x' },
    { target_url: 'https://example.com' },
    { name: '', target_url: 'https://example.com' },
    { name: long, target_url: 'https://example.com' },
    { name: 'x', target_url: `https://example.com/${long}` },
    { name: 'x', target_url: 'not a url' },
    { name: 'x', target_url: 'javascript:alert(1)' },
    { name: 'x', target_url: 'file:///etc/passwd' },
    { name: 'x', target_url: 'https://example.com', unknown_field: true },
    { name: 'x', target_url: 'https://example.com', secret_key: 'short' },
    { name: 'x', target_url: 'https://example.com', secret_key: long },
    { name: 'x', target_url: 'https://example.com', max_attempts: -1 },
    { name: 'x', target_url: 'https://example.com', max_attempts: 1e9 },
    { name: 'x', target_url: 'https://example.com', timeout_ms: 0 },
    { name: 'x', target_url: 'https://example.com', event_types: Array.from({ length: 500 }, (_, i) => `t${i}`) },
    { name: 'x', target_url: 'https://example.com', event_types: [long] },
    { name: 'x', target_url: 'https://example.com', event_types: 'a.b' },
    { name: 'x', target_url: 'https://example.com', is_active: 'yes' },
    { name: 'x', target_url: 'https://example.com', signature_scheme: 'rsa' },
    { name: ['x'], target_url: 'https://example.com' },
    { name: "'; DROP TABLE subscriptions; --", target_url: 'https://10.0.0.1/' },
    // U+0000 cannot be stored by PostgreSQL: accepted, it would stall the projection.
    { name: 'nul\u0000name', target_url: 'https://example.com' },
    { name: 'x', description: 'nul\u0000', target_url: 'https://example.com' },
    { name: 'x', target_url: 'https://example.com', event_types: ['a\u0000b'] },
    { name: 'x', target_url: 'https://example.com', secret_key: 'a-secret-with-a-nul-\u0000-in-it' },
    // A lone surrogate (JSON.stringify writes it as the escape \ud800) is not well-formed text: PostgreSQL
    // would refuse the row, and the subscription would be live yet invisible.
    { name: '\ud800', target_url: 'https://example.com' },
    { name: 'x', description: 'low \udc00 alone', target_url: 'https://example.com' },
    { name: 'x', target_url: 'https://example.com', event_types: ['a\udfffb'] },
    // Secrets an HMAC subscription could never sign with.
    ...unsignableSecrets.map((secret_key) => ({ name: 'x', target_url: 'https://example.com', secret_key })),
    ...embeddedAddressTargets.map((target_url) => ({ name: 'x', target_url })),
  ];
  for (const body of subscriptionBodies) {
    cases.push({ name: `create ${JSON.stringify(body).slice(0, 60)}`, method: 'POST', path: '/subscriptions', body: JSON.stringify(body) });
    cases.push({ name: `replace ${JSON.stringify(body).slice(0, 60)}`, method: 'PUT', path: sub, body: JSON.stringify(body) });
  }
  const patches: Record<string, unknown>[] = [{}, { name: '' }, { foo: 1 }, { signature_scheme: 'ed25519' }, { target_url: 'http://169.254.169.254/' }, { max_attempts: 0 }, { name: 'a\u0000' }, { 'key\u0000': 1 }];
  patches.push({ name: 'a\ud800' }, { 'key\udc00': 1 }, ...unsignableSecrets.map((secret_key) => ({ secret_key })));
  patches.push(...embeddedAddressTargets.map((target_url) => ({ target_url })));
  for (const body of patches) {
    cases.push({ name: `patch ${JSON.stringify(body)}`, method: 'PATCH', path: sub, body: JSON.stringify(body) });
  }
  const ingests: unknown[] = [[], [1], 'string', 42, null, true, { event_type: 7 }, { event_type: '' }, { event_type: long }, { a: 'nul\u0000' }, { 'k\u0000': 1 }, { a: [{ b: 'deep\u0000' }] }];
  ingests.push('\ud800', { a: '\ud800' }, { 'k\udfff': 1 }, { a: [{ b: 'deep \ud83d' }] }, { event_type: 'invoice.\ud800' });
  for (const body of ingests) {
    cases.push({ name: `ingest ${JSON.stringify(body).slice(0, 40)}`, method: 'POST', path: `/ingest/${subscriptionId}`, body: JSON.stringify(body) });
  }
  cases.push({ name: 'rotate unknown field', method: 'POST', path: `${sub}/secret/rotate`, body: '{"foo":1}' });
  cases.push({ name: 'rotate short secret', method: 'POST', path: `${sub}/secret/rotate`, body: '{"secret_key":"short"}' });
  for (const secret_key of unsignableSecrets) {
    cases.push({ name: `rotate to ${secret_key.slice(0, 12)}`, method: 'POST', path: `${sub}/secret/rotate`, body: JSON.stringify({ secret_key }) });
  }
  cases.push({ name: 'rotate to a lone surrogate', method: 'POST', path: `${sub}/secret/rotate`, body: JSON.stringify({ secret_key: 'a-long-enough-secret-\ud800' }) });

  const badIds = ['abc', '1', "'%20OR%201=1%20--", '..%2F..%2Fetc%2Fpasswd', '%00', 'x'.repeat(2_000), '00000000-0000-0000-0000-00000000000g', '{{id}}'];
  for (const id of badIds) {
    for (const [method, path] of [
      ['GET', `/subscriptions/${id}`],
      ['PUT', `/subscriptions/${id}`],
      ['PATCH', `/subscriptions/${id}`],
      ['DELETE', `/subscriptions/${id}`],
      ['GET', `/subscriptions/${id}/deliveries`],
      ['POST', `/subscriptions/${id}/secret/rotate`],
      ['POST', `/ingest/${id}`],
      ['GET', `/deliveries/${id}`],
      ['GET', `/deliveries/${id}/attempts`],
    ] as const) {
      cases.push({ name: `id ${id.slice(0, 20)}`, method, path, body: ['PUT', 'PATCH', 'POST'].includes(method) ? '{"name":"x","target_url":"https://example.com"}' : undefined });
    }
  }

  const queries = [
    'limit=-1', 'limit=0', 'limit=1000000000', 'limit=abc', 'limit=1.5', 'limit=', 'limit=1&limit=2',
    'cursor=%%%', 'cursor=bm90LWpzb24', `cursor=${Buffer.from('["x","y"]').toString('base64url')}`, `cursor=${Buffer.from("[\"2020-01-01\",\"'; DROP TABLE x; --\"]").toString('base64url')}`,
    `q=${'x'.repeat(500)}`,
    'q=a%00b',
    // Forged cursors that look like ours: ["1", "<uuid>"] passed Date.parse and reached PostgreSQL (a 500).
    ...Object.values(forgedCursors).filter(Boolean).map((cursor) => `cursor=${encodeURIComponent(cursor)}`),
  ];
  for (const query of queries) {
    cases.push({ name: `list ${query.slice(0, 30)}`, method: 'GET', path: `/subscriptions?${query}` });
    cases.push({ name: `search ${query.slice(0, 30)}`, method: 'GET', path: `/deliveries?${query}` });
    cases.push({ name: `sub deliveries ${query.slice(0, 30)}`, method: 'GET', path: `${sub}/deliveries?${query}` });
  }
  for (const query of [
    'status=lost', 'status=PENDING', 'subscription_id=1', "subscription_id='--", 'created_after=yesterday', 'created_before=2020-13-45',
    'payload_contains=%7B', 'payload_contains=%5B1%5D', 'payload_contains=42', 'payload_contains=null', 'payload_contains=%7B%22a%22%3A%22%5Cu0000%22%7D',
    `payload_contains=${encodeURIComponent('{"a":"\\ud800"}')}`, `payload_contains=${encodeURIComponent('{"\\udc00":1}')}`,
    `event_type=${'x'.repeat(500)}`,
    'event_type=a%00b',
    'created_after=2020-01-01%00',
  ]) {
    cases.push({ name: `search ${query.slice(0, 30)}`, method: 'GET', path: `/deliveries?${query}` });
  }

  for (const [method, path] of [
    ['PUT', '/subscriptions'],
    ['DELETE', '/subscriptions'],
    ['PATCH', '/subscriptions'],
    ['POST', `/deliveries`],
    ['DELETE', '/deliveries/00000000-0000-4000-8000-000000000000'],
    ['GET', `/ingest/${subscriptionId}`],
    ['PUT', `/ingest/${subscriptionId}`],
    ['GET', `${sub}/secret/rotate`],
    ['POST', '/healthz'],
    ['GET', '/admin'],
    ['GET', '/internal/subscriptions/00000000-0000-4000-8000-000000000000'],
  ] as const) {
    cases.push({ name: `method ${method} ${path}`, method, path });
  }
  return cases;
}

beforeAll(async () => {
  stack = await startStack();
  const created = await fetch(`${stack.baseUrl}/subscriptions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'target of the corpus', target_url: 'https://example.com/hook' }),
  });
  subscriptionId = ((await created.json()) as { id: string }).id;
  await stack.projectionCaughtUp();
});

afterAll(async () => {
  await stack?.stop();
});

describe('bad input corpus', () => {
  it('answers every case with a 4xx problem+json, stays up, and writes nothing to the log', async () => {
    const before = await logEnds();
    const cases = corpus();
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const c of cases) {
      const answer = await send(c);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status < 400 || answer.status >= 500 || !answer.type.startsWith('application/problem+json')) {
        failures.push(`${c.method} ${c.path.slice(0, 80)} [${c.name}] → ${answer.status} ${answer.type} ${answer.text.slice(0, 120)}`);
      }
    }
    console.log(`bad-input corpus: ${cases.length} cases, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThan(300);
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${stack.dispatcher.port}/readyz`)).status).toBe(200);
    expect((await fetch(`${stack.env.PROJECTOR_URL}/readyz`)).status).toBe(200);
    expect(await logEnds()).toBe(before);
  });

  it('refuses a lone surrogate with 422 naming it, and an unsignable HMAC secret with 422 naming why, writing nothing', async () => {
    const before = await logEnds();
    const post = (path: string, body: string) => send({ name: path, method: 'POST', path, body });

    const surrogate = await post('/subscriptions', '{"name":"\\ud800","target_url":"https://example.com/hook"}');
    expect(surrogate.status).toBe(422);
    expect(JSON.parse(surrogate.text).errors).toEqual([{ field: '(body)', message: 'must be well-formed Unicode: no lone UTF-16 surrogate (such as \\ud800)' }]);

    const edKey = await post('/subscriptions', JSON.stringify({ name: 'x', target_url: 'https://example.com/hook', secret_key: 'whsk_AAAAAAAAAAAAAAAAAAAAAAAA' }));
    expect(edKey.status).toBe(422);
    // (the schema's pattern states the rule, so the schema refuses it first)
    expect(JSON.parse(edKey.text).errors).toEqual([{ field: 'secret_key', message: expect.stringContaining('whsk_') }]);
    const short = await post(`/subscriptions/${subscriptionId}/secret/rotate`, JSON.stringify({ secret_key: 'whsec_' + Buffer.alloc(16).toString('base64') }));
    expect(short.status).toBe(422);
    expect(JSON.parse(short.text).errors).toEqual([{ field: 'secret_key', message: expect.stringMatching(/whsec_ followed by base64 of 24.64 bytes/) }]);

    const search = await send({ name: 'search', method: 'GET', path: `/deliveries?payload_contains=${encodeURIComponent('{"a":"\\ud800"}')}` });
    expect(search.status).toBe(400);
    expect(JSON.parse(search.text).detail).toMatch(/payload_contains must be well-formed Unicode/);
    expect(await logEnds()).toBe(before);
  });

  it('refuses a target whose IPv6 literal embeds a non-public IPv4 address with 422 on target_url, without naming that IPv4 address, writing nothing', async () => {
    const before = await logEnds();
    for (const target_url of embeddedAddressTargets) {
      const answer = await send({ name: target_url, method: 'POST', path: '/subscriptions', body: JSON.stringify({ name: 'embedded', target_url }) });
      expect({ target_url, status: answer.status }).toEqual({ target_url, status: 422 });
      const errors = JSON.parse(answer.text).errors as { field: string; message: string }[];
      expect(errors.map((error) => error.field)).toEqual(['target_url']);
      expect(errors[0]!.message).toMatch(/^is not a public address: /);
      // It names the form and the range, never the IPv4 address found inside (the literal it quotes is the caller's own, in hex)
      expect(errors[0]!.message).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
    }
    expect(await logEnds()).toBe(before);
  });
});
