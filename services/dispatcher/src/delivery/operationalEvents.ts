import { createHash } from 'node:crypto';
import {
  isOperationalApplication,
  makeEvent,
  newTimeOrderedUuid,
  OPERATIONAL_APPLICATION_ID,
  toExternalId,
  DEFAULT_APPLICATION_ID,
  type EndpointDisabledEventData,
  type EndpointEventData,
  type EventOf,
  type HookpostEvent,
  type MessageAttemptEventData,
  type OperationalEvent,
  type OperationalEventType,
  type SubscriptionEvent,
  type SubscriptionState,
} from '@hookpost/contracts';

/**
 * Operational webhooks (packages/contracts svix/operational.ts) as the dispatcher derives them: each from an
 * event it records or reads, never from a request, so each fact is reported once however it came about (the
 * seed's API, the Svix API, the dispatcher's own disable):
 *
 * - `message.attempt.*` from the outcome of an attempt, in the same append as the outcome itself;
 * - `endpoint.*` from the endpoint's own events on the configuration topic (the configuration consumer).
 *
 * An operational event is a MessageCreated to the reserved application whose id derives from the fact (the
 * delivery, or the configuration event), so a fact derived twice (a Kafka redelivery, an attempt repeated
 * after a crash) is one message: the fan-out derives the same delivery ids from it, and the attempt guard
 * drops the copy. Facts about the reserved application's own endpoints are never reported: no loop.
 */

/**
 * A message id for a fact: a time-ordered UUID (version 7, like every message id) whose time is `at` and whose
 * other bits are a hash of `key`, so the same fact always names the same message.
 */
export function operationalMessageId(key: string, at: Date): string {
  return newTimeOrderedUuid(Math.max(0, at.getTime()), createHash('sha256').update(`operational/${key}`).digest());
}

type Deps = { now: () => Date; newId: () => string };

/** The message that carries one operational event to the operational endpoints. */
export function operationalMessage(event: OperationalEvent, key: string, at: Date, deps: Deps): EventOf<'MessageCreated'> {
  return makeEvent(
    'MessageCreated',
    {
      message_id: operationalMessageId(key, at),
      app_id: OPERATIONAL_APPLICATION_ID,
      event_type: event.type,
      event_id: null,
      channels: null,
      tags: null,
      payload: event as unknown as Record<string, unknown>,
      received_at: deps.now().toISOString(),
    },
    deps,
  );
}

export type AttemptFactType = Extract<OperationalEventType, `message.attempt.${string}`>;
export type AttemptFact = Readonly<{ type: AttemptFactType; attempt: EventOf<'DeliveryAttempted'> }>;

/**
 * What an attempt's recorded outcome (decideAfterAttempt's events) reports: `failing` when attempt number
 * `failingAttempt` failed and another follows; `exhausted` when the delivery ended failed after an attempt
 * (its attempts ran out, its target was refused, or its endpoint answered 410); `recovered` when a delivery
 * succeeded after `failing` was reported for it. Nothing for the reserved application's endpoints.
 */
export function attemptFacts(events: readonly HookpostEvent[], endpoint: Pick<SubscriptionState, 'app_id'>, failingAttempt: number): AttemptFact[] {
  if (isOperationalApplication(endpoint.app_id)) return [];
  const attempt = events.find((event): event is EventOf<'DeliveryAttempted'> => event.type === 'DeliveryAttempted');
  if (!attempt) return [];
  const facts: AttemptFact[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'DeliveryRetryScheduled':
        if (attempt.data.attempt_number === failingAttempt) facts.push({ type: 'message.attempt.failing', attempt });
        break;
      case 'DeliveryFailed':
        facts.push({ type: 'message.attempt.exhausted', attempt });
        break;
      case 'DeliverySucceeded':
        if (attempt.data.attempt_number > failingAttempt) facts.push({ type: 'message.attempt.recovered', attempt });
        break;
      default:
        break;
    }
  }
  return facts;
}

/** What an attempt's operational event says besides the attempt: looked up, best effort (null when not found in time). */
export type AttemptContext = Readonly<{ appUid: string | null; msgEventId: string | null }>;

