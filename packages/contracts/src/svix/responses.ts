import type { FromSchema } from 'json-schema-to-ts';
import { backgroundTaskStatuses, svixTaskStatuses, type SvixTaskType } from '../backgroundTask';
import { deliveryStatuses, type DeliveryStatus } from '../deliveryStateMachine';
import { svixIdPattern, UID_MAX_LENGTH, UID_PATTERN } from './ids';
import { CHANNEL_PATTERN, EVENT_TYPE_NAME_PATTERN, SVIX_SECRET_PATTERN, TAG_PATTERN } from './schemas';
import { PAYLOAD_FILTER_SCHEMA_IDS, type PayloadFilter } from '../payloadFilterSchema';

/**
 * Response bodies of the Svix v1 API, as JSON Schema `as const`: they go into the OpenAPI document, where
 * schemathesis checks every answer against them, and their derived types let the HTTP layer build answers the
 * compiler checks. Field names, required fields and id shapes are Svix's, so Svix's clients read them; every
 * schema is closed (additionalProperties: false) so an answer carries nothing the document does not state.
 * Nested bodies are written out, not referenced, so that each schema stands alone for ajv and for the types.
 */

const id = (prefix: Parameters<typeof svixIdPattern>[0]) => ({ type: 'string', pattern: svixIdPattern(prefix) }) as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const uid = { type: ['string', 'null'], minLength: 1, maxLength: UID_MAX_LENGTH, pattern: UID_PATTERN } as const;
const metadata = { type: 'object', additionalProperties: { type: 'string' } } as const;
const throttleRate = { type: ['integer', 'null'], minimum: 0 } as const;
const eventTypeName = { type: 'string', pattern: EVENT_TYPE_NAME_PATTERN } as const;
const names = (item: object) => ({ type: ['array', 'null'], uniqueItems: true, items: item }) as const;
const channels = { type: ['array', 'null'], uniqueItems: true, items: { type: 'string', pattern: CHANNEL_PATTERN } } as const;
const tags = { type: ['array', 'null'], uniqueItems: true, items: { type: 'string', pattern: TAG_PATTERN } } as const;

/** Svix's delivery states, as numbers (`status`) and words (`statusText`). */
export const svixMessageStatuses = { success: 0, pending: 1, fail: 2, sending: 3, canceled: 4 } as const;
export type SvixMessageStatusText = keyof typeof svixMessageStatuses;
export type SvixMessageStatus = (typeof svixMessageStatuses)[SvixMessageStatusText];
export const messageStatusSchema = { enum: [0, 1, 2, 3, 4], description: '0 success, 1 pending, 2 fail, 3 sending, 4 canceled' } as const satisfies { enum: readonly (typeof svixMessageStatuses)[SvixMessageStatusText][]; description: string };
export const messageStatusTextSchema = { enum: ['success', 'pending', 'fail', 'sending', 'canceled'] } as const satisfies { enum: readonly SvixMessageStatusText[] };

/**
 * How a delivery's status reads in Svix's terms. A delivery waiting for a retry is `sending` (attempts made,
 * more to come); Svix shows it as `pending` unless the caller asks for expanded statuses.
 */
export function svixStatusOf(status: DeliveryStatus, expanded: boolean): { status: SvixMessageStatus; statusText: SvixMessageStatusText } {
  const text = svixStatusTextOf(status, expanded);
  return { status: svixMessageStatuses[text], statusText: text };
}

function svixStatusTextOf(status: DeliveryStatus, expanded: boolean): SvixMessageStatusText {
  switch (status) {
    case 'pending':
      return 'pending';
    case 'retrying':
      return expanded ? 'sending' : 'pending';
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'fail';
    case 'cancelled':
      return 'canceled';
    default: {
      const unknown: never = status;
      throw new Error(`unknown delivery status ${String(unknown)} (known: ${deliveryStatuses.join(', ')})`);
    }
  }
}

