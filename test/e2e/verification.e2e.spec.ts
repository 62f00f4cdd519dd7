import { Kafka, logLevel } from 'kafkajs';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { topicNames } from '@hookpost/contracts';
import { verify } from '@hookpost/signing';
import { Receiver } from '../support/receiver';
import { withReadModel } from '../support/readModel';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(90_000);

let stack: Stack;
let receiver: Receiver;
let api: Stack['api'];
const logLines: string[] = [];

beforeAll(async () => {
  stack = await startStack({ logLines, env: { LOG_LEVEL: 'debug' } });
  receiver = await Receiver.start();
  api = stack.api;
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

async function deliverOne(subscriptionId: string, payload: Record<string, unknown>) {
  const before = receiver.requests.length;
  expect((await api('POST', `/ingest/${subscriptionId}`, payload)).status).toBe(202);
  return eventually(async () => receiver.requests[before], { what: 'the delivery' });
}

describe('deliveries verify with code nobody here wrote', () => {
  it('verifies with the standardwebhooks and svix packages for a generated whsec_ secret', async () => {
    const created = await api('POST', '/subscriptions', { name: 'verified', target_url: receiver.url });
    const secret = created.body.secret_key as string;
    const request = await deliverOne(created.body.id, { event_type: 'invoice.paid', data: { amount: 42, note: 'ünïcødé ✓' } });
    const headers = request.headers as Record<string, string>;

    expect(new StandardWebhook(secret).verify(request.body, headers)).toEqual({ event_type: 'invoice.paid', data: { amount: 42, note: 'ünïcødé ✓' } });
    expect(new SvixWebhook(secret).verify(request.body, { 'svix-id': headers['webhook-id']!, 'svix-timestamp': headers['webhook-timestamp']!, 'svix-signature': headers['webhook-signature']! })).toEqual(
      expect.objectContaining({ event_type: 'invoice.paid' }),
    );
    expect(() => new StandardWebhook(secret).verify(request.body.replace('42', '43'), headers)).toThrow();
  });

  it('verifies a caller-chosen secret as raw bytes (format: raw)', async () => {
    const secret = 'testsecretkey123456789012345678901234';
    const created = await api('POST', '/subscriptions', { name: 'raw secret', target_url: receiver.url, secret_key: secret });
    const request = await deliverOne(created.body.id, { event_type: 'test_event', data: { key: 'value' } });
    expect(new StandardWebhook(secret, { format: 'raw' }).verify(request.body, request.headers as Record<string, string>)).toEqual({
      event_type: 'test_event',
      data: { key: 'value' },
    });
  });
});

describe('secret rotation', () => {
  it('signs with both secrets during the overlap, so a receiver holding either accepts', async () => {
    const created = await api('POST', '/subscriptions', { name: 'rotating', target_url: receiver.url });
    const oldSecret = created.body.secret_key as string;

    const rotated = await api('POST', `/subscriptions/${created.body.id}/secret/rotate`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret_key as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23 * 3_600_000);

    const request = await deliverOne(created.body.id, { event_type: 'invoice.paid', data: { rotated: true } });
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [oldSecret, newSecret]) {
      expect(new StandardWebhook(secret).verify(request.body, headers)).toEqual({ event_type: 'invoice.paid', data: { rotated: true } });
      expect(new SvixWebhook(secret).verify(request.body, { 'svix-id': headers['webhook-id']!, 'svix-timestamp': headers['webhook-timestamp']!, 'svix-signature': headers['webhook-signature']! })).toBeTruthy();
    }
    expect(() => new StandardWebhook(`whsec_${Buffer.from('neither of the two secrets!!').toString('base64')}`).verify(request.body, headers)).toThrow();
  });
});

describe('ed25519 signatures (v1a)', () => {
  it('publishes the public key, signs v1a, and keeps both keys signing through a rotation', async () => {
    const created = await api('POST', '/subscriptions', { name: 'asymmetric', target_url: receiver.url, signature_scheme: 'ed25519' });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('secret_key');
    const oldKey = created.body.public_key as string;
    expect(oldKey).toMatch(/^whpk_/);
    // (reads come from the projection, a moment behind the create)
    const shown = await eventually(async () => {
      const answer = await api('GET', `/subscriptions/${created.body.id}`);
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(shown).toMatchObject({ signature_scheme: 'ed25519', public_key: oldKey });
    // A valid body the subscription's scheme refuses: 409 (a create that names both is a 422).
    expect((await api('PATCH', `/subscriptions/${created.body.id}`, { secret_key: 'a-secret-for-an-ed25519-one' })).status).toBe(409);

    const first = await deliverOne(created.body.id, { event_type: 'a.b', data: 1 });
    expect(first.headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]+=*$/);
    expect(verify(oldKey, first.body, first.headers as Record<string, string>)).toEqual({ event_type: 'a.b', data: 1 });

    const rotated = await api('POST', `/subscriptions/${created.body.id}/secret/rotate`, {});
    const newKey = rotated.body.public_key as string;
    expect(newKey).toMatch(/^whpk_/);
    expect(newKey).not.toBe(oldKey);
    const second = await deliverOne(created.body.id, { event_type: 'a.b', data: 2 });
    for (const key of [oldKey, newKey]) expect(verify(key, second.body, second.headers as Record<string, string>)).toEqual({ event_type: 'a.b', data: 2 });
  });
});

describe('secrets at rest', () => {
  it('never stores an endpoint secret in clear in Kafka or PostgreSQL', async () => {
    const secrets = ['whsec_' + Buffer.from('a clear secret that must never leak 1').toString('base64'), 'plain-text-secret-that-must-not-leak'];
    const ids: string[] = [];
    for (const secret of secrets) {
      const created = await api('POST', '/subscriptions', { name: 'secret keeper', target_url: receiver.url, secret_key: secret });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    const patched = await api('PATCH', `/subscriptions/${ids[1]}`, { secret_key: 'patched-secret-that-must-not-leak' });
    expect(patched.status).toBe(200);
    secrets.push('patched-secret-that-must-not-leak');
    await stack.projectionCaughtUp();

    // The raw bytes of every event on the subscription topic
    const kafka = new Kafka({ clientId: 'secrets-at-rest', brokers: stack.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `${stack.topicPrefix}secrets-at-rest` });
    const raw: Buffer[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topicNames(stack.topicPrefix).subscriptions, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void raw.push(message.value ?? Buffer.alloc(0)) });
    await eventually(async () => (raw.length >= 3 ? true : undefined), { what: 'the subscription events' });
    await consumer.disconnect();
    const log = Buffer.concat(raw).toString('latin1');
    expect(log).toContain('sealed:v2:');

    // The raw rows of the read model
    const rows = await withReadModel(stack.schema, async (client) => (await client.query('SELECT to_jsonb(s)::text AS row FROM subscriptions s')).rows.map((row) => row.row as string).join('\n'));

    for (const secret of secrets) {
      for (const form of [secret, Buffer.from(secret).toString('base64'), secret.replace(/^whsec_/, '')]) {
        expect(log).not.toContain(form);
        expect(rows).not.toContain(form);
      }
    }
  });
});

describe('logs', () => {
  it('carry no secret, API key or payload, even at debug level', async () => {
    const secret = 'log-secret-that-must-never-appear-1';
    const created = await api('POST', '/subscriptions', { name: 'logged', target_url: receiver.url, secret_key: secret });
    await deliverOne(created.body.id, { event_type: 'a.b', data: { marker: 'payload-marker-that-must-not-be-logged' } });
    const failing = await api('POST', '/subscriptions', { name: 'logged failing', target_url: receiver.url.replace(/:\d+/, ':1'), secret_key: secret });
    await api('POST', `/ingest/${failing.body.id}`, { event_type: 'a.b', data: { marker: 'payload-marker-that-must-not-be-logged' } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    expect(logLines.length).toBeGreaterThan(5);
    const logs = logLines.join('');
    expect(logs).toContain('"service":"dispatcher"');
    for (const forbidden of [secret, TEST_API_KEY, 'payload-marker-that-must-not-be-logged']) expect(logs).not.toContain(forbidden);
  });
});
