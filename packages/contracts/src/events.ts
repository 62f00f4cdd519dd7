import type { FromSchema } from 'json-schema-to-ts';
import { compile } from './validation';

/**
 * Internal events, one JSON Schema each. The log is the source of truth: every table is a projection of
 * these, so a field added here must stay optional for events already in the log (bump schema_version when
 * the meaning changes).
 */

const uuid = { type: 'string', format: 'uuid' } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;
const nullableString = { type: ['string', 'null'] } as const;

/** A subscription as the log knows it: everything needed to deliver, with the secret encrypted. */
export const subscriptionStateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'name', 'target_url', 'is_active', 'event_types', 'secret', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    version: { type: 'integer', minimum: 1 },
    name: { type: 'string' },
    description: nullableString,
    target_url: { type: 'string' },
    is_active: { type: 'boolean' },
    event_types: { type: ['array', 'null'], items: { type: 'string' } },
    /** AES-256-GCM ciphertext, see packages/platform/src/secretBox.ts. Never the clear secret. */
    secret: { type: 'string' },
    max_attempts: { type: ['integer', 'null'] },
    timeout_ms: { type: ['integer', 'null'] },
    /** Absent in events written before asymmetric signing: hmac-sha256. */
    signature_scheme: { enum: ['hmac-sha256', 'ed25519'] },
    /** ed25519 only: the whpk_ public key receivers verify with. */
    public_key: { type: ['string', 'null'] },
    /** After a rotation: the previous secret (sealed), still used to sign until it expires. */
    previous_secret: { type: ['string', 'null'] },
    previous_secret_expires_at: { type: ['string', 'null'], format: 'date-time' },
    /**
     * The application the endpoint belongs to. Absent in events written before applications: the default
     * application (DEFAULT_APPLICATION_ID), which every subscription of the seed's API belongs to.
     */
    app_id: uuid,
    /** Svix endpoint fields (absent = null): a caller's own unique id within the application, channels, metadata, requests per second, headers sent with every delivery. */
    uid: nullableString,
    channels: { type: ['array', 'null'], items: { type: 'string' } },
    metadata: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    rate_limit: { type: ['integer', 'null'] },
    headers: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    /**
     * Which messages the endpoint takes by their payload (absent = null: every one); see payloadFilterSchema.ts.
     * Any object here: the gateway checked it against the filter schema, and the dispatcher compiles it (a
     * filter it cannot compile lets nothing through, and says so), so the log's schema does not follow the
     * filter language's.
     */
    payload_filter: { type: ['object', 'null'] },
    /**
     * Paused (a Hookpost extension of Svix's endpoints): its deliveries are held, neither attempted nor failed,
     * until it is resumed. Absent in events written before pausing existed: not paused.
     */
    paused: { type: 'boolean' },
    /**
     * Ordered (a Hookpost extension of Svix's endpoints): its messages' deliveries are sent one at a time, in
     * message order, each after the one before ended (docs/design-notes.md, "Ordered endpoints"). Absent in
     * events written before ordered endpoints existed: not ordered.
     */
    ordered: { type: 'boolean' },
    /**
     * An operator's skip of the delivery at the head of the ordered endpoint's lane (absent = null: none asked
     * for): the dispatcher holding that head ends it, cancelled with `reason`, before its next attempt.
     */
    head_skip: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['delivery_id', 'reason', 'requested_at'],
      properties: { delivery_id: uuid, reason: { type: 'string' }, requested_at: timestamp },
    },
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;
export type SubscriptionState = FromSchema<typeof subscriptionStateSchema>;

export const subscriptionCreatedSchema = subscriptionStateSchema;
/** A whole new state. Written before SubscriptionChanged existed; still read, no longer written. */
export const subscriptionUpdatedSchema = subscriptionStateSchema;

/** The fields of a subscription a change may set (never its id, scheme, version or timestamps). */
const { id: _id, version: _version, signature_scheme: _scheme, created_at: _created, updated_at: _updated, ...changeableState } =
  subscriptionStateSchema.properties;

