import type { ApplicationState, EventTypeState, SubscriptionState } from './events';
import { toExternalId } from './svix/ids';

/**
 * What the Svix-compatible API shows of our state (camelCase, prefixed ids). One mapping for the gateway's
 * answers to writes and the projector's answers to reads, so a client sees the same object from both. Where
 * Svix has renamed a field (filterTypes → eventTypes, rateLimit → throttleRate) both names are shown, so the
 * 1.x clients and the current document both find theirs.
 */

const orUndefined = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

export function applicationOut(state: Pick<ApplicationState, 'id' | 'name' | 'uid' | 'metadata' | 'rate_limit' | 'created_at' | 'updated_at'>) {
  return {
    id: toExternalId('app', state.id),
    name: state.name,
    uid: orUndefined(state.uid),
    metadata: state.metadata ?? {},
    rateLimit: orUndefined(state.rate_limit),
    throttleRate: orUndefined(state.rate_limit),
    createdAt: state.created_at,
    updatedAt: state.updated_at,
  };
}

type EndpointFields = Pick<SubscriptionState, 'id' | 'description' | 'target_url' | 'is_active' | 'event_types' | 'created_at' | 'updated_at'> &
  Partial<Pick<SubscriptionState, 'uid' | 'channels' | 'metadata' | 'rate_limit'>>;

export function endpointOut(state: EndpointFields) {
  const types = orUndefined(state.event_types);
  return {
    id: toExternalId('ep', state.id),
    description: state.description ?? '',
    url: state.target_url,
    version: 1,
    disabled: !state.is_active,
    uid: orUndefined(state.uid),
    filterTypes: types,
    eventTypes: types,
    channels: orUndefined(state.channels),
    rateLimit: orUndefined(state.rate_limit),
    throttleRate: orUndefined(state.rate_limit),
    metadata: state.metadata ?? {},
    createdAt: state.created_at,
    updatedAt: state.updated_at,
  };
}

export function eventTypeOut(state: Pick<EventTypeState, 'id' | 'description' | 'schemas' | 'archived' | 'deprecated' | 'feature_flag' | 'created_at' | 'updated_at'>) {
  return {
    name: state.id,
    description: state.description,
    schemas: orUndefined(state.schemas),
    archived: state.archived,
    deprecated: state.deprecated,
    featureFlag: orUndefined(state.feature_flag),
    createdAt: state.created_at,
    updatedAt: state.updated_at,
  };
}

export type MessageFields = {
  id: string;
  event_type: string;
  event_id: string | null;
  channels: readonly string[] | null;
  tags?: readonly string[] | null;
  payload: object | null;
  created_at: string;
};

/** A message; `withContent` false leaves the payload out (Svix's `with_content=false`), an expunged one shows `{}`. */
export function messageOut(message: MessageFields, withContent = true) {
  return {
    id: toExternalId('msg', message.id),
    eventType: message.event_type,
    eventId: orUndefined(message.event_id),
    channels: orUndefined(message.channels as string[] | null),
    tags: orUndefined(message.tags as string[] | null | undefined),
    payload: withContent ? (message.payload ?? {}) : {},
    timestamp: message.created_at,
  };
}
