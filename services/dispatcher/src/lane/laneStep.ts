import type { DeliveryStatus } from '@hookpost/contracts';
import type { DeliveryJob } from '../delivery/deliveryJob';

/**
 * Ordered endpoints (docs/design-notes.md, "Ordered endpoints"): each has a lane, a durable RabbitMQ queue of
 * its deliveries in message order, consumed one at a time by one dispatcher (single active consumer, prefetch
 * 1). The message at the lane's head stays unacknowledged until its delivery ends; every later one waits.
 *
 * The lane's message is only where the delivery stands in line: where its delivery stands otherwise (attempts
 * made, when the next is due, ended, held) is read from the log's projection, fenced, before each attempt of
 * the head. So a head taken again after a crash, a requeue or another dispatcher's take-over goes on from what
 * was recorded, a copy of a delivery that ended (a message fanned out again after a crash) is let go, and an
 * operator's skip (recorded on the endpoint, read with the head's state) ends the head wherever it is held.
 */

/** Where a lane's delivery stands in the read model (the projector's `/internal/deliveries/:id/lane-state`). */
export type LaneDeliveryState = {
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  /** Its next attempt is held (the endpoint is paused), since held_at. */
  held: boolean;
  held_at: string | null;
  /** An operator asked for this delivery, at its endpoint's head, to be skipped, saying why (null: not asked). */
  skip_reason?: string | null;
};

/** What the lane does next with its head. */
export type LaneStep =
  /** The delivery ended (succeeded, failed, cancelled): the head is let go and the next one goes. */
  | { kind: 'done' }
  /** Make this attempt now. */
  | { kind: 'attempt'; job: DeliveryJob }
  /** The next attempt is due later: look again after `ms` (at most the poll, so a skip is seen soon). */
  | { kind: 'wait'; ms: number }
  /** Held (the endpoint is paused): wait for the resume; nothing behind it goes meanwhile. */
  | { kind: 'held'; heldAt: string }
  /** An operator skipped it: end it, cancelled with `reason`, in place of the attempt `job` would have been. */
  | { kind: 'skip'; job: DeliveryJob; reason: string }
  /** The head has been held unacknowledged as long as it may be (RabbitMQ's consumer_timeout): take it again. */
  | { kind: 'requeue' };

export type LaneTiming = {
  /** How often a waiting head's state is read again. */
  pollMs: number;
  /** When this take of the head must be given back (requeued), in ms since the epoch. */
  giveBackAt: number;
};

const ENDED: ReadonlySet<DeliveryStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * The head's next step, from the lane's job (what the fan-out decided) and the delivery's state as recorded.
 * `state` undefined: the read model does not have the delivery, though the fan-out records it before it is
 * put in the lane; the first attempt is made from the job (the attempt guard keeps it to one).
 */
export function decideLaneStep(job: DeliveryJob, state: LaneDeliveryState | undefined, now: Date, timing: LaneTiming): LaneStep {
  if (state !== undefined && ENDED.has(state.status)) return { kind: 'done' };
  const leftMs = timing.giveBackAt - now.getTime();
  if (leftMs <= 0) return { kind: 'requeue' };
  // (a scheduled message's head waits for its deliverAt whatever the read model says yet, a skip excepted)
  const notBeforeMs = job.not_before === undefined ? 0 : Date.parse(job.not_before) - now.getTime();
  if (notBeforeMs > 0 && typeof state?.skip_reason !== 'string') return { kind: 'wait', ms: Math.min(notBeforeMs, timing.pollMs, leftMs) };
  if (state === undefined) return { kind: 'attempt', job: { ...job, attempt_number: 1 } };
  const { deferrals: _deferrals, rate_limit_queued: _queued, ...rest } = job;
  const next: DeliveryJob = { ...rest, attempt_number: state.attempt_count + 1, last_status_code: state.last_status_code, last_error: state.last_error };
  // (skipped whether due, waiting or held: the operator ends it now)
  if (typeof state.skip_reason === 'string') return { kind: 'skip', job: next, reason: state.skip_reason };
  if (state.held) return { kind: 'held', heldAt: state.held_at ?? now.toISOString() };
  const dueInMs = state.next_attempt_at === null ? 0 : Date.parse(state.next_attempt_at) - now.getTime();
  if (dueInMs > 0) return { kind: 'wait', ms: Math.min(dueInMs, timing.pollMs, leftMs) };
  return { kind: 'attempt', job: next };
}
