import { randomUUID } from 'node:crypto';
import { Svix, ApiException, BackgroundTaskType } from 'svix';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Receiver, type ReceivedRequest } from '../support/receiver';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Hookpost through Svix's own npm client (1.x) only: every call below is the client's, and every answer is
 * parsed by the client's own models. The receivers are real HTTP servers on loopback.
 */
let stack: Stack;
let svix: Svix;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack();
  svix = new Svix(TEST_API_KEY, { serverUrl: stack.baseUrl });
  for (let i = 0; i < 3; i += 1) receivers.push(await Receiver.start());
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

const payloadsOf = (receiver: Receiver) => receiver.requests.map((request) => JSON.parse(request.body) as { n: number });

describe('the Svix v1 API, through the official svix client', () => {
  it('fans messages out by event type and channel, signs them, and shows messages, attempts and destinations', async () => {
    // Given an application, two event types and three endpoints with different filters
    const uid = `customer-${randomUUID()}`;
    const app = await svix.application.create({ name: 'Acme', uid, metadata: { plan: 'pro' } });
    expect(app).toMatchObject({ name: 'Acme', uid, metadata: { plan: 'pro' } });
    expect(app.id).toMatch(/^app_[A-Za-z0-9]{27}$/);
    expect(await svix.application.get(uid)).toMatchObject({ id: app.id });
    const suffix = randomUUID().slice(0, 8);
    const paid = `invoice.paid.${suffix}`;
    const failed = `invoice.failed.${suffix}`;
    await svix.eventType.create({ name: paid, description: 'An invoice was paid' });
    await svix.eventType.create({ name: failed, description: 'An invoice failed' });

    const all = await svix.endpoint.create(app.id, { url: receivers[0]!.url, description: 'everything' });
    const onlyPaid = await svix.endpoint.create(app.id, { url: receivers[1]!.url, filterTypes: [paid] });
    const onlyEu = await svix.endpoint.create(app.id, { url: receivers[2]!.url, channels: ['eu'], uid: 'eu-endpoint' });
    expect(onlyPaid.filterTypes).toEqual([paid]);
    expect(onlyEu).toMatchObject({ channels: ['eu'], uid: 'eu-endpoint' });
    const secrets = await Promise.all([all, onlyPaid, onlyEu].map((endpoint) => svix.endpoint.getSecret(app.id, endpoint.id)));
    for (const { key } of secrets) expect(key).toMatch(/^whsec_/);

    // When messages are sent: one paid (no channel), one failed in channel eu, one paid in channel us
    const first = await svix.message.create(app.id, { eventType: paid, payload: { n: 1 } });
    const second = await svix.message.create(app.id, { eventType: failed, payload: { n: 2 }, channels: ['eu'], eventId: `evt-${suffix}` });
    const third = await svix.message.create(app.id, { eventType: paid, payload: { n: 3 }, channels: ['us'] }, { idempotencyKey: `key-${suffix}` });
    expect(first.id).toMatch(/^msg_[A-Za-z0-9]{27}$/);
    expect(second).toMatchObject({ eventType: failed, eventId: `evt-${suffix}`, channels: ['eu'], payload: { n: 2 } });

    // Then each endpoint receives what it wants: all three; the paid ones; only the eu one
    const wanted = [[1, 2, 3], [1, 3], [2]];
    await eventually(async () => (receivers.every((receiver, i) => receiver.requests.length === wanted[i]!.length) ? true : undefined), { what: 'every fan-out delivery' });
    receivers.forEach((receiver, i) => expect(payloadsOf(receiver).map((p) => p.n).sort()).toEqual(wanted[i]));
    // signed for each endpoint's own secret, with the message id as webhook-id (the same at every endpoint)
    receivers.forEach((receiver, i) => {
      for (const request of receiver.requests) new StandardWebhook(secrets[i]!.key).verify(request.body, request.headers as Record<string, string>);
    });
    const idsOfFirst = receivers.flatMap((receiver) => receiver.requests.filter((r: ReceivedRequest) => JSON.parse(r.body).n === 1).map((r) => r.headers['webhook-id']));
    expect(idsOfFirst).toEqual([first.id, first.id]);

    // And the same Idempotency-Key answers the first message again without sending it twice; a reused eventId is a 409
    const again = await svix.message.create(app.id, { eventType: paid, payload: { n: 3 }, channels: ['us'] }, { idempotencyKey: `key-${suffix}` });
    expect(again.id).toBe(third.id);
    await expect(svix.message.create(app.id, { eventType: failed, payload: { n: 4 }, eventId: `evt-${suffix}` })).rejects.toMatchObject({ code: 409 });

    // And the lists show it all, parsed by the client's models
    const messages = await svix.message.list(app.id);
    expect(messages.data.map((message) => message.id).sort()).toEqual([first.id, second.id, third.id].sort());
    const attemptsOfAll = await eventually(async () => {
      const page = await svix.messageAttempt.listByEndpoint(app.id, all.id);
      return page.data.length === 3 ? page : undefined;
    }, { what: 'three attempts at the first endpoint' });
    expect(attemptsOfAll.data.every((attempt) => attempt.responseStatusCode === 200 && attempt.endpointId === all.id)).toBe(true);
    const attemptsOfFirst = await svix.messageAttempt.listByMsg(app.id, first.id);
    expect(attemptsOfFirst.data.map((attempt) => attempt.endpointId).sort()).toEqual([all.id, onlyPaid.id].sort());
    const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, first.id);
    expect(destinations.data.map((endpoint) => endpoint.id).sort()).toEqual([all.id, onlyPaid.id].sort());
    expect(destinations.data.every((endpoint) => endpoint.statusText === 'success')).toBe(true);
    const attempt = await svix.messageAttempt.get(app.id, first.id, attemptsOfFirst.data[0]!.id);
    expect(attempt.msgId).toBe(first.id);
    expect((await svix.endpoint.list(app.id)).data.map((endpoint) => endpoint.id)).toEqual([all.id, onlyPaid.id, onlyEu.id]);
    expect(await svix.endpoint.get(app.id, 'eu-endpoint')).toMatchObject({ id: onlyEu.id });

    // When a secret is rotated, the next delivery verifies with the new one
    await svix.endpoint.rotateSecret(app.id, onlyEu.id, {});
    const rotated = await svix.endpoint.getSecret(app.id, onlyEu.id);
    expect(rotated.key).not.toBe(secrets[2]!.key);
    await svix.message.create(app.id, { eventType: failed, payload: { n: 5 }, channels: ['eu'] });
    const fifth = await eventually(async () => receivers[2]!.requests.find((r) => JSON.parse(r.body).n === 5), { what: 'the delivery after the rotation' });
    new StandardWebhook(rotated.key).verify(fifth.body, fifth.headers as Record<string, string>);

    // And deleting an event type archives it (as Svix does); expunging removes it
    await svix.eventType.delete(failed);
    expect(await svix.eventType.get(failed)).toMatchObject({ name: failed, archived: true });
    await svix.eventType.delete(failed, { expunge: true });
    await expect(svix.eventType.get(failed)).rejects.toMatchObject({ code: 404 });

    // And deleting removes the endpoint, then the application
    await svix.endpoint.delete(app.id, onlyPaid.id);
    await expect(svix.endpoint.get(app.id, onlyPaid.id)).rejects.toBeInstanceOf(ApiException);
    await svix.application.delete(app.id);
    await expect(svix.application.get(app.id)).rejects.toMatchObject({ code: 404 });
  });
});

