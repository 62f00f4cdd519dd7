import http from 'node:http';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';

jest.setTimeout(90_000);

// The dashboard's sign-in limits failed attempts per client address (docs/dashboard.md, "Signing in"): three
// failures in a four-second window here (10 in 10 minutes by default).
const MAX_FAILURES = 3;
const WINDOW_MS = 4_000;
const limits = { HOOKPOST_UI_SIGN_IN_MAX_FAILURES: String(MAX_FAILURES), HOOKPOST_UI_SIGN_IN_WINDOW_MS: String(WINDOW_MS) };
let direct: Stack;
let behindProxy: Stack;

beforeAll(async () => {
  [direct, behindProxy] = await Promise.all([startStack({ env: limits }), startStack({ env: { ...limits, HOOKPOST_TRUST_PROXY: 'loopback' } })]);
});

afterAll(async () => {
  await direct?.stop();
  await behindProxy?.stop();
});

type Answer = { status: number; retryAfter: string | undefined; setCookie: string[] };

/** A sign-in from a chosen loopback address (the source of the connection), and optionally naming a client. */
function signIn(stack: Stack, key: string, from: { localAddress?: string; forwardedFor?: string } = {}): Promise<Answer> {
  const url = new URL('/ui/api/session', stack.baseUrl);
  const body = JSON.stringify({ key });
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: from.localAddress,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          origin: stack.baseUrl,
          ...(from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {}),
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({ status: response.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, setCookie: response.headers['set-cookie'] ?? [] });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const WRONG = 'not-the-admin-key-0123456789';

describe('failed dashboard sign-ins, counted per address', () => {
  it('answers 429 with Retry-After after the limit, to a correct key too, until the window ends; another address is unaffected', async () => {
    // Given the limit of failures from 127.0.0.1 (a connection from there)
    for (let n = 0; n < MAX_FAILURES; n += 1) expect((await signIn(direct, WRONG)).status).toBe(401);

    // When it tries again, wrong or right
    const locked = await signIn(direct, WRONG);
    const lockedRight = await signIn(direct, TEST_API_KEY);

    // Then both are refused with 429 and when to come back, and no session is opened
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(locked.retryAfter)).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(lockedRight.status).toBe(429);
    expect(lockedRight.retryAfter).toBeDefined();
    expect(lockedRight.setCookie).toEqual([]);
    // and naming another client in X-Forwarded-For changes nothing: this gateway trusts no proxy
    expect((await signIn(direct, TEST_API_KEY, { forwardedFor: '203.0.113.9' })).status).toBe(429);
    // and the API's own keys are not affected
    expect((await direct.api('GET', '/api/v1/app')).status).toBe(200);

    // And another address (a connection from 127.0.0.2) signs in, and has failures of its own to spend
    const other = await signIn(direct, TEST_API_KEY, { localAddress: '127.0.0.2' });
    expect(other.status).toBe(200);
    expect(other.setCookie.join(';')).toContain('hookpost_session=');
    expect((await signIn(direct, WRONG, { localAddress: '127.0.0.2' })).status).toBe(401);

    // And once the window has ended, the first address signs in again
    await new Promise((resolve) => setTimeout(resolve, Number(lockedRight.retryAfter) * 1000 + 200));
    expect((await signIn(direct, TEST_API_KEY)).status).toBe(200);
  });

  it('does not count successes', async () => {
    // Given more successful sign-ins than the limit, from one address
    for (let n = 0; n < MAX_FAILURES + 2; n += 1) expect((await signIn(direct, TEST_API_KEY, { localAddress: '127.0.0.3' })).status).toBe(200);
    // Then a wrong key is an ordinary failure, and so are the ones up to the limit
    for (let n = 0; n < MAX_FAILURES; n += 1) expect((await signIn(direct, WRONG, { localAddress: '127.0.0.3' })).status).toBe(401);
    expect((await signIn(direct, WRONG, { localAddress: '127.0.0.3' })).status).toBe(429);
  });

  it('counts the client a trusted proxy names (HOOKPOST_TRUST_PROXY=loopback)', async () => {
    // Given a client behind the proxy at its limit
    for (let n = 0; n < MAX_FAILURES; n += 1) expect((await signIn(behindProxy, WRONG, { forwardedFor: '203.0.113.7' })).status).toBe(401);
    expect((await signIn(behindProxy, TEST_API_KEY, { forwardedFor: '203.0.113.7' })).status).toBe(429);
    // Then another client through the same proxy signs in
    expect((await signIn(behindProxy, TEST_API_KEY, { forwardedFor: '203.0.113.8' })).status).toBe(200);
    // and the proxy's own address was never the one counted
    expect((await signIn(behindProxy, TEST_API_KEY)).status).toBe(200);
  });
});