/** Why a subscription changed: who asked for it, in the log for good. */
// resealed: its secret(s) sealed again under the first master key (npm run reseal), the secrets unchanged.
// endpoint_gone: disabled because it answered 410; endpoint_failing: disabled because every attempt failed for
// HOOKPOST_ENDPOINT_DISABLE_AFTER_MS (both by the dispatcher). paused / resumed: its deliveries held, then sent
// again (the dispatcher releases what was held on `resumed`). head_skipped: an operator asked for the ordered
// endpoint's head to be skipped (head_skip).
export const subscriptionChangeCauses = ['replaced', 'patched', 'secret_rotated', 'endpoint_gone', 'endpoint_failing', 'resealed', 'paused', 'resumed', 'head_skipped'] as const;
export type SubscriptionChangeCause = (typeof subscriptionChangeCauses)[number];

/**
 * What changed in a subscription and why; the fields not named keep their value. Every reader folds these in
 * log order (see subscriptionHistory.ts), so two writers that change different fields never undo each other.
 * `version` is the version the writer expects the change to make; the fold counts versions itself.
 */
export const subscriptionChangedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'changes', 'cause', 'detail', 'changed_at'],
  properties: {
    id: uuid,
    version: { type: 'integer', minimum: 2 },
    changes: { type: 'object', additionalProperties: false, minProperties: 1, properties: changeableState },
    cause: { enum: subscriptionChangeCauses },
    /** A person-readable why, e.g. which delivery's endpoint answered 410. */
    detail: nullableString,
    changed_at: timestamp,
    /**
     * Whether the subscription was enabled in the state the writer decided on. With `changes.is_active` it tells
     * an enable or a disable from a change that merely restates it (a PUT sends every field), without folding
     * the history (operational webhooks). Absent in events written before it.
     */
    was_active: { type: 'boolean' },
    /** An automatic disable after sustained failure (cause endpoint_failing): since when every attempt failed. */
    failing_since: timestamp,
  },
} as const;
export type SubscriptionChanged = FromSchema<typeof subscriptionChangedSchema>;
export type SubscriptionChanges = SubscriptionChanged['changes'];
export const subscriptionDeletedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'deleted_at'],
  properties: { id: uuid, version: { type: 'integer', minimum: 1 }, deleted_at: timestamp },
} as const;

/** An application: one customer of the sender, owning endpoints; messages are sent to it. */
export const applicationStateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'name', 'uid', 'metadata', 'rate_limit', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    version: { type: 'integer', minimum: 1 },
    name: { type: 'string' },
    /** The caller's own id for it, unique among live applications; usable in place of the id. */
    uid: nullableString,
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    /** Default requests per second for its endpoints (null: no limit). */
    rate_limit: { type: ['integer', 'null'] },
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;
export type ApplicationState = FromSchema<typeof applicationStateSchema>;

const { id: _appId, version: _appVersion, created_at: _appCreated, updated_at: _appUpdated, ...changeableApplication } = applicationStateSchema.properties;

/** What changed in an application; fields not named keep their value (folded like SubscriptionChanged). */
export const applicationChangedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'changes', 'changed_at'],
  properties: {
    id: uuid,
    version: { type: 'integer', minimum: 2 },
    changes: { type: 'object', additionalProperties: false, minProperties: 1, properties: changeableApplication },
    changed_at: timestamp,
  },
} as const;
export type ApplicationChanged = FromSchema<typeof applicationChangedSchema>;

export const applicationDeletedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'deleted_at'],
  properties: { id: uuid, version: { type: 'integer', minimum: 1 }, deleted_at: timestamp },
} as const;
export type ApplicationDeleted = FromSchema<typeof applicationDeletedSchema>;

/** An event type of the catalogue, keyed by its name (its `id` is the name). */
export const eventTypeStateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'description', 'schemas', 'archived', 'deprecated', 'feature_flag', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', minLength: 1 },
    version: { type: 'integer', minimum: 1 },
    description: { type: 'string' },
    /** JSON Schemas of the payload by schema version ("1", ...); a message's payload must match the highest. */
    schemas: { type: ['object', 'null'], additionalProperties: { type: 'object' } },
    archived: { type: 'boolean' },
    deprecated: { type: 'boolean' },
    feature_flag: nullableString,
    created_at: timestamp,
    updated_at: timestamp,
  },
} as const;
export type EventTypeState = FromSchema<typeof eventTypeStateSchema>;

const { id: _etId, version: _etVersion, created_at: _etCreated, updated_at: _etUpdated, ...changeableEventType } = eventTypeStateSchema.properties;

