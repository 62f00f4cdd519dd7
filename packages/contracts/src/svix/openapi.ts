import { httpErrorOutSchema, httpValidationErrorSchema } from './errors';
import { svixIdPattern, UID_MAX_LENGTH, UID_PATTERN } from './ids';
import { svixQueryParameters } from './list';
import { payloadFilterSchemas } from '../payloadFilterSchema';
import {
  appPortalAccessOutSchema,
  applicationOutSchema,
  emptyResponseSchema,
  endpointHeadersOutSchema,
  endpointMessageOutSchema,
  endpointOutSchema,
  endpointSecretOutSchema,
  endpointStatsSchema,
  eventTypeOutSchema,
  listResponseSchema,
  messageAttemptOutSchema,
  messageEndpointOutSchema,
  messageFilteredEndpointOutSchema,
  messageOutSchema,
  operationalWebhookEndpointOutSchema,
  recoverOutSchema,
  replayOutSchema,
  replayFromLogOutSchema,
  backgroundTaskOutSchema,
} from './responses';
import {
  appPortalAccessInSchema,
  applicationInSchema,
  applicationPatchSchema,
  endpointHeadersInSchema,
  endpointHeadersPatchInSchema,
  endpointInSchema,
  endpointPatchSchema,
  endpointSecretRotateInSchema,
  endpointUpdateSchema,
  eventExampleInSchema,
  eventTypeInSchema,
  eventTypePatchSchema,
  eventTypeUpsertInSchema,
  EVENT_TYPE_NAME_PATTERN,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IDEMPOTENCY_KEY_PATTERN,
  messageInSchema,
  operationalWebhookEndpointInSchema,
  operationalWebhookEndpointUpsertInSchema,
  recoverInSchema,
  replayInSchema,
  replayFromLogInSchema,
  svixLimits,
} from './schemas';
import {
  endpointDisabledEventDataSchema,
  endpointEventDataSchema,
  messageAttemptEventDataSchema,
  operationalEventDataOf,
  operationalEventSchema,
  operationalEventTypes,
  type OperationalEventType,
} from './operational';

/**
 * The Svix v1 API's part of the one OpenAPI 3.1 document: `paths` under /api/v1 and the `components.schemas`
 * they use, built from the schemas ajv validates with (schemas.ts, responses.ts, errors.ts) and the query
 * parameter table the parser reads (list.ts). openapi.ts merges them into the document; the fragment relies on
 * two schemas the document already has, `JsonObject` and `JsonValue` (any JSON whose strings are well-formed
 * text, as the body parser takes it), and on its bearer security scheme applying to every operation.
 *
 * Operation ids, paths, methods and success statuses are Svix's (`v1.application.list`, ...). Errors are
 * stated as Hookpost answers them: 400 malformed JSON, 401 no or a wrong key, 404 nothing of that id or uid
 * (also when the key's scope does not reach it), 409 a uid, eventId or name taken, 413/415 body size and type,
 * 422 a body or query value outside its schema (HTTPValidationError), 503 with Retry-After when the event log
 * or the read model cannot answer in time.
 */

type Json = Record<string, unknown>;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });

/**
 * A schema as a component: its $id (and any nested one) dropped, a deep copy the document may own. A `$ref`
 * to a schema by its $id (the payload filter's levels, registered in ajv under their ids) becomes a
 * reference to the component of that name.
 */
function component(schema: object): Json {
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) => (key === '$id' ? undefined : key === '$ref' && typeof value === 'string' && !value.startsWith('#') ? ref(value).$ref : value)),
  ) as Json;
}

/**
 * Free-form objects of request bodies (a payload, a payload schema) as the document's JsonObject: any JSON the
 * body parser takes, so that generated examples hold only text it accepts.
 */
function withJsonObjects(schema: Json, paths: string[][]): Json {
  for (const path of paths) {
    let node = schema;
    for (const key of path.slice(0, -1)) node = node[key] as Json;
    const last = path[path.length - 1]!;
    const target = node[last] as Json;
    const nullable = Array.isArray(target.type) && target.type.includes('null');
    const { type: _type, ...annotations } = target;
    node[last] = nullable ? { ...annotations, anyOf: [ref('JsonObject'), { type: 'null' }] } : { ...annotations, ...ref('JsonObject') };
  }
  return schema;
}

const payloadSchemasPath = ['properties', 'schemas', 'additionalProperties'];