export const applicationOutSchema = {
  $id: 'ApplicationOut',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'uid', 'metadata', 'throttleRate', 'rateLimit', 'createdAt', 'updatedAt'],
  properties: {
    id: id('app'),
    name: { type: 'string' },
    uid,
    metadata,
    throttleRate,
    rateLimit: { ...throttleRate, description: 'Deprecated name of throttleRate (same value).' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
} as const;
export type ApplicationOut = FromSchema<typeof applicationOutSchema>;

const endpointFields = {
  id: id('ep'),
  url: { type: 'string', format: 'uri' },
  description: { type: 'string' },
  version: { type: 'integer', minimum: 1 },
  disabled: { type: 'boolean' },
  // (any text: an endpoint made through the seed API may filter on names outside Svix's pattern)
  filterTypes: names({ type: 'string' }),
  channels,
  throttleRate,
  rateLimit: { ...throttleRate, description: 'Deprecated name of throttleRate (same value).' },
  uid,
  createdAt: dateTime,
  updatedAt: dateTime,
} as const;
const endpointRequired = ['id', 'url', 'description', 'version', 'disabled', 'filterTypes', 'channels', 'throttleRate', 'rateLimit', 'uid', 'createdAt', 'updatedAt'] as const;

export const endpointOutSchema = {
  $id: 'EndpointOut',
  type: 'object',
  additionalProperties: false,
  required: [...endpointRequired, 'metadata', 'payloadFilter', 'paused', 'ordered'],
  // (payloadFilter, paused and ordered: Hookpost's; Svix's clients ignore them)
  properties: {
    ...endpointFields,
    metadata,
    payloadFilter: { $ref: PAYLOAD_FILTER_SCHEMA_IDS.outer },
    paused: { type: 'boolean', description: 'Hookpost: deliveries are held until the endpoint is resumed (POST …/pause, …/resume).' },
    ordered: { type: 'boolean', description: 'Hookpost: deliveries are sent in message order, one at a time (POST …/ordered/skip-head ends a head that holds them).' },
  },
} as const;
// (FromSchema cannot follow the filter's $ref: the rest of the shape from the schema, the filter's type by hand)
export type EndpointOut = FromSchema<{ type: 'object'; additionalProperties: false; required: [...typeof endpointRequired, 'metadata']; properties: typeof endpointFields & { metadata: typeof metadata } }> & {
  payloadFilter: PayloadFilter | null;
};

export const endpointSecretOutSchema = {
  $id: 'EndpointSecretOut',
  type: 'object',
  additionalProperties: false,
  required: ['key'],
  properties: { key: { type: 'string', pattern: SVIX_SECRET_PATTERN, description: 'whsec_ + base64 of the key bytes.' } },
} as const;
export type EndpointSecretOut = FromSchema<typeof endpointSecretOutSchema>;

export const endpointHeadersOutSchema = {
  $id: 'EndpointHeadersOut',
  type: 'object',
  additionalProperties: false,
  required: ['headers', 'sensitive'],
  properties: {
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'The custom headers, without those named in sensitive.' },
    sensitive: { type: 'array', uniqueItems: true, items: { type: 'string' }, description: 'Headers that are set but whose values are not shown (credentials).' },
  },
} as const;
export type EndpointHeadersOut = FromSchema<typeof endpointHeadersOutSchema>;

const count = { type: 'integer', minimum: 0 } as const;
export const endpointStatsSchema = {
  $id: 'EndpointStats',
  type: 'object',
  additionalProperties: false,
  required: ['success', 'pending', 'sending', 'fail', 'canceled'],
  properties: { success: count, pending: count, sending: count, fail: count, canceled: count },
} as const;
export type EndpointStats = FromSchema<typeof endpointStatsSchema>;

export const eventTypeOutSchema = {
  $id: 'EventTypeOut',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'archived', 'deprecated', 'schemas', 'createdAt', 'updatedAt'],
  properties: {
    name: eventTypeName,
    description: { type: 'string' },
    archived: { type: 'boolean' },
    deprecated: { type: 'boolean' },
    schemas: { type: ['object', 'null'], additionalProperties: { type: 'object' }, description: 'null when the list was asked without with_content.' },
    featureFlag: { type: ['string', 'null'] },
    featureFlags: names({ type: 'string' }),
    groupName: { type: ['string', 'null'] },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
} as const;
export type EventTypeOut = FromSchema<typeof eventTypeOutSchema>;

const messageFields = {
  id: id('msg'),
  eventType: eventTypeName,
  eventId: uid,
  payload: { type: 'object', description: 'Empty ({}) once the content is expunged or past retention, or when asked without with_content.' },
  channels,
  tags,
  deliverAt: nullableDateTime,
  timestamp: dateTime,
} as const;
const messageRequired = ['id', 'eventType', 'eventId', 'payload', 'channels', 'tags', 'timestamp'] as const;

