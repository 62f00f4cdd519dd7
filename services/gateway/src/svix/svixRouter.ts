import { Router, type Request, type RequestHandler, type Response } from 'express';
import {
  EVENT_TYPE_NAME_PATTERN,
  parseIdOrUid,
  svixLimits,
  svixExtensionOperations,
  svixOperations,
  svixTaskTypes,
  backgroundTaskOut,
  currentPayloadSchema,
  makeEvent,
  toExternalId,
  isGone,
  payloadSchemasProblems,
  type EntityState,
  type FieldError,
  applicationOut,
  endpointOut,
  eventTypeOut,
  messageOut,
  operationalEndpointOut,
  OPERATIONAL_APPLICATION,
  type ApplicationEvent,
  type ApplicationState,
  type EventTypeEvent,
  type EventTypeState,
  type HookpostEvent,
  type SubscriptionEvent,
  type SubscriptionState,
} from '@hookpost/contracts';
import {
  applicationScopeOf,
  Conflict,
  HttpProblem,
  methodNotAllowed,
  storableTime,
  svixQuery,
  NotFound,
  sealedFor,
  ServiceUnavailable,
  SubscriptionBusyError,
  ValidationFailed,
  type EntityDecision,
  type EntityWriter,
  type Logger,
  type RedisClient,
  type RedisEntityCache,
  type SecretBox,
} from '@hookpost/platform';
import { decideDelete, decideRotate, type DecideDeps } from '../commands/decide';
import {
  decideApplicationCreate,
  decideApplicationDelete,
  decideApplicationPatch,
  decideApplicationReplace,
  decideEndpointCreate,
  decideEventTypeChange,
  decideEventTypeCreate,
  decideEventTypeDelete,
  decideMessage,
  scheduledFor,
  decidePause,
  decideSkipHead,
  decideTaskCancel,
  newEntityId,
  endpointChanges,
  eventTypeReplacement,
  headersAfter,
  svixSecret,
  type ApplicationInput,
  type EndpointInput,
  type EventTypeInput,
  type MessageInput,
} from '../commands/svixDecide';
import type { SvixResolver } from './resolve';
import { retentionHours, type PayloadSealer, type RetentionRequest, type RetentionSettings } from '../retention';

export type Validator = (value: unknown) => { ok: boolean; fields?: FieldError[] };

/** The request bodies of the Svix API, checked against their schemas before anything is decided. */
export type SvixValidators = Record<
  | 'applicationIn'
  | 'applicationPatch'
  | 'endpointIn'
  | 'endpointUpdate'
  | 'endpointPatch'
  | 'headersIn'
  | 'headersPatchIn'
  | 'secretRotateIn'
  | 'eventTypeIn'
  | 'eventTypeUpsertIn'
  | 'eventTypePatch'
  | 'messageIn'
  | 'recoverIn'
  | 'replayIn'
  | 'eventExampleIn'
  | 'replayFromLogIn'
  | 'operationalEndpointIn'
  | 'operationalEndpointUpsertIn',
  Validator
>;

export type SvixRouterDeps = {
  log: Logger;
  redis: RedisClient;
  prefix: string;
  resolve: SvixResolver;
  append: (events: HookpostEvent[]) => Promise<void>;
  endpoints: Pick<EntityWriter<SubscriptionState, SubscriptionEvent>, 'change'>;
  applications: Pick<EntityWriter<ApplicationState, ApplicationEvent>, 'change'>;
  eventTypes: Pick<EntityWriter<EventTypeState, EventTypeEvent>, 'change'>;
  endpointCache: Pick<RedisEntityCache<SubscriptionState>, 'put'>;
  applicationCache: Pick<RedisEntityCache<ApplicationState>, 'put'>;
  eventTypeCache: Pick<RedisEntityCache<EventTypeState>, 'put'>;
  secrets: Pick<SecretBox, 'open'>;
  decide: DecideDeps;
  validators: SvixValidators;
  /** Why a payload does not match its event type's schema (failing paths), if it does not. */
  payloadProblems: (eventType: EventTypeState, payload: unknown) => FieldError[] | undefined;
  /** How long a message's eventId stays taken within its application. */
  eventIdTtlMs: number;
  /** Forwards a read to the projector (which answers in the Svix shapes too). */
  forward: (req: Request, res: Response) => Promise<void>;
  /** Seals a message's payload into its event for its retention (retention.ts). */
  payloads: Pick<PayloadSealer, 'message'>;
  retention: RetentionSettings;
};