function buildSchemas(): Json {
  const list = (item: string) => component(listResponseSchema(ref(item)));
  const schemas: Json = {
    ApplicationIn: component(applicationInSchema),
    ApplicationPatch: component(applicationPatchSchema),
    ApplicationOut: component(applicationOutSchema),
    ListResponse_ApplicationOut_: list('ApplicationOut'),
    EndpointIn: component(endpointInSchema),
    EndpointUpdate: component(endpointUpdateSchema),
    EndpointPatch: component(endpointPatchSchema),
    EndpointOut: component(endpointOutSchema),
    ListResponse_EndpointOut_: list('EndpointOut'),
    EndpointHeadersIn: component(endpointHeadersInSchema),
    EndpointHeadersPatchIn: component(endpointHeadersPatchInSchema),
    EndpointHeadersOut: component(endpointHeadersOutSchema),
    EndpointSecretRotateIn: component(endpointSecretRotateInSchema),
    EndpointSecretOut: component(endpointSecretOutSchema),
    EndpointStats: component(endpointStatsSchema),
    RecoverIn: component(recoverInSchema),
    RecoverOut: component(recoverOutSchema),
    ReplayIn: component(replayInSchema),
    ReplayOut: component(replayOutSchema),
    ReplayFromLogIn: component(replayFromLogInSchema),
    ReplayFromLogOut: component(replayFromLogOutSchema),
    BackgroundTaskOut: component(backgroundTaskOutSchema),
    ListResponse_BackgroundTaskOut_: list('BackgroundTaskOut'),
    EventExampleIn: component(eventExampleInSchema),
    EventTypeIn: withJsonObjects(component(eventTypeInSchema), [payloadSchemasPath]),
    EventTypeUpsertIn: withJsonObjects(component(eventTypeUpsertInSchema), [payloadSchemasPath]),
    EventTypePatch: withJsonObjects(component(eventTypePatchSchema), [payloadSchemasPath]),
    EventTypeOut: component(eventTypeOutSchema),
    ListResponse_EventTypeOut_: list('EventTypeOut'),
    MessageIn: withJsonObjects(component(messageInSchema), [
      ['properties', 'payload'],
      ['properties', 'transformationsParams'],
    ]),
    MessageOut: component(messageOutSchema),
    ListResponse_MessageOut_: list('MessageOut'),
    EndpointMessageOut: component(endpointMessageOutSchema),
    ListResponse_EndpointMessageOut_: list('EndpointMessageOut'),
    MessageEndpointOut: component(messageEndpointOutSchema),
    ListResponse_MessageEndpointOut_: list('MessageEndpointOut'),
    MessageFilteredEndpointOut: component(messageFilteredEndpointOutSchema),
    ListResponse_MessageFilteredEndpointOut_: list('MessageFilteredEndpointOut'),
    // Hookpost's payload filter, one component per level (each allows less nesting than the one before).
    ...Object.fromEntries(payloadFilterSchemas.map((schema) => [schema.$id, component(schema)])),
    MessageAttemptOut: component(messageAttemptOutSchema),
    ListResponse_MessageAttemptOut_: list('MessageAttemptOut'),
    AppPortalAccessIn: component(appPortalAccessInSchema),
    AppPortalAccessOut: component(appPortalAccessOutSchema),
    EmptyResponse: component(emptyResponseSchema),
    HttpErrorOut: component(httpErrorOutSchema),
    HTTPValidationError: component(httpValidationErrorSchema),
    OperationalWebhookEndpointIn: component(operationalWebhookEndpointInSchema),
    OperationalWebhookEndpointUpsertIn: component(operationalWebhookEndpointUpsertInSchema),
    OperationalWebhookEndpointOut: component(operationalWebhookEndpointOutSchema),
    ListResponse_OperationalWebhookEndpointOut_: list('OperationalWebhookEndpointOut'),
    // What operational endpoints receive (the document's `webhooks`).
    EndpointEventData: component(endpointEventDataSchema),
    EndpointDisabledEventData: component(endpointDisabledEventDataSchema),
    MessageAttemptEventData: component(messageAttemptEventDataSchema),
  };
  for (const type of operationalEventTypes) schemas[operationalEventComponent(type)] = operationalEventSchema(type, ref(operationalEventDataOf(type)));
  return schemas;
}

/** `endpoint.disabled` → `EndpointDisabledEvent`, as Svix names the bodies. */
function operationalEventComponent(type: OperationalEventType): string {
  return `${type.split('.').map((word) => word[0]!.toUpperCase() + word.slice(1)).join('')}Event`;
}

/**
 * The operational events as the OpenAPI 3.1 document's `webhooks`: requests Hookpost sends to operational
 * endpoints (signed with Standard Webhooks headers, like every delivery), one per event type.
 */
function buildWebhooks(): Json {
  const webhooks: Json = {};
  for (const type of operationalEventTypes) {
    webhooks[type] = {
      post: {
        operationId: `operational.${type}`,
        summary: operationalEventSummaries[type],
        tags: ['Svix: Operational Webhook Endpoint'],
        requestBody: { required: true, content: json(ref(operationalEventComponent(type))) },
        responses: { 200: { description: 'Any 2xx: received' } },
      },
    };
  }
  return webhooks;
}

