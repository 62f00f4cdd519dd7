import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { isUuid } from '@hookpost/contracts';
import { HttpProblem, ServiceUnavailable, Unauthorized, type Logger } from '@hookpost/platform';
import type { JaegerLookup } from '../adapters/jaegerQuery';
import { deliveryTraceFrom } from './deliveryTrace';
import type { RedisUiSessions } from '../adapters/redisUiSessions';
import type { RedisSignInFailures } from '../adapters/redisSignInFailures';
import { decideSignInGate, signInAddress, type SignInLimit } from './signInLimit';
import { cookieValue, decideCookieRequest, decideSignInOrigin, isSafeMethod, sessionCookie, sessionCookieName, type UiSession } from './uiSession';

/**
 * The dashboard's side of the gateway: its pages (/ui, the application portal at /portal, ReDoc at /redoc),
 * the files scripts/build.mjs bundled for them, sign-in and sign-out, and the cookie check that lets the
 * dashboard's own pages call the API without holding a key.
 */
export type UiDeps = {
  log: Logger;
  /** services/gateway/dist/ui, written by scripts/build.mjs. */
  dir: string;
  sessions: Pick<RedisUiSessions, 'open' | 'find' | 'close'>;
  apiKeys: readonly string[];
  sessionTtlMs: number;
  /** Failed sign-ins per client address (signInLimit.ts), and the limit on them. */
  signInFailures: Pick<RedisSignInFailures, 'current' | 'record'>;
  signInLimit: SignInLimit;
  /** HOOKPOST_PUBLIC_URL: where users reach the gateway; without it, each request's own scheme and host. */
  publicUrl: string | undefined;
  /** Who may put the portal in a frame (CSP frame-ancestors sources); the operator's pages never are. */
  portalFrameAncestors: readonly string[];
  brand: { name: string; logoUrl: string | null; accentColor: string | null };
  now: () => number;
};

class Forbidden extends HttpProblem {
  constructor(detail: string) {
    super(403, 'Forbidden', detail);
  }
}

class TooManySignInAttempts extends HttpProblem {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'Too Many Requests', `Too many failed sign-ins from this address; try again in ${retryAfterSeconds} s.`);
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

const OPERATOR = Symbol('hookpost dashboard session');

/** The session a request was let through with, when it came with the dashboard's cookie instead of a key. */
export function operatorSessionOf(res: Response): UiSession | undefined {
  return (res.locals as Record<symbol, UiSession | undefined>)[OPERATOR];
}

