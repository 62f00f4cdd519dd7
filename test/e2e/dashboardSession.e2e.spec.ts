import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { Receiver } from '../support/receiver';
import { eventually } from '../support/wait';

jest.setTimeout(60_000);

// The dashboard's session cookie as a credential, from outside a browser: what it opens, and what it never does.
let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  [stack, receiver] = await Promise.all([startStack(), Receiver.start()]);
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

/** The `deliveries` events of a live stream, collected as they come. */
async function follow(headers: Record<string, string>) {
  const abort = new AbortController();
  const response = await fetch(`${stack.baseUrl}/ui/api/live`, { headers, signal: abort.signal });
  expect(response.status).toBe(200);
  const changes: { id: string; app_id: string; status: string; message_id: string }[] = [];
  let ready = false;
  void (async () => {
    let buffer = '';
    try {
      for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop()!;
        for (const block of blocks) {
          if (block.startsWith('event: ready')) ready = true;
          if (block.startsWith('event: deliveries')) changes.push(...JSON.parse(block.split('\ndata: ')[1]!));
        }
      }
    } catch {
      // aborted
    }
  })();
  await eventually(async () => (ready ? true : undefined), { what: 'the stream to be ready' });
  return { changes, stop: () => abort.abort() };
}

type Answer = { status: number; body: any; headers: Headers };
async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json');
  return { status: response.status, headers: response.headers, body: json && text ? JSON.parse(text) : text };
}

async function signIn(): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const answer = await call('POST', '/ui/api/session', { origin: stack.baseUrl }, { key: TEST_API_KEY });
  expect(answer.status).toBe(200);
  const setCookie = answer.headers.get('set-cookie')!;
  return { cookie: setCookie.split(';')[0]!, csrf: answer.body.csrf, setCookie };
}

describe('signing in to the dashboard', () => {
  it('takes an admin key only, and answers an httpOnly SameSite=Strict cookie with no key in it', async () => {
    expect((await call('POST', '/ui/api/session', {}, { key: 'not-a-key-0123456789' })).status).toBe(401);
    expect((await call('POST', '/ui/api/session', {}, {})).status).toBe(401);
    // (another site's page cannot sign a browser in)
    expect((await call('POST', '/ui/api/session', { origin: 'https://evil.example' }, { key: TEST_API_KEY })).status).toBe(403);

    const { setCookie, cookie, csrf } = await signIn();
    expect(setCookie).toMatch(/^hookpost_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(setCookie).not.toContain(TEST_API_KEY);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await call('GET', '/ui/api/session', { cookie })).body).toMatchObject({ csrf });
  });
});

