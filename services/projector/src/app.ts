import express, { type Request, type RequestHandler } from 'express';
import { isUuid, limits, subscriptionETag } from '@hookpost/contracts';
import { applicationScoped, type ApplicationScopeDeps, BadRequest, Gone, httpMetrics, methodNotAllowed, metricsRoute, NotFound, notFoundRoute, problemMiddleware, requireApiKey, type Logger, type Registry } from '@hookpost/platform';
import type { PgReadQueries } from './adapters/pgReadQueries';
import type { PgPayloadKeyStore } from './adapters/pgPayloadKeyStore';
import { svixReadRoutes } from './svix/svixReadRoutes';
import type { PgSvixQueries } from './svix/svixQueries';
import type { PgOverview, OverviewWindow } from './adapters/pgOverview';
import { allowOnly, cursorOf, jsonObjectOf, limitOf, single, statusOf, textOf, timestampOf, uuidOf } from './readQuery';

function idParam(req: Request, what: string): string {
  const id = String(req.params.id);
  if (!isUuid(id)) throw new NotFound(`No ${what} ${id}.`);
  return id.toLowerCase();
}

/**
 * What a read must reflect: the writes on the topics its answer is made of. `subscriptions` and `deliveries`
 * cover what the API writes; `everything` adds the dispatcher's own delivery events (a redelivery asks which
 * messages an endpoint has had, including deliveries the dispatcher recorded a moment ago).
 */
export type ReadScope = 'subscriptions' | 'deliveries' | 'everything';

/**
 * The read API, served from the PostgreSQL read model. The gateway forwards public reads here. Every read
 * first waits (bounded) until the read model has applied every write acknowledged before it arrived, whichever
 * gateway took the write: `readAfterWrites` resolves when it has, and throws a 503 when it cannot in time.
 */