export function ownOrigin(req: Request, publicUrl: string | undefined): string {
  return publicUrl ? new URL(publicUrl).origin : `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

const isSecure = (req: Request, publicUrl: string | undefined) => (publicUrl ? publicUrl.startsWith('https:') : req.protocol === 'https');

function cookieRequestOf(req: Request, publicUrl: string | undefined) {
  const header = (name: string) => {
    const value = req.get(name);
    return value === undefined || value === '' ? undefined : value;
  };
  return { method: req.method, origin: header('origin'), fetchSite: header('sec-fetch-site'), csrfToken: header('x-hookpost-csrf'), ownOrigin: ownOrigin(req, publicUrl) };
}

/** The admin key's digest (hex) when `key` is one of them; compared against every key, in constant time. */
function adminKeyDigest(keys: readonly Buffer[], key: string): string | undefined {
  const candidate = digest(key);
  let found = false;
  for (const known of keys) found = timingSafeEqual(candidate, known) || found;
  return found ? candidate.toString('hex') : undefined;
}

export function uiAccess(deps: UiDeps) {
  const keyDigests = deps.apiKeys.map(digest);
  const configured = new Set(keyDigests.map((key) => key.toString('hex')));
  const open = deps.apiKeys.length === 0;

  async function sessionOf(req: Request): Promise<{ id: string; session: UiSession | undefined } | undefined> {
    const id = cookieValue(req.headers.cookie, sessionCookieName(isSecure(req, deps.publicUrl)));
    if (id === undefined) return undefined;
    return { id, session: await deps.sessions.find(id) };
  }

  /**
   * In front of the API's own key check (`keyCheck`): a request with no Authorization header but the session
   * cookie is decided here (uiSession.ts) and, when allowed, goes on as the operator; every other request goes
   * to `keyCheck` untouched, so API keys and application tokens work exactly as before.
   */
  function signedIn(keyCheck: RequestHandler, openPath: (path: string) => boolean = () => false): RequestHandler {
    return (req, res, next) => {
      // (an open path answers anyone: a stale cookie must not turn /docs or /healthz into a 401)
      if (open || openPath(req.path) || req.headers.authorization !== undefined || req.headers.cookie === undefined) return keyCheck(req, res, next);
      const name = sessionCookieName(isSecure(req, deps.publicUrl));
      const id = cookieValue(req.headers.cookie, name);
      if (id === undefined) return keyCheck(req, res, next);
      deps.sessions.find(id).then((session) => {
        const decision = decideCookieRequest(session, cookieRequestOf(req, deps.publicUrl), configured, deps.now());
        switch (decision) {
          case 'allowed':
            (res.locals as Record<symbol, UiSession>)[OPERATOR] = session!;
            return next();
          case 'signed-out':
            return next(new Unauthorized('The dashboard session has ended; sign in again.'));
          case 'cross-site':
            return next(new Forbidden('The session cookie is only good for requests from the dashboard itself.'));
          case 'csrf-token-missing':
            return next(new Forbidden('A state-changing request with the session cookie needs the X-Hookpost-CSRF header the dashboard sends.'));
          default: {
            const unknown: never = decision;
            return next(new Error(`unknown cookie decision ${String(unknown)}`));
          }
        }
      }, next);
    };
  }

  /** Sign-in, the session, sign-out: /ui/api/session (no key needed to reach it; the key is what it takes). */
  function sessionRoutes(body: RequestHandler[]): Router {
    const router = express.Router();
    router.get('/ui/api/session', async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      if (open) return void res.json({ csrf: 'open', open: true });
      const found = await sessionOf(req);
      const decision = decideCookieRequest(found?.session, cookieRequestOf(req, deps.publicUrl), configured, deps.now());
      if (decision !== 'allowed') throw new Unauthorized('Not signed in.');
      res.json({ csrf: found!.session!.csrf, expiresAt: new Date(found!.session!.expiresAt).toISOString() });
    });
    router.post('/ui/api/session', ...body, async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      if (decideSignInOrigin(cookieRequestOf(req, deps.publicUrl)) !== 'allowed') throw new Forbidden('Sign in from the dashboard itself.');
      // Asked before the key is looked at: a locked-out address learns nothing, not even a right guess.
      const address = signInAddress(req.ip);
      const gate = decideSignInGate(await deps.signInFailures.current(address), deps.signInLimit);
      switch (gate.kind) {
        case 'open':
          break;
        case 'locked':
          res.setHeader('Retry-After', String(gate.retryAfterSeconds));
          throw new TooManySignInAttempts(gate.retryAfterSeconds);
        default: {
          const unknown: never = gate;
          throw new Error(`unknown sign-in gate ${JSON.stringify(unknown)}`);
        }
      }
      const key = (req.body as { key?: unknown } | undefined)?.key;
      const keyDigest = typeof key === 'string' && key.length <= 1_024 ? adminKeyDigest(keyDigests, key) : undefined;
      if (!keyDigest) {
        const counted = await deps.signInFailures.record(address, deps.signInLimit.windowMs);
        if (counted.failures === deps.signInLimit.maxFailures) {
          deps.log.warn({ client_address: address, failures: counted.failures, locked_ms: counted.resetsInMs }, 'dashboard sign-in locked for this address: too many failures');
        }
        throw new Unauthorized('That is not an admin API key of this Hookpost.');
      }
      const { id, session } = await deps.sessions.open(keyDigest, deps.sessionTtlMs, deps.now());
      res.setHeader('Set-Cookie', sessionCookie(id, { secure: isSecure(req, deps.publicUrl), maxAgeSeconds: Math.floor(deps.sessionTtlMs / 1000) }));
      deps.log.info({ session_expires_at: new Date(session.expiresAt).toISOString() }, 'dashboard sign-in');
      res.json({ csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() });
    });
    router.delete('/ui/api/session', async (req, res) => {
      const found = await sessionOf(req);
      const decision = decideCookieRequest(found?.session, cookieRequestOf(req, deps.publicUrl), configured, deps.now());
      if (decision === 'cross-site' || decision === 'csrf-token-missing') throw new Forbidden('Sign out from the dashboard itself.');
      if (found) await deps.sessions.close(found.id);
      res.setHeader('Set-Cookie', sessionCookie('', { secure: isSecure(req, deps.publicUrl), maxAgeSeconds: 0 }));
      res.status(204).end();
    });
    return router;
  }

  return { signedIn, sessionRoutes, isSafeMethod };
}

/**
 * The path HOOKPOST_PUBLIC_URL puts the gateway under ('' at the root): behind a reverse proxy that serves it at
 * https://example.com/hookpost/ and strips the prefix, `/hookpost`. The pages then ask for every URL under it.
 */
export function basePathOf(publicUrl: string | undefined): string {
  return publicUrl ? new URL(publicUrl).pathname.replace(/\/+$/, '') : '';
}

/** index.html as built, with the branding and the base path written in; read once (a rebuild restarts the gateway). */
function loadIndex(deps: UiDeps): string | undefined {
  const file = path.join(deps.dir, 'index.html');
  if (!existsSync(file)) return undefined;
  const basePath = basePathOf(deps.publicUrl);
  // (JSON in a script block: `<` escaped so no value can close the block)
  const config = JSON.stringify({ brand: deps.brand, basePath }).replace(/</g, '\\u003c');
  return readFileSync(file, 'utf8')
    .replace(/(href|src)="\/ui\//g, `$1="${basePath}/ui/`)
    .replace('<!--hookpost-config-->', `<script id="hookpost-config" type="application/json">${config}</script>`);
}

