import { randomBytes } from 'node:crypto';
import {
  makeEvent,
  newTimeOrderedUuid,
  normalizeSvixSecret,
  type ApplicationState,
  type BackgroundTaskStatus,
  type EventOf,
  type EventTypeState,
  type PayloadFilter,
  type SubscriptionChanges,
  type SubscriptionState,
} from '@hookpost/contracts';
import { Conflict, ValidationFailed } from '@hookpost/platform';
import { checkTargetUrl, newSigningMaterial, type DecideDeps } from './decide';

/**
 * The Svix-compatible API's decisions: pure functions of a request and the current state, each returning the
 * events to append. Field names are Svix's; where Svix renamed one (filterTypes → eventTypes, rateLimit →
 * throttleRate) both are read, the newer name winning when both are sent.
 */

export type ApplicationInput = { name: string; uid?: string | null; metadata?: Record<string, string>; rateLimit?: number | null; throttleRate?: number | null };
export type ApplicationPatchInput = Partial<ApplicationInput>;
export type EventTypeInput = {
  name: string;
  description: string;
  schemas?: Record<string, Record<string, unknown>> | null;
  archived?: boolean;
  deprecated?: boolean;
  featureFlag?: string | null;
};
export type EventTypePatchInput = Partial<Omit<EventTypeInput, 'name'>>;
export type EndpointInput = {
  url: string;
  description?: string;
  filterTypes?: string[] | null;
  eventTypes?: string[] | null;
  channels?: string[] | null;
  disabled?: boolean;
  rateLimit?: number | null;
  throttleRate?: number | null;
  uid?: string | null;
  metadata?: Record<string, string>;
  version?: number;
  secret?: string | null;
  headers?: Record<string, string> | null;
  /** Hookpost's payload filter (checked against its schema); null: none. */
  payloadFilter?: PayloadFilter | null;
  /** Hookpost's ordered delivery; absent: false (created), unchanged (patched). */
  ordered?: boolean;
};
export type EndpointPatchInput = Partial<EndpointInput>;
export type MessageInput = {
  eventType: string;
  payload: Record<string, unknown>;
  eventId?: string | null;
  channels?: string[] | null;
  tags?: string[] | null;
  /** Svix's deliverAt, as given (scheduledFor reads it). */
  deliverAt?: string | null;
};

type Deps = Pick<DecideDeps, 'now' | 'newId'>;

/**
 * When a message's first attempts may be made, from Svix's `deliverAt`: undefined for at once (none given, or a
 * time already past: Svix's server takes those too), else the time. It must come before the payload's retention
 * ends (`retentionHours` from now), or there would be nothing left to send: 422.
 */
export function scheduledFor(deliverAt: string | null | undefined, now: Date, retentionHours: number): string | undefined {
  if (deliverAt === undefined || deliverAt === null) return undefined;
  const at = Date.parse(deliverAt);
  if (Number.isNaN(at)) throw new ValidationFailed([{ field: 'deliverAt', message: 'must be a date-time' }]);
  if (at <= now.getTime()) return undefined;
  if (at >= now.getTime() + retentionHours * 3_600_000) {
    throw new ValidationFailed(
      [{ field: 'deliverAt', message: `must come before the payload's retention ends (${retentionHours} hours from now)` }],
      'deliverAt is past the time the payload is kept.',
    );
  }
  return new Date(at).toISOString();
}

/** A time-ordered id (UUID v7): Svix's ids sort by creation, and so do ours. */
export function newEntityId(deps: Pick<DecideDeps, 'now'>): string {
  return newTimeOrderedUuid(deps.now().getTime(), randomBytes(10));
}

const rateOf = (input: { rateLimit?: number | null; throttleRate?: number | null }) =>
  input.throttleRate !== undefined ? input.throttleRate : input.rateLimit;
const typesOf = (input: { filterTypes?: string[] | null; eventTypes?: string[] | null }) =>
  input.eventTypes !== undefined ? input.eventTypes : input.filterTypes;

export function decideApplicationCreate(input: ApplicationInput, deps: Deps): EventOf<'ApplicationCreated'> {
  const now = deps.now().toISOString();
  return makeEvent(
    'ApplicationCreated',
    {
      id: newEntityId(deps),
      version: 1,
      name: input.name,
      uid: input.uid ?? null,
      metadata: input.metadata ?? {},
      rate_limit: rateOf(input) ?? null,
      created_at: now,
      updated_at: now,
    },
    deps,
  );
}

