import type { Request, RequestHandler, Response, Router } from 'express';
import {
  isUuid,
  keysetOf,
  listResponse,
  type ListIterator,
  type ListOrder,
  applicationOut,
  backgroundTaskOut,
  taskKindOfSvixType,
  taskStatusesOfSvix,
  endpointFieldsOut,
  endpointOut,
  eventTypeOut,
  filteredEndpointOut,
  messageOut,
  operationalEndpointOut,
  OPERATIONAL_APPLICATION_ID,
  parseIdOrUid,
  svixStatusOf,
  toExternalId,
  type ApplicationState,
  type DeliveryStatus,
  type SubscriptionState,
} from '@hookpost/contracts';
import { applicationScopeOf, NotFound, storableTime, svixQuery, ValidationFailed } from '@hookpost/platform';
import { decodeCursor, encodeCursor } from '../adapters/pgReadQueries';
import type { AttemptRow, Keyset, MessageFilter, PgSvixQueries } from './svixQueries';
import type { ReadScope } from '../app';

type Query = Record<string, unknown>;

function invalid(field: string, message: string): never {
  throw new ValidationFailed([{ field: `query.${field}`, message }]);
}

function one(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') invalid(name, 'must be given once');
  return value;
}

function time(query: Query, name: string): string | undefined {
  const value = one(query, name);
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(ms)) invalid(name, 'must be an RFC 3339 date-time');
  return new Date(ms).toISOString();
}

const queryOf = svixQuery;

/** The keyset a list query asks for (limit, iterator, order, before/after). */
function keysetFrom(query: { limit: number; iterator?: ListIterator; order?: ListOrder; before?: string; after?: string }, order: ListOrder): Keyset {
  const keyset = keysetOf(query.order ?? order, query.limit, query.iterator);
  return {
    ...keyset,
    before: query.before === undefined ? undefined : storableTime(query.before, 'query.before'),
    after: query.after === undefined ? undefined : storableTime(query.after, 'query.after'),
  };
}

function messageFilterOf(query: { event_types?: string[]; channel?: string; tag?: string }): MessageFilter {
  return { eventTypes: query.event_types, channel: query.channel, tag: query.tag };
}

