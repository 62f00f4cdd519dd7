import { Kafka, logLevel } from 'kafkajs';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { topicNames } from '@hookpost/contracts';
import { apiClient } from '../support/api';
import { Receiver } from '../support/receiver';
import { withReadModel } from '../support/readModel';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(90_000);

let stack: Stack;
let receiver: Receiver;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
  api = apiClient(stack.baseUrl, { authorization: `Bearer ${TEST_API_KEY}` });
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
    expect(log).toContain('sealed:v1:');

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
