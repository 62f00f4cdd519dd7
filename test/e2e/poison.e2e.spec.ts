import { Kafka, logLevel } from 'kafkajs';
import { topicNames } from '@hookpost/contracts';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(90_000);

let stack: Stack;
let receiver: Receiver;
let api: Stack['api'];

beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
  api = stack.api;
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

describe('poison messages', () => {
  it('are parked on the dead-letter topic and counted, and the partition keeps flowing', async () => {
    const created = await api('POST', '/subscriptions', { name: 'poisoned', target_url: receiver.url });
    const subscriptionId = created.body.id as string;
    const topics = topicNames(stack.topicPrefix);
    const kafka = new Kafka({ clientId: 'poison', brokers: stack.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    // Given three unreadable messages in the subscription's partition, ahead of a real webhook
    await producer.send({
      topic: topics.webhooks,
      messages: [
        { key: subscriptionId, value: 'this is not JSON' },
        { key: subscriptionId, value: JSON.stringify({ id: 'x', type: 'SomethingElse', schema_version: 1, occurred_at: new Date().toISOString(), data: {} }) },
        { key: subscriptionId, value: JSON.stringify({ id: '00000000-0000-4000-8000-000000000001', type: 'WebhookReceived', schema_version: 1, occurred_at: new Date().toISOString(), data: { delivery_id: 'nope' } }) },
      ],
    });
    await producer.disconnect();
    const ingested = await api('POST', `/ingest/${subscriptionId}`, { event_type: 'after.poison' });

    // Then the webhook behind them is delivered
    await eventually(async () => ((await api('GET', `/deliveries/${ingested.body.delivery_id}`)).body?.status === 'succeeded' ? true : undefined));
    expect(receiver.requests).toHaveLength(1);

    // and each unreadable message was parked by both consumers, saying where from and why
    const admin = kafka.admin();
    await admin.connect();
    const parked = await eventually(async () => {
      const total = (await admin.fetchTopicOffsets(topics.deadLetters)).reduce((sum, { high }) => sum + Number(high), 0);
      return total >= 6 ? total : undefined;
    });
    await admin.disconnect();
    expect(parked).toBe(6);
    const consumer = kafka.consumer({ groupId: `${stack.topicPrefix}dead-letter-reader` });
    const reasons: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topics.deadLetters, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        expect(message.headers?.['x-hookpost-source-topic']?.toString()).toBe(topics.webhooks);
        reasons.push(String(message.headers?.['x-hookpost-reason']));
      },
    });
    await eventually(async () => (reasons.length === 6 ? true : undefined));
    await consumer.disconnect();
    expect(reasons.filter((reason) => reason === 'not JSON')).toHaveLength(2);
    expect(reasons.filter((reason) => reason.startsWith('event envelope is invalid'))).toHaveLength(2);
    expect(reasons.filter((reason) => reason.startsWith('WebhookReceived data is invalid'))).toHaveLength(2);

    for (const url of [`http://127.0.0.1:${stack.dispatcher.port}`, stack.env.PROJECTOR_URL!]) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^hookpost_poison_messages_total\{.*\} 3$/m);
    }
  });

  it('an event the read model refuses is parked too, and its partition keeps flowing', async () => {
    // Given an event that passes its schema but holds U+0000, which PostgreSQL cannot store, followed in the
    // same partition (same key) by a good one
    const topics = topicNames(stack.topicPrefix);
    const kafka = new Kafka({ clientId: 'poison-2', brokers: stack.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const at = new Date().toISOString();
    const refusedId = '00000000-0000-4000-8000-00000000beef';
    const goodId = '00000000-0000-4000-8000-00000000f00d';
    const created = (eventId: string, id: string, name: string) =>
      JSON.stringify({
        id: eventId, type: 'SubscriptionCreated', schema_version: 1, occurred_at: at,
        data: { id, version: 1, name, description: null, target_url: 'https://example.com', is_active: true, event_types: null, secret: 'sealed:v1:x:y', max_attempts: null, timeout_ms: null, created_at: at, updated_at: at },
      });
    await producer.send({
      topic: topics.subscriptions,
      messages: [
        { key: refusedId, value: created('00000000-0000-4000-8000-00000000cafe', refusedId, 'nul\u0000name') },
        { key: refusedId, value: created('00000000-0000-4000-8000-00000000cab1', goodId, 'behind the refused one') },
      ],
    });
    await producer.disconnect();

    // Then the good one is projected, the refused one is not, and it is parked and counted
    const shown = await eventually(async () => {
      const answer = await api('GET', `/subscriptions/${goodId}`);
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(shown.name).toBe('behind the refused one');
    expect((await api('GET', `/subscriptions/${refusedId}`)).status).toBe(404);
    const metrics = await (await fetch(`${stack.env.PROJECTOR_URL!}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^hookpost_poison_messages_total\\{.*topic="${topics.subscriptions.replace(/\./g, '\\.')}".*\\} 1$`, 'm'));
  });
});
