import {
  backgroundTaskStatuses,
  deliveryPosition,
  isHeld,
  laterHold,
  laterTaskStatus,
  svixTaskStatusOf,
  taskKindOfSvixType,
  taskStatusesOfSvix,
  svixTaskTypes,
  type HoldMark,
} from '../src';

const at = (second: number) => `2026-01-01T00:00:${String(second).padStart(2, '0')}.000Z`;
const mark = (seq: number, second: number): HoldMark => ({ seq, at: at(second) });

describe('holds in the delivery state machine', () => {
  it('keeps the latest hold by position, then time, whatever order they come in', () => {
    const marks = [mark(0, 5), mark(0, 9), mark(2, 1), null];
    for (const a of marks) for (const b of marks) expect(laterHold(a, b)).toEqual(laterHold(b, a));
    expect(laterHold(mark(0, 9), mark(2, 1))).toEqual(mark(2, 1));
    expect(laterHold(mark(0, 5), mark(0, 9))).toEqual(mark(0, 9));
    expect(laterHold(null, mark(0, 5))).toEqual(mark(0, 5));
  });

  it('holds a waiting delivery whose latest hold is at its position and not released', () => {
    const pending = deliveryPosition('pending', 0);
    const retrying = deliveryPosition('retrying', 1);
    expect(isHeld(pending, mark(0, 5), null)).toBe(true);
    expect(isHeld(pending, mark(0, 5), mark(0, 5))).toBe(false);
    // a release of an earlier hold leaves a later one standing
    expect(isHeld(pending, mark(0, 9), mark(0, 5))).toBe(true);
    // a hold at an earlier position no longer applies: the delivery moved on
    expect(isHeld(retrying, mark(0, 9), null)).toBe(false);
    expect(isHeld(retrying, mark(2, 9), null)).toBe(true);
    for (const status of ['succeeded', 'failed', 'cancelled'] as const) expect(isHeld(deliveryPosition(status, 1), mark(3, 9), null)).toBe(false);
    expect(isHeld(pending, null, null)).toBe(false);
  });
});

describe('background tasks', () => {
  it('lets what a task did win over a cancel, in any order', () => {
    for (const a of backgroundTaskStatuses) for (const b of backgroundTaskStatuses) expect(laterTaskStatus(a, b)).toBe(laterTaskStatus(b, a));
    expect(laterTaskStatus('running', 'cancelled')).toBe('cancelled');
    expect(laterTaskStatus('cancelled', 'finished')).toBe('finished');
    expect(laterTaskStatus('failed', 'cancelled')).toBe('failed');
  });

  it("reads in Svix's terms: a cancelled task is failed (Svix has no cancelled), and each kind has Svix's type", () => {
    expect(backgroundTaskStatuses.map(svixTaskStatusOf)).toEqual(['running', 'failed', 'failed', 'finished']);
    expect(taskStatusesOfSvix('failed').sort()).toEqual(['cancelled', 'failed']);
    expect(svixTaskTypes).toEqual({ recover: 'endpoint.recover', replay_missing: 'endpoint.replay', replay_log: 'endpoint.bulk-replay' });
    for (const kind of ['recover', 'replay_missing', 'replay_log'] as const) expect(taskKindOfSvixType(svixTaskTypes[kind])).toBe(kind);
  });
});
