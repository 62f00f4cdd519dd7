import {
  evolveApplication,
  evolveEventType,
  type ApplicationState,
  type EntityRecord,
  type EventTypeState,
  deliveryPosition,
  deliveryPositionAfter,
  evolveSubscription,
  backgroundTaskRank,
  isBackgroundTaskKind,
  laterHold,
  laterNextAttempt,
  laterTaskStatus,
  type BackgroundTaskKind,
  type BackgroundTaskStatus,
  type HoldMark,
  samePosition,
  supersedes,
  type DeliveryEvent,
  type DeliveryStatus,
  type FilteredReason,
  type HookpostEvent,
  type SubscriptionRecord,
} from '@hookpost/contracts';
import { sealedPayloadBucket } from '@hookpost/platform';

/**
 * Pure projection: a batch of events → the row changes it implies, already merged per key so one multi-row
 * upsert can apply them. The same merge rules run again in SQL against the stored rows, which makes the
 * projection order-insensitive: a delivery's events may arrive on different topics in any order and the
 * status still only moves forward. The rules themselves (statuses, precedence) are the delivery state
 * machine's, in @hookpost/contracts.
 */

export type DeliveryState = {
  status: DeliveryStatus;
  /** Orders state changes (see deliveryPosition in the delivery state machine). */
  seq: number;
  attempt_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  /** The latest hold of a next attempt (endpoint paused), and the latest hold a release ended: see isHeld. */
  hold: HoldMark | null;
  release: HoldMark | null;
};

export type DeliveryChange = {
  id: string;
  subscription_id: string;
  /** The message it fans out (null for the seed's ingest, whose delivery holds the payload itself). */
  message_id: string | null;
  /** Asked for again (resend, recover, replay) rather than the message's own fan-out. */
  manual?: boolean;
  /** Sent through its endpoint's lane (an ordered endpoint's, decided at the fan-out). */
  ordered?: boolean;
  event_type: string | null;
  created_at: string;
  updated_at: string;
  payload: object | null;
  /** When a sealed payload's retention ends (null: kept, as a plain payload from before retention is). */
  payload_expires_at?: string | null;
  state: DeliveryState;
};

export type AttemptRow = {
  id: string;
  delivery_id: string;
  attempt_number: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  started_at: string;
  created_at: string;
};

export type MessageRow = {
  id: string;
  app_id: string;
  event_type: string;
  event_id: string | null;
  channels: string[] | null;
  tags: string[] | null;
  /** Null when a sealed payload no longer opened when projected (expired or expunged first: a rebuild). */
  payload: object | null;
  payload_expires_at: string | null;
  created_at: string;
  /** Its deliverAt: no first attempt before it (null: at once). */
  deliver_at: string | null;
};

/** An endpoint a message was for whose payload filter refused it (MessageRouted.filtered). */
export type FilteredRow = { message_id: string; subscription_id: string; reason: FilteredReason; detail: string; routed_at: string };
/**
 * A background task as a batch leaves it, merged per task: the request's fields (first known), the status by
 * the tasks' precedence, counters as their largest, and the position of the highest checkpoint.
 */
export type TaskChange = {
  id: string;
  app_id: string;
  request: {
    subscription_id: string;
    kind: BackgroundTaskKind;
    since: string | null;
    until: string | null;
    event_types: string[] | null;
    channel: string | null;
    created_at: string;
  } | null;
  status: BackgroundTaskStatus;
  messages_scanned: number;
  messages_sent: number;
  checkpoint: { number: number; position: string | null; progress: number | null } | null;
  reason: string | null;
  updated_at: string;
  finished_at: string | null;
};

export type ReadModelChanges = {
  /** The records of the subscriptions the batch changed, as the fold of their stored row and the batch leaves them. */
  subscriptions: Map<string, SubscriptionRecord>;
  applications: Map<string, EntityRecord<ApplicationState>>;
  eventTypes: Map<string, EntityRecord<EventTypeState>>;
  messages: Map<string, MessageRow>;
  /** By message and endpoint: the first record of a pair is the one kept. */
  filtered: Map<string, FilteredRow>;
  /** Messages and attempts whose content was expunged, by id. */
  expunges: Map<string, { kind: 'message' | 'attempt'; expunged_at: string }>;
  deliveries: Map<string, DeliveryChange>;
  attempts: Map<string, AttemptRow>;
  tasks: Map<string, TaskChange>;
};

