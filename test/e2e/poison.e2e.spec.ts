import { Kafka, logLevel } from 'kafkajs';
import { topicNames } from '@hookpost/contracts';
import { apiClient } from '../support/api';
import { Receiver } from '../support/receiver';
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
});