export const eventTypeChangedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'changes', 'changed_at'],
  properties: {
    id: { type: 'string', minLength: 1 },
    version: { type: 'integer', minimum: 2 },
    changes: { type: 'object', additionalProperties: false, minProperties: 1, properties: changeableEventType },
    changed_at: timestamp,
  },
} as const;
export type EventTypeChanged = FromSchema<typeof eventTypeChangedSchema>;

/** An event type removed for good (Svix's `expunge`); archiving is a change. */
export const eventTypeDeletedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'deleted_at'],
  properties: { id: { type: 'string', minLength: 1 }, version: { type: 'integer', minimum: 1 }, deleted_at: timestamp },
} as const;
export type EventTypeDeleted = FromSchema<typeof eventTypeDeletedSchema>;

/**
 * A payload travels in the log in one of two forms: `payload`, the JSON itself (every event written before
 * retention, still read), or `payload_sealed`, sealed under its retention bucket's key (see
 * packages/platform/src/payloadKeys.ts: `pk1:<bucket id>:<base64>`), unreadable once the bucket expired or the
 * message was expunged. Exactly one is present; a reader from before retention requires `payload`, so it
 * refuses (parks) a sealed event loudly rather than delivering an empty one.
 */
const payloadFields = {
  payload: { type: 'object' },
  payload_sealed: { type: 'string', pattern: '^pk1:[0-9]+:[A-Za-z0-9+/=]+$' },
} as const;
const payloadForms = [
  { required: ['payload'], properties: { payload: payloadFields.payload } },
  { required: ['payload_sealed'], properties: { payload_sealed: payloadFields.payload_sealed } },
] as const;

/**
 * A message sent to an application: one event in the log, keyed by the application. The dispatcher fans it
 * out (MessageRouted) to every endpoint of the application that wants it, so the request path writes once.
 */
const messageCreatedFields = {
  type: 'object',
  additionalProperties: false,
  required: ['message_id', 'app_id', 'event_type', 'event_id', 'channels', 'tags', 'received_at'],
  properties: {
    message_id: uuid,
    app_id: uuid,
    event_type: { type: 'string' },
    /** The sender's own id for the message, unique within the application. */
    event_id: nullableString,
    channels: { type: ['array', 'null'], items: { type: 'string' } },
    tags: { type: ['array', 'null'], items: { type: 'string' } },
    ...payloadFields,
    received_at: timestamp,
    /** Sent to this one endpoint of the application only, whatever its filters (send-example); absent: fanned out. */
    endpoint_id: uuid,
    /** Svix's deliverAt, when in the future: no first attempt before this time (absent: at once). */
    deliver_at: timestamp,
  },
} as const;
export const messageCreatedSchema = { ...messageCreatedFields, oneOf: payloadForms } as const;
/** (the type from the fields alone: exactly one of payload and payload_sealed is there, the schema checks which) */
export type MessageCreated = FromSchema<typeof messageCreatedFields>;

/**
 * A request to deliver messages again to one endpoint, as new deliveries (a delivery that ended stays ended):
 * `resend` one message; `recover` every message whose delivery to the endpoint failed in [since, until);
 * `replay_missing` every message of the application in [since, until) the endpoint never got; `replay_log`
 * every message of the application in [since, until) (of `event_types`, and in `channel`, when given), read
 * from this log rather than the read model. Keyed by the application on the webhooks topic; the dispatcher
 * carries it out (the delivery ids derive from the request, so carrying it out again after a crash names the
 * same deliveries). Every kind but `resend` is a background task (`request_id` is its id): its progress and
 * end are BackgroundTask* events.
 */
export const redeliveryKinds = ['resend', 'recover', 'replay_missing', 'replay_log'] as const;
export type RedeliveryKind = (typeof redeliveryKinds)[number];
export const redeliveryRequestedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['request_id', 'kind', 'app_id', 'subscription_id', 'message_id', 'since', 'until', 'requested_at'],
  properties: {
    request_id: uuid,
    kind: { enum: redeliveryKinds },
    app_id: uuid,
    subscription_id: uuid,
    message_id: { type: ['string', 'null'], format: 'uuid' },
    since: { type: ['string', 'null'], format: 'date-time' },
    until: { type: ['string', 'null'], format: 'date-time' },
    /** replay_log only: the event types to replay (absent or null: every type). */
    event_types: { type: ['array', 'null'], items: { type: 'string' } },
    /** replay_log only: only messages sent in this channel (absent or null: any). */
    channel: nullableString,
    requested_at: timestamp,
  },
} as const;
export type RedeliveryRequested = FromSchema<typeof redeliveryRequestedSchema>;