export const messageOutSchema = {
  $id: 'MessageOut',
  type: 'object',
  additionalProperties: false,
  required: messageRequired,
  properties: messageFields,
} as const;
export type MessageOut = FromSchema<typeof messageOutSchema>;

const { $id: _messageOutId, ...messageOutBody } = messageOutSchema;

export const messageAttemptTriggerTypes = { scheduled: 0, manual: 1 } as const;

export const messageAttemptOutSchema = {
  $id: 'MessageAttemptOut',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'msgId', 'endpointId', 'url', 'response', 'responseStatusCode', 'responseDurationMs', 'status', 'statusText', 'triggerType', 'timestamp'],
  properties: {
    id: id('atmpt'),
    msgId: id('msg'),
    endpointId: id('ep'),
    url: { type: 'string', format: 'uri' },
    response: { type: 'string', description: 'The response body as received (truncated); empty once expunged.' },
    responseStatusCode: { type: 'integer', minimum: 0, maximum: 999, description: '0 when no response came (connection error, timeout).' },
    responseDurationMs: { type: 'integer', minimum: 0 },
    status: messageStatusSchema,
    statusText: messageStatusTextSchema,
    triggerType: { enum: [messageAttemptTriggerTypes.scheduled, messageAttemptTriggerTypes.manual], description: '0 scheduled, 1 manual (resend)' },
    timestamp: dateTime,
    msg: { ...messageOutBody, type: ['object', 'null'], description: 'The message, when asked with with_msg.' },
  },
} as const;
export type MessageAttemptOut = FromSchema<typeof messageAttemptOutSchema>;

/** An endpoint a message was sent to, with where its delivery stands (list-attempted-destinations). */
export const messageEndpointOutSchema = {
  $id: 'MessageEndpointOut',
  type: 'object',
  additionalProperties: false,
  required: [...endpointRequired, 'status', 'statusText', 'nextAttempt'],
  properties: { ...endpointFields, status: messageStatusSchema, statusText: messageStatusTextSchema, nextAttempt: nullableDateTime },
} as const;
export type MessageEndpointOut = FromSchema<typeof messageEndpointOutSchema>;

/**
 * An endpoint a message was for (its event type and channels) that got no delivery of it because its payload
 * filter refused it, with why (Hookpost's list-filtered-endpoints).
 */
export const messageFilteredEndpointOutSchema = {
  $id: 'MessageFilteredEndpointOut',
  type: 'object',
  additionalProperties: false,
  required: ['endpointId', 'reason', 'detail', 'timestamp'],
  properties: {
    endpointId: id('ep'),
    reason: { enum: ['payloadFilter'], description: 'The endpoint field that kept the message from it.' },
    detail: { type: 'string', description: 'Which part of the filter failed and how: paths, operators and the types found, never payload values.' },
    timestamp: { ...dateTime, description: 'When the message was routed.' },
  },
} as const;
export type MessageFilteredEndpointOut = FromSchema<typeof messageFilteredEndpointOutSchema>;

/** A message sent to an endpoint, with where its delivery stands (list-attempted-messages). */
export const endpointMessageOutSchema = {
  $id: 'EndpointMessageOut',
  type: 'object',
  additionalProperties: false,
  required: [...messageRequired, 'status', 'statusText', 'nextAttempt'],
  properties: { ...messageFields, status: messageStatusSchema, statusText: messageStatusTextSchema, nextAttempt: nullableDateTime },
} as const;
export type EndpointMessageOut = FromSchema<typeof endpointMessageOutSchema>;

/** What starting a background task answers (202): the task, running. */
const backgroundTaskStarted = <Id extends 'RecoverOut' | 'ReplayOut' | 'ReplayFromLogOut', Task extends SvixTaskType>(schemaId: Id, task: Task) =>
  ({
    $id: schemaId,
    type: 'object',
    additionalProperties: false,
    required: ['id', 'status', 'task', 'updatedAt'],
    properties: { id: id('qtask'), status: { enum: svixTaskStatuses }, task: { const: task }, updatedAt: dateTime },
  }) as const;
