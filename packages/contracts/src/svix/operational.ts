import type { FromSchema } from 'json-schema-to-ts';
import type { ApplicationState } from '../events';
import { svixIdPattern, UID_PATTERN } from './ids';

/**
 * Operational webhooks: Hookpost telling the operator (not the applications' customers) what happens to
 * endpoints and deliveries, in Svix's event shapes (`endpoint.disabled`, `message.attempt.exhausted`, ...).
 *
 * Operational endpoints are endpoints of one reserved application, and an operational event is a message to
 * it: the same fan-out, signing, retries, attempts and traces as any message. The application has no events
 * of its own and no row in the read model, so nothing under /api/v1/app names it (404) and no list shows it;
 * /api/v1/operational-webhook/endpoint is the only way to its endpoints. Nothing that happens to its own
 * endpoints or deliveries is ever reported (an operational endpoint that fails would otherwise report its own
 * failure to itself, for ever).
 */
export const OPERATIONAL_APPLICATION_ID = '00000000-0000-4000-8000-0000000000f1';
export const OPERATIONAL_APPLICATION: ApplicationState = {
  id: OPERATIONAL_APPLICATION_ID,
  version: 1,
  name: 'Operational webhooks',
  uid: null,
  metadata: {},
  rate_limit: null,
  created_at: '1970-01-01T00:00:00.000Z',
  updated_at: '1970-01-01T00:00:00.000Z',
};

export function isOperationalApplication(appId: string | null | undefined): boolean {
  return (appId ?? '').toLowerCase() === OPERATIONAL_APPLICATION_ID;
}

export const operationalEventTypes = [
  'endpoint.created',
  'endpoint.updated',
  'endpoint.deleted',
  'endpoint.disabled',
  'endpoint.enabled',
  'message.attempt.failing',
  'message.attempt.exhausted',
  'message.attempt.recovered',
] as const;
export type OperationalEventType = (typeof operationalEventTypes)[number];

const id = (prefix: Parameters<typeof svixIdPattern>[0]) => ({ type: 'string', pattern: svixIdPattern(prefix) }) as const;
const uid = { type: ['string', 'null'], pattern: UID_PATTERN } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;

const endpointRef = {
  appId: { ...id('app'), description: "The endpoint's application." },
  appUid: { ...uid, description: "The application's uid, if it has one." },
  endpointId: id('ep'),
  endpointUid: { ...uid, description: "The endpoint's uid, if it has one." },
} as const;

export const endpointEventDataSchema = {
  $id: 'EndpointEventData',
  type: 'object',
  additionalProperties: false,
  required: ['appId', 'appUid', 'endpointId', 'endpointUid'],
  properties: endpointRef,
} as const;
export type EndpointEventData = FromSchema<typeof endpointEventDataSchema>;

export const endpointDisabledEventDataSchema = {
  $id: 'EndpointDisabledEventData',
  type: 'object',
  additionalProperties: false,
  required: ['appId', 'appUid', 'endpointId', 'endpointUid', 'trigger', 'failSince', 'reason'],
  properties: {
    ...endpointRef,
    trigger: { enum: ['manual', 'automatic'], description: 'manual: through the API; automatic: by the dispatcher (410 Gone, or every attempt failing).' },
    failSince: { type: ['string', 'null'], format: 'date-time', description: 'Automatic after sustained failure: since when every attempt failed.' },
    reason: { type: ['string', 'null'], description: "Hookpost's own field: why it was disabled automatically (null when manual)." },
  },
} as const;
export type EndpointDisabledEventData = FromSchema<typeof endpointDisabledEventDataSchema>;

export const messageAttemptEventDataSchema = {
  $id: 'MessageAttemptEventData',
  type: 'object',
  additionalProperties: false,
  required: ['appId', 'appUid', 'endpointId', 'msgId', 'msgEventId', 'lastAttempt'],
  properties: {
    appId: endpointRef.appId,
    appUid: endpointRef.appUid,
    endpointId: id('ep'),
    msgId: id('msg'),
    msgEventId: { ...uid, description: "The message's eventId, if it has one (null when it could not be looked up in time)." },
    lastAttempt: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'responseStatusCode', 'timestamp'],
      properties: {
        id: id('atmpt'),
        responseStatusCode: { type: 'integer', minimum: 0, maximum: 999, description: '0 when no response came.' },
        timestamp: dateTime,
      },
    },
  },
} as const;
export type MessageAttemptEventData = FromSchema<typeof messageAttemptEventDataSchema>;

/** The body an operational endpoint receives: Standard Webhooks' `{type, timestamp, data}`. */
export type OperationalEvent =
  | { type: 'endpoint.created' | 'endpoint.updated' | 'endpoint.deleted' | 'endpoint.enabled'; timestamp: string; data: EndpointEventData }
  | { type: 'endpoint.disabled'; timestamp: string; data: EndpointDisabledEventData }
  | { type: 'message.attempt.failing' | 'message.attempt.exhausted' | 'message.attempt.recovered'; timestamp: string; data: MessageAttemptEventData };

/** The body's schema for each type, for the OpenAPI document's `webhooks`. */
export function operationalEventSchema(type: OperationalEventType, dataRef: object): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'timestamp', 'data'],
    properties: { type: { const: type }, timestamp: dateTime, data: dataRef },
  };
}

export function operationalEventDataOf(type: OperationalEventType): 'EndpointEventData' | 'EndpointDisabledEventData' | 'MessageAttemptEventData' {
  switch (type) {
    case 'endpoint.created':
    case 'endpoint.updated':
    case 'endpoint.deleted':
    case 'endpoint.enabled':
      return 'EndpointEventData';
    case 'endpoint.disabled':
      return 'EndpointDisabledEventData';
    case 'message.attempt.failing':
    case 'message.attempt.exhausted':
    case 'message.attempt.recovered':
      return 'MessageAttemptEventData';
    default: {
      const unknown: never = type;
      throw new Error(`unknown operational event type ${String(unknown)}`);
    }
  }
}
