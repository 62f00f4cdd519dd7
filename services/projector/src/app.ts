import express, { type Request } from 'express';
import { isUuid, limits } from '@hookpost/contracts';
import { BadRequest, httpMetrics, methodNotAllowed, metricsRoute, NotFound, notFoundRoute, problemMiddleware, requireApiKey, type Logger, type Registry } from '@hookpost/platform';
import type { PgReadQueries } from './adapters/pgReadQueries';
import { allowOnly, cursorOf, jsonObjectOf, limitOf, single, statusOf, textOf, timestampOf, uuidOf } from './readQuery';

function idParam(req: Request, what: string): string {
  const id = String(req.params.id);
  if (!isUuid(id)) throw new NotFound(`No ${what} ${id}.`);
  return id.toLowerCase();
}

/** The read API, served from the PostgreSQL read model. The gateway forwards public reads here. */
export function buildProjectorApp(deps: { queries: PgReadQueries; log: Logger; ready: () => Promise<boolean>; apiKeys: readonly string[]; metrics: Registry }) {
  const { queries } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(httpMetrics(deps.metrics));
  app.get('/metrics', metricsRoute(deps.metrics));

  if (deps.apiKeys.length > 0) app.use(requireApiKey(deps.apiKeys, (path) => ['/healthz', '/readyz', '/metrics'].includes(path)));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });

  app.get('/subscriptions', async (req, res) => {
    allowOnly(req.query, ['q', 'limit', 'cursor']);
    const q = single(req.query, 'q');
    if (q !== undefined && q.length > 200) throw new BadRequest('q is longer than 200 characters.');
    // (an empty q searches for nothing in particular: every subscription)
    res.json(await queries.listSubscriptions({ q: q?.trim() || undefined, limit: limitOf(req.query), cursor: cursorOf(req.query) }));
  });

  app.get('/subscriptions/:id', async (req, res) => {
    const id = idParam(req, 'subscription');
    const subscription = await queries.getSubscription(id);
    if (!subscription) throw new NotFound(`No subscription ${id}.`);
    res.json(subscription);
  });

  app.get('/subscriptions/:id/deliveries', async (req, res) => {
    const id = idParam(req, 'subscription');
    allowOnly(req.query, ['status', 'limit', 'cursor']);
    if (!(await queries.getSubscription(id))) throw new NotFound(`No subscription ${id}.`);
    res.json(await queries.searchDeliveries({ subscription_id: id, status: statusOf(req.query), limit: limitOf(req.query), cursor: cursorOf(req.query) }));
  });

  app.get('/deliveries', async (req, res) => {
    allowOnly(req.query, ['subscription_id', 'status', 'event_type', 'payload_contains', 'created_after', 'created_before', 'limit', 'cursor']);
    res.json(
      await queries.searchDeliveries({
        subscription_id: uuidOf(req.query, 'subscription_id'),
        status: statusOf(req.query),
        event_type: textOf(req.query, 'event_type', { min: 1, max: limits.eventTypeLength }),
        payload_contains: jsonObjectOf(req.query, 'payload_contains'),
        created_after: timestampOf(req.query, 'created_after'),
        created_before: timestampOf(req.query, 'created_before'),
        limit: limitOf(req.query),
        cursor: cursorOf(req.query),
      }),
    );
  });

  app.get('/deliveries/:id', async (req, res) => {
    const id = idParam(req, 'delivery');
    const delivery = await queries.getDelivery(id);
    if (!delivery) throw new NotFound(`No delivery ${id}.`);
    res.json({ ...delivery, attempts: await queries.listAttempts(id) });
  });

  app.get('/deliveries/:id/attempts', async (req, res) => {
    const id = idParam(req, 'delivery');
    if (!(await queries.getDelivery(id))) throw new NotFound(`No delivery ${id}.`);
    res.json({ data: await queries.listAttempts(id) });
  });

  // For the gateway's and dispatcher's cache misses; the gateway never forwards /internal.
  app.get('/internal/subscriptions/:id', async (req, res) => {
    const id = idParam(req, 'subscription');
    const state = await queries.getSubscriptionState(id);
    if (!state) throw new NotFound(`No subscription ${id}.`);
    res.json(state);
  });

  app.use(methodNotAllowed(app));
  app.use(notFoundRoute);
  app.use(problemMiddleware(deps.log));
  return app;
}
