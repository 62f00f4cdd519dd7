import { fromExternalId } from '@hookpost/contracts';
import { Receiver, type ReceivedRequest } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { mostWithin } from '../support/rateWindow';
import { eventually } from '../support/wait';

jest.setTimeout(240_000);

/**
 * Ordered endpoints through the public API, with real receiving endpoints on loopback: the receiver of an
 * ordered endpoint must see its messages in the order they were sent, each accepted once, with no gaps, while
 * it fails some first tries and answers slowly; a failing head holds its own endpoint only; an operator's
 * skip lets the next go; a pause holds the lane and a resume releases it in order. Ledgers are exact.
 */
let stack: Stack;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack({
    env: {
      // Twenty attempts half a second apart: a head that keeps failing holds its lane ~10 s (time to look).
      HOOKPOST_RETRY_SCHEDULE_MS: Array.from({ length: 20 }, (_, i) => (i === 0 ? 0 : 500)).join(','),
      HOOKPOST_RETRY_JITTER_PERCENT: '0',
      // Circuit breaking stays on (a head failing ten times in a row is probed), at test speed.
      HOOKPOST_ENDPOINT_PROBE_INTERVAL_MS: '500',
      HOOKPOST_LANE_POLL_MS: '200',
      HOOKPOST_LANE_DISCOVERY_MS: '1000',
    },
  });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

async function receiver(): Promise<Receiver> {
  const started = await Receiver.start();
  receivers.push(started);
  return started;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seqOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { seq: number }).seq;
