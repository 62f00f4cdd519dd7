import {
  canMoveDelivery,
  deliveryPosition,
  deliveryPositionAfter,
  deliverySchema,
  deliveryStatuses,
  deliveryStatusInSql,
  deliveryTransitions,
  finalDeliveryStatuses,
  isFinalDeliveryStatus,
  laterNextAttempt,
  makeEvent,
  nextAttemptSql,
  samePosition,
  supersedes,
  supersedesSql,
  type DeliveryPosition,
  type DeliveryStatus,
} from '../src';

const everyPosition: DeliveryPosition[] = deliveryStatuses.flatMap((status) => [0, 1, 2, 3, 5].map((attempts) => deliveryPosition(status, attempts)));

/** Every order of `items` (fine for the handful a delivery's history has). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

const merge = (positions: readonly DeliveryPosition[]) => positions.reduce((current, incoming) => (supersedes(current, incoming) ? incoming : current), deliveryPosition('pending', 0));

describe('the delivery state machine', () => {
  it('is where the API schema takes its statuses from', () => {
    expect(deliverySchema.properties.status.enum).toBe(deliveryStatuses);
  });

  it('has no way out of a final status and a way out of every other', () => {
    for (const status of deliveryStatuses) {
      expect(deliveryTransitions[status].length === 0).toBe(isFinalDeliveryStatus(status));
    }
    expect([...finalDeliveryStatuses].sort()).toEqual(['cancelled', 'failed', 'succeeded']);
    expect(canMoveDelivery('pending', 'retrying')).toBe(true);
    expect(canMoveDelivery('retrying', 'retrying')).toBe(true);
    expect(canMoveDelivery('retrying', 'pending')).toBe(false);
    expect(canMoveDelivery('failed', 'succeeded')).toBe(false);
  });

  it('lets a state replace another only along an allowed move, for every pair', () => {
    for (const current of everyPosition) {
      for (const incoming of everyPosition) {
        if (supersedes(current, incoming)) expect({ current, incoming, allowed: canMoveDelivery(current.status, incoming.status) }).toEqual({ current, incoming, allowed: true });
      }
    }
  });

  it('never replaces a final state, nor a state with itself', () => {
    for (const current of everyPosition) {
      for (const incoming of everyPosition) {
        if (isFinalDeliveryStatus(current.status)) expect(supersedes(current, incoming)).toBe(false);
      }
      expect(supersedes(current, current)).toBe(false);
    }
  });

  it.each([
    ['a success after two retries', [deliveryPosition('retrying', 1), deliveryPosition('retrying', 2), deliveryPosition('succeeded', 3)]],
    ['a failure after the last attempt', [deliveryPosition('retrying', 1), deliveryPosition('failed', 2)]],
    ['a cancel of a waiting retry', [deliveryPosition('retrying', 1), deliveryPosition('retrying', 2), deliveryPosition('cancelled', 2)]],
    ['a first-attempt success', [deliveryPosition('succeeded', 1)]],
  ])('ends where the log ends whatever order %s arrives in', (_name, history) => {
    const last = history[history.length - 1]!;
    for (const order of permutations([deliveryPosition('pending', 0), ...history])) expect(merge(order)).toEqual(last);
  });

  it('places each delivery event', () => {
    const deps = { now: () => new Date('2026-01-01T00:00:00.000Z'), newId: () => '00000000-0000-4000-8000-000000000001' };
    const ref = { delivery_id: '22222222-2222-4222-8222-222222222222', subscription_id: '11111111-1111-4111-8111-111111111111', event_type: null, received_at: '2026-01-01T00:00:00.000Z' };
    const outcome = { ...ref, attempt_count: 2, last_status_code: 500, last_error: 'HTTP 500' };
    expect(deliveryPositionAfter(makeEvent('WebhookReceived', { ...ref, payload: {} }, deps))).toEqual({ status: 'pending', seq: 0 });
    expect(
      deliveryPositionAfter(
        makeEvent('DeliveryAttempted', { ...ref, attempt_number: 2, status_code: 500, duration_ms: 1, error: null, response_headers: null, response_body: null, started_at: ref.received_at }, deps),
      ),
    ).toEqual({ status: 'pending', seq: 0 });
    expect(deliveryPositionAfter(makeEvent('DeliveryRetryScheduled', { ...outcome, next_attempt_at: ref.received_at, delay_ms: 5 }, deps))).toEqual({ status: 'retrying', seq: 4 });
    expect(deliveryPositionAfter(makeEvent('DeliverySucceeded', { ...outcome, delivered_at: ref.received_at }, deps))).toEqual({ status: 'succeeded', seq: 5 });
    expect(deliveryPositionAfter(makeEvent('DeliveryFailed', { ...outcome, reason: 'x' }, deps))).toEqual({ status: 'failed', seq: 5 });
    expect(deliveryPositionAfter(makeEvent('DeliveryCancelled', { ...outcome, reason: 'x' }, deps))).toEqual({ status: 'cancelled', seq: 5 });
    // a deferral leaves the delivery where it stood while the attempt it puts off was due
    const deferral = (attempt_number: number) => makeEvent('DeliveryDeferred', { ...outcome, attempt_count: attempt_number - 1, attempt_number, next_attempt_at: ref.received_at, reason: 'x' }, deps);
    expect(deliveryPositionAfter(deferral(1))).toEqual({ status: 'pending', seq: 0 });
    expect(deliveryPositionAfter(deferral(3))).toEqual({ status: 'retrying', seq: 4 });
  });

  it('lets a deferral move only the next attempt time, later, and never at a final state', () => {
    expect(samePosition(deliveryPosition('retrying', 2), deliveryPosition('retrying', 2))).toBe(true);
    expect(samePosition(deliveryPosition('pending', 0), deliveryPosition('pending', 0))).toBe(true);
    expect(samePosition(deliveryPosition('retrying', 2), deliveryPosition('retrying', 1))).toBe(false);
    expect(samePosition(deliveryPosition('failed', 2), deliveryPosition('failed', 2))).toBe(false);
    expect(laterNextAttempt(null, '2026-01-01T00:00:01.000Z')).toBe('2026-01-01T00:00:01.000Z');
    expect(laterNextAttempt('2026-01-01T00:00:01.000Z', null)).toBe('2026-01-01T00:00:01.000Z');
    expect(laterNextAttempt('2026-01-01T00:00:02.000Z', '2026-01-01T00:00:01.000Z')).toBe('2026-01-01T00:00:02.000Z');
    expect(laterNextAttempt('2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z')).toBe('2026-01-01T00:00:02.000Z');
    expect(nextAttemptSql({ status: 'd.status', seq: 'd.state_seq', nextAttempt: 'd.next_attempt_at' }, { seq: 'EXCLUDED.state_seq', nextAttempt: 'EXCLUDED.next_attempt_at' })).toBe(
      "CASE WHEN (d.status NOT IN ('succeeded', 'failed', 'cancelled') AND EXCLUDED.state_seq > d.state_seq) THEN EXCLUDED.next_attempt_at " +
        "WHEN d.status NOT IN ('succeeded', 'failed', 'cancelled') AND EXCLUDED.state_seq = d.state_seq THEN GREATEST(d.next_attempt_at, EXCLUDED.next_attempt_at) " +
        'ELSE d.next_attempt_at END',
    );
  });

  it('writes the precedence rule and the status list as SQL from the same data', () => {
    // The exact expression the projection's upsert has always used: the refactor changes no behaviour.
    expect(supersedesSql({ status: 'd.status', seq: 'd.state_seq' }, { seq: 'EXCLUDED.state_seq' })).toBe(
      "(d.status NOT IN ('succeeded', 'failed', 'cancelled') AND EXCLUDED.state_seq > d.state_seq)",
    );
    expect(deliveryStatusInSql('status')).toBe("status IN ('pending', 'retrying', 'succeeded', 'failed', 'cancelled')");
  });
});
