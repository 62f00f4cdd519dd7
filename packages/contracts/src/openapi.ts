import {
  attemptSchema,
  CURSOR_PATTERN,
  deliverySchema,
  ingestAcceptedSchema,
  limits,
  problemSchema,
  secretRotatedSchema,
  secretRotateSchema,
  subscriptionCreateSchema,
  subscriptionPatchSchema,
  subscriptionReplaceSchema,
  subscriptionSchema,
  TEXT_PATTERN,
  WELL_FORMED_TEXT,
} from './api';
import { deliveryStatuses } from './deliveryStateMachine';
import { svixOpenApi } from './svix/openapi';

/**
 * The OpenAPI 3.1 document, built from the same JSON Schemas ajv validates with (3.1 uses JSON Schema, so
 * they go in unchanged apart from their $id). schemathesis checks it against the running services in
 * `npm test` (test/api), so every constraint the services enforce is stated here.
 */

type Json = Record<string, unknown>;

function component(schema: Json): Json {
  const { $id: _id, ...rest } = schema;
  return JSON.parse(JSON.stringify(rest, (key, value) => (key === '$id' ? undefined : value))) as Json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const page = (item: string) => ({
  type: 'object',
  required: ['data', 'next_cursor'],
  properties: { data: { type: 'array', items: ref(item) }, next_cursor: { type: ['string', 'null'], pattern: CURSOR_PATTERN } },
});

/**
 * Any JSON value whose strings and keys are well-formed text, as the body parser takes it (platform http.ts:
 * U+0000 is refused with 422, nesting deeper than 32 with 400, a body over the size limit with 413).
 */
const jsonValueSchema = {
  type: ['null', 'boolean', 'number', 'string', 'array', 'object'],
  pattern: TEXT_PATTERN,
  items: ref('JsonValue'),
  propertyNames: { pattern: TEXT_PATTERN },
  additionalProperties: ref('JsonValue'),
};
const jsonObjectSchema = { type: 'object', propertyNames: { pattern: TEXT_PATTERN }, additionalProperties: ref('JsonValue') };

// Headers. Reads need no token to see earlier writes: every read waits until the read model has applied every
// write acknowledged before it (or answers 503), so writes carry no consistency token.
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } } };
const etag = { ETag: { required: true, description: 'The subscription\'s version, quoted (e.g. "3"); send it back in If-Match.', schema: { type: 'string', pattern: '^"[0-9]+"$' } } };
const ifMatch = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'Change only if the subscription is still at this version (its ETag); 412 if it is not.',
  schema: { type: 'string' },
};

// Problem responses.
const problem = (description: string, headers?: Json) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: ref('Problem') } },
});
const badRequest = problem('Malformed JSON, or a query parameter outside its schema (an empty value is a value, and is refused where the schema does not allow it)');
const unauthorized = problem('Missing or wrong API key');
const notFound = (what: string) => problem(`No such ${what} (an id that is not a UUID names nothing)`);
const tooLarge = problem('Body over the size limit');
const unsupportedType = problem('Body is not JSON');
const invalid = problem('Body does not match the schema; `errors` names the fields (a target_url whose literal address is not allowed is refused here too)');
const preconditionFailed = problem('If-Match names another version than the current one');
const writeUnavailable = problem('The event log cannot take the write; try again after Retry-After', retryAfter);
const readUnavailable = problem('The read model did not catch up with the writes before this read within the bounded wait; try again after Retry-After', retryAfter);

const idParam = (name: string, what: string) => ({ name, in: 'path', required: true, description: `${what} id`, schema: { type: 'string', format: 'uuid' } });
const limitParam = { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } };
const cursorParam = {
  name: 'cursor',
  in: 'query',
  description: 'next_cursor of the previous page, unchanged. Its form is published so a malformed one is refused (400); any well-formed one names a position.',
  schema: { type: 'string', pattern: CURSOR_PATTERN },
};
const statusParam = { name: 'status', in: 'query', schema: { enum: deliveryStatuses } };

const subscriptionAnswer = (description: string) => ({ description, headers: etag, content: json(ref('Subscription')) });

