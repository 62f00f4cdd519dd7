import { decideLaneStep, type LaneDeliveryState } from '../src/lane/laneStep';
import { LaneOrder } from '../src/lane/laneOrder';
import type { DeliveryJob } from '../src/delivery/deliveryJob';

const now = new Date('2026-11-30T05:00:00.000Z');
const timing = { pollMs: 1_000, giveBackAt: now.getTime() + 60_000 };
const job: DeliveryJob = {
  delivery_id: '00000000-0000-4000-8000-000000000001',
  subscription_id: '00000000-0000-4000-8000-000000000002',
  message_id: '00000000-0000-4000-8000-000000000003',
  event_type: 'order.created',
  payload: { seq: 1 },
  received_at: '2026-11-30T04:59:00.000Z',
  attempt_number: 1,
  last_status_code: null,
  last_error: null,
};
const state = (overrides: Partial<LaneDeliveryState>): LaneDeliveryState => ({
  status: 'pending',
  attempt_count: 0,
  next_attempt_at: job.received_at,
  last_status_code: null,
  last_error: null,
  held: false,
  held_at: null,
  ...overrides,
});

describe('a lane head: what comes next, from where its delivery stands in the log', () => {
  it.each(['succeeded', 'failed', 'cancelled'] as const)('lets a %s delivery go (an ended one, a copy fanned out again, or one an operator skipped)', (status) => {
    expect(decideLaneStep(job, state({ status, attempt_count: 3 }), now, timing)).toEqual({ kind: 'done' });
  });

  it('makes the first attempt of a pending delivery that is due', () => {
    expect(decideLaneStep(job, state({}), now, timing)).toEqual({ kind: 'attempt', job });
  });

  it('goes on from the attempts recorded (a head taken again after a crash), not from the lane message', () => {
    // Given a delivery whose third attempt failed and whose fourth is due now
    const step = decideLaneStep(job, state({ status: 'retrying', attempt_count: 3, next_attempt_at: now.toISOString(), last_status_code: 500, last_error: 'HTTP 500' }), now, timing);
    // Then the fourth attempt is made, with the third's outcome for the record
    expect(step).toEqual({ kind: 'attempt', job: { ...job, attempt_number: 4, last_status_code: 500, last_error: 'HTTP 500' } });
  });

  it('waits for a retry that is not due, looking again at least every poll (an operator may skip the head meanwhile)', () => {
    const later = (ms: number) => new Date(now.getTime() + ms).toISOString();
    expect(decideLaneStep(job, state({ status: 'retrying', attempt_count: 1, next_attempt_at: later(300) }), now, timing)).toEqual({ kind: 'wait', ms: 300 });
    expect(decideLaneStep(job, state({ status: 'retrying', attempt_count: 1, next_attempt_at: later(3_600_000) }), now, timing)).toEqual({ kind: 'wait', ms: 1_000 });
  });

  it('gives the head back when it has been held as long as one take may last (RabbitMQ consumer_timeout), but lets an ended one go first', () => {
    const over = { ...timing, giveBackAt: now.getTime() };
    expect(decideLaneStep(job, state({ status: 'retrying', attempt_count: 1 }), now, over)).toEqual({ kind: 'requeue' });
    expect(decideLaneStep(job, state({ status: 'succeeded', attempt_count: 1 }), now, over)).toEqual({ kind: 'done' });
    // and never waits past the give-back time
    expect(decideLaneStep(job, state({ status: 'retrying', attempt_count: 1, next_attempt_at: new Date(now.getTime() + 10_000).toISOString() }), now, { pollMs: 60_000, giveBackAt: now.getTime() + 500 })).toEqual({ kind: 'wait', ms: 500 });
  });

  it('holds a held head (its endpoint is paused) with the hold a release must name', () => {
    expect(decideLaneStep(job, state({ held: true, held_at: '2026-11-30T04:59:30.000Z', next_attempt_at: null }), now, timing)).toEqual({ kind: 'held', heldAt: '2026-11-30T04:59:30.000Z' });
  });

  it('drops the deferral and rate-limit turn a job carried: they belonged to an earlier attempt', () => {
    const step = decideLaneStep({ ...job, deferrals: 3, rate_limit_queued: true }, state({ status: 'retrying', attempt_count: 1, next_attempt_at: null }), now, timing);
    expect(step).toEqual({ kind: 'attempt', job: { ...job, attempt_number: 2 } });
  });

  it("ends a head an operator skipped, in place of its next attempt, whether it was due, waiting or held; an ended one is let go", () => {
    const skipped = { skip_reason: 'skipped by an operator' };
    const later = new Date(now.getTime() + 60_000).toISOString();
    for (const waiting of [state({ status: 'retrying', attempt_count: 2, next_attempt_at: now.toISOString(), last_status_code: 500, ...skipped }), state({ status: 'retrying', attempt_count: 2, next_attempt_at: later, last_status_code: 500, ...skipped }), state({ status: 'retrying', attempt_count: 2, held: true, held_at: now.toISOString(), last_status_code: 500, ...skipped })]) {
      expect(decideLaneStep(job, waiting, now, timing)).toEqual({ kind: 'skip', job: { ...job, attempt_number: 3, last_status_code: 500 }, reason: 'skipped by an operator' });
    }
    expect(decideLaneStep(job, state({ status: 'succeeded', attempt_count: 1, ...skipped }), now, timing)).toEqual({ kind: 'done' });
  });

  it('attempts from the job when the read model does not have the delivery (the attempt guard keeps it to one)', () => {
    expect(decideLaneStep({ ...job, attempt_number: 3 }, undefined, now, timing)).toEqual({ kind: 'attempt', job });
  });
});

