import type { FromSchema } from 'json-schema-to-ts';
import { limits, TEXT_PATTERN } from '../api';
import { compile, describePattern } from '../validation';
import { svixIdPattern, UID_MAX_LENGTH, UID_PATTERN } from './ids';
import { PAYLOAD_FILTER_SCHEMA_IDS } from '../payloadFilterSchema';

/**
 * Request bodies of the Svix v1 API (/api/v1), as JSON Schema `as const` with the types derived from them; the
 * same schemas go into the OpenAPI document (svix/openapi.ts). Field names, types, patterns and limits follow
 * Svix's document and its 1.x clients; where the two differ the clients win, because they are what users run:
 * endpoints filter with `filterTypes` (the reference document says `eventTypes`), and `description`,
 * `version`, `rateLimit` (the deprecated name of `throttleRate`) and a message's `tags` are accepted.
 *
 * Unknown fields are ignored, not refused: Svix's server ignores them, and clients of other versions send
 * fields of their own (a refusal would break a client upgrade). Limits Svix does not state are ours and
 * are named in `svixLimits`; they bound what one request can store.
 */

export const svixLimits = {
  nameLength: 256,
  descriptionLength: 4096,
  /** The seed API's target_url limit: endpoints and subscriptions are one thing. Svix states 65,536. */
  urlLength: limits.urlLength,
  channelLength: 128,
  channelsCount: 10,
  tagLength: 128,
  tagsCount: 10,
  eventTypeNameLength: 256,
  headersCount: 32,
  headerNameLength: 256,
  headerValueLength: 4096,
  /** Svix's limits on the rate (messages per second) an application or endpoint is throttled to. */
  throttleRateMax: 65_535,
  schemaVersions: 20,
  gracePeriodSecondsMax: 604_800,
  portalExpiryMinSeconds: 3_600,
  portalExpiryMaxSeconds: 604_800,
} as const;

/** Event type names, and the names in filterTypes and event_types filters. */
export const EVENT_TYPE_NAME_PATTERN = UID_PATTERN;
export const CHANNEL_PATTERN = '^[a-zA-Z0-9\\-_.:+]+$';
export const TAG_PATTERN = '^[a-zA-Z0-9\\-_./\\\\#]+$';

/**
 * An HMAC secret as Svix takes it: standard base64 of 24 to 64 random bytes, `whsec_` in front or not (without
 * it the text is still base64, unlike the seed API's secret_key, so the gateway stores `whsec_` + it: see
 * normalizeSvixSecret). Svix's own pattern allows 32 to 100 characters of [A-Za-z0-9+/=] and ed25519 keys
 * (`whsk_`); Hookpost signs Svix endpoints with HMAC only, and takes only what a receiver's Standard Webhooks
 * library decodes to the same bytes.
 */
const B64 = '[A-Za-z0-9+/]';
const SECRET_BODY =
  `(?:${B64}{4}){8,20}(?:${B64}{2}(?:==)?|${B64}{3}=?)?` + // 24..62 bytes
  `|(?:${B64}{4}){21}(?:${B64}{2}(?:==)?)?`; // 63 or 64 bytes
export const SVIX_SECRET_PATTERN = `^(?:whsec_)?(?:${SECRET_BODY})$`;
const SVIX_SECRET = new RegExp(SVIX_SECRET_PATTERN);

/** `whsec_` + the base64 of a secret given with or without the prefix; undefined if it is not one. */
export function normalizeSvixSecret(secret: string): string | undefined {
  if (!SVIX_SECRET.test(secret)) return undefined;
  return secret.startsWith('whsec_') ? secret : `whsec_${secret}`;
}

/**
 * Custom headers sent with every delivery to an endpoint: an HTTP token as the name, a value Node's HTTP client
 * can send (no CR, LF or other control characters besides tab; Latin-1). The headers Hookpost sets itself or
 * that HTTP framing owns are refused, whatever their case: the Standard Webhooks signature headers (webhook-*,
 * and svix-* which receivers may read as the same), Content-Type and Content-Length, Host, and the
 * connection-level headers.
 */
