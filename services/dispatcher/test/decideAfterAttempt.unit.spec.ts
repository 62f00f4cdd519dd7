import {
  canMoveDelivery,
  deliveryPositionAfter,
  deliveryPositionBeforeAttempt,
  supersedes,
  type DeliveryEvent,
  type HookpostEvent,
  type SubscriptionState,
} from '@hookpost/contracts';
import { decideAfterAttempt, decideCancel, decideDisable, type AttemptRecord } from '../src/delivery/decideAfterAttempt';
import type { DeliveryJob } from '../src/delivery/deliveryJob';

const now = new Date('2026-01-01T00:00:00.000Z');
let ids = 0;
const deps = { now: () => now, newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`, random: () => 0.5 };
const policy = { schedule: [0, 1_000, 2_000], jitter: 0.1, retryAfterMaxMs: 10_000 };

const subscription: SubscriptionState = {
  id: '11111111-1111-4111-8111-111111111111',
  version: 3,
  name: 's',
  description: null,
  target_url: 'http://127.0.0.1:1/hook',
  is_active: true,
  event_types: null,
  secret: 'sealed:v1:k:x',
  max_attempts: null,
  timeout_ms: null,
  created_at: now.toISOString(),
  updated_at: now.toISOString(),
};

const job = (attempt_number: number): DeliveryJob => ({
  delivery_id: '22222222-2222-4222-8222-222222222222',
  subscription_id: subscription.id,
  event_type: 'invoice.paid',
  payload: { event_type: 'invoice.paid' },
  received_at: now.toISOString(),
  attempt_number,
  last_status_code: null,
  last_error: null,
});

const gone = (detail: string) => ({ cause: 'endpoint_gone' as const, detail });
const attempt = (result: AttemptRecord['result']): AttemptRecord => ({ result, started_at: now, duration_ms: 12, response_headers: {}, response_body: '' });

describe('decideAfterAttempt', () => {
  it('records the attempt and the success for a 2xx', () => {
    const decision = decideAfterAttempt(job(1), subscription, attempt({ kind: 'response', statusCode: 204 }), policy, deps);
    expect(decision.events.map((event) => event.type)).toEqual(['DeliveryAttempted', 'DeliverySucceeded']);
    expect(decision.events[1]!.data).toMatchObject({ attempt_count: 1, last_status_code: 204, last_error: null });
    expect(decision.retry).toBeUndefined();
  });

  it('schedules the next attempt on the schedule for a 500', () => {
    const decision = decideAfterAttempt(job(1), subscription, attempt({ kind: 'response', statusCode: 500 }), policy, deps);
    expect(decision.events.map((event) => event.type)).toEqual(['DeliveryAttempted', 'DeliveryRetryScheduled']);
    expect(decision.retry).toEqual({ job: { ...job(2), last_status_code: 500, last_error: 'HTTP 500' }, delayMs: 1_000 });
    expect(decision.events[1]!.data).toMatchObject({ next_attempt_at: '2026-01-01T00:00:01.000Z', delay_ms: 1_000, attempt_count: 1 });
  });

  it('starts the next attempt without the deferrals of the one just made', () => {
    // Given an attempt that was deferred three times (its endpoint had no free slot) before it was made
    const decision = decideAfterAttempt({ ...job(1), deferrals: 3 }, subscription, attempt({ kind: 'response', statusCode: 500 }), policy, deps);
    // Then the retry it schedules has none
    expect(decision.retry?.job).toEqual({ ...job(2), last_status_code: 500, last_error: 'HTTP 500' });
    expect(decision.retry?.job).not.toHaveProperty('deferrals');
  });

  it('honours Retry-After on a 429, up to the bound', () => {
    const soon = decideAfterAttempt(job(1), subscription, attempt({ kind: 'response', statusCode: 429, retryAfter: '3' }), policy, deps);
    expect(soon.retry?.delayMs).toBe(3_000);
    const late = decideAfterAttempt(job(1), subscription, attempt({ kind: 'response', statusCode: 503, retryAfter: '3600' }), policy, deps);
    expect(late.retry?.delayMs).toBe(10_000);
  });

  it('fails the delivery after the last attempt, or at the subscription max_attempts', () => {
    const last = decideAfterAttempt(job(3), subscription, attempt({ kind: 'network-error', error: 'connection refused' }), policy, deps);
    expect(last.events.map((event) => event.type)).toEqual(['DeliveryAttempted', 'DeliveryFailed']);
    expect(last.events[1]!.data).toMatchObject({ attempt_count: 3, last_status_code: null, last_error: 'connection refused' });
    const capped = decideAfterAttempt(job(1), { ...subscription, max_attempts: 1 }, attempt({ kind: 'response', statusCode: 500 }), policy, deps);
    expect(capped.retry).toBeUndefined();
  });

  it('ends the delivery and disables the subscription on 410', () => {
    const decision = decideAfterAttempt(job(1), subscription, attempt({ kind: 'response', statusCode: 410 }), policy, deps);
    expect(decision.events.map((event) => event.type)).toEqual(['DeliveryAttempted', 'DeliveryFailed']);
    expect(decision.disable).toEqual({ subscription_id: subscription.id, cause: 'endpoint_gone', detail: expect.stringContaining('410 Gone') });
    expect(decision.retry).toBeUndefined();
  });

  it('disables a live subscription with a change that says why, and leaves a disabled or deleted one alone', () => {
    const { events } = decideDisable(subscription, gone('the endpoint answered 410 Gone'), deps);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({
      id: subscription.id,
      version: subscription.version + 1,
      changes: { is_active: false },
      cause: 'endpoint_gone',
      detail: 'the endpoint answered 410 Gone',
      changed_at: now.toISOString(),
      was_active: true,
    });
    expect(decideDisable({ ...subscription, is_active: false }, gone('x'), deps).events).toEqual([]);
    expect(decideDisable({ id: subscription.id, version: 9, deleted: true }, gone('x'), deps).events).toEqual([]);
    expect(decideDisable(undefined, gone('x'), deps).events).toEqual([]);
  });

  it('records since when the endpoint failed when it disables it for sustained failure', () => {
    const [event] = decideDisable(subscription, { cause: 'endpoint_failing', detail: 'every attempt failed', failing_since: '2025-12-27T00:00:00.000Z' }, deps).events;
    expect(event!.data).toMatchObject({ cause: 'endpoint_failing', failing_since: '2025-12-27T00:00:00.000Z', changes: { is_active: false }, was_active: true });
  });

  it('drops an expired previous secret with the change that disables, and keeps one still in its overlap', () => {
    const rotated = (expiresAt: string) => ({ ...subscription, previous_secret: 'sealed:v2:k:old', previous_secret_expires_at: expiresAt });
    const expired = decideDisable(rotated('2025-12-31T23:59:59.999Z'), gone('gone'), deps).events[0]!.data.changes;
    expect(expired).toEqual({ is_active: false, previous_secret: null, previous_secret_expires_at: null });
    const overlapping = decideDisable(rotated('2026-01-01T00:00:00.001Z'), gone('gone'), deps).events[0]!.data.changes;
    expect(overlapping).toEqual({ is_active: false });
  });

  it('cancels with the attempts made so far', () => {
    const [event] = decideCancel({ ...job(3), last_status_code: 500, last_error: 'HTTP 500' }, 'subscription deleted', deps);
    expect(event).toMatchObject({ type: 'DeliveryCancelled', data: { attempt_count: 2, last_status_code: 500, reason: 'subscription deleted' } });
  });

  it('moves the delivery only along the state machine, forward, whatever the attempt and its result', () => {
    const results: AttemptRecord['result'][] = [
      { kind: 'response', statusCode: 200 },
      { kind: 'response', statusCode: 500 },
      { kind: 'response', statusCode: 410 },
      { kind: 'response', statusCode: 429, retryAfter: '1' },
      { kind: 'network-error', error: 'reset' },
      { kind: 'blocked', error: 'private address' },
    ];
    const isOutcome = (event: HookpostEvent): event is DeliveryEvent =>
      ['DeliverySucceeded', 'DeliveryRetryScheduled', 'DeliveryFailed', 'DeliveryCancelled'].includes(event.type);
    for (const attemptNumber of [1, 2, 3]) {
      const before = deliveryPositionBeforeAttempt(attemptNumber);
      const decisions = [
        ...results.map((result) => decideAfterAttempt(job(attemptNumber), subscription, attempt(result), policy, deps).events),
        decideCancel(job(attemptNumber), 'subscription deleted', deps),
      ];
      for (const events of decisions) {
        const outcomes = events.filter(isOutcome);
        expect(outcomes).toHaveLength(1);
        const after = deliveryPositionAfter(outcomes[0]!);
        expect({ attemptNumber, before, after, allowed: canMoveDelivery(before.status, after.status), forward: supersedes(before, after) }).toEqual({
          attemptNumber, before, after, allowed: true, forward: true,
        });
      }
    }
  });
});