/** The background-task counters every progress and end event carries (cumulative, so the latest is the largest). */
const taskCounters = {
  /** Messages looked at (for a replay from the log: the application's messages read in the window). */
  messages_scanned: { type: 'integer', minimum: 0 },
  /** Messages given a new delivery to the endpoint. */
  messages_sent: { type: 'integer', minimum: 0 },
} as const;

/**
 * How far a background task (a RedeliveryRequested other than `resend`) has got, recorded by the dispatcher
 * as it goes. `position` is where to carry on after a crash: every message before it has its delivery decided
 * and its first attempt made (or deferred, or held). `progress` is the share of the work done (0–1) when the
 * task knows its size (a replay from the log knows the offsets it reads), else null.
 */
export const backgroundTaskProgressedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['task_id', 'app_id', 'checkpoint', 'messages_scanned', 'messages_sent', 'progress', 'position', 'progressed_at'],
  properties: {
    task_id: uuid,
    app_id: uuid,
    /** Counts the task's progress events, on from the last one after a crash: the highest holds the latest position. */
    checkpoint: { type: 'integer', minimum: 0 },
    ...taskCounters,
    progress: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    position: nullableString,
    progressed_at: timestamp,
  },
} as const;
export type BackgroundTaskProgressed = FromSchema<typeof backgroundTaskProgressedSchema>;

/** How a background task ended, as the dispatcher records it (`cancelled`: it stopped because it was cancelled). */
export const backgroundTaskOutcomes = ['finished', 'failed', 'cancelled'] as const;
export const backgroundTaskFinishedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['task_id', 'app_id', 'outcome', 'messages_scanned', 'messages_sent', 'reason', 'finished_at'],
  properties: {
    task_id: uuid,
    app_id: uuid,
    outcome: { enum: backgroundTaskOutcomes },
    ...taskCounters,
    /** Why it failed (or was cancelled); null when it finished. */
    reason: nullableString,
    finished_at: timestamp,
  },
} as const;
export type BackgroundTaskFinished = FromSchema<typeof backgroundTaskFinishedSchema>;

/** A cancel asked for through the API: the task reads as cancelled from then on, and the dispatcher stops it. */
export const backgroundTaskCancelledSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['task_id', 'app_id', 'cancelled_at'],
  properties: { task_id: uuid, app_id: uuid, cancelled_at: timestamp },
} as const;
export type BackgroundTaskCancelled = FromSchema<typeof backgroundTaskCancelledSchema>;

/**
 * A message's payload removed (Svix's expunge content): from the read model, and from the log by forgetting
 * its key (a sealed payload; see payloadKeys.ts); its deliveries and attempts stay.
 */
export const messageContentExpungedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['message_id', 'app_id', 'expunged_at'],
  properties: { message_id: uuid, app_id: uuid, expunged_at: timestamp },
} as const;
export type MessageContentExpunged = FromSchema<typeof messageContentExpungedSchema>;

/** An attempt's response body removed from the read model. */
export const attemptContentExpungedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['attempt_id', 'delivery_id', 'app_id', 'expunged_at'],
  properties: { attempt_id: uuid, delivery_id: uuid, app_id: uuid, expunged_at: timestamp },
} as const;
export type AttemptContentExpunged = FromSchema<typeof attemptContentExpungedSchema>;

/** Why an endpoint the message was for got no delivery of it. */
export const filteredReasons = ['payload_filter'] as const;
export type FilteredReason = (typeof filteredReasons)[number];
/** How many filtered endpoints one MessageRouted names (it stays well inside a Kafka message with 1,000). */
export const maxFilteredRecorded = 1_000;

/**
 * The dispatcher's fan-out decision for one message: one delivery per matching endpoint (ids derived from the
 * message and the endpoint, so deciding again after a crash names the same deliveries). Written before any of
 * them is attempted, so the read model knows every delivery a message has, even ones not attempted yet.
 */