export const recoverOutSchema = backgroundTaskStarted('RecoverOut', 'endpoint.recover');
export type RecoverOut = FromSchema<typeof recoverOutSchema>;
export const replayOutSchema = backgroundTaskStarted('ReplayOut', 'endpoint.replay');
export type ReplayOut = FromSchema<typeof replayOutSchema>;
/** A replay from the log (Hookpost's): Svix's type for a filtered replay, `endpoint.bulk-replay`. */
export const replayFromLogOutSchema = backgroundTaskStarted('ReplayFromLogOut', 'endpoint.bulk-replay');
export type ReplayFromLogOut = FromSchema<typeof replayFromLogOutSchema>;

/**
 * A background task as Svix's `GET /api/v1/background-task/{task_id}` shows it; `data` is ours (Svix leaves it
 * free-form): what the task was asked to do, where it stands, and how it ended.
 */
export const backgroundTaskOutSchema = {
  $id: 'BackgroundTaskOut',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status', 'task', 'data', 'updatedAt'],
  properties: {
    id: id('qtask'),
    status: { enum: svixTaskStatuses, description: 'A cancelled task reads as failed (Svix has no cancelled); data.state says cancelled.' },
    task: { enum: ['endpoint.recover', 'endpoint.replay', 'endpoint.bulk-replay'] },
    data: {
      type: 'object',
      additionalProperties: false,
      required: ['state', 'endpointId', 'since', 'until', 'eventTypes', 'channel', 'messagesScanned', 'messagesSent', 'progress', 'reason', 'startedAt', 'finishedAt'],
      properties: {
        state: { enum: backgroundTaskStatuses, description: 'running, finished, failed, or cancelled (through POST /api/v1/background-task/{task_id}/cancel).' },
        endpointId: id('ep'),
        since: nullableDateTime,
        until: nullableDateTime,
        eventTypes: names({ type: 'string' }),
        channel: { type: ['string', 'null'] },
        messagesScanned: { type: 'integer', minimum: 0, description: 'Messages looked at so far.' },
        messagesSent: { type: 'integer', minimum: 0, description: 'Messages given a new delivery to the endpoint so far.' },
        progress: { type: ['number', 'null'], minimum: 0, maximum: 1, description: 'The share of the work done, when the task knows its size (a replay from the log does).' },
        reason: { type: ['string', 'null'], description: 'Why the task failed or stopped.' },
        startedAt: dateTime,
        finishedAt: nullableDateTime,
      },
    },
    updatedAt: dateTime,
  },
} as const;
export type BackgroundTaskOut = FromSchema<typeof backgroundTaskOutSchema>;

export const appPortalAccessOutSchema = {
  $id: 'AppPortalAccessOut',
  type: 'object',
  additionalProperties: false,
  required: ['url', 'token'],
  properties: {
    url: { type: 'string', format: 'uri', description: 'Where the application portal opens with this token.' },
    token: { type: 'string', description: 'A bearer token that sees and changes only this application.' },
  },
} as const;
export type AppPortalAccessOut = FromSchema<typeof appPortalAccessOutSchema>;

/** What resend answers (202). */
export const emptyResponseSchema = { $id: 'EmptyResponse', type: 'object', additionalProperties: false, properties: {} } as const;

/** Operational webhook endpoints: endpoints of Hookpost's own notifications; no channels or custom version. */
const { channels: _channels, version: _version, ...operationalEndpointFields } = endpointFields;
export const operationalWebhookEndpointOutSchema = {
  $id: 'OperationalWebhookEndpointOut',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'description', 'disabled', 'filterTypes', 'throttleRate', 'rateLimit', 'uid', 'metadata', 'createdAt', 'updatedAt'],
  properties: { ...operationalEndpointFields, metadata },
} as const;
export type OperationalWebhookEndpointOut = FromSchema<typeof operationalWebhookEndpointOutSchema>;

/**
 * Svix's list envelope. `iterator` continues after the last item (null when the page is empty and nothing was
 * given to continue from), `prevIterator` goes back before the first, `done` says no item followed this page.
 */
export function listResponseSchema<Item extends object>(item: Item) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['data', 'iterator', 'prevIterator', 'done'],
    properties: {
      data: { type: 'array', items: item },
      iterator: { type: ['string', 'null'] },
      prevIterator: { type: ['string', 'null'] },
      done: { type: 'boolean' },
    },
  } as const;
}
export type ListResponse<Item> = { data: Item[]; iterator: string | null; prevIterator: string | null; done: boolean };