// Outside a character class a `-` needs no escape (and may not have one: ajv compiles patterns with the u flag).
const caseless = (text: string) => [...text].map((char) => (/[a-z]/.test(char) ? `[${char.toUpperCase()}${char}]` : char)).join('');
const RESERVED_HEADER_PREFIXES = ['webhook-', 'svix-'];
export const reservedHeaderNames = ['content-type', 'content-length', 'host', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-connection'] as const;
export const HEADER_NAME_PATTERN =
  `^(?!(?:${RESERVED_HEADER_PREFIXES.map(caseless).join('|')})|(?:${reservedHeaderNames.map(caseless).join('|')})$)` + "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$";
export const HEADER_VALUE_PATTERN = '^[\\t\\u0020-\\u007e\\u0080-\\u00ff]*$';

/**
 * The `Idempotency-Key` header every POST takes (the svix clients send `auto_<uuid>` unless given one): visible
 * ASCII, at most 256 characters, so that it can be stored and compared as given.
 */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 256;
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]+$';
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;
export function isIdempotencyKey(text: string): boolean {
  return IDEMPOTENCY_KEY.test(text);
}

describePattern(EVENT_TYPE_NAME_PATTERN, 'must be letters, digits, -, _ or .');
describePattern(CHANNEL_PATTERN, 'must be letters, digits, -, _, ., : or +');
describePattern(TAG_PATTERN, 'must be letters, digits, -, _, ., /, \\ or #');
describePattern(SVIX_SECRET_PATTERN, 'must be standard base64 of 24 to 64 bytes, optionally prefixed with whsec_');
describePattern(HEADER_NAME_PATTERN, `must be an HTTP header name other than ${reservedHeaderNames.join(', ')}, webhook-* and svix-*`);
describePattern(HEADER_VALUE_PATTERN, 'must be Latin-1 text without control characters other than tab');

// Fields shared by several bodies.
const text = (maxLength: number) => ({ type: 'string', maxLength, pattern: TEXT_PATTERN }) as const;
const uid = { type: ['string', 'null'], minLength: 1, maxLength: UID_MAX_LENGTH, pattern: UID_PATTERN } as const;
const metadata = {
  type: 'object',
  propertyNames: { type: 'string', pattern: TEXT_PATTERN },
  additionalProperties: { type: 'string', pattern: TEXT_PATTERN },
} as const;
const eventTypeName = { type: 'string', minLength: 1, maxLength: svixLimits.eventTypeNameLength, pattern: EVENT_TYPE_NAME_PATTERN } as const;
const channel = { type: 'string', minLength: 1, maxLength: svixLimits.channelLength, pattern: CHANNEL_PATTERN } as const;
const tag = { type: 'string', minLength: 1, maxLength: svixLimits.tagLength, pattern: TAG_PATTERN } as const;
/** 0 and null both mean "not throttled" where Svix allows 0 (patches and answers); creation asks for 1 or more. */
const throttleRate = (minimum: 0 | 1) => ({ type: ['integer', 'null'], minimum, maximum: svixLimits.throttleRateMax }) as const;
const url = {
  type: 'string',
  format: 'uri',
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
  minLength: 1,
  maxLength: svixLimits.urlLength,
  description:
    'Where messages are POSTed. A literal address that is not public is refused with 422 unless HOOKPOST_ALLOWED_TARGET_CIDRS allows it; a host name is checked when it is resolved, at delivery.',
} as const;
const filterTypes = (minItems: 0 | 1) =>
  ({ type: ['array', 'null'], minItems, uniqueItems: true, items: eventTypeName, description: 'Event types this endpoint receives; null (or absent) receives every type.' }) as const;
