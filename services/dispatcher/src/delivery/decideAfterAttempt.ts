import { expiredPreviousSecretCleared, isDeleted, makeEvent, type EventOf, type HookpostEvent, type KnownSubscription, type SubscriptionState } from '@hookpost/contracts';
import { deliveryRefOf, outcomeSoFar, type DeliveryJob } from './deliveryJob';
import { classifyAttempt, type AttemptResult } from './classifyResponse';
import { maxAttemptsOf, nextRetryDelay, parseRetryAfter, type RetryPolicy } from './retryPolicy';

export type AttemptRecord = Readonly<{
  result: AttemptResult;
  started_at: Date;
  duration_ms: number;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}>;

export type Decision = {
  events: HookpostEvent[];
  /** Set when another attempt is due after `delayMs`. */
  retry?: { job: DeliveryJob; delayMs: number };
  /** Set when the endpoint said 410 Gone: the subscription is to be disabled, for this reason. */
  disable?: DisableRequest;
};

/** An automatic disable: the endpoint answered 410 Gone, or every attempt failed for too long (endpointHealth.ts). */
export type DisableRequest = Readonly<{ subscription_id: string; cause: 'endpoint_gone' | 'endpoint_failing'; detail: string; failing_since?: string }>;

type Deps = { now: () => Date; newId: () => string; random: () => number };

function statusCodeOf(result: AttemptResult): number | null {
  return result.kind === 'response' ? result.statusCode : null;
}

function errorOf(result: AttemptResult): string | null {
  if (result.kind === 'response') return result.statusCode >= 200 && result.statusCode < 300 ? null : `HTTP ${result.statusCode}`;
  return result.error;
}

/** After an attempt: record it, then succeed, schedule the next attempt, or end the delivery. */
export function decideAfterAttempt(
  job: DeliveryJob,
  subscription: SubscriptionState,
  attempt: AttemptRecord,
  policy: RetryPolicy,
  deps: Deps,
): Decision {
  const ref = deliveryRefOf(job);
  const statusCode = statusCodeOf(attempt.result);
  const error = errorOf(attempt.result);
  const outcome = { ...ref, attempt_count: job.attempt_number, last_status_code: statusCode, last_error: error };
  const attempted = makeEvent(
    'DeliveryAttempted',
    {
      ...ref,
      attempt_number: job.attempt_number,
      status_code: statusCode,
      duration_ms: attempt.duration_ms,
      error,
      response_headers: attempt.response_headers,
      response_body: attempt.response_body,
      started_at: attempt.started_at.toISOString(),
    },
    deps,
  );

  const verdict = classifyAttempt(attempt.result);
  switch (verdict.kind) {
    case 'succeeded':
      return { events: [attempted, makeEvent('DeliverySucceeded', { ...outcome, delivered_at: deps.now().toISOString() }, deps)] };
    case 'gone':
      return {
        events: [attempted, makeEvent('DeliveryFailed', { ...outcome, reason: 'endpoint answered 410 Gone; subscription disabled' }, deps)],
        disable: { subscription_id: subscription.id, cause: 'endpoint_gone', detail: `the endpoint answered 410 Gone to delivery ${job.delivery_id} (attempt ${job.attempt_number})` },
      };
    case 'fail-permanently':
      return { events: [attempted, makeEvent('DeliveryFailed', { ...outcome, reason: verdict.reason }, deps)] };
    case 'retry': {
      const maxAttempts = maxAttemptsOf(policy, subscription.max_attempts);
      const scheduled = nextRetryDelay(policy, job.attempt_number, maxAttempts, deps.random);
      if (scheduled === undefined) {
        return { events: [attempted, makeEvent('DeliveryFailed', { ...outcome, reason: `gave up after ${job.attempt_number} attempts` }, deps)] };
      }
      const retryAfter = parseRetryAfter(verdict.retryAfter, deps.now());
      const delayMs = retryAfter === undefined ? scheduled : Math.min(retryAfter, policy.retryAfterMaxMs);
      const nextAttemptAt = new Date(deps.now().getTime() + delayMs).toISOString();
      return {
        events: [attempted, makeEvent('DeliveryRetryScheduled', { ...outcome, next_attempt_at: nextAttemptAt, delay_ms: delayMs }, deps)],
        retry: { job: { ...withoutDeferrals(job), attempt_number: job.attempt_number + 1, last_status_code: statusCode, last_error: error }, delayMs },
      };
    }
    default: {
      const unknown: never = verdict;
      throw new Error(`unknown verdict ${JSON.stringify(unknown)}`);
    }
  }
}

/** A delivery that cannot be attempted any more (its subscription was deleted or disabled). */
export function decideCancel(job: DeliveryJob, reason: string, deps: Pick<Deps, 'now' | 'newId'>): HookpostEvent[] {
  return [
    makeEvent(
      'DeliveryCancelled',
      {
        ...outcomeSoFar(job),
        reason,
      },
      deps,
    ),
  ];
}

/**
 * Disabling a subscription automatically (its endpoint is gone, or has failed for too long), decided on its
 * current state (under the writer lock): a change that records why, or nothing when it is already disabled or
 * deleted — so of two dispatchers that both ask, one disables it.
 */
export function decideDisable(current: KnownSubscription | undefined, request: Omit<DisableRequest, 'subscription_id'>, deps: Pick<Deps, 'now' | 'newId'>): { events: EventOf<'SubscriptionChanged'>[]; result: undefined } {
  if (!current || isDeleted(current) || !current.is_active) return { events: [], result: undefined };
  // Like every change, it drops a previous secret whose overlap has ended.
  const now = deps.now();
  const changes = { ...expiredPreviousSecretCleared(current, now), is_active: false };
  const event = makeEvent(
    'SubscriptionChanged',
    {
      id: current.id,
      version: current.version + 1,
      changes,
      cause: request.cause,
      detail: request.detail,
      changed_at: now.toISOString(),
      was_active: true,
      ...(request.failing_since === undefined ? {} : { failing_since: request.failing_since }),
    },
    deps,
  );
  return { events: [event], result: undefined };
}

/**
 * The next attempt starts with no deferrals of its own (they count waits for one attempt's endpoint slot or
 * rate-limit turn), and holds no turn in the rate-limit queue: it waits for one like any other attempt.
 */
function withoutDeferrals(job: DeliveryJob): DeliveryJob {
  const { deferrals: _deferrals, rate_limit_queued: _queued, ...rest } = job;
  return rest;
}