/** The sequence numbers a receiver accepted (answered 2xx), in the order they arrived. */
const accepted = (at: Receiver) => at.requests.filter((request) => request.answered !== undefined && request.answered < 300).map(seqOf);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function application(name: string): Promise<string> {
  const created = await stack.api('POST', '/api/v1/app', { name });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function endpoint(appId: string, url: string, ordered: boolean): Promise<string> {
  const created = await stack.api('POST', `/api/v1/app/${appId}/endpoint`, { url, ordered });
  expect(created.status).toBe(201);
  expect(created.body.ordered).toBe(ordered);
  return created.body.id as string;
}

/** Sends messages seq = from … to-1, one after the other (each accepted before the next is sent). */
async function sendSequence(appId: string, from: number, to: number): Promise<void> {
  for (let seq = from; seq < to; seq += 1) {
    const sent = await stack.api('POST', `/api/v1/app/${appId}/msg`, { eventType: 'sequence.step', payload: { seq } });
    expect(sent.status).toBe(202);
  }
}

/** Every delivery of an endpoint, by the sequence number of its message: status and last error. */
async function ledgerOf(endpointId: string): Promise<Map<number, { status: string; last_error: string | null }>> {
  const ledger = new Map<number, { status: string; last_error: string | null }>();
  let cursor: string | null = null;
  do {
    const answer = await stack.api('GET', `/deliveries?subscription_id=${fromExternalId('ep', endpointId)}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    expect(answer.status).toBe(200);
    for (const row of answer.body.data as { payload: { seq: number }; status: string; last_error: string | null }[]) ledger.set(row.payload.seq, { status: row.status, last_error: row.last_error });
    cursor = answer.body.next_cursor;
  } while (cursor);
  return ledger;
}

/**
 * Every request a receiver got is of the head (its first try or a retry), or a duplicate of the message it
 * accepted just before (an attempt whose answer was lost): never one further back, never one ahead. The head
 * moves on when the receiver accepts it, or to the message after it once it ended unaccepted (`ended`:
 * failed or skipped).
 */
function expectInOrder(at: Receiver, ended: ReadonlySet<number> = new Set()): void {
  let done = -1;
  let head = 0;
  for (const request of at.requests) {
    const seq = seqOf(request);
    while (ended.has(head) && seq > head) head += 1;
    expect([done, head]).toContain(seq);
    if (request.answered !== undefined && request.answered < 300 && seq === head) {
      done = head;
      head += 1;
    }
  }
}

describe('ordered endpoints', () => {
  it('deliver 200 messages in order, each accepted once, while the receiver fails every 7th request and answers some slowly; endpoints beside it are not held', async () => {
    // Given an application with two ordered endpoints and an unordered one; the first fails every 7th request
    // and answers every 5th after 150 ms
    const flaky = await receiver();
    flaky.reply = (_request, n) => (n % 7 === 0 ? { status: 500, body: 'try again' } : { status: 200, body: 'ok', ...(n % 5 === 0 ? { delayMs: 150 } : {}) });
    const steady = await receiver();
    const unordered = await receiver();
    const appId = await application('Ordered under load');
    const flakyId = await endpoint(appId, flaky.url, true);
    const steadyId = await endpoint(appId, steady.url, true);
    const unorderedId = await endpoint(appId, unordered.url, false);

    // When 200 messages with a sequence number are sent
    const total = 200;
    await sendSequence(appId, 0, total);

    // Then each receiver accepts every message once
    await eventually(async () => (accepted(flaky).length >= total && accepted(steady).length >= total && accepted(unordered).length >= total ? true : undefined), {
      what: 'every message accepted at every endpoint',
      timeoutMs: 180_000,
    });
    // and the ordered endpoints' receivers accepted them strictly in order, with no gap and no repeat
    expect(accepted(flaky)).toEqual(range(total));
    expect(accepted(steady)).toEqual(range(total));
    expectInOrder(flaky);
    expect(flaky.requests.length).toBeGreaterThan(total);
    // (the unordered one got them all too, in whatever order)
    expect([...accepted(unordered)].sort((a, b) => a - b)).toEqual(range(total));

    // and the ledger is exact: every delivery succeeded
    await stack.projectionCaughtUp();
    for (const id of [flakyId, steadyId, unorderedId]) {
      const ledger = await ledgerOf(id);
      expect([...ledger.keys()].sort((a, b) => a - b)).toEqual(range(total));
      expect([...ledger.values()].every((row) => row.status === 'succeeded')).toBe(true);
    }
  });

  it("holds an ordered endpoint behind its failing head, and only that endpoint, until an operator skips the head; then the rest go in order", async () => {
    // Given an ordered endpoint whose receiver refuses message 3 every time, another ordered endpoint and an
    // unordered one in the same application
    const failing = await receiver();
    failing.reply = (request) => (seqOf(request) === 3 ? { status: 500, body: 'no' } : { status: 200 });
    const other = await receiver();
    const unordered = await receiver();
    const appId = await application('Failing head');
    const failingId = await endpoint(appId, failing.url, true);
    await endpoint(appId, other.url, true);
    await endpoint(appId, unordered.url, false);

    // When ten messages are sent
    await sendSequence(appId, 0, 10);

    // Then the other endpoints get all ten while the failing one gets 0, 1, 2 and then only retries of 3
    await eventually(async () => (accepted(other).length === 10 && accepted(unordered).length === 10 ? true : undefined), { what: 'the other endpoints served' });
    expect(accepted(other)).toEqual(range(10));
    await eventually(async () => (failing.requests.filter((request) => seqOf(request) === 3).length >= 3 ? true : undefined), { what: 'the head retried' });
    expect(accepted(failing)).toEqual([0, 1, 2]);
    expect(failing.requests.every((request) => seqOf(request) <= 3)).toBe(true);

    // When an operator skips the head
    const skipped = await stack.api('POST', `/api/v1/app/${appId}/endpoint/${failingId}/ordered/skip-head`);
    expect(skipped.status).toBe(204);

    // Then the rest arrive in order, and 3 never again once they do
    await eventually(async () => (accepted(failing).length === 9 ? true : undefined), { what: 'the rest after the skip' });
    expect(accepted(failing)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expectInOrder(failing, new Set([3]));
    // and the ledger says 3 was cancelled by the operator, every other one delivered
    await stack.projectionCaughtUp();
    const ledger = await ledgerOf(failingId);
    expect(ledger.get(3)).toMatchObject({ status: 'cancelled' });
    for (const seq of [0, 1, 2, 4, 5, 6, 7, 8, 9]) expect(ledger.get(seq)).toMatchObject({ status: 'succeeded' });
    // and with nothing waiting there is nothing to skip
    expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${failingId}/ordered/skip-head`)).status).toBe(404);
  });

  it('lets an exhausted head end failed and the next go', async () => {
    // Given an ordered endpoint whose receiver refuses message 1 every time
    const refusing = await receiver();
    refusing.reply = (request) => (seqOf(request) === 1 ? { status: 500 } : { status: 200 });
    const appId = await application('Exhausted head');
    // (the Svix API sets no attempt count per endpoint: the run's schedule, twenty attempts, ~10 s, applies)
    const refusingId = await endpoint(appId, refusing.url, true);

    // When three messages are sent
    await sendSequence(appId, 0, 3);

    // Then 1 is tried until its attempts run out, ends failed, and 2 follows
    await eventually(async () => (accepted(refusing).length === 2 ? true : undefined), { what: 'the message after the exhausted head', timeoutMs: 60_000 });
    expect(accepted(refusing)).toEqual([0, 2]);
    expect(refusing.requests.filter((request) => seqOf(request) === 1)).toHaveLength(20);
    expectInOrder(refusing, new Set([1]));
    await stack.projectionCaughtUp();
    const ledger = await ledgerOf(refusingId);
    expect(ledger.get(1)).toMatchObject({ status: 'failed' });
    expect(ledger.get(0)).toMatchObject({ status: 'succeeded' });
    expect(ledger.get(2)).toMatchObject({ status: 'succeeded' });
  });

  it("holds a paused ordered endpoint's lane and sends it in order on resume", async () => {
    // Given a paused ordered endpoint
    const at = await receiver();
    const appId = await application('Paused lane');
    const endpointId = await endpoint(appId, at.url, true);
    expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/pause`)).status).toBe(204);

    // When eight messages are sent
    await sendSequence(appId, 0, 8);

    // Then nothing arrives while it is paused (past the reconciler's grace too)
    await sleep(4_000);
    expect(at.requests).toHaveLength(0);

    // When it is resumed
    expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/resume`)).status).toBe(204);

    // Then the eight arrive in order, once each
    await eventually(async () => (accepted(at).length === 8 ? true : undefined), { what: 'the lane released' });
    expect(at.requests.map(seqOf)).toEqual(range(8));
    await stack.projectionCaughtUp();
    const ledger = await ledgerOf(endpointId);
    expect([...ledger.values()].every((row) => row.status === 'succeeded')).toBe(true);
    expect(ledger.size).toBe(8);
  });

  it("keeps the order across a restart of the dispatcher during the head's retries: the head is given back and taken again from what was recorded", async () => {
    // Given an ordered endpoint whose receiver fails every 4th request
    const at = await receiver();
    at.reply = (_request, n) => (n % 4 === 0 ? { status: 500 } : { status: 200 });
    const appId = await application('Restart');
    const endpointId = await endpoint(appId, at.url, true);

    // When 60 messages are sent and the dispatcher is restarted once 20 were accepted, just after a failure
    await sendSequence(appId, 0, 60);
    await eventually(async () => (accepted(at).length >= 20 ? true : undefined), { what: 'a third delivered' });
    const failures = at.requests.filter((request) => request.answered === 500).length;
    await eventually(async () => (at.requests.filter((request) => request.answered === 500).length > failures ? true : undefined), { what: 'a failed head' });
    await stack.restart('dispatcher');

    // Then every message is accepted once, in order (a repeat of the head just before at most)
    await eventually(async () => (new Set(accepted(at)).size === 60 ? true : undefined), { what: 'all 60 after the restart', timeoutMs: 120_000 });
    const received = accepted(at);
    expect(received.filter((seq, index) => index === 0 || seq !== received[index - 1])).toEqual(range(60));
    expect(received.length - 60).toBeLessThanOrEqual(1);
    expectInOrder(at);
    await stack.projectionCaughtUp();
    const ledger = await ledgerOf(endpointId);
    expect(ledger.size).toBe(60);
    expect([...ledger.values()].every((row) => row.status === 'succeeded')).toBe(true);
  });

  it('cancels what waits in the lane when the endpoint is deleted: the head and every delivery behind it, none sent', async () => {
    // Given an ordered endpoint whose receiver refuses message 0 every time, with four messages behind it
    const at = await receiver();
    at.reply = () => ({ status: 500 });
    const appId = await application('Deleted lane');
    const endpointId = await endpoint(appId, at.url, true);
    await sendSequence(appId, 0, 5);
    await eventually(async () => (at.requests.length >= 2 ? true : undefined), { what: 'the head retried' });

    // When the endpoint is deleted
    expect((await stack.api('DELETE', `/api/v1/app/${appId}/endpoint/${endpointId}`)).status).toBe(204);

    // Then every delivery ends cancelled, and nothing but the head was ever sent
    await eventually(
      async () => {
        const ledger = await ledgerOf(endpointId);
        return ledger.size === 5 && [...ledger.values()].every((row) => row.status === 'cancelled') ? true : undefined;
      },
      { what: 'the lane cancelled' },
    );
    expect(new Set(at.requests.map(seqOf))).toEqual(new Set([0]));
  });

  it('keeps to the rate limit of an ordered endpoint, in order', async () => {
    // Given an ordered endpoint limited to 4 requests a second
    const at = await receiver();
    const appId = await application('Ordered and limited');
    const created = await stack.api('POST', `/api/v1/app/${appId}/endpoint`, { url: at.url, ordered: true, throttleRate: 4 });
    expect(created.status).toBe(201);

    // When twelve messages are sent at once
    await sendSequence(appId, 0, 12);

    // Then they arrive in order, never more than the limit (+1) in any second
    await eventually(async () => (accepted(at).length === 12 ? true : undefined), { what: 'twelve at the limit', timeoutMs: 30_000 });
    expect(accepted(at)).toEqual(range(12));
    expect(mostWithin(at.requests.map((request) => request.at))).toBeLessThanOrEqual(5);
  });

  it('loses nothing when the flag is turned off with deliveries waiting in the lane: the lane drains in order, later messages go at once', async () => {
    // Given an ordered endpoint whose receiver refuses message 1 three times, with messages 0-5 sent
    const at = await receiver();
    let refusals = 0;
    at.reply = (request) => (seqOf(request) === 1 && refusals++ < 3 ? { status: 500 } : { status: 200 });
    const appId = await application('Flag off');
    const endpointId = await endpoint(appId, at.url, true);
    await sendSequence(appId, 0, 6);
    await eventually(async () => (refusals >= 1 ? true : undefined), { what: 'the head refused' });
    // (all six fanned out, so into the lane, before the flag changes: a message the dispatcher had not fanned
    // out yet would be routed by the flag as it is then)
    await eventually(async () => ((await ledgerOf(endpointId)).size === 6 ? true : undefined), { what: 'the six routed' });

    // When the flag is turned off and messages 6-9 are sent
    const patched = await stack.api('PATCH', `/api/v1/app/${appId}/endpoint/${endpointId}`, { ordered: false });
    expect(patched.body.ordered).toBe(false);
    await sendSequence(appId, 6, 10);

    // Then all ten arrive once each, and the six routed to the lane arrive in their order
    await eventually(async () => (new Set(accepted(at)).size === 10 ? true : undefined), { what: 'all ten' });
    expect([...accepted(at)].sort((a, b) => a - b)).toEqual(range(10));
    expect(accepted(at).filter((seq) => seq < 6)).toEqual(range(6));
    await stack.projectionCaughtUp();
    const ledger = await ledgerOf(endpointId);
    expect(ledger.size).toBe(10);
    expect([...ledger.values()].every((row) => row.status === 'succeeded')).toBe(true);
  });

  it('shows the flag on the endpoint and changes it with PATCH', async () => {
    const appId = await application('Flag');
    const at = await receiver();
    const endpointId = await endpoint(appId, at.url, false);
    const patched = await stack.api('PATCH', `/api/v1/app/${appId}/endpoint/${endpointId}`, { ordered: true });
    expect(patched.status).toBe(200);
    expect(patched.body.ordered).toBe(true);
    expect((await stack.api('GET', `/api/v1/app/${appId}/endpoint/${endpointId}`)).body.ordered).toBe(true);
    // (a PUT without the field sets it back to its default)
    const replaced = await stack.api('PUT', `/api/v1/app/${appId}/endpoint/${endpointId}`, { url: at.url });
    expect(replaced.body.ordered).toBe(false);
  });
});