const channels = (minItems: 0 | 1) =>
  ({
    type: ['array', 'null'],
    minItems,
    maxItems: svixLimits.channelsCount,
    uniqueItems: true,
    items: channel,
    description: 'Channels this endpoint receives; null (or absent) receives messages of every channel and of none.',
  }) as const;
const headerName = { type: 'string', maxLength: svixLimits.headerNameLength, pattern: HEADER_NAME_PATTERN } as const;
const headerValue = { type: 'string', maxLength: svixLimits.headerValueLength, pattern: HEADER_VALUE_PATTERN } as const;
const headerMap = { type: 'object', maxProperties: svixLimits.headersCount, propertyNames: headerName, additionalProperties: headerValue } as const;
const secret = {
  type: ['string', 'null'],
  pattern: SVIX_SECRET_PATTERN,
  description: 'HMAC secret: standard base64 of 24-64 bytes, optionally prefixed with whsec_. Generated when absent (recommended).',
} as const;
const version = { type: ['integer', 'null'], minimum: 1, maximum: 2_147_483_647, description: 'Deprecated by Svix; stored and shown.' } as const;
const description = text(svixLimits.descriptionLength);
const dateTime = { type: 'string', format: 'date-time' } as const;
// (anyOf rather than type: [string, null]: test generators then keep the format for the string case)
const nullableDateTime = { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] } as const;
const featureFlag = { type: 'string', minLength: 1, maxLength: 256, pattern: UID_PATTERN } as const;

const applicationInProperties = {
  name: { type: 'string', minLength: 1, maxLength: svixLimits.nameLength, pattern: TEXT_PATTERN },
  uid: { ...uid, description: 'Unique among applications; usable in place of the id in paths.' },
  metadata,
  throttleRate: throttleRate(1),
  rateLimit: { ...throttleRate(1), description: 'Deprecated name of throttleRate.' },
} as const;
/** ApplicationIn without its $id, to nest in MessageIn and AppPortalAccessIn (ajv refuses one $id twice). */
const applicationInBody = { type: 'object', required: ['name'], properties: applicationInProperties } as const;

export const applicationInSchema = { $id: 'ApplicationIn', ...applicationInBody } as const;
export type ApplicationIn = FromSchema<typeof applicationInSchema>;

export const applicationPatchSchema = {
  $id: 'ApplicationPatch',
  type: 'object',
  properties: { ...applicationInProperties, throttleRate: throttleRate(0), rateLimit: { ...throttleRate(0), description: 'Deprecated name of throttleRate.' } },
} as const;
export type ApplicationPatch = FromSchema<typeof applicationPatchSchema>;

/** Hookpost's payload filter (payloadFilterSchema.ts); null or absent: every payload. */
const payloadFilter = { $ref: PAYLOAD_FILTER_SCHEMA_IDS.outer } as const;

const endpointCommonProperties = {
  url,
  description,
  disabled: { type: 'boolean' },
  filterTypes: filterTypes(1),
  channels: channels(1),
  metadata,
  throttleRate: throttleRate(1),
  rateLimit: { ...throttleRate(1), description: 'Deprecated name of throttleRate.' },
  uid: { ...uid, description: 'Unique among the application\'s endpoints; usable in place of the id in paths.' },
  version,
  payloadFilter,
  ordered: {
    type: 'boolean',
    description:
      "Hookpost: deliver this endpoint's messages in message order, one at a time, each after the one before succeeded or ended failed (default false). See docs/design-notes.md, Ordered endpoints.",
  },
} as const;

export const endpointInSchema = {
  $id: 'EndpointIn',
  type: 'object',
  required: ['url'],
  properties: { ...endpointCommonProperties, headers: { ...headerMap, type: ['object', 'null'] }, secret },
} as const;
export type EndpointIn = FromSchema<typeof endpointInSchema>;

