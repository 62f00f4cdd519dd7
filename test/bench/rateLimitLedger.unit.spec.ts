import { recordArrival, type FanOutArrivals } from '../../bench/fanOutLedger';
import { idealArrivals, LIMITED, rateLimitLedger, UNLIMITED } from '../../bench/rateLimitLedger';
import { mostWithin } from '../support/rateWindow';

describe('the rate-limit bench ledger', () => {
  it('counts the most arrivals in any one second, each window starting at an arrival', () => {
    expect(mostWithin([])).toBe(0);
    expect(mostWithin([0, 200, 400, 600, 800, 1_000])).toBe(5);
    expect(mostWithin([0, 200, 400, 600, 800, 999])).toBe(6);
    expect(mostWithin([5_000, 0, 10, 20])).toBe(3);
  });

  it('delivers as a perfect limiter would: in acceptance order, one interval apart at the soonest', () => {
    // 4/s: 250 ms apart; a message accepted after the queue emptied goes at once
    expect(idealArrivals([0, 0, 0, 100, 2_000], 4)).toEqual([0, 250, 500, 750, 2_000]);
  });

  it('finds missing deliveries and duplicates, and times both endpoints', () => {
    // Given three messages accepted at 0, 0 and 10 ms, a limit of 2/s
    const accepted = new Map([
      ['msg_a', { accepted: 0 }],
      ['msg_b', { accepted: 0 }],
      ['msg_c', { accepted: 10 }],
    ]);
    const arrivals: FanOutArrivals = new Map();
    // the limited endpoint got them 0.5 s apart, a little behind a perfect limiter, msg_b twice
    recordArrival(arrivals, 'msg_a', LIMITED, 20);
    recordArrival(arrivals, 'msg_b', LIMITED, 530);
    recordArrival(arrivals, 'msg_b', LIMITED, 900);
    recordArrival(arrivals, 'msg_c', LIMITED, 1_040);
    // the unlimited one at once, but never msg_c
    recordArrival(arrivals, 'msg_a', UNLIMITED, 5);
    recordArrival(arrivals, 'msg_b', UNLIMITED, 7);
    const result = rateLimitLedger({ accepted, arrivals, perSecond: 2 });
    expect(result.ledger).toEqual({ messages_accepted: 3, deliveries_expected: 6, deliveries_arrived: 5, missing: 1, duplicates: 1 });
    expect(result.limited).toMatchObject({ limit_per_s: 2, deliveries_per_s: 2, most_in_one_second: 2, wait_p50_ms: 530, wait_p99_ms: 1_030, behind_ideal_p50_ms: 30, behind_ideal_p99_ms: 40 });
    expect(result.unlimited).toEqual({ wait_p50_ms: 7, wait_p99_ms: 7 });
  });
});