/** Whether the request came with a body at all (an empty one parses as nothing, or as {}, depending on the client). */
const sentBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

function validated<T>(validate: Validator, body: unknown, req?: Request): T {
  if (body === undefined || (req && !sentBody(req))) throw new ValidationFailed([{ field: '(body)', message: 'is required' }], 'A JSON body is required.');
  const result = validate(body);
  if (!result.ok) throw new ValidationFailed(result.fields ?? []);
  return body as T;
}

const param = (req: Request, name: string) => String(req.params[name]);
const EVENT_TYPE_NAME = new RegExp(EVENT_TYPE_NAME_PATTERN);
/** The document's path parameters by the names these routes give them. */
const ROUTE_PARAMETERS: Record<string, string> = { app_id: 'app', endpoint_id: 'endpoint', msg_id: 'msg', attempt_id: 'attempt', event_type_name: 'name', task_id: 'task' };

/** The uid a path names for something to create: text that is a uid, not one of our ids (404 otherwise: an id names what exists). */
function uidOnly(req: Request, name: 'app' | 'endpoint'): string {
  const ref = parseIdOrUid(name === 'app' ? 'app' : 'ep', param(req, name));
  if (ref?.kind !== 'uid') throw new NotFound(`No ${name === 'app' ? 'application' : 'endpoint'} ${param(req, name)}.`);
  return ref.uid;
}

/**
 * The Svix v1 API's commands (`/api/v1`), on the same model and log as the seed's API: applications and event
 * types are entities of their own, endpoints are subscriptions belonging to an application, a message is one
 * MessageCreated event that the dispatcher fans out. Reads go to the projector.
 */
