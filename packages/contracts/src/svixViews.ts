import { svixTaskStatusOf, svixTaskTypes, type BackgroundTaskKind, type BackgroundTaskStatus } from './backgroundTask';
import type { ApplicationState, EventTypeState, FilteredReason, SubscriptionState } from './events';
import type { PayloadFilter } from './payloadFilterSchema';
import { toExternalId } from './svix/ids';

/**
 * What the Svix-compatible API shows of our state (camelCase, prefixed ids, null where a field has no value),
 * exactly the response schemas of svix/responses.ts. One mapping for the gateway's answers to writes and the
 * projector's answers to reads, so a client sees the same object from both. `rateLimit` is the 1.x clients'
 * name of `throttleRate`; both carry the value.
 */

export function applicationOut(state: Pick<ApplicationState, 'id' | 'name' | 'uid' | 'metadata' | 'rate_limit' | 'created_at' | 'updated_at'>) {
  return {
    id: toExternalId('app', state.id),
    name: state.name,
    uid: state.uid ?? null,
    metadata: state.metadata ?? {},
    throttleRate: state.rate_limit ?? null,
    rateLimit: state.rate_limit ?? null,
    createdAt: state.created_at,
    updatedAt: state.updated_at,
  };
}

export type EndpointFields = Pick<SubscriptionState, 'id' | 'description' | 'target_url' | 'is_active' | 'event_types' | 'created_at' | 'updated_at'> &
  Partial<Pick<SubscriptionState, 'uid' | 'channels' | 'metadata' | 'rate_limit' | 'paused'>>;

/** The endpoint's fields shared by EndpointOut and MessageEndpointOut (which has no metadata). */
export function endpointFieldsOut(state: EndpointFields) {
  return {
    id: toExternalId('ep', state.id),
    url: state.target_url,
    description: state.description ?? '',
    version: 1,
    disabled: !state.is_active,
    // (the seed API takes repeated names in event_types; Svix lists each once)
    filterTypes: state.event_types ? [...new Set(state.event_types)] : null,
    channels: state.channels ?? null,
    throttleRate: state.rate_limit ?? null,
    rateLimit: state.rate_limit ?? null,
    uid: state.uid ?? null,
    createdAt: state.created_at,
    updatedAt: state.updated_at,
  };
}

/** EndpointOut: the shared fields, metadata, and Hookpost's payload filter (null: none), paused and ordered. */
export function endpointOut(state: EndpointFields & Partial<Pick<SubscriptionState, 'payload_filter' | 'paused' | 'ordered'>>) {
  return {
    ...endpointFieldsOut(state),
    metadata: state.metadata ?? {},
    payloadFilter: (state.payload_filter as PayloadFilter | null | undefined) ?? null,
    paused: state.paused ?? false,
    ordered: state.ordered ?? false,
  };
}

/** An endpoint whose payload filter refused a message (list-filtered-endpoints). */
export function filteredEndpointOut(row: { subscription_id: string; reason: FilteredReason; detail: string; routed_at: string }) {
  return { endpointId: toExternalId('ep', row.subscription_id), reason: filteredReasonOut[row.reason], detail: row.detail, timestamp: row.routed_at };
}

/** A filtered-out reason as the API names it: the endpoint field that refused the message. */
const filteredReasonOut = { payload_filter: 'payloadFilter' } as const satisfies Record<FilteredReason, string>;

/**
 * An operational webhook endpoint (Svix's OperationalWebhookEndpointOut): the shared fields but channels and
 * version, and metadata; none of the application endpoints' own extensions.
 */
export function operationalEndpointOut(state: EndpointFields) {
  const { channels: _channels, version: _version, ...fields } = endpointFieldsOut(state);
  return { ...fields, metadata: state.metadata ?? {} };
}

export function eventTypeOut(state: Pick<EventTypeState, 'id' | 'description' | 'schemas' | 'archived' | 'deprecated' | 'feature_flag' | 'created_at' | 'updated_at'>, withContent = true) {
  return {
    name: state.id,
    description: state.description,
    archived: state.archived,
    deprecated: state.deprecated,
    schemas: withContent ? (state.schemas ?? null) : null,
    featureFlag: state.feature_flag ?? null,
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
  /** When its first attempts were scheduled for (deliverAt), if it was. */
  deliver_at?: string | null;
};

/** A message; `withContent` false leaves the payload out (Svix's `with_content=false`), an expunged one shows `{}`. */
export function messageOut(message: MessageFields, withContent = true) {
  return {
    id: toExternalId('msg', message.id),
    eventType: message.event_type,
    eventId: message.event_id ?? null,
    payload: withContent ? (message.payload ?? {}) : {},
    channels: (message.channels as string[] | null) ?? null,
    tags: (message.tags as string[] | null | undefined) ?? null,
    timestamp: message.created_at,
    deliverAt: message.deliver_at ?? null,
  };
}

/** A background task as the read model keeps it (the projector's background_tasks row). */
export type BackgroundTaskRow = {
  id: string;
  app_id: string;
  subscription_id: string;
  kind: BackgroundTaskKind;
  status: BackgroundTaskStatus;
  since: string | null;
  until: string | null;
  event_types: string[] | null;
  channel: string | null;
  messages_scanned: number;
  messages_sent: number;
  progress: number | null;
  reason: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
};

/** Svix's BackgroundTaskOut of a task (a cancelled one reads as failed; `data.state` says cancelled). */
export function backgroundTaskOut(task: BackgroundTaskRow) {
  return {
    id: toExternalId('qtask', task.id),
    status: svixTaskStatusOf(task.status),
    task: svixTaskTypes[task.kind],
    data: {
      state: task.status,
      endpointId: toExternalId('ep', task.subscription_id),
      since: task.since,
      until: task.until,
      eventTypes: task.event_types,
      channel: task.channel,
      messagesScanned: Number(task.messages_scanned),
      messagesSent: Number(task.messages_sent),
      // (a finished task did all its work; its last checkpoint may have been recorded a little before the end)
      progress: task.status === 'finished' && task.progress !== null ? 1 : task.progress,
      reason: task.reason,
      startedAt: task.created_at,
      finishedAt: task.finished_at,
    },
    updatedAt: task.updated_at,
  };
}
