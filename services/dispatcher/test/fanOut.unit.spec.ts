import { assertValidEvent, maxFilteredRecorded, PayloadFilters, type MessageCreated, type SubscriptionState } from '@hookpost/contracts';
import { decideFanOut, decideRedelivery, deliveryIdFor } from '../src/delivery/fanOut';

let n = 0;
const deps = () => ({
  now: () => new Date('2026-01-01T00:00:05.000Z'),
  newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  payloadFilters: new PayloadFilters(),
});

const appId = '0a0a0a0a-0000-4000-8000-000000000001';
const at = '2026-01-01T00:00:00.000Z';
const id = (i: number) => `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function endpoint(i: number, fields: Partial<SubscriptionState> = {}): SubscriptionState {
  return {
    id: id(i), version: 1, name: `e${i}`, description: '', target_url: 'https://example.com/hook', is_active: true, event_types: null,
    secret: 'sealed:v1:k:x', max_attempts: null, timeout_ms: null, app_id: appId, uid: null, channels: null, metadata: {}, rate_limit: null,
    headers: null, payload_filter: null, created_at: at, updated_at: at, ...fields,
  };
}

function message(payload: Record<string, unknown>, fields: Partial<MessageCreated> = {}): MessageCreated & { payload: Record<string, unknown> } {
  return { message_id: '0b0b0b0b-0000-4000-8000-000000000001', app_id: appId, event_type: 'invoice.paid', event_id: null, channels: ['eu'], tags: null, payload, received_at: at, ...fields };
}

const large = { path: '$.data.amount', gte: 100 };

describe('deciding a message\'s fan-out with payload filters', () => {
  const endpoints = [
    endpoint(1),
    endpoint(2, { payload_filter: large }),
    endpoint(3, { payload_filter: { not: large } }),
    // Svix's own rules come first: these are not the message's endpoints at all, whatever their filter
    endpoint(4, { payload_filter: large, event_types: ['invoice.failed'] }),
    endpoint(5, { payload_filter: large, channels: ['us'] }),
    endpoint(6, { payload_filter: large, is_active: false }),
    endpoint(7, { payload_filter: large, app_id: '0a0a0a0a-0000-4000-8000-000000000002' }),
  ];

  it('delivers to the endpoints whose filter the payload passes, and records the others with why', () => {
    // Given a small invoice
    const { event, jobs } = decideFanOut(message({ data: { amount: 20 } }), endpoints, deps());
    // Then the endpoint without a filter and the one for small amounts get it; the one for large amounts is recorded as filtered out
    expect(event.data.deliveries).toEqual([1, 3].map((i) => ({ delivery_id: deliveryIdFor(event.data.message_id, id(i)), subscription_id: id(i) })));
    expect(jobs.map((job) => job.subscription_id)).toEqual([id(1), id(3)]);
    expect(event.data.filtered).toEqual([{ subscription_id: id(2), reason: 'payload_filter', detail: '$.data.amount gte 100: false' }]);
    expect(event.data.filtered_omitted).toBeUndefined();
    expect(() => assertValidEvent(event)).not.toThrow();

    // Given a large one: the other way round
    const large = decideFanOut(message({ data: { amount: 250 } }), endpoints, deps()).event;
    expect(large.data.deliveries.map((delivery) => delivery.subscription_id)).toEqual([id(1), id(2)]);
    expect(large.data.filtered).toEqual([{ subscription_id: id(3), reason: 'payload_filter', detail: 'not: $.data.amount gte 100 holds' }]);
  });

  it('writes no filtered field when no filter refused the message (the event as before filters)', () => {
    const { event } = decideFanOut(message({ data: { amount: 20 } }), [endpoint(1), endpoint(3, { payload_filter: { not: large } })], deps());
    expect('filtered' in event.data).toBe(false);
    expect('filtered_omitted' in event.data).toBe(false);
    expect(() => assertValidEvent(event)).not.toThrow();
  });

  it('sends an example to its one endpoint whatever its payload filter', () => {
    const { event } = decideFanOut(message({ example: true }, { endpoint_id: id(2) }), endpoints, deps());
    expect(event.data.deliveries.map((delivery) => delivery.subscription_id)).toEqual([id(2)]);
    expect(event.data.filtered).toBeUndefined();
  });

  it('records an endpoint whose stored filter cannot be compiled as filtered out, saying so', () => {
    const { event } = decideFanOut(message({ a: 1 }), [endpoint(1, { payload_filter: { path: 'a', eq: 1 } })], deps());
    expect(event.data.deliveries).toEqual([]);
    expect(event.data.filtered).toEqual([{ subscription_id: id(1), reason: 'payload_filter', detail: expect.stringMatching(/^the filter cannot be used: /) }]);
  });

  it(`names at most ${maxFilteredRecorded} filtered endpoints, and counts the rest`, () => {
    const many = Array.from({ length: maxFilteredRecorded + 2 }, (_, i) => endpoint(100 + i, { payload_filter: large }));
    const { event } = decideFanOut(message({ data: { amount: 1 } }), [endpoint(1), ...many], deps());
    expect(event.data.deliveries).toHaveLength(1);
    expect(event.data.filtered).toHaveLength(maxFilteredRecorded);
    expect(event.data.filtered_omitted).toBe(2);
    expect(() => assertValidEvent(event)).not.toThrow();
    // (and the event stays well inside Kafka's default 1 MB message)
    expect(JSON.stringify(event).length).toBeLessThan(300_000);
  });
});

describe('a sealed payload on its way', () => {
  const sealed = 'pk1:1767312000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

  it('travels sealed in each first attempt’s job while the filters read it opened', () => {
    // Given a message whose event carries its payload sealed, opened for the fan-out
    const opened = { ...message({ data: { amount: 150 } }), payload_sealed: sealed };
    const { event, jobs } = decideFanOut(opened, [endpoint(1, { payload_filter: large }), endpoint(2)], deps());
    // Then the filter passed it on what it says, and no job holds it in clear
    expect(event.data.deliveries).toHaveLength(2);
    expect(jobs.every((job) => job.payload === undefined && job.payload_sealed === sealed)).toBe(true);
  });

  it('keeps a plain payload plain (events written before retention)', () => {
    const { jobs } = decideFanOut(message({ data: { amount: 1 } }), [endpoint(1)], deps());
    expect(jobs[0]).toMatchObject({ payload: { data: { amount: 1 } } });
    expect(jobs[0]!.payload_sealed).toBeUndefined();
  });

  it('redelivers a message sealed again as sealed, a plain one plain, and skips one whose payload is gone', () => {
    const request = { request_id: '0c0c0c0c-0000-4000-8000-000000000001', kind: 'resend' as const, app_id: appId, subscription_id: id(1), message_id: null, since: null, until: null, requested_at: at };
    const messages = [
      { id: '0b0b0b0b-0000-4000-8000-000000000011', event_type: 'a', payload: { a: 1 }, payload_sealed: sealed, created_at: at },
      { id: '0b0b0b0b-0000-4000-8000-000000000012', event_type: 'a', payload: { a: 2 }, created_at: at },
      { id: '0b0b0b0b-0000-4000-8000-000000000013', event_type: 'a', payload: null, created_at: at },
    ];
    const { events, jobs } = decideRedelivery(request, endpoint(1), messages, deps());
    expect(events).toHaveLength(2);
    expect(jobs.map((job) => [job.payload, job.payload_sealed])).toEqual([[undefined, sealed], [{ a: 2 }, undefined]]);
  });
});

describe('the fan-out to an ordered endpoint', () => {
  it("marks the ordered endpoint's delivery and hands its job to the lane instead of attempting it at once", () => {
    const ordered = endpoint(2, { ordered: true });
    const { event, jobs, laned } = decideFanOut(message({ a: 1 }), [endpoint(1), ordered], deps());
    expect(event.data.deliveries).toEqual([
      { delivery_id: deliveryIdFor(event.data.message_id, id(1)), subscription_id: id(1) },
      { delivery_id: deliveryIdFor(event.data.message_id, id(2)), subscription_id: id(2), ordered: true },
    ]);
    expect(jobs.map((job) => job.subscription_id)).toEqual([id(1)]);
    expect(laned.map((job) => job.subscription_id)).toEqual([id(2)]);
    expect(laned[0]).toMatchObject({ attempt_number: 1, payload: { a: 1 } });
  });
});
