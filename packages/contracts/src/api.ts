import type { FromSchema } from 'json-schema-to-ts';
import { compile, describePattern } from './validation';
import { deliveryStatuses } from './deliveryStateMachine';

/** Request and response bodies of the public API. The OpenAPI document is built from these. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids of subscriptions and deliveries are UUIDs; anything else names nothing. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

export const limits = {
  nameLength: 200,
  descriptionLength: 2000,
  urlLength: 2048,
  secretMinLength: 16,
  secretMaxLength: 512,
  eventTypeLength: 200,
  eventTypesCount: 100,
  maxAttempts: 25,
  timeoutMsMin: 100,
  timeoutMsMax: 60_000,
} as const;

/**
 * Text the read model can store: no U+0000 (PostgreSQL refuses it in text and jsonb). Strings that are not
 * well-formed Unicode (an unpaired UTF-16 surrogate such as "\ud800") are refused as well; a pattern cannot say
 * that portably (Rust and Python regexes have no surrogates), so descriptions do.
 */
export const TEXT_PATTERN = '^[^\\u0000]*$';
export const WELL_FORMED_TEXT = 'Well-formed Unicode without U+0000.';

/**
 * An HMAC secret: `whsec_` + standard base64 (padding optional) of 24 to 64 bytes, or any other string that does
 * not start with `whsec_`, `whsk_` or `whpk_` (an ed25519 key is never an HMAC secret). No U+0000.
 */
const BASE64_CHAR = '[A-Za-z0-9+/]';
const WHSEC_BODY =
  `(?:${BASE64_CHAR}{4}){8,20}(?:${BASE64_CHAR}{2}(?:==)?|${BASE64_CHAR}{3}=?)?` + // 24..62 bytes
  `|(?:${BASE64_CHAR}{4}){21}(?:${BASE64_CHAR}{2}(?:==)?)?`; // 63 or 64 bytes
export const SECRET_KEY_PATTERN = `^(?:whsec_(?:${WHSEC_BODY})|(?!whsec_|whsk_|whpk_)[^\\u0000]*)$`;

describePattern(TEXT_PATTERN, 'must not contain U+0000');
describePattern(SECRET_KEY_PATTERN, 'must be whsec_ followed by base64 of 24-64 bytes, or a string that does not start with whsec_, whsk_ or whpk_');

const subscriptionFields = {
  name: { type: 'string', minLength: 1, maxLength: limits.nameLength, pattern: TEXT_PATTERN, description: WELL_FORMED_TEXT, example: 'billing-events' },
  description: { type: ['string', 'null'], maxLength: limits.descriptionLength, pattern: TEXT_PATTERN, description: WELL_FORMED_TEXT },
  target_url: {
    type: 'string',
    format: 'uri',
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
    maxLength: limits.urlLength,
    description:
      'Where deliveries are POSTed. No credentials in the URL. A literal address that is not public (loopback, private, link-local, ...) is refused with 422 unless HOOKPOST_ALLOWED_TARGET_CIDRS allows it; a host name is checked when it is resolved, at delivery.',
    example: 'https://example.com/webhook',
  },
  secret_key: {
    type: 'string',
    minLength: limits.secretMinLength,
    maxLength: limits.secretMaxLength,
    pattern: SECRET_KEY_PATTERN,
    description:
      'HMAC secret (hmac-sha256 only): whsec_ followed by base64 of 24-64 bytes, or any other string (its UTF-8 bytes are the key) that does not start with whsec_, whsk_ or whpk_. Generated when absent. Refused (422) with signature_scheme ed25519, whose key is generated; refused (409) in a change to an ed25519 subscription.',
  },
  is_active: { type: 'boolean' },
  event_types: {
    type: ['array', 'null'],
    maxItems: limits.eventTypesCount,
    items: { type: 'string', minLength: 1, maxLength: limits.eventTypeLength, pattern: TEXT_PATTERN },
    description: 'Event types this subscription accepts; null accepts every type. An ingest with another event_type is refused (409).',
  },
  max_attempts: { type: ['integer', 'null'], minimum: 1, maximum: limits.maxAttempts },
  timeout_ms: { type: ['integer', 'null'], minimum: limits.timeoutMsMin, maximum: limits.timeoutMsMax },
  signature_scheme: {
    enum: ['hmac-sha256', 'ed25519'],
    description: 'hmac-sha256 (v1, the default) or ed25519 (v1a: receivers verify with public_key). Fixed at creation.',
  },
} as const;

export const subscriptionCreateSchema = {
  $id: 'SubscriptionCreate',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'target_url'],
  properties: subscriptionFields,
  // An ed25519 subscription's signing key is generated: a chosen secret_key does not apply.
  if: { required: ['signature_scheme'], properties: { signature_scheme: { const: 'ed25519' } } },
  then: { properties: { secret_key: false } },
} as const;
export type SubscriptionCreate = FromSchema<typeof subscriptionCreateSchema>;

/** PUT replaces every field; an absent secret_key keeps the current secret (a credential, not a setting). */
const { signature_scheme: _scheme, ...changeableFields } = subscriptionFields;
export const subscriptionReplaceSchema = {
  $id: 'SubscriptionReplace',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'target_url'],
  properties: changeableFields,
} as const;
export type SubscriptionReplace = FromSchema<typeof subscriptionReplaceSchema>;