function applicationChanged(current: ApplicationState, changes: EventOf<'ApplicationChanged'>['data']['changes'], deps: Deps): EventOf<'ApplicationChanged'> {
  return makeEvent('ApplicationChanged', { id: current.id, version: current.version + 1, changes, changed_at: deps.now().toISOString() }, deps);
}

/** PUT: every field replaced (absent ones by their defaults). */
export function decideApplicationReplace(current: ApplicationState, input: ApplicationInput, deps: Deps): EventOf<'ApplicationChanged'> {
  return applicationChanged(current, { name: input.name, uid: input.uid ?? null, metadata: input.metadata ?? {}, rate_limit: rateOf(input) ?? null }, deps);
}

/** PATCH: only the fields sent change; null clears uid and the rate limit. Undefined when nothing is sent. */
export function decideApplicationPatch(current: ApplicationState, input: ApplicationPatchInput, deps: Deps): EventOf<'ApplicationChanged'> | undefined {
  const changes: EventOf<'ApplicationChanged'>['data']['changes'] = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.uid !== undefined) changes.uid = input.uid;
  if (input.metadata !== undefined) changes.metadata = input.metadata;
  const rate = rateOf(input);
  if (rate !== undefined) changes.rate_limit = rate;
  return Object.keys(changes).length === 0 ? undefined : applicationChanged(current, changes, deps);
}

export function decideApplicationDelete(current: ApplicationState, deps: Deps): EventOf<'ApplicationDeleted'> {
  return makeEvent('ApplicationDeleted', { id: current.id, version: current.version + 1, deleted_at: deps.now().toISOString() }, deps);
}

export function decideEventTypeCreate(input: EventTypeInput, deps: Deps): EventOf<'EventTypeCreated'> {
  const now = deps.now().toISOString();
  return makeEvent(
    'EventTypeCreated',
    {
      id: input.name,
      version: 1,
      description: input.description,
      schemas: input.schemas ?? null,
      archived: input.archived ?? false,
      deprecated: input.deprecated ?? false,
      feature_flag: input.featureFlag ?? null,
      created_at: now,
      updated_at: now,
    },
    deps,
  );
}

/** PUT or PATCH of an event type: the fields sent change (PUT sends every field, with defaults). Undefined when nothing would change. */
export function decideEventTypeChange(current: EventTypeState, input: EventTypePatchInput, deps: Deps): EventOf<'EventTypeChanged'> | undefined {
  const changes: EventOf<'EventTypeChanged'>['data']['changes'] = {};
  if (input.description !== undefined) changes.description = input.description;
  if (input.schemas !== undefined) changes.schemas = input.schemas;
  if (input.archived !== undefined) changes.archived = input.archived;
  if (input.deprecated !== undefined) changes.deprecated = input.deprecated;
  if (input.featureFlag !== undefined) changes.feature_flag = input.featureFlag;
  if (Object.keys(changes).length === 0) return undefined;
  return makeEvent('EventTypeChanged', { id: current.id, version: current.version + 1, changes, changed_at: deps.now().toISOString() }, deps);
}

export function eventTypeReplacement(input: Omit<EventTypeInput, 'name'>): EventTypePatchInput {
  return {
    description: input.description,
    schemas: input.schemas ?? null,
    archived: input.archived ?? false,
    deprecated: input.deprecated ?? false,
    featureFlag: input.featureFlag ?? null,
  };
}

/** DELETE: archived (Svix's default), or removed for good with `expunge`. */
export function decideEventTypeDelete(current: EventTypeState, expunge: boolean, deps: Deps): EventOf<'EventTypeChanged' | 'EventTypeDeleted'> | undefined {
  if (expunge) return makeEvent('EventTypeDeleted', { id: current.id, version: current.version + 1, deleted_at: deps.now().toISOString() }, deps);
  return decideEventTypeChange(current, current.archived ? {} : { archived: true }, deps);
}