/** The body of PUT (upsert) of an endpoint: Svix's EndpointUpsertIn (EndpointUpdate in its clients). No secret or headers. */
export const endpointUpdateSchema = {
  $id: 'EndpointUpdate',
  type: 'object',
  required: ['url'],
  properties: endpointCommonProperties,
} as const;
export type EndpointUpdate = FromSchema<typeof endpointUpdateSchema>;

export const endpointPatchSchema = {
  $id: 'EndpointPatch',
  type: 'object',
  properties: {
    ...endpointCommonProperties,
    // An empty list in a patch reads as null (every type, every channel), as Svix's patch allows it.
    filterTypes: filterTypes(0),
    channels: channels(0),
    throttleRate: throttleRate(0),
    rateLimit: { ...throttleRate(0), description: 'Deprecated name of throttleRate.' },
    version: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
    secret,
  },
} as const;
export type EndpointPatch = FromSchema<typeof endpointPatchSchema>;

export const endpointHeadersInSchema = {
  $id: 'EndpointHeadersIn',
  type: 'object',
  required: ['headers'],
  properties: { headers: headerMap },
} as const;
export type EndpointHeadersIn = FromSchema<typeof endpointHeadersInSchema>;

export const endpointHeadersPatchInSchema = {
  $id: 'EndpointHeadersPatchIn',
  type: 'object',
  required: ['headers'],
  properties: {
    headers: { ...headerMap, additionalProperties: { ...headerValue, type: ['string', 'null'] }, description: 'Headers to set; a null value removes that header.' },
    deleteHeaders: {
      type: 'array',
      maxItems: svixLimits.headersCount,
      items: headerName,
      description: 'Headers to remove.',
    },
  },
} as const;
export type EndpointHeadersPatchIn = FromSchema<typeof endpointHeadersPatchInSchema>;

export const endpointSecretRotateInSchema = {
  $id: 'EndpointSecretRotateIn',
  type: 'object',
  properties: {
    key: { ...secret, description: 'The new secret; generated when absent or null (recommended).' },
    gracePeriodSeconds: {
      type: ['integer', 'null'],
      minimum: 0,
      maximum: svixLimits.gracePeriodSecondsMax,
      description: 'How long the previous secret keeps signing too; default 86400 (24 hours).',
    },
  },
} as const;
export type EndpointSecretRotateIn = FromSchema<typeof endpointSecretRotateInSchema>;

/** Versions of an event type's payload schema: `{"1": {JSON Schema}}`. Whether a schema compiles is checked by payloadSchema.ts. */
const payloadSchemas = {
  type: ['object', 'null'],
  maxProperties: svixLimits.schemaVersions,
  propertyNames: { type: 'string', pattern: '^[1-9][0-9]{0,5}$' },
  additionalProperties: { type: 'object' },
  description: 'JSON Schema (draft-07) of the payload per version ("1", "2", ...). Messages of this type are checked against the highest version: a payload that does not match is refused with 422.',
} as const;
describePattern('^[1-9][0-9]{0,5}$', 'must be a version number (1, 2, ...)');

const eventTypeCommonProperties = {
  description,
  archived: { type: 'boolean' },
  deprecated: { type: 'boolean' },
  featureFlag: { ...featureFlag, type: ['string', 'null'], description: 'Deprecated by Svix; accepted and ignored.' },
  featureFlags: { type: ['array', 'null'], minItems: 1, uniqueItems: true, items: featureFlag, description: 'Accepted and ignored.' },
  groupName: { type: ['string', 'null'], minLength: 1, maxLength: 256, pattern: UID_PATTERN },
  schemas: payloadSchemas,
} as const;

export const eventTypeInSchema = {
  $id: 'EventTypeIn',
  type: 'object',
  required: ['name', 'description'],
  properties: { name: eventTypeName, ...eventTypeCommonProperties },
} as const;
export type EventTypeIn = FromSchema<typeof eventTypeInSchema>;

