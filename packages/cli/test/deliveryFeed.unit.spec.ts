import type { MessageAttemptOut } from '@hookpost/contracts';
import { admitAttempts, pollAfterMs, startSeen } from '../src/tail/deliveryFeed';

const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const OVERLAP = 10_000;

function attempt(id: string, atMs: number): MessageAttemptOut {
  return {
    id,
    msgId: 'msg_1',
    endpointId: 'ep_1',
    url: 'https://example.com',
    response: '',
    responseStatusCode: 200,
    responseDurationMs: 3,
    status: 0,
    statusText: 'success',
    triggerType: 0,
    timestamp: new Date(atMs).toISOString(),
  } as MessageAttemptOut;
}

describe('following attempts by polling', () => {
  it('shows each attempt once, oldest first, however often polls return it', () => {
    // Given a tail started at T0
    let state = startSeen(T0);

    // When two polls overlap (the second returns the first's attempts again, newest first as the API lists)
    const first = admitAttempts(state, [attempt('atmpt_b', T0 + 2_000), attempt('atmpt_a', T0 + 1_000)], OVERLAP);
    state = first.state;
    const second = admitAttempts(state, [attempt('atmpt_c', T0 + 3_000), attempt('atmpt_b', T0 + 2_000), attempt('atmpt_a', T0 + 1_000)], OVERLAP);

    // Then each is shown once, in time order
    expect(first.fresh.map((a) => a.id)).toEqual(['atmpt_a', 'atmpt_b']);
    expect(second.fresh.map((a) => a.id)).toEqual(['atmpt_c']);
  });

  it('asks again from a little before the newest seen, so an attempt recorded late is not missed', () => {
    let state = startSeen(T0);
    expect(pollAfterMs(state, OVERLAP)).toBe(T0);

    // Given an attempt at T0+20s has been seen
    state = admitAttempts(state, [attempt('atmpt_late_peer', T0 + 20_000)], OVERLAP).state;
    // Then the next poll asks from T0+10s, not from T0+20s
    expect(pollAfterMs(state, OVERLAP)).toBe(T0 + 10_000);

    // When an attempt made at T0+15s reaches the read model only now
    const late = admitAttempts(state, [attempt('atmpt_late_peer', T0 + 20_000), attempt('atmpt_late', T0 + 15_000)], OVERLAP);

    // Then it is shown
    expect(late.fresh.map((a) => a.id)).toEqual(['atmpt_late']);
  });

  it('never shows attempts from before the start, nor asks from before it', () => {
    const state = startSeen(T0);
    const admitted = admitAttempts(state, [attempt('atmpt_old', T0 - 1), attempt('atmpt_new', T0 + 1)], OVERLAP);
    expect(admitted.fresh.map((a) => a.id)).toEqual(['atmpt_new']);
    expect(pollAfterMs(admitted.state, OVERLAP)).toBe(T0);
  });

  it('forgets ids that no later poll can return, so a long tail stays small', () => {
    let state = startSeen(T0);
    for (let i = 0; i < 100; i += 1) state = admitAttempts(state, [attempt(`atmpt_${i}`, T0 + i * 1_000)], OVERLAP).state;
    // (the window is the last 10 s before the newest: 10 attempts, plus the one on its edge)
    expect(state.seen.size).toBeLessThanOrEqual(11);
    expect(state.seen.has('atmpt_99')).toBe(true);
    expect(state.seen.has('atmpt_50')).toBe(false);
  });

  it('keeps its position through an empty poll', () => {
    const state = admitAttempts(startSeen(T0), [attempt('atmpt_a', T0 + 5_000)], OVERLAP).state;
    const after = admitAttempts(state, [], OVERLAP);
    expect(after.fresh).toEqual([]);
    expect(pollAfterMs(after.state, OVERLAP)).toBe(pollAfterMs(state, OVERLAP));
  });
});