describe('delivering again, through the official svix client', () => {
  it('resends one message, recovers failed ones, replays missing ones to a new endpoint, sends an example and expunges content', async () => {
    // Given an endpoint that fails every attempt, and two messages whose deliveries to it end failed
    const since = new Date(Date.now() - 1_000);
    const app = await svix.application.create({ name: 'Recovery' });
    const eventType = `order.created.${randomUUID().slice(0, 8)}`;
    await svix.eventType.create({ name: eventType, description: 'An order', schemas: { '1': { type: 'object', examples: [{ order: 'example-1' }] } } });
    const flaky = await Receiver.start();
    receivers.push(flaky);
    flaky.reply = () => ({ status: 500, body: 'down' });
    const endpoint = await svix.endpoint.create(app.id, { url: flaky.url });
    const one = await svix.message.create(app.id, { eventType, payload: { n: 1 } });
    const two = await svix.message.create(app.id, { eventType, payload: { n: 2 } });
    const statusAt = async (msgId: string) => (await svix.messageAttempt.listAttemptedDestinations(app.id, msgId)).data[0]?.statusText;
    await eventually(async () => ((await statusAt(one.id)) === 'fail' && (await statusAt(two.id)) === 'fail' ? true : undefined), { what: 'both deliveries to fail' });
    const failedAttempts = flaky.requests.length;

    // When the endpoint recovers and one message is resent
    flaky.reply = () => ({ status: 200, body: 'ok' });
    await svix.messageAttempt.resend(app.id, one.id, endpoint.id);

    // Then it arrives again, its destination reads success, and its new attempt is a manual one
    await eventually(async () => ((await statusAt(one.id)) === 'success' ? true : undefined), { what: 'the resent delivery to succeed' });
    expect(flaky.requests.slice(failedAttempts).map((r) => JSON.parse(r.body).n)).toEqual([1]);
    const attempts = await svix.messageAttempt.listByMsg(app.id, one.id);
    expect(attempts.data[0]).toMatchObject({ triggerType: 1, responseStatusCode: 200 });

    // When the endpoint is recovered since before the messages: only the still-failed message is sent again
    const recovering = await svix.endpoint.recover(app.id, endpoint.id, { since });
    expect(recovering).toMatchObject({ status: 'running', task: 'endpoint.recover' });
    await eventually(async () => ((await statusAt(two.id)) === 'success' ? true : undefined), { what: 'the recovered delivery to succeed' });
    expect(flaky.requests.slice(failedAttempts).map((r) => JSON.parse(r.body).n)).toEqual([1, 2]);
    // and the recover is a background task the client reads to its end
    const task = await eventually(async () => {
      const read = await svix.backgroundTask.get(recovering.id);
      return read.status === 'running' ? undefined : read;
    }, { what: 'the recover task to end' });
    expect(task).toMatchObject({ id: recovering.id, status: 'finished', task: 'endpoint.recover', data: { state: 'finished', messagesSent: 1, endpointId: endpoint.id } });
    expect((await svix.backgroundTask.list({ task: BackgroundTaskType.EndpointRecover })).data.map((listed) => listed.id)).toContain(recovering.id);

    // When a new endpoint asks for what it missed: it gets both messages, once each
    const late = await Receiver.start();
    receivers.push(late);
    const lateEndpoint = await svix.endpoint.create(app.id, { url: late.url });
    await svix.endpoint.replayMissing(app.id, lateEndpoint.id, { since });
    await eventually(async () => (late.requests.length === 2 ? true : undefined), { what: 'the missed messages at the new endpoint' });
    expect(late.requests.map((r) => JSON.parse(r.body).n).sort()).toEqual([1, 2]);
    await svix.endpoint.replayMissing(app.id, lateEndpoint.id, { since });

    // When an example is sent to the new endpoint only: it gets the schema's example
    const example = await svix.endpoint.sendExample(app.id, lateEndpoint.id, { eventType });
    expect(example.payload).toEqual({ order: 'example-1' });
    await eventually(async () => late.requests.find((r) => JSON.parse(r.body).order === 'example-1'), { what: 'the example' });
    // (the replay asked twice sent nothing twice: the second found nothing missing)
    expect(late.requests.filter((r) => JSON.parse(r.body).n !== undefined)).toHaveLength(2);

    // When a message's content is expunged, it reads as empty
    await svix.message.expungeContent(app.id, two.id);
    expect((await svix.message.get(app.id, two.id)).payload).toEqual({});
    const attemptOfTwo = (await svix.messageAttempt.listByMsg(app.id, two.id)).data[0]!;
    await svix.messageAttempt.expungeContent(app.id, two.id, attemptOfTwo.id);
    expect((await svix.messageAttempt.get(app.id, two.id, attemptOfTwo.id)).response).toBe('');
  });

  it('deletes an application with its endpoints: a waiting retry is not sent', async () => {
    // Given an endpoint whose first attempt failed and whose retry waits (Retry-After, bounded in tests to 3 s)
    const app = await svix.application.create({ name: 'Leaving' });
    const failing = await Receiver.start();
    receivers.push(failing);
    failing.reply = () => ({ status: 503, headers: { 'retry-after': '60' }, body: 'busy' });
    const endpoint = await svix.endpoint.create(app.id, { url: failing.url });
    await svix.message.create(app.id, { eventType: 'customer.left', payload: { n: 1 } });
    await eventually(async () => (failing.requests.length === 1 ? true : undefined), { what: 'the first attempt' });

    // When the application is deleted
    await svix.application.delete(app.id);

    // Then its endpoint is gone with it and the retry, once due, is not sent
    await expect(svix.endpoint.get(app.id, endpoint.id)).rejects.toMatchObject({ code: 404 });
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(failing.requests).toHaveLength(1);
  });
});