export function buildProjectorApp(deps: {
  queries: PgReadQueries;
  /** The Svix-compatible API's reads (/api/v1). */
  svixQueries: PgSvixQueries;
  log: Logger;
  ready: () => Promise<boolean>;
  apiKeys: readonly string[];
  metrics: Registry;
  readAfterWrites: (scope: ReadScope) => Promise<void>;
  metricsToken?: string;
  /** What the other services call with; the only credential /internal (sealed secrets) accepts. */
  serviceCredentials: readonly string[];
  /** Application-scoped tokens and keys (the gateway forwards reads with the caller's credential). */
  applicationScopes: ApplicationScopeDeps;
  /** The dashboard overview's figures (asked for by the gateway only: /internal). */
  overview?: Pick<PgOverview, 'overview'>;
  /** The payload key store, for the gateway (which creates buckets) and the dispatcher (which reads them). */
  payloadKeys: Pick<PgPayloadKeyStore, 'ensure' | 'sealedNodes'>;
}) {
  const { queries } = deps;
  const fenced = (scope: ReadScope): RequestHandler => (_req, _res, next) => {
    deps.readAfterWrites(scope).then(() => next(), next);
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(httpMetrics(deps.metrics));
  app.get('/metrics', metricsRoute(deps.metrics, deps.metricsToken));

  const open = (path: string) => ['/healthz', '/readyz', '/metrics'].includes(path);
  app.use(
    applicationScoped(deps.applicationScopes, open, requireApiKey(deps.apiKeys, open, {
      credentials: deps.serviceCredentials,
      // (lower-cased: Express routes /INTERNAL/… to the same handlers)
      only: (path) => path.toLowerCase().startsWith('/internal'),
    })),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });

  app.get('/subscriptions', fenced('subscriptions'), async (req, res) => {
    allowOnly(req.query, ['q', 'limit', 'cursor']);
    const q = single(req.query, 'q');
    if (q !== undefined && q.length > 200) throw new BadRequest('q is longer than 200 characters.');
    // (an empty q searches for nothing in particular: every subscription)
    res.json(await queries.listSubscriptions({ q: q?.trim() || undefined, limit: limitOf(req.query), cursor: cursorOf(req.query) }));
  });

  app.get('/subscriptions/:id', fenced('subscriptions'), async (req, res) => {
    const id = idParam(req, 'subscription');
    const found = await queries.getSubscription(id);
    if (!found) throw new NotFound(`No subscription ${id}.`);
    res.setHeader('ETag', subscriptionETag(found.version));
    res.json(found.subscription);
  });

  app.get('/subscriptions/:id/deliveries', fenced('deliveries'), async (req, res) => {
    const id = idParam(req, 'subscription');
    allowOnly(req.query, ['status', 'limit', 'cursor']);
    if (!(await queries.getSubscription(id))) throw new NotFound(`No subscription ${id}.`);
    res.json(await queries.searchDeliveries({ subscription_id: id, status: statusOf(req.query), limit: limitOf(req.query), cursor: cursorOf(req.query) }));
  });

  app.get('/deliveries', fenced('deliveries'), async (req, res) => {
    allowOnly(req.query, ['app_id', 'subscription_id', 'status', 'event_type', 'payload_contains', 'created_after', 'created_before', 'limit', 'cursor']);
    res.json(
      await queries.searchDeliveries({
        app_id: uuidOf(req.query, 'app_id'),
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

  app.get('/deliveries/:id', fenced('deliveries'), async (req, res) => {
    const id = idParam(req, 'delivery');
    const delivery = await queries.getDelivery(id);
    if (!delivery) throw new NotFound(`No delivery ${id}.`);
    res.json({ ...delivery, attempts: await queries.listAttempts(id) });
  });

  app.get('/deliveries/:id/attempts', fenced('deliveries'), async (req, res) => {
    const id = idParam(req, 'delivery');
    if (!(await queries.getDelivery(id))) throw new NotFound(`No delivery ${id}.`);
    res.json({ data: await queries.listAttempts(id) });
  });

  // For the gateway's and dispatcher's cache misses; the gateway never forwards /internal.
  // The dashboard overview (the gateway answers it at /ui/api/overview): statistics, so not fenced.
  app.get('/internal/overview', async (req, res) => {
    if (!deps.overview) throw new NotFound('No overview here.');
    const window = single(req.query, 'window') ?? 'hour';
    if (window !== 'hour' && window !== 'day') throw new BadRequest('window is hour or day.');
    res.json(await deps.overview.overview(window as OverviewWindow));
  });

  app.get('/internal/subscriptions/:id', fenced('subscriptions'), async (req, res) => {
    const id = idParam(req, 'subscription');
    const state = await queries.getSubscriptionState(id);
    if (!state) throw new NotFound(`No subscription ${id}.`);
    res.json(state);
  });

  app.get('/internal/applications/:id', fenced('subscriptions'), async (req, res) => {
    const id = idParam(req, 'application');
    const state = await queries.getApplicationState(id);
    if (!state) throw new NotFound(`No application ${id}.`);
    res.json(state);
  });

  // uid → id, for commands that name an application (or an endpoint) by the caller's own id.
  app.get('/internal/application-uids/:uid', fenced('subscriptions'), async (req, res) => {
    const id = await queries.applicationIdByUid(String(req.params.uid));
    if (!id) throw new NotFound('No application with that uid.');
    res.json({ id });
  });

  app.get('/internal/applications/:id/endpoint-uids/:uid', fenced('subscriptions'), async (req, res) => {
    const appId = idParam(req, 'application');
    const id = await queries.endpointIdByUid(appId, String(req.params.uid));
    if (!id) throw new NotFound('No endpoint with that uid.');
    res.json({ id });
  });

  // For the dispatcher's fan-out: every live endpoint of the application, as of every write before the call.
  app.get('/internal/applications/:id/endpoints', fenced('subscriptions'), async (req, res) => {
    const id = idParam(req, 'application');
    res.json({ data: await queries.endpointStatesOf(id) });
  });

  app.get('/internal/event-types/:name', fenced('subscriptions'), async (req, res) => {
    const state = await queries.getEventTypeState(String(req.params.name));
    if (!state) throw new NotFound('No such event type.');
    res.json(state);
  });

  // For the dispatcher's retry reconciler: retries overdue in the read model, a page at a time by id. Fenced on
  // the dispatcher's own delivery events too: a deferral or attempt it just recorded must not read as overdue.
  app.get('/internal/deliveries/overdue-retries', fenced('everything'), async (req, res) => {
    allowOnly(req.query, ['due_before', 'after', 'limit']);
    const dueBefore = timestampOf(req.query, 'due_before');
    if (!dueBefore) throw new BadRequest('due_before is required.');
    const after = single(req.query, 'after');
    if (after !== undefined && !isUuid(after)) throw new BadRequest('after must be a delivery id.');
    const limit = limitOf(req.query);
    const data = await queries.overdueRetries({ dueBefore, afterId: after, limit });
    res.json({ data, next_after: data.length === limit ? String(data[data.length - 1]!.id) : null });
  });

  // The payload key store (payloadKeys.ts): a bucket's node keys, still sealed under the master keys; POST
  // creates the bucket first if it never existed. 410: shredded (its retention ended); 404: no such bucket.
  const payloadKeys = (create: boolean): RequestHandler => async (req, res) => {
    const bucketId = String(req.params.bucket);
    if (create) await deps.payloadKeys.ensure(bucketId, new Date());
    const keys = await deps.payloadKeys.sealedNodes(bucketId);
    switch (keys.kind) {
      case 'live':
        res.json({ nodes: keys.nodes });
        return;
      case 'shredded':
        throw new Gone(`Payload bucket ${bucketId} was shredded: its retention ended.`);
      case 'unknown':
        throw new NotFound(`No payload bucket ${bucketId}.`);
      default: {
        const unknown: never = keys;
        throw new Error(`unknown bucket keys ${JSON.stringify(unknown)}`);
      }
    }
  };
  app.get('/internal/payload-keys/:bucket', payloadKeys(false));
  app.post('/internal/payload-keys/:bucket', payloadKeys(true));
  // For the dispatcher: an endpoint's held deliveries, released when it is resumed (cancelled when deleted).
  // Every topic is fenced: a hold recorded before the call must be in the answer (see Dispatcher.releaseHeld).
  app.get('/internal/subscriptions/:id/held-deliveries', fenced('everything'), async (req, res) => {
    const id = idParam(req, 'subscription');
    allowOnly(req.query, ['after', 'limit']);
    const after = single(req.query, 'after');
    if (after !== undefined && !isUuid(after)) throw new BadRequest('after must be a delivery id.');
    const limit = limitOf(req.query);
    const data = await queries.heldDeliveries({ subscriptionId: id, afterId: after, limit });
    res.json({ data, next_after: data.length === limit ? String(data[data.length - 1]!.id) : null });
  });

  // For the dispatcher's lanes (ordered endpoints): where the head stands, as of every event recorded before
  // the call (a crashed dispatcher's attempts, an operator's skip of the endpoint's head), and which lanes have work.
  // (`?fence=none`: as the read model has it now, for a head nobody has had before: laneWorker.ts)
  const fencedOnEverything = fenced('everything');
  const fencedUnlessAsked: RequestHandler = (req, res, next) => (req.query.fence === 'none' ? next() : fencedOnEverything(req, res, next));
  app.get('/internal/deliveries/:id/lane-state', fencedUnlessAsked, async (req, res) => {
    allowOnly(req.query, ['fence']);
    if (req.query.fence !== undefined && req.query.fence !== 'none') throw new BadRequest('fence takes none only.');
    const id = idParam(req, 'delivery');
    const found = await queries.laneDelivery(id);
    if (!found) throw new NotFound(`No delivery ${id}.`);
    res.json(found);
  });
  app.get('/internal/lanes-with-work', fenced('deliveries'), async (_req, res) => {
    res.json({ data: await queries.lanesWithWork(10_000) });
  });
  // For the dispatcher's lane restorer: an endpoint's unfinished laned deliveries in lane order. Fenced on the
  // dispatcher's own events too: an attempt just recorded must not read as a lane that stopped.
  app.get('/internal/subscriptions/:id/lane-backlog', fenced('everything'), async (req, res) => {
    allowOnly(req.query, ['after_created_at', 'after_id', 'limit']);
    const afterCreatedAt = timestampOf(req.query, 'after_created_at');
    const afterId = single(req.query, 'after_id');
    if ((afterCreatedAt === undefined) !== (afterId === undefined) || (afterId !== undefined && !isUuid(afterId))) throw new BadRequest('after_created_at and after_id go together, after_id a delivery id.');
    const after = afterCreatedAt && afterId ? { created_at: afterCreatedAt, id: afterId } : undefined;
    res.json({ data: await queries.laneBacklog(idParam(req, 'subscription'), after, limitOf(req.query)) });
  });
  // For the gateway's skip-head: the delivery at the head of an endpoint's lane.
  app.get('/internal/subscriptions/:id/lane-head', fenced('deliveries'), async (req, res) => {
    const id = idParam(req, 'subscription');
    const head = await queries.laneHead(id);
    if (!head) throw new NotFound(`No delivery waits in the lane of ${id}.`);
    res.json(head);
  });

  svixReadRoutes(app, deps.svixQueries, fenced);

  app.use(methodNotAllowed(app));
  app.use(notFoundRoute);
  app.use(problemMiddleware(deps.log));
  return app;
}
