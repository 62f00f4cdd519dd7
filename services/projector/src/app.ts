import express, { type Request } from 'express';
import { deliveryStatuses, isUuid, type DeliveryStatus } from '@hookpost/contracts';
import { BadRequest, httpMetrics, metricsRoute, NotFound, notFoundRoute, problemMiddleware, requireApiKey, type Logger, type Registry } from '@hookpost/platform';
import { decodeCursor, type Cursor, type PgReadQueries } from './adapters/pgReadQueries';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

type Query = Request['query'];

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`${name} must be given once, as a string.`);
  // PostgreSQL refuses U+0000 in any text parameter; say so rather than fail the query.
  if (value.includes('\u0000')) throw new BadRequest(`${name} must not contain the NUL character.`);
  return value;
}

/** Unknown query parameters are a 400, like unknown body fields: a typo must not silently widen a search. */
function allowOnly(query: Query, allowed: readonly string[]): void {
  const unknown = Object.keys(query).filter((name) => !allowed.includes(name));
  if (unknown.length > 0) throw new BadRequest(`Unknown query parameter(s): ${unknown.join(', ')}. Allowed: ${allowed.join(', ') || 'none'}.`);
}

function limitOf(query: Query): number {
  const raw = single(query, 'limit');
  if (raw === undefined) return DEFAULT_LIMIT;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) throw new BadRequest(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
  return Number(raw);
}

function cursorOf(query: Query): Cursor | undefined {
  const raw = single(query, 'cursor');
  if (raw === undefined || raw === '') return undefined;
  const cursor = decodeCursor(raw);
  if (!cursor) throw new BadRequest('cursor is not one this API returned.');
  return cursor;
}

function statusOf(query: Query): DeliveryStatus | undefined {
  const raw = single(query, 'status');
  if (raw === undefined || raw === '') return undefined;
  if (!(deliveryStatuses as readonly string[]).includes(raw)) throw new BadRequest(`status must be one of ${deliveryStatuses.join(', ')}.`);
  return raw as DeliveryStatus;
}

function timestampOf(query: Query, name: string): string | undefined {
  const raw = single(query, name);
  if (raw === undefined || raw === '') return undefined;
  if (Number.isNaN(Date.parse(raw))) throw new BadRequest(`${name} must be an ISO 8601 timestamp.`);
  return new Date(raw).toISOString();
}

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
    const subscriptionId = single(req.query, 'subscription_id');
    if (subscriptionId !== undefined && !isUuid(subscriptionId)) throw new BadRequest('subscription_id must be a UUID.');
    const eventType = single(req.query, 'event_type');
    if (eventType !== undefined && eventType.length > 200) throw new BadRequest('event_type is longer than 200 characters.');
    const containsText = single(req.query, 'payload_contains');
    let payloadContains: object | undefined;
    if (containsText !== undefined && containsText !== '') {
      try {
        payloadContains = JSON.parse(containsText) as object;
      } catch {
        throw new BadRequest('payload_contains must be a JSON object.');
      }
      if (payloadContains === null || typeof payloadContains !== 'object' || Array.isArray(payloadContains)) {
        throw new BadRequest('payload_contains must be a JSON object.');
      }
      if (containsText.includes('\\u0000')) throw new BadRequest('payload_contains must not contain the NUL character.');
    }
    res.json(
      await queries.searchDeliveries({
        subscription_id: subscriptionId,
        status: statusOf(req.query),
        event_type: eventType || undefined,
        payload_contains: payloadContains,
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

  // For the dispatcher's retry reconciler: retries overdue in the read model, a page at a time by id.
  app.get('/internal/deliveries/overdue-retries', async (req, res) => {
    allowOnly(req.query, ['due_before', 'after', 'limit']);
    const dueBefore = timestampOf(req.query, 'due_before');
    if (!dueBefore) throw new BadRequest('due_before is required.');
    const after = single(req.query, 'after');
    if (after !== undefined && !isUuid(after)) throw new BadRequest('after must be a delivery id.');
    const limit = limitOf(req.query);
    const data = await queries.overdueRetries({ dueBefore, afterId: after, limit });
    res.json({ data, next_after: data.length === limit ? String(data[data.length - 1]!.id) : null });
  });

  app.use(notFoundRoute);
  app.use(problemMiddleware(deps.log));
  return app;
}