/** A Svix secret (with or without `whsec_`; the schema checked its form) as we keep it: with the prefix. */
export function svixSecret(secret: string | null | undefined): string | undefined {
  if (secret === undefined || secret === null) return undefined;
  const normalized = normalizeSvixSecret(secret);
  if (!normalized) throw new ValidationFailed([{ field: 'secret', message: 'must be base64 of 24 to 64 bytes, with or without whsec_' }]);
  return normalized;
}

function checkEndpointUrl(url: string, deps: DecideDeps): void {
  try {
    checkTargetUrl(url, deps);
  } catch (error) {
    // The seed's field is target_url; Svix's is url.
    if (error instanceof ValidationFailed) {
      const errors = (error.extra.errors as { field: string; message: string }[]).map((problem) => ({ ...problem, field: 'url' }));
      throw new ValidationFailed(errors);
    }
    throw error;
  }
}

/** A new endpoint of `app` (a subscription belonging to the application), and its secret to show once. */
export function decideEndpointCreate(app: ApplicationState, input: EndpointInput, deps: DecideDeps): { event: EventOf<'SubscriptionCreated'>; secret: string } {
  checkEndpointUrl(input.url, deps);
  const id = newEntityId(deps);
  const material = newSigningMaterial(id, 'hmac-sha256', svixSecret(input.secret), deps);
  const now = deps.now().toISOString();
  const types = typesOf(input);
  const state: SubscriptionState = {
    id,
    version: 1,
    // (the seed's API lists endpoints as subscriptions, which have a name)
    name: (input.uid ?? input.description ?? input.url).slice(0, 200) || input.url.slice(0, 200),
    description: input.description ?? '',
    target_url: input.url,
    is_active: !(input.disabled ?? false),
    event_types: types && types.length > 0 ? types : null,
    secret: material.sealed,
    max_attempts: null,
    timeout_ms: null,
    signature_scheme: 'hmac-sha256',
    public_key: null,
    previous_secret: null,
    previous_secret_expires_at: null,
    app_id: app.id,
    uid: input.uid ?? null,
    channels: input.channels && input.channels.length > 0 ? input.channels : null,
    metadata: input.metadata ?? {},
    rate_limit: rateOf(input) ?? null,
    headers: input.headers && Object.keys(input.headers).length > 0 ? input.headers : null,
    payload_filter: input.payloadFilter ?? null,
    ...(input.ordered === true ? { ordered: true } : {}),
    created_at: now,
    updated_at: now,
  };
  return { event: makeEvent('SubscriptionCreated', state, deps), secret: material.shown! };
}

/** The changes a PUT (every field, absent ones by their defaults) or PATCH (only the fields sent) of an endpoint makes. */
export function endpointChanges(input: EndpointPatchInput, replace: boolean, deps: DecideDeps, current: SubscriptionState): SubscriptionChanges {
  const changes: SubscriptionChanges = {};
  if (input.url !== undefined) {
    checkEndpointUrl(input.url, deps);
    changes.target_url = input.url;
  }
  const or = <T>(value: T | undefined, fallback: T): T | undefined => (value !== undefined ? value : replace ? fallback : undefined);
  const set = <K extends keyof SubscriptionChanges>(key: K, value: SubscriptionChanges[K] | undefined) => {
    if (value !== undefined) changes[key] = value;
  };
  set('description', or(input.description, ''));
  const types = or(typesOf(input), null);
  set('event_types', types === undefined ? undefined : types && types.length > 0 ? types : null);
  const channels = or(input.channels, null);
  set('channels', channels === undefined ? undefined : channels && channels.length > 0 ? channels : null);
  const disabled = or(input.disabled, false);
  set('is_active', disabled === undefined ? undefined : !disabled);
  set('rate_limit', or(rateOf(input), null));
  set('uid', or(input.uid, null));
  set('metadata', or(input.metadata, {}));
  set('payload_filter', or(input.payloadFilter, null));
  // (what happens to deliveries under way when this changes: docs/design-notes.md, Ordered endpoints)
  set('ordered', or(input.ordered, false));
  if (input.secret !== undefined && input.secret !== null) {
    if ((current.signature_scheme ?? 'hmac-sha256') === 'ed25519') throw new Conflict(`Endpoint signs with ed25519: its key is generated, so a secret does not apply.`);
    changes.secret = newSigningMaterial(current.id, 'hmac-sha256', svixSecret(input.secret), deps).sealed;
  }
  return changes;
}