const operationalEventSummaries: Record<OperationalEventType, string> = {
  'endpoint.created': 'An endpoint was created',
  'endpoint.updated': 'An endpoint was changed through the API (an enable or disable is reported too, on its own)',
  'endpoint.deleted': 'An endpoint was deleted',
  'endpoint.disabled': 'An endpoint was disabled: through the API (manual), or by the dispatcher after it answered 410 or every attempt failed for HOOKPOST_ENDPOINT_DISABLE_AFTER_MS (automatic)',
  'endpoint.enabled': 'An endpoint was enabled through the API',
  'message.attempt.failing': "A delivery's Nth attempt failed (HOOKPOST_OPERATIONAL_FAILING_ATTEMPT, default 4) and more attempts follow",
  'message.attempt.exhausted': 'A delivery ended failed after an attempt: its attempts ran out, the target was refused, or the endpoint answered 410',
  'message.attempt.recovered': "A delivery succeeded after message.attempt.failing was sent for it",
};

// Path parameters, by name: ids (or uids where Svix takes them) and event type names.
const idOrUid = (what: string, prefix: Parameters<typeof svixIdPattern>[0]) => ({
  description: `The ${what}'s id (${prefix}_...) or its uid`,
  schema: { type: 'string', minLength: 1, maxLength: UID_MAX_LENGTH, pattern: UID_PATTERN },
});
const pathParameters: Record<string, { description: string; schema: Json }> = {
  app_id: idOrUid('application', 'app'),
  endpoint_id: idOrUid('endpoint', 'ep'),
  msg_id: { description: "The message's id (msg_...) or its eventId", schema: { type: 'string', minLength: 1, maxLength: UID_MAX_LENGTH, pattern: UID_PATTERN } },
  attempt_id: { description: "The attempt's id", schema: { type: 'string', pattern: svixIdPattern('atmpt') } },
  task_id: { description: "The background task's id (qtask_...)", schema: { type: 'string', pattern: svixIdPattern('qtask') } },
  event_type_name: {
    description: "The event type's name",
    schema: { type: 'string', minLength: 1, maxLength: svixLimits.eventTypeNameLength, pattern: EVENT_TYPE_NAME_PATTERN },
  },
};

const idempotencyKey = {
  name: 'idempotency-key',
  in: 'header',
  required: false,
  description:
    'Within 12 hours, a POST with the same key (and the same API key) answers what the first answered — same status and body — and does nothing twice. The svix clients send one (auto_<uuid>) unless given one.',
  schema: { type: 'string', minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH, pattern: IDEMPOTENCY_KEY_PATTERN },
};

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } } };
const error = (description: string, headers?: Json) => ({ description, ...(headers ? { headers } : {}), content: json(ref('HttpErrorOut')) });

function queryParameters(operationId: string): Json[] {
  const parameters = (svixQueryParameters as Record<string, Record<string, Json & { description?: string }>>)[operationId] ?? {};
  return Object.entries(parameters).map(([name, schema]) => {
    const { description, ...rest } = schema;
    const array = rest.type === 'array';
    return {
      name,
      in: 'query',
      required: false,
      ...(description ? { description } : {}),
      // Arrays: repeated names (form, explode); the parser also takes one comma-separated value.
      ...(array ? { style: 'form', explode: true } : {}),
      schema: rest,
    };
  });
}

type Operation = Readonly<{
  method: Method;
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  body?: string;
  /** Success statuses and the component each answers (null: no content). */
  ok: Readonly<Record<number, string | null>>;
  /** When 409 applies, why. */
  conflict?: string;
  links?: Readonly<Record<number, Json>>;
  public?: boolean;
}>;