export const messageRoutedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['message_id', 'app_id', 'event_type', 'received_at', 'deliveries', 'routed_at'],
  properties: {
    message_id: uuid,
    app_id: uuid,
    event_type: { type: 'string' },
    received_at: timestamp,
    deliveries: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['delivery_id', 'subscription_id'],
        // ordered: the delivery goes through its endpoint's lane (absent: it does not), decided at the fan-out for good.
        properties: { delivery_id: uuid, subscription_id: uuid, ordered: { const: true } },
      },
    },
    routed_at: timestamp,
    /** `manual`: deliveries someone asked for again (resend, recover, replay); absent: the message's own fan-out. */
    trigger: { enum: ['scheduled', 'manual'] },
    /**
     * The endpoints the message's event type and channels selected but whose payload filter refused it, with
     * why (absent in older events, and when there are none): with `deliveries`, every endpoint the message was
     * for is accounted for. At most `maxFilteredRecorded`; past that `filtered_omitted` counts the rest.
     */
    filtered: {
      type: 'array',
      maxItems: maxFilteredRecorded,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['subscription_id', 'reason', 'detail'],
        properties: {
          subscription_id: uuid,
          reason: { enum: filteredReasons },
          /** Which part of the filter failed and how (paths, operators, the types found; never payload values). */
          detail: { type: 'string', maxLength: 256 },
        },
      },
    },
    filtered_omitted: { type: 'integer', minimum: 1 },
  },
} as const;
export type MessageRouted = FromSchema<typeof messageRoutedSchema>;

const webhookReceivedFields = {
  type: 'object',
  additionalProperties: false,
  required: ['delivery_id', 'subscription_id', 'event_type', 'received_at'],
  properties: {
    delivery_id: uuid,
    subscription_id: uuid,
    event_type: nullableString,
    ...payloadFields,
    received_at: timestamp,
  },
} as const;
export const webhookReceivedSchema = { ...webhookReceivedFields, oneOf: payloadForms } as const;
export type WebhookReceived = FromSchema<typeof webhookReceivedFields>;

/** Fields every delivery event carries, so a projection can build the row whichever event arrives first. */
const deliveryRef = {
  delivery_id: uuid,
  subscription_id: uuid,
  event_type: nullableString,
  received_at: timestamp,
  /** The message this delivery fans out (absent for the seed's ingest, where the delivery is the message). */
  message_id: uuid,
} as const;
const deliveryRefRequired = ['delivery_id', 'subscription_id', 'event_type', 'received_at'] as const;

export const deliveryAttemptedSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryRefRequired, 'attempt_number', 'status_code', 'duration_ms', 'error', 'response_headers', 'response_body', 'started_at'],
  properties: {
    ...deliveryRef,
    attempt_number: { type: 'integer', minimum: 1 },
    status_code: { type: ['integer', 'null'] },
    duration_ms: { type: 'integer', minimum: 0 },
    error: nullableString,
    response_headers: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    response_body: nullableString,
    started_at: timestamp,
  },
} as const;
export type DeliveryAttempted = FromSchema<typeof deliveryAttemptedSchema>;

const deliveryOutcome = {
  ...deliveryRef,
  attempt_count: { type: 'integer', minimum: 0 },
  last_status_code: { type: ['integer', 'null'] },
  last_error: nullableString,
} as const;
const deliveryOutcomeRequired = [...deliveryRefRequired, 'attempt_count', 'last_status_code', 'last_error'] as const;

export const deliverySucceededSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryOutcomeRequired, 'delivered_at'],
  properties: { ...deliveryOutcome, delivered_at: timestamp },
} as const;
export type DeliverySucceeded = FromSchema<typeof deliverySucceededSchema>;

export const deliveryRetryScheduledSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryOutcomeRequired, 'next_attempt_at', 'delay_ms'],
  properties: { ...deliveryOutcome, next_attempt_at: timestamp, delay_ms: { type: 'integer', minimum: 0 } },
} as const;
export type DeliveryRetryScheduled = FromSchema<typeof deliveryRetryScheduledSchema>;

export const deliveryFailedSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryOutcomeRequired, 'reason'],
  properties: { ...deliveryOutcome, reason: { type: 'string' } },
} as const;
export type DeliveryFailed = FromSchema<typeof deliveryFailedSchema>;

export const deliveryCancelledSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryOutcomeRequired, 'reason'],
  properties: { ...deliveryOutcome, reason: { type: 'string' } },
} as const;
export type DeliveryCancelled = FromSchema<typeof deliveryCancelledSchema>;