export const initialDeliveryState: DeliveryState = {
  ...deliveryPosition('pending', 0),
  attempt_count: 0,
  next_attempt_at: null,
  last_status_code: null,
  last_error: null,
  delivered_at: null,
  hold: null,
  release: null,
};

/**
 * The state that wins when two are known (the state machine's precedence rule; a deferral moves only the next
 * attempt time). Holds and releases are kept apart from the position, each as the latest of both.
 */
export function laterDeliveryState(current: DeliveryState, incoming: DeliveryState): DeliveryState {
  let later = current;
  if (supersedes(current, incoming)) later = incoming;
  else if (samePosition(current, incoming)) {
    const nextAttemptAt = laterNextAttempt(current.next_attempt_at, incoming.next_attempt_at);
    if (nextAttemptAt !== current.next_attempt_at) later = { ...current, next_attempt_at: nextAttemptAt };
  }
  const hold = laterHold(current.hold, incoming.hold);
  const release = laterHold(current.release, incoming.release);
  return hold === later.hold && release === later.release ? later : { ...later, hold, release };
}

function mergeTask(changes: Map<string, TaskChange>, incoming: TaskChange): void {
  const current = changes.get(incoming.id);
  if (!current) {
    changes.set(incoming.id, incoming);
    return;
  }
  const checkpoint =
    current.checkpoint === null || (incoming.checkpoint !== null && incoming.checkpoint.number > current.checkpoint.number) ? incoming.checkpoint : current.checkpoint;
  const later = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : Date.parse(b) > Date.parse(a) ? b : a);
  changes.set(incoming.id, {
    ...current,
    request: current.request ?? incoming.request,
    status: laterTaskStatus(current.status, incoming.status),
    messages_scanned: Math.max(current.messages_scanned, incoming.messages_scanned),
    messages_sent: Math.max(current.messages_sent, incoming.messages_sent),
    checkpoint,
    // (the reason of the status that wins: a cancel's reason does not stick to a task that finished)
    reason: reasonAfter(current, incoming),
    updated_at: later(current.updated_at, incoming.updated_at)!,
    finished_at: later(current.finished_at, incoming.finished_at),
  });
}

function reasonAfter(current: TaskChange, incoming: TaskChange): string | null {
  const [was, is] = [backgroundTaskRank(current.status), backgroundTaskRank(incoming.status)];
  if (is > was) return incoming.reason;
  return is === was ? (current.reason ?? incoming.reason) : current.reason;
}

const taskBase = (id: string, appId: string, at: string): TaskChange => ({
  id,
  app_id: appId,
  request: null,
  status: 'running',
  messages_scanned: 0,
  messages_sent: 0,
  checkpoint: null,
  reason: null,
  updated_at: at,
  finished_at: null,
});

function mergeDelivery(changes: Map<string, DeliveryChange>, incoming: DeliveryChange): void {
  const current = changes.get(incoming.id);
  if (!current) {
    changes.set(incoming.id, incoming);
    return;
  }
  changes.set(incoming.id, {
    ...current,
    payload: current.payload ?? incoming.payload,
    payload_expires_at: current.payload_expires_at ?? incoming.payload_expires_at ?? null,
    message_id: current.message_id ?? incoming.message_id,
    manual: current.manual || incoming.manual,
    ordered: current.ordered || incoming.ordered,
    event_type: current.event_type ?? incoming.event_type,
    updated_at: incoming.updated_at > current.updated_at ? incoming.updated_at : current.updated_at,
    state: laterDeliveryState(current.state, incoming.state),
  });
}

/**
 * When a sealed payload expires (its bucket's time). The projector opens sealed payloads before projecting
 * (pgProjectionWriter.ts) and puts what opened in `payload`; this pure part reads only the bucket.
 */
function payloadExpiry(sealed: string | undefined): string | null {
  return sealed === undefined ? null : sealedPayloadBucket(sealed).expiresAt.toISOString();
}

export function emptyChanges(): ReadModelChanges {
  return {
    subscriptions: new Map(),
    applications: new Map(),
    eventTypes: new Map(),
    messages: new Map(),
    filtered: new Map(),
    expunges: new Map(),
    deliveries: new Map(),
    attempts: new Map(),
    tasks: new Map(),
  };
}

/** Subscription rows as stored before the batch, by id (the fold continues from them). */
export type StoredSubscriptions = ReadonlyMap<string, SubscriptionRecord>;
/** Application and event-type rows as stored before the batch. */
export type StoredEntities = Readonly<{
  applications?: ReadonlyMap<string, EntityRecord<ApplicationState>>;
  eventTypes?: ReadonlyMap<string, EntityRecord<EventTypeState>>;
}>;

