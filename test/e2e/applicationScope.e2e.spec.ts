import { randomUUID } from 'node:crypto';
import { AppPortalCapability, Svix, type ApplicationOut, type EndpointOut, type MessageOut } from 'svix';
import { fromExternalId, toExternalId } from '@hookpost/contracts';
import { AppTokens } from '@hookpost/platform';
import { apiClient, type ApiAnswer } from '../support/api';
import { Receiver } from '../support/receiver';
import { servedRoutes, type RouteSpec } from '../support/routes';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

/**
 * Application-scoped credentials on the real stack: tokens from auth/app-portal-access and keys from
 * HOOKPOST_APP_API_KEYS see and change their own application only; every other operation the gateway and the
 * projector serve answers them 404, the same 404 as for something that does not exist.
 */
const suffix = randomUUID().slice(0, 8);
const uidA = `scope-a-${suffix}`;
const uidB = `scope-b-${suffix}`;
const CONFIGURED_KEY_A = `configured-key-of-a-${suffix}`;
const CONFIGURED_KEY_NOBODY = `configured-key-of-nobody-${suffix}`;

let stack: Stack;
let projectorUrl: string;
let admin: Svix;
let receiver: Receiver;
let appA: ApplicationOut;
let appB: ApplicationOut;
let endpointA: EndpointOut;
let endpointB: EndpointOut;
let messageA: MessageOut;
let messageB: MessageOut;
let attemptB: string;
let taskB: string;
let eventType: string;
let tokenA: string;

const svixFor = (token: string) => new Svix(token, { serverUrl: stack.baseUrl });
const callWith = (token: string, base = stack.baseUrl) => apiClient(base, { authorization: `Bearer ${token}` });