describe('the session cookie', () => {
  it('reads and writes the API for the dashboard, writes only with its CSRF token', async () => {
    const { cookie, csrf } = await signIn();
    // reads, forwarded to the projector and answered there
    expect((await call('GET', '/api/v1/app', { cookie })).status).toBe(200);
    expect((await call('GET', '/deliveries', { cookie })).status).toBe(200);

    // a write without the token is refused and does nothing
    const refused = await call('POST', '/api/v1/app', { cookie, origin: stack.baseUrl }, { name: 'no token' });
    expect(refused.status).toBe(403);
    // (its last character changed: to 'x' unless it is 'x' already, when the "wrong" token was the right one, 1 run in 64)
    const wrong = await call('POST', '/api/v1/app', { cookie, 'x-hookpost-csrf': `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}` }, { name: 'wrong token' });
    expect(wrong.status).toBe(403);
    const made = await call('POST', '/api/v1/app', { cookie, 'x-hookpost-csrf': csrf, origin: stack.baseUrl }, { name: 'with token' });
    expect(made.status).toBe(201);
    const names = (await stack.api('GET', '/api/v1/app')).body.data.map((app: { name: string }) => app.name);
    expect(names).toContain('with token');
    expect(names).not.toContain('no token');
    expect(names).not.toContain('wrong token');
  });

  it('acts for no other origin, even with the token', async () => {
    const { cookie, csrf } = await signIn();
    const crossSite: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
    for (const headers of crossSite) {
      expect((await call('GET', '/api/v1/app', { cookie, ...headers })).status).toBe(403);
      expect((await call('POST', '/api/v1/app', { cookie, 'x-hookpost-csrf': csrf, ...headers }, { name: 'cross' })).status).toBe(403);
    }
  });

  it('is no credential once signed out, and changes nothing about API keys', async () => {
    const { cookie, csrf } = await signIn();
    // signing out needs the token too
    expect((await call('DELETE', '/ui/api/session', { cookie })).status).toBe(403);
    expect((await call('DELETE', '/ui/api/session', { cookie, 'x-hookpost-csrf': csrf })).status).toBe(204);
    expect((await call('GET', '/api/v1/app', { cookie })).status).toBe(401);
    expect((await call('GET', '/ui/api/session', { cookie })).status).toBe(401);
    // the open paths stay open to a browser with an old cookie
    for (const path of ['/healthz', '/openapi.json', '/docs']) expect({ path, status: (await call('GET', path, { cookie })).status }).toEqual({ path, status: 200 });
    // a made-up cookie is nothing either
    expect((await call('GET', '/api/v1/app', { cookie: 'hookpost_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).status).toBe(401);
    // an API key still works, with or without a cookie beside it, and a bad key is still refused
    expect((await call('GET', '/api/v1/app', { authorization: `Bearer ${TEST_API_KEY}`, cookie })).status).toBe(200);
    expect((await call('GET', '/api/v1/app', { authorization: 'Bearer wrong-key-0123456789abc', cookie })).status).toBe(401);
  });

  it('does not open the live stream to anyone else', async () => {
    expect((await call('GET', '/ui/api/live')).status).toBe(401);
    const portal = await stack.api('POST', '/api/v1/app', { name: 'live scope' });
    const token = (await stack.api('POST', `/api/v1/auth/app-portal-access/${portal.body.id}`, {})).body.token as string;
    const scoped = await fetch(`${stack.baseUrl}/ui/api/live`, { headers: { authorization: `Bearer ${token}` } });
    expect(scoped.status).toBe(200);
    expect(scoped.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await scoped.body?.cancel();
  });
});

describe('the live stream', () => {
  it("tells the operator every committed delivery change, and an application's token only its own", async () => {
    const appA = (await stack.api('POST', '/api/v1/app', { name: 'live A' })).body.id as string;
    const appB = (await stack.api('POST', '/api/v1/app', { name: 'live B' })).body.id as string;
    for (const app of [appA, appB]) expect((await stack.api('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url })).status).toBe(201);
    const token = (await stack.api('POST', `/api/v1/auth/app-portal-access/${appA}`, {})).body.token as string;
    const operator = await follow({ authorization: `Bearer ${TEST_API_KEY}` });
    const portal = await follow({ authorization: `Bearer ${token}` });
    // (the projector looks for listeners once a second)
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    const sentA = (await stack.api('POST', `/api/v1/app/${appA}/msg`, { eventType: 'live.test', payload: { n: 1 } })).body.id as string;
    const sentB = (await stack.api('POST', `/api/v1/app/${appB}/msg`, { eventType: 'live.test', payload: { n: 2 } })).body.id as string;
    const succeeded = (stream: typeof operator, count: number) => async () => (stream.changes.filter((change) => change.status === 'succeeded').length >= count ? true : undefined);
    await eventually(succeeded(operator, 2), { what: 'both deliveries succeeded on the operator stream', timeoutMs: 10_000 });
    await eventually(succeeded(portal, 1), { what: "A's delivery succeeded on A's stream", timeoutMs: 10_000 });
    const appIds = (stream: typeof operator) => new Set(stream.changes.map((change) => change.app_id));
    expect(appIds(operator).size).toBe(2);
    expect(appIds(portal).size).toBe(1);
    expect(portal.changes.every((change) => change.message_id !== null)).toBe(true);
    expect(sentA).not.toBe(sentB);
    operator.stop();
    portal.stop();
  });
});

describe('the overview', () => {
  it('answers the operator only, with figures from the read model and the health of what the gateway sees', async () => {
    const app = (await stack.api('POST', '/api/v1/app', { name: 'overview' })).body.id as string;
    const token = (await stack.api('POST', `/api/v1/auth/app-portal-access/${app}`, {})).body.token as string;
    expect((await call('GET', '/ui/api/overview')).status).toBe(401);
    expect((await call('GET', '/ui/api/overview', { authorization: `Bearer ${token}` })).status).toBe(401);
    const answer = await call('GET', '/ui/api/overview?window=day', { authorization: `Bearer ${TEST_API_KEY}` });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ window: 'day', bucketSeconds: 900, health: { gateway: true, redis: true, kafka: true, 'projector (PostgreSQL, Kafka)': true } });
    // (the figures themselves are checked in the browser test, after deliveries it made)
    expect(answer.body.totals).toEqual(expect.objectContaining({ succeeded: expect.any(Number), failed: expect.any(Number) }));
    expect(Array.isArray(answer.body.deliveries) && Array.isArray(answer.body.attempts) && Array.isArray(answer.body.failing_endpoints)).toBe(true);
  });
});

describe('the pages', () => {
  it('are served without a key, never framed, with a strict content security policy', async () => {
    for (const path of ['/ui', '/ui/', '/ui/deliveries/x', '/portal/']) {
      const answer = await fetch(`${stack.baseUrl}${path}`);
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
      expect(answer.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(await answer.text()).toContain('<div id="root">');
    }
    const redoc = await fetch(`${stack.baseUrl}/redoc`);
    expect(redoc.status).toBe(200);
    expect(await redoc.text()).toContain('spec-url="/openapi.json"');
  });
});