export function applyEvent(changes: ReadModelChanges, event: HookpostEvent, stored: StoredSubscriptions = new Map(), others: StoredEntities = {}): ReadModelChanges {
  switch (event.type) {
    case 'ApplicationCreated':
    case 'ApplicationChanged':
    case 'ApplicationDeleted': {
      const before = changes.applications.get(event.data.id) ?? others.applications?.get(event.data.id);
      const after = evolveApplication(before, event);
      if (after && after !== before) changes.applications.set(event.data.id, after);
      return changes;
    }
    case 'EventTypeCreated':
    case 'EventTypeChanged':
    case 'EventTypeDeleted': {
      const before = changes.eventTypes.get(event.data.id) ?? others.eventTypes?.get(event.data.id);
      const after = evolveEventType(before, event);
      if (after && after !== before) changes.eventTypes.set(event.data.id, after);
      return changes;
    }
    case 'MessageCreated': {
      const { data } = event;
      if (!changes.messages.has(data.message_id)) {
        changes.messages.set(data.message_id, {
          id: data.message_id,
          app_id: data.app_id,
          event_type: data.event_type,
          event_id: data.event_id,
          channels: data.channels,
          tags: data.tags,
          payload: data.payload ?? null,
          payload_expires_at: payloadExpiry(data.payload_sealed),
          created_at: data.received_at,
          deliver_at: data.deliver_at ?? null,
        });
      }
      return changes;
    }
    case 'RedeliveryRequested': {
      // The dispatcher's to carry out; the deliveries it makes are projected from their own events. All but a
      // resend are background tasks, which start here.
      const { data } = event;
      if (!isBackgroundTaskKind(data.kind)) return changes;
      mergeTask(changes.tasks, {
        ...taskBase(data.request_id, data.app_id, data.requested_at),
        request: {
          subscription_id: data.subscription_id,
          kind: data.kind,
          since: data.since,
          until: data.until,
          event_types: data.event_types ?? null,
          channel: data.channel ?? null,
          created_at: data.requested_at,
        },
      });
      return changes;
    }
    case 'BackgroundTaskProgressed': {
      const { data } = event;
      mergeTask(changes.tasks, {
        ...taskBase(data.task_id, data.app_id, data.progressed_at),
        messages_scanned: data.messages_scanned,
        messages_sent: data.messages_sent,
        checkpoint: { number: data.checkpoint, position: data.position, progress: data.progress },
      });
      return changes;
    }
    case 'BackgroundTaskFinished': {
      const { data } = event;
      mergeTask(changes.tasks, {
        ...taskBase(data.task_id, data.app_id, data.finished_at),
        status: data.outcome,
        messages_scanned: data.messages_scanned,
        messages_sent: data.messages_sent,
        reason: data.reason,
        finished_at: data.finished_at,
      });
      return changes;
    }
    case 'BackgroundTaskCancelled': {
      const { data } = event;
      mergeTask(changes.tasks, { ...taskBase(data.task_id, data.app_id, data.cancelled_at), status: 'cancelled', finished_at: data.cancelled_at });
      return changes;
    }
    case 'MessageContentExpunged':
      changes.expunges.set(event.data.message_id, { kind: 'message', expunged_at: event.data.expunged_at });
      return changes;
    case 'AttemptContentExpunged':
      changes.expunges.set(event.data.attempt_id, { kind: 'attempt', expunged_at: event.data.expunged_at });
      return changes;
    case 'MessageRouted':
      for (const routed of event.data.deliveries) {
        mergeDelivery(changes.deliveries, {
          id: routed.delivery_id,
          subscription_id: routed.subscription_id,
          message_id: event.data.message_id,
          manual: event.data.trigger === 'manual',
          ordered: routed.ordered === true,
          event_type: event.data.event_type,
          created_at: event.data.received_at,
          updated_at: event.occurred_at,
          payload: null,
          // Due at once: if its first attempt is lost (a crash before it), the retry reconciler finds it. A
          // delivery asked for again is due when it was asked for, not when its message was received (long
          // before, perhaps: the reconciler would take it for overdue before its first attempt is made).
          state: { ...initialDeliveryState, next_attempt_at: event.data.trigger === 'manual' ? event.data.routed_at : event.data.received_at },
        });
      }
      for (const entry of event.data.filtered ?? []) {
        const key = `${event.data.message_id}/${entry.subscription_id}`;
        if (!changes.filtered.has(key)) {
          changes.filtered.set(key, { message_id: event.data.message_id, subscription_id: entry.subscription_id, reason: entry.reason, detail: entry.detail, routed_at: event.data.routed_at });
        }
      }
      return changes;
    case 'SubscriptionCreated':
    case 'SubscriptionUpdated':
    case 'SubscriptionChanged':
    case 'SubscriptionDeleted': {
      const before = changes.subscriptions.get(event.data.id) ?? stored.get(event.data.id);
      const after = evolveSubscription(before, event);
      if (after && after !== before) changes.subscriptions.set(event.data.id, after);
      return changes;
    }
    case 'WebhookReceived':
      mergeDelivery(changes.deliveries, {
        id: event.data.delivery_id,
        subscription_id: event.data.subscription_id,
        message_id: null,
        event_type: event.data.event_type,
        created_at: event.data.received_at,
        updated_at: event.occurred_at,
        payload: event.data.payload ?? null,
        payload_expires_at: payloadExpiry(event.data.payload_sealed),
        state: initialDeliveryState,
      });
      return changes;
    case 'DeliveryAttempted': {
      const { data } = event;
      const key = `${data.delivery_id}/${data.attempt_number}`;
      // A redelivered attempt keeps its first record, in the batch as in the table.
      if (!changes.attempts.has(key)) {
        changes.attempts.set(key, {
          id: event.id,
          delivery_id: data.delivery_id,
          attempt_number: data.attempt_number,
          status_code: data.status_code,
          duration_ms: data.duration_ms,
          error: data.error,
          response_headers: (data.response_headers as Record<string, string> | null) ?? null,
          response_body: data.response_body,
          started_at: data.started_at,
          created_at: event.occurred_at,
        });
      }
      mergeDelivery(changes.deliveries, deliveryRow(event, initialDeliveryState));
      return changes;
    }
    case 'DeliverySucceeded':
      mergeDelivery(changes.deliveries, deliveryRow(event, outcomeState(event, { delivered_at: event.data.delivered_at })));
      return changes;
    case 'DeliveryRetryScheduled':
      mergeDelivery(changes.deliveries, deliveryRow(event, outcomeState(event, { next_attempt_at: event.data.next_attempt_at })));
      return changes;
    case 'DeliveryFailed':
    case 'DeliveryCancelled':
      mergeDelivery(changes.deliveries, deliveryRow(event, outcomeState(event, {})));
      return changes;
    case 'DeliveryDeferred':
      mergeDelivery(changes.deliveries, deliveryRow(event, outcomeState(event, { next_attempt_at: event.data.next_attempt_at })));
      return changes;
    case 'DeliveryHeld': {
      const state = outcomeState(event, {});
      mergeDelivery(changes.deliveries, deliveryRow(event, { ...state, hold: { seq: state.seq, at: event.data.held_at } }));
      return changes;
    }
    case 'DeliveryReleased': {
      const state = outcomeState(event, { next_attempt_at: event.data.next_attempt_at });
      mergeDelivery(changes.deliveries, deliveryRow(event, { ...state, release: { seq: state.seq, at: event.data.held_at } }));
      return changes;
    }
    default: {
      const unknown: never = event;
      throw new Error(`no projection for event ${(unknown as { type: string }).type}`);
    }
  }
}

function deliveryRow(event: DeliveryEvent, state: DeliveryState): DeliveryChange {
  return {
    id: event.data.delivery_id,
    subscription_id: event.data.subscription_id,
    message_id: ('message_id' in event.data ? event.data.message_id : undefined) ?? null,
    event_type: event.data.event_type,
    created_at: event.data.received_at,
    updated_at: event.occurred_at,
    payload: null,
    state,
  };
}

function outcomeState(
  event: Extract<DeliveryEvent, { data: { attempt_count: number } }>,
  rest: { next_attempt_at?: string; delivered_at?: string },
): DeliveryState {
  const { data } = event;
  return {
    ...deliveryPositionAfter(event),
    attempt_count: data.attempt_count,
    next_attempt_at: rest.next_attempt_at ?? null,
    last_status_code: data.last_status_code,
    last_error: data.last_error,
    delivered_at: rest.delivered_at ?? null,
    hold: null,
    release: null,
  };
}

export function projectEvents(events: Iterable<HookpostEvent>, stored: StoredSubscriptions = new Map(), others: StoredEntities = {}): ReadModelChanges {
  let changes = emptyChanges();
  for (const event of events) changes = applyEvent(changes, event, stored, others);
  return changes;
}