function redocFile(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { redoc?: string }).redoc;
  } catch {
    return undefined;
  }
}

const redocPage = (script: string, basePath: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Hookpost API reference</title>
  <style>body { margin: 0; }</style>
</head>
<body>
  <redoc spec-url="${basePath}/openapi.json"></redoc>
  <script src="${basePath}/ui/assets/${script}"></script>
</body>
</html>`;

/** The pages and files: no key needed to load them (every call they make is authenticated). */
export function uiPages(deps: UiDeps): Router {
  const router = express.Router();
  const index = loadIndex(deps);
  const logo = deps.brand.logoUrl ? new URL(deps.brand.logoUrl).origin : '';
  const policy = (frameAncestors: string) =>
    [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src 'self' data:${logo ? ` ${logo}` : ''}`,
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'self'",
      "object-src 'none'",
      `frame-ancestors ${frameAncestors}`,
    ].join('; ');
  const operatorPolicy = policy("'none'");
  const portalPolicy = policy(deps.portalFrameAncestors.length > 0 ? deps.portalFrameAncestors.join(' ') : "'none'");

  const page = (csp: string, framed: boolean) => (_req: Request, res: Response) => {
    if (!index) {
      res.status(503).type('text').send('The dashboard is not built: run node scripts/build.mjs (npm start and npm test do).');
      return;
    }
    res.setHeader('Content-Security-Policy', csp);
    if (!framed) res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(index);
  };
  router.use(
    '/ui/assets',
    express.static(path.join(deps.dir, 'assets'), {
      index: false,
      immutable: true,
      maxAge: '365d',
      setHeaders: (res) => res.setHeader('X-Content-Type-Options', 'nosniff'),
    }),
  );
  // (every other path under /ui is a page of the app, which routes in the browser; /ui/api/… is not a page)
  router.get(/^\/ui(\/(?!api\/|assets\/).*)?$/, page(operatorPolicy, false));
  router.get(/^\/portal(\/.*)?$/, page(portalPolicy, deps.portalFrameAncestors.length > 0));

  const redoc = redocFile(deps.dir);
  router.get('/redoc', (_req, res) => {
    if (!redoc) return void res.status(503).type('text').send('ReDoc is not built: run node scripts/build.mjs.');
    // ReDoc styles with injected <style> elements and runs its search in a blob: worker.
    res.setHeader('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src blob:; font-src 'self' data:; frame-ancestors 'none'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('html').send(redocPage(redoc, basePathOf(deps.publicUrl)));
  });
  return router;
}

