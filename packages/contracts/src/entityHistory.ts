import type { ApplicationState, EventOf, EventTypeState, HookpostEvent } from './events';
import type { PayloadFilters } from './payloadFilter';

/**
 * Applications and event types have the same history as subscriptions (created, changed field by field,
 * deleted) and are folded the same way: every reader (read model, cache, writers) folds their events in log
 * order, so none can disagree about what an entity is. See subscriptionHistory.ts for the subscription's own
 * fold (it also reads the whole-state SubscriptionUpdated of older logs).
 */

export type EntityState = { id: string; version: number; updated_at: string };
export type EntityRecord<S extends EntityState> = Readonly<{ state: S; deleted_at: string | null }>;
/** What the command side keeps of an entity (a cache entry): its state, or that it is gone. */
export type Known<S extends EntityState> = S | { id: string; version: number; deleted: true };

export function isGone<S extends EntityState>(known: Known<S>): known is { id: string; version: number; deleted: true } {
  return 'deleted' in known && known.deleted === true;
}

export type ApplicationEvent = EventOf<'ApplicationCreated' | 'ApplicationChanged' | 'ApplicationDeleted'>;
export type EventTypeEvent = EventOf<'EventTypeCreated' | 'EventTypeChanged' | 'EventTypeDeleted'>;

type Step<S extends EntityState> =
  | { kind: 'created'; state: S }
  | { kind: 'changed'; changes: Partial<S>; at: string }
  | { kind: 'deleted'; version: number; at: string };

/** One step of an entity's history applied to its record. A deletion is final; versions are counted here. */
export function evolveEntity<S extends EntityState>(current: EntityRecord<S> | undefined, step: Step<S>): EntityRecord<S> | undefined {
  switch (step.kind) {
    case 'created':
      // A deleted entity may be created again under its id (an event type by its name, after an expunge):
      // versions go on counting, so no reader takes the new entity for an older state.
      if (current && current.deleted_at === null) return current;
      return { state: current ? { ...step.state, version: Math.max(step.state.version, current.state.version + 1) } : step.state, deleted_at: null };
    case 'changed':
      if (!current || current.deleted_at !== null) return current;
      return { state: { ...current.state, ...step.changes, version: current.state.version + 1, updated_at: step.at }, deleted_at: null };
    case 'deleted': {
      if (!current || current.deleted_at !== null) return current;
      const version = Math.max(step.version, current.state.version + 1);
      return { state: { ...current.state, version, updated_at: step.at }, deleted_at: step.at };
    }
    default: {
      const unknown: never = step;
      throw new Error(`no fold for step ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolveApplication(current: EntityRecord<ApplicationState> | undefined, event: ApplicationEvent): EntityRecord<ApplicationState> | undefined {
  switch (event.type) {
    case 'ApplicationCreated':
      return evolveEntity(current, { kind: 'created', state: event.data });
    case 'ApplicationChanged':
      return evolveEntity(current, { kind: 'changed', changes: event.data.changes as Partial<ApplicationState>, at: event.data.changed_at });
    case 'ApplicationDeleted':
      return evolveEntity(current, { kind: 'deleted', version: event.data.version, at: event.data.deleted_at });
    default: {
      const unknown: never = event;
      throw new Error(`no fold for event ${(unknown as { type: string }).type}`);
    }
  }
}

export function evolveEventType(current: EntityRecord<EventTypeState> | undefined, event: EventTypeEvent): EntityRecord<EventTypeState> | undefined {
  switch (event.type) {
    case 'EventTypeCreated':
      return evolveEntity(current, { kind: 'created', state: event.data });
    case 'EventTypeChanged':
      return evolveEntity(current, { kind: 'changed', changes: event.data.changes as Partial<EventTypeState>, at: event.data.changed_at });
    case 'EventTypeDeleted':
      return evolveEntity(current, { kind: 'deleted', version: event.data.version, at: event.data.deleted_at });
    default: {
      const unknown: never = event;
      throw new Error(`no fold for event ${(unknown as { type: string }).type}`);
    }
  }
}

export function isApplicationEvent(event: HookpostEvent): event is ApplicationEvent {
  return event.type === 'ApplicationCreated' || event.type === 'ApplicationChanged' || event.type === 'ApplicationDeleted';
}

export function isEventTypeEvent(event: HookpostEvent): event is EventTypeEvent {
  return event.type === 'EventTypeCreated' || event.type === 'EventTypeChanged' || event.type === 'EventTypeDeleted';
}

export function knownOf<S extends EntityState>(record: EntityRecord<S>): Known<S> {
  return record.deleted_at === null ? record.state : { id: record.state.id, version: record.state.version, deleted: true };
}

/** The built-in application the seed's subscriptions belong to (and `POST /ingest/{id}` sends to). */
export const DEFAULT_APPLICATION_ID = '00000000-0000-4000-8000-000000000000';
export const DEFAULT_APPLICATION: ApplicationState = {
  id: DEFAULT_APPLICATION_ID,
  version: 1,
  name: 'Default application',
  uid: 'default',
  metadata: {},
  rate_limit: null,
  created_at: '1970-01-01T00:00:00.000Z',
  updated_at: '1970-01-01T00:00:00.000Z',
};

/** Why an endpoint takes no delivery of a message: Svix's rules, then Hookpost's payload filter (with a detail). */
export type EndpointSkip = { reason: 'disabled' } | { reason: 'event_type' } | { reason: 'channel' } | { reason: 'payload_filter'; detail: string };

/**
 * Whether an endpoint takes a message, and if not why (what was `endpointWants`): Svix's rule — enabled, its event-type filter empty or
 * naming the message's type, its channels empty or sharing one with the message — and then its payload filter
 * (compiled once per endpoint version by `filters`). Undefined: it takes it.
 */
export function whyEndpointSkips(
  endpoint: { id: string; version: number; is_active: boolean; event_types: readonly string[] | null; channels?: readonly string[] | null; payload_filter?: unknown },
  message: { event_type: string; channels: readonly string[] | null; payload: unknown },
  filters: Pick<PayloadFilters, 'verdict'>,
): EndpointSkip | undefined {
  if (!endpoint.is_active) return { reason: 'disabled' };
  if (endpoint.event_types && endpoint.event_types.length > 0 && !endpoint.event_types.includes(message.event_type)) return { reason: 'event_type' };
  const channels = endpoint.channels ?? null;
  if (channels && channels.length > 0 && !(message.channels ?? []).some((channel) => channels.includes(channel))) return { reason: 'channel' };
  const verdict = filters.verdict(endpoint, message.payload);
  return verdict.passes ? undefined : { reason: 'payload_filter', detail: verdict.detail };
}
