import {
  attemptSchema,
  deliverySchema,
  ingestAcceptedSchema,
  problemSchema,
  secretRotatedSchema,
  secretRotateSchema,
  subscriptionCreateSchema,
  subscriptionPatchSchema,
  subscriptionReplaceSchema,
  subscriptionSchema,
} from './api';
import { deliveryStatuses } from './deliveryStateMachine';

/**
 * The OpenAPI 3.1 document, built from the same JSON Schemas ajv validates with (3.1 uses JSON Schema, so
 * they go in unchanged apart from their $id).
 */

type Json = Record<string, unknown>;

function component(schema: Json): Json {
  const { $id: _id, ...rest } = schema;
  return JSON.parse(JSON.stringify(rest, (key, value) => (key === '$id' ? undefined : value))) as Json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const page = (item: string) => ({
  type: 'object',
  required: ['data', 'next_cursor'],
  properties: { data: { type: 'array', items: ref(item) }, next_cursor: { type: ['string', 'null'] } },
});

const idParam = (name: string, what: string) => ({ name, in: 'path', required: true, description: `${what} id`, schema: { type: 'string', format: 'uuid' } });
const limitParam = { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } };
const cursorParam = { name: 'cursor', in: 'query', description: 'next_cursor of the previous page', schema: { type: 'string' } };
const statusParam = { name: 'status', in: 'query', schema: { enum: deliveryStatuses } };

const common = {
  400: problem('Malformed JSON or query'),
  401: problem('Missing or wrong API key'),
  413: problem('Body over the size limit'),
  415: problem('Body is not JSON'),
  422: problem('Body does not match the schema; `errors` names the fields'),
  503: problem('The event log cannot take the write (see Retry-After)'),
};

export function openApiDocument(serverUrl = 'http://localhost:8000'): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hookpost',
      version: '0.1.0',
      description:
        'Webhook delivery: subscriptions, ingest, delivery status and attempt log. Deliveries are signed with Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature).',
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
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/subscriptions': {
        post: {
          operationId: 'createSubscription',
          summary: 'Create a subscription; the answer shows its secret, this once',
          requestBody: { required: true, content: json(ref('SubscriptionCreate')) },
          responses: { 201: { description: 'Created', content: json(ref('Subscription')) }, ...pick(common, 400, 401, 413, 415, 422, 503) },
        },
        get: {
          operationId: 'listSubscriptions',
          summary: 'List subscriptions, newest first; q is a full-text search over name and description',
          parameters: [{ name: 'q', in: 'query', schema: { type: 'string', maxLength: 200 } }, limitParam, cursorParam],
          responses: { 200: { description: 'A page', content: json(page('Subscription')) }, ...pick(common, 400, 401) },
        },
      },
      '/subscriptions/{id}': {
        parameters: [idParam('id', 'Subscription')],
        get: {
          operationId: 'getSubscription',
          responses: { 200: { description: 'The subscription', content: json(ref('Subscription')) }, 404: problem('No such subscription'), ...pick(common, 401) },
        },
        put: {
          operationId: 'replaceSubscription',
          summary: 'Replace every field (an absent secret_key keeps the secret)',
          requestBody: { required: true, content: json(ref('SubscriptionReplace')) },
          responses: { 200: { description: 'Updated', content: json(ref('Subscription')) }, 404: problem('No such subscription'), ...pick(common, 400, 401, 413, 415, 422, 503) },
        },
        patch: {
          operationId: 'patchSubscription',
          summary: 'Change only the fields given',
          requestBody: { required: true, content: json(ref('SubscriptionPatch')) },
          responses: { 200: { description: 'Updated', content: json(ref('Subscription')) }, 404: problem('No such subscription'), ...pick(common, 400, 401, 413, 415, 422, 503) },
        },
        delete: {
          operationId: 'deleteSubscription',
          summary: 'Delete; pending retries end cancelled',
          responses: { 204: { description: 'Deleted' }, 404: problem('No such subscription'), ...pick(common, 401, 503) },
        },
      },
      '/subscriptions/{id}/secret/rotate': {
        parameters: [idParam('id', 'Subscription')],
        post: {
          operationId: 'rotateSecret',
          summary: 'New secret (or ed25519 key pair); the previous one keeps signing for the overlap (default 24 h)',
          requestBody: { required: false, content: json(ref('SecretRotate')) },
          responses: { 200: { description: 'Rotated', content: json(ref('SecretRotated')) }, 404: problem('No such subscription'), ...pick(common, 400, 401, 413, 415, 422, 503) },
        },
      },
      '/subscriptions/{id}/deliveries': {
        parameters: [idParam('id', 'Subscription')],
        get: {
          operationId: 'listSubscriptionDeliveries',
          parameters: [statusParam, limitParam, cursorParam],
          responses: { 200: { description: 'A page', content: json(page('Delivery')) }, 404: problem('No such subscription'), ...pick(common, 400, 401) },
        },
      },
      '/ingest/{subscription_id}': {
        parameters: [idParam('subscription_id', 'Subscription')],
        post: {
          operationId: 'ingest',
          summary: 'Accept an event (any JSON object; event_type is read from it) for delivery',
          requestBody: { required: true, content: json({ type: 'object', example: { event_type: 'invoice.paid', data: { id: 'in_1' } } }) },
          responses: {
            202: {
              description: 'Recorded in the log; delivery follows',
              headers: { Location: { schema: { type: 'string' }, description: '/deliveries/{delivery_id}' } },
              content: json(ref('IngestAccepted')),
            },
            404: problem('No such subscription'),
            409: problem('The subscription is not active'),
            ...pick(common, 400, 401, 413, 415, 422, 503),
          },
        },
      },
      '/deliveries': {
        get: {
          operationId: 'searchDeliveries',
          parameters: [
            { name: 'subscription_id', in: 'query', schema: { type: 'string', format: 'uuid' } },
            statusParam,
            { name: 'event_type', in: 'query', schema: { type: 'string' } },
            { name: 'payload_contains', in: 'query', description: 'JSON object the payload must contain (jsonb @>)', schema: { type: 'string' } },
            { name: 'created_after', in: 'query', schema: { type: 'string', format: 'date-time' } },
            { name: 'created_before', in: 'query', schema: { type: 'string', format: 'date-time' } },
            limitParam,
            cursorParam,
          ],
          responses: { 200: { description: 'A page', content: json(page('Delivery')) }, ...pick(common, 400, 401) },
        },
      },
      '/deliveries/{id}': {
        parameters: [idParam('id', 'Delivery')],
        get: {
          operationId: 'getDelivery',
          responses: { 200: { description: 'The delivery with its attempts', content: json(ref('Delivery')) }, 404: problem('No such delivery'), ...pick(common, 401) },
        },
      },
      '/deliveries/{id}/attempts': {
        parameters: [idParam('id', 'Delivery')],
        get: {
          operationId: 'listAttempts',
          responses: {
            200: { description: 'Attempts in order', content: json({ type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref('Attempt') } } }) },
            404: problem('No such delivery'),
            ...pick(common, 401),
          },
        },
      },
      '/healthz': { get: { operationId: 'health', security: [], responses: { 200: { description: 'The process is alive' } } } },
      '/readyz': { get: { operationId: 'ready', security: [], responses: { 200: { description: 'Dependencies answer' }, 503: { description: 'A dependency does not answer' } } } },
    },
  };
}

function pick<T extends Record<number, unknown>>(from: T, ...codes: (keyof T)[]): Partial<T> {
  return Object.fromEntries(codes.map((code) => [code, from[code]])) as Partial<T>;
}