/** Links for schemathesis' stateful phase (and readers): what to call with the id an answer gives. */
const bySubscriptionId = (expression: string) => ({
  GetSubscription: { operationId: 'getSubscription', parameters: { id: expression } },
  ReplaceSubscription: { operationId: 'replaceSubscription', parameters: { id: expression } },
  PatchSubscription: { operationId: 'patchSubscription', parameters: { id: expression } },
  DeleteSubscription: { operationId: 'deleteSubscription', parameters: { id: expression } },
  RotateSecret: { operationId: 'rotateSecret', parameters: { id: expression } },
  ListSubscriptionDeliveries: { operationId: 'listSubscriptionDeliveries', parameters: { id: expression } },
  SearchDeliveries: { operationId: 'searchDeliveries', parameters: { subscription_id: expression } },
  Ingest: { operationId: 'ingest', parameters: { subscription_id: expression } },
});
/** What PUT and PATCH of a subscription answer. */
const subscriptionChangeResponses = {
  200: { ...subscriptionAnswer('Updated'), links: bySubscriptionId('$response.body#/id') },
  400: badRequest,
  401: unauthorized,
  404: notFound('subscription'),
  409: problem('secret_key given for an ed25519 subscription (its key is generated; rotate it instead)'),
  412: preconditionFailed,
  413: tooLarge,
  415: unsupportedType,
  422: invalid,
  503: writeUnavailable,
};
const byDeliveryId = (expression: string) => ({
  GetDelivery: { operationId: 'getDelivery', parameters: { id: expression } },
  ListAttempts: { operationId: 'listAttempts', parameters: { id: expression } },
});

/** The one document: the seed's API and, under /api/v1, the Svix-compatible API (svix/openapi.ts). */
export function openApiDocument(serverUrl = 'http://localhost:8000'): Json {
  const seed = seedDocument(serverUrl);
  const svix = svixOpenApi();
  const components = seed.components as { schemas: Json };
  return {
    ...seed,
    components: { ...components, schemas: { ...components.schemas, ...(wellFormedText(svix.schemas) as Json) } },
    paths: { ...(seed.paths as Json), ...svix.paths },
    // What Hookpost sends to operational endpoints (OpenAPI 3.1 webhooks).
    webhooks: svix.webhooks,
  };
}

/**
 * The body parser refuses U+0000 in every string and key of every body (platform http.ts), so the document
 * says so wherever a string or a free-form key has no pattern of its own: a generated body with U+0000 is then
 * one the document refuses too.
 */
function wellFormedText(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(wellFormedText);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) out[key] = key === 'enum' || key === 'const' || key === 'examples' || key === 'example' ? value : wellFormedText(value);
  const types = ([] as unknown[]).concat(out.type ?? []);
  if (types.includes('string') && out.pattern === undefined && out.format === undefined && out.enum === undefined && out.const === undefined) {
    out.pattern = TEXT_PATTERN;
  }
  // A free-form object (a payload, a schema), and the unknown fields a Svix body may carry (they are ignored),
  // hold any JSON whose strings and keys are well-formed text.
  if (types.includes('object') && out.additionalProperties === undefined && out.$ref === undefined) {
    out.additionalProperties = ref('JsonValue');
  }
  if (types.includes('object') && out.additionalProperties !== undefined && out.additionalProperties !== false && out.propertyNames === undefined) {
    out.propertyNames = { pattern: TEXT_PATTERN };
  }
  return out;
}