describe('lane order: the messages of one application put in their lanes in the order of the log', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('lets a message in only after the one before it (same application) is in, whichever is ready first', async () => {
    // Given two messages of one application, and one of another, entered in this order
    const order = new LaneOrder();
    const first = order.enter('app-a');
    const second = order.enter('app-a');
    const other = order.enter('app-b');
    const log: string[] = [];
    // When the second and the other application's are ready before the first
    const secondIn = second.turn().then(() => log.push('second'));
    const otherIn = other.turn().then(() => log.push('other'));
    await tick();
    // Then the other application's goes at once and the second waits for the first
    expect(log).toEqual(['other']);
    log.push('first');
    first.leave(true);
    await Promise.all([secondIn, otherIn]);
    expect(log).toEqual(['other', 'first', 'second']);
  });

  it('lets a message with no ordered delivery leave before its turn without letting the next one ahead of the one before', async () => {
    const order = new LaneOrder();
    const first = order.enter('app');
    const none = order.enter('app');
    const third = order.enter('app');
    none.leave(true);
    let thirdIn = false;
    const waiting = third.turn().then(() => (thirdIn = true));
    await tick();
    expect(thirdIn).toBe(false);
    first.leave(true);
    await waiting;
    expect(thirdIn).toBe(true);
  });

  it('fails every later message of the application when one was not put in (stopping): none goes ahead of it', async () => {
    const order = new LaneOrder();
    const first = order.enter('app');
    const second = order.enter('app');
    const third = order.enter('app');
    first.leave(false);
    await expect(second.turn()).rejects.toThrow(/not put in/);
    second.leave(false);
    await expect(third.turn()).rejects.toThrow(/not put in/);
    third.leave(false);
    // and a message entered after they all left starts afresh
    await tick();
    await expect(order.enter('app').turn()).resolves.toBeUndefined();
  });
});

describe("a scheduled message's head (deliverAt)", () => {
  const scheduled: DeliveryJob = { ...job, not_before: new Date(now.getTime() + 2_500).toISOString() };

  it('waits for its time even when the read model does not have it yet or shows nothing scheduled', () => {
    expect(decideLaneStep(scheduled, undefined, now, timing)).toEqual({ kind: 'wait', ms: 1_000 });
    expect(decideLaneStep(scheduled, state({}), new Date(now.getTime() + 2_000), timing)).toEqual({ kind: 'wait', ms: 500 });
  });

  it('is attempted once its time has come, and skipped at once if an operator asks', () => {
    expect(decideLaneStep(scheduled, state({}), new Date(now.getTime() + 2_500), timing)).toMatchObject({ kind: 'attempt' });
    expect(decideLaneStep(scheduled, state({ skip_reason: 'skipped' }), now, timing)).toMatchObject({ kind: 'skip', reason: 'skipped' });
  });
});