/**
 * An attempt put off without being made: its endpoint had no free delivery slot (the dispatcher's fair share per
 * endpoint), or is failing and being probed, one attempt per interval (circuit breaking), or its endpoint's rate
 * limit had no request to spare before the attempt's turn (or could not be asked); `reason` says which. Nothing was sent and no attempt is counted; `next_attempt_at` says when it comes back. The
 * delivery stays where it was (pending before the first attempt, retrying after), with the outcome of the
 * attempt before (`last_status_code`, `last_error`); only its next attempt time moves. Recorded so that the
 * log, not RabbitMQ alone, knows a first attempt is waiting: the reconciler re-schedules it if RabbitMQ loses it.
 */
export const deliveryDeferredSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryOutcomeRequired, 'attempt_number', 'next_attempt_at', 'reason'],
  properties: {
    ...deliveryOutcome,
    /** The attempt put off (attempt_count + 1). */
    attempt_number: { type: 'integer', minimum: 1 },
    next_attempt_at: timestamp,
    reason: { type: 'string' },
  },
} as const;
export type DeliveryDeferred = FromSchema<typeof deliveryDeferredSchema>;

/**
 * An attempt held because its endpoint is paused: not made, not failed, no attempt counted, no retry scheduled.
 * The delivery stays where it stood while that attempt was due (pending or retrying) and reads as held until
 * a DeliveryReleased names this hold (`held_at`) or the delivery moves on. Nothing in RabbitMQ waits for it:
 * resuming the endpoint releases it (see the dispatcher's releaseHeld).
 */
export const deliveryHeldSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryOutcomeRequired, 'attempt_number', 'held_at', 'reason'],
  properties: {
    ...deliveryOutcome,
    /** The attempt held (attempt_count + 1). */
    attempt_number: { type: 'integer', minimum: 1 },
    held_at: timestamp,
    reason: { type: 'string' },
  },
} as const;
export type DeliveryHeld = FromSchema<typeof deliveryHeldSchema>;

/**
 * A hold ended: the held attempt is scheduled again, due at `next_attempt_at` (at once). `held_at` names the
 * hold it ends, so a release read before or after its hold, or a hold made again later, is told apart.
 */
export const deliveryReleasedSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...deliveryOutcomeRequired, 'attempt_number', 'held_at', 'next_attempt_at', 'released_at'],
  properties: {
    ...deliveryOutcome,
    attempt_number: { type: 'integer', minimum: 1 },
    held_at: timestamp,
    next_attempt_at: timestamp,
    released_at: timestamp,
  },
} as const;
export type DeliveryReleased = FromSchema<typeof deliveryReleasedSchema>;

export const eventSchemas = {
  SubscriptionCreated: subscriptionCreatedSchema,
  SubscriptionUpdated: subscriptionUpdatedSchema,
  SubscriptionChanged: subscriptionChangedSchema,
  SubscriptionDeleted: subscriptionDeletedSchema,
  WebhookReceived: webhookReceivedSchema,
  DeliveryAttempted: deliveryAttemptedSchema,
  DeliverySucceeded: deliverySucceededSchema,
  DeliveryRetryScheduled: deliveryRetryScheduledSchema,
  DeliveryFailed: deliveryFailedSchema,
  DeliveryCancelled: deliveryCancelledSchema,
  DeliveryDeferred: deliveryDeferredSchema,
  DeliveryHeld: deliveryHeldSchema,
  DeliveryReleased: deliveryReleasedSchema,
  ApplicationCreated: applicationStateSchema,
  ApplicationChanged: applicationChangedSchema,
  ApplicationDeleted: applicationDeletedSchema,
  EventTypeCreated: eventTypeStateSchema,
  EventTypeChanged: eventTypeChangedSchema,
  EventTypeDeleted: eventTypeDeletedSchema,
  MessageCreated: messageCreatedSchema,
  MessageRouted: messageRoutedSchema,
  RedeliveryRequested: redeliveryRequestedSchema,
  MessageContentExpunged: messageContentExpungedSchema,
  AttemptContentExpunged: attemptContentExpungedSchema,
  BackgroundTaskProgressed: backgroundTaskProgressedSchema,
  BackgroundTaskFinished: backgroundTaskFinishedSchema,
  BackgroundTaskCancelled: backgroundTaskCancelledSchema,
} as const;

export type EventType = keyof typeof eventSchemas;
export const eventTypes = Object.keys(eventSchemas) as EventType[];

export type SubscriptionDeleted = FromSchema<typeof subscriptionDeletedSchema>;