/** The operational messages of attempt facts (none: none). */
export function attemptMessages(facts: readonly AttemptFact[], endpoint: Pick<SubscriptionState, 'id' | 'app_id'>, context: AttemptContext, deps: Deps): EventOf<'MessageCreated'>[] {
  return facts.map(({ type, attempt }) => {
    const { data } = attempt;
    const eventData: MessageAttemptEventData = {
      appId: toExternalId('app', endpoint.app_id ?? DEFAULT_APPLICATION_ID),
      appUid: context.appUid,
      endpointId: toExternalId('ep', endpoint.id),
      // (a delivery of the seed's ingest is its own message)
      msgId: toExternalId('msg', data.message_id ?? data.delivery_id),
      msgEventId: context.msgEventId,
      // An attempt's id is its event's (the Svix API shows it so).
      lastAttempt: { id: toExternalId('atmpt', attempt.id), responseStatusCode: data.status_code ?? 0, timestamp: data.started_at },
    };
    // One per delivery and kind: the id's time is the delivery's, the same however often it is derived.
    return operationalMessage({ type, timestamp: data.started_at, data: eventData }, `${type}/${data.delivery_id}`, new Date(data.received_at), deps);
  });
}

export type EndpointFact =
  | Readonly<{ type: 'endpoint.created' | 'endpoint.updated' | 'endpoint.deleted' | 'endpoint.enabled' }>
  | Readonly<{ type: 'endpoint.disabled'; trigger: 'manual' | 'automatic'; failSince: string | null; reason: string | null }>;

/**
 * What an endpoint's configuration event reports: created, deleted; a change through an API is `updated`, and
 * also `enabled` or `disabled` (manual) when it flipped the endpoint's state (told by `was_active`: a PUT
 * restates a state it does not change); the dispatcher's own disable (410, sustained failure) is `disabled`
 * (automatic) with its reason. Re-sealing a secret changes nothing a receiver sees: nothing.
 */
export function endpointFacts(event: SubscriptionEvent): EndpointFact[] {
  switch (event.type) {
    case 'SubscriptionCreated':
      return [{ type: 'endpoint.created' }];
    case 'SubscriptionUpdated':
      return [{ type: 'endpoint.updated' }];
    case 'SubscriptionDeleted':
      return [{ type: 'endpoint.deleted' }];
    case 'SubscriptionChanged': {
      const { cause, changes, was_active: wasActive } = event.data;
      const flipped = changes.is_active !== undefined && wasActive !== undefined && changes.is_active !== wasActive;
      switch (cause) {
        case 'replaced':
        case 'patched':
        case 'secret_rotated': {
          const facts: EndpointFact[] = [{ type: 'endpoint.updated' }];
          if (flipped) facts.push(changes.is_active ? { type: 'endpoint.enabled' } : { type: 'endpoint.disabled', trigger: 'manual', failSince: null, reason: null });
          return facts;
        }
        case 'endpoint_gone':
        case 'endpoint_failing':
          return changes.is_active === false && wasActive !== false
            ? [{ type: 'endpoint.disabled', trigger: 'automatic', failSince: event.data.failing_since ?? null, reason: event.data.detail ?? null }]
            : [];
        case 'resealed':
          return [];
        // (pausing holds deliveries and resuming sends them: the endpoint changed, nothing else about it did)
        case 'paused':
        case 'resumed':
          return [{ type: 'endpoint.updated' }];
        // (a skip ends a delivery, which the delivery's own events report; the endpoint is as it was)
        case 'head_skipped':
          return [];
        default: {
          const unknown: never = cause;
          throw new Error(`unknown change cause ${String(unknown)}`);
        }
      }
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown subscription event ${(unknown as { type: string }).type}`);
    }
  }
}

/** The endpoint as an operational event names it (its last state, the one deleted too), and its application's uid. */
export type EndpointContext = Readonly<{ endpoint: Pick<SubscriptionState, 'id' | 'app_id' | 'uid'>; appUid: string | null }>;

/** The operational messages of an endpoint's configuration event (none for the reserved application's endpoints). */
export function endpointMessages(event: SubscriptionEvent, facts: readonly EndpointFact[], context: EndpointContext, deps: Deps): EventOf<'MessageCreated'>[] {
  if (isOperationalApplication(context.endpoint.app_id)) return [];
  const ref: EndpointEventData = {
    appId: toExternalId('app', context.endpoint.app_id ?? DEFAULT_APPLICATION_ID),
    appUid: context.appUid,
    endpointId: toExternalId('ep', context.endpoint.id),
    endpointUid: context.endpoint.uid ?? null,
  };
  const at = new Date(event.occurred_at);
  return facts.map((fact) => {
    const body: OperationalEvent =
      fact.type === 'endpoint.disabled'
        ? { type: fact.type, timestamp: event.occurred_at, data: { ...ref, trigger: fact.trigger, failSince: fact.failSince, reason: fact.reason } satisfies EndpointDisabledEventData }
        : { type: fact.type, timestamp: event.occurred_at, data: ref };
    // One per configuration event and kind (the event's id is unique to it).
    return operationalMessage(body, `${fact.type}/${event.id}`, at, deps);
  });
}