// Links for schemathesis' stateful phase (and readers): what to call with the id an answer gives.
const byApplication = (expression: string) => ({
  GetApplication: { operationId: 'v1.application.get', parameters: { app_id: expression } },
  PatchApplication: { operationId: 'v1.application.patch', parameters: { app_id: expression } },
  DeleteApplication: { operationId: 'v1.application.delete', parameters: { app_id: expression } },
  CreateEndpoint: { operationId: 'v1.endpoint.create', parameters: { app_id: expression } },
  ListEndpoints: { operationId: 'v1.endpoint.list', parameters: { app_id: expression } },
  CreateMessage: { operationId: 'v1.message.create', parameters: { app_id: expression } },
  ListMessages: { operationId: 'v1.message.list', parameters: { app_id: expression } },
});
const byEndpoint = {
  GetEndpoint: { operationId: 'v1.endpoint.get', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  PatchEndpoint: { operationId: 'v1.endpoint.patch', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  DeleteEndpoint: { operationId: 'v1.endpoint.delete', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  GetEndpointSecret: { operationId: 'v1.endpoint.get-secret', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  RotateEndpointSecret: { operationId: 'v1.endpoint.rotate-secret', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  GetEndpointHeaders: { operationId: 'v1.endpoint.get-headers', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  GetEndpointStats: { operationId: 'v1.endpoint.get-stats', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  PauseEndpoint: { operationId: 'v1.endpoint.pause', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  ResumeEndpoint: { operationId: 'v1.endpoint.resume', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
  ListAttemptsByEndpoint: { operationId: 'v1.message-attempt.list-by-endpoint', parameters: { app_id: '$request.path.app_id', endpoint_id: '$response.body#/id' } },
};
const byMessage = {
  GetMessage: { operationId: 'v1.message.get', parameters: { app_id: '$request.path.app_id', msg_id: '$response.body#/id' } },
  ListAttemptsByMessage: { operationId: 'v1.message-attempt.list-by-msg', parameters: { app_id: '$request.path.app_id', msg_id: '$response.body#/id' } },
  ListAttemptedDestinations: { operationId: 'v1.message-attempt.list-attempted-destinations', parameters: { app_id: '$request.path.app_id', msg_id: '$response.body#/id' } },
  ListFilteredEndpoints: { operationId: 'hookpost.message.list-filtered-endpoints', parameters: { app_id: '$request.path.app_id', msg_id: '$response.body#/id' } },
};
const byTask = { GetBackgroundTask: { operationId: 'v1.background-task.get', parameters: { task_id: '$response.body#/id' } } };
const byEventType = {
  GetEventType: { operationId: 'v1.event-type.get', parameters: { event_type_name: '$response.body#/name' } },
  PatchEventType: { operationId: 'v1.event-type.patch', parameters: { event_type_name: '$response.body#/name' } },
  DeleteEventType: { operationId: 'v1.event-type.delete', parameters: { event_type_name: '$response.body#/name' } },
};

const byOperationalEndpoint = Object.fromEntries(
  ['get', 'upsert', 'delete', 'get-headers', 'get-secret', 'rotate-secret'].map((action) => [
    `Operational${action.split('-').map((word) => word[0]!.toUpperCase() + word.slice(1)).join('')}`,
    { operationId: `v1.operational-webhook.endpoint.${action}`, parameters: { endpoint_id: '$response.body#/id' } },
  ]),
);

const APP = '/api/v1/app/{app_id}';
const ENDPOINT = `${APP}/endpoint/{endpoint_id}`;
const MESSAGE = `${APP}/msg/{msg_id}`;
const OPERATIONAL = '/api/v1/operational-webhook/endpoint';
const uidTaken = 'The uid is taken by another';

/** The operations of Svix's v1 core API on applications, endpoints, event types, messages, attempts and auth. */
const coreOperations: readonly Operation[] = [
  { method: 'get', path: '/api/v1/app', operationId: 'v1.application.list', tag: 'Application', summary: 'List applications', ok: { 200: 'ListResponse_ApplicationOut_' } },
  {
    method: 'post',
    path: '/api/v1/app',
    operationId: 'v1.application.create',
    tag: 'Application',
    summary: 'Create an application (with get_if_exists: answer the one with this uid, 200)',
    body: 'ApplicationIn',
    ok: { 200: 'ApplicationOut', 201: 'ApplicationOut' },
    conflict: `${uidTaken} application`,
    links: { 200: byApplication('$response.body#/id'), 201: byApplication('$response.body#/id') },
  },
  { method: 'get', path: APP, operationId: 'v1.application.get', tag: 'Application', summary: 'Get an application', ok: { 200: 'ApplicationOut' } },
  {
    method: 'put',
    path: APP,
    operationId: 'v1.application.upsert',
    tag: 'Application',
    summary: 'Replace an application, or create it with this uid (201)',
    body: 'ApplicationIn',
    ok: { 200: 'ApplicationOut', 201: 'ApplicationOut' },
    conflict: `${uidTaken} application`,
  },
  {
    method: 'patch',
    path: APP,
    operationId: 'v1.application.patch',
    tag: 'Application',
    summary: 'Change the fields given',
    body: 'ApplicationPatch',
    ok: { 200: 'ApplicationOut' },
    conflict: `${uidTaken} application`,
  },
  { method: 'delete', path: APP, operationId: 'v1.application.delete', tag: 'Application', summary: 'Delete an application with its endpoints', ok: { 204: null } },

  { method: 'get', path: `${APP}/endpoint`, operationId: 'v1.endpoint.list', tag: 'Endpoint', summary: "List the application's endpoints", ok: { 200: 'ListResponse_EndpointOut_' } },
  {
    method: 'post',
    path: `${APP}/endpoint`,
    operationId: 'v1.endpoint.create',
    tag: 'Endpoint',
    summary: 'Create an endpoint; its secret is generated unless given',
    body: 'EndpointIn',
    ok: { 201: 'EndpointOut' },
    conflict: `${uidTaken} endpoint of the application`,
    links: { 201: byEndpoint },
  },
  { method: 'get', path: ENDPOINT, operationId: 'v1.endpoint.get', tag: 'Endpoint', summary: 'Get an endpoint', ok: { 200: 'EndpointOut' } },
  {
    method: 'put',
    path: ENDPOINT,
    operationId: 'v1.endpoint.upsert',
    tag: 'Endpoint',
    summary: 'Replace an endpoint, or create it with this uid (201)',
    body: 'EndpointUpdate',
    ok: { 200: 'EndpointOut', 201: 'EndpointOut' },
    conflict: `${uidTaken} endpoint of the application`,
  },
  {
    method: 'patch',
    path: ENDPOINT,
    operationId: 'v1.endpoint.patch',
    tag: 'Endpoint',
    summary: 'Change the fields given',
    body: 'EndpointPatch',
    ok: { 200: 'EndpointOut' },
    conflict: `${uidTaken} endpoint of the application`,
  },
  { method: 'delete', path: ENDPOINT, operationId: 'v1.endpoint.delete', tag: 'Endpoint', summary: 'Delete an endpoint; its pending deliveries end canceled', ok: { 204: null } },
  { method: 'get', path: `${ENDPOINT}/headers`, operationId: 'v1.endpoint.get-headers', tag: 'Endpoint', summary: 'Get the custom headers sent with each delivery', ok: { 200: 'EndpointHeadersOut' } },
  { method: 'put', path: `${ENDPOINT}/headers`, operationId: 'v1.endpoint.set-headers', tag: 'Endpoint', summary: 'Replace the custom headers', body: 'EndpointHeadersIn', ok: { 204: null } },
  {
    method: 'patch',
    path: `${ENDPOINT}/headers`,
    operationId: 'v1.endpoint.patch-headers',
    tag: 'Endpoint',
    summary: 'Set or remove some custom headers',
    body: 'EndpointHeadersPatchIn',
    ok: { 204: null },
  },
  { method: 'get', path: `${ENDPOINT}/secret`, operationId: 'v1.endpoint.get-secret', tag: 'Endpoint', summary: "Get the endpoint's signing secret", ok: { 200: 'EndpointSecretOut' } },
  {
    method: 'post',
    path: `${ENDPOINT}/secret/rotate`,
    operationId: 'v1.endpoint.rotate-secret',
    tag: 'Endpoint',
    summary: 'Rotate the secret; the previous one keeps signing for the grace period',
    body: 'EndpointSecretRotateIn',
    ok: { 204: null },
  },
  {
    method: 'get',
    path: `${ENDPOINT}/stats`,
    operationId: 'v1.endpoint.get-stats',
    tag: 'Endpoint',
    summary: "Count the endpoint's deliveries by status (since/until: created in that window)",
    ok: { 200: 'EndpointStats' },
  },
  {
    method: 'post',
    path: `${ENDPOINT}/send-example`,
    operationId: 'v1.endpoint.send-example',
    tag: 'Endpoint',
    summary: "Send the endpoint an example message of an event type (from its schema's examples)",
    body: 'EventExampleIn',
    ok: { 202: 'MessageOut' },
  },
  {
    method: 'post',
    path: `${ENDPOINT}/recover`,
    operationId: 'v1.endpoint.recover',
    tag: 'Endpoint',
    summary: 'Resend the messages whose delivery to the endpoint failed since a time',
    body: 'RecoverIn',
    ok: { 202: 'RecoverOut' },
    links: { 202: byTask },
  },
  {
    method: 'post',
    path: `${ENDPOINT}/replay-missing`,
    operationId: 'v1.endpoint.replay-missing',
    tag: 'Endpoint',
    summary: 'Send the endpoint the messages since a time that it never received',
    body: 'ReplayIn',
    ok: { 202: 'ReplayOut' },
    links: { 202: byTask },
  },

  { method: 'get', path: '/api/v1/event-type', operationId: 'v1.event-type.list', tag: 'Event Type', summary: 'List event types, by name', ok: { 200: 'ListResponse_EventTypeOut_' } },
  {
    method: 'post',
    path: '/api/v1/event-type',
    operationId: 'v1.event-type.create',
    tag: 'Event Type',
    summary: 'Create an event type; a payload schema that cannot be compiled is refused (422)',
    body: 'EventTypeIn',
    ok: { 201: 'EventTypeOut' },
    conflict: 'An event type of this name exists',
    links: { 201: byEventType },
  },
  { method: 'get', path: '/api/v1/event-type/{event_type_name}', operationId: 'v1.event-type.get', tag: 'Event Type', summary: 'Get an event type', ok: { 200: 'EventTypeOut' } },
  {
    method: 'put',
    path: '/api/v1/event-type/{event_type_name}',
    operationId: 'v1.event-type.upsert',
    tag: 'Event Type',
    summary: 'Replace an event type, or create it (201)',
    body: 'EventTypeUpsertIn',
    ok: { 200: 'EventTypeOut', 201: 'EventTypeOut' },
  },
  {
    method: 'patch',
    path: '/api/v1/event-type/{event_type_name}',
    operationId: 'v1.event-type.patch',
    tag: 'Event Type',
    summary: 'Change the fields given',
    body: 'EventTypePatch',
    ok: { 200: 'EventTypeOut' },
  },
  {
    method: 'delete',
    path: '/api/v1/event-type/{event_type_name}',
    operationId: 'v1.event-type.delete',
    tag: 'Event Type',
    summary: 'Archive an event type (expunge: delete it)',
    ok: { 204: null },
  },

  {
    method: 'get',
    path: `${APP}/msg`,
    operationId: 'v1.message.list',
    tag: 'Message',
    summary: "List the application's messages, newest first",
    ok: { 200: 'ListResponse_MessageOut_' },
  },
  {
    method: 'post',
    path: `${APP}/msg`,
    operationId: 'v1.message.create',
    tag: 'Message',
    summary: 'Send a message to every endpoint of the application that takes its event type and channels',
    body: 'MessageIn',
    ok: { 202: 'MessageOut' },
    conflict: 'A message with this eventId exists in the application',
    links: { 202: byMessage },
  },
  { method: 'get', path: MESSAGE, operationId: 'v1.message.get', tag: 'Message', summary: 'Get a message', ok: { 200: 'MessageOut' } },
  { method: 'delete', path: `${MESSAGE}/content`, operationId: 'v1.message.expunge-content', tag: 'Message', summary: "Delete the message's payload", ok: { 204: null } },
  // Hookpost's own: where the ledger of a message (delivered, or filtered out with why) shows its filtered part.
  {
    method: 'get',
    path: `${MESSAGE}/filtered-endpoint`,
    operationId: 'hookpost.message.list-filtered-endpoints',
    tag: 'Message',
    summary: 'List the endpoints whose payload filter kept the message from them, with why (Hookpost extension)',
    ok: { 200: 'ListResponse_MessageFilteredEndpointOut_' },
  },

  {
    method: 'get',
    path: `${APP}/attempt/endpoint/{endpoint_id}`,
    operationId: 'v1.message-attempt.list-by-endpoint',
    tag: 'Message Attempt',
    summary: "List the attempts to an endpoint, newest first",
    ok: { 200: 'ListResponse_MessageAttemptOut_' },
  },
  {
    method: 'get',
    path: `${APP}/attempt/msg/{msg_id}`,
    operationId: 'v1.message-attempt.list-by-msg',
    tag: 'Message Attempt',
    summary: 'List the attempts to deliver a message, newest first',
    ok: { 200: 'ListResponse_MessageAttemptOut_' },
  },
  {
    method: 'get',
    path: `${ENDPOINT}/msg`,
    operationId: 'v1.message-attempt.list-attempted-messages',
    tag: 'Message Attempt',
    summary: 'List the messages sent to an endpoint, with where each delivery stands',
    ok: { 200: 'ListResponse_EndpointMessageOut_' },
  },
  {
    method: 'get',
    path: `${MESSAGE}/endpoint`,
    operationId: 'v1.message-attempt.list-attempted-destinations',
    tag: 'Message Attempt',
    summary: 'List the endpoints a message was sent to, with where each delivery stands',
    ok: { 200: 'ListResponse_MessageEndpointOut_' },
  },
  { method: 'get', path: `${MESSAGE}/attempt/{attempt_id}`, operationId: 'v1.message-attempt.get', tag: 'Message Attempt', summary: 'Get an attempt', ok: { 200: 'MessageAttemptOut' } },
  {
    method: 'delete',
    path: `${MESSAGE}/attempt/{attempt_id}/content`,
    operationId: 'v1.message-attempt.expunge-content',
    tag: 'Message Attempt',
    summary: "Delete the response body an attempt recorded",
    ok: { 204: null },
  },
  {
    method: 'post',
    path: `${MESSAGE}/endpoint/{endpoint_id}/resend`,
    operationId: 'v1.message-attempt.resend',
    tag: 'Message Attempt',
    summary: 'Send a message to an endpoint again (a manual attempt)',
    ok: { 202: 'EmptyResponse' },
  },

  {
    method: 'post',
    path: '/api/v1/auth/app-portal-access/{app_id}',
    operationId: 'v1.authentication.app-portal-access',
    tag: 'Authentication',
    summary: 'Issue a token that sees and changes only this application, and the URL of its portal',
    body: 'AppPortalAccessIn',
    ok: { 200: 'AppPortalAccessOut' },
  },
  { method: 'post', path: '/api/v1/auth/logout', operationId: 'v1.authentication.logout', tag: 'Authentication', summary: 'Revoke the application token this request carries', ok: { 204: null } },
  { method: 'get', path: '/api/v1/health', operationId: 'v1.health.get', tag: 'Health', summary: 'The API answers', ok: { 204: null }, public: true },
];

const TASK = '/api/v1/background-task';

/**
 * Background tasks, as Svix serves them (list and get), and Hookpost's own operations beside Svix's, in the
 * same style (operation ids `v1.…`, 202 and a task for long work, 204 for a change with nothing to show):
 * pausing and resuming an endpoint, replaying from the log, and cancelling a task.
 */
export const svixExtensionOperations: readonly Operation[] = [
  {
    method: 'post',
    path: `${ENDPOINT}/pause`,
    operationId: 'v1.endpoint.pause',
    tag: 'Endpoint',
    summary: 'Hookpost: pause the endpoint; its deliveries are held (not attempted, not failed) until it is resumed',
    ok: { 204: null },
  },
  {
    method: 'post',
    path: `${ENDPOINT}/resume`,
    operationId: 'v1.endpoint.resume',
    tag: 'Endpoint',
    summary: 'Hookpost: resume a paused endpoint; the deliveries held meanwhile are sent',
    ok: { 204: null },
  },
  {
    method: 'post',
    path: `${ENDPOINT}/ordered/skip-head`,
    operationId: 'v1.endpoint.ordered.skip-head',
    tag: 'Endpoint',
    summary:
      "Hookpost: end the delivery at the head of an ordered endpoint's lane (cancelled, 'skipped by an operator') so the next message goes; 404 when none waits",
    ok: { 204: null },
  },
  {
    method: 'post',
    path: `${ENDPOINT}/replay-from-log`,
    operationId: 'v1.endpoint.replay-from-log',
    tag: 'Endpoint',
    summary: "Hookpost: send the endpoint every message of the application in a window (of some event types, in a channel), read from the event log, even after retention removed their rows",
    body: 'ReplayFromLogIn',
    ok: { 202: 'ReplayFromLogOut' },
    links: { 202: byTask },
  },
  {
    method: 'get',
    path: TASK,
    operationId: 'v1.background-task.list',
    tag: 'Background Task',
    summary: 'List background tasks (recover, replay-missing, replay from the log), newest first',
    ok: { 200: 'ListResponse_BackgroundTaskOut_' },
  },
  { method: 'get', path: `${TASK}/{task_id}`, operationId: 'v1.background-task.get', tag: 'Background Task', summary: 'Get a background task and its progress', ok: { 200: 'BackgroundTaskOut' } },
  {
    method: 'post',
    path: `${TASK}/{task_id}/cancel`,
    operationId: 'v1.background-task.cancel',
    tag: 'Background Task',
    summary: 'Hookpost: cancel a running task; it stops after the messages it is sending (cancelling a cancelled task answers it again)',
    ok: { 202: 'BackgroundTaskOut' },
    conflict: 'The task has ended (finished or failed)',
  },
];

/** Svix's operational-webhook endpoints: endpoints that receive Hookpost's own notifications (admin keys only). */
const operationalWebhookOperations: readonly Operation[] = [
  { method: 'get', path: OPERATIONAL, operationId: 'v1.operational-webhook.endpoint.list', tag: 'Operational Webhook Endpoint', summary: 'List operational webhook endpoints', ok: { 200: 'ListResponse_OperationalWebhookEndpointOut_' } },
  {
    method: 'post',
    path: OPERATIONAL,
    operationId: 'v1.operational-webhook.endpoint.create',
    tag: 'Operational Webhook Endpoint',
    summary: 'Create an operational webhook endpoint: it receives the operational events (see webhooks); its secret is generated unless given',
    body: 'OperationalWebhookEndpointIn',
    ok: { 201: 'OperationalWebhookEndpointOut' },
    conflict: `${uidTaken} operational webhook endpoint`,
    links: { 201: byOperationalEndpoint },
  },
  { method: 'get', path: `${OPERATIONAL}/{endpoint_id}`, operationId: 'v1.operational-webhook.endpoint.get', tag: 'Operational Webhook Endpoint', summary: 'Get an operational webhook endpoint', ok: { 200: 'OperationalWebhookEndpointOut' } },
  {
    method: 'put',
    path: `${OPERATIONAL}/{endpoint_id}`,
    operationId: 'v1.operational-webhook.endpoint.upsert',
    tag: 'Operational Webhook Endpoint',
    summary: 'Replace an operational webhook endpoint',
    body: 'OperationalWebhookEndpointUpsertIn',
    ok: { 200: 'OperationalWebhookEndpointOut' },
    conflict: `${uidTaken} operational webhook endpoint`,
  },
  { method: 'delete', path: `${OPERATIONAL}/{endpoint_id}`, operationId: 'v1.operational-webhook.endpoint.delete', tag: 'Operational Webhook Endpoint', summary: 'Delete an operational webhook endpoint', ok: { 204: null } },
  { method: 'get', path: `${OPERATIONAL}/{endpoint_id}/headers`, operationId: 'v1.operational-webhook.endpoint.get-headers', tag: 'Operational Webhook Endpoint', summary: 'Get its custom headers', ok: { 200: 'EndpointHeadersOut' } },
  { method: 'put', path: `${OPERATIONAL}/{endpoint_id}/headers`, operationId: 'v1.operational-webhook.endpoint.set-headers', tag: 'Operational Webhook Endpoint', summary: 'Replace its custom headers', body: 'EndpointHeadersIn', ok: { 204: null } },
  { method: 'get', path: `${OPERATIONAL}/{endpoint_id}/secret`, operationId: 'v1.operational-webhook.endpoint.get-secret', tag: 'Operational Webhook Endpoint', summary: 'Get its signing secret', ok: { 200: 'EndpointSecretOut' } },
  {
    method: 'post',
    path: `${OPERATIONAL}/{endpoint_id}/secret/rotate`,
    operationId: 'v1.operational-webhook.endpoint.rotate-secret',
    tag: 'Operational Webhook Endpoint',
    summary: 'Rotate its secret',
    body: 'EndpointSecretRotateIn',
    ok: { 204: null },
  },
];

/** Every operation of Svix's v1 core API that Hookpost serves, in Svix's terms. */
export const svixOperations: readonly Operation[] = [...coreOperations, ...operationalWebhookOperations];

function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]!);
}

function operationObject(operation: Operation): Json {
  const hasPathIds = pathParameterNames(operation.path).length > 0;
  const query = queryParameters(operation.operationId);
  const writes = operation.method !== 'get';
  const responses: Json = {};
  for (const [status, schema] of Object.entries(operation.ok)) {
    responses[status] = {
      description: Number(status) === 201 ? 'Created' : Number(status) === 202 ? 'Accepted' : Number(status) === 204 ? 'Done' : 'OK',
      ...(schema ? { content: json(ref(schema)) } : {}),
      ...(operation.links?.[Number(status)] ? { links: operation.links[Number(status)] } : {}),
    };
  }
  if (operation.body) responses[400] = error('The body is not JSON (or not UTF-8, or nested too deep)');
  if (operation.operationId === 'v1.authentication.logout') responses[400] = error('The key is an admin key or a configured one: those are withdrawn in the configuration, not logged out');
  if (!operation.public) responses[401] = error('No API key, or a wrong one');
  if (hasPathIds) responses[404] = error('Nothing of that id (or uid) that this key can see');
  // (a POST's Idempotency-Key used already for another request, or still in progress, is a 409 too)
  const keyConflict = 'the Idempotency-Key was used for another request, or its first request is still in progress';
  if (operation.conflict || operation.method === 'post') {
    responses[409] = error([operation.conflict, operation.method === 'post' ? keyConflict : undefined].filter(Boolean).join('; or '));
  }
  if (operation.body) {
    responses[413] = error('The body is over the size limit');
    responses[415] = error('The body is not application/json');
  }
  // (a POST's Idempotency-Key that is empty, too long or not printable ASCII is a 422 too)
  if (operation.body || query.length > 0 || operation.method === 'post') {
    responses[422] = { description: 'A value outside its schema; loc names it (["body", ...] or ["query", ...])', content: json(ref('HTTPValidationError')) };
  }
  if (!operation.public) {
    responses[503] = error(
      writes ? 'The event log cannot take the write; try again after Retry-After' : 'The read model did not catch up with earlier writes in time; try again after Retry-After',
      retryAfter,
    );
  }
  const parameters = [...query, ...(operation.method === 'post' ? [idempotencyKey] : [])];
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    tags: [`Svix: ${operation.tag}`],
    ...(operation.public ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    // (rotating, and asking for portal access, take no body at all as well: every field is optional)
    ...(operation.body ? { requestBody: { required: !/rotate-secret$|app-portal-access$/.test(operation.operationId), content: json(ref(operation.body)) } } : {}),
    responses,
  };
}

function buildPaths(operations: readonly Operation[]): Json {
  const paths: Record<string, Json> = {};
  for (const operation of operations) {
    const parameters = pathParameterNames(operation.path).map((name) => {
      const parameter = pathParameters[name];
      if (!parameter) throw new Error(`no schema for path parameter ${name}`);
      return { name, in: 'path', required: true, ...parameter };
    });
    const item = (paths[operation.path] ??= parameters.length > 0 ? { parameters } : {});
    item[operation.method] = operationObject(operation);
  }
  return paths;
}

export type SvixOpenApi = { paths: Record<string, Json>; schemas: Record<string, Json>; webhooks: Record<string, Json> };

/**
 * The /api/v1 paths, their component schemas and the operational webhooks, for openapi.ts to merge into the
 * document: `paths: {...paths, ...svix.paths}`, `components.schemas: {...schemas, ...svix.schemas}`,
 * `webhooks: svix.webhooks`.
 */
export function svixOpenApi(): SvixOpenApi {
  return { paths: buildPaths([...svixOperations, ...svixExtensionOperations]) as Record<string, Json>, schemas: buildSchemas() as Record<string, Json>, webhooks: buildWebhooks() as Record<string, Json> };
}