describe('idempotency and eventId under concurrency', () => {
  it('100 concurrent duplicates with one Idempotency-Key, and 100 with one eventId, each make exactly one message and one delivery per endpoint', async () => {
    // Given an application with two endpoints
    const app = await svix.application.create({ name: 'Duplicates' });
    const first = await Receiver.start();
    const second = await Receiver.start();
    receivers.push(first, second);
    await svix.endpoint.create(app.id, { url: first.url });
    await svix.endpoint.create(app.id, { url: second.url });
    const eventType = `dup.${randomUUID().slice(0, 8)}`;

    // When 100 copies of one message are sent at once with one Idempotency-Key (answers replayed or 409 while the first is in progress)
    const key = `dup-${randomUUID()}`;
    const keyed = await Promise.all(
      Array.from({ length: 100 }, () => stack.api('POST', `/api/v1/app/${app.id}/msg`, { eventType, payload: { copy: 'keyed' } }, { 'idempotency-key': key })),
    );
    // and 100 messages with one eventId, each with its own key (the svix client's default)
    const eventId = `evt-${randomUUID()}`;
    const byEventId = await Promise.all(
      Array.from({ length: 100 }, (_, i) => stack.api('POST', `/api/v1/app/${app.id}/msg`, { eventType, eventId, payload: { copy: 'event-id', i } }, { 'idempotency-key': `k-${i}-${randomUUID()}` })),
    );

    // Then every keyed answer is the first one (202, one id) or says the first is still in progress (409)
    const keyedIds = new Set(keyed.filter((answer) => answer.status === 202).map((answer) => answer.body.id));
    expect(keyed.every((answer) => answer.status === 202 || answer.status === 409)).toBe(true);
    expect(keyedIds.size).toBe(1);
    // and exactly one eventId message was accepted; the others are 409
    expect(byEventId.filter((answer) => answer.status === 202)).toHaveLength(1);
    expect(byEventId.filter((answer) => answer.status === 409)).toHaveLength(99);

    // And each endpoint receives each of the two messages exactly once
    await eventually(async () => (first.requests.length >= 2 && second.requests.length >= 2 ? true : undefined), { what: 'both messages at both endpoints' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const receiver of [first, second]) {
      expect(receiver.requests.map((request) => JSON.parse(request.body).copy).sort()).toEqual(['event-id', 'keyed']);
    }
    const messages = await svix.message.list(app.id);
    expect(messages.data).toHaveLength(2);
    for (const message of messages.data) {
      const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, message.id);
      expect(destinations.data).toHaveLength(2);
    }
  });
});