export function decideMessage(app: ApplicationState, input: MessageInput, deps: Deps): EventOf<'MessageCreated'> {
  const receivedAt = deps.now().toISOString();
  return makeEvent(
    'MessageCreated',
    {
      message_id: newEntityId(deps),
      app_id: app.id,
      event_type: input.eventType,
      event_id: input.eventId ?? null,
      channels: input.channels && input.channels.length > 0 ? input.channels : null,
      tags: input.tags && input.tags.length > 0 ? input.tags : null,
      payload: input.payload,
      received_at: receivedAt,
      ...(input.deliverAt ? { deliver_at: input.deliverAt } : {}),
    },
    deps,
  );
}

/** The headers after a PUT (replaced) or PATCH (merged; a null value removes that header). Names and values were checked by the schema. */
export function headersAfter(current: Record<string, string> | null | undefined, input: Record<string, string | null>, replace: boolean): Record<string, string> | null {
  const merged: Record<string, string> = replace ? {} : { ...(current ?? {}) };
  for (const [name, value] of Object.entries(input)) {
    for (const existing of Object.keys(merged)) if (existing.toLowerCase() === name.toLowerCase()) delete merged[existing];
    if (value !== null) merged[name] = value;
  }
  return Object.keys(merged).length > 0 ? merged : null;
}



/**
 * Pausing or resuming an endpoint: the change that records it, or none when it is already so (a second
 * pause is not a new pause; a resume of an endpoint that is not paused releases nothing).
 */
export function decidePause(current: SubscriptionState, paused: boolean, deps: Deps): EventOf<'SubscriptionChanged'> | undefined {
  if ((current.paused ?? false) === paused) return undefined;
  const now = deps.now().toISOString();
  return makeEvent(
    'SubscriptionChanged',
    { id: current.id, version: current.version + 1, changes: { paused }, cause: paused ? 'paused' : 'resumed', detail: null, changed_at: now },
    deps,
  );
}

export type TaskCancel = { kind: 'cancel'; event: EventOf<'BackgroundTaskCancelled'> } | { kind: 'cancelled already' } | { kind: 'ended'; status: 'finished' | 'failed' };

/** Cancelling a background task: recorded while it runs; a cancelled one is answered again; one that ended cannot be. */
export function decideTaskCancel(task: { id: string; app_id: string; status: BackgroundTaskStatus }, deps: Deps): TaskCancel {
  switch (task.status) {
    case 'running':
      return { kind: 'cancel', event: makeEvent('BackgroundTaskCancelled', { task_id: task.id, app_id: task.app_id, cancelled_at: deps.now().toISOString() }, deps) };
    case 'cancelled':
      return { kind: 'cancelled already' };
    case 'finished':
    case 'failed':
      return { kind: 'ended', status: task.status };
    default: {
      const unknown: never = task.status;
      throw new Error(`unknown task status ${String(unknown)}`);
    }
  }
}

/** The head of an ordered endpoint's lane, as the read model shows it (the projector's lane-head). */
export type LaneHead = { id: string; subscription_id: string };

export const SKIPPED_BY_OPERATOR = 'skipped by an operator: the ordered endpoint sends the next message';

/**
 * An operator's skip of an ordered endpoint's head: recorded on the endpoint (which delivery, why, when). The
 * dispatcher whose lane holds that head reads it with the head's state before every attempt, and while it
 * waits, and cancels the delivery itself: it alone attempts the head, so the cancel takes the place of an
 * attempt and no attempt overtakes it. An attempt already under way when the skip is recorded may still be
 * delivered (docs/design-notes.md, "Ordered endpoints").
 */
export function decideSkipHead(current: SubscriptionState, head: LaneHead, deps: Deps): EventOf<'SubscriptionChanged'> {
  const now = deps.now().toISOString();
  return makeEvent(
    'SubscriptionChanged',
    {
      id: current.id,
      version: current.version + 1,
      changes: { head_skip: { delivery_id: head.id, reason: SKIPPED_BY_OPERATOR, requested_at: now } },
      cause: 'head_skipped',
      detail: null,
      changed_at: now,
    },
    deps,
  );
}