export const subscriptionPatchSchema = {
  $id: 'SubscriptionPatch',
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: changeableFields,
} as const;
export type SubscriptionPatch = FromSchema<typeof subscriptionPatchSchema>;

export const subscriptionSchema = {
  $id: 'Subscription',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'description', 'target_url', 'is_active', 'event_types', 'max_attempts', 'timeout_ms', 'signature_scheme', 'public_key', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    target_url: { type: 'string' },
    is_active: { type: 'boolean' },
    event_types: { type: ['array', 'null'], items: { type: 'string' } },
    max_attempts: { type: ['integer', 'null'] },
    timeout_ms: { type: ['integer', 'null'] },
    signature_scheme: { enum: ['hmac-sha256', 'ed25519'] },
    public_key: { type: ['string', 'null'], description: 'ed25519 only: the whpk_ key receivers verify v1a signatures with.' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    secret_key: { type: 'string', description: 'hmac-sha256 only, and only in the answer to POST /subscriptions and to a rotation.' },
  },
} as const;
export type Subscription = FromSchema<typeof subscriptionSchema>;

/**
 * A page cursor: the last row's created_at (milliseconds since the epoch) and id. Clients pass next_cursor back
 * unchanged; the form is published so that a malformed cursor is refused (400) while every well-formed one
 * names a position (13 digits keep it inside the years PostgreSQL and ISO 8601 share).
 */
export const CURSOR_PATTERN = '^[0-9]{1,13}\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** The cursor of a row (its created_at, an ISO time, and its id): the position just after it. */
export function cursorAfter(row: { created_at: string; id: string }): string {
  return `${Date.parse(row.created_at)}.${row.id.toLowerCase()}`;
}

export const attemptSchema = {
  $id: 'Attempt',
  type: 'object',
  additionalProperties: false,
  required: ['delivery_id', 'attempt_number', 'status_code', 'duration_ms', 'error', 'response_headers', 'response_body', 'started_at'],
  properties: {
    delivery_id: { type: 'string', format: 'uuid' },
    attempt_number: { type: 'integer', minimum: 1 },
    status_code: { type: ['integer', 'null'] },
    duration_ms: { type: 'integer' },
    error: { type: ['string', 'null'] },
    response_headers: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    response_body: { type: ['string', 'null'] },
    started_at: { type: 'string', format: 'date-time' },
  },
} as const;
export type Attempt = FromSchema<typeof attemptSchema>;

export const deliverySchema = {
  $id: 'Delivery',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'app_id', 'message_id', 'subscription_id', 'event_type', 'payload', 'status', 'held_since', 'attempt_count', 'next_attempt_at', 'last_status_code', 'last_error', 'created_at', 'updated_at', 'delivered_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    app_id: { type: ['string', 'null'], format: 'uuid', description: "The application of the delivery's endpoint (the default application's for the seed API's subscriptions)." },
    message_id: { type: ['string', 'null'], format: 'uuid', description: 'The message (Svix API) this delivery sends; null for a delivery ingested through POST /ingest.' },
    subscription_id: { type: 'string', format: 'uuid' },
    event_type: { type: ['string', 'null'] },
    payload: { type: ['object', 'null'] },
    status: { enum: deliveryStatuses },
    held_since: {
      type: ['string', 'null'],
      format: 'date-time',
      description:
        'Set while the next attempt is held because the endpoint is paused (the delivery stays pending or retrying, next_attempt_at is null, no attempt is counted); it is sent when the endpoint is resumed. Null otherwise.',
    },
    attempt_count: { type: 'integer' },
    next_attempt_at: {
      type: ['string', 'null'],
      format: 'date-time',
      description:
        'When the next attempt is due: set while retrying, and while pending if the first attempt was put off because its endpoint had no free delivery slot (no attempt is counted for that); null otherwise, and while held.',
    },
    last_status_code: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    delivered_at: { type: ['string', 'null'], format: 'date-time' },
    attempts: { type: 'array', items: attemptSchema },
  },
} as const;
export type Delivery = FromSchema<typeof deliverySchema>;

export const ingestAcceptedSchema = {
  $id: 'IngestAccepted',
  type: 'object',
  additionalProperties: false,
  required: ['delivery_id', 'status'],
  properties: { delivery_id: { type: 'string', format: 'uuid' }, status: { const: 'pending' } },
} as const;

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

export const secretRotateSchema = {
  $id: 'SecretRotate',
  type: 'object',
  additionalProperties: false,
  properties: { secret_key: subscriptionFields.secret_key },
} as const;
export type SecretRotate = FromSchema<typeof secretRotateSchema>;

export const secretRotatedSchema = {
  $id: 'SecretRotated',
  type: 'object',
  additionalProperties: false,
  required: ['previous_secret_expires_at'],
  properties: {
    secret_key: { type: 'string', description: 'hmac-sha256: the new secret, shown this once.' },
    public_key: { type: 'string', description: 'ed25519: the new public key.' },
    previous_secret_expires_at: { type: 'string', format: 'date-time', description: 'Until then deliveries carry a signature with the previous key too.' },
  },
} as const;

export const validateSecretRotate = compile(secretRotateSchema);
export const validateSubscriptionCreate = compile(subscriptionCreateSchema);
export const validateSubscriptionReplace = compile(subscriptionReplaceSchema);
export const validateSubscriptionPatch = compile(subscriptionPatchSchema);
