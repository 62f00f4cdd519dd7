import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { DeliveryRowChange } from '@hookpost/contracts';
import { bearerToken, looksLikeAppToken, Unauthorized, type AppTokens, type Logger, type RedisTokenDenylist } from '@hookpost/platform';
import type { LiveListener } from '../adapters/redisLiveDeliveries';

/**
 * GET /ui/api/live: server-sent events with the delivery rows the read model commits, for the dashboard's live
 * views. The operator's session or an admin key sees every application; an application token (the portal's)
 * sees its own application only. Each event `deliveries` carries a list of DeliveryRowChange; `ready` says
 * the stream is subscribed (what happened before it, the page asks the API for).
 */
export type LiveDeps = {
  log: Logger;
  live: { listen: (listener: LiveListener) => Promise<() => void> };
  /** The admin check (the dashboard's session cookie or an API key): calls next() with nothing when it lets the request through. */
  admin: RequestHandler;
  tokens: Pick<AppTokens, 'verify'>;
  denylist: Pick<RedisTokenDenylist, 'isRevoked'>;
  now: () => number;
  heartbeatMs?: number;
};

/** What a stream may see: every application, or one (by its UUID). */
export type LiveScope = { kind: 'all' } | { kind: 'application'; id: string };

/** The changes a scope may see, pure. */
export function visibleChanges(changes: readonly DeliveryRowChange[], scope: LiveScope): DeliveryRowChange[] {
  switch (scope.kind) {
    case 'all':
      return [...changes];
    case 'application':
      return changes.filter((change) => change.app_id === scope.id);
    default: {
      const unknown: never = scope;
      throw new Error(`unknown live scope ${JSON.stringify(unknown)}`);
    }
  }
}

/** Past this much unsent text a client is too slow to follow: its stream ends and it reconnects (and re-reads). */
const MAX_BUFFERED_BYTES = 1 << 20;

export function liveRoutes(deps: LiveDeps): { router: Router; close: () => void } {
  const router = express.Router();
  const open = new Set<Response>();

  async function scopeOf(req: Request, res: Response): Promise<LiveScope> {
    const token = bearerToken(req.headers.authorization);
    if (token !== undefined && looksLikeAppToken(token)) {
      const check = deps.tokens.verify(token, deps.now());
      if (!check.ok || (await deps.denylist.isRevoked(token))) throw new Unauthorized('The application token is not valid, has expired or was logged out.');
      return { kind: 'application', id: check.claims.app };
    }
    await new Promise<void>((resolve, reject) => deps.admin(req, res, (error?: unknown) => (error ? reject(error as Error) : resolve())));
    return { kind: 'all' };
  }

  router.get('/ui/api/live', async (req, res) => {
    const scope = await scopeOf(req, res);
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    open.add(res);
    const send = (text: string) => {
      if (res.writableEnded) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) return void res.end();
      res.write(text);
    };
    let stop: (() => void) | undefined;
    const heartbeat = setInterval(() => send(': keep-alive\n\n'), deps.heartbeatMs ?? 15_000);
    const finish = () => {
      clearInterval(heartbeat);
      stop?.();
      open.delete(res);
    };
    res.on('close', finish);
    try {
      stop = await deps.live.listen((changes) => {
        const visible = visibleChanges(changes, scope);
        if (visible.length > 0) send(`event: deliveries\ndata: ${JSON.stringify(visible)}\n\n`);
      });
    } catch (error) {
      deps.log.warn({ err: error }, 'live stream: cannot subscribe');
      res.end();
      return;
    }
    // (the client went away while it subscribed)
    if (res.writableEnded || res.destroyed) return finish();
    send('event: ready\ndata: {}\n\n');
  });

  return {
    router,
    close: () => {
      for (const res of open) res.end();
      open.clear();
    },
  };
}
