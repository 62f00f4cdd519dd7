import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { fromExternalId } from '@hookpost/contracts';
import { apiClient } from '../support/api';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

/**
 * Pausing and resuming endpoints, and background tasks (replay from the log, cancel, a restart mid-task),
 * through the public API with real receiving endpoints on loopback. Ledgers are exact: every message is
 * counted at the receiver by its webhook-id (the message id), so a message sent twice or never shows.
 */
let stack: Stack;
const receivers: Receiver[] = [];
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';

beforeAll(async () => {
  stack = await startStack({
    env: {
      // Two first attempts at a time (a task's chunk is then 16 messages): a slow endpoint makes a task long.
      DISPATCHER_FANOUT_CONCURRENCY: '2',
      // Checkpoints often, so a restart mid-task carries on from close to where it stopped.
      HOOKPOST_TASK_CHECKPOINT_MESSAGES: '5',
      HOOKPOST_TASK_CHECKPOINT_MS: '200',
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
const webhookIds = (at: Receiver) => at.requests.map((request) => String(request.headers['webhook-id']));

async function application(name: string): Promise<string> {
  const created = await stack.api('POST', '/api/v1/app', { name });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

/**
 * An endpoint. `replayOnly`: it filters on an event type nothing is sent as, so messages fanned out after it
 * was created (the dispatcher may still be working through the ones sent before) never reach it; a replay
 * sends what it asks for whatever the endpoint's filters.
 */
async function endpoint(appId: string, url: string, options: { replayOnly?: boolean } = {}): Promise<string> {
  const created = await stack.api('POST', `/api/v1/app/${appId}/endpoint`, { url, ...(options.replayOnly ? { filterTypes: ['never.sent'] } : {}) });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function send(appId: string, eventType: string, payload: Record<string, unknown>): Promise<string> {
  const sent = await stack.api('POST', `/api/v1/app/${appId}/msg`, { eventType, payload });
  expect(sent.status).toBe(202);
  return sent.body.id as string;
}

/** The endpoint's deliveries as the seed API shows them (status, held_since, next_attempt_at). */
async function deliveriesOf(endpointId: string): Promise<{ status: string; held_since: string | null; next_attempt_at: string | null }[]> {
  const answer = await stack.api('GET', `/deliveries?subscription_id=${fromExternalId('ep', endpointId)}&limit=100`);
  expect(answer.status).toBe(200);
  return answer.body.data;
}

async function taskState(taskId: string) {
  const answer = await stack.api('GET', `/api/v1/background-task/${taskId}`);
  expect(answer.status).toBe(200);
  return answer.body as { id: string; status: string; task: string; data: { state: string; messagesSent: number; messagesScanned: number; progress: number | null } };
}

describe('pausing and resuming an endpoint', () => {
  it("holds a paused endpoint's deliveries (no attempt, none failed, nothing sent, not even by the retry reconciler) and sends each exactly once on resume", async () => {
    // Given an endpoint, paused
    const at = await receiver();
    const appId = await application('Paused');
    const endpointId = await endpoint(appId, at.url);
    expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/pause`)).status).toBe(204);
    expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/pause`)).status).toBe(204);
    expect((await stack.api('GET', `/api/v1/app/${appId}/endpoint/${endpointId}`)).body).toMatchObject({ paused: true, disabled: false });

    // When six messages are sent to its application
    const sent = [];
    for (let n = 0; n < 6; n += 1) sent.push(await send(appId, 'order.created', { n }));

    // Then each delivery is held: pending, no attempt counted, no next attempt time
    await eventually(async () => {
      const deliveries = await deliveriesOf(endpointId);
      return deliveries.length === 6 && deliveries.every((delivery) => delivery.held_since !== null) ? deliveries : undefined;
    }, { what: 'six held deliveries' });
    for (const delivery of await deliveriesOf(endpointId)) expect(delivery).toMatchObject({ status: 'pending', attempt_count: 0, next_attempt_at: null });
    // (in Svix's terms: pending, with no next attempt)
    const attempted = await stack.api('GET', `/api/v1/app/${appId}/endpoint/${endpointId}/msg`);
    expect(attempted.body.data).toHaveLength(6);
    for (const message of attempted.body.data) expect(message).toMatchObject({ statusText: 'pending', nextAttempt: null });
    // and nothing arrives, even after the retry reconciler's grace (3 s) has passed several rounds over
    await sleep(4_500);
    expect(at.requests).toHaveLength(0);
    expect((await stack.api('GET', `/api/v1/app/${appId}/endpoint/${endpointId}/stats`)).body).toMatchObject({ pending: 6, success: 0, fail: 0 });

    // When it is resumed
    expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/resume`)).status).toBe(204);
    expect((await stack.api('GET', `/api/v1/app/${appId}/endpoint/${endpointId}`)).body).toMatchObject({ paused: false });

    // Then every message arrives exactly once, and every delivery ends succeeded, no longer held
    await eventually(async () => (at.requests.length >= 6 ? true : undefined), { what: 'six deliveries after the resume' });
    await sleep(1_500);
    expect(webhookIds(at).sort()).toEqual([...sent].sort());
    await eventually(async () => {
      const deliveries = await deliveriesOf(endpointId);
      return deliveries.every((delivery) => delivery.status === 'succeeded' && delivery.held_since === null) ? true : undefined;
    }, { what: 'every delivery succeeded' });
  });

  it('loses and doubles nothing when pauses and resumes cross messages being sent', async () => {
    // Given an endpoint that is paused and resumed three times while messages keep being sent
    const at = await receiver();
    const appId = await application('Paused and resumed');
    const endpointId = await endpoint(appId, at.url);
    const sent: Promise<string>[] = [];
    let n = 0;
    for (let round = 0; round < 3; round += 1) {
      expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/pause`)).status).toBe(204);
      for (let i = 0; i < 10; i += 1) sent.push(send(appId, 'order.created', { n: n++ }));
      await sleep(50 + round * 150);
      // (the resume lands while some of the messages are still being fanned out and held)
      expect((await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/resume`)).status).toBe(204);
      for (let i = 0; i < 10; i += 1) sent.push(send(appId, 'order.created', { n: n++ }));
    }
    const ids = await Promise.all(sent);

    // Then every message arrives, each once
    await eventually(async () => (new Set(webhookIds(at)).size >= ids.length ? true : undefined), { what: 'every message', timeoutMs: 40_000 });
    await sleep(1_500);
    expect(webhookIds(at).sort()).toEqual([...ids].sort());
  });
});

describe('replaying from the log', () => {
  it('sends exactly the messages of a window and event types, read from the log after their rows are gone, and the task finishes', async () => {
    // Given messages of two event types before, in and after a window, and no endpoint meanwhile
    const appId = await application('Replay from the log');
    const suffix = randomUUID().slice(0, 8);
    const [wanted, other] = [`invoice.paid.${suffix}`, `invoice.failed.${suffix}`];
    await send(appId, wanted, { n: 'before' });
    await sleep(50);
    const since = new Date().toISOString();
    await sleep(10);
    const inWindow = [await send(appId, wanted, { n: 1 }), await send(appId, other, { n: 2 }), await send(appId, wanted, { n: 3 }), await send(appId, other, { n: 4 }), await send(appId, wanted, { n: 5 })];
    await sleep(10);
    const until = new Date().toISOString();
    await sleep(50);
    await send(appId, wanted, { n: 'after' });
    // and the read model's rows of the messages gone (as retention would remove them)
    await stack.projectionCaughtUp();
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    try {
      const removed = await pg.query(`DELETE FROM "${stack.schema}".messages WHERE app_id = $1`, [fromExternalId('app', appId)]);
      expect(removed.rowCount).toBe(7);
    } finally {
      await pg.end();
    }
    expect((await stack.api('GET', `/api/v1/app/${appId}/msg`)).body.data).toHaveLength(0);

    // When a new endpoint asks for the window's messages of one event type from the log
    const at = await receiver();
    const endpointId = await endpoint(appId, at.url, { replayOnly: true });
    const started = await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/replay-from-log`, { since, until, eventTypes: [wanted] });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'running', task: 'endpoint.bulk-replay' });
    expect(started.body.id).toMatch(/^qtask_[A-Za-z0-9]{27}$/);

    // Then the task finishes, having sent three messages, and the endpoint gets exactly those three, once each
    const finished = await eventually(async () => {
      const task = await taskState(started.body.id);
      return task.status === 'running' ? undefined : task;
    }, { what: 'the task to end', timeoutMs: 30_000 });
    expect(finished).toMatchObject({ status: 'finished', task: 'endpoint.bulk-replay', data: { state: 'finished', messagesSent: 3, progress: 1, endpointId, eventTypes: [wanted] } });
    await eventually(async () => (at.requests.length >= 3 ? true : undefined), { what: 'the three replayed messages' });
    await sleep(1_000);
    const expected = [inWindow[0], inWindow[2], inWindow[4]];
    expect(webhookIds(at).sort()).toEqual([...expected].sort());
    expect(at.requests.map((request) => JSON.parse(request.body).n).sort()).toEqual([1, 3, 5]);
    // and the task is in the list of tasks
    const listed = await stack.api('GET', '/api/v1/background-task?task=endpoint.bulk-replay&limit=250');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((task: { id: string }) => task.id)).toContain(started.body.id);
    // and cancelling it now is a conflict: it has finished
    expect((await stack.api('POST', `/api/v1/background-task/${started.body.id}/cancel`)).status).toBe(409);
  });

  it('stops a long task when it is cancelled, and reports it cancelled', async () => {
    // Given sixty messages and a slow endpoint (300 ms an answer, two at a time: a replay takes about ten seconds)
    const appId = await application('Cancelled replay');
    const since = new Date(Date.now() - 1_000).toISOString();
    for (let n = 0; n < 60; n += 1) await send(appId, 'order.created', { n });
    const at = await receiver();
    at.reply = () => ({ status: 200, delayMs: 300 });
    const endpointId = await endpoint(appId, at.url, { replayOnly: true });

    // When a replay from the log starts, and is cancelled once the first messages arrive
    const started = await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/replay-from-log`, { since });
    expect(started.status).toBe(202);
    await eventually(async () => (at.requests.length >= 2 ? true : undefined), { what: 'the first replayed messages' });
    const cancelled = await stack.api('POST', `/api/v1/background-task/${started.body.id}/cancel`);

    // Then the cancel answers the task cancelled (a failed task in Svix's terms), and reads so at once
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ id: started.body.id, status: 'failed', data: { state: 'cancelled' } });
    expect(await taskState(started.body.id)).toMatchObject({ status: 'failed', data: { state: 'cancelled' } });
    // and cancelling again answers the same
    expect((await stack.api('POST', `/api/v1/background-task/${started.body.id}/cancel`)).body).toMatchObject({ data: { state: 'cancelled' } });
    // and the task stops: after the chunk it was sending, nothing more arrives, far fewer than sixty
    let count = -1;
    await eventually(async () => {
      const now = at.requests.length;
      const settled = now === count;
      count = now;
      return settled ? true : undefined;
    }, { what: 'arrivals to stop', intervalMs: 2_500, timeoutMs: 30_000 });
    expect(count).toBeLessThan(60);
    expect(new Set(webhookIds(at)).size).toBe(count);
    // and its progress says what it sent
    await eventually(async () => {
      const task = await taskState(started.body.id);
      return task.data.messagesSent === count ? true : undefined;
    }, { what: `the final count ${count}: ${JSON.stringify(await taskState(started.body.id))}` });
  });

  it('carries on after a dispatcher restart mid-task, sending every message once', async () => {
    // Given forty messages and a slow endpoint
    const appId = await application('Restarted replay');
    const since = new Date(Date.now() - 1_000).toISOString();
    const sent = [];
    for (let n = 0; n < 40; n += 1) sent.push(await send(appId, 'order.created', { n }));
    const at = await receiver();
    at.reply = () => ({ status: 200, delayMs: 150 });
    const endpointId = await endpoint(appId, at.url, { replayOnly: true });

    // When the dispatcher is restarted while a replay from the log is under way
    const started = await stack.api('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/replay-from-log`, { since });
    expect(started.status).toBe(202);
    await eventually(async () => (at.requests.length >= 5 ? true : undefined), { what: 'the first replayed messages' });
    await stack.restart('dispatcher');
    expect(at.requests.length).toBeLessThan(40);

    // Then the task finishes, and every message arrived exactly once
    const finished = await eventually(async () => {
      const task = await taskState(started.body.id);
      return task.status === 'running' ? undefined : task;
    }, { what: 'the task to end', timeoutMs: 60_000 });
    expect(finished).toMatchObject({ status: 'finished', data: { state: 'finished' } });
    await eventually(async () => (at.requests.length >= 40 ? true : undefined), { what: 'every message' });
    await sleep(1_500);
    expect(webhookIds(at).sort()).toEqual([...sent].sort());
  });

  it("shows an application-scoped token only its own application's tasks", async () => {
    // Given a task of one application, and tokens of it and of another
    const own = await application('Own tasks');
    const otherApp = await application('Other tasks');
    const at = await receiver();
    const endpointId = await endpoint(own, at.url);
    const started = await stack.api('POST', `/api/v1/app/${own}/endpoint/${endpointId}/replay-from-log`, { since: new Date().toISOString() });
    expect(started.status).toBe(202);
    const tokenOf = async (appId: string) => (await stack.api('POST', `/api/v1/auth/app-portal-access/${appId}`, {})).body.token as string;
    const asOwn = apiClient(stack.baseUrl, { authorization: `Bearer ${await tokenOf(own)}` });
    const asOther = apiClient(stack.baseUrl, { authorization: `Bearer ${await tokenOf(otherApp)}` });

    // Then its own token reads it and lists it; the other's finds nothing of it
    expect((await asOwn('GET', `/api/v1/background-task/${started.body.id}`)).status).toBe(200);
    expect((await asOwn('GET', '/api/v1/background-task')).body.data.map((task: { id: string }) => task.id)).toEqual([started.body.id]);
    expect((await asOther('GET', `/api/v1/background-task/${started.body.id}`)).status).toBe(404);
    expect((await asOther('POST', `/api/v1/background-task/${started.body.id}/cancel`)).status).toBe(404);
    expect((await asOther('GET', '/api/v1/background-task')).body.data).toEqual([]);
  });
});