/** Svix's integer message status (0 success … 4 canceled) as our delivery statuses. */
const deliveryStatusesOf: Record<number, DeliveryStatus[]> = { 0: ['succeeded'], 1: ['pending', 'retrying'], 2: ['failed'], 3: ['retrying'], 4: ['cancelled'] };

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
export function svixReadRoutes(app: Router, queries: PgSvixQueries, fenced: (scope: ReadScope) => RequestHandler): void {
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
  app.get('/internal/applications/:app/redeliverable', fenced('everything'), async (req, res) => {
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

  // Background tasks: started and cancelled on the webhooks topic (so the deliveries fence covers them), moved
  // on by the dispatcher there too.
  app.get('/internal/background-tasks/:id', fenced('deliveries'), async (req, res) => {
    const id = text(req, 'id');
    const found = isUuid(id) ? await queries.task(id.toLowerCase()) : undefined;
    if (!found) throw new NotFound(`No background task ${id}.`);
    res.json(found);
  });
  // For a replay from the log: which of these messages (ids, comma-separated) had their content expunged.
  // Not fenced, as it is asked once a chunk: the task read its own state fenced on the same topic when it
  // started, so every expunge recorded before the task is applied already (one recorded while it runs may
  // or may not be in time to keep its message out).
  app.get('/internal/applications/:app/expunged', async (req, res) => {
    internalApp(req);
    const ids = (one(req.query, 'ids') ?? '').split(',').filter((id) => id !== '');
    if (ids.length > 500 || !ids.every(isUuid)) invalid('ids', 'must be at most 500 message UUIDs, comma-separated');
    res.json({ data: ids.length === 0 ? [] : await queries.expunged(ids.map((id) => id.toLowerCase())) });
  });
  /** The application an application-scoped credential sees (null: it sees none); undefined for an admin key. */
  const scopedApplication = (res: Response): string | null | undefined => {
    const scope = applicationScopeOf(res);
    return scope ? (scope.application ?? null) : undefined;
  };
  app.get('/api/v1/background-task', fenced('deliveries'), async (req, res) => {
    const query = queryOf('v1.background-task.list', req.query);
    const scoped = scopedApplication(res);
    const rows =
      scoped === null
        ? []
        : await queries.listTasks(keysetFrom(query, 'descending'), {
            appId: scoped,
            statuses: query.status === undefined ? undefined : taskStatusesOfSvix(query.status),
            kind: query.task === undefined ? undefined : taskKindOfSvixType(query.task),
          });
    res.json(listResponse(rows.map(backgroundTaskOut), { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id }));
  });
  app.get('/api/v1/background-task/:task', fenced('deliveries'), async (req, res) => {
    const ref = parseIdOrUid('qtask', text(req, 'task'));
    const found = ref?.kind === 'id' ? await queries.task(ref.id) : undefined;
    const scoped = scopedApplication(res);
    // (another application's task is as unknown to a scoped credential as one that never was)
    if (!found || (scoped !== undefined && found.app_id !== scoped)) throw new NotFound(`No background task ${text(req, 'task')}.`);
    res.json(backgroundTaskOut(found));
  });

  app.get('/api/v1/app', config, async (req, res) => {
    const query = queryOf('v1.application.list', req.query);
    const rows = await queries.listApplications(keysetFrom(query, 'ascending'));
    res.json(listResponse(rows.map(applicationOut), { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id }));
  });
  app.get('/api/v1/app/:app', config, async (req, res) => {
    res.json(applicationOut(await applicationOf(req)));
  });
  app.get('/api/v1/app/:app/endpoint', config, async (req, res) => {
    const application = await applicationOf(req);
    const query = queryOf('v1.endpoint.list', req.query);
    const rows = await queries.listEndpoints(application.id, keysetFrom(query, 'ascending'));
    res.json(listResponse(rows.map(endpointOut), { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id }));
  });
  app.get('/api/v1/app/:app/endpoint/:endpoint', config, async (req, res) => {
    res.json(endpointOut(await endpointOf(req, (await applicationOf(req)).id)));
  });
  app.get('/api/v1/app/:app/endpoint/:endpoint/stats', ...all, async (req, res) => {
    const endpoint = await endpointOf(req, (await applicationOf(req)).id);
    const query = queryOf('v1.endpoint.get-stats', req.query);
    const counts = await queries.endpointStats(endpoint.id, {
      since: query.since === undefined ? undefined : storableTime(query.since, 'query.since'),
      until: query.until === undefined ? undefined : storableTime(query.until, 'query.until'),
    });
    res.json({ success: counts.succeeded, pending: counts.pending, sending: counts.retrying, fail: counts.failed, canceled: counts.cancelled });
  });

  // Operational webhook endpoints: the reserved application's (no application path names it).
  app.get('/api/v1/operational-webhook/endpoint', config, async (req, res) => {
    const query = queryOf('v1.operational-webhook.endpoint.list', req.query);
    const rows = await queries.listEndpoints(OPERATIONAL_APPLICATION_ID, keysetFrom(query, 'ascending'));
    res.json(listResponse(rows.map(operationalEndpointOut), { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id }));
  });
  app.get('/api/v1/operational-webhook/endpoint/:endpoint', config, async (req, res) => {
    res.json(operationalEndpointOut(await endpointOf(req, OPERATIONAL_APPLICATION_ID)));
  });

  app.get('/api/v1/event-type', config, async (req, res) => {
    const query = queryOf('v1.event-type.list', req.query);
    const rows = await queries.listEventTypes(keysetFrom(query, 'ascending'), query.include_archived);
    const data = rows.map((state) => eventTypeOut(state, query.with_content));
    res.json(listResponse(data, { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.name, prev: false }));
  });
  app.get('/api/v1/event-type/:name', config, async (req, res) => {
    const found = await queries.eventType(text(req, 'name'));
    if (!found) throw new NotFound(`No event type ${text(req, 'name')}.`);
    res.json(eventTypeOut(found));
  });

  app.get('/api/v1/app/:app/msg', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const query = queryOf('v1.message.list', req.query);
    const rows = await queries.listMessages(application.id, keysetFrom(query, 'descending'), messageFilterOf(query));
    res.json(listResponse(rows.map((row) => messageOut(row, query.with_content)), { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id }));
  });
  app.get('/api/v1/app/:app/msg/:msg', ...all, async (req, res) => {
    const message = await messageOf(req, (await applicationOf(req)).id);
    res.json(messageOut(message, queryOf('v1.message.get', req.query).with_content));
  });

  /** An attempt either succeeded (status 0) or failed (2): asking for pending, sending or canceled ones finds none. */
  function attemptFilterOf(query: { status?: number; status_code_class?: number; event_types?: string[]; channel?: string; tag?: string }) {
    return {
      ...messageFilterOf(query),
      succeeded: query.status === 0 ? true : query.status === 2 ? false : undefined,
      noneMatch: query.status !== undefined && query.status !== 0 && query.status !== 2,
      statusCodeClass: query.status_code_class,
    };
  }
  const attemptsPage = (rows: AttemptRow[], query: { limit: number; iterator?: ListIterator; with_content: boolean }, withMsg: boolean) =>
    listResponse(rows.map((row) => attemptOut(row, withMsg, query.with_content)), { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id });

  app.get('/api/v1/app/:app/attempt/endpoint/:endpoint', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const endpoint = await endpointOf(req, application.id);
    const query = queryOf('v1.message-attempt.list-by-endpoint', req.query);
    const filter = attemptFilterOf(query);
    const rows = filter.noneMatch ? [] : await queries.listAttempts(application.id, { endpointId: endpoint.id }, keysetFrom(query, 'descending'), filter);
    res.json(attemptsPage(rows, query, query.with_msg));
  });
  app.get('/api/v1/app/:app/attempt/msg/:msg', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const message = await messageOf(req, application.id);
    const query = queryOf('v1.message-attempt.list-by-msg', req.query);
    let endpointId: string | undefined;
    if (query.endpoint_id !== undefined) {
      const ref = parseIdOrUid('ep', query.endpoint_id);
      const endpoint = ref && (await queries.endpoint(application.id, ref));
      if (!endpoint) throw new NotFound(`No endpoint ${query.endpoint_id}.`);
      endpointId = endpoint.id;
    }
    const filter = attemptFilterOf(query);
    const rows = filter.noneMatch ? [] : await queries.listAttempts(application.id, { messageId: message.id, endpointId }, keysetFrom(query, 'descending'), filter);
    res.json(attemptsPage(rows, query, false));
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
    const query = queryOf('v1.message-attempt.list-attempted-destinations', req.query);
    const rows = await queries.listDestinations(message.id, keysetFrom(query, 'ascending'));
    const data = rows.map(({ delivery, ...endpoint }) => ({ ...endpointFieldsOut(endpoint), ...svixStatusOf(delivery.status, false), nextAttempt: delivery.next_attempt_at }));
    res.json(listResponse(data, { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id }));
  });
  app.get('/api/v1/app/:app/msg/:msg/filtered-endpoint', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const message = await messageOf(req, application.id);
    const query = queryOf('hookpost.message.list-filtered-endpoints', req.query);
    const rows = await queries.listFilteredEndpoints(message.id, keysetFrom(query, 'ascending'));
    res.json(listResponse(rows.map(filteredEndpointOut), { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.endpointId }));
  });
  app.get('/api/v1/app/:app/endpoint/:endpoint/msg', ...all, async (req, res) => {
    const application = await applicationOf(req);
    const endpoint = await endpointOf(req, application.id);
    const query = queryOf('v1.message-attempt.list-attempted-messages', req.query);
    const rows = await queries.listEndpointMessages(endpoint.id, keysetFrom(query, 'descending'), {
      ...messageFilterOf(query),
      status: query.status === undefined ? undefined : deliveryStatusesOf[query.status],
    });
    const data = rows.map(({ delivery, ...message }) => ({
      ...messageOut(message, query.with_content),
      ...svixStatusOf(delivery.status, query.expanded_statuses),
      nextAttempt: delivery.next_attempt_at,
    }));
    res.json(listResponse(data, { limit: query.limit, iterator: query.iterator, iteratorOf: (item) => item.id }));
  });
}
