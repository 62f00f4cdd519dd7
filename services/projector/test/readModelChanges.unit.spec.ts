import { isHeld, makeEvent, type DeliveryStatus, type HoldMark, type HookpostEvent } from '@hookpost/contracts';
import { laterDeliveryState, initialDeliveryState, projectEvents } from '../src/projection/readModelChanges';

let n = 0;
const deps = { now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, n)), newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` };
const delivery = '22222222-2222-4222-8222-222222222222';
const subscription = '11111111-1111-4111-8111-111111111111';
const ref = { delivery_id: delivery, subscription_id: subscription, event_type: 'a.b', received_at: '2026-01-01T00:00:00.000Z' };

const received = () => makeEvent('WebhookReceived', { ...ref, payload: { event_type: 'a.b' } }, deps);
const attempted = (attempt_number: number, status_code: number) =>
  makeEvent(
    'DeliveryAttempted',
    { ...ref, attempt_number, status_code, duration_ms: 5, error: null, response_headers: null, response_body: null, started_at: ref.received_at },
    deps,
  );
const retrying = (attempt_count: number) =>
  makeEvent('DeliveryRetryScheduled', { ...ref, attempt_count, last_status_code: 500, last_error: 'HTTP 500', next_attempt_at: ref.received_at, delay_ms: 1 }, deps);
const succeeded = (attempt_count: number) =>
  makeEvent('DeliverySucceeded', { ...ref, attempt_count, last_status_code: 200, last_error: null, delivered_at: ref.received_at }, deps);

describe('read model projection', () => {
  it('builds a delivery from its events in log order', () => {
    const changes = projectEvents([received(), attempted(1, 500), retrying(1), attempted(2, 200), succeeded(2)]);
    const row = changes.deliveries.get(delivery)!;
    expect(row.payload).toEqual({ event_type: 'a.b' });
    expect(row.state).toMatchObject({ status: 'succeeded', attempt_count: 2, last_status_code: 200 });
    expect([...changes.attempts.values()].map((attempt) => attempt.attempt_number)).toEqual([1, 2]);
  });

  it('gives the same delivery whatever order the events arrive in', () => {
    const events: HookpostEvent[] = [received(), attempted(1, 500), retrying(1), attempted(2, 200), succeeded(2)];
    const expected = projectEvents(events).deliveries.get(delivery)!.state;
    for (const order of [[4, 3, 2, 1, 0], [1, 2, 0, 4, 3], [3, 4, 0, 2, 1]]) {
      const shuffled = order.map((index) => events[index]!);
      const row = projectEvents(shuffled).deliveries.get(delivery)!;
      expect(row.state).toEqual(expected);
      expect(row.payload).toEqual({ event_type: 'a.b' });
    }
  });

  it('keeps the first record of an attempt delivered twice', () => {
    const first = attempted(1, 500);
    const again = attempted(1, 502);
    const changes = projectEvents([first, again]);
    expect(changes.attempts.size).toBe(1);
    expect(changes.attempts.get(`${delivery}/1`)!.status_code).toBe(500);
  });

  it('lets a deferral move the next attempt time of a pending or retrying delivery, in any order, and nothing else', () => {
    const deferred = (attempt_number: number, until: string, last: { last_status_code: number | null; last_error: string | null }) =>
      makeEvent('DeliveryDeferred', { ...ref, attempt_count: attempt_number - 1, ...last, attempt_number, next_attempt_at: until, reason: 'endpoint busy' }, deps);
    // A first attempt deferred twice: still pending, due when the later deferral says
    const pending = projectEvents([received(), deferred(1, '2026-01-01T00:01:00.000Z', { last_status_code: null, last_error: null }), deferred(1, '2026-01-01T00:02:00.000Z', { last_status_code: null, last_error: null })]);
    expect(pending.deliveries.get(delivery)!.state).toEqual({ ...initialDeliveryState, next_attempt_at: '2026-01-01T00:02:00.000Z' });
    // A retry deferred (even before its retry event is projected): retrying, with the retry's outcome, due later
    const events = [received(), attempted(1, 500), retrying(1), deferred(2, '2026-01-01T00:05:00.000Z', { last_status_code: 500, last_error: 'HTTP 500' })];
    const expected = { status: 'retrying', seq: 2, attempt_count: 1, last_status_code: 500, last_error: 'HTTP 500', next_attempt_at: '2026-01-01T00:05:00.000Z', delivered_at: null, hold: null, release: null };
    for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [0, 3, 1, 2]]) {
      expect(projectEvents(order.map((index) => events[index]!)).deliveries.get(delivery)!.state).toEqual(expected);
    }
    // and the attempt made after it moves the delivery on as usual
    expect(projectEvents([...events, attempted(2, 200), succeeded(2)]).deliveries.get(delivery)!.state).toMatchObject({ status: 'succeeded', next_attempt_at: null });
  });

  it('never moves a final status back', () => {
    const done = { ...initialDeliveryState, status: 'succeeded' as const, seq: 3 };
    expect(laterDeliveryState(done, { ...initialDeliveryState, status: 'retrying', seq: 8 })).toBe(done);
  });

  it('keeps a subscription created and deleted in one batch, marked deleted', () => {
    const state = {
      id: subscription, version: 1, name: 'a', description: null, target_url: 'http://x', is_active: true, event_types: null,
      secret: 'sealed:v1:k:x', max_attempts: null, timeout_ms: null, created_at: ref.received_at, updated_at: ref.received_at,
    };
    const changes = projectEvents([
      makeEvent('SubscriptionCreated', state, deps),
      makeEvent('SubscriptionUpdated', { ...state, version: 2, name: 'b' }, deps),
      makeEvent('SubscriptionDeleted', { id: subscription, version: 3, deleted_at: ref.received_at }, deps),
    ]);
    expect(changes.subscriptions.get(subscription)).toEqual({ state: { ...state, version: 3, name: 'b' }, deleted_at: ref.received_at });
    // A deletion of a subscription the read model never had changes nothing.
    expect(projectEvents([makeEvent('SubscriptionDeleted', { id: subscription, version: 4, deleted_at: ref.received_at }, deps)]).subscriptions.size).toBe(0);
  });

  it('continues a subscription from its stored row, keeping concurrent changes of different fields', () => {
    const state = {
      id: subscription, version: 4, name: 'a', description: null, target_url: 'http://x', is_active: true, event_types: null,
      secret: 'sealed:v1:k:x', max_attempts: null, timeout_ms: null, created_at: ref.received_at, updated_at: ref.received_at,
    };
    const changed = (version: number, changes: Record<string, unknown>) =>
      makeEvent('SubscriptionChanged', { id: subscription, version, changes, cause: 'patched', detail: null, changed_at: '2026-01-02T00:00:00.000Z' }, deps);
    // Two writers both believed they made version 5.
    const changes = projectEvents([changed(5, { name: 'b' }), changed(5, { description: 'd' })], new Map([[subscription, { state, deleted_at: null }]]));
    expect(changes.subscriptions.get(subscription)).toEqual({
      state: { ...state, version: 6, name: 'b', description: 'd', updated_at: '2026-01-02T00:00:00.000Z' },
      deleted_at: null,
    });
  });

  it('records the endpoints a payload filter kept a message from, once per pair, and reads routings written before filters', () => {
    const message = '33333333-3333-4333-8333-333333333333';
    const other = '44444444-4444-4444-8444-444444444444';
    const routed = (filtered: { subscription_id: string; reason: 'payload_filter'; detail: string }[] | undefined, at: string) =>
      makeEvent(
        'MessageRouted',
        {
          message_id: message,
          app_id: subscription,
          event_type: 'a.b',
          received_at: ref.received_at,
          deliveries: [{ delivery_id: delivery, subscription_id: other }],
          routed_at: at,
          ...(filtered ? { filtered } : {}),
        },
        deps,
      );
    // Given a routing that filtered one endpoint out, the same routing decided again (a crash), and one from before filters
    const first = routed([{ subscription_id: subscription, reason: 'payload_filter', detail: '$.a eq 1: false' }], '2026-01-01T00:00:01.000Z');
    const again = routed([{ subscription_id: subscription, reason: 'payload_filter', detail: '$.a eq 1: nothing at $.a' }], '2026-01-01T00:00:02.000Z');
    const old = routed(undefined, '2026-01-01T00:00:03.000Z');
    // When they are projected
    const changes = projectEvents([first, again, old]);
    // Then the first record of the pair is kept, beside the delivery to the other endpoint
    expect([...changes.filtered.values()]).toEqual([
      { message_id: message, subscription_id: subscription, reason: 'payload_filter', detail: '$.a eq 1: false', routed_at: '2026-01-01T00:00:01.000Z' },
    ]);
    expect([...changes.deliveries.keys()]).toEqual([delivery]);
    expect(projectEvents([old]).filtered.size).toBe(0);
  });

  describe('holds (a paused endpoint)', () => {
    const held = (attempt_number: number, at: string, last: { last_status_code: number | null; last_error: string | null }) =>
      makeEvent('DeliveryHeld', { ...ref, attempt_count: attempt_number - 1, ...last, attempt_number, held_at: at, reason: 'paused' }, deps);
    const released = (attempt_number: number, heldAt: string, at: string, last: { last_status_code: number | null; last_error: string | null }) =>
      makeEvent('DeliveryReleased', { ...ref, attempt_count: attempt_number - 1, ...last, attempt_number, held_at: heldAt, next_attempt_at: at, released_at: at }, deps);
    const none = { last_status_code: null, last_error: null };
    const heldNow = (state: { status: DeliveryStatus; seq: number; hold: HoldMark | null; release: HoldMark | null }) => isHeld(state, state.hold, state.release);

    it('shows a first attempt held, then released and due, whatever the order of the events', () => {
      const events = [received(), held(1, '2026-01-01T00:00:10.000Z', none), released(1, '2026-01-01T00:00:10.000Z', '2026-01-01T00:01:00.000Z', none)];
      const expected = projectEvents(events).deliveries.get(delivery)!.state;
      expect(expected).toMatchObject({ status: 'pending', next_attempt_at: '2026-01-01T00:01:00.000Z' });
      expect(heldNow(expected)).toBe(false);
      for (const order of [[2, 1, 0], [1, 0, 2], [0, 2, 1]]) expect(projectEvents(order.map((index) => events[index]!)).deliveries.get(delivery)!.state).toEqual(expected);
      // without the release it is held, and stays pending (no attempt counted)
      const holding = projectEvents(events.slice(0, 2)).deliveries.get(delivery)!.state;
      expect(holding).toMatchObject({ status: 'pending', attempt_count: 0 });
      expect(heldNow(holding)).toBe(true);
    });

    it('holds again after a release (paused twice), and a release of the first hold does not end the second', () => {
      const events = [
        received(),
        held(1, '2026-01-01T00:00:10.000Z', none),
        released(1, '2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z', none),
        held(1, '2026-01-01T00:00:30.000Z', none),
      ];
      for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [0, 3, 1, 2], [2, 0, 3, 1]]) {
        expect(heldNow(projectEvents(order.map((index) => events[index]!)).deliveries.get(delivery)!.state)).toBe(true);
      }
    });

    it('ends a hold when the delivery moves on (its attempt was made), and never holds a final delivery', () => {
      const moved = projectEvents([received(), held(1, '2026-01-01T00:00:10.000Z', none), attempted(1, 500), retrying(1)]).deliveries.get(delivery)!.state;
      expect(moved).toMatchObject({ status: 'retrying', seq: 2 });
      expect(heldNow(moved)).toBe(false);
      // the retry held in its turn
      const retryHeld = projectEvents([received(), attempted(1, 500), retrying(1), held(2, '2026-01-01T00:00:40.000Z', { last_status_code: 500, last_error: 'HTTP 500' })]).deliveries.get(delivery)!.state;
      expect(retryHeld).toMatchObject({ status: 'retrying', attempt_count: 1 });
      expect(heldNow(retryHeld)).toBe(true);
      const done = projectEvents([received(), held(2, '2026-01-01T00:00:40.000Z', none), attempted(1, 200), succeeded(1)]).deliveries.get(delivery)!.state;
      expect(heldNow(done)).toBe(false);
    });
  });

  describe('background tasks', () => {
    const task = '33333333-3333-4333-8333-333333333333';
    const app = '44444444-4444-4444-8444-444444444444';
    const requested = () =>
      makeEvent(
        'RedeliveryRequested',
        { request_id: task, kind: 'replay_log', app_id: app, subscription_id: subscription, message_id: null, since: ref.received_at, until: null, event_types: ['a.b'], channel: null, requested_at: ref.received_at },
        deps,
      );
    const progressed = (checkpoint: number, scanned: number, position: string) =>
      makeEvent('BackgroundTaskProgressed', { task_id: task, app_id: app, checkpoint, messages_scanned: scanned, messages_sent: scanned, progress: scanned / 100, position, progressed_at: `2026-01-01T00:00:0${checkpoint}.000Z` }, deps);
    const finished = (outcome: 'finished' | 'failed' | 'cancelled') =>
      makeEvent('BackgroundTaskFinished', { task_id: task, app_id: app, outcome, messages_scanned: 100, messages_sent: 100, reason: outcome === 'finished' ? null : outcome, finished_at: '2026-01-01T00:00:09.000Z' }, deps);
    const cancelled = () => makeEvent('BackgroundTaskCancelled', { task_id: task, app_id: app, cancelled_at: '2026-01-01T00:00:05.000Z' }, deps);

    it('merges a task from its events in any order: the latest checkpoint, the largest counts, the end that says most', () => {
      const events: HookpostEvent[] = [requested(), progressed(0, 0, 'p0'), progressed(1, 40, 'p1'), progressed(2, 40, 'p2'), cancelled(), finished('finished')];
      const expected = projectEvents(events).tasks.get(task)!;
      expect(expected).toMatchObject({ status: 'finished', messages_scanned: 100, checkpoint: { number: 2, position: 'p2' }, request: { kind: 'replay_log', event_types: ['a.b'] } });
      for (const order of [[5, 4, 3, 2, 1, 0], [2, 0, 4, 1, 5, 3], [4, 3, 5, 0, 2, 1]]) {
        const shuffled = projectEvents(order.map((index) => events[index]!)).tasks.get(task)!;
        expect({ ...shuffled, updated_at: undefined }).toEqual({ ...expected, updated_at: undefined });
      }
    });

    it('reads as cancelled once cancelled, unless it ended otherwise; a resend is no task', () => {
      expect(projectEvents([requested(), progressed(0, 10, 'p0'), cancelled()]).tasks.get(task)!.status).toBe('cancelled');
      expect(projectEvents([cancelled(), requested(), finished('cancelled')]).tasks.get(task)!.status).toBe('cancelled');
      expect(projectEvents([requested(), finished('failed'), cancelled()]).tasks.get(task)!.status).toBe('failed');
      const resend = makeEvent('RedeliveryRequested', { ...requested().data, kind: 'resend', message_id: delivery }, deps);
      expect(projectEvents([resend]).tasks.size).toBe(0);
    });
  });
});