type EventData = {
  SubscriptionCreated: SubscriptionState;
  SubscriptionUpdated: SubscriptionState;
  SubscriptionChanged: SubscriptionChanged;
  SubscriptionDeleted: SubscriptionDeleted;
  WebhookReceived: WebhookReceived;
  DeliveryAttempted: DeliveryAttempted;
  DeliverySucceeded: DeliverySucceeded;
  DeliveryRetryScheduled: DeliveryRetryScheduled;
  DeliveryFailed: DeliveryFailed;
  DeliveryCancelled: DeliveryCancelled;
  DeliveryDeferred: DeliveryDeferred;
  DeliveryHeld: DeliveryHeld;
  DeliveryReleased: DeliveryReleased;
  ApplicationCreated: ApplicationState;
  ApplicationChanged: ApplicationChanged;
  ApplicationDeleted: ApplicationDeleted;
  EventTypeCreated: EventTypeState;
  EventTypeChanged: EventTypeChanged;
  EventTypeDeleted: EventTypeDeleted;
  MessageCreated: MessageCreated;
  MessageRouted: MessageRouted;
  RedeliveryRequested: RedeliveryRequested;
  MessageContentExpunged: MessageContentExpunged;
  AttemptContentExpunged: AttemptContentExpunged;
  BackgroundTaskProgressed: BackgroundTaskProgressed;
  BackgroundTaskFinished: BackgroundTaskFinished;
  BackgroundTaskCancelled: BackgroundTaskCancelled;
};

/** The envelope every event travels in. */
export type HookpostEvent = {
  [K in EventType]: Readonly<{
    id: string;
    type: K;
    schema_version: 1;
    occurred_at: string;
    data: EventData[K];
  }>;
}[EventType];

export type EventOf<K extends EventType> = Extract<HookpostEvent, { type: K }>;

const envelopeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'schema_version', 'occurred_at', 'data'],
  properties: {
    id: uuid,
    type: { enum: eventTypes },
    schema_version: { const: 1 },
    occurred_at: timestamp,
    data: { type: 'object' },
  },
} as const;

const validateEnvelope = compile(envelopeSchema);
const validateData = Object.fromEntries(
  Object.entries(eventSchemas).map(([type, schema]) => [type, compile(schema)]),
) as Record<EventType, ReturnType<typeof compile>>;

export class InvalidEventError extends Error {
  constructor(
    message: string,
    readonly details: string[],
    /**
     * The event is well formed but names what this release does not know: a type it has no schema for, a
     * newer schema_version, or fields its schema does not have (and nothing else wrong). A newer release wrote
     * it, and only a newer release can read it: a reader must not skip it (see readEvent in the platform).
     */
    readonly fromNewerRelease = false,
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

const knownTypes: ReadonlySet<string> = new Set(eventTypes);

/** An envelope whose every field is well formed but whose type or schema_version this release does not know. */
function newerEnvelope(candidate: unknown): boolean {
  if (typeof candidate !== 'object' || candidate === null) return false;
  const { type, schema_version: version } = candidate as Record<string, unknown>;
  if (typeof type !== 'string' || typeof version !== 'number' || !Number.isInteger(version)) return false;
  if (knownTypes.has(type) && version <= 1) return false;
  // Everything else about it must be right: read as a type and version this release knows, it is valid.
  return validateEnvelope({ ...candidate, type: eventTypes[0], schema_version: 1 }).ok;
}

/** Validates an event against its envelope and its type's schema; throws InvalidEventError. */
export function assertValidEvent(candidate: unknown): asserts candidate is HookpostEvent {
  const envelope = validateEnvelope(candidate);
  if (!envelope.ok) throw new InvalidEventError('event envelope is invalid', envelope.errors, newerEnvelope(candidate));
  const event = candidate as { type: EventType; data: unknown };
  const data = validateData[event.type](event.data);
  if (!data.ok) {
    const onlyUnknownFields = (data.keywords ?? []).length > 0 && data.keywords!.every((keyword) => keyword === 'additionalProperties');
    throw new InvalidEventError(`${event.type} data is invalid`, data.errors, onlyUnknownFields);
  }
}

export function makeEvent<K extends EventType>(
  type: K,
  data: EventData[K],
  deps: { now: () => Date; newId: () => string },
): EventOf<K> {
  return { id: deps.newId(), type, schema_version: 1, occurred_at: deps.now().toISOString(), data } as unknown as EventOf<K>;
}
