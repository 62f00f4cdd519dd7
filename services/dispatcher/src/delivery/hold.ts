import { makeEvent, type EventOf } from '@hookpost/contracts';
import { outcomeSoFar, type DeliveryJob } from './deliveryJob';
import { jobForOverdueRetry, type OverdueRetry } from './overdueRetry';

/**
 * Holding the attempts of a paused endpoint, and releasing them when it is resumed.
 *
 * A held attempt is recorded (DeliveryHeld) and then nothing waits for it: no retry is scheduled, no attempt
 * is counted, RabbitMQ holds nothing. Resuming the endpoint releases every held delivery the read model shows
 * (DeliveryReleased, and the attempt scheduled at once). A hold recorded while the resume is being handled
 * could be missing from that read, so the dispatcher that records a hold reads the endpoint again, fenced,
 * afterwards, and releases the hold itself if the endpoint is no longer paused: whichever of the two reads
 * comes second sees the other's write (see Dispatcher.hold). Both may release one hold: the attempt guard
 * makes the attempt once.
 */

export const ENDPOINT_PAUSED = 'the endpoint is paused: the attempt is held until it is resumed';

/** An attempt held: the event that records it, and the hold's time (what its release will name). */
export function decideHold(job: DeliveryJob, deps: { now: () => Date; newId: () => string }): { heldAt: string; events: [EventOf<'DeliveryHeld'>] } {
  const heldAt = deps.now().toISOString();
  const event = makeEvent('DeliveryHeld', { ...outcomeSoFar(job), attempt_number: job.attempt_number, held_at: heldAt, reason: ENDPOINT_PAUSED }, deps);
  return { heldAt, events: [event] };
}

/**
 * A hold released: the event that records it (due at once) and the job to schedule, the same attempt with no
 * deferrals counted (they measured waits for an endpoint slot before the hold).
 */
export function decideRelease(job: DeliveryJob, heldAt: string, deps: { now: () => Date; newId: () => string }): { job: DeliveryJob; events: [EventOf<'DeliveryReleased'>] } {
  const now = deps.now().toISOString();
  const { deferrals: _deferrals, ...released } = job;
  const event = makeEvent('DeliveryReleased', { ...outcomeSoFar(job), attempt_number: job.attempt_number, held_at: heldAt, next_attempt_at: now, released_at: now }, deps);
  return { job: released, events: [event] };
}

/** A held delivery as the read model shows it: what its job needs, and the hold a release must name. */
export type HeldDelivery = OverdueRetry & { held_at: string };

/**
 * Whether an endpoint (as the log knows it) still holds its deliveries: it exists and is paused. Only a resume
 * or a deletion ends a hold; an endpoint disabled while paused keeps them held (released on resume, its
 * attempts are then cancelled as any disabled endpoint's).
 */
export function stillPaused(known: { deleted?: boolean; paused?: boolean } | undefined): boolean {
  return known !== undefined && known.deleted !== true && known.paused === true;
}

export { jobForOverdueRetry as jobForHeldDelivery };
