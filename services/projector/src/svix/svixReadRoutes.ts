import type { Request, RequestHandler, Router } from 'express';
import {
  isUuid,
  applicationOut,
  endpointFieldsOut,
  endpointOut,
  eventTypeOut,
  messageOut,
  parseIdOrUid,
  svixStatusOf,
  toExternalId,
  type ApplicationState,
  type DeliveryStatus,
  type SubscriptionState,
} from '@hookpost/contracts';
import { NotFound, ValidationFailed } from '@hookpost/platform';
import { decodeCursor, encodeCursor } from '../adapters/pgReadQueries';
import type { AttemptRow, MessageFilter, Order, PgSvixQueries, Window } from './svixQueries';

type Query = Record<string, unknown>;

/** The Svix list parameters: limit (1–250, 50 by default), iterator (a position this API returned), order. */
function invalid(field: string, message: string): never {
  throw new ValidationFailed([{ field: `query.${field}`, message }]);
}

function one(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') invalid(name, 'must be given once');
  return value;
}

function many(query: Query, name: string): string[] | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const values = (Array.isArray(value) ? value : [value]).flatMap((item) => String(item).split(','));
  return values.filter((item) => item.length > 0);
}

function bool(query: Query, name: string, fallback: boolean): boolean {
  const value = one(query, name);
  if (value === undefined) return fallback;
  if (value !== 'true' && value !== 'false') invalid(name, 'must be true or false');
  return value === 'true';
}

function time(query: Query, name: string): string | undefined {
  const value = one(query, name);
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(ms)) invalid(name, 'must be an RFC 3339 date-time');
  return new Date(ms).toISOString();
}

function windowOf(query: Query, defaultOrder: Order): Window {
  const rawLimit = one(query, 'limit');
  const limit = rawLimit === undefined ? 50 : /^\d+$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!(limit >= 1 && limit <= 250)) invalid('limit', 'must be an integer from 1 to 250');
  const rawIterator = one(query, 'iterator');
  const iterator = rawIterator === undefined ? undefined : decodeCursor(rawIterator);
  if (rawIterator !== undefined && !iterator) invalid('iterator', 'is not an iterator this API returned');
  const order = one(query, 'order') ?? defaultOrder;
  if (order !== 'ascending' && order !== 'descending') invalid('order', 'must be ascending or descending');
  return { limit, iterator, order, before: time(query, 'before'), after: time(query, 'after') };
}

function messageFilterOf(query: Query): MessageFilter {
  return { eventTypes: many(query, 'event_types'), channel: one(query, 'channel'), tag: one(query, 'tag') };
}

/** Svix's integer message status (0 success … 4 canceled) as our delivery statuses. */
const deliveryStatusesOf: Record<string, DeliveryStatus[]> = { '0': ['succeeded'], '1': ['pending', 'retrying'], '2': ['failed'], '3': ['retrying'], '4': ['cancelled'] };

function attemptOut(row: AttemptRow, withMsg: boolean, withContent: boolean) {
  const succeeded = row.status_code !== null && row.status_code >= 200 && row.status_code < 300;
  const status = svixStatusOf(succeeded ? 'succeeded' : 'failed', false);
  const message = {
    id: row.msg_id,
    event_type: row.msg_event_type,
    event_id: row.msg_event_id,
    channels: row.msg_channels,
    tags: row.msg_tags,
    payload: row.msg_payload,
    created_at: row.msg_created_at,
  };
  return {
    id: toExternalId('atmpt', row.id),
    msgId: toExternalId('msg', row.message_id),
    endpointId: toExternalId('ep', row.subscription_id),
    url: row.target_url,
    response: withContent ? (row.response_body ?? row.error ?? '') : '',
    responseStatusCode: row.status_code ?? 0,
    responseDurationMs: row.duration_ms,
    ...status,
    triggerType: row.manual ? 1 : 0,
    timestamp: row.created_at,
    ...(withMsg ? { msg: messageOut(message, withContent) } : {}),
  };
}

/**
 * The Svix API's reads (`GET /api/v1/...`), served from the read model like the seed's. Every read is fenced
 * (`fenced`) on the writes before it; what a path names that does not exist (or belongs to another
 * application) is 404.
 */