/** The body of PUT (upsert) of an event type (EventTypeUpdate in Svix's clients); the name is in the path. */
export const eventTypeUpsertInSchema = {
  $id: 'EventTypeUpsertIn',
  type: 'object',
  required: ['description'],
  properties: eventTypeCommonProperties,
} as const;
export type EventTypeUpsertIn = FromSchema<typeof eventTypeUpsertInSchema>;

export const eventTypePatchSchema = {
  $id: 'EventTypePatch',
  type: 'object',
  properties: eventTypeCommonProperties,
} as const;
export type EventTypePatch = FromSchema<typeof eventTypePatchSchema>;

export const messageInSchema = {
  $id: 'MessageIn',
  type: 'object',
  required: ['eventType', 'payload'],
  properties: {
    eventType: eventTypeName,
    payload: { type: 'object', description: 'The JSON object delivered as the request body.' },
    eventId: { ...uid, description: 'Unique within the application: a second message with it is refused (409). Usable in place of the message id in paths.' },
    channels: channels(1),
    tags: { type: ['array', 'null'], minItems: 1, maxItems: svixLimits.tagsCount, uniqueItems: true, items: tag },
    application: { ...applicationInBody, type: ['object', 'null'], description: 'Creates the application of the path (its uid) if it does not exist.' },
    deliverAt: { ...nullableDateTime, description: 'When to deliver the message: no attempt before then (a time past or now: at once). It must come before the payload retention ends (422).' },
    payloadRetentionPeriod: { type: ['integer', 'null'], minimum: 1, maximum: 90, description: 'Days to keep the payload (default 90).' },
    payloadRetentionHours: { type: ['integer', 'null'], minimum: 1, maximum: 2160, description: 'Hours to keep the payload; not together with payloadRetentionPeriod.' },
    transformationsParams: { type: ['object', 'null'], description: 'Accepted and ignored.' },
  },
  // Svix: the two retention fields are mutually exclusive.
  if: { required: ['payloadRetentionHours'], properties: { payloadRetentionHours: { type: 'integer' } } },
  then: { properties: { payloadRetentionPeriod: { type: 'null' } } },
} as const;
export type MessageIn = FromSchema<typeof messageInSchema>;

const timeWindowIn = (id: 'RecoverIn' | 'ReplayIn') =>
  ({ $id: id, type: 'object', required: ['since'], properties: { since: dateTime, until: nullableDateTime } }) as const;
export const recoverInSchema = timeWindowIn('RecoverIn');
export type RecoverIn = FromSchema<typeof recoverInSchema>;
export const replayInSchema = timeWindowIn('ReplayIn');
export type ReplayIn = FromSchema<typeof replayInSchema>;

/**
 * A replay from the log (Hookpost's, beyond Svix): every message of the application sent in [since, until),
 * of `eventTypes` and in `channel` when given, read from the event log (so even messages whose rows retention
 * removed), sent to the one endpoint as new deliveries. The endpoint's own filterTypes and channels do not
 * apply: the filter here says what to replay.
 */
export const replayFromLogInSchema = {
  $id: 'ReplayFromLogIn',
  type: 'object',
  required: ['since'],
  properties: {
    since: dateTime,
    until: { ...nullableDateTime, description: 'Up to (not including) this time; absent or null: up to when the task starts.' },
    eventTypes: { type: ['array', 'null'], minItems: 1, maxItems: 100, uniqueItems: true, items: eventTypeName, description: 'Only messages of these event types.' },
    channel: { ...channel, type: ['string', 'null'], description: 'Only messages sent in this channel.' },
  },
} as const;
export type ReplayFromLogIn = FromSchema<typeof replayFromLogInSchema>;

export const appPortalCapabilities = ['ViewBase', 'ViewEndpointSecret', 'ManageEndpointSecret', 'ManageTransformations', 'CreateAttempts', 'ManageEndpoint'] as const;

