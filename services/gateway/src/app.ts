import express, { type Request, type RequestHandler, type Response } from 'express';
import {
  isDeleted,
  isUuid,
  subscriptionETag,
  topicFor,
  topicNames,
  validateSecretRotate,
  validateSubscriptionCreate,
  validateSubscriptionPatch,
  validateSubscriptionReplace,
  type HookpostEvent,
  type SecretRotate,
  type SubscriptionCreate,
  type SubscriptionPatch,
  type SubscriptionReplace,
  type SubscriptionEvent,
  type SubscriptionState,
} from '@hookpost/contracts';
import {
  HttpProblem,
  httpMetrics,
  jsonBody,
  NotFound,
  metricsRoute,
  methodNotAllowed,
  notFoundRoute,
  problemMiddleware,
  requireApiKey,
  applicationScoped,
  ServiceUnavailable,
  SubscriptionBusyError,
  ValidationFailed,
  type EventRecord,
  type KafkaEventLog,
  type KnownSubscription,
  type Logger,
  type RedisSubscriptionCache,
  type Registry,
  type SubscriptionDirectory,
  type SubscriptionWriter,
} from '@hookpost/platform';
import { decideCreate, decideDelete, decideIngest, decidePatch, decideReplace, decideRotate, existing, existingMatching, publicSubscription, type DecideDeps } from './commands/decide';
import type { ProjectorForwarder } from './adapters/projectorForwarder';
import { docsRouter } from './docs';
import { svixRouter, type SvixRouterDeps } from './svix/svixRouter';
import { authRoutes, type AuthDeps } from './svix/authRoutes';
import { operatorSessionOf, overviewRoute, traceRoute, uiAccess, uiPages, type OverviewSource, type TraceSource, type UiDeps } from './ui/uiRoutes';
import { liveRoutes, type LiveDeps } from './ui/liveRoutes';
import type { PayloadSealer } from './retention';

export type GatewayDeps = {
  log: Logger;
  eventLog: Pick<KafkaEventLog, 'append'>;
  cache: Pick<RedisSubscriptionCache, 'put'>;
  directory: Pick<SubscriptionDirectory, 'find'>;
  writer: Pick<SubscriptionWriter, 'change'>;
  projector: ProjectorForwarder;
  decide: DecideDeps;
  topicPrefix: string;
  maxBodyBytes: number;
  appendTimeoutMs: number;
  ready: () => Promise<boolean>;
  apiKeys: readonly string[];
  metrics: Registry;
  metricsToken?: string;
  /** The Svix-compatible API under /api/v1 (its reads are forwarded to the projector like the seed's). */
  svix: Omit<SvixRouterDeps, 'forward' | 'append' | 'log' | 'decide' | 'payloads'>;
  /** Idempotency-Key on every POST (see packages/platform/src/idempotency.ts); absent, keys are ignored. */
  idempotent?: RequestHandler;
  /** Application-scoped tokens and keys, and the /api/v1/auth operations. */
  auth: AuthDeps;
  /**
   * The dashboard (/ui, /portal, /redoc, docs/dashboard.md): its pages, its session cookie as a credential, its
   * live stream. `forwardAs` is what reads made with the session cookie are forwarded to the projector with
   * (the service credential: the cookie means nothing to the projector). Absent, none of it is served.
   */
  ui?: {
    pages: UiDeps;
    live: Omit<LiveDeps, 'admin' | 'log'>;
    overview: OverviewSource;
    /** A delivery's trace from Jaeger (HOOKPOST_JAEGER_URL); absent, the trace route says tracing is not configured. */
    trace?: TraceSource;
    forwardAs: string;
    registerClose: (close: () => void) => void;
  };
  /** Express's `trust proxy` (HOOKPOST_TRUST_PROXY): which proxies may name the client; absent, none. */
  trustProxy?: number | string;
  /** Seals payloads into their events under their retention bucket's key (retention.ts). */
  payloads: Pick<PayloadSealer, 'message' | 'ingest'>;
};

/** Paths anyone may call: liveness, readiness, metrics, the API description, and the Svix API's health. */
export const openPaths = (path: string) => ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/api/v1/health'].includes(path) || path.startsWith('/docs/');

function validated<T>(validate: (value: unknown) => { ok: boolean; fields?: { field: string; message: string }[] }, body: unknown): T {
  if (body === undefined) throw new ValidationFailed([{ field: '(body)', message: 'is required' }], 'A JSON body is required.');
  const result = validate(body);
  if (!result.ok) throw new ValidationFailed(result.fields ?? []);
  return body as T;
}