export function svixReadRoutes(app: Router, queries: PgSvixQueries, fenced: (scope: 'subscriptions' | 'deliveries') => RequestHandler): void {
  const text = (req: Request, name: string) => String(req.params[name]);

  async function applicationOf(req: Request): Promise<ApplicationState> {
    const ref = parseIdOrUid('app', text(req, 'app'));
    const found = ref && (await queries.application(ref));
    if (!found) throw new NotFound(`No application ${text(req, 'app')}.`);
    return found;
  }
  async function endpointOf(req: Request, appId: string): Promise<SubscriptionState> {
    const ref = parseIdOrUid('ep', text(req, 'endpoint'));
    const found = ref && (await queries.endpoint(appId, ref));
    if (!found) throw new NotFound(`No endpoint ${text(req, 'endpoint')}.`);
    return found;
  }
  async function messageOf(req: Request, appId: string) {
    const ref = parseIdOrUid('msg', text(req, 'msg'));
    const found = ref && (await queries.message(appId, ref));
    if (!found) throw new NotFound(`No message ${text(req, 'msg')}.`);
    return found;
  }

  const config = fenced('subscriptions');
  /** An /internal route's application: our UUID (the services resolve ids and uids before they call). */
  const internalApp = (req: Request) => {
    const id = text(req, 'app');
    if (!isUuid(id)) throw new NotFound(`No application ${id}.`);
    return id.toLowerCase();
  };

  // For the dispatcher's redeliveries (service credential only, as every /internal route).
  app.get('/internal/messages/:id', fenced('deliveries'), async (req, res) => {
    const id = text(req, 'id');
    const found = isUuid(id) ? await queries.messageById(id.toLowerCase()) : undefined;
    if (!found) throw new NotFound(`No message ${id}.`);
    res.json(found);
  });
  // For the gateway's commands on a message (resend, expunge): the app's message by id or eventId, and an attempt of it.
  app.get('/internal/applications/:app/messages/:msg', fenced('deliveries'), async (req, res) => {
    const ref = parseIdOrUid('msg', text(req, 'msg'));
    const found = ref && (await queries.message(internalApp(req), ref));
    if (!found) throw new NotFound(`No message ${text(req, 'msg')}.`);
    res.json({ id: found.id, app_id: found.app_id, event_type: found.event_type });
  });
  app.get('/internal/applications/:app/messages/:msg/attempts/:attempt', fenced('deliveries'), async (req, res) => {
    const message = parseIdOrUid('msg', text(req, 'msg'));
    const attempt = parseIdOrUid('atmpt', text(req, 'attempt'));
    const found = message?.kind === 'id' && attempt?.kind === 'id' ? await queries.attempt(internalApp(req), message.id, attempt.id) : undefined;
    if (!found) throw new NotFound(`No attempt ${text(req, 'attempt')}.`);
    res.json({ id: found.id, delivery_id: found.delivery_id });
  });
  app.get('/internal/applications/:app/redeliverable', ...[fenced('subscriptions'), fenced('deliveries')], async (req, res) => {
    const kind = one(req.query, 'kind');
    if (kind !== 'recover' && kind !== 'replay_missing') invalid('kind', 'must be recover or replay_missing');
    const since = time(req.query, 'since');
    if (!since) invalid('since', 'is required');
    const after = one(req.query, 'after');
    const position = after === undefined ? undefined : decodeCursor(after);
    if (after !== undefined && !position) invalid('after', 'is not a position this API returned');
    const endpointId = one(req.query, 'endpoint_id');
    if (!endpointId || !isUuid(endpointId)) invalid('endpoint_id', 'must be an endpoint UUID');
    const limit = Math.min(Number(one(req.query, 'limit') ?? 200) || 200, 1_000);
    const data = await queries.redeliverable({ kind, appId: internalApp(req), endpointId, since, until: time(req.query, 'until') ?? null, after: position, limit });
    const last = data[data.length - 1];
    res.json({ data, next_after: data.length === limit && last ? encodeCursor({ created_at: last.created_at, id: last.id }) : null });
  });
  const all = [fenced('subscriptions'), fenced('deliveries')];

  app.get('/api/v1/app', config, async (req, res) => {
    const page = await queries.listApplications(windowOf(req.query, 'ascending'));
    res.json({ ...page, data: page.data.map(applicationOut) });
  });
  app.get('/api/v1/app/:app', config, async (req, res) => {
    res.json(applicationOut(await applicationOf(req)));
  });
  app.get('/api/v1/app/:app/endpoint', config, async (req, res) => {
    const application = await applicationOf(req);
    const page = await queries.listEndpoints(application.id, windowOf(req.query, 'ascending'));
    res.json({ ...page, data: page.data.map(endpointOut) });
  });
  app.get('/api/v1/app/:app/endpoint/:endpoint', config, async (req, res) => {
    res.json(endpointOut(await endpointOf(req, (await applicationOf(req)).id)));
  });
  app.get('/api/v1/app/:app/endpoint/:endpoint/stats', ...all, async (req, res) => {
    const endpoint = await endpointOf(req, (await applicationOf(req)).id);
    const counts = await queries.endpointStats(endpoint.id);
    res.json({ success: counts.succeeded, pending: counts.pending, sending: counts.retrying, fail: counts.failed, canceled: counts.cancelled });
  });

  app.get('/api/v1/event-type', config, async (req, res) => {
    const window = windowOf({ ...req.query, iterator: undefined }, 'ascending');
    const after = one(req.query, 'iterator');
    const page = await queries.listEventTypes({ limit: window.limit, after, order: window.order, includeArchived: bool(req.query, 'include_archived', false) });
    const withContent = bool(req.query, 'with_content', false);
    res.json({ ...page, data: page.data.map((state) => eventTypeOut(state, withContent)) });
  });
  app.get('/api/v1/event-type/:name', config, async (req, res) => {
    const found = await queries.eventType(text(req, 'name'));
    if (!found) throw new NotFound(`No event type ${text(req, 'name')}.`);
    res.json(eventTypeOut(found));
  });

  app.get('/api/v1/app/:app/msg', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const page = await queries.listMessages(application.id, windowOf(req.query, 'descending'), messageFilterOf(req.query));
    const withContent = bool(req.query, 'with_content', true);
    res.json({ ...page, data: page.data.map((row) => messageOut(row, withContent)) });
  });
  app.get('/api/v1/app/:app/msg/:msg', ...all, async (req, res) => {
    const message = await messageOf(req, (await applicationOf(req)).id);
    res.json(messageOut(message, bool(req.query, 'with_content', true)));
  });

  function attemptFilterOf(query: Query) {
    const status = one(query, 'status');
    if (status !== undefined && status !== '0' && status !== '2') {
      if (!/^[0-4]$/.test(status)) invalid('status', 'must be one of 0, 1, 2, 3, 4');
    }
    const codeClass = one(query, 'status_code_class');
    if (codeClass !== undefined && !['0', '100', '200', '300', '400', '500'].includes(codeClass)) invalid('status_code_class', 'must be one of 0, 100, 200, 300, 400, 500');
    return {
      ...messageFilterOf(query),
      // An attempt either succeeded (0) or failed (2); pending, sending and canceled attempts do not exist.
      succeeded: status === undefined ? undefined : status === '0' ? true : status === '2' ? false : undefined,
      noneMatch: status !== undefined && status !== '0' && status !== '2',
      statusCodeClass: codeClass === undefined ? undefined : Number(codeClass),
    };
  }

  app.get('/api/v1/app/:app/attempt/endpoint/:endpoint', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const endpoint = await endpointOf(req, application.id);
    const window = windowOf(req.query, 'descending');
    const filter = attemptFilterOf(req.query);
    const page = filter.noneMatch
      ? { data: [], iterator: null, prevIterator: null, done: true }
      : await queries.listAttempts(application.id, { endpointId: endpoint.id }, window, filter);
    res.json({ ...page, data: page.data.map((row) => attemptOut(row, bool(req.query, 'with_msg', false), bool(req.query, 'with_content', true))) });
  });
  app.get('/api/v1/app/:app/attempt/msg/:msg', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const message = await messageOf(req, application.id);
    const endpointText = one(req.query, 'endpoint_id');
    let endpointId: string | undefined;
    if (endpointText !== undefined) {
      const ref = parseIdOrUid('ep', endpointText);
      const endpoint = ref && (await queries.endpoint(application.id, ref));
      if (!endpoint) throw new NotFound(`No endpoint ${endpointText}.`);
      endpointId = endpoint.id;
    }
    const filter = attemptFilterOf(req.query);
    const page = filter.noneMatch
      ? { data: [], iterator: null, prevIterator: null, done: true }
      : await queries.listAttempts(application.id, { messageId: message.id, endpointId }, windowOf(req.query, 'descending'), filter);
    res.json({ ...page, data: page.data.map((row) => attemptOut(row, false, bool(req.query, 'with_content', true))) });
  });
  app.get('/api/v1/app/:app/msg/:msg/attempt/:attempt', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const message = await messageOf(req, application.id);
    const attemptRef = parseIdOrUid('atmpt', text(req, 'attempt'));
    const found = attemptRef?.kind === 'id' ? await queries.attempt(application.id, message.id, attemptRef.id) : undefined;
    if (!found) throw new NotFound(`No attempt ${text(req, 'attempt')}.`);
    res.json(attemptOut(found, false, true));
  });
  app.get('/api/v1/app/:app/msg/:msg/endpoint', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const message = await messageOf(req, application.id);
    const page = await queries.listDestinations(message.id, windowOf(req.query, 'ascending'));
    res.json({
      ...page,
      data: page.data.map(({ delivery, ...endpoint }) => ({ ...endpointFieldsOut(endpoint), ...svixStatusOf(delivery.status, false), nextAttempt: delivery.next_attempt_at })),
    });
  });
  app.get('/api/v1/app/:app/endpoint/:endpoint/msg', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const endpoint = await endpointOf(req, application.id);
    const status = one(req.query, 'status');
    if (status !== undefined && !(status in deliveryStatusesOf)) invalid('status', 'must be one of 0, 1, 2, 3, 4');
    const page = await queries.listEndpointMessages(endpoint.id, windowOf(req.query, 'descending'), { ...messageFilterOf(req.query), status: status === undefined ? undefined : deliveryStatusesOf[status] });
    const withContent = bool(req.query, 'with_content', true);
    res.json({
      ...page,
      data: page.data.map(({ delivery, ...message }) => ({ ...messageOut(message, withContent), ...svixStatusOf(delivery.status, false), nextAttempt: delivery.next_attempt_at })),
    });
  });
}
