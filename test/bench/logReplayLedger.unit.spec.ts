import { recordArrival, type FanOutArrivals } from '../../bench/fanOutLedger';
import { logReplayLedger, REPLAY_ENDPOINT_INDEX } from '../../bench/logReplayLedger';

describe("the log replay phase's ledger", () => {
  it('counts each sent message replayed once, missing, or with duplicates; other endpoints do not count', () => {
    const arrivals: FanOutArrivals = new Map();
    recordArrival(arrivals, 'a', REPLAY_ENDPOINT_INDEX, 1);
    recordArrival(arrivals, 'b', REPLAY_ENDPOINT_INDEX, 2);
    recordArrival(arrivals, 'b', REPLAY_ENDPOINT_INDEX, 3);
    recordArrival(arrivals, 'c', 0, 4);
    recordArrival(arrivals, 'not-sent', REPLAY_ENDPOINT_INDEX, 5);
    expect(logReplayLedger(['a', 'b', 'c', 'd'], arrivals)).toEqual({ replayed: 2, missing: 2, duplicates: 1 });
  });
});
