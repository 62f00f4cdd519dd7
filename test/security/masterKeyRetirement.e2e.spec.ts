import { Kafka, logLevel } from 'kafkajs';
import { topicNames } from '@hookpost/contracts';
import { createLogger } from '@hookpost/platform';
import { verify } from '@hookpost/signing';
import { resealSubscriptions } from '../../services/gateway/src/reseal';
import { readGatewayEnv } from '../../services/gateway/src/env';
import { Receiver } from '../support/receiver';
import { withReadModel } from '../support/readModel';
import { startStack, testMasterKey, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

/**
 * Retiring a master key, as docs/master-keys.md tells an operator to: put the new key first and restart,
 * `npm run reseal`, remove the old key and restart. Every subscription must still deliver, and every delivery
 * verify with the secret (or public key) its receiver already holds.
 */
const oldKey = testMasterKey('old');
const newKey = testMasterKey('new');

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack({ env: { HOOKPOST_SECRET_KEYS: oldKey } });
  receiver = await Receiver.start();
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

async function restartWith(keys: string): Promise<void> {
  // Projectors first: they accept the credential derived from any key they hold, and the others call them with
  // the one of their first key.
  await stack.restart('projector', { HOOKPOST_SECRET_KEYS: keys });
  await stack.restart('dispatcher', { HOOKPOST_SECRET_KEYS: keys });
  await stack.restart('gateway', { HOOKPOST_SECRET_KEYS: keys });
}

function reseal(keys: string) {
  return resealSubscriptions(readGatewayEnv({ ...process.env, ...stack.env, HOOKPOST_SECRET_KEYS: keys }), createLogger('reseal', 'warn'));
}

/** The sealed values the read model holds for each subscription (what the dispatcher opens on a cache miss). */
async function sealedValues(): Promise<Map<string, { secret: string; previous: string | null }>> {
  return withReadModel(stack.schema, async (client) => {
    const rows = (await client.query('SELECT id, secret, previous_secret FROM subscriptions WHERE deleted_at IS NULL')).rows;
    return new Map(rows.map((row) => [row.id as string, { secret: row.secret as string, previous: row.previous_secret as string | null }]));
  });
}

/** Every value on the subscription topic, as bytes: what a copy of the log holds. */
async function subscriptionLog(): Promise<string> {
  const kafka = new Kafka({ clientId: 'retirement', brokers: stack.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = topicNames(stack.topicPrefix).subscriptions;
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, { high }) => sum + Number(high), 0);
  const consumer = kafka.consumer({ groupId: `${stack.topicPrefix}retirement-reader` });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString('utf8') ?? '') });
  await eventually(async () => (values.length >= total ? true : undefined), { what: 'the whole subscription topic' });
  await consumer.disconnect();
  return values.join('\n');
}

describe('retiring a master key', () => {
  it('reseals every live secret under the new key; with the old key removed, every subscription still delivers and verifies', async () => {
    // Given subscriptions sealed under the old key: a generated HMAC secret, a chosen one, an ed25519 key pair,
    // one in a rotation's overlap (two secrets sign), and a deleted one
    const { api } = stack;
    const create = async (body: Record<string, unknown>) => (await api('POST', '/subscriptions', { target_url: receiver.url, ...body })).body;
    const generated = await create({ name: 'generated' });
    const chosenSecret = 'whsec_' + Buffer.alloc(32, 42).toString('base64');
    const chosen = await create({ name: 'chosen', secret_key: chosenSecret });
    const ed = await create({ name: 'ed25519', signature_scheme: 'ed25519' });
    const rotating = await create({ name: 'rotating' });
    const rotation = await api('POST', `/subscriptions/${rotating.id}/secret/rotate`, {});
    expect(rotation.status).toBe(200);
    const deleted = await create({ name: 'deleted' });
    expect((await api('DELETE', `/subscriptions/${deleted.id}`)).status).toBe(204);
    const live = [generated.id, chosen.id, ed.id, rotating.id] as string[];
    await stack.projectionCaughtUp();
    for (const { secret } of (await sealedValues()).values()) expect(secret).toMatch(/^sealed:v2:old:/);

    // When every service runs with the new key first and the old one still listed
    await restartWith(`${newKey},${oldKey}`);
    // and the live subscriptions are resealed
    const report = await reseal(`${newKey},${oldKey}`);
    expect(report).toEqual({ resealed: 4, alreadyCurrent: 0, failed: [] });
    // (running it again finds nothing left to do)
    expect(await reseal(`${newKey},${oldKey}`)).toEqual({ resealed: 0, alreadyCurrent: 4, failed: [] });
    await stack.projectionCaughtUp();
    const sealed = await sealedValues();
    expect([...sealed.keys()].sort()).toEqual([...live].sort());
    for (const { secret } of sealed.values()) expect(secret).toMatch(/^sealed:v2:new:/);
    expect(sealed.get(rotating.id)!.previous).toMatch(/^sealed:v2:new:/);
    // and the old key is removed from every service
    await restartWith(newKey);

    // Then each live subscription delivers, and its receiver verifies with what it was given
    const received = new Map<string, (typeof receiver.requests)[number]>();
    for (const id of live) {
      const before = receiver.requests.length;
      const answer = await api('POST', `/ingest/${id}`, { event_type: 'after.retirement', subscription: id });
      expect(answer.status).toBe(202);
      // (a secret the new key alone cannot open would end the delivery failed, saying so)
      const delivery = await eventually(async () => {
        const read = await api('GET', `/deliveries/${answer.body.delivery_id}`);
        return read.status === 200 && read.body.status !== 'pending' ? read.body : undefined;
      }, { what: `delivery ${answer.body.delivery_id} finished` });
      expect({ id, status: delivery.status, last_error: delivery.last_error }).toEqual({ id, status: 'succeeded', last_error: null });
      received.set(id, receiver.requests.slice(before).find((request) => request.body.includes(id))!);
    }
    const verifies = (key: string, id: string) => verify(key, received.get(id)!.body, received.get(id)!.headers as Record<string, string>);
    expect(verifies(generated.secret_key, generated.id)).toMatchObject({ subscription: generated.id });
    expect(verifies(chosenSecret, chosen.id)).toMatchObject({ subscription: chosen.id });
    expect(verifies(ed.public_key, ed.id)).toMatchObject({ subscription: ed.id });
    // the rotating one signs with both: a receiver on either secret accepts it
    expect(verifies(rotating.secret_key, rotating.id)).toMatchObject({ subscription: rotating.id });
    expect(verifies(rotation.body.secret_key, rotating.id)).toMatchObject({ subscription: rotating.id });

    // and, as the procedure says, the log itself still holds what the old key sealed
    const log = await subscriptionLog();
    expect(log).toContain('sealed:v2:old:');
    expect(log).toContain('"cause":"resealed"');
  });
});