beforeAll(async () => {
  stack = await startStack({ env: { HOOKPOST_APP_API_KEYS: `${uidA}=${CONFIGURED_KEY_A},nobody-${suffix}=${CONFIGURED_KEY_NOBODY}` } });
  projectorUrl = stack.env.PROJECTOR_URL!;
  admin = new Svix(TEST_API_KEY, { serverUrl: stack.baseUrl });
  receiver = await Receiver.start();
  eventType = `scope.checked.${suffix}`;
  await admin.eventType.create({ name: eventType, description: 'for the scope tests' });
  appA = await admin.application.create({ name: 'A', uid: uidA });
  appB = await admin.application.create({ name: 'B', uid: uidB });
  endpointA = await admin.endpoint.create(appA.id, { url: receiver.url, uid: 'endpoint-a' });
  endpointB = await admin.endpoint.create(appB.id, { url: receiver.url, uid: 'endpoint-b' });
  messageA = await admin.message.create(appA.id, { eventType, payload: { to: 'a' }, eventId: `evt-a-${suffix}` });
  messageB = await admin.message.create(appB.id, { eventType, payload: { to: 'b' }, eventId: `evt-b-${suffix}` });
  attemptB = await eventually(async () => (await admin.messageAttempt.listByMsg(appB.id, messageB.id)).data[0]?.id, { what: "B's first attempt" });
  taskB = (await stack.api('POST', `/api/v1/app/${appB.id}/endpoint/${endpointB.id}/replay-from-log`, { since: new Date().toISOString() })).body.id;
  tokenA = (await admin.authentication.appPortalAccess(appA.id, {})).token;
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

describe('auth/app-portal-access', () => {
  it('answers a portal URL and a token for the application, valid for 7 days unless asked otherwise', async () => {
    // When an admin key asks for portal access to A (by uid)
    const access = await admin.authentication.appPortalAccess(uidA, { readOnly: true, capabilities: [AppPortalCapability.ViewBase], sessionId: 'session-1' });

    // Then the URL is the portal page of this gateway with the token in its fragment
    expect(access.token).toMatch(/^hpat_/);
    expect(access.url).toBe(`${stack.baseUrl}/portal/#token=${access.token}`);
    // and the token is bound to A's id, for 604800 s, with what was asked recorded
    const verified = AppTokens.fromConfig(stack.env.HOOKPOST_SECRET_KEYS!).verify(access.token, Date.now());
    expect(verified).toMatchObject({ ok: true, claims: { app: fromExternalId('app', appA.id), readOnly: true, capabilities: ['ViewBase'], sessionId: 'session-1' } });
    if (!verified.ok) throw new Error('unreachable');
    expect(verified.claims.expiresAt - verified.claims.issuedAt).toBe(604_800);
    const short = AppTokens.fromConfig(stack.env.HOOKPOST_SECRET_KEYS!).verify((await admin.authentication.appPortalAccess(appA.id, { expiry: 3_600 })).token, Date.now());
    expect(short.ok && short.claims.expiresAt - short.claims.issuedAt).toBe(3_600);
  });

  it('refuses an expiry outside 1 hour to 7 days, and an application that does not exist', async () => {
    const api = stack.api;
    for (const expiry of [60, 604_801, 'long']) {
      const answer = await api('POST', `/api/v1/auth/app-portal-access/${appA.id}`, { expiry });
      expect(answer.status).toBe(422);
    }
    expect((await api('POST', `/api/v1/auth/app-portal-access/nothing-${suffix}`, {})).status).toBe(404);
    expect((await api('POST', `/api/v1/auth/app-portal-access/${toExternalId('app', randomUUID())}`, {})).status).toBe(404);
  });
});

describe("an application's token", () => {
  it("reads and changes its own application through the svix client, by id and by uid", async () => {
    const svix = svixFor(tokenA);

    // reads: the application, its endpoints, its messages and their attempts
    expect(await svix.application.get(uidA)).toMatchObject({ id: appA.id });
    expect((await svix.endpoint.list(appA.id)).data.map((endpoint) => endpoint.id)).toContain(endpointA.id);
    expect(await svix.endpoint.get(uidA, 'endpoint-a')).toMatchObject({ id: endpointA.id });
    expect((await svix.message.list(uidA)).data.map((message) => message.id)).toEqual([messageA.id]);
    expect(await svix.message.get(appA.id, messageA.id)).toMatchObject({ eventId: `evt-a-${suffix}` });
    await eventually(async () => ((await svix.messageAttempt.listByMsg(appA.id, messageA.id)).data.length > 0 ? true : undefined), { what: "A's attempt" });
    // the event-type catalogue, read-only
    expect((await svix.eventType.get(eventType)).name).toBe(eventType);
    expect((await svix.eventType.list({ limit: 250 })).data.map((type) => type.name)).toContain(eventType);

    // changes inside the application: a new endpoint, a message
    const created = await svix.endpoint.create(appA.id, { url: receiver.url, uid: `made-by-token-${suffix}` });
    expect(await admin.endpoint.get(appA.id, created.id)).toMatchObject({ uid: `made-by-token-${suffix}` });
    await svix.endpoint.patch(uidA, created.id, { description: 'changed by the token' });
    expect((await svix.endpoint.get(appA.id, created.id)).description).toBe('changed by the token');
    const sent = await svix.message.create(uidA, { eventType, payload: { from: 'token' } });
    expect(await admin.message.get(appA.id, sent.id)).toMatchObject({ payload: { from: 'token' } });
    await svix.endpoint.delete(appA.id, created.id);
  });

  it('may not change the application itself, nor anything when read-only', async () => {
    const call = callWith(tokenA);
    expect((await call('PATCH', `/api/v1/app/${appA.id}`, { name: 'renamed' })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/app/${uidA}`)).status).toBe(403);
    const readOnly = callWith((await admin.authentication.appPortalAccess(appA.id, { readOnly: true })).token);
    expect((await readOnly('GET', `/api/v1/app/${appA.id}/endpoint`)).status).toBe(200);
    expect((await readOnly('POST', `/api/v1/app/${appA.id}/endpoint`, { url: receiver.url })).status).toBe(403);
    expect((await readOnly('POST', `/api/v1/app/${appA.id}/msg`, { eventType, payload: {} })).status).toBe(403);
    expect(await admin.application.get(appA.id)).toMatchObject({ name: 'A' });
  });

  it('finds nothing else: every operation the gateway and the projector serve is 404 for another application, like one that does not exist', async () => {
    const routes = servedRoutes();
    const viaGateway = routes.gateway.flatMap((route) =>
      // The gateway forwards every other GET under /api/v1 to the projector: walk the projector's there.
      route.path === '/api/v1/{*rest}' ? routes.projector.filter((read) => read.path.startsWith('/api/v1/')) : [route],
    );
    const walked: string[] = [];
    for (const [base, served] of [[stack.baseUrl, viaGateway], [projectorUrl, routes.projector]] as const) {
      for (const route of served) {
        const expected = allowedToAnyToken(route);
        if (expected === 'skip') continue;
        for (const names of [namesOfB('id'), namesOfB('uid')]) {
          const path = filled(route.path, names.real);
          const answer = await requestAs(tokenA, base, route.method, path);
          walked.push(`${base === stack.baseUrl ? 'gateway' : 'projector'} ${route.method} ${path} → ${answer.status}`);
          if (expected === 'allowed') {
            expect({ route: `${route.method} ${path}`, answered: answer.status < 300 }).toEqual({ route: `${route.method} ${path}`, answered: true });
            continue;
          }
          expect({ at: base, route: `${route.method} ${path}`, status: answer.status }).toEqual({ at: base, route: `${route.method} ${path}`, status: 404 });
          // the same answer as for names that exist nowhere, word for word (but the names)
          const nothing = await requestAs(tokenA, base, route.method, filled(route.path, names.none));
          expect(nothing.status).toBe(404);
          expect(nothing.headers.get('content-type')).toBe(answer.headers.get('content-type'));
          expect(renamed(JSON.stringify(nothing.body), names.none, names.real)).toBe(JSON.stringify(answer.body));
          if (route.path.startsWith('/api/v1')) expect(answer.body).toMatchObject({ code: 'not_found' });
        }
      }
    }
    // (the walk covered the gateway's writes, the projector's reads and the seed API on both)
    expect(walked.length).toBeGreaterThan(100);

    // and B is untouched and readable with an admin key (the paths above exist)
    expect(await admin.endpoint.get(appB.id, endpointB.id)).toMatchObject({ uid: 'endpoint-b' });
    expect((await admin.message.list(appB.id)).data.map((message) => message.id)).toEqual([messageB.id]);
    expect((await stack.api('GET', `/api/v1/app/${appB.id}/msg/${messageB.id}/attempt/${attemptB}`)).status).toBe(200);
  });

  it('is 401 after logging out, at the gateway and at the projector, while other tokens still work', async () => {
    // Given a token in use, and another of the same application
    const token = (await admin.authentication.appPortalAccess(appA.id, {})).token;
    const other = (await admin.authentication.appPortalAccess(appA.id, {})).token;
    const path = `/api/v1/app/${appA.id}/endpoint`;
    expect((await callWith(token)(`GET`, path)).status).toBe(200);
    expect((await callWith(token, projectorUrl)('GET', path)).status).toBe(200);

    // When it logs out
    await svixFor(token).authentication.logout();

    // Then neither service takes it any more
    for (const base of [stack.baseUrl, projectorUrl]) {
      const answer = await callWith(token, base)('GET', path);
      expect(answer.status).toBe(401);
    }
    expect((await callWith(token)('POST', '/api/v1/auth/logout')).status).toBe(401);
    expect((await callWith(other)('GET', path)).status).toBe(200);
  });

  it('is 401 when expired, and text that only looks like a token is no key at all', async () => {
    const tokens = AppTokens.fromConfig(stack.env.HOOKPOST_SECRET_KEYS!);
    const expired = tokens.issue({ app: fromExternalId('app', appA.id)!, expiresInSeconds: 3_600, readOnly: false }, Date.now() - 2 * 3_600_000);
    const forged = new AppTokens([Buffer.alloc(32, 7)]).issue({ app: fromExternalId('app', appA.id)!, expiresInSeconds: 3_600, readOnly: false }, Date.now());
    for (const token of [expired, forged, `${tokenA}x`]) {
      for (const base of [stack.baseUrl, projectorUrl]) expect((await callWith(token, base)('GET', `/api/v1/app/${appA.id}/endpoint`)).status).toBe(401);
    }
  });
});

describe('an application key from configuration', () => {
  it('is scoped like a token to the application whose uid it names', async () => {
    const svix = svixFor(CONFIGURED_KEY_A);
    expect((await svix.endpoint.list(appA.id)).data.map((endpoint) => endpoint.id)).toContain(endpointA.id);
    expect((await svix.message.list(uidA)).data.map((message) => message.id)).toContain(messageA.id);
    expect((await callWith(CONFIGURED_KEY_A, projectorUrl)('GET', `/api/v1/app/${uidA}/msg/${messageA.id}`)).status).toBe(200);
    for (const path of [`/api/v1/app/${appB.id}/endpoint`, `/api/v1/app/${uidB}/msg`, '/api/v1/app', '/subscriptions']) {
      expect((await callWith(CONFIGURED_KEY_A)('GET', path)).status).toBe(404);
    }
    // it cannot be logged out (it lives in configuration), nor ask for portal access
    expect((await callWith(CONFIGURED_KEY_A)('POST', '/api/v1/auth/logout')).status).toBe(400);
    expect((await callWith(CONFIGURED_KEY_A)('POST', `/api/v1/auth/app-portal-access/${appA.id}`, {})).status).toBe(404);
    // and a key naming an application that does not exist finds nothing
    expect((await callWith(CONFIGURED_KEY_NOBODY)('GET', `/api/v1/app/${appA.id}/endpoint`)).status).toBe(404);
    expect((await callWith(CONFIGURED_KEY_NOBODY)('GET', '/api/v1/health')).status).toBe(204);
  });
});

type Names = Record<string, string>;

/** What each path parameter is filled with: B's resources, by id or by uid; or names that exist nowhere. */
function namesOfB(by: 'id' | 'uid'): { real: Names; none: Names } {
  const endpointUuid = fromExternalId('ep', endpointB.id)!;
  const real: Names = {
    app: by === 'id' ? appB.id : uidB,
    endpoint: by === 'id' ? endpointB.id : 'endpoint-b',
    msg: by === 'id' ? messageB.id : `evt-b-${suffix}`,
    attempt: attemptB,
    task: taskB,
    name: eventType,
    id: endpointUuid,
    appUuid: fromExternalId('app', appB.id)!,
    subscriptionId: endpointUuid,
    uid: uidB,
    endpointUid: 'endpoint-b',
    // (a payload-key bucket: the service credential's only, like every /internal route)
    bucket: '1893456000000',
  };
  const none: Names = {
    app: by === 'id' ? toExternalId('app', randomUUID()) : `none-${randomUUID().slice(0, 8)}`,
    endpoint: toExternalId('ep', randomUUID()),
    msg: toExternalId('msg', randomUUID()),
    attempt: toExternalId('atmpt', randomUUID()),
    task: toExternalId('qtask', randomUUID()),
    name: `none.${randomUUID().slice(0, 8)}`,
    id: randomUUID(),
    appUuid: randomUUID(),
    subscriptionId: randomUUID(),
    uid: `none-${randomUUID().slice(0, 8)}`,
    endpointUid: `none-${randomUUID().slice(0, 8)}`,
    bucket: '1893542400000',
  };
  return { real, none };
}

/** A route's path with its parameters filled; a parameter this walk has no value for fails the test (add one). */
function filled(path: string, names: Names): string {
  return path.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    // (the internal routes name an application by its UUID, and an endpoint's uid as :uid)
    const internalApp = path.startsWith('/internal/') && (name === 'app' || (name === 'id' && path.startsWith('/internal/applications/')));
    const key = internalApp ? 'appUuid' : name === 'uid' && path.includes('/endpoint-uids/') ? 'endpointUid' : name;
    const value = names[key];
    if (value === undefined) throw new Error(`the scope walk has no value for :${name} in ${path}`);
    return encodeURIComponent(value);
  });
}

function renamed(text: string, from: Names, to: Names): string {
  let out = text;
  for (const key of Object.keys(from)) out = out.split(from[key]!).join(to[key]!);
  return out;
}

/** What an application token may call whatever the application (open paths need no key at all). */
function allowedToAnyToken(route: RouteSpec): 'allowed' | 'not-found' | 'skip' {
  if (['/metrics', '/healthz', '/readyz', '/openapi.json'].includes(route.path) || route.path.startsWith('/docs')) return 'skip';
  // (logging out is checked on its own: walking it would end the token)
  if (route.method === 'POST' && route.path === '/api/v1/auth/logout') return 'skip';
  if (route.method === 'GET' && (route.path === '/api/v1/health' || route.path.startsWith('/api/v1/event-type'))) return 'allowed';
  // (the list of background tasks answers a token its own application's: none of B's)
  if (route.method === 'GET' && route.path === '/api/v1/background-task') return 'allowed';
  return 'not-found';
}

function requestAs(token: string, base: string, method: string, path: string): Promise<ApiAnswer> {
  return callWith(token, base)(method, path, method === 'GET' || method === 'DELETE' ? undefined : { name: 'x', url: receiver.url, eventType, payload: {} });
}
