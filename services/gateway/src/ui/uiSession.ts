import { timingSafeEqual } from 'node:crypto';

/**
 * The operator dashboard's session: signing in exchanges an admin API key for a random session id in an
 * httpOnly, SameSite=Strict cookie (Secure when the dashboard is reached over https); the session itself is
 * kept server-side in Redis with a TTL (redisUiSessions.ts), holding the digest of the key it was opened with
 * and a CSRF token. These are the pure decisions about a request that comes with that cookie.
 */

export type UiSession = Readonly<{
  /** SHA-256 (hex) of the admin key it was opened with: the session ends when that key is no longer configured. */
  keyDigest: string;
  /** Sent back by the page in X-Hookpost-CSRF on every state-changing request. */
  csrf: string;
  createdAt: number;
  expiresAt: number;
}>;

export type CookieRequest = Readonly<{
  method: string;
  /** The Origin header, if the browser sent one. */
  origin: string | undefined;
  /** The Sec-Fetch-Site header, if the browser sent one. */
  fetchSite: string | undefined;
  /** The X-Hookpost-CSRF header, if any. */
  csrfToken: string | undefined;
  /** Where the dashboard is served from (scheme://host[:port]), the only origin its cookie may act for. */
  ownOrigin: string;
}>;

export type CookieDecision = 'allowed' | 'signed-out' | 'cross-site' | 'csrf-token-missing';

/** Methods that change nothing: a cookie alone may read (the answer goes to the same origin only). */
export const isSafeMethod = (method: string): boolean => ['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Whether a request that carries the session cookie (and no Authorization header) may act as the operator.
 * SameSite=Strict already keeps the cookie off cross-site requests; on top of it the request must come from
 * the dashboard's own origin (Origin and Sec-Fetch-Site, when the browser sends them), and a state-changing one
 * must carry the session's CSRF token, which only a page of the dashboard can read.
 */
export function decideCookieRequest(session: UiSession | undefined, request: CookieRequest, configuredKeyDigests: ReadonlySet<string>, now: number): CookieDecision {
  if (!session || session.expiresAt <= now || !configuredKeyDigests.has(session.keyDigest)) return 'signed-out';
  if (request.origin !== undefined && request.origin !== request.ownOrigin) return 'cross-site';
  if (request.fetchSite !== undefined && request.fetchSite !== 'same-origin') return 'cross-site';
  if (isSafeMethod(request.method)) return 'allowed';
  if (request.csrfToken === undefined || !sameText(request.csrfToken, session.csrf)) return 'csrf-token-missing';
  return 'allowed';
}

/** Whether sign-in (the key exchange) may be answered: only from the dashboard's own origin. */
export function decideSignInOrigin(request: Pick<CookieRequest, 'origin' | 'fetchSite' | 'ownOrigin'>): 'allowed' | 'cross-site' {
  if (request.origin !== undefined && request.origin !== request.ownOrigin) return 'cross-site';
  if (request.fetchSite !== undefined && request.fetchSite !== 'same-origin' && request.fetchSite !== 'none') return 'cross-site';
  return 'allowed';
}

/** The session cookie's name: `__Host-` (no Domain, Path=/, Secure: browsers enforce all three) over https. */
export const sessionCookieName = (secure: boolean): string => (secure ? '__Host-hookpost_session' : 'hookpost_session');

export function sessionCookie(value: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  return [
    `${sessionCookieName(options.secure)}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${options.maxAgeSeconds}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    if (part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
