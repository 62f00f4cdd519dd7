import { makeEvent, type MessageCreated, type RedeliveryRequested, type SubscriptionState } from '@hookpost/contracts';
import { decideBeforeAttempt } from '../src/delivery/decideBeforeAttempt';
import type { DeliveryJob } from '../src/delivery/deliveryJob';
import { decideHold, decideRelease, stillPaused } from '../src/delivery/hold';
import { decodeLogPosition, encodeLogPosition, logDone, logProgress, planLog, readUpTo, replays, replayWindow, searchFromMs, LOG_TIME_MARGIN_MS } from '../src/task/logReplay';
import { advanced, checkpointDue, decideCheckpoint, decideTaskEnd, resumedProgress } from '../src/task/taskProgress';

const now = new Date('2026-01-01T00:10:00.000Z');
let ids = 0;
const deps = { now: () => now, newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}` };
const app = '44444444-4444-4444-8444-444444444444';
const endpoint = '11111111-1111-4111-8111-111111111111';

const job: DeliveryJob = {
  delivery_id: '22222222-2222-4222-8222-222222222222',
  subscription_id: endpoint,
  message_id: '55555555-5555-4555-8555-555555555555',
  event_type: 'invoice.paid',
  payload: { n: 1 },
  received_at: '2026-01-01T00:00:00.000Z',
  attempt_number: 2,
  last_status_code: 500,
  last_error: 'HTTP 500',
  deferrals: 3,
};

describe('holding the attempts of a paused endpoint', () => {
  it('holds the attempt of a paused endpoint before anything else is done (nothing signed, nothing counted)', () => {
    const paused = { id: endpoint, version: 2, name: 'e', description: null, target_url: 'http://127.0.0.1:1/h', is_active: true, event_types: null, secret: 'not even sealed', max_attempts: null, timeout_ms: null, paused: true, created_at: job.received_at, updated_at: job.received_at } as SubscriptionState;
    const before = decideBeforeAttempt(job, paused, { body: '{}', timestamp: now }, { ...deps, openSecret: () => { throw new Error('no secret is opened for a held attempt'); } });
    expect(before).toMatchObject({ kind: 'held', heldAt: now.toISOString() });
    if (before.kind !== 'held') throw new Error('unreachable');
    expect(before.events).toHaveLength(1);
    expect(before.events[0]).toMatchObject({ type: 'DeliveryHeld', data: { delivery_id: job.delivery_id, attempt_number: 2, attempt_count: 1, last_status_code: 500, held_at: now.toISOString() } });
    // disabled wins over paused: the delivery is cancelled, as any disabled endpoint's
    expect(decideBeforeAttempt(job, { ...paused, is_active: false }, { body: '{}', timestamp: now }, { ...deps, openSecret: () => '' }).kind).toBe('cancelled');
  });

  it('releases a hold: names it, due at once, the same attempt with no deferrals', () => {
    const { heldAt } = decideHold(job, deps);
    const released = decideRelease(job, heldAt, deps);
    const { deferrals: _deferrals, ...withoutDeferrals } = job;
    expect(released.job).toEqual(withoutDeferrals);
    expect(released.events[0]).toMatchObject({ type: 'DeliveryReleased', data: { attempt_number: 2, held_at: heldAt, next_attempt_at: now.toISOString(), released_at: now.toISOString() } });
  });

  it('keeps a hold only while the endpoint exists and is paused', () => {
    expect(stillPaused({ paused: true })).toBe(true);
    expect(stillPaused({ paused: false })).toBe(false);
    expect(stillPaused({})).toBe(false);
    expect(stillPaused({ deleted: true })).toBe(false);
    expect(stillPaused(undefined)).toBe(false);
  });
});

const request: RedeliveryRequested = {
  request_id: '66666666-6666-4666-8666-666666666666',
  kind: 'replay_log',
  app_id: app,
  subscription_id: endpoint,
  message_id: null,
  since: '2026-01-01T00:00:00.000Z',
  until: '2026-01-01T00:05:00.000Z',
  event_types: ['invoice.paid'],
  channel: null,
  requested_at: '2026-01-01T00:09:00.000Z',
};
const message = (overrides: Partial<MessageCreated> = {}): MessageCreated => ({
  message_id: '77777777-7777-4777-8777-777777777777',
  app_id: app,
  event_type: 'invoice.paid',
  event_id: null,
  channels: null,
  tags: null,
  payload: { n: 1 },
  received_at: '2026-01-01T00:01:00.000Z',
  ...overrides,
});

describe('a replay from the log', () => {
  it("replays the application's messages of the window, the event types and the channel asked for", () => {
    const window = replayWindow(request);
    expect(replays(request, window, message())).toBe(true);
    expect(replays(request, window, message({ app_id: '88888888-8888-4888-8888-888888888888' }))).toBe(false);
    expect(replays(request, window, message({ event_type: 'invoice.failed' }))).toBe(false);
    expect(replays(request, window, message({ received_at: '2026-01-01T00:00:00.000Z' }))).toBe(true);
    expect(replays(request, window, message({ received_at: '2025-12-31T23:59:59.999Z' }))).toBe(false);
    expect(replays(request, window, message({ received_at: '2026-01-01T00:05:00.000Z' }))).toBe(false);
    expect(replays({ ...request, event_types: null }, window, message({ event_type: 'anything' }))).toBe(true);
    expect(replays({ ...request, channel: 'eu' }, window, message({ channels: ['us', 'eu'] }))).toBe(true);
    expect(replays({ ...request, channel: 'eu' }, window, message({ channels: null }))).toBe(false);
    // an example sent to one endpoint is that endpoint's only
    expect(replays(request, window, message({ endpoint_id: endpoint }))).toBe(true);
    expect(replays(request, window, message({ endpoint_id: '99999999-9999-4999-8999-999999999999' }))).toBe(false);
  });

  it('ends the window when the task was asked for without until, and searches the log a margin earlier', () => {
    expect(replayWindow({ ...request, until: null })).toEqual({ sinceMs: Date.parse(request.since!), untilMs: Date.parse(request.requested_at) });
    expect(searchFromMs(replayWindow(request))).toBe(Date.parse(request.since!) - LOG_TIME_MARGIN_MS);
  });

  it('plans each partition from its first offset in the window to its end, and reads forward only', () => {
    const plan = planLog(
      [{ partition: 0, offset: '10' }, { partition: 1, offset: '7' }, { partition: 2, offset: '-1' }],
      [{ partition: 0, offset: '20' }, { partition: 1, offset: '7' }, { partition: 2, offset: '5' }],
    );
    expect(plan.partitions).toEqual({ '0': { start: '10', next: '10', end: '20' }, '1': { start: '7', next: '7', end: '7' }, '2': { start: '5', next: '5', end: '5' } });
    expect(logProgress(plan)).toBe(0);
    const half = readUpTo(plan, 0, '15');
    expect(logProgress(half)).toBe(0.5);
    expect(readUpTo(half, 0, '12')).toBe(half);
    expect(readUpTo(half, 0, '99').partitions['0']!.next).toBe('20');
    expect(logDone(half)).toBe(false);
    expect(logDone(readUpTo(half, 0, '20'))).toBe(true);
    expect(logProgress(planLog([], []))).toBe(1);
  });

  it('keeps its position in its checkpoints, and refuses a position that is not one', () => {
    const plan = readUpTo(planLog([{ partition: 0, offset: '10' }], [{ partition: 0, offset: '20' }]), 0, '13');
    expect(decodeLogPosition(encodeLogPosition(plan))).toEqual(plan);
    for (const text of [null, 'x', '{}', '{"log":[]}', '{"log":{"0":{"start":"5","next":"4","end":"9"}}}', '{"log":{"a":{"start":"1","next":"1","end":"1"}}}', '{"log":{"0":{"start":1,"next":1,"end":1}}}']) {
      expect(decodeLogPosition(text)).toBeUndefined();
    }
  });
});

describe("a background task's progress", () => {
  it('carries on from the stored checkpoint, and checkpoints every so many messages or so often', () => {
    const resumed = resumedProgress({ checkpoint: 4, messages_scanned: 100, messages_sent: 90, position: 'p', progress: 0.5 }, now.getTime());
    expect(resumed).toMatchObject({ checkpoint: 4, messagesScanned: 100, messagesSent: 90, position: 'p' });
    expect(resumedProgress(undefined, now.getTime())).toMatchObject({ checkpoint: -1, messagesScanned: 0, position: null });
    const every = { messages: 50, ms: 1_000 };
    const moved = advanced(resumed, { scanned: 49, sent: 40, position: 'q', progress: 0.6 });
    expect(moved).toMatchObject({ messagesScanned: 149, messagesSent: 130, position: 'q', progress: 0.6 });
    expect(checkpointDue(moved, now.getTime(), every)).toBe(false);
    expect(checkpointDue(advanced(moved, { scanned: 1, sent: 0, position: 'r' }), now.getTime(), every)).toBe(true);
    expect(checkpointDue(moved, now.getTime() + 1_000, every)).toBe(true);

    const { progress, event } = decideCheckpoint(request, moved, deps);
    expect(event).toMatchObject({ type: 'BackgroundTaskProgressed', data: { task_id: request.request_id, checkpoint: 5, messages_scanned: 149, messages_sent: 130, position: 'q', progress: 0.6 } });
    expect(progress).toMatchObject({ checkpoint: 5, scannedSinceCheckpoint: 0, checkpointedAtMs: now.getTime() });
  });

  it('records how it ended, with a reason unless it finished', () => {
    const progress = resumedProgress({ checkpoint: 1, messages_scanned: 3, messages_sent: 2, position: null, progress: null }, 0);
    expect(decideTaskEnd(request, progress, { outcome: 'finished' }, deps).data).toMatchObject({ outcome: 'finished', reason: null, messages_sent: 2 });
    expect(decideTaskEnd(request, progress, { outcome: 'cancelled', reason: 'asked' }, deps).data).toMatchObject({ outcome: 'cancelled', reason: 'asked' });
    // (the events it records are valid events)
    expect(() => makeEvent('BackgroundTaskFinished', decideTaskEnd(request, progress, { outcome: 'failed', reason: 'x' }, deps).data, deps)).not.toThrow();
  });
});