export function svixRouter(deps: SvixRouterDeps, body: RequestHandler[], more?: (router: Router) => void) {
  const router = Router();
  // (other /api/v1 operations, such as auth, on the same router: one route table for Allow and 405)
  more?.(router);
  const { resolve } = deps;

  /** A change under the entity's writer lock; a busy lock or a failed append is a 503 to retry, never a lost write. */
  async function under<S extends EntityState, E extends HookpostEvent, T>(writer: Pick<EntityWriter<S, E>, 'change'>, id: string, decide: (current: S | undefined) => EntityDecision<NoInfer<E>, T>) {
    try {
      return await writer.change(id, (known) => decide(known && !isGone(known) ? known : undefined));
    } catch (error) {
      if (error instanceof HttpProblem) throw error;
      if (error instanceof SubscriptionBusyError) throw new ServiceUnavailable('Another change to this resource is in progress; try again shortly.', 1);
      deps.log.error({ err: error, id }, 'change failed');
      throw new ServiceUnavailable('The change could not be recorded right now; try again shortly.');
    }
  }

  async function append(events: HookpostEvent[]): Promise<void> {
    try {
      await deps.append(events);
    } catch (error) {
      deps.log.error({ err: error }, 'event log append failed');
      throw new ServiceUnavailable('The event log cannot take the write right now; try again shortly.');
    }
  }

  /** Takes a uid for a new entity; two creates racing for one uid cannot both win. */
  async function claimUid(scope: string, uid: string): Promise<() => Promise<void>> {
    const key = `${deps.prefix}uid-claim:${scope}:${uid}`;
    if ((await deps.redis.set(key, '1', { NX: true, PX: 30_000 })) !== 'OK') throw new Conflict(`The uid ${uid} is being taken by another request.`);
    return async () => {
      await deps.redis.del(key).catch(() => undefined);
    };
  }

  async function createApplication(input: ApplicationInput): Promise<ApplicationState> {
    const release = input.uid ? await claimUid('app', input.uid) : async () => undefined;
    try {
      if (input.uid && (await resolve.findApplication(input.uid))) throw new Conflict(`An application with uid ${input.uid} exists.`);
      const event = decideApplicationCreate(input, deps.decide);
      await append([event]);
      await deps.applicationCache.put(event.data).catch(() => undefined);
      if (input.uid) await resolve.rememberUid('app', input.uid, event.data.id).catch(() => undefined);
      return event.data;
    } finally {
      await release();
    }
  }

  // Applications
  router.post('/app', ...body, async (req, res) => {
    const input = validated<ApplicationInput>(deps.validators.applicationIn, req.body, req);
    if (svixQuery('v1.application.create', req.query).get_if_exists && input.uid) {
      const existing = await resolve.findApplication(input.uid);
      if (existing) return void res.status(200).json(applicationOut(existing));
    }
    res.status(201).json(applicationOut(await createApplication(input)));
  });

  router.put('/app/:app', ...body, async (req, res) => {
    const input = validated<ApplicationInput>(deps.validators.applicationIn, req.body, req);
    const current = await resolve.findApplication(param(req, 'app'));
    if (!current) {
      // Svix's upsert creates an application the path names by uid (an id names one that exists, or nothing).
      const pathUid = uidOnly(req, 'app');
      return void res.status(201).json(applicationOut(await createApplication({ ...input, uid: input.uid ?? pathUid })));
    }
    const { after } = await under(deps.applications, current.id, (state: ApplicationState | undefined) => {
      if (!state) throw new NotFound(`No application ${param(req, 'app')}.`);
      return { events: [decideApplicationReplace(state, input, deps.decide)], result: undefined };
    });
    res.json(applicationOut(after as ApplicationState));
  });

  router.patch('/app/:app', ...body, async (req, res) => {
    const input = validated<Partial<ApplicationInput>>(deps.validators.applicationPatch, req.body, req);
    const current = await resolve.application(param(req, 'app'));
    const { after } = await under(deps.applications, current.id, (state: ApplicationState | undefined) => {
      if (!state) throw new NotFound(`No application ${param(req, 'app')}.`);
      const event = decideApplicationPatch(state, input, deps.decide);
      return { events: event ? [event] : [], result: undefined };
    });
    res.json(applicationOut(after as ApplicationState));
  });

  /** Deletes every live endpoint of `app` (each under its own lock; one deleted meanwhile is left alone). */
  async function deleteEndpointsOf(app: ApplicationState): Promise<void> {
    for (const endpoint of await resolve.endpointsOf(app)) {
      await under(deps.endpoints, endpoint.id, (state: SubscriptionState | undefined) => ({ events: state ? [decideDelete(state, deps.decide)] : [], result: undefined }));
    }
  }

  // An application's endpoints go with it, so nothing is delivered for it any more (their waiting retries are
  // cancelled like any deleted endpoint's). They are deleted first, so a DELETE that fails part-way leaves the
  // application and can be repeated; then once more after it, for an endpoint created in between.
  router.delete('/app/:app', async (req, res) => {
    const current = await resolve.application(param(req, 'app'));
    await deleteEndpointsOf(current);
    await under(deps.applications, current.id, (state: ApplicationState | undefined) => {
      if (!state) throw new NotFound(`No application ${param(req, 'app')}.`);
      return { events: [decideApplicationDelete(state, deps.decide)], result: undefined };
    });
    await deleteEndpointsOf(current);
    res.status(204).end();
  });

  // Event types
  /** Event types' schemas must compile (bounded), or every message of the type would fail later. */
  const usableSchemas = <T extends { schemas?: Record<string, unknown> | null }>(input: T): T => {
    const problems = payloadSchemasProblems(input.schemas);
    if (problems.length > 0) throw new ValidationFailed(problems, 'An event-type schema cannot be used.');
    return input;
  };

  router.post('/event-type', ...body, async (req, res) => {
    const input = usableSchemas(validated<EventTypeInput>(deps.validators.eventTypeIn, req.body, req));
    const { after } = await under(deps.eventTypes, input.name, (state: EventTypeState | undefined) => {
      if (state) throw new Conflict(`Event type ${input.name} exists.`);
      return { events: [decideEventTypeCreate(input, deps.decide)], result: undefined };
    });
    res.status(201).json(eventTypeOut(after as EventTypeState));
  });

  router.put('/event-type/:name', ...body, async (req, res) => {
    const name = param(req, 'name');
    // (the path names the event type to create: it must be a name an event type may have)
    if (!EVENT_TYPE_NAME.test(name) || name.length > svixLimits.eventTypeNameLength) throw new ValidationFailed([{ field: 'path.event_type_name', message: `must match ${EVENT_TYPE_NAME_PATTERN} and have at most ${svixLimits.eventTypeNameLength} characters` }]);
    const input = usableSchemas(validated<Omit<EventTypeInput, 'name'>>(deps.validators.eventTypeUpsertIn, req.body, req));
    let created = false;
    const { after } = await under(deps.eventTypes, name, (state: EventTypeState | undefined) => {
      created = !state;
      if (!state) return { events: [decideEventTypeCreate({ ...input, name }, deps.decide)], result: undefined };
      const event = decideEventTypeChange(state, eventTypeReplacement(input), deps.decide);
      return { events: event ? [event] : [], result: undefined };
    });
    res.status(created ? 201 : 200).json(eventTypeOut(after as EventTypeState));
  });

  router.patch('/event-type/:name', ...body, async (req, res) => {
    const input = usableSchemas(validated<Partial<EventTypeInput>>(deps.validators.eventTypePatch, req.body, req));
    const name = param(req, 'name');
    if (!(await resolve.findEventType(name))) throw new NotFound(`No event type ${name}.`);
    const { after } = await under(deps.eventTypes, name, (state: EventTypeState | undefined) => {
      if (!state) throw new NotFound(`No event type ${name}.`);
      const event = decideEventTypeChange(state, input, deps.decide);
      return { events: event ? [event] : [], result: undefined };
    });
    res.json(eventTypeOut(after as EventTypeState));
  });

  router.delete('/event-type/:name', async (req, res) => {
    const name = param(req, 'name');
    const { expunge } = svixQuery('v1.event-type.delete', req.query);
    if (!(await resolve.findEventType(name))) throw new NotFound(`No event type ${name}.`);
    await under(deps.eventTypes, name, (state: EventTypeState | undefined) => {
      if (!state) throw new NotFound(`No event type ${name}.`);
      const event = decideEventTypeDelete(state, expunge, deps.decide);
      return { events: event ? [event] : [], result: undefined };
    });
    res.status(204).end();
  });

  // Endpoints
  async function createEndpoint(app: ApplicationState, input: EndpointInput): Promise<SubscriptionState> {
    const scope = `ep:${app.id}`;
    const release = input.uid ? await claimUid(scope, input.uid) : async () => undefined;
    try {
      if (input.uid && (await resolve.findEndpoint(app, input.uid))) throw new Conflict(`An endpoint with uid ${input.uid} exists in this application.`);
      const { event } = decideEndpointCreate(app, input, deps.decide);
      await append([event]);
      await deps.endpointCache.put(event.data).catch(() => undefined);
      if (input.uid) await resolve.rememberUid(scope, input.uid, event.data.id).catch(() => undefined);
      return event.data;
    } finally {
      await release();
    }
  }

  /** Changes the endpoint of `app` that `text` names, under its writer lock; undefined once deleted. */
  async function changeEndpoint(app: ApplicationState, text: string, decide: (state: SubscriptionState) => SubscriptionEvent[]): Promise<SubscriptionState | undefined> {
    const endpoint = await resolve.endpoint(app, text);
    const { after } = await under(deps.endpoints, endpoint.id, (state: SubscriptionState | undefined) => {
      if (!state) throw new NotFound(`No endpoint ${text}.`);
      return { events: decide(state), result: undefined };
    });
    return after && !('deleted' in after) ? (after as SubscriptionState) : undefined;
  }

  const changedBy = (state: SubscriptionState, changes: ReturnType<typeof endpointChanges>, cause: 'replaced' | 'patched'): SubscriptionEvent[] =>
    Object.keys(changes).length === 0
      ? []
      : [
          {
            id: deps.decide.newId(),
            type: 'SubscriptionChanged',
            schema_version: 1,
            occurred_at: deps.decide.now().toISOString(),
            data: { id: state.id, version: state.version + 1, changes, cause, detail: null, changed_at: deps.decide.now().toISOString(), was_active: state.is_active },
          } as SubscriptionEvent,
        ];

  /**
   * The routes an application's endpoints and the operational endpoints share (`path` is the endpoint's;
   * `appOf` names its application, `out` shows it): the endpoint's creation, deletion, secret and headers.
   */
  function endpointRoutes(collection: string, appOf: (req: Request) => Promise<ApplicationState>, createBody: keyof SvixValidators, out: (state: SubscriptionState) => object) {
    const one = `${collection}/:endpoint`;
    const changeOne = async (req: Request, decide: (state: SubscriptionState) => SubscriptionEvent[]) => changeEndpoint(await appOf(req), param(req, 'endpoint'), decide);
    const endpointOf = async (req: Request) => resolve.endpoint(await appOf(req), param(req, 'endpoint'));

    router.post(collection, ...body, async (req, res) => {
      const input = validated<EndpointInput>(deps.validators[createBody], req.body, req);
      res.status(201).json(out(await createEndpoint(await appOf(req), input)));
    });

    router.delete(one, async (req, res) => {
      await changeOne(req, (state) => [decideDelete(state, deps.decide)]);
      res.status(204).end();
    });

    router.get(`${one}/secret`, async (req, res) => {
      const endpoint = await endpointOf(req);
      let key: string;
      try {
        key = deps.secrets.open(endpoint.secret, sealedFor(endpoint.id, 'secret'));
      } catch {
        throw new Conflict('The endpoint secret cannot be opened with the master keys this service has; rotate it.');
      }
      res.json({ key });
    });

    router.post(`${one}/secret/rotate`, ...body, async (req, res) => {
      const input = validated<{ key?: string | null }>(deps.validators.secretRotateIn, req.body === undefined ? {} : req.body);
      await changeOne(req, (state) => [decideRotate(state, input.key ? { secret_key: svixSecret(input.key) } : {}, deps.decide).event]);
      res.status(204).end();
    });

    router.get(`${one}/headers`, async (req, res) => {
      const endpoint = await endpointOf(req);
      res.json({ headers: endpoint.headers ?? {}, sensitive: [] });
    });

    router.put(`${one}/headers`, ...body, async (req, res) => {
      const input = validated<{ headers: Record<string, string> }>(deps.validators.headersIn, req.body, req);
      await changeOne(req, (state) => changedBy(state, { headers: headersAfter(state.headers, input.headers, true) }, 'replaced'));
      res.status(204).end();
    });
  }

  const applicationOf = (req: Request) => resolve.application(param(req, 'app'));
  endpointRoutes('/app/:app/endpoint', applicationOf, 'endpointIn', endpointOut);

  router.put('/app/:app/endpoint/:endpoint', ...body, async (req, res) => {
    const input = validated<EndpointInput>(deps.validators.endpointUpdate, req.body, req);
    const app = await applicationOf(req);
    const existing = await resolve.findEndpoint(app, param(req, 'endpoint'));
    if (!existing) {
      const pathUid = uidOnly(req, 'endpoint');
      return void res.status(201).json(endpointOut(await createEndpoint(app, { ...input, uid: input.uid ?? pathUid })));
    }
    const after = await changeEndpoint(app, param(req, 'endpoint'), (state) => changedBy(state, endpointChanges(input, true, deps.decide, state), 'replaced'));
    res.json(endpointOut(after!));
  });

  router.patch('/app/:app/endpoint/:endpoint', ...body, async (req, res) => {
    const input = validated<Partial<EndpointInput>>(deps.validators.endpointPatch, req.body, req);
    const after = await changeEndpoint(await applicationOf(req), param(req, 'endpoint'), (state) => changedBy(state, endpointChanges(input, false, deps.decide, state), 'patched'));
    res.json(endpointOut(after!));
  });

  router.patch('/app/:app/endpoint/:endpoint/headers', ...body, async (req, res) => {
    const input = validated<{ headers: Record<string, string | null> }>(deps.validators.headersPatchIn, req.body, req);
    await changeEndpoint(await applicationOf(req), param(req, 'endpoint'), (state) => changedBy(state, { headers: headersAfter(state.headers, input.headers, false) }, 'patched'));
    res.status(204).end();
  });

  // Operational webhook endpoints: endpoints of the reserved application (svix/operational.ts), which no
  // application path names. Admin keys only: an application's credential reaches no path here (404).
  const operational = async () => OPERATIONAL_APPLICATION;
  endpointRoutes('/operational-webhook/endpoint', operational, 'operationalEndpointIn', operationalEndpointOut);

  router.put('/operational-webhook/endpoint/:endpoint', ...body, async (req, res) => {
    const input = validated<EndpointInput>(deps.validators.operationalEndpointUpsertIn, req.body, req);
    const after = await changeEndpoint(OPERATIONAL_APPLICATION, param(req, 'endpoint'), (state) => changedBy(state, endpointChanges(input, true, deps.decide, state), 'replaced'));
    res.json(operationalEndpointOut(after!));
  });

  // Messages
  router.post('/app/:app/msg', ...body, async (req, res) => {
    const input = validated<MessageInput & RetentionRequest & { application?: ApplicationInput }>(deps.validators.messageIn, req.body, req);
    const { with_content: withContent } = svixQuery('v1.message.create', req.query);
    let app = await resolve.findApplication(param(req, 'app'));
    if (!app && input.application) {
      const pathUid = uidOnly(req, 'app');
      app = await createApplication({ ...input.application, uid: input.application.uid ?? pathUid });
    }
    if (!app) throw new NotFound(`No application ${param(req, 'app')}.`);
    const eventType = await resolve.findEventType(input.eventType);
    if (eventType) {
      const problems = deps.payloadProblems(eventType, input.payload);
      if (problems) throw new ValidationFailed(problems, `The payload does not match the schema of event type ${input.eventType}.`);
    }
    const hours = retentionHours(input, app, deps.retention);
    const deliverAt = scheduledFor(input.deliverAt, deps.decide.now(), hours);
    const event = await deps.payloads.message(decideMessage(app, { ...input, deliverAt }, deps.decide), hours);
    const eventIdKey = input.eventId ? `${deps.prefix}event-id:${app.id}:${input.eventId}` : undefined;
    if (eventIdKey && (await deps.redis.set(eventIdKey, event.data.message_id, { NX: true, PX: deps.eventIdTtlMs })) !== 'OK') {
      throw new Conflict(`A message with eventId ${input.eventId} was sent to this application already.`);
    }
    try {
      await append([event]);
    } catch (error) {
      // Not recorded: the eventId stays free for the retry.
      if (eventIdKey) await deps.redis.del(eventIdKey).catch(() => undefined);
      throw error;
    }
    res.status(202).json(messageOut({ id: event.data.message_id, event_type: event.data.event_type, event_id: event.data.event_id, channels: event.data.channels, tags: event.data.tags, payload: input.payload, created_at: event.data.received_at, deliver_at: event.data.deliver_at ?? null }, withContent));
  });

  // Deliveries asked for again: recorded as one RedeliveryRequested event, carried out by the dispatcher (all but
  // a resend as background tasks, whose state GET /background-task/{task_id} serves).
  type Window = { since?: string; until?: string | null; eventTypes?: string[] | null; channel?: string | null };
  async function redeliver(req: Request, kind: 'resend' | 'recover' | 'replay_missing' | 'replay_log', window: Window) {
    const app = await resolve.application(param(req, 'app'));
    const endpoint = await resolve.endpoint(app, param(req, 'endpoint'));
    const message = kind === 'resend' ? await resolve.message(app, param(req, 'msg')) : undefined;
    const now = deps.decide.now();
    const event = makeEvent(
      'RedeliveryRequested',
      {
        request_id: newEntityId(deps.decide),
        kind,
        app_id: app.id,
        subscription_id: endpoint.id,
        message_id: message?.id ?? null,
        since: window.since === undefined ? null : storableTime(window.since, 'since'),
        until: window.until === undefined || window.until === null ? null : storableTime(window.until, 'until'),
        ...(kind === 'replay_log' ? { event_types: window.eventTypes && window.eventTypes.length > 0 ? window.eventTypes : null, channel: window.channel ?? null } : {}),
        requested_at: now.toISOString(),
      },
      deps.decide,
    );
    await append([event]);
    return { id: toExternalId('qtask', event.data.request_id), status: 'running' as const, updatedAt: now.toISOString() };
  }

  router.post('/app/:app/msg/:msg/endpoint/:endpoint/resend', ...body, async (req, res) => {
    await redeliver(req, 'resend', {});
    res.status(202).json({});
  });
  router.post('/app/:app/endpoint/:endpoint/recover', ...body, async (req, res) => {
    const input = validated<{ since: string; until?: string | null }>(deps.validators.recoverIn, req.body, req);
    res.status(202).json({ ...(await redeliver(req, 'recover', input)), task: svixTaskTypes.recover });
  });
  router.post('/app/:app/endpoint/:endpoint/replay-missing', ...body, async (req, res) => {
    const input = validated<{ since: string; until?: string | null }>(deps.validators.replayIn, req.body, req);
    res.status(202).json({ ...(await redeliver(req, 'replay_missing', input)), task: svixTaskTypes.replay_missing });
  });
  // Hookpost's own: every message of the application in the window (and filter), read from the log.
  router.post('/app/:app/endpoint/:endpoint/replay-from-log', ...body, async (req, res) => {
    const input = validated<Window & { since: string }>(deps.validators.replayFromLogIn, req.body, req);
    res.status(202).json({ ...(await redeliver(req, 'replay_log', input)), task: svixTaskTypes.replay_log });
  });

  // Pausing holds the endpoint's deliveries (the dispatcher records each held attempt); resuming sends them.
  const setPaused = (paused: boolean) => async (req: Request, res: Response) => {
    await changeEndpoint(await applicationOf(req), param(req, 'endpoint'), (state) => {
      const event = decidePause(state, paused, deps.decide);
      return event ? [event as SubscriptionEvent] : [];
    });
    res.status(204).end();
  };
  router.post('/app/:app/endpoint/:endpoint/pause', ...body, setPaused(true));
  router.post('/app/:app/endpoint/:endpoint/resume', ...body, setPaused(false));

  // An ordered endpoint's head that holds it (failing, say) ended by an operator: the skip is recorded on the
  // endpoint, and the dispatcher holding the head reads it before every attempt and while it waits
  // (HOOKPOST_LANE_POLL_MS), and cancels the head.
  router.post('/app/:app/endpoint/:endpoint/ordered/skip-head', ...body, async (req, res) => {
    const app = await resolve.application(param(req, 'app'));
    const endpoint = await resolve.endpoint(app, param(req, 'endpoint'));
    const head = await resolve.laneHead(endpoint);
    await changeEndpoint(app, param(req, 'endpoint'), (state) => [decideSkipHead(state, head, deps.decide) as SubscriptionEvent]);
    res.status(204).end();
  });

  // Cancelling a background task: recorded (it reads as cancelled at once), and the dispatcher running it stops.
  router.post('/background-task/:task/cancel', ...body, async (req, res) => {
    const task = await resolve.task(param(req, 'task'));
    const scope = applicationScopeOf(res);
    // (an application-scoped credential knows only its own application's tasks)
    if (scope && scope.application !== task.app_id) throw new NotFound(`No background task ${param(req, 'task')}.`);
    const decided = decideTaskCancel(task, deps.decide);
    switch (decided.kind) {
      case 'cancel': {
        await append([decided.event]);
        const at = decided.event.data.cancelled_at;
        return void res.status(202).json(backgroundTaskOut({ ...task, status: 'cancelled', updated_at: at, finished_at: at }));
      }
      case 'cancelled already':
        return void res.status(202).json(backgroundTaskOut(task));
      case 'ended':
        throw new Conflict(`The task has ${decided.status === 'finished' ? 'finished' : 'failed'}; there is nothing left to cancel.`);
      default: {
        const unknown: never = decided;
        throw new Error(`unknown cancel decision ${JSON.stringify(unknown)}`);
      }
    }
  });

  // An example of an event type, sent to one endpoint whatever its filters: the schema's examples[exampleIndex], or a stand-in.
  router.post('/app/:app/endpoint/:endpoint/send-example', ...body, async (req, res) => {
    const input = validated<{ eventType: string; exampleIndex?: number }>(deps.validators.eventExampleIn, req.body, req);
    const app = await resolve.application(param(req, 'app'));
    const endpoint = await resolve.endpoint(app, param(req, 'endpoint'));
    const eventType = await resolve.findEventType(input.eventType);
    if (!eventType) throw new NotFound(`No event type ${input.eventType}.`);
    const examples = (currentPayloadSchema(eventType.schemas) as { examples?: unknown[] } | undefined)?.examples ?? [];
    const example = examples[input.exampleIndex ?? 0];
    const payload = example !== null && typeof example === 'object' && !Array.isArray(example) ? (example as Record<string, unknown>) : { eventType: input.eventType, example: true };
    const event = await deps.payloads.message(decideMessage(app, { eventType: input.eventType, payload }, deps.decide), retentionHours({}, app, deps.retention));
    const sent = { ...event, data: { ...event.data, endpoint_id: endpoint.id } };
    await append([sent]);
    res.status(202).json(messageOut({ id: sent.data.message_id, event_type: sent.data.event_type, event_id: null, channels: null, tags: null, payload, created_at: sent.data.received_at }));
  });

  // Expunging content removes it from the read model, and from the log: the projector forgets the message's
  // key when it applies the event (see docs/design-notes.md, "Retention and crypto-shredding").
  router.delete('/app/:app/msg/:msg/content', async (req, res) => {
    const app = await resolve.application(param(req, 'app'));
    const message = await resolve.message(app, param(req, 'msg'));
    await append([makeEvent('MessageContentExpunged', { message_id: message.id, app_id: app.id, expunged_at: deps.decide.now().toISOString() }, deps.decide)]);
    res.status(204).end();
  });
  router.delete('/app/:app/msg/:msg/attempt/:attempt/content', async (req, res) => {
    const app = await resolve.application(param(req, 'app'));
    const attempt = await resolve.attempt(app, param(req, 'msg'), param(req, 'attempt'));
    await append([makeEvent('AttemptContentExpunged', { attempt_id: attempt.id, delivery_id: attempt.delivery_id, app_id: app.id, expunged_at: deps.decide.now().toISOString() }, deps.decide)]);
    res.status(204).end();
  });

  router.get('/health', (_req, res) => {
    res.status(204).end();
  });

  // Every other read the document states goes to the projector: registered one by one from the operation
  // table, so the Allow header (and 405 for other methods) says exactly what each path serves.
  for (const operation of [...svixOperations, ...svixExtensionOperations]) {
    if (operation.method !== 'get' || !operation.path.startsWith('/api/v1/')) continue;
    const path = operation.path.slice('/api/v1'.length).replace(/\{([a-z_]+)\}/g, (_match, name: string) => `:${ROUTE_PARAMETERS[name] ?? name}`);
    if (router.stack.some((layer) => layer.route?.path === path && (layer.route as unknown as { methods: Record<string, boolean> }).methods.get)) continue;
    router.get(path, (req, res) => deps.forward(req, res));
  }
  router.use(methodNotAllowed(router));
  return router;
}
