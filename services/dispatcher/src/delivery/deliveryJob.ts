import { compile, toExternalId, type FromSchema } from '@hookpost/contracts';
import { payloadSubject, type PayloadSubject } from '@hookpost/platform';

/**
 * One delivery on its way: what the dispatcher needs to make its next attempt. A retry's job travels through
 * RabbitMQ (attempt_number in a header, the rest as the body), so it is read back through this schema: a
 * message that does not match is parked, never guessed at.
 */
const deliveryJobFields = {
  type: 'object',
  additionalProperties: false,
  required: ['delivery_id', 'subscription_id', 'event_type', 'received_at', 'attempt_number', 'last_status_code', 'last_error'],
  properties: {
    delivery_id: { type: 'string', format: 'uuid' },
    subscription_id: { type: 'string', format: 'uuid' },
    /** The message a fanned-out delivery carries: its id is the webhook-id every endpoint sees (absent for the seed's ingest). */
    message_id: { type: 'string', format: 'uuid' },
    event_type: { type: ['string', 'null'] },
    /** The payload: as JSON (events from before retention), or sealed as in its event (payloadKeys.ts), or gone; exactly one. */
    payload: { type: 'object' },
    payload_sealed: { type: 'string' },
    /** The payload is gone already (a retry restored from the read model after its expiry or expunge): the attempt ends. */
    payload_gone: { enum: ['expired', 'expunged'] },
    received_at: { type: 'string', format: 'date-time' },
    /** The attempt about to be made, 1-based. */
    attempt_number: { type: 'integer', minimum: 1 },
    /** From the previous attempt, for the record if this one never happens. */
    last_status_code: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    /**
     * How often this attempt was deferred because its endpoint had no free slot (endpointShare.ts); absent
     * until it is. Travels in a header, like attempt_number, so an older reader of the body is not upset.
     */
    deferrals: { type: 'integer', minimum: 1 },
    /**
     * Set once the endpoint's rate limit deferred this attempt to a turn of its own (rateLimit.ts): coming back,
     * it goes ahead of attempts that hold no turn. Travels in a header too; cleared for the next attempt.
     */
    rate_limit_queued: { type: 'boolean' },
    /**
     * A lane's job only (ordered endpoints, lane/laneStep.ts): its message's deliverAt, before which the head
     * waits whatever a read model not yet caught up says. Lanes are newer than any reader that would refuse it.
     */
    not_before: { type: 'string', format: 'date-time' },
  },
} as const;
export const deliveryJobSchema = { ...deliveryJobFields, oneOf: [
  { required: ['payload'], properties: { payload: deliveryJobFields.properties.payload } },
  { required: ['payload_sealed'], properties: { payload_sealed: deliveryJobFields.properties.payload_sealed } },
  { required: ['payload_gone'], properties: { payload_gone: deliveryJobFields.properties.payload_gone } },
] } as const;

export type DeliveryJob = Readonly<FromSchema<typeof deliveryJobFields>>;

const validateJob = compile(deliveryJobSchema);

export type JobReading = { ok: true; job: DeliveryJob } | { ok: false; reason: string };

/** A count header: a number, or its decimal text (how some clients write numbers in AMQP headers). */
function countHeader(header: unknown): unknown {
  return typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : header;
}

/** A flag header: true or false, or how some clients write them (1/0, their text); anything else is left to fail the schema. */
function flagHeader(header: unknown): unknown {
  if (header === 1 || header === '1' || header === 'true') return true;
  if (header === 0 || header === '0' || header === 'false') return false;
  return header;
}

/**
 * A job as it comes off the retry queue: its JSON body, the attempt number from its header, and the
 * deferrals and rate-limit turn from theirs when present. Anything else is a reason to park the message.
 */
export function readDeliveryJob(body: Buffer, attemptHeader: unknown, deferralsHeader?: unknown, rateQueuedHeader?: unknown): JobReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, reason: 'body is not a JSON object' };
  const fromHeaders = {
    attempt_number: countHeader(attemptHeader),
    ...(deferralsHeader === undefined ? {} : { deferrals: countHeader(deferralsHeader) }),
    ...(rateQueuedHeader === undefined ? {} : { rate_limit_queued: flagHeader(rateQueuedHeader) }),
  };
  return checkDeliveryJob({ ...(parsed as Record<string, unknown>), ...fromHeaders });
}

/** A job built from anything read from outside this process, checked against the schema. */
export function checkDeliveryJob(candidate: unknown): JobReading {
  const result = validateJob(candidate);
  if (!result.ok) return { ok: false, reason: `job is invalid: ${result.errors.join('; ')}` };
  return { ok: true, job: candidate as DeliveryJob };
}

/** What every delivery event says of the delivery it is about. */
export function deliveryRefOf(job: DeliveryJob) {
  return {
    delivery_id: job.delivery_id,
    subscription_id: job.subscription_id,
    event_type: job.event_type,
    received_at: job.received_at,
    ...(job.message_id === undefined ? {} : { message_id: job.message_id }),
  };
}

/**
 * The `webhook-id` receivers see: a fanned-out delivery carries its message's id (the same at every endpoint,
 * as Svix sends it), the seed's ingest its delivery's id. Unchanged across retries either way.
 */
export function webhookIdOf(job: DeliveryJob): string {
  return job.message_id === undefined ? job.delivery_id : toExternalId('msg', job.message_id);
}

/** What a delivery event records of a job whose attempt was not made (cancelled, failed, deferred): the outcome so far. */
export function outcomeSoFar(job: DeliveryJob) {
  return {
    ...deliveryRefOf(job),
    attempt_count: job.attempt_number - 1,
    last_status_code: job.last_status_code,
    last_error: job.last_error,
  };
}

/** What a job's payload is sealed for: its message, or (the seed's ingest) its delivery. */
export function payloadSubjectOf(job: Pick<DeliveryJob, 'message_id' | 'delivery_id'>): PayloadSubject {
  return job.message_id === undefined ? payloadSubject('delivery', job.delivery_id) : payloadSubject('message', job.message_id);
}
