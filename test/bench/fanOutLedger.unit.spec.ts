import { cpuPerDelivery, deliveriesArrived, endpointIndexOf, fanOutLedger, recordArrival, type AcceptedMessage, type FanOutArrivals } from '../../bench/fanOutLedger';

describe('the fan-out bench ledger', () => {
  it('reads the endpoint index from a fan-out path only', () => {
    expect(endpointIndexOf('/ep/0')).toBe(0);
    expect(endpointIndexOf('/ep/99')).toBe(99);
    expect(endpointIndexOf('/ok')).toBeUndefined();
    expect(endpointIndexOf('/ep/')).toBeUndefined();
    expect(endpointIndexOf('/ep/1?x=1')).toBeUndefined();
    expect(endpointIndexOf('/ep/-1')).toBeUndefined();
    expect(endpointIndexOf(undefined)).toBeUndefined();
  });

  it('counts the first request per message and endpoint, and the repeats', () => {
    // Given a message that reached endpoint 0 twice and endpoint 1 once
    const arrivals: FanOutArrivals = new Map();
    recordArrival(arrivals, 'msg_a', 0, 10);
    recordArrival(arrivals, 'msg_a', 1, 12);
    recordArrival(arrivals, 'msg_a', 0, 30);
    // Then the first time is kept, and the repeat counted
    expect(arrivals.get('msg_a')?.get(0)).toEqual({ first: 10, requests: 2 });
    expect(arrivals.get('msg_a')?.get(1)).toEqual({ first: 12, requests: 1 });
  });

  it('finds every missing delivery, duplicate and stranger, and times each delivery from its 202 and from its send', () => {
    // Given three endpoints and three accepted messages: a warm-up one, two measured ones
    const accepted = new Map<string, AcceptedMessage>([
      ['msg_warm', { due: 0, accepted: 5, measured: false }],
      ['msg_one', { due: 1_000, accepted: 1_004, measured: true }],
      ['msg_two', { due: 1_020, accepted: 1_030, measured: true }],
    ]);
    const arrivals: FanOutArrivals = new Map();
    for (const endpoint of [0, 1, 2]) recordArrival(arrivals, 'msg_warm', endpoint, 20);
    recordArrival(arrivals, 'msg_one', 0, 1_010);
    recordArrival(arrivals, 'msg_one', 1, 1_014);
    recordArrival(arrivals, 'msg_one', 2, 1_024);
    recordArrival(arrivals, 'msg_one', 2, 1_500); // a second request at the same endpoint
    recordArrival(arrivals, 'msg_two', 1, 1_040); // endpoints 0 and 2 never see msg_two
    recordArrival(arrivals, 'msg_two', 7, 1_041); // no such endpoint
    recordArrival(arrivals, 'msg_other', 0, 1_050); // not a message of this run

    // When the ledger is drawn over the window [1 000, 2 000)
    const { ledger, steady } = fanOutLedger({ accepted, arrivals, endpoints: 3, window: { from: 1_000, to: 2_000 } });

    // Then two deliveries are missing, from one message, and the strays are set apart
    expect(ledger).toEqual({ messages_accepted: 3, deliveries_expected: 9, deliveries_arrived: 7, missing: 2, messages_incomplete: 1, duplicates: 1, unexpected: 2 });
    expect(deliveriesArrived(accepted, arrivals, 3)).toBe(7);
    // And the four deliveries of measured messages are timed: from the 202 6, 10, 20 and 10 ms; from the send 10, 14, 24, 20 ms
    expect(steady.from_accepted_p50_ms).toBe(10);
    expect(steady.from_accepted_p99_ms).toBe(20);
    expect(steady.from_accepted_max_ms).toBe(20);
    expect(steady.from_send_p50_ms).toBe(20);
    expect(steady.from_send_p99_ms).toBe(24);
    // And the throughput counts first arrivals inside the window (4 in 1 s), and measured messages accepted
    expect(steady.deliveries_per_s).toBe(4);
    expect(steady.messages_accepted_per_s).toBe(2);
    expect(steady.accept_p99_ms).toBe(10);
  });

  it('gives CPU per delivery per process, and a total without the load generator', () => {
    const perDelivery = cpuPerDelivery({ dispatcher: 2, kafka: 0.5, 'bench (load + receiver)': 1 }, 10_000, ['bench (load + receiver)']);
    expect(perDelivery).toEqual({ per_process_us: { dispatcher: 200, kafka: 50, 'bench (load + receiver)': 100 }, total_us: 250 });
  });
});