/**
 * The public API. Commands become events appended to Kafka and are answered only after Kafka acknowledged
 * them (acks=all); reads are forwarded to the projector, so one base URL serves everything.
 */
export function buildGatewayApp(deps: GatewayDeps) {
  const topics = topicNames(deps.topicPrefix);
  const app = express();
  // (req.ip, which the sign-in limit counts by, is then the client a trusted proxy names)
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  app.disable('x-powered-by');
  // No ETag: answers to commands are never revalidated, and hashing every 202 body costs CPU on the hot path.
  app.set('etag', false);
  app.set('query parser', 'simple');

  /** Appends and waits for Kafka; when the log cannot take the write the caller gets 503, never a false 2xx. */
  async function append(records: EventRecord[]): Promise<void> {
    try {
      // Bounded: queued past the timeout it is dropped, never written; sent, it is answered within twice that.
      await deps.eventLog.append(records, { timeoutMs: deps.appendTimeoutMs });
    } catch (error) {
      deps.log.error({ err: error }, 'event log append failed');
      throw new ServiceUnavailable('The event log cannot take the write right now; try again shortly.');
    }
  }

  const recordOf = (event: HookpostEvent): EventRecord => ({ ...topicFor(topics, event), event });

  /** A lookup in the cache or the read model; one that cannot answer (Redis or the projector down) is a 503 to retry. */
  async function lookedUp<T>(find: () => Promise<T>): Promise<T> {
    try {
      return await find();
    } catch (error) {
      if (error instanceof HttpProblem) throw error;
      deps.log.error({ err: error }, 'lookup failed');
      throw new ServiceUnavailable('The subscription could not be looked up right now; try again shortly.');
    }
  }

  async function remember(known: KnownSubscription): Promise<void> {
    // Read-your-writes: the next ingest must see this version even before the projector catches up.
    await deps.cache.put(known).catch((error: unknown) => deps.log.warn({ err: error }, 'subscription cache write failed'));
  }

  const forward = (req: Request, res: Response) => deps.projector.forward(req, res, deps.ui && operatorSessionOf(res) ? `Bearer ${deps.ui.forwardAs}` : undefined);

  /** The subscription a command names, or 404; an id that is not a UUID never reaches Redis or the projector. */
  async function subscriptionFor(id: string) {
    if (!isUuid(id)) throw new NotFound(`No subscription ${id}.`);
    return existing(await lookedUp(() => deps.directory.find(id)), id);
  }

  app.use(httpMetrics(deps.metrics));
  app.get('/metrics', metricsRoute(deps.metrics, deps.metricsToken));
  const keyCheck = applicationScoped(deps.auth.scopes, openPaths, deps.apiKeys.length > 0 ? requireApiKey(deps.apiKeys, openPaths) : undefined);
  if (deps.ui) {
    // The dashboard's pages and sign-in need no key; its session cookie then stands in for one (uiRoutes.ts).
    const ui = uiAccess(deps.ui.pages);
    app.use(uiPages(deps.ui.pages));
    app.use(ui.sessionRoutes(jsonBody(deps.maxBodyBytes)));
    const admin = ui.signedIn(deps.apiKeys.length > 0 ? requireApiKey(deps.apiKeys, () => false) : (_req, _res, next) => next());
    const live = liveRoutes({ ...deps.ui.live, admin, log: deps.log });
    deps.ui.registerClose(live.close);
    app.use(live.router);
    app.use(overviewRoute(admin, deps.ui.overview));
    app.use(traceRoute(admin, deps.ui.trace, deps.log));
    app.use(ui.signedIn(keyCheck, openPaths));
  } else {
    app.use(keyCheck);
  }

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });

  const idempotent: RequestHandler = deps.idempotent ?? ((_req, _res, next) => next());
  // Parsed, then checked against the first answer for its Idempotency-Key (POST only; other methods pass).
  const body = [...jsonBody(deps.maxBodyBytes), idempotent];

  // The hot path first: an ingest request passes the fewest router layers.
  app.post('/ingest/:subscriptionId', ...body, async (req, res) => {
    const id = req.params.subscriptionId as string;
    const subscription = await subscriptionFor(id);
    if (req.body === undefined) throw new ValidationFailed([{ field: '(body)', message: 'is required' }], 'A JSON body is required.');
    const event = await deps.payloads.ingest(decideIngest(subscription, req.body, deps.decide));
    await append([recordOf(event)]);
    res
      .status(202)
      .location(`/deliveries/${event.data.delivery_id}`)
      .json({ delivery_id: event.data.delivery_id, status: 'pending' });
  });

  app.use(docsRouter(deps.ui?.pages.publicUrl));

  app.use(
    '/api/v1',
    svixRouter({ ...deps.svix, forward, append: (events) => append(events.map(recordOf)), log: deps.log, decide: deps.decide, payloads: deps.payloads }, body, (router) =>
      authRoutes(deps.auth, body, router),
    ),
  );

  app.post('/subscriptions', ...body, async (req, res) => {
    const input = validated<SubscriptionCreate>(validateSubscriptionCreate, req.body);
    const { event, secret } = decideCreate(input, deps.decide);
    await append([recordOf(event)]);
    await remember(event.data);
    res
      .status(201)
      .location(`/subscriptions/${event.data.id}`)
      .setHeader('ETag', subscriptionETag(event.data.version))
      .json({ ...publicSubscription(event.data), ...(secret === undefined ? {} : { secret_key: secret }) });
  });
  app.get('/subscriptions', forward);
  app.get('/subscriptions/:id', forward);
  app.get('/subscriptions/:id/deliveries', forward);

  /**
   * Runs a change of one subscription under its writer lock: decided on the latest version, If-Match checked
   * against it, appended, and answered with the state every reader will fold from the log.
   */
  async function change<T>(req: Request, decide: (current: SubscriptionState) => { events: SubscriptionEvent[]; result: T }) {
    const id = req.params.id as string;
    if (!isUuid(id)) throw new NotFound(`No subscription ${id}.`);
    const ifMatch = req.get('if-match');
    try {
      return await deps.writer.change(id, (known) => decide(existingMatching(known, id, ifMatch)));
    } catch (error) {
      if (error instanceof HttpProblem) throw error;
      if (error instanceof SubscriptionBusyError) throw new ServiceUnavailable('Another change to this subscription is in progress; try again shortly.', 1);
      deps.log.error({ err: error, subscription_id: id }, 'subscription change failed');
      throw new ServiceUnavailable('The change could not be recorded right now; try again shortly.');
    }
  }

  function answerWith(res: Response, after: KnownSubscription | undefined): SubscriptionState {
    if (!after || isDeleted(after)) throw new NotFound('The subscription was deleted.');
    res.setHeader('ETag', subscriptionETag(after.version));
    return after;
  }

  app.put('/subscriptions/:id', ...body, async (req, res) => {
    const input = validated<SubscriptionReplace>(validateSubscriptionReplace, req.body);
    const { after } = await change(req, (current) => ({ events: [decideReplace(current, input, deps.decide)], result: undefined }));
    res.json(publicSubscription(answerWith(res, after)));
  });

  app.patch('/subscriptions/:id', ...body, async (req, res) => {
    const input = validated<SubscriptionPatch>(validateSubscriptionPatch, req.body);
    const { after } = await change(req, (current) => ({ events: [decidePatch(current, input, deps.decide)], result: undefined }));
    res.json(publicSubscription(answerWith(res, after)));
  });

  app.post('/subscriptions/:id/secret/rotate', ...body, async (req, res) => {
    // The body is optional; one that is sent (even `null`) must match the schema.
    const input = validated<SecretRotate>(validateSecretRotate, req.body === undefined ? {} : req.body);
    const { result: rotated, after } = await change(req, (current) => {
      const decided = decideRotate(current, input, deps.decide);
      return { events: [decided.event], result: decided };
    });
    answerWith(res, after);
    res.json({
      ...(rotated.secret === undefined ? {} : { secret_key: rotated.secret }),
      ...(rotated.publicKey === null ? {} : { public_key: rotated.publicKey }),
      previous_secret_expires_at: rotated.previousExpiresAt,
    });
  });

  app.delete('/subscriptions/:id', async (req, res) => {
    await change(req, (current) => ({ events: [decideDelete(current, deps.decide)], result: undefined }));
    res.status(204).end();
  });

  app.get('/deliveries', forward);
  app.get('/deliveries/:id', forward);
  app.get('/deliveries/:id/attempts', forward);

  app.use(methodNotAllowed(app));
  app.use(notFoundRoute);
  app.use(problemMiddleware(deps.log));
  return app;
}