/** The branding and frame settings, checked at start: a value that could break out of its header or page is refused. */
export function uiSettings(env: { HOOKPOST_PORTAL_FRAME_ANCESTORS: string[]; HOOKPOST_UI_BRAND_NAME: string; HOOKPOST_UI_BRAND_LOGO_URL: string; HOOKPOST_UI_ACCENT_COLOR: string }) {
  const color = env.HOOKPOST_UI_ACCENT_COLOR.trim();
  if (color && !/^#[0-9a-fA-F]{6}$/.test(color)) throw new Error(`HOOKPOST_UI_ACCENT_COLOR must be #rrggbb, got "${color}"`);
  const ancestors = env.HOOKPOST_PORTAL_FRAME_ANCESTORS.map((source) => source.trim()).filter(Boolean);
  for (const source of ancestors) {
    if (source === "'self'" || source === 'self') continue;
    let url: URL | undefined;
    try {
      url = new URL(source);
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== source.replace(/\/+$/, '')) {
      throw new Error(`HOOKPOST_PORTAL_FRAME_ANCESTORS: "${source}" is not 'self' or an origin such as https://app.example.com`);
    }
  }
  const name = env.HOOKPOST_UI_BRAND_NAME.trim() || 'Hookpost';
  if (name.length > 100) throw new Error('HOOKPOST_UI_BRAND_NAME is longer than 100 characters');
  return {
    portalFrameAncestors: ancestors.map((source) => (source === 'self' ? "'self'" : source.replace(/\/+$/, ''))),
    brand: { name, logoUrl: env.HOOKPOST_UI_BRAND_LOGO_URL || null, accentColor: color || null },
  };
}

/** Where the overview's figures and the services' health come from (the projector's /internal/overview, readiness checks). */
export type OverviewSource = {
  figures: (window: 'hour' | 'day') => Promise<unknown>;
  /** Each service and broker this gateway can see: up or not. */
  health: () => Promise<Record<string, boolean>>;
};

/** GET /ui/api/overview?window=hour|day, for the operator (session cookie or admin key) only. */
export function overviewRoute(admin: RequestHandler, source: OverviewSource): Router {
  const router = express.Router();
  router.get('/ui/api/overview', admin, async (req, res) => {
    const window = req.query.window === 'day' ? 'day' : 'hour';
    const [figures, health] = await Promise.all([source.figures(window), source.health()]);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ ...(figures as object), health });
  });
  return router;
}

/** Where a delivery's trace comes from: Jaeger's query API at HOOKPOST_JAEGER_URL (adapters/jaegerQuery.ts); absent when it is unset. */
export type TraceSource = { /** The base of the page's link (HOOKPOST_JAEGER_UI_URL, else HOOKPOST_JAEGER_URL). */ jaegerUiUrl: string; lookup: (deliveryId: string) => Promise<JaegerLookup> };

/**
 * GET /ui/api/deliveries/{id}/trace, for the operator only: the delivery's trace from Jaeger in our own shape
 * (deliveryTrace.ts). 404 with `reason` saying which: `tracing-not-configured` (no HOOKPOST_JAEGER_URL: the page
 * says how to turn it on) or `no-trace` (Jaeger has none yet, or the id is not a delivery's); 503 when Jaeger
 * does not answer in time.
 */
export function traceRoute(admin: RequestHandler, source: TraceSource | undefined, log: Logger): Router {
  const router = express.Router();
  router.get('/ui/api/deliveries/:id/trace', admin, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!source) throw new HttpProblem(404, 'Not Found', 'Tracing is not configured: set HOOKPOST_JAEGER_URL on the gateway (HOOKPOST_JAEGER=1 npm start does).', { reason: 'tracing-not-configured' });
    const id = req.params.id as string;
    // (checked before it goes anywhere near the query)
    if (!isUuid(id)) throw new HttpProblem(404, 'Not Found', `No delivery ${id}.`, { reason: 'no-trace' });
    const found = await source.lookup(id);
    switch (found.kind) {
      case 'found': {
        const trace = deliveryTraceFrom(found.traces, source.jaegerUiUrl);
        if (!trace) throw new HttpProblem(404, 'Not Found', 'Jaeger holds no trace of this delivery yet.', { reason: 'no-trace' });
        return void res.json(trace);
      }
      case 'none':
        throw new HttpProblem(404, 'Not Found', 'Jaeger holds no trace of this delivery yet.', { reason: 'no-trace' });
      case 'unreachable':
        log.warn({ reason: found.reason }, 'jaeger query failed');
        throw new ServiceUnavailable('Jaeger cannot be reached right now; try again shortly.');
      default: {
        const unknown: never = found;
        throw new Error(`unknown jaeger lookup ${JSON.stringify(unknown)}`);
      }
    }
  });
  return router;
}
