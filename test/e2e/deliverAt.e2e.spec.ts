import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Svix's `deliverAt` through the public /api/v1 with a real receiving endpoint: a message scheduled ahead is
 * recorded at once (202, readable, its deliverAt shown) but reaches no endpoint before its time; one whose time
 * is past goes at once; one scheduled past the payload's retention is refused and changes nothing.
 */
let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

const arrivalsOf = (messageId: string) => receiver.requests.filter((request) => request.headers['webhook-id'] === messageId);

describe('deliverAt', () => {
  it('sends no attempt before a scheduled message’s time, then delivers it once, to every endpoint', async () => {
    const { api } = stack;
    const app = (await api('POST', '/api/v1/app', { name: 'scheduled' })).body as { id: string };
    const endpoints = [];
    for (let i = 0; i < 2; i += 1) {
      const endpoint = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: `${receiver.url}/scheduled/${i}` });
      expect(endpoint.status).toBe(201);
      endpoints.push(endpoint.body.id as string);
    }

    const deliverAt = new Date(Date.now() + 4_000);
    const sent = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'invoice.due', payload: { invoice: 'in_later' }, deliverAt: deliverAt.toISOString() });
    expect(sent.status).toBe(202);
    expect(sent.body.deliverAt).toBe(deliverAt.toISOString());
    const now = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'invoice.due', payload: { invoice: 'in_now' }, deliverAt: new Date(Date.now() - 60_000).toISOString() });
    expect(now.status).toBe(202);
    expect(now.body.deliverAt).toBeNull();

    // The message is there to read at once, with its time; the endpoints' deliveries wait for it
    const read = await api('GET', `/api/v1/app/${app.id}/msg/${sent.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.deliverAt).toBe(deliverAt.toISOString());
    // A message whose time has passed goes at once, while the scheduled one has reached no endpoint
    await eventually(async () => (arrivalsOf(now.body.id).length === 2 ? true : undefined), { timeoutMs: 10_000, what: 'the unscheduled message at both endpoints' });
    expect(Date.now()).toBeLessThan(deliverAt.getTime());
    expect(arrivalsOf(sent.body.id)).toEqual([]);
    // (the schedule is the dispatcher's record, read once projected)
    const waiting = await eventually(
      async () => {
        const answer = await api('GET', `/api/v1/app/${app.id}/msg/${sent.body.id}/endpoint`);
        const data = answer.body.data as { status: number; nextAttempt: string | null }[] | undefined;
        return data?.length === 2 && data.every((endpoint) => endpoint.nextAttempt !== null && Date.parse(endpoint.nextAttempt) === deliverAt.getTime()) ? data : undefined;
      },
      { timeoutMs: 3_000, what: "both endpoints' deliveries waiting for deliverAt" },
    );
    expect(waiting.map((endpoint) => endpoint.status)).toEqual([1, 1]); // Pending
    expect(arrivalsOf(sent.body.id)).toEqual([]);

    // At its time, each endpoint gets it once, signed then
    await eventually(async () => (arrivalsOf(sent.body.id).length === 2 ? true : undefined), { timeoutMs: 20_000, what: 'the scheduled message at both endpoints' });
    const arrivals = arrivalsOf(sent.body.id);
    for (const arrival of arrivals) {
      expect(arrival.at).toBeGreaterThanOrEqual(deliverAt.getTime());
      expect(Number(arrival.headers['webhook-timestamp']) * 1000).toBeGreaterThanOrEqual(deliverAt.getTime() - 1_000);
    }
    expect(arrivals.map((arrival) => arrival.url).sort()).toEqual([`${new URL(receiver.url).pathname}/scheduled/0`, `${new URL(receiver.url).pathname}/scheduled/1`]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(arrivalsOf(sent.body.id)).toHaveLength(2);
    await eventually(
      async () => {
        const attempts = await api('GET', `/api/v1/app/${app.id}/attempt/msg/${sent.body.id}`);
        return attempts.body.data?.length === 2 && attempts.body.data.every((attempt: { status: number }) => attempt.status === 0) ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'both attempts succeeded in the read model' },
    );
  });

  it('holds an ordered endpoint’s later messages behind a scheduled one, which goes at its time, first', async () => {
    const { api } = stack;
    const app = (await api('POST', '/api/v1/app', { name: 'scheduled-in-order' })).body as { id: string };
    const endpoint = await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: `${receiver.url}/in-order`, ordered: true });
    expect(endpoint.status).toBe(201);
    expect(endpoint.body.ordered).toBe(true);
    const deliverAt = new Date(Date.now() + 3_000);
    const first = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'invoice.due', payload: { n: 1 }, deliverAt: deliverAt.toISOString() });
    const second = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'invoice.due', payload: { n: 2 } });
    expect([first.status, second.status]).toEqual([202, 202]);
    const here = () => receiver.requests.filter((request) => request.url.endsWith('/in-order'));

    await eventually(async () => (here().length === 2 ? true : undefined), { timeoutMs: 20_000, what: 'both messages at the ordered endpoint' });
    expect(here().map((request) => JSON.parse(request.body).n)).toEqual([1, 2]);
    expect(here()[0]!.at).toBeGreaterThanOrEqual(deliverAt.getTime());
  });

  it('refuses, with a 422 naming deliverAt, a time past the payload’s retention or not a time, and records nothing', async () => {
    const { api } = stack;
    const app = (await api('POST', '/api/v1/app', { name: 'scheduled-refused' })).body as { id: string };
    const beyond = await api('POST', `/api/v1/app/${app.id}/msg`, {
      eventType: 'invoice.due',
      payload: { invoice: 'in_too_late' },
      payloadRetentionHours: 1,
      deliverAt: new Date(Date.now() + 2 * 3_600_000).toISOString(),
    });
    expect(beyond.status).toBe(422);
    expect(JSON.stringify(beyond.body)).toContain('deliverAt');
    const notATime = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'invoice.due', payload: {}, deliverAt: 'tomorrow' });
    expect(notATime.status).toBe(422);
    const within = await api('POST', `/api/v1/app/${app.id}/msg`, {
      eventType: 'invoice.due',
      payload: { invoice: 'in_within' },
      payloadRetentionHours: 1,
      deliverAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    });
    expect(within.status).toBe(202);
    const listed = await api('GET', `/api/v1/app/${app.id}/msg`);
    expect(listed.body.data.map((message: { id: string }) => message.id)).toEqual([within.body.id]);
  });
});
