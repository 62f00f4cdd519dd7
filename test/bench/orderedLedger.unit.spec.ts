import { orderedLedger } from '../../bench/orderedLedger';

describe('the ordered bench ledger', () => {
  const sent = [
    { id: 'msg_a', accepted: 0 },
    { id: 'msg_b', accepted: 10 },
    { id: 'msg_c', accepted: 20 },
    { id: 'msg_d', accepted: 30 },
  ];

  it('times a run that arrived in order, once each', () => {
    const arrivals = [
      { id: 'msg_a', at: 100 },
      { id: 'msg_b', at: 600 },
      { id: 'msg_c', at: 1_100 },
      { id: 'msg_d', at: 1_600 },
    ];
    expect(orderedLedger({ sent, arrivals })).toEqual({
      ledger: { messages_accepted: 4, arrived: 4, missing: 0, duplicates: 0, out_of_order: 0, unexpected: 0 },
      // three intervals over 1.5 s
      deliveries_per_s: 2,
      latency_p50_ms: expect.any(Number),
      latency_p99_ms: 1_570,
    });
  });

  it('counts a repeat of the message just before as a duplicate, not out of order', () => {
    const arrivals = [
      { id: 'msg_a', at: 100 },
      { id: 'msg_a', at: 150 },
      { id: 'msg_b', at: 200 },
      { id: 'msg_c', at: 300 },
      { id: 'msg_d', at: 400 },
    ];
    expect(orderedLedger({ sent, arrivals }).ledger).toMatchObject({ duplicates: 1, out_of_order: 0, missing: 0 });
  });

  it('counts arrivals ahead of their turn, or behind it, as out of order, and missing and unexpected ones', () => {
    const arrivals = [
      { id: 'msg_b', at: 100 },
      { id: 'msg_a', at: 200 },
      { id: 'msg_d', at: 300 },
      { id: 'msg_x', at: 400 },
    ];
    expect(orderedLedger({ sent, arrivals }).ledger).toEqual({ messages_accepted: 4, arrived: 3, missing: 1, duplicates: 0, out_of_order: 3, unexpected: 1 });
  });
});
