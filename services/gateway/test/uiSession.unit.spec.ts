import { cookieValue, decideCookieRequest, decideSignInOrigin, sessionCookie, type CookieRequest, type UiSession } from '../src/ui/uiSession';
import { uiSettings } from '../src/ui/uiRoutes';
import { visibleChanges } from '../src/ui/liveRoutes';
import type { DeliveryRowChange } from '@hookpost/contracts';

const now = 1_700_000_000_000;
const session: UiSession = { keyDigest: 'k1', csrf: 'csrf-token-abc', createdAt: now - 1_000, expiresAt: now + 60_000 };
const keys = new Set(['k1']);
const request = (over: Partial<CookieRequest> = {}): CookieRequest => ({
  method: 'GET',
  origin: undefined,
  fetchSite: undefined,
  csrfToken: undefined,
  ownOrigin: 'http://127.0.0.1:8000',
  ...over,
});

describe('a request with the dashboard session cookie', () => {
  it('may read from the dashboard itself', () => {
    expect(decideCookieRequest(session, request(), keys, now)).toBe('allowed');
    expect(decideCookieRequest(session, request({ fetchSite: 'same-origin', origin: 'http://127.0.0.1:8000' }), keys, now)).toBe('allowed');
  });

  it('is signed out without a session, after it expired, or once its key is no longer configured', () => {
    expect(decideCookieRequest(undefined, request(), keys, now)).toBe('signed-out');
    expect(decideCookieRequest(session, request(), keys, session.expiresAt)).toBe('signed-out');
    expect(decideCookieRequest(session, request(), new Set(['k2']), now)).toBe('signed-out');
  });

  it('acts for no other origin, whatever the method', () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      expect(decideCookieRequest(session, request({ method, origin: 'https://evil.example', csrfToken: session.csrf }), keys, now)).toBe('cross-site');
      expect(decideCookieRequest(session, request({ method, fetchSite: 'cross-site', csrfToken: session.csrf }), keys, now)).toBe('cross-site');
      expect(decideCookieRequest(session, request({ method, fetchSite: 'same-site', csrfToken: session.csrf }), keys, now)).toBe('cross-site');
    }
  });

  it('changes something only with the CSRF token of its own session', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(decideCookieRequest(session, request({ method }), keys, now)).toBe('csrf-token-missing');
      expect(decideCookieRequest(session, request({ method, csrfToken: 'csrf-token-abd' }), keys, now)).toBe('csrf-token-missing');
      expect(decideCookieRequest(session, request({ method, csrfToken: 'short' }), keys, now)).toBe('csrf-token-missing');
      expect(decideCookieRequest(session, request({ method, csrfToken: session.csrf, origin: 'http://127.0.0.1:8000' }), keys, now)).toBe('allowed');
    }
  });
});

describe('sign-in', () => {
  it('is answered to the dashboard itself only', () => {
    expect(decideSignInOrigin(request({ origin: 'http://127.0.0.1:8000', fetchSite: 'same-origin' }))).toBe('allowed');
    expect(decideSignInOrigin(request())).toBe('allowed');
    expect(decideSignInOrigin(request({ origin: 'http://localhost:8000' }))).toBe('cross-site');
    expect(decideSignInOrigin(request({ fetchSite: 'cross-site' }))).toBe('cross-site');
  });
});

describe('the session cookie', () => {
  it('is httpOnly and SameSite=Strict, Secure with the __Host- name over https', () => {
    expect(sessionCookie('abc', { secure: false, maxAgeSeconds: 60 })).toBe('hookpost_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60');
    expect(sessionCookie('abc', { secure: true, maxAgeSeconds: 60 })).toBe('__Host-hookpost_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure');
  });

  it('is read from a Cookie header among others', () => {
    expect(cookieValue('a=1; hookpost_session=xyz; b=2', 'hookpost_session')).toBe('xyz');
    expect(cookieValue('xhookpost_session=1', 'hookpost_session')).toBeUndefined();
    expect(cookieValue(undefined, 'hookpost_session')).toBeUndefined();
  });
});

describe('the live stream', () => {
  const change = (app_id: string | null): DeliveryRowChange => ({
    id: 'd',
    app_id,
    subscription_id: 's',
    message_id: null,
    event_type: 'a.b',
    status: 'succeeded',
    attempt_count: 1,
    next_attempt_at: null,
    last_status_code: 200,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  });

  it("shows an application's stream its own deliveries only", () => {
    const changes = [change('a1'), change('a2'), change(null)];
    expect(visibleChanges(changes, { kind: 'all' })).toHaveLength(3);
    expect(visibleChanges(changes, { kind: 'application', id: 'a1' })).toEqual([change('a1')]);
  });
});

describe('dashboard settings', () => {
  const env = { HOOKPOST_PORTAL_FRAME_ANCESTORS: [] as string[], HOOKPOST_UI_BRAND_NAME: 'Acme', HOOKPOST_UI_BRAND_LOGO_URL: '', HOOKPOST_UI_ACCENT_COLOR: '' };

  it('takes origins and self as frame ancestors, and nothing that could break out of the header', () => {
    expect(uiSettings({ ...env, HOOKPOST_PORTAL_FRAME_ANCESTORS: ['https://app.example.com', 'self'] }).portalFrameAncestors).toEqual(['https://app.example.com', "'self'"]);
    expect(() => uiSettings({ ...env, HOOKPOST_PORTAL_FRAME_ANCESTORS: ["https://a.example; script-src 'unsafe-inline'"] })).toThrow(/frame_ancestors/i);
    expect(() => uiSettings({ ...env, HOOKPOST_PORTAL_FRAME_ANCESTORS: ['*'] })).toThrow();
  });

  it('takes an accent colour as #rrggbb only', () => {
    expect(uiSettings({ ...env, HOOKPOST_UI_ACCENT_COLOR: '#0a7d5c' }).brand).toEqual({ name: 'Acme', logoUrl: null, accentColor: '#0a7d5c' });
    expect(() => uiSettings({ ...env, HOOKPOST_UI_ACCENT_COLOR: 'red;}' })).toThrow(/#rrggbb/);
  });
});

describe("the public URL's base path", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { basePathOf } = require('../src/ui/uiRoutes') as typeof import('../src/ui/uiRoutes');
  it('is the path of HOOKPOST_PUBLIC_URL without its last slash, or empty', () => {
    expect(basePathOf(undefined)).toBe('');
    expect(basePathOf('https://hooks.example.com')).toBe('');
    expect(basePathOf('https://hooks.example.com/')).toBe('');
    expect(basePathOf('https://example.com/hookpost/')).toBe('/hookpost');
    expect(basePathOf('https://example.com/a/b')).toBe('/a/b');
  });
});
