import { createLogger } from '@hookpost/platform';
import type { LaneBacklogEntry } from '../src/adapters/projectorDeliveries';
import type { DeliveryJob } from '../src/delivery/deliveryJob';
import { LaneRestorer, laneStopped } from '../src/lane/laneRestore';

const now = Date.parse('2026-01-01T00:01:00.000Z');
const entry = (n: number, over: Partial<LaneBacklogEntry> = {}): LaneBacklogEntry => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  subscription_id: '11111111-1111-4111-8111-111111111111',
  message_id: `33333333-3333-4333-8333-33333333333${n}`,
  event_type: 'lane.test',
  payload: { n },
  payload_expires_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  attempt_count: 0,
  next_attempt_at: null,
  last_status_code: null,
  last_error: null,
  held: false,
  ...over,
});

describe('whether a lane has stopped moving', () => {
  it('has when its head is due more than the grace ago: its next attempt, or its creation when none was made', () => {
    expect(laneStopped(entry(1), now, 59_999)).toBe(true);
    expect(laneStopped(entry(1), now, 60_000)).toBe(false);
    expect(laneStopped(entry(1, { attempt_count: 2, next_attempt_at: '2026-01-01T00:00:58.000Z' }), now, 3_000)).toBe(false);
    expect(laneStopped(entry(1, { attempt_count: 2, next_attempt_at: '2026-01-01T00:00:56.000Z' }), now, 3_000)).toBe(true);
  });

  it('has not while its head is held (the endpoint is paused: waiting on purpose)', () => {
    expect(laneStopped(entry(1, { held: true }), now, 1_000)).toBe(false);
  });
});

describe('putting a stopped lane together again', () => {
  const setup = (backlog: LaneBacklogEntry[]) => {
    const enqueued: DeliveryJob[][] = [];
    let clock = now;
    const restorer = new LaneRestorer({
      backlog: async function* () {
        yield* backlog;
      },
      enqueue: async (jobs) => void enqueued.push([...jobs]),
      graceMs: 3_000,
      now: () => new Date(clock),
      log: createLogger('test', 'silent'),
    });
    return { restorer, enqueued, advance: (ms: number) => (clock += ms) };
  };

  it('puts every unfinished delivery in again, in lane order, each as its next attempt, once its head has stood still a grace period', async () => {
    const { restorer, enqueued, advance } = setup([entry(1, { attempt_count: 3, next_attempt_at: '2026-01-01T00:00:10.000Z', last_status_code: 500 }), entry(2), entry(3)]);
    // (the first look only notes the head: the one behind a head that just ended is overdue too, for a moment)
    expect(await restorer.check('11111111-1111-4111-8111-111111111111')).toBe(0);
    advance(2_999);
    expect(await restorer.check('11111111-1111-4111-8111-111111111111')).toBe(0);
    advance(1);
    expect(await restorer.check('11111111-1111-4111-8111-111111111111')).toBe(3);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.map((job) => [job.delivery_id.slice(-1), job.attempt_number])).toEqual([['1', 4], ['2', 1], ['3', 1]]);
    expect(enqueued[0]![0]).toMatchObject({ payload: { n: 1 }, last_status_code: 500 });
  });

  it('leaves a lane that moves alone, and restores one lane at most once per grace period', async () => {
    const backlog = [entry(1, { attempt_count: 1, next_attempt_at: '2026-01-01T00:00:59.500Z' }), entry(2)];
    const moving = setup(backlog);
    expect(await moving.restorer.check('lane')).toBe(0);
    moving.advance(5_000);
    // (its head was attempted again meanwhile: it moves)
    backlog[0] = entry(1, { attempt_count: 2, next_attempt_at: '2026-01-01T00:01:04.500Z' });
    expect(await moving.restorer.check('lane')).toBe(0);
    expect(moving.enqueued).toEqual([]);

    const stopped = setup([entry(1)]);
    expect(await stopped.restorer.check('lane')).toBe(0);
    stopped.advance(3_000);
    expect(await stopped.restorer.check('lane')).toBe(1);
    stopped.advance(2_000);
    expect(await stopped.restorer.check('lane')).toBe(0);
    stopped.advance(1_000);
    expect(await stopped.restorer.check('lane')).toBe(1);
    expect(stopped.enqueued).toHaveLength(2);
  });
});