export const appPortalAccessInSchema = {
  $id: 'AppPortalAccessIn',
  type: 'object',
  properties: {
    application: { ...applicationInBody, type: ['object', 'null'], description: 'Creates the application of the path (its uid) if it does not exist.' },
    capabilities: { type: ['array', 'null'], uniqueItems: true, items: { enum: appPortalCapabilities } },
    expiry: {
      type: ['integer', 'null'],
      minimum: svixLimits.portalExpiryMinSeconds,
      maximum: svixLimits.portalExpiryMaxSeconds,
      description: 'Seconds the token is valid; default 604800 (7 days).',
    },
    featureFlags: { type: 'array', minItems: 1, maxItems: 25, uniqueItems: true, items: featureFlag },
    readOnly: { type: ['boolean', 'null'] },
    sessionId: { type: ['string', 'null'], minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9@_-]+$' },
  },
} as const;
export type AppPortalAccessIn = FromSchema<typeof appPortalAccessInSchema>;

export const eventExampleInSchema = {
  $id: 'EventExampleIn',
  type: 'object',
  required: ['eventType'],
  properties: {
    eventType: eventTypeName,
    exampleIndex: { type: 'integer', minimum: 0, maximum: 1000, description: 'Which of the schema\'s `examples` to send; default 0.' },
  },
} as const;
export type EventExampleIn = FromSchema<typeof eventExampleInSchema>;

const operationalEndpointProperties = {
  url,
  description,
  disabled: { type: 'boolean' },
  filterTypes: filterTypes(1),
  metadata,
  throttleRate: throttleRate(1),
  rateLimit: { ...throttleRate(1), description: 'Deprecated name of throttleRate.' },
  uid: { ...uid, description: 'Unique among operational webhook endpoints; usable in place of the id in paths.' },
} as const;

export const operationalWebhookEndpointInSchema = {
  $id: 'OperationalWebhookEndpointIn',
  type: 'object',
  required: ['url'],
  properties: { ...operationalEndpointProperties, secret },
} as const;
export type OperationalWebhookEndpointIn = FromSchema<typeof operationalWebhookEndpointInSchema>;

export const operationalWebhookEndpointUpsertInSchema = {
  $id: 'OperationalWebhookEndpointUpsertIn',
  type: 'object',
  required: ['url'],
  properties: operationalEndpointProperties,
} as const;
export type OperationalWebhookEndpointUpsertIn = FromSchema<typeof operationalWebhookEndpointUpsertInSchema>;

export const validateApplicationIn = compile(applicationInSchema);
export const validateApplicationPatch = compile(applicationPatchSchema);
export const validateEndpointIn = compile(endpointInSchema);
export const validateEndpointUpdate = compile(endpointUpdateSchema);
export const validateEndpointPatch = compile(endpointPatchSchema);
export const validateEndpointHeadersIn = compile(endpointHeadersInSchema);
export const validateEndpointHeadersPatchIn = compile(endpointHeadersPatchInSchema);
export const validateEndpointSecretRotateIn = compile(endpointSecretRotateInSchema);
export const validateEventTypeIn = compile(eventTypeInSchema);
export const validateEventTypeUpsertIn = compile(eventTypeUpsertInSchema);
export const validateEventTypePatch = compile(eventTypePatchSchema);
export const validateMessageIn = compile(messageInSchema);
export const validateRecoverIn = compile(recoverInSchema);
export const validateReplayIn = compile(replayInSchema);
export const validateReplayFromLogIn = compile(replayFromLogInSchema);
export const validateAppPortalAccessIn = compile(appPortalAccessInSchema);
export const validateEventExampleIn = compile(eventExampleInSchema);
export const validateOperationalWebhookEndpointIn = compile(operationalWebhookEndpointInSchema);
export const validateOperationalWebhookEndpointUpsertIn = compile(operationalWebhookEndpointUpsertInSchema);
