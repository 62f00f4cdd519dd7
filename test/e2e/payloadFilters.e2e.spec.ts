import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Payload filters (Hookpost's extension of Svix's endpoints) through the public /api/v1, with real receivers:
 * which endpoint gets which message, and the ledger of every message × endpoint — delivered, or filtered out
 * with why — as a user reads it (attempted destinations, and the filtered endpoints of each message).
 */
let stack: Stack;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack();
  for (let i = 0; i < 3; i += 1) receivers.push(await Receiver.start());
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

type Endpoint = { id: string; payloadFilter: unknown };

/** The message ids (webhook-id) a receiver got, sorted. */
const receivedBy = (receiver: Receiver) => receiver.requests.map((request) => String(request.headers['webhook-id'])).sort();

describe('payload filters', () => {
  it('checks a filter when an endpoint is written, shows it, and refuses a bad one with a 422 naming the failing place', async () => {
    const { api } = stack;
    const app = (await api('POST', '/api/v1/app', { name: 'filters-crud' })).body as { id: string };

    // A filter that is not one: a 422 in Svix's shape, naming the failing place
    const refused = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: receivers[0]!.url, payloadFilter: { and: [{ path: '$.a', eq: 1 }, { path: 'a.b', eq: 2 }] } });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toContainEqual(expect.objectContaining({ loc: ['body', 'payloadFilter', 'and', '[1]', 'path'] }));
    const tooDeep = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: receivers[0]!.url, payloadFilter: { or: [{ and: [{ or: [{ path: '$.a', eq: 1 }] }] }] } });
    expect(tooDeep.status).toBe(422);
    expect(tooDeep.body.detail.map((item: { loc: string[] }) => item.loc)).toContainEqual(['body', 'payloadFilter', 'or', '[0]', 'and', '[0]', 'or']);

    // Created with a filter, shown by the answer and by reads; absent is null
    const filter = { and: [{ path: '$.data.amount', gte: 100 }, { path: '$.type', in: ['invoice.paid', 'invoice.late'] }] };
    const created = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: receivers[0]!.url, payloadFilter: filter });
    expect(created.status).toBe(201);
    expect(created.body.payloadFilter).toEqual(filter);
    expect((await api('GET', `/api/v1/app/${app.id}/endpoint/${created.body.id}`)).body.payloadFilter).toEqual(filter);
    const plain = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: receivers[0]!.url });
    expect(plain.body.payloadFilter).toBeNull();

    // PATCH changes only what it names; null removes the filter; PUT without it removes it too
    const patched = await api('PATCH', `/api/v1/app/${app.id}/endpoint/${created.body.id}`, { description: 'big invoices' });
    expect(patched.body).toMatchObject({ description: 'big invoices', payloadFilter: filter });
    const changed = await api('PATCH', `/api/v1/app/${app.id}/endpoint/${created.body.id}`, { payloadFilter: { not: { path: '$.test', exists: true } } });
    expect(changed.body.payloadFilter).toEqual({ not: { path: '$.test', exists: true } });
    const put = await api('PUT', `/api/v1/app/${app.id}/endpoint/${created.body.id}`, { url: receivers[0]!.url });
    expect(put.body.payloadFilter).toBeNull();
    const list = await api('GET', `/api/v1/app/${app.id}/endpoint`);
    expect(list.body.data.map((endpoint: Endpoint) => endpoint.payloadFilter)).toEqual([null, null]);
  });

  it('delivers each message only to the endpoints whose filter it passes, and accounts for every message × endpoint', async () => {
    const { api } = stack;
    // Given an application with three endpoints: large amounts, euro or VIP, and no filter; and one for another event type
    const app = (await api('POST', '/api/v1/app', { name: 'filters-fan-out' })).body as { id: string };
    const create = async (receiver: Receiver, body: Record<string, unknown>) => {
      const answer = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: receiver.url, ...body });
      expect(answer.status).toBe(201);
      return answer.body as Endpoint;
    };
    const large = await create(receivers[0]!, { payloadFilter: { path: '$.data.amount', gte: 100 } });
    const euroOrVip = await create(receivers[1]!, { payloadFilter: { or: [{ path: '$.data.currency', eq: 'EUR' }, { path: '$.data.tags[*]', eq: 'vip' }] } });
    const everything = await create(receivers[2]!, {});
    const otherType = await create(receivers[2]!, { filterTypes: ['invoice.refunded'], payloadFilter: { path: '$.data.amount', gte: 0 } });

    // When six messages are sent
    const payloads = {
      largeUsd: { data: { amount: 150, currency: 'USD' } },
      smallEur: { data: { amount: 50, currency: 'EUR' } },
      largeEur: { data: { amount: 500, currency: 'EUR' } },
      smallVip: { data: { amount: 5, currency: 'USD', tags: ['b2b', 'vip'] } },
      amountAsText: { data: { amount: '1000', currency: 'GBP' } },
      noData: { note: 'no data at all' },
    };
    const sent: Record<string, string> = {};
    for (const [name, payload] of Object.entries(payloads)) {
      const answer = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'invoice.paid', payload });
      expect(answer.status).toBe(202);
      sent[name] = answer.body.id as string;
    }

    // Then each endpoint receives exactly the messages its filter passes
    const expected = {
      [large.id]: ['largeUsd', 'largeEur'],
      [euroOrVip.id]: ['smallEur', 'largeEur', 'smallVip'],
      [everything.id]: Object.keys(payloads),
    };
    const idsOf = (names: string[]) => names.map((name) => sent[name]!).sort();
    await eventually(async () => (receivers.every((receiver, i) => receiver.requests.length >= Object.values(expected)[i]!.length) ? true : undefined), { what: 'every expected delivery' });

    // And the ledger of every message × endpoint of its type reads, through the API: delivered, or filtered out with why
    const ledger = await eventually(async () => {
      const rows: Record<string, Record<string, string>> = {};
      for (const [name, id] of Object.entries(sent)) {
        const destinations = (await api('GET', `/api/v1/app/${app.id}/msg/${id}/endpoint`)).body.data as { id: string; statusText: string }[];
        const filtered = (await api('GET', `/api/v1/app/${app.id}/msg/${id}/filtered-endpoint`)).body.data as { endpointId: string; reason: string; detail: string }[];
        rows[name] = Object.fromEntries([
          ...destinations.map((destination) => [destination.id, destination.statusText] as const),
          ...filtered.map((entry) => [entry.endpointId, `${entry.reason}: ${entry.detail}`] as const),
        ]);
      }
      // (settled: every message accounted for at the three endpoints of its type, every delivery succeeded)
      return Object.values(rows).every((row) => Object.keys(row).length === 3 && !Object.values(row).includes('pending')) ? rows : undefined;
    }, { what: 'the ledger of every message' });
    expect(ledger).toEqual({
      largeUsd: { [large.id]: 'success', [euroOrVip.id]: 'payloadFilter: none of or[0..1] holds (or[0]: $.data.currency eq "EUR": false)', [everything.id]: 'success' },
      smallEur: { [large.id]: 'payloadFilter: $.data.amount gte 100: false', [euroOrVip.id]: 'success', [everything.id]: 'success' },
      largeEur: { [large.id]: 'success', [euroOrVip.id]: 'success', [everything.id]: 'success' },
      smallVip: { [large.id]: 'payloadFilter: $.data.amount gte 100: false', [euroOrVip.id]: 'success', [everything.id]: 'success' },
      amountAsText: {
        [large.id]: 'payloadFilter: $.data.amount gte 100: the value is a string',
        [euroOrVip.id]: 'payloadFilter: none of or[0..1] holds (or[0]: $.data.currency eq "EUR": false)',
        [everything.id]: 'success',
      },
      noData: {
        [large.id]: 'payloadFilter: $.data.amount gte 100: nothing at $.data.amount',
        [euroOrVip.id]: 'payloadFilter: none of or[0..1] holds (or[0]: $.data.currency eq "EUR": nothing at $.data.currency)',
        [everything.id]: 'success',
      },
    });
    // (the endpoint of another event type was never one of these messages' endpoints: in neither list)
    expect(JSON.stringify(ledger)).not.toContain(otherType.id);
    // And the receivers got exactly what the ledger says, once each
    expect(receivedBy(receivers[0]!)).toEqual(idsOf(expected[large.id]!));
    expect(receivedBy(receivers[1]!)).toEqual(idsOf(expected[euroOrVip.id]!));
    expect(receivedBy(receivers[2]!)).toEqual(idsOf(expected[everything.id]!));
    // And the filtered list is a Svix list, paged by endpoint
    const page = await api('GET', `/api/v1/app/${app.id}/msg/${sent.noData}/filtered-endpoint?limit=1`);
    expect(page.body).toMatchObject({ data: [expect.objectContaining({ reason: 'payloadFilter', timestamp: expect.any(String) })], done: false });
    const next = await api('GET', `/api/v1/app/${app.id}/msg/${sent.noData}/filtered-endpoint?limit=1&iterator=${page.body.iterator}`);
    expect(next.body).toMatchObject({ data: [expect.objectContaining({ reason: 'payloadFilter' })], done: true });
    expect([page.body.data[0].endpointId, next.body.data[0].endpointId].sort()).toEqual([large.id, euroOrVip.id].sort());

    // When the large-amount filter is removed, the next small message reaches that endpoint too
    await api('PATCH', `/api/v1/app/${app.id}/endpoint/${large.id}`, { payloadFilter: null });
    const after = (await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'invoice.paid', payload: { data: { amount: 1, currency: 'USD' } } })).body.id as string;
    await eventually(async () => (receivedBy(receivers[0]!).includes(after) ? true : undefined), { what: 'the message after the filter was removed' });
    // (the routing is the dispatcher's write: the read model has it shortly after, not with the message)
    const filteredAfter = await eventually(async () => {
      const data = (await api('GET', `/api/v1/app/${app.id}/msg/${after}/filtered-endpoint`)).body.data as unknown[];
      return data.length > 0 ? data : undefined;
    }, { what: 'the routing of the message after' });
    expect(filteredAfter).toEqual([expect.objectContaining({ endpointId: euroOrVip.id, reason: 'payloadFilter' })]);
  });

  it('replays to an endpoint only the missed messages it takes: its event types and payload filter decide, as at fan-out', async () => {
    const api = stack.api;
    // Given messages sent before the endpoint existed: two it takes, one of another type, one its filter refuses
    const since = new Date(Date.now() - 1_000).toISOString();
    const app = (await api('POST', '/api/v1/app', { name: 'filters-replay-missing' })).body as { id: string };
    const send = async (eventType: string, amount: number) => (await api('POST', `/api/v1/app/${app.id}/msg`, { eventType, payload: { data: { amount } } })).body.id as string;
    const taken = [await send('invoice.paid', 150), await send('invoice.paid', 300)];
    await send('invoice.refunded', 500);
    await send('invoice.paid', 5);
    const late = await Receiver.start();
    receivers.push(late);
    const endpoint = (await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: late.url, filterTypes: ['invoice.paid'], payloadFilter: { path: '$.data.amount', gte: 100 } })).body as Endpoint;

    // When it asks for what it missed
    const task = await api('POST', `/api/v1/app/${app.id}/endpoint/${endpoint.id}/replay-missing`, { since });
    expect(task.status).toBe(202);
    await eventually(async () => ((await api('GET', `/api/v1/background-task/${task.body.id}`)).body.status === 'finished' ? true : undefined), { what: 'the replay task to finish' });

    // Then it got exactly the two messages it takes, once each
    await eventually(async () => (late.requests.length >= 2 ? true : undefined), { what: 'the replayed messages' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receivedBy(late)).toEqual([...taken].sort());
  });
});
