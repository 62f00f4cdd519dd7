import { makeEvent, type EventOf } from '@hookpost/contracts';
import { outcomeSoFar, type DeliveryJob } from './deliveryJob';

/**
 * Putting an attempt off without making it: nothing is sent, no attempt is counted, and the job comes back
 * through the retry queue. An attempt is deferred when its endpoint has no free delivery slot in this
 * dispatcher (endpointShare.ts), when its endpoint's rate limit has no request to spare before the attempt's
 * turn (rateLimit.ts), when the rate limiter could not be asked, when the endpoint is failing and another
 * attempt holds its probe slot (endpointHealth.ts), or, for a first attempt, until its message's deliverAt.
 */
export type DeferralCause =
  /** Every slot of the endpoint's share is in use: back off, more with each deferral. */
  | { kind: 'endpoint busy' }
  /** The endpoint's rate limit: back at the turn the limiter gave (`delayMs`, jitter included). */
  | { kind: 'rate limited'; perSecond: number; delayMs: number }
  /** Redis did not answer: wait and ask again (never an unthrottled request), backing off like a busy endpoint. */
  | { kind: 'rate limiter unreachable' }
  /** The endpoint is failing and probed, one attempt per interval (endpointHealth.ts): its reason and delay. */
  | { kind: 'probing'; reason: string; delayMs: number }
  /** The message's deliverAt: its first attempts wait until then (`at`, `delayMs` from now). */
  | { kind: 'scheduled'; at: string; delayMs: number };

const FIRST_DEFERRAL_MS = 500;
/** What a deliverAt's wait adds, as the retry queue's delay tiers are early by less than this (rabbitRetryQueue.ts). */
const SCHEDULE_MARGIN_MS = 50;
const LONGEST_DEFERRAL_MS = 30_000;

/**
 * How long a deferred attempt stays away: 0.5 s, doubling with each deferral of the same attempt up to 30 s,
 * ±20 % so deferred attempts do not all come back together. A saturated endpoint's backlog thus costs a few
 * cheap checks per second, not a busy loop; `random` returns [0, 1).
 */
export function deferralDelay(deferrals: number, random: () => number): number {
  const base = Math.min(FIRST_DEFERRAL_MS * 2 ** Math.min(Math.max(deferrals, 0), 10), LONGEST_DEFERRAL_MS);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Why a deferral happened, as the log records it. */
export const ENDPOINT_BUSY = 'the endpoint had no free delivery slot (its share of this dispatcher is in use)';
export const rateLimited = (perSecond: number) => `the endpoint's rate limit (${perSecond}/s) has no request to spare before this delivery's turn`;
export const scheduledReason = (at: string) => `the message's deliverAt (${at}): no attempt before then`;
export const RATE_LIMITER_UNREACHABLE = 'the rate limiter (Redis) did not answer; the attempt waits rather than go unthrottled';

/**
 * Putting an attempt off: the job to schedule (same attempt number, one more deferral), when, and the event
 * that records it. Recording it keeps the log the truth: a deferred first attempt is then known outside
 * RabbitMQ, and the reconciler re-schedules it if RabbitMQ loses it, as it does retries.
 */
export function decideDeferral(
  job: DeliveryJob,
  deps: { now: () => Date; newId: () => string; random: () => number },
  cause: DeferralCause = { kind: 'endpoint busy' },
): { job: DeliveryJob; delayMs: number; events: [EventOf<'DeliveryDeferred'>] } {
  const deferrals = (job.deferrals ?? 0) + 1;
  const { delayMs, reason, next, at } = ((): { delayMs: number; reason: string; next: DeliveryJob; at?: string } => {
    switch (cause.kind) {
      case 'endpoint busy':
        return { delayMs: deferralDelay(deferrals - 1, deps.random), reason: ENDPOINT_BUSY, next: { ...job, deferrals } };
      case 'rate limited':
        // The job now holds a turn in its endpoint's rate-limit queue: when it comes back it goes ahead of
        // attempts that have none (see redisRateLimiter.ts).
        return { delayMs: Math.max(0, Math.round(cause.delayMs)), reason: rateLimited(cause.perSecond), next: { ...job, deferrals, rate_limit_queued: true } };
      case 'rate limiter unreachable':
        return { delayMs: deferralDelay(deferrals - 1, deps.random), reason: RATE_LIMITER_UNREACHABLE, next: { ...job, deferrals } };
      case 'probing':
        return { delayMs: cause.delayMs, reason: cause.reason, next: { ...job, deferrals } };
      case 'scheduled':
        // Not a backoff: the deferral count (which lengthens the next busy-endpoint wait) stays as it was.
        // (the retry queue may bring a job back up to 50 ms early: none may go before its deliverAt)
        return { delayMs: Math.max(0, Math.round(cause.delayMs)) + SCHEDULE_MARGIN_MS, reason: scheduledReason(cause.at), next: job, at: cause.at };
      default: {
        const unknown: never = cause;
        throw new Error(`unknown deferral cause ${JSON.stringify(unknown)}`);
      }
    }
  })();
  const event = makeEvent(
    'DeliveryDeferred',
    {
      ...outcomeSoFar(job),
      attempt_number: job.attempt_number,
      // (a scheduled time is recorded as given, not as now + a rounded delay)
      next_attempt_at: at ?? new Date(deps.now().getTime() + delayMs).toISOString(),
      reason,
    },
    deps,
  );
  return { job: next, delayMs, events: [event] };
}