function seedDocument(serverUrl: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hookpost',
      version: '0.1.0',
      description: [
        'Webhook delivery: subscriptions, ingest, delivery status and attempt log. Deliveries are signed with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature).',
        'Under /api/v1, the Svix v1 API (applications, endpoints, event types, messages, attempts), wire-compatible so that Svix\'s official clients work unchanged: camelCase fields, prefixed ids, Svix\'s list envelope and error bodies ({code, detail}; 422 as {detail: [{loc, msg, type}]}). See docs/svix-api.md.',
        `Text: every string and object key the API takes is ${WELL_FORMED_TEXT.toLowerCase()} A method a path does not serve is answered 405 with Allow.`,
        'Status codes: 400 for a malformed request or query, 422 for a body outside its schema, 409 for a valid request the subscription\'s current state refuses (inactive, another signature scheme, an event type it does not take), 412 for a stale If-Match.',
      ].join('\n\n'),
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } },
      schemas: {
        SubscriptionCreate: component(subscriptionCreateSchema),
        SubscriptionReplace: component(subscriptionReplaceSchema),
        SubscriptionPatch: component(subscriptionPatchSchema),
        Subscription: component(subscriptionSchema),
        Delivery: component(deliverySchema),
        Attempt: component(attemptSchema),
        IngestAccepted: component(ingestAcceptedSchema),
        SecretRotate: component(secretRotateSchema),
        SecretRotated: component(secretRotatedSchema),
        Problem: component(problemSchema),
        JsonValue: jsonValueSchema,
        JsonObject: jsonObjectSchema,
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/subscriptions': {
        post: {
          operationId: 'createSubscription',
          summary: 'Create a subscription; the answer shows its secret, this once',
          requestBody: { required: true, content: json(ref('SubscriptionCreate')) },
          responses: {
            201: {
              ...subscriptionAnswer('Created'),
              headers: { Location: { schema: { type: 'string' }, description: '/subscriptions/{id}' }, ...etag },
              links: bySubscriptionId('$response.body#/id'),
            },
            400: badRequest,
            401: unauthorized,
            413: tooLarge,
            415: unsupportedType,
            422: invalid,
            503: writeUnavailable,
          },
        },
        get: {
          operationId: 'listSubscriptions',
          summary: 'List subscriptions, newest first; q is a full-text search over name and description (empty: every subscription)',
          parameters: [{ name: 'q', in: 'query', schema: { type: 'string', maxLength: 200, pattern: TEXT_PATTERN } }, limitParam, cursorParam],
          responses: { 200: { description: 'A page', content: json(page('Subscription')) }, 400: badRequest, 401: unauthorized, 503: readUnavailable },
        },
      },
      '/subscriptions/{id}': {
        parameters: [idParam('id', 'Subscription')],
        get: {
          operationId: 'getSubscription',
          responses: {
            200: { description: 'The subscription', headers: etag, content: json(ref('Subscription')), links: bySubscriptionId('$request.path.id') },
            401: unauthorized,
            404: notFound('subscription'),
            503: readUnavailable,
          },
        },
        put: {
          operationId: 'replaceSubscription',
          summary: 'Replace every field (an absent secret_key keeps the secret)',
          parameters: [ifMatch],
          requestBody: { required: true, content: json(ref('SubscriptionReplace')) },
          responses: subscriptionChangeResponses,
        },
        patch: {
          operationId: 'patchSubscription',
          summary: 'Change only the fields given',
          parameters: [ifMatch],
          requestBody: { required: true, content: json(ref('SubscriptionPatch')) },
          responses: subscriptionChangeResponses,
        },
        delete: {
          operationId: 'deleteSubscription',
          summary: 'Delete; pending retries end cancelled',
          parameters: [ifMatch],
          responses: {
            204: { description: 'Deleted' },
            401: unauthorized,
            404: notFound('subscription'),
            412: preconditionFailed,
            503: writeUnavailable,
          },
        },
      },
      '/subscriptions/{id}/secret/rotate': {
        parameters: [idParam('id', 'Subscription')],
        post: {
          operationId: 'rotateSecret',
          summary: 'New secret (or ed25519 key pair); the previous one keeps signing for the overlap (default 24 h)',
          parameters: [ifMatch],
          requestBody: { required: false, content: json(ref('SecretRotate')) },
          responses: {
            200: { description: 'Rotated', headers: etag, content: json(ref('SecretRotated')) },
            400: badRequest,
            401: unauthorized,
            404: notFound('subscription'),
            409: problem('secret_key given for an ed25519 subscription (its new key pair is generated)'),
            412: preconditionFailed,
            413: tooLarge,
            415: unsupportedType,
            422: invalid,
            503: writeUnavailable,
          },
        },
      },
      '/subscriptions/{id}/deliveries': {
        parameters: [idParam('id', 'Subscription')],
        get: {
          operationId: 'listSubscriptionDeliveries',
          parameters: [statusParam, limitParam, cursorParam],
          responses: { 200: { description: 'A page', content: json(page('Delivery')) }, 400: badRequest, 401: unauthorized, 404: notFound('subscription'), 503: readUnavailable },
        },
      },
      '/ingest/{subscription_id}': {
        parameters: [idParam('subscription_id', 'Subscription')],
        post: {
          operationId: 'ingest',
          summary: 'Accept an event (any JSON object; event_type is read from it) for delivery',
          requestBody: {
            required: true,
            content: json({
              ...jsonObjectSchema,
              properties: {
                event_type: {
                  type: ['string', 'null'],
                  minLength: 1,
                  maxLength: limits.eventTypeLength,
                  pattern: TEXT_PATTERN,
                  description: "Names the event; when the subscription lists event_types it must be one of them (409 otherwise). Absent or null: no type.",
                },
              },
              example: { event_type: 'invoice.paid', data: { id: 'in_1' } },
            }),
          },
          responses: {
            202: {
              description: 'Recorded in the log; delivery follows',
              headers: { Location: { schema: { type: 'string' }, description: '/deliveries/{delivery_id}' } },
              content: json(ref('IngestAccepted')),
              links: byDeliveryId('$response.body#/delivery_id'),
            },
            400: badRequest,
            401: unauthorized,
            404: notFound('subscription'),
            409: problem('The subscription is not active, or its event_types do not include this event_type'),
            413: tooLarge,
            415: unsupportedType,
            422: invalid,
            503: writeUnavailable,
          },
        },
      },
      '/deliveries': {
        get: {
          operationId: 'searchDeliveries',
          parameters: [
            { name: 'app_id', in: 'query', description: "The application's id (UUID): deliveries to any of its endpoints", schema: { type: 'string', format: 'uuid' } },
            { name: 'subscription_id', in: 'query', schema: { type: 'string', format: 'uuid' } },
            statusParam,
            { name: 'event_type', in: 'query', schema: { type: 'string', minLength: 1, maxLength: limits.eventTypeLength, pattern: TEXT_PATTERN } },
            { name: 'payload_contains', in: 'query', description: 'A JSON object the payload must contain (jsonb @>)', content: json(ref('JsonObject')) },
            { name: 'created_after', in: 'query', description: 'RFC 3339 date-time, inclusive', schema: { type: 'string', format: 'date-time' } },
            { name: 'created_before', in: 'query', description: 'RFC 3339 date-time, exclusive', schema: { type: 'string', format: 'date-time' } },
            limitParam,
            cursorParam,
          ],
          responses: { 200: { description: 'A page', content: json(page('Delivery')) }, 400: badRequest, 401: unauthorized, 503: readUnavailable },
        },
      },
      '/deliveries/{id}': {
        parameters: [idParam('id', 'Delivery')],
        get: {
          operationId: 'getDelivery',
          responses: {
            200: { description: 'The delivery with its attempts', content: json(ref('Delivery')), links: byDeliveryId('$request.path.id') },
            401: unauthorized,
            404: notFound('delivery'),
            503: readUnavailable,
          },
        },
      },
      '/deliveries/{id}/attempts': {
        parameters: [idParam('id', 'Delivery')],
        get: {
          operationId: 'listAttempts',
          responses: {
            200: { description: 'Attempts in order', content: json({ type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref('Attempt') } } }) },
            401: unauthorized,
            404: notFound('delivery'),
            503: readUnavailable,
          },
        },
      },
      '/healthz': { get: { operationId: 'health', security: [], responses: { 200: { description: 'The process is alive' } } } },
      '/readyz': { get: { operationId: 'ready', security: [], responses: { 200: { description: 'Dependencies answer' }, 503: { description: 'A dependency does not answer' } } } },
    },
  };
}
